"""RQ jobs, named by dotted path (`worker.jobs.outbound.deliver`) when enqueued."""
