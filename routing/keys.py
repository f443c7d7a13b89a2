"""Every Redis key the product uses, built from one prefix.

    {p}seq:case           string   last case id (INCR; ids are never reused)
    {p}seq:contact        string   last contact number (contact id = "c<n>")
    {p}seq:assign         string   assignment sequence: orders "oldest last assignment"
    {p}case:<id>          hash     one case (short field names, see routing/lua.py)
    {p}tl:<id>            list     the case's timeline, one compact JSON entry each
    {p}att:<id>:<n>       string   bytes of attachment n of case <id>
    {p}ex:<id>            set      operators excluded from case <id> (declined, let expire)
    {p}ct:<cid>           hash     one contact: n (name), ph, em (JSON lists), ow (owner)
    {p}ct:<cid>:cases     zset     the contact's case ids (score = id)
    {p}ix:phone           hash     E.164 (or the raw unparseable number) -> contact id
    {p}ix:email           hash     lower-cased address -> contact id
    {p}dd:<scope>:<id>    string   answer of a delivery already stored (TTL: DEDUPE_TTL)
    {p}st:<status>        zset     case ids in that status (score = id): listing by status
    {p}q:<svc>:<channel>  zset     queued cases; score = priority * 1e13 + arrival ms
    {p}op:<op>            hash     pr presence, ct/c:<ch> capacity, lt/l:<ch> load, la seq
    {p}op:<op>:cases      set      the operator's cases assigned, in progress or waiting
    {p}op:<op>:svcs       set      services the operator is a member of
    {p}svc:<svc>:ops      set      members of the service
    {p}pool:<svc>:<ch>    zset     members available with room in <ch>; score = utilisation
                                   quantized * 2^33 + last assignment seq (ties: smallest id)
    {p}offers             zset     case ids with an open offer, score = expiry ms
    {p}resumes            zset     waiting case ids with a resume time, score = that ms
    {p}cfg                hash     routing config for scripts: ot:<ch> offer ms, sticky:<svc>
    {p}ev:<op>            stream   the operator's live events (SSE), capped
    {p}ops                set      every operator id the running config knows
    {p}cfgver             string   version of the config applied last (reloads missed are caught up)
    {p}reload             pubsub   a config version was applied: every process re-reads the file
    {p}lease:<name>       string   once-per-deployment background work (gateway/lease.py)

Scripts build the per-case and per-operator keys from the prefix because those ids are only
known inside the script; this requires a non-clustered Redis/Valkey (as SPEC section 2 states).
"""

from __future__ import annotations

from dataclasses import dataclass

DEDUPE_TTL = 3 * 24 * 3600  # providers retry for hours, never for days
EVENTS_MAXLEN = 1000


@dataclass(frozen=True)
class Keys:
    prefix: str = "ig:"

    @property
    def case_seq(self) -> str:
        return f"{self.prefix}seq:case"

    @property
    def contact_seq(self) -> str:
        return f"{self.prefix}seq:contact"

    @property
    def assign_seq(self) -> str:
        return f"{self.prefix}seq:assign"

    @property
    def phone_index(self) -> str:
        return f"{self.prefix}ix:phone"

    @property
    def email_index(self) -> str:
        return f"{self.prefix}ix:email"

    @property
    def offers(self) -> str:
        return f"{self.prefix}offers"

    @property
    def resumes(self) -> str:
        return f"{self.prefix}resumes"

    @property
    def operators(self) -> str:
        return f"{self.prefix}ops"

    @property
    def config_version(self) -> str:
        return f"{self.prefix}cfgver"

    @property
    def reload_channel(self) -> str:
        return f"{self.prefix}reload"

    def case(self, case_id: int | str) -> str:
        return f"{self.prefix}case:{case_id}"

    def timeline(self, case_id: int | str) -> str:
        return f"{self.prefix}tl:{case_id}"

    def attachment(self, case_id: int | str, n: int | str) -> str:
        return f"{self.prefix}att:{case_id}:{n}"

    def contact(self, contact_id: str) -> str:
        return f"{self.prefix}ct:{contact_id}"

    def contact_cases(self, contact_id: str) -> str:
        return f"{self.prefix}ct:{contact_id}:cases"

    def dedupe(self, scope: str, delivery_id: str) -> str:
        return f"{self.prefix}dd:{scope}:{delivery_id}"

    def status(self, status: str) -> str:
        return f"{self.prefix}st:{status}"

    def queue(self, service: str, channel: str) -> str:
        return f"{self.prefix}q:{service}:{channel}"

    def operator(self, operator_id: str) -> str:
        return f"{self.prefix}op:{operator_id}"

    def operator_cases(self, operator_id: str) -> str:
        return f"{self.prefix}op:{operator_id}:cases"

    def operator_services(self, operator_id: str) -> str:
        return f"{self.prefix}op:{operator_id}:svcs"

    def service_members(self, service: str) -> str:
        return f"{self.prefix}svc:{service}:ops"

    def pool(self, service: str, channel: str) -> str:
        return f"{self.prefix}pool:{service}:{channel}"

    def events(self, operator_id: str) -> str:
        return f"{self.prefix}ev:{operator_id}"

    def lease(self, name: str) -> str:
        return f"{self.prefix}lease:{name}"
