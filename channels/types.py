"""Field types of the declared JSON bodies (msgspec), described for the OpenAPI document.

The types say what msgspec checks while decoding; the value rules named in each description
are channels/validate.py's, applied after the decode.
"""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

Text = Annotated[str, Meta(description="Text without NUL or lone surrogates.")]
NotBlank = Annotated[
    str, Meta(pattern=r"\S", description="Text with a visible character, without NUL.")
]
ProviderText = Annotated[
    str | int,
    Meta(description="A string; a provider's integer id is kept as its decimal string."),
]
Time = Annotated[
    str | int | float,
    Meta(
        description="RFC 3339 or Unix seconds, from 2000-01-01 to one day after now.",
        examples=["2026-12-03T10:00:00Z", 1796292000],
    ),
]
CaseId = Annotated[
    int | str,
    Meta(description="A positive integer up to 2^53, or its ASCII digits.", examples=[1]),
]
