"""The classification catalogue: [[themes]] (Theme -> Type -> Subtheme), [[products]], and each
service's workflow keys (`triage`, `required_fields`, `required_for`, `fields`, `return_to`)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from channels.settings import Table, kind_of

FIELD_KINDS = ("text", "number", "choice", "date", "phone")
BUILTIN_FIELDS = ("theme", "type", "subtheme", "product", "subject")
REQUIRED_FOR = ("resolve", "accept")
SERVICE_KEYS = ("triage", "required_fields", "required_for", "fields", "return_to")


@dataclass(frozen=True)
class Theme:
    id: str
    name: str
    types: tuple[str, ...]
    subthemes: tuple[str, ...]
    product_required: bool


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    themes: tuple[str, ...]


@dataclass(frozen=True)
class Field:
    """A service's custom field; `choices` only for kind "choice"."""

    id: str
    label: str
    kind: str
    choices: tuple[str, ...] = ()
    required: bool = False


@dataclass(frozen=True)
class Workflow:
    """A service's workflow keys; `required` lists built-in and custom field ids; `return_to`:
    the operator who gets the cases that channels open lacking them (a rule's wins)."""

    triage: bool = False
    required: tuple[str, ...] = ()
    required_for: str = "resolve"
    fields: Mapping[str, Field] = field(default_factory=dict)
    return_to: str | None = None


@dataclass(frozen=True)
class Catalogue:
    themes: Mapping[str, Theme] = field(default_factory=dict)
    products: Mapping[str, Product] = field(default_factory=dict)


def read(root: Table, types: Mapping[str, int]) -> Catalogue:
    themes: dict[str, Theme] = {}
    for table in root.tables("themes"):
        theme = _theme(table, types)
        if theme.id in themes:
            table.problem("id", f"duplicate theme id {theme.id!r}")
        elif theme.id:
            themes[theme.id] = theme
    products: dict[str, Product] = {}
    for table in root.tables("products"):
        product = _product(table, themes)
        if product.id in products:
            table.problem("id", f"duplicate product id {product.id!r}")
        elif product.id:
            products[product.id] = product
    return Catalogue(themes, products)


def _known_list(table: Table, name: str, known: Mapping[str, object], what: str) -> list[str]:
    values = table.strings(name)
    for index, value in enumerate(values):
        if value not in known:
            table.problems.add(f"{table.key(name)}[{index}]", f"unknown {what} {value!r}")
    return values


def _theme(table: Table, types: Mapping[str, int]) -> Theme:
    theme_id = table.identifier()
    theme = Theme(
        id=theme_id,
        name=table.text("name", theme_id) or theme_id,
        types=tuple(_known_list(table, "types", types, "type")),
        subthemes=tuple(table.strings("subthemes")),
        product_required=table.flag("product_required", False),
    )
    table.close()
    return theme


def _product(table: Table, themes: Mapping[str, Theme]) -> Product:
    product_id = table.identifier()
    product = Product(
        id=product_id,
        name=table.text("name", product_id) or product_id,
        themes=tuple(_known_list(table, "themes", themes, "theme")),
    )
    table.close()
    return product


def read_workflow(service: Table, operators: Collection[str]) -> Workflow:
    """The workflow keys of one [[services]] table (which its reader closes afterwards)."""
    fields = _fields(service)
    required = service.strings("required_fields")
    for index, name in enumerate(required):
        if name not in BUILTIN_FIELDS and name not in fields:
            key = f"{service.key('required_fields')}[{index}]"
            service.problems.add(key, f"unknown field {name!r}")
    required += [f.id for f in fields.values() if f.required and f.id not in required]
    return Workflow(
        triage=service.flag("triage", False),
        required=tuple(required),
        required_for=service.choice("required_for", REQUIRED_FOR) or "resolve",
        fields=fields,
        return_to=service.reference("return_to", operators, "operator"),
    )


def _fields(service: Table) -> dict[str, Field]:
    raw = service.get("fields", list, "an array of field tables", False) or []
    fields: dict[str, Field] = {}
    for index, item in enumerate(raw):
        path = f"{service.key('fields')}[{index}]"
        if not isinstance(item, dict):
            service.problems.add(path, f"expected a table, got {kind_of(item)}")
            continue
        found = _field(service.child(item, path))
        if found.id in fields or found.id in BUILTIN_FIELDS:
            service.problems.add(f"{path}.id", f"duplicate field id {found.id!r}")
        elif found.id:
            fields[found.id] = found
    return fields


def _field(table: Table) -> Field:
    field_id = table.identifier()
    kind = table.choice("kind", FIELD_KINDS)
    if not table.has("kind"):
        table.problem("kind", f"missing; expected one of {', '.join(FIELD_KINDS)}")
    choices = tuple(table.strings("choices"))
    if kind == "choice" and not choices:
        table.problem("choices", 'a "choice" field needs a non-empty list of choices')
    elif kind != "choice" and choices:
        table.problem("choices", f'only a "choice" field has choices, not {kind!r}')
    found = Field(
        id=field_id,
        label=table.text("label", field_id) or field_id,
        kind=kind or "text",
        choices=choices,
        required=table.flag("required", False),
    )
    table.close()
    return found
