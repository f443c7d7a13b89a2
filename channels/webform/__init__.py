"""Web forms (`POST /forms/<id>`): settings, the adapter and the multipart reader."""
