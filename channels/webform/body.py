"""A web form posted as JSON: one object of fields (values checked one by one afterwards, so
an error names the field)."""

from __future__ import annotations

from typing import Annotated, Any

from msgspec import Meta

FIELD = {"type": ["string", "integer", "null"]}
KNOWN = ("phone", "email", "name", "subject", "message")
FormJson = Annotated[
    dict[str, Any],
    Meta(
        title="WebForm",
        description="Form fields by name: `phone` or `email` is required; `name`, `subject`, "
        "`message` (or `text`) are known, any other field is kept. A filled `website` (the "
        "honeypot) is answered as a success and stored nowhere.",
        extra_json_schema={
            "properties": {
                name: FIELD for name in ("phone", "email", "name", "subject", "message")
            },
            "additionalProperties": FIELD,
            "examples": [{"email": "client@example.org", "message": "Please call me"}],
        },
    ),
]
