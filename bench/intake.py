"""Intake throughput, latency and memory against a bare floor measured in the same run.

`python bench/intake.py [--quick] [--observability] [--limits]`. Every target runs on a fresh
server over a flushed Valkey (the embedded one `serve` runs, AOF on); the load generator is a
separate process. A later channel adds a `Floor` (its cheapest honest handler) and a `Target`
compared with it. The full run ends with signed SMS with rate limits on against off
(`--limits`: only that; `--observability`: only metrics and JSON logs on against off).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace

if __package__ in (None, ""):  # run as a script: make `bench` and the product importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import redis

from bench.common import (
    CONFIG,
    Cycle,
    Job,
    RequestSource,
    Result,
    Server,
    SignedSms,
    browser_form,
    browser_multipart,
    cpu_seconds,
    descendants,
    json_form,
    loop_name,
    median,
    multipart_form,
    run_job,
    server_pid,
    server_version,
    start_floor,
    start_gateway,
    urlencoded_form,
    used_memory,
    valkey,
)
from bench.limits import EXEMPT
from gateway.config import DURABILITIES
from gateway.views import text
from routing.keys import Keys

CONNECTIONS = (16, 64)
OPEN_LOOP_CONNECTIONS = 64
ATTACHMENT = os.urandom(20 * 1024)
SMALL_ATTACHMENT = os.urandom(2 * 1024)  # a browser's multipart form with a small screenshot
SMS_THROUGHPUT_TARGET = 0.5  # x floor
P99_TARGET = 3.0  # x floor's p99 at half the floor's saturating rate
BYTES_PER_CASE_TARGET = 1024
FORM_THROUGHPUT_TARGET = 0.7  # x floor
FORM_P99_TARGET = 1.5  # x signed SMS's p99, closed loop, same connections
FORMS = ("form-browser-303", "form-urlencoded", "form-json", "form-browser-mpart")
KEPT_UP = 0.97  # open loop: a server answering less than this share of the offered rate fell behind


@dataclass(frozen=True)
class Settings:
    runs: int
    seconds: float
    warmup: float
    memory_cases: int


@dataclass(frozen=True)
class Target:
    """One thing to load: `source(run_id)` builds its requests; `floor` names its baseline
    (None: it is a floor, served by bench/floor.py)."""

    name: str
    source: Callable[[str], RequestSource]
    floor: str | None = None
    processes: int = 1
    unique: bool = False  # every request is built (and signed) apart: size the batch to need
    config: str = CONFIG  # the sample; bench --observability writes variants of it


def sms_source(run_id: str) -> RequestSource:
    return SignedSms(run_id, pool=10_000)


def floor_sms_source(run_id: str) -> RequestSource:
    now = time.time()
    return Cycle([SignedSms(run_id).request(i, now) for i in range(1000)])


def urlencoded_source(run_id: str) -> RequestSource:
    return Cycle([urlencoded_form(n) for n in range(1000)])


def browser_source(run_id: str) -> RequestSource:
    return Cycle([browser_form(n) for n in range(1000)])


def json_form_source(run_id: str) -> RequestSource:
    return Cycle([json_form(n) for n in range(1000)])


def browser_multipart_source(run_id: str) -> RequestSource:
    return Cycle([browser_multipart(n, SMALL_ATTACHMENT) for n in range(1000)])


def multipart_source(run_id: str) -> RequestSource:
    return Cycle([multipart_form(n, ATTACHMENT) for n in range(50)])


TARGETS = [
    Target("floor", floor_sms_source),
    Target("floor-20k", multipart_source),
    Target("sms", sms_source, floor="floor", unique=True),
    Target("sms-2proc", sms_source, floor="floor", processes=2, unique=True),
    Target("form-urlencoded", urlencoded_source, floor="floor"),
    Target("form-browser-303", browser_source, floor="floor"),
    Target("form-json", json_form_source, floor="floor"),
    Target("form-browser-mpart", browser_multipart_source, floor="floor"),
    Target("form-multipart-20k", multipart_source, floor="floor-20k"),
]


@dataclass
class Bench:
    settings: Settings
    redis_url: str
    client: redis.Redis
    log_dir: str
    results: dict[tuple[str, int], list[Result]] = field(default_factory=dict)

    def start(self, target: Target) -> Server:
        """A fresh server over an empty store: every run starts from the same state."""
        self.client.flushall()
        if target.floor is None:
            return start_floor(self.redis_url, self.log_dir)
        return start_gateway(
            self.redis_url, self.log_dir, processes=target.processes, config=target.config
        )

    def count(self, target: Target, rate: float | None) -> int:
        span = self.settings.warmup + self.settings.seconds
        if rate is not None:
            return int(rate * span)
        if not target.unique:
            return int(50_000 * span)  # a cycled pool: references, cheap
        best = max(
            median([r.rate for r in self.results[(target.floor or "", c)]]) for c in CONNECTIONS
        )
        return max(20_000, int(2 * best * span))

    def run(self, target: Target, connections: int, rate: float | None = None) -> Result:
        server = self.start(target)
        try:
            job = Job(
                port=server.port,
                source=target.source(uuid.uuid4().hex[:8]),
                connections=connections,
                duration=self.settings.seconds,
                count=self.count(target, rate),
                warmup=self.settings.warmup,
                rate=rate,
            )
            servers, valkey_pid = descendants(server.proc.pid), server_pid(self.client)
            cpu_before = cpu_seconds(servers), cpu_seconds([valkey_pid])
            result = run_job(job)
            cpu = cpu_seconds(servers) - cpu_before[0], cpu_seconds([valkey_pid]) - cpu_before[1]
        finally:
            server.stop()
        per_request = 1e6 / max(result.answered, 1)
        return replace(
            result, server_cpu_us=cpu[0] * per_request, valkey_cpu_us=cpu[1] * per_request
        )

    def closed_loop(self, target: Target) -> None:
        for connections in CONNECTIONS:
            runs = self.results.setdefault((target.name, connections), [])
            for n in range(1, self.settings.runs + 1):
                result = self.run(target, connections)
                runs.append(result)
                print(
                    f"  {target.name:<20} {connections:>3} conns  run {n}: {brief(result)}",
                    flush=True,
                )


def brief(result: Result) -> str:
    line = (
        f"{result.rate:7.0f} req/s  p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms  "
        f"CPU/req: server {result.server_cpu_us:4.0f} us, valkey {result.valkey_cpu_us:3.0f} us"
    )
    if result.errors:
        line += f"  ERRORS {result.errors} {result.statuses}"
    if result.unsent:
        line += f"  ({result.unsent} due requests never sent: far behind)"
    if result.exhausted:
        line += "  (requests ran out early: rate measured over the shorter window)"
    return line


def cell(values: list[float], digits: int) -> str:
    runs = " ".join(f"{v:.{digits}f}" for v in values)
    return f"{median(values):.{digits}f} [{runs}]"


def print_table(bench: Bench) -> None:
    print("\nResults, closed loop (median [each run]); CPU us per request (median):")
    print(
        f"  {'target':<19} {'conns':>5}  {'req/s':<24} {'p50 ms':<24} {'p99 ms':<27} server valkey"
    )
    for (name, connections), runs in bench.results.items():
        rates = cell([r.rate for r in runs], 0)
        p50 = cell([r.p50_ms for r in runs], 2)
        p99 = cell([r.p99_ms for r in runs], 2)
        cpu = median([r.server_cpu_us for r in runs]), median([r.valkey_cpu_us for r in runs])
        print(
            f"  {name:<19} {connections:>5}  {rates:<24} {p50:<24} {p99:<27} "
            f"{cpu[0]:6.0f} {cpu[1]:6.0f}"
        )


def med(bench: Bench, name: str, connections: int, attr: str) -> float:
    return median([float(getattr(r, attr)) for r in bench.results[(name, connections)]])


RATIO_COLUMNS = ("rate", "p50_ms", "p99_ms", "server_cpu_us")


def print_ratios(bench: Bench) -> list[tuple[int, float]]:
    """Gateway ÷ floor for every target; returns (connections, ratio) of signed SMS req/s."""
    print("\nGateway ÷ floor (medians; req/s below 1 and the others above 1 are worse):")
    print(
        f"  {'target ÷ floor':<31} {'conns':>5} {'req/s':>6} {'p50':>7} {'p99':>7} {'CPU/req':>8}"
    )
    sms = []
    for target in TARGETS:
        if target.floor is None:
            continue
        for c in CONNECTIONS:
            r = [
                med(bench, target.name, c, a) / med(bench, target.floor, c, a)
                for a in RATIO_COLUMNS
            ]
            label = f"{target.name} ÷ {target.floor}"
            print(f"  {label:<31} {c:>5} {r[0]:>6.2f} {r[1]:>6.2f}x {r[2]:>6.2f}x {r[3]:>7.2f}x")
            if target.name == "sms":
                sms.append((c, r[0]))
    return sms


def target(name: str) -> Target:
    return next(t for t in TARGETS if t.name == name)


def p99_at(bench: Bench, name: str, rate: float) -> tuple[float, bool]:
    """Median p99 of `name` over the runs, open loop at `rate`; and whether it kept up."""
    values, rates = [], []
    for n in range(1, bench.settings.runs + 1):
        result = bench.run(target(name), OPEN_LOOP_CONNECTIONS, rate)
        values.append(result.p99_ms)
        rates.append(result.rate)
        print(f"  {name:<19} {rate:6.0f}/s run {n}: {brief(result)}", flush=True)
    return median(values), median(rates) >= KEPT_UP * rate


def open_loop(bench: Bench) -> tuple[float, float, float, float, bool]:
    """p99 of the floor and of signed SMS (1 and 2 acceptors) at half the floor's saturating
    rate, open loop."""
    rate = 0.5 * max(med(bench, "floor", c, "rate") for c in CONNECTIONS)
    print(
        f"\nOpen loop (latency from each request's due time), at most {OPEN_LOOP_CONNECTIONS} in "
        f"flight, at half the floor's saturating rate ({rate:.0f}/s):"
    )
    (floor_p99, floor_ok), (sms_p99, sms_ok) = (
        p99_at(bench, "floor", rate),
        p99_at(bench, "sms", rate),
    )
    two_p99, two_ok = p99_at(bench, "sms-2proc", rate)
    own = 0.5 * max(med(bench, "sms", c, "rate") for c in CONNECTIONS)
    print(f"  for comparison, signed SMS at half its own saturating rate ({own:.0f}/s):")
    own_p99, _ = p99_at(bench, "sms", own)
    print(
        f"  p99 medians: floor {floor_p99:.2f} ms; sms {sms_p99:.2f} ms at {rate:.0f}/s"
        f"{'' if sms_ok else ' (did not keep up: a queue built)'}, {own_p99:.2f} ms at {own:.0f}/s;"
        f" sms-2proc {two_p99:.2f} ms at {rate:.0f}/s"
        f"{'' if two_ok else ' (did not keep up: a queue built)'}"
    )
    if not floor_ok:
        print(
            "  THE FLOOR DID NOT KEEP UP with half its own closed-loop rate (a busy machine, "
            "or the open-loop generator needs more CPU than the closed one): no meaningful ratio"
        )
    return rate, floor_p99, sms_p99, two_p99, floor_ok


def scaling(bench: Bench) -> None:
    print("\nSigned SMS throughput by acceptor processes (median req/s):")
    for c in CONNECTIONS:
        one, two = med(bench, "sms", c, "rate"), med(bench, "sms-2proc", c, "rate")
        print(
            f"  {c:>3} conns: --processes 1 {one:6.0f}   --processes 2 {two:6.0f}"
            f"   x{two / one:.2f}"
        )


# ---------------------------------------------------------------- memory


def kind_of(key: str) -> str:
    """The key's shape: digits (ids, numbers, counters) replaced by N."""
    return re.sub(r"\d+", "N", key)


