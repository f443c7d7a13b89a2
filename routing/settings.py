"""Routing's settings: [types], [sla.N], [[operators]], [[services]], [[rules]], [routing],
and the time sections read by routing/sla_settings.py ([[schedules]], [sla], [callbacks])."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from channels.message import CHANNELS
from channels.phones import e164
from channels.settings import Problems, Secret, Table, kind_of
from routing import catalogue_settings, sla_settings
from routing.catalogue_settings import Catalogue, Workflow
from routing.schedule import ALWAYS, Schedule
from routing.sla_settings import Callbacks, SlaPolicy

_RESULT_KEYS = ("service", "type", "priority")


@dataclass(frozen=True)
class Capacity:
    total: int
    per_channel: dict[str, int]  # every name in CHANNELS is present


@dataclass(frozen=True)
class Operator:
    id: str
    name: str
    token: Secret
    email: str
    phone: str  # E.164, or "" when absent
    capacity: Capacity


@dataclass(frozen=True)
class Service:
    id: str
    name: str
    operators: tuple[str, ...]
    sticky_owner: bool
    ack: bool
    schedule: str | None = None  # business hours of its deadlines (a category's win)
    workflow: Workflow = field(default_factory=Workflow)  # triage, required and custom fields


@dataclass(frozen=True)
class Rule:
    index: int  # position in [[rules]], used by explain ("rules[2]")
    channel: str | None
    to: str | None  # E.164 when it parses as a number, else lower-cased mailbox
    from_: str | None
    subject: re.Pattern[str] | None
    text: re.Pattern[str] | None
    form: str | None
    fields: dict[str, str]  # field.<name> -> expected value
    service: str | None
    type: str | None
    priority: int | None
    return_to: str | None = None  # who gets the cases it opens that lack required fields


@dataclass(frozen=True)
class Sla:
    reaction: float  # seconds
    resolution: float
    schedule: str = ALWAYS


@dataclass(frozen=True)
class Category:
    """[[client_categories]]: a contact's `category` picks these over the service's."""

    id: str
    schedule: str | None
    sla: dict[int, Sla]  # priority -> deadlines replacing [sla.N]'s


@dataclass(frozen=True)
class RoutingSettings:
    types: dict[str, int]  # type -> priority
    default_type: str
    sla: dict[int, Sla]  # priority -> deadlines
    operators: dict[str, Operator]
    services: dict[str, Service]
    rules: tuple[Rule, ...]
    default_service: str
    offer_timeout: dict[str, float]  # channel -> seconds
    schedules: dict[str, Schedule]  # "always" (24/7) is always there
    sla_policy: SlaPolicy
    categories: dict[str, Category]
    callbacks: Callbacks
    catalogue: Catalogue = field(default_factory=Catalogue)  # [[themes]], [[products]]

    def terms(self, priority: int, service: str, category: str = "") -> tuple[Sla | None, str]:
        """The deadlines and schedule id of a case: the contact's category first, then the
        service's schedule, then the priority's [sla.N]."""
        base = self.sla.get(priority)
        cat = self.categories.get(category)
        sla = cat.sla.get(priority, base) if cat else base
        svc = self.services.get(service)
        schedule = (cat and cat.schedule) or (svc and svc.schedule) or (sla and sla.schedule)
        return sla, schedule or ALWAYS


@dataclass(frozen=True)
class _Known:
    """What rules may refer to, gathered before they are read."""

    region: str
    services: Mapping[str, Service]
    types: Mapping[str, int]
    operators: Mapping[str, Operator]


def read(root: Table, region: str, admin_token: Secret) -> RoutingSettings:
    """Routing's sections of the file; `region` reads phone numbers written without a country."""
    types, default_type = _types(root.table("types"))
    schedules = sla_settings.read_schedules(root.tables("schedules"))
    sla_table = root.table("sla")
    sla = _slas(sla_table, schedules)
    operators = _operators(root.tables("operators"), region, admin_token)
    services = _services(root.tables("services"), operators, schedules)
    rules = tuple(
        _rule(index, table, _Known(region, services, types, operators))
        for index, table in enumerate(root.tables("rules"))
    )
    default_service, offer_timeout = _routing(root.table("routing"), services)
    _check_sla_coverage(root.problems, types, rules, sla)
    return RoutingSettings(
        types, default_type, sla, operators, services, rules, default_service, offer_timeout,
        schedules=schedules,
        sla_policy=sla_settings.read_policy(sla_table, operators, services),
        categories=_categories(root.tables("client_categories"), schedules, sla),
        callbacks=sla_settings.read_callbacks(root.table("callbacks")),
        catalogue=catalogue_settings.read(root, types),
    )  # fmt: skip


