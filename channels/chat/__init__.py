"""The visitor chat's wire format: frames in and out, checked without any I/O."""
