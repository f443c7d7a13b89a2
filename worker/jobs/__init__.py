"""RQ jobs, enqueued by the dotted path of what they do (gateway/outbound.py names them):

    worker.jobs.send_email    a reply or acknowledgement by mail       (outbound.deliver)
    worker.jobs.send_sms      a reply by SMS (generic or Twilio)       (outbound.deliver)
    worker.jobs.send_reply    a reply by its case's channel            (outbound.deliver)
    worker.jobs.fetch_media   the media a Twilio message only linked   (media.fetch)

The three senders are one job: each sends the entry through its own channel's sender; the
names tell operators (rq-dashboard, /api/admin/queues) what a job does. Jobs enqueued under
the older paths (`worker.jobs.outbound.deliver`, `worker.jobs.media.fetch`) still run.
"""

from worker.jobs.media import fetch as fetch_media
from worker.jobs.outbound import deliver as send_reply

send_email = send_sms = send_reply

__all__ = ["fetch_media", "send_email", "send_reply", "send_sms"]