def check_forms(problems: Problems, settings: RoutingSettings, forms: Collection[str]) -> None:
    """Rules name web forms, which the webform channel reads after the services they name."""
    for rule in settings.rules:
        if rule.form is not None and rule.form not in forms:
            problems.add(f"rules[{rule.index}].when.form", f"unknown form {rule.form!r}")


def _types(table: Table) -> tuple[dict[str, int], str]:
    default = table.text("default", required=True)
    types: dict[str, int] = {}
    for name, value in table.entries():
        if name == "default":
            continue
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            types[name] = value
        else:
            table.problem(name, f"expected a priority (a whole number >= 1), got {value!r}")
    if default is not None and default not in types:
        table.problem("default", f"unknown type {default!r}")
    return types, default or ""


def _slas(
    table: Table, schedules: Mapping[str, Schedule], base: Mapping[int, Sla] | None = None
) -> dict[int, Sla]:
    """[sla.N] tables; with `base` (a category's overrides) a missing duration is base's."""
    slas: dict[int, Sla] = {}
    for name, value in table.entries():
        if base is None and name in sla_settings.POLICY_KEYS:
            continue
        if not name.isdigit() or int(name) < 1:
            table.problem(name, "expected a priority (a whole number >= 1), like [sla.1]")
        elif not isinstance(value, dict):
            table.problem(name, f"expected a table, got {kind_of(value)}")
        else:
            inherited = (base or {}).get(int(name))
            slas[int(name)] = _sla(table.child(value, table.key(name)), schedules, inherited)
    return slas


def _sla(entry: Table, schedules: Mapping[str, Schedule], inherited: Sla | None) -> Sla:
    def duration(name: str) -> float:
        if inherited and not entry.has(name):
            entry.used.add(name)
            return float(getattr(inherited, name))
        return entry.duration(name, positive=True)

    schedule = entry.reference("schedule", schedules, "schedule")
    schedule = schedule or (inherited.schedule if inherited else ALWAYS)
    sla = Sla(duration("reaction"), duration("resolution"), schedule)
    if sla.reaction > sla.resolution > 0:
        entry.problem("reaction", "is longer than resolution")
    entry.close()
    return sla


def _categories(
    tables: list[Table], schedules: Mapping[str, Schedule], sla: Mapping[int, Sla]
) -> dict[str, Category]:
    categories: dict[str, Category] = {}
    for table in tables:
        category_id = table.identifier()
        schedule = table.reference("schedule", schedules, "schedule")
        overrides = _slas(table.table("sla"), schedules, sla)
        for priority in overrides:
            if priority not in sla:
                table.problem(f"sla.{priority}", f"priority {priority} has no [sla.{priority}]")
        table.close()
        if category_id in categories:
            table.problem("id", f"duplicate category id {category_id!r}")
        elif category_id:
            categories[category_id] = Category(category_id, schedule, overrides)
    return categories


def _check_sla_coverage(
    problems: Problems, types: Mapping[str, int], rules: tuple[Rule, ...], sla: Mapping[int, Sla]
) -> None:
    for name, priority in types.items():
        if priority not in sla:
            problems.add(f"types.{name}", f"priority {priority} has no [sla.{priority}]")
    for rule in rules:
        if rule.priority and rule.priority not in sla:
            priority = rule.priority
            problems.add(
                f"rules[{rule.index}].priority", f"priority {priority} has no [sla.{priority}]"
            )


def _operators(tables: list[Table], region: str, admin_token: Secret) -> dict[str, Operator]:
    operators: dict[str, Operator] = {}
    owners = {admin_token: "the admin"} if admin_token else {}
    for table in tables:
        operator = _operator(table, region)
        if operator.id in operators:
            table.problem("id", f"duplicate operator id {operator.id!r}")
        elif operator.id:
            operators[operator.id] = operator
        # A shared token would let one person act as another (or as the admin).
        if operator.token in owners:
            table.problem("token", f"same token as {owners[operator.token]}")
        elif operator.token:
            owners[operator.token] = f"operator {operator.id!r}"
    return operators


def _operator(table: Table, region: str) -> Operator:
    operator_id = table.identifier()
    email = table.text("email", "") or ""
    if email and "@" not in email:
        table.problem("email", f"{email!r} is not an e-mail address")
    operator = Operator(
        id=operator_id,
        name=table.text("name", operator_id) or operator_id,
        token=table.secret("token"),
        email=email.lower(),
        phone=_phone(table, region),
        capacity=_capacity(table),
    )
    table.close()
    return operator