def memory(bench: Bench) -> float:
    """Bytes of used_memory per stored short SMS case, each from a new number."""
    cases = bench.settings.memory_cases
    server = bench.start(Target("sms", sms_source, floor="floor"))
    try:
        job = Job(server.port, SignedSms("warm", pool=0, offset=9_000_000), 1, None, 1, warmup=0)
        run_job(job)  # loads the INTAKE script, creates the shared keys
        before = used_memory(bench.client)
        source = SignedSms("mem", pool=0, offset=1_000_000)
        result = run_job(Job(server.port, source, 16, None, cases, warmup=0))
        after = used_memory(bench.client)
    finally:
        server.stop()
    per_case = (after - before) / cases
    errors = f", {result.errors} errors {result.statuses}" if result.errors else ""
    print(f"\nMemory: {cases} short SMS cases (100-character text), each from a new number{errors}")
    print(f"  used_memory before {before:,} B, after {after:,} B: {per_case:,.0f} B per case")
    breakdown(bench.client, cases)
    return per_case


def breakdown(client: redis.Redis, cases: int) -> None:
    kinds: dict[str, list[str]] = {}
    for raw in client.scan_iter(count=1000):
        key = raw.decode()
        kinds.setdefault(kind_of(key), []).append(key)
    print(
        f"  by key kind (MEMORY USAGE ... SAMPLES 0 of every key; "
        f"{sum(map(len, kinds.values()))} keys):"
    )
    print(
        f"    {'kind':<24} {'keys':>6} {'bytes':>10} {'per case':>8} {'per key':>8}"
        "  sample key (encoding)"
    )
    rows = []
    for kind, keys in kinds.items():
        with client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.memory_usage(key, samples=0)
            rows.append((sum(int(size or 0) for size in pipe.execute()), kind, keys))
    for total, kind, keys in sorted(rows, reverse=True):
        encoding = client.object("encoding", keys[0])
        enc = encoding.decode() if isinstance(encoding, bytes) else str(encoding)
        print(
            f"    {kind:<24} {len(keys):>6} {total:>10,} {total / cases:>8.1f} "
            f"{total / len(keys):>8.0f}  {keys[0]} ({enc})"
        )
    total = sum(row[0] for row in rows)
    print(f"    {'sum':<24} {'':>6} {total:>10,} {total / cases:>8.1f}")
    print("    (used_memory also holds the main dictionary's entries and the TTLs of dedupe keys)")
    show_samples(client)


