"""What RQ job an outbox entry becomes: the dotted path of what it does, an id derived from the
entry (so a second feed finds it and enqueues nothing), a description and meta that
rq-dashboard and `/api/admin/queues` show, and RQ's retries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rq import Retry

from gateway.outbound import DELIVER_RETRIES, JOB, JOBS, MEDIA_JOB, MEDIA_RETRIES, job_id


@dataclass(frozen=True)
class JobSpec:
    func: str
    job_id: str
    description: str
    meta: dict[str, Any]
    retries: tuple[int, ...]

    def retry(self) -> Retry:
        return Retry(max=len(self.retries), interval=list(self.retries))


def spec(prefix: str, case_id: str, entry: str, fields: dict[str, str], stream_id: str) -> JobSpec:
    """The job of outbox entry `stream_id` (`job`: deliver or media; a delivery's `channel`;
    `rid`: the id of the request or mail that wrote it, under which the job logs)."""
    meta = {"case_id": int(case_id), "entry_id": entry, "outbox_id": stream_id, "attempt": 1,
            "request_id": fields.get("rid", "")}  # fmt: skip
    found = job_id(prefix, case_id, entry)
    if fields.get("job") == "media":
        what = f"fetch media: case {case_id} entry {entry}"
        media_id = found.replace("deliver-", "media-", 1)
        return JobSpec(MEDIA_JOB, media_id, what, meta, MEDIA_RETRIES)
    channel = fields.get("channel", "")
    what = f"send {channel or 'reply'}: case {case_id} entry {entry}"
    meta["channel"] = channel
    return JobSpec(JOBS.get(channel, JOB), found, what, meta, DELIVER_RETRIES)
