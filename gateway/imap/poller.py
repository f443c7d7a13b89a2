"""IMAP mailbox pollers: one per `[[channels.email.imap]]`, once per deployment (a lease each).

Progress lives in Redis (`{p}imap:<mailbox>`: UIDVALIDITY `v` and the last UID handled `last`),
so a restart, or another gateway taking the lease over, neither skips nor repeats mail:

- same UIDVALIDITY: fetch UID > last (read or not: a person may have opened it in a mail client);
- first start or UIDVALIDITY changed (folder recreated, server migrated; the old UIDs mean
  nothing now): fetch every unseen mail and rely on the intake's Message-ID dedupe for any
  stored before, then remember `last` = the highest UID at SELECT, so old read mail is history.

Per mail: stored through `deliver_mail`, only then \\Seen (or moved), only then `last` advanced.
Storage down: the batch stops there, the mail stays unseen, retried after a backoff.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from aiohttp import web
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError

from channels.email_settings import DEFAULT_MAX_MESSAGE_BYTES, ImapBox
from channels.errors import StorageUnavailable
from gateway.http.app_keys import RUNTIME
from gateway.imap.session import IMAP_ERRORS, Selected, Session
from gateway.mail import deliver_mail
from gateway.runtime.background import Singleton, add_singleton
from gateway.runtime.cancel import raise_if_cancelled
from gateway.runtime.state import Runtime
from gateway.telemetry.context import handling, new_id

log = logging.getLogger(__name__)

T = TypeVar("T")

BATCH = 20  # mails per FETCH: fewer round trips ...
BATCH_BYTES = 16 * 1024 * 1024  # ... and bounded memory (one bigger mail is fetched alone)
IDLE_SLICE = 1.0  # seconds per idle_check: how soon a cancelled poller lets go of its thread
IDLE_RENEW = 300.0  # IDLE is re-issued long before the server's 29-minute limit
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 60.0

# Storage not reachable: nothing is wrong with the mail, so it is retried later.
STORAGE_DOWN = (StorageUnavailable, RedisConnectionError, RedisTimeoutError, ReadOnlyError, OSError)


def batches(uids: list[int], sizes: dict[int, int], count: int, budget: int) -> Iterator[list[int]]:
    """Consecutive UIDs, at most `count` per FETCH and about `budget` bytes (at least one)."""
    batch: list[int] = []
    total = 0
    for uid in uids:
        size = sizes.get(uid, 0)
        if batch and (len(batch) == count or total + size > budget):
            yield batch
            batch, total = [], 0
        batch.append(uid)
        total += size
    if batch:
        yield batch


class ImapDown(Exception):
    """The IMAP connection failed or the server refused a command: reconnect after a backoff."""


def mailbox_name(box: ImapBox) -> str:
    return f"{box.user}@{box.host}:{box.port}/{box.folder}"


def add_pollers(app: web.Application, boxes: tuple[ImapBox, ...]) -> None:
    """Register one leased singleton per mailbox (`{p}lease:imap:<mailbox>`)."""
    for box in boxes:
        add_singleton(app, "imap:" + mailbox_name(box), _work(box))


def _work(box: ImapBox) -> Singleton:
    async def poll(app: web.Application) -> None:
        await Poller(app[RUNTIME], box).run()

    return poll


class Poller:
    def __init__(self, runtime: Runtime, box: ImapBox) -> None:
        self.runtime = runtime
        self.box = box
        self.name = mailbox_name(box)
        self.key = runtime.keys.imap(self.name)
        self.session = Session(box)
        # one thread per mailbox: calls on one connection are serialised, never concurrent
        self.thread = ThreadPoolExecutor(1, thread_name_prefix="imap")
        self.backoff = BACKOFF_FIRST

    async def run(self) -> None:
        try:
            while True:
                try:
                    await self._connected()
                except ImapDown as error:
                    log.warning("imap %s: %s; reconnecting in %.1fs",
                                self.name, error, self.backoff)  # fmt: skip
                except STORAGE_DOWN as error:
                    log.warning("imap %s: storage unavailable (%s); retrying in %.1fs",
                                self.name, error, self.backoff)  # fmt: skip
                self.thread.submit(self.session.close)
                await asyncio.sleep(self.backoff)
                self.backoff = min(self.backoff * 2, BACKOFF_MAX)
        finally:
            # queued behind a call in flight (bounded by the socket timeouts); the loop goes on
            self.thread.submit(self.session.close)
            self.thread.shutdown(wait=False)

    async def _call(self, fn: Callable[..., T], *args: object) -> T:
        try:
            return await asyncio.get_running_loop().run_in_executor(self.thread, fn, *args)
        except IMAP_ERRORS as error:
            raise ImapDown(f"{type(error).__name__}: {error}") from error

    async def _connected(self) -> None:
        selected = await self._call(self.session.open)
        mode = "IDLE" if selected.idle else f"polling every {self.box.poll_interval:g}s"
        log.info("imap %s: logged in (%s)", self.name, mode)
        while True:
            await self._fetch_new(selected)
            self.backoff = BACKOFF_FIRST  # only a whole look counts: a failing one backs off
            raise_if_cancelled()
            if selected.idle:
                await self._idle()
            else:
                await asyncio.sleep(self.box.poll_interval)

    async def _fetch_new(self, selected: Selected) -> None:
        redis = self.runtime.redis
        state = await redis.hgetall(self.key)
        if int(state.get(b"v", 0)) == selected.uidvalidity:
            last = int(state.get(b"last", 0))
            await self._deliver(await self._call(self.session.uids_after, last), advance=True)
            return
        if state:
            log.warning("imap %s: UIDVALIDITY changed; fetching every unseen mail", self.name)
        uids = await self._call(self.session.unseen)
        await self._deliver(uids, advance=False)
        last = max([selected.top, *uids])
        await redis.hset(self.key, mapping={"v": selected.uidvalidity, "last": last})

    async def _deliver(self, uids: list[int], advance: bool) -> None:
        if not uids:
            return
        sizes = await self._call(self.session.sizes, uids)
        for batch in batches(uids, sizes, BATCH, BATCH_BYTES):
            await self._batch(batch, sizes, advance)

    async def _batch(self, uids: list[int], sizes: dict[int, int], advance: bool) -> None:
        limit = self._size_limit()
        wanted = [uid for uid in uids if sizes.get(uid, 0) <= limit]
        bodies = await self._call(self.session.fetch, wanted) if wanted else {}
        stored: list[int] = []
        handled = 0
        stopped: BaseException | None = None
        for uid in uids:
            try:
                with handling(new_id()):  # each mail's id, in every line logged while storing it
                    if await self._store(uid, bodies.get(uid), sizes.get(uid, 0) > limit):
                        stored.append(uid)
            except STORAGE_DOWN as error:
                stopped = error
                break
            handled += 1
        if stored:
            await self._call(self.session.processed, stored)
        if advance and handled:
            await self.runtime.redis.hset(self.key, "last", uids[handled - 1])
        if stopped is not None:
            raise stopped

    def _size_limit(self) -> int:
        settings = self.runtime.config.channels.email
        return settings.max_message_bytes if settings else DEFAULT_MAX_MESSAGE_BYTES

    async def _store(self, uid: int, raw: bytes | None, too_big: bool) -> bool:
        """True when stored (or dropped as noise); False leaves the mail unseen in the folder."""
        if too_big:  # what SMTP refuses with 552 is not taken from a mailbox either
            log.error("imap %s: UID %s is over max_message_bytes; left unseen", self.name, uid)
            return False
        if raw is None:
            return False  # expunged since the search: nothing left to store
        runtime = self.runtime
        try:
            # the envelope sender is unknown here; the mail's own Return-Path still counts
            result = await deliver_mail(runtime.intake, runtime.config, raw, self.box.user,
                                        [self.box.user])  # fmt: skip
        except STORAGE_DOWN:
            raise
        except Exception:
            log.exception("imap %s: UID %s could not be stored; left unseen", self.name, uid)
            return False
        outcome = f"case {result.case_id}" if result else "dropped (auto-reply without a case)"
        log.info("imap %s: UID %s stored: %s", self.name, uid, outcome)
        return True

    async def _idle(self) -> None:
        """Wait in IDLE until the server reports a change (or IDLE_RENEW passed).

        Cancelled meanwhile: Session.close (queued by `run`) ends the IDLE before logging out.
        """
        await self._call(self.session.idle_start)
        deadline = time.monotonic() + IDLE_RENEW
        while time.monotonic() < deadline:
            if await self._call(self.session.idle_wait, IDLE_SLICE):
                break
            raise_if_cancelled()
        await self._call(self.session.idle_end)