def show_samples(client: redis.Redis) -> None:
    """What one case, its contact and timeline entry hold: where the bytes are."""
    keys = Keys()
    case = client.hgetall(keys.case(2))
    if not case:
        return
    contact = text(case.get(b"ct", b""))
    print(f"  sample case hash {keys.case(2)}: {case}")
    print(f"  sample timeline entry: {client.lindex(keys.timeline(2), 0)!r}")
    print(f"  sample contact {keys.contact(contact)}: {client.hgetall(keys.contact(contact))}")


# ---------------------------------------------------------------- on vs off

OBSERVABILITY_COST_TARGET = 0.05  # metrics and JSON logs on may cost at most 5 % of req/s
Switches = dict[str, tuple[str, str]]  # a line of the sample -> (when on, when off)
OBSERVABILITY: Switches = {  # the sample's [logging] and [metrics] lines
    'format = "text"': ('format = "json"', 'format = "text"'),
    'level = "info"': ('level = "info"', 'level = "warning"'),  # warning: no access lines
    "per_process = true": ("per_process = true", "per_process = false"),
}
LIMITS: Switches = {  # on: every request counted (loopback not exempt), the limit never reached
    EXEMPT: ("exempt = []", EXEMPT),
    "webhooks_per_minute = 1200": ("webhooks_per_minute = 100000000", "webhooks_per_minute = 0"),
}