def _phone(table: Table, region: str) -> str:
    text = table.text("phone", "") or ""
    if not text:
        return ""
    number = e164(text, region)
    # Without a usable region only international numbers can be judged; the region is reported.
    if number is None and (region or text.lstrip().startswith("+")):
        table.problem("phone", f"{text!r} is not a phone number (in region {region or '?'})")
    return number or text


def _capacity(operator: Table) -> Capacity:
    if not operator.has("capacity"):
        operator.problem("capacity", "missing")
        operator.used.add("capacity")
        return Capacity(0, dict.fromkeys(CHANNELS, 0))
    table = operator.table("capacity")
    total = table.integer("total", required=table.present)
    per_channel = {channel: table.integer(channel, total) for channel in CHANNELS}
    table.close()
    return Capacity(total, per_channel)


def _services(
    tables: list[Table], operators: Mapping[str, Operator], schedules: Mapping[str, Schedule]
) -> dict[str, Service]:
    services: dict[str, Service] = {}
    for table in tables:
        service = _service(table, operators, schedules)
        if service.id in services:
            table.problem("id", f"duplicate service id {service.id!r}")
        elif service.id:
            services[service.id] = service
    return services


def _service(
    table: Table, operators: Mapping[str, Operator], schedules: Mapping[str, Schedule]
) -> Service:
    service_id = table.identifier()
    members = table.strings("operators", required=True)
    for index, member in enumerate(members):
        key = f"{table.key('operators')}[{index}]"
        if member not in operators:
            table.problems.add(key, f"unknown operator {member!r}")
        elif member in members[:index]:
            table.problems.add(key, f"operator {member!r} is listed twice")
    service = Service(
        id=service_id,
        name=table.text("name", service_id) or service_id,
        operators=tuple(members),
        sticky_owner=table.flag("sticky_owner", False),
        ack=table.flag("ack", False),
        schedule=table.reference("schedule", schedules, "schedule"),
        workflow=catalogue_settings.read_workflow(table, operators),
    )
    table.close()
    return service


def _rule(index: int, table: Table, known: _Known) -> Rule:
    when = table.table("when")
    rule = Rule(
        index=index,
        channel=when.choice("channel", CHANNELS),
        to=_mailbox_or_number(when.text("to"), known.region),
        from_=_mailbox_or_number(when.text("from"), known.region),
        subject=_regex(when, "subject"),
        text=_regex(when, "text"),
        form=when.text("form"),
        fields=_fields(when),
        service=table.reference("service", known.services, "service"),
        type=table.reference("type", known.types, "type"),
        priority=table.integer("priority", minimum=1) if table.has("priority") else None,
        return_to=table.reference("return_to", known.operators, "operator"),
    )
    when.close()
    if not any(table.has(key) for key in _RESULT_KEYS):
        table.problems.add(table.path, "needs at least one result: service, type or priority")
    table.close()
    return rule


def _mailbox_or_number(value: str | None, region: str) -> str | None:
    if value is None:
        return None
    if "@" in value:
        return value.strip().lower()
    return e164(value, region) or value.strip().lower()


def _regex(table: Table, name: str) -> re.Pattern[str] | None:
    source = table.text(name)
    if source is None:
        return None
    try:
        return re.compile(source)
    except re.error as error:
        table.problem(name, f"invalid regular expression: {error}")
        return None


def _fields(when: Table) -> dict[str, str]:
    """`field.<name>` conditions, written as quoted keys or as a nested `field` table."""
    found = [(name, name.removeprefix("field."), value) for name, value in when.data.items()]
    found = [item for item in found if item[0].startswith("field.")]
    when.used.update(name for name, _, _ in found)
    if when.has("field"):
        nested = when.table("field")
        found += [(f"field.{name}", name, value) for name, value in nested.entries()]
    fields: dict[str, str] = {}
    for key, name, value in found:
        if isinstance(value, str):
            fields[name] = value
        else:
            when.problem(key, f"expected a string, got {kind_of(value)}")
    return fields


def _routing(table: Table, services: Mapping[str, Service]) -> tuple[str, dict[str, float]]:
    default = table.reference("default_service", services, "service", required=True)
    offers = table.table("offer_timeout")
    timeouts: dict[str, float] = {}
    for channel, _ in offers.entries():
        if channel not in CHANNELS:
            offers.problem(channel, f"unknown channel; expected one of {', '.join(CHANNELS)}")
        else:
            timeouts[channel] = offers.duration(channel, positive=True)
    table.close()
    return default or "", timeouts
