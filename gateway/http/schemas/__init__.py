"""The declared JSON bodies of the operator and admin API (msgspec Structs), one per route.

Decoding (channels/schema.py) checks their types; the handlers apply the value rules of
channels/validate.py to the decoded fields. The OpenAPI document (gateway/http/openapi/) is
generated from these same classes.
"""
