"""The HTTP edge: the app factory, error mapping and one module per audience (providers,
operators, admins)."""
