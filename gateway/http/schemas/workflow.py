"""Bodies of the case workflow and timeline routes, each decoded through its Struct. In PATCH
and classify an absent key (UNSET) leaves the field as it is and an unknown key is refused;
gateway/workflow.py checks each given value against the catalogue."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType

from channels.types import ProviderText

CatalogueId = Annotated[str, Meta(min_length=1, description="An id of the config's catalogue.")]
CaseType = Annotated[str, Meta(description="A case type; moves priority and SLA dues.")]
Fields = Annotated[dict[str, Any], Meta(description="Custom fields of the service.")]


class CasePatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """`PATCH /api/cases/{id}`: only the keys given change (null clears theme, subtheme,
    product); each change is a `change` entry."""

    theme: CatalogueId | UnsetType | None = UNSET
    type: CaseType | UnsetType = UNSET
    subtheme: CatalogueId | UnsetType | None = UNSET
    product: CatalogueId | UnsetType | None = UNSET
    fields: Fields | UnsetType = UNSET
    subject: ProviderText | UnsetType = UNSET


class Classify(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """`POST /api/cases/{id}/classify`: fills the classification and routes to `service`."""

    service: Annotated[str, Meta(description="The service the case goes to.")]
    theme: CatalogueId
    type: Annotated[str, Meta(description="A case type of the theme.")]
    subtheme: CatalogueId | UnsetType | None = UNSET
    product: CatalogueId | UnsetType | None = UNSET
    fields: Fields | UnsetType = UNSET


class MoveEntry(msgspec.Struct, kw_only=True):
    """`POST /api/cases/{id}/timeline/{entry}/move`."""

    to_case: Annotated[int, Meta(ge=1, le=2**53, description="Another case of the contact.")]
