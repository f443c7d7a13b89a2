"""Reading `/metrics` as Prometheus does: prometheus_client's own text parser, no string matching
(the exposition orders labels by name and writes values as floats)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def samples(body: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of the text: (sample name, its labels) -> value."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


def sample(body: str, name: str, **labels: str) -> float:
    found = samples(body).get((name, frozenset(labels.items())))
    assert found is not None, f"no sample {name}{labels} in:\n{body}"
    return found


def total(body: str, name: str, **labels: str) -> float:
    """The sum of `name` over every sample whose labels include `labels` (0 when none)."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples(body).items() if n == name and wanted <= ls)