def variant(log_dir: str, name: str, switches: Switches, on: bool) -> Target:
    """Signed SMS on the sample config with `switches` applied, on or off."""
    with open(CONFIG, encoding="utf-8") as file:
        text = file.read()
    for line, (when_on, when_off) in switches.items():
        assert text.count(line) == 1, line
        text = text.replace(line, when_on if on else when_off)
    path = os.path.join(log_dir, f"{name}.toml")
    with open(path, "w", encoding="utf-8") as file:
        file.write(text)
    return Target(name, sms_source, floor="floor", unique=True, config=path)


def on_vs_off(bench: Bench, what: str, switches: Switches) -> dict[int, float]:
    """Both variants run alternately (on, off, on, off...) so drift hits them alike; the
    request count is sized from the floor's runs as for the other unique-request targets.
    Returns the req/s ratio on / off (medians) by connection count."""
    if ("floor", CONNECTIONS[0]) not in bench.results:
        bench.closed_loop(target("floor"))
    name = f"sms-{what.split()[0].lower()}"
    on, off = (variant(bench.log_dir, f"{name}-{state}", switches, state == "on")
               for state in ("on", "off"))  # fmt: skip
    for connections in CONNECTIONS:
        for n in range(1, bench.settings.runs + 1):
            for each in (on, off):
                result = bench.run(each, connections)
                bench.results.setdefault((each.name, connections), []).append(result)
                print(f"  {each.name:<20} {connections:>3} conns  run {n}: {brief(result)}")
    print(f"\n{what} on ÷ off (medians):")
    ratios = {}
    for c in CONNECTIONS:
        ratios[c] = med(bench, on.name, c, "rate") / med(bench, off.name, c, "rate")
        cpu = med(bench, on.name, c, "server_cpu_us") / med(bench, off.name, c, "server_cpu_us")
        print(f"  {c:>3} conns: req/s x{ratios[c]:.3f}, server CPU/req x{cpu:.3f}")
    return ratios


