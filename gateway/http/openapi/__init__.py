"""The OpenAPI 3.1 document of the HTTP interface (`GET /api/openapi.json`) and its page
(`GET /api/docs`): one registry line per route (registry.py), built from the declared schemas."""
