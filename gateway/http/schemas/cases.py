"""Bodies of the case routes: a manual case, and the text of a reply or a note."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta

from channels.types import NotBlank, ProviderText
from gateway.http.schemas.workflow import CatalogueId


class NewContact(msgspec.Struct, kw_only=True):
    name: ProviderText | None = None
    phone: Annotated[ProviderText, Meta(examples=["+79161234567"])] | None = None
    email: Annotated[ProviderText, Meta(examples=["client@example.org"])] | None = None


class NewCase(msgspec.Struct, kw_only=True):
    """`POST /api/cases`: the contact needs a phone or an e-mail. The classification and the
    custom fields are checked as `PATCH /api/cases/{id}` checks them (the theme with the case's
    type); a case lacking its service's required fields goes back to its creator (`returned`)."""

    contact: NewContact
    text: Annotated[ProviderText, Meta(description="Not empty.", examples=["Call me back"])]
    service: Annotated[str, Meta(description="A service id of the config.")] | None = None
    type: Annotated[str, Meta(description="A case type of the config.")] | None = None
    subject: ProviderText | None = None
    theme: CatalogueId | None = None
    subtheme: CatalogueId | None = None
    product: CatalogueId | None = None
    fields: Annotated[dict[str, Any], Meta(description="Custom fields of the service.")] = {}
    force: Annotated[
        bool, Meta(description="Open it even when [cases].merge_within finds an open one.")
    ] = False


class CaseText(msgspec.Struct, kw_only=True):
    """A reply or a note: not empty, not blank."""

    text: Annotated[NotBlank, Meta(examples=["We are on it."])]
