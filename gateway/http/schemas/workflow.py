"""Bodies of the case workflow and timeline routes, as the document shows them. PATCH and
classify read an open-keyed object (an absent key leaves the field as it is; gateway/workflow.py
checks each key against the catalogue); move decodes through `MoveEntry`."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta

from channels.types import ProviderText

CatalogueId = Annotated[str, Meta(description="An id of the config's catalogue.")]


class CasePatch(msgspec.Struct, kw_only=True):
    """`PATCH /api/cases/{id}`: only the keys given change; each change is a `change` entry."""

    theme: CatalogueId | None = None
    type: Annotated[str, Meta(description="A case type; moves priority and SLA dues.")] | None = (
        None
    )
    subtheme: CatalogueId | None = None
    product: CatalogueId | None = None
    fields: Annotated[dict[str, Any], Meta(description="Custom fields of the service.")] = {}
    subject: ProviderText | None = None


class Classify(msgspec.Struct, kw_only=True):
    """`POST /api/cases/{id}/classify`: fills the classification and routes to `service`."""

    service: Annotated[str, Meta(description="The service the case goes to.")]
    theme: CatalogueId
    type: Annotated[str, Meta(description="A case type of the theme.")]
    subtheme: CatalogueId | None = None
    product: CatalogueId | None = None
    fields: Annotated[dict[str, Any], Meta(description="Custom fields of the service.")] = {}


class MoveEntry(msgspec.Struct, kw_only=True):
    """`POST /api/cases/{id}/timeline/{entry}/move`."""

    to_case: Annotated[int, Meta(ge=1, le=2**53, description="Another case of the contact.")]
