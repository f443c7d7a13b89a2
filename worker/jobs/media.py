"""`fetch`: download the media a Twilio message only linked to, into the blob store, and attach
them to its timeline entry (one Lua step, once per entry).

`channels.twilio.media.download` only fetches from `[channels.twilio].api_base`'s host. A
transient refusal (5xx, 429, unreachable) fails the job for RQ's retry (the entry keeps its
`media` until a run has been through them all); a permanent one (another host, 4xx, too big)
is written on the entry as `media_error`, the other media attached.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from rq import get_current_job

from channels.blobs import FsBlobStore
from channels.outbound import Failed
from channels.twilio import media
from routing.keys import Keys
from routing.timeline import STORED
from worker.jobs import context
from worker.jobs.calls import call

log = logging.getLogger(__name__)


def fetch(prefix: str, case_id: int, entry_id: str) -> int:
    """How many media were attached (0: none left, another run did it)."""
    job = get_current_job()
    if job is None:
        raise RuntimeError("fetch runs as an RQ job")
    connection, keys, config = job.connection, Keys(prefix), context.config()
    twilio = config.channels.twilio
    if twilio is None:
        raise RuntimeError("[channels.twilio] is not configured: media cannot be fetched")
    pending = _pending(connection.lrange(keys.timeline(case_id), 0, -1), entry_id)
    blobs, found, errors = FsBlobStore(config.blobs_dir), [], []
    for index, (url, _kind) in enumerate(pending):
        try:
            data, kind = media.download(twilio, url)
        except Failed as error:  # trying again cannot help: shown on the entry instead
            errors.append(f"media {index}: {error}")
            continue
        found.append({"n": f"media-{index}", "ty": kind, "sz": len(data), "sha": blobs.put(data)})
    found_json, problems = json.dumps(found), "; ".join(errors)
    result = call(connection, keys, "media_attach", case_id, entry_id, found_json, problems)
    log.info("case %s entry %s: %s media attached", case_id, entry_id, result["attached"])
    return int(result["attached"])


def _pending(raw_entries: list[Any], entry_id: str) -> list[tuple[str, str]]:
    for raw in raw_entries:
        entry = json.loads(raw)
        if isinstance(entry, dict) and entry.get(STORED["id"]) == entry_id:
            return [(str(url), str(kind)) for url, kind in entry.get("media") or []]
    return []