def observability(bench: Bench) -> None:
    """Per-process metrics and JSON access logs on, against both off (the Redis-derived
    metrics only, logs at warning)."""
    ratios = on_vs_off(bench, "Metrics + JSON access logs", OBSERVABILITY)
    worst = min(ratios.values())
    print(f"  cost <= {OBSERVABILITY_COST_TARGET:.0%} of req/s: "
          f"{verdict(worst >= 1 - OBSERVABILITY_COST_TARGET)}")  # fmt: skip


def limits(bench: Bench) -> None:
    """The rate limiter counting every signed SMS in Redis, against `[limits]` off."""
    on_vs_off(bench, "Rate limits", LIMITS)


# ---------------------------------------------------------------- main


def settings(args: argparse.Namespace) -> Settings:
    if args.quick:
        return Settings(runs=1, seconds=3.0, warmup=0.5, memory_cases=2000)
    return Settings(runs=3, seconds=10.0, warmup=1.0, memory_cases=10_000)


def header(bench: Bench) -> None:
    s = bench.settings
    print(
        f"intake benchmark: {os.cpu_count()} cores ({platform.machine()}), "
        f"Python {platform.python_version()}, {loop_name()}, "
        f"Valkey {server_version(bench.client)} (embedded, appendfsync "
        f"{text(next(iter(bench.client.config_get('appendfsync').values())) or '')})"
    )
    print(
        f"  {s.runs} run(s) x {s.seconds:.0f} s per target and connection count "
        f"(+{s.warmup} s warm-up, not counted); closed loop over "
        f"{' and '.join(map(str, CONNECTIONS))} keep-alive connections."
    )
    print(
        "  Load generator, servers and Valkey share this machine's cores. Before every run: "
        "FLUSHALL and a fresh server."
    )
    print(f"  {load_average()}\n")


