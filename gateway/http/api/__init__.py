"""The operators' API: cases, case actions, operators and their event streams."""
