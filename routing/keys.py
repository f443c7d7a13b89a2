"""Every Redis key the product uses, built from one prefix that is a hash tag: `{ig}:`.

    {p}seq:case           string   last case id (INCR; ids are never reused)
    {p}seq:contact        string   last contact number (contact id = "c<n>")
    {p}seq:assign         string   assignment sequence: orders "oldest last assignment"
    {p}case:<id>          hash     one case (short field names, see routing/lua/lib.lua)
    {p}tl:<id>            list     the case's timeline, one compact JSON entry each (the keys:
                                   routing/timeline.py; ids from the case's `ne` counter)
    {p}ex:<id>            set      operators excluded from case <id> (declined, let expire)
    {p}ct:<cid>           hash     one contact: n (name), ph, em (JSON lists), ow (owner)
    {p}ct:<cid>:cases     zset     the contact's case ids (score = id)
    {p}ix:phone           hash     E.164 (or the raw unparseable number) -> contact id
    {p}ix:email           hash     lower-cased address -> contact id
    {p}dd:<scope>:<id>    string   answer of a delivery already stored (TTL: DEDUPE_TTL)
    {p}st:<status>        zset     case ids in that status (score = id): listing by status
    {p}q:<svc>:<channel>  zset     queued cases; score: routing/constants.py PRIORITY_SCALE
    {p}op:<op>            hash     pr presence, ct/c:<ch> capacity, lt/l:<ch> load, la seq
    {p}op:<op>:cases      set      the operator's cases assigned, in progress or waiting
    {p}op:<op>:svcs       set      services the operator is a member of
    {p}svc:<svc>:ops      set      members of the service
    {p}pool:<svc>:<ch>    zset     members available with room in <ch>; score: utilisation,
                                   then last assignment seq (routing/constants.py)
    {p}offers             zset     case ids with an open offer, score = expiry ms
    {p}resumes            zset     waiting case ids with a resume time, score = that ms
    {p}cfg                hash     routing config for functions: ot:<ch> offer ms, sticky:<svc>
    {p}ev:<op>            stream   the operator's live events (SSE), capped
    {p}ops                set      every operator id the running config knows
    {p}cfgver             string   version of the config applied last (reloads missed are caught up)
    {p}reload             pubsub   a config version was applied: every process re-reads the file
    {p}lease:<name>       string   once-per-deployment background work (gateway/lease.py)
    {p}call:<prov>:<id>   hash     one phone call's course (routing/lua/calls.lua; TTL: DEDUPE_TTL)
    {p}imap:<mailbox>     hash     IMAP poller state: v (UIDVALIDITY), last (last UID handled)
    {p}chat:<session>     hash     a visitor chat session: case, contact, created ms (TTL)
    {p}chat:<s>:rate:<m>  string   messages of session <s> in minute <m> (TTL: two minutes)
    {p}chatip:<ip>        string   chat sessions opened from that address this hour (TTL)
    {p}chatout:<case>     pubsub   operator replies to a chat case: the visitor's process sends
    {p}sla                zset     open case ids with an SLA level to fire, score = its due ms
    {p}sla:risk           zset     open case ids warned and not breached (score = id)
    {p}sla:breached       zset     open case ids with a breach (score = id)
    {p}sla:counts         hash     "<service>|<priority>|<which>" -> breaches so far
    {p}callbacks          zset     waiting case ids with a callback, score = when to look at it
    {p}sla:hist           hash     "<which>|<le>" cases reacted/resolved within that bucket
                                   (not cumulative), "<which>|count", "<which>|sum_ms"
    {p}outbox             stream   work leaving the gateway: `case`, `entry` (an out message),
                                   `rid` (the request id the job logs under), written by the
                                   Lua step that records it; consumer group
                                   `feeder` (gateway/runtime/outbox.py) turns each into an RQ job
    {p}dlv:<id>           hash     delivery state of the case's out messages: entry id -> compact
                                   JSON (dl state, n attempts, de error, pi provider id; keys of
                                   routing/timeline.py), merged into the entry when read, so a
                                   state change never rewrites a timeline list element
    {p}cpt:<id>           set      e-mail addresses of the case's participants (To/Cc seen)
    {p}ack:<address>      string   acknowledgements sent to a sender this hour (loop guard)
    {p}by:<creator>       zset     case ids created by an operator (manual) or a channel
                                   (score = id): the "I created" folder
    {p}own:<op>           zset     case ids of the contacts the operator owns (score = id),
                                   moved with the contact when its owner changes
    {p}pm:<scope>:<id>    string   "<case>:<entry>" of an SMS sent with that provider message
                                   id (scope: the case's provider), for delivery status callbacks
                                   (TTL: routing/lua/outbox.lua PROVIDER_INDEX_TTL)
    {p}rl:<scope>:<who>   string   rate limit of a client address or operator in a scope: its
                                   GCRA arrival time in ms (routing/lua/limits.lua; TTL)
    {p}upgrades           hash     stored-data upgrade -> the last case id it handled, or
                                   "done" (routing/upgrades.py)

The layout is written once, in FIXED and PER_ID below: the Lua library's key builders are
generated from them (routing/library.py).

KEYS of a Lua function: the prefix itself (the base key) followed by every FIXED key, in
FIXED's order. The per-case, per-contact and per-operator keys cannot be passed in KEYS: their
ids are only known inside the function (a case id from INCR, the operator picked from a pool,
the cases found in a set). The function builds them from the base key, so they carry the same
hash tag and live in the same slot as every declared key. That is why one function works on a
single node, behind Sentinel and on Redis Cluster alike; the price is that one deployment lives
in one slot, i.e. on one cluster node (a second deployment prefix may live on another).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEDUPE_TTL = 3 * 24 * 3600  # providers retry for hours, never for days
OUTBOX_GROUP = (
    "feeder"  # the consumer group of `{p}outbox`, made with the stream by its first entry
)

# Keys with a fixed name: attribute name -> suffix after the prefix. Passed in KEYS.
FIXED = {
    "case_seq": "seq:case",
    "contact_seq": "seq:contact",
    "assign_seq": "seq:assign",
    "phone_index": "ix:phone",
    "email_index": "ix:email",
    "offers": "offers",
    "resumes": "resumes",
    "routing_config": "cfg",
    "operators": "ops",
    "config_version": "cfgver",
    "sla": "sla",
    "sla_risk": "sla:risk",
    "sla_breached": "sla:breached",
    "sla_counts": "sla:counts",
    "callbacks": "callbacks",
    "sla_hist": "sla:hist",
    "outbox": "outbox",
    "upgrades": "upgrades",
}

# Keys named after ids: builder name -> suffix, one `{}` per id.
PER_ID = {
    "case": "case:{}",
    "timeline": "tl:{}",
    "excluded": "ex:{}",
    "contact": "ct:{}",
    "contact_cases": "ct:{}:cases",
    "dedupe": "dd:{}:{}",
    "status": "st:{}",
    "queue": "q:{}:{}",
    "operator": "op:{}",
    "operator_cases": "op:{}:cases",
    "operator_services": "op:{}:svcs",
    "service_members": "svc:{}:ops",
    "pool": "pool:{}:{}",
    "events": "ev:{}",
    "lease": "lease:{}",
    "call": "call:{}:{}",
    "imap": "imap:{}",
    "chat_session": "chat:{}",
    "chat_rate": "chat:{}:rate:{}",
    "chat_ip": "chatip:{}",
    "deliveries": "dlv:{}",
    "participants": "cpt:{}",
    "ack_count": "ack:{}",
    "created_cases": "by:{}",
    "owned_cases": "own:{}",
    "provider_message": "pm:{}:{}",
    "rate": "rl:{}:{}",
}

# A Redis hash tag at the very start: `{name}` with a non-empty name and no braces inside.
_TAGGED = re.compile(r"\{[^{}]+\}")


@dataclass(frozen=True)
class Keys:
    prefix: str = "{ig}:"

    def __post_init__(self) -> None:
        if not _TAGGED.match(self.prefix):
            raise ValueError(f"key prefix {self.prefix!r} must start with a hash tag: '{{ig}}:'")

    @property
    def function_keys(self) -> list[str]:
        """KEYS of every Lua function: the base key, then the FIXED keys in order."""
        return [self.prefix, *(self.prefix + suffix for suffix in FIXED.values())]

    def _fixed(self, name: str) -> str:
        return self.prefix + FIXED[name]

    def _per_id(self, name: str, *ids: int | str) -> str:
        return self.prefix + PER_ID[name].format(*ids)

    @property
    def case_seq(self) -> str:
        return self._fixed("case_seq")

    @property
    def contact_seq(self) -> str:
        return self._fixed("contact_seq")

    @property
    def assign_seq(self) -> str:
        return self._fixed("assign_seq")

    @property
    def phone_index(self) -> str:
        return self._fixed("phone_index")

    @property
    def email_index(self) -> str:
        return self._fixed("email_index")

    @property
    def offers(self) -> str:
        return self._fixed("offers")

    @property
    def resumes(self) -> str:
        return self._fixed("resumes")

    @property
    def routing_config(self) -> str:
        return self._fixed("routing_config")

    @property
    def operators(self) -> str:
        return self._fixed("operators")

    @property
    def config_version(self) -> str:
        return self._fixed("config_version")

    @property
    def sla(self) -> str:
        return self._fixed("sla")

    @property
    def sla_risk(self) -> str:
        return self._fixed("sla_risk")

    @property
    def sla_breached(self) -> str:
        return self._fixed("sla_breached")

    @property
    def sla_counts(self) -> str:
        return self._fixed("sla_counts")

    @property
    def callbacks(self) -> str:
        return self._fixed("callbacks")

    @property
    def sla_hist(self) -> str:
        return self._fixed("sla_hist")

    @property
    def upgrades(self) -> str:
        return self._fixed("upgrades")

    @property
    def reload_channel(self) -> str:
        return f"{self.prefix}reload"  # a pub/sub channel, not a key: no function touches it

    def case(self, case_id: int | str) -> str:
        return self._per_id("case", case_id)

    def timeline(self, case_id: int | str) -> str:
        return self._per_id("timeline", case_id)

    def excluded(self, case_id: int | str) -> str:
        return self._per_id("excluded", case_id)

    def contact(self, contact_id: str) -> str:
        return self._per_id("contact", contact_id)

    def contact_cases(self, contact_id: str) -> str:
        return self._per_id("contact_cases", contact_id)

    def dedupe(self, scope: str, delivery_id: str) -> str:
        return self._per_id("dedupe", scope, delivery_id)

    def status(self, status: str) -> str:
        return self._per_id("status", status)

    def queue(self, service: str, channel: str) -> str:
        return self._per_id("queue", service, channel)

    def operator(self, operator_id: str) -> str:
        return self._per_id("operator", operator_id)

    def operator_cases(self, operator_id: str) -> str:
        return self._per_id("operator_cases", operator_id)

    def operator_services(self, operator_id: str) -> str:
        return self._per_id("operator_services", operator_id)

    def service_members(self, service: str) -> str:
        return self._per_id("service_members", service)

    def pool(self, service: str, channel: str) -> str:
        return self._per_id("pool", service, channel)

    def events(self, operator_id: str) -> str:
        return self._per_id("events", operator_id)

    def lease(self, name: str) -> str:
        return self._per_id("lease", name)

    def call(self, provider: str, call_id: str) -> str:
        return self._per_id("call", provider, call_id)

    def imap(self, mailbox: str) -> str:
        return self._per_id("imap", mailbox)

    def chat_session(self, session: str) -> str:
        return self._per_id("chat_session", session)

    def chat_ip(self, address: str) -> str:
        return self._per_id("chat_ip", address)

    def chat_channel(self, case_id: int | str) -> str:
        """Pub/sub, not a key: every process listens to the pattern `chat_channels`."""
        return f"{self.prefix}chatout:{case_id}"

    @property
    def chat_channels(self) -> str:
        return f"{self.prefix}chatout:*"

    @property
    def outbox(self) -> str:
        return self._fixed("outbox")

    def deliveries(self, case_id: int | str) -> str:
        return self._per_id("deliveries", case_id)

    def participants(self, case_id: int | str) -> str:
        return self._per_id("participants", case_id)

    def ack_count(self, address: str) -> str:
        return self._per_id("ack_count", address)

    def created_cases(self, creator: str) -> str:
        return self._per_id("created_cases", creator)

    def owned_cases(self, operator_id: str) -> str:
        return self._per_id("owned_cases", operator_id)

    def provider_message(self, scope: str, message_id: str) -> str:
        return self._per_id("provider_message", scope, message_id)

    def rate(self, scope: str, who: str) -> str:
        return self._per_id("rate", scope, who)