def load_average() -> str:
    """Other work on the machine moves the numbers; CPU per request moves least."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min)"


def verdict(met: bool) -> str:
    return "MET" if met else "MISSED"


def verdicts(
    sms: list[tuple[int, float]], loop: tuple[float, float, float, float, bool], per_case: float
) -> None:
    rate, floor_p99, sms_p99, two_p99, floor_ok = loop
    worst = min(ratio for _, ratio in sms)
    shown = ", ".join(f"{ratio:.2f} at {c} conns" for c, ratio in sms)
    p99_ratio = sms_p99 / floor_p99
    p99_verdict = verdict(p99_ratio <= P99_TARGET) if floor_ok else "INVALID: the floor fell behind"
    print("\nTargets:")
    print(
        f"  signed SMS throughput >= {SMS_THROUGHPUT_TARGET} x floor: {shown}  "
        f"{verdict(worst >= SMS_THROUGHPUT_TARGET)}"
    )
    print(
        f"  p99 at half the floor's saturating rate ({rate:.0f}/s) <= {P99_TARGET} x floor's: "
        f"{sms_p99:.2f} / {floor_p99:.2f} ms = {p99_ratio:.2f}x  {p99_verdict}"
    )
    two_ratio = two_p99 / floor_p99
    two_verdict = verdict(two_ratio <= P99_TARGET) if floor_ok else "INVALID: the floor fell behind"
    print(
        f'    the same with --processes 2 (what processes = "auto" runs here): '
        f"{two_p99:.2f} / {floor_p99:.2f} ms = {two_ratio:.2f}x  {two_verdict}"
    )
    print(
        f"  Redis bytes per short SMS case <= {BYTES_PER_CASE_TARGET}: {per_case:,.0f} B  "
        f"{verdict(per_case <= BYTES_PER_CASE_TARGET)}"
    )


def form_verdicts(bench: Bench) -> None:
    """Every form kind against the floor's rate and the signed SMS's p99, closed loop."""
    print(
        f"  web forms, closed loop: req/s >= {FORM_THROUGHPUT_TARGET} x floor, "
        f"p99 <= {FORM_P99_TARGET} x signed SMS's p99:"
    )
    for name in FORMS:
        for c in CONNECTIONS:
            rate = med(bench, name, c, "rate") / med(bench, "floor", c, "rate")
            p99, sms_p99 = med(bench, name, c, "p99_ms"), med(bench, "sms", c, "p99_ms")
            met = rate >= FORM_THROUGHPUT_TARGET and p99 <= FORM_P99_TARGET * sms_p99
            print(
                f"    {name:<18} {c:>3} conns: {rate:.2f} x floor, p99 {p99:.2f} / {sms_p99:.2f} ms"
                f" = {p99 / sms_p99:.2f}x  {verdict(met)}"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1 run of 3 s per measurement")
    parser.add_argument(
        "--durability",
        choices=DURABILITIES,
        default=DURABILITIES[0],
        help="the Valkey's appendfsync",
    )
    parser.add_argument(
        "--observability", action="store_true", help="only: metrics and JSON logs on vs off"
    )
    parser.add_argument("--limits", action="store_true", help="only: rate limits on vs off")
    args = parser.parse_args()
    started = time.monotonic()
    with (
        valkey() as (url, client),
        tempfile.TemporaryDirectory(prefix="intake-bench-logs-") as logs,
    ):
        client.config_set("appendfsync", args.durability)  # what [redis].durability sets
        bench = Bench(settings(args), url, client, logs)
        header(bench)
        if args.observability or args.limits:
            for chosen, run in ((args.observability, observability), (args.limits, limits)):
                if chosen:
                    run(bench)
            return 0
        for each in sorted(TARGETS, key=lambda t: t.floor is not None):  # floors first
            bench.closed_loop(each)
        print_table(bench)
        sms = print_ratios(bench)
        scaling(bench)
        loop = open_loop(bench)
        per_case = memory(bench)
        verdicts(sms, loop, per_case)
        form_verdicts(bench)
        limits(bench)
    print(f"\n({time.monotonic() - started:.0f} s; {load_average()})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
