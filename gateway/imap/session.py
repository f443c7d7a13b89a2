"""One IMAP connection of a mailbox poller. imapclient blocks, so every method here runs in the
poller's own thread (gateway/imap/poller.py), one call at a time, never on the event loop."""

from __future__ import annotations

import contextlib
import imaplib
import ssl
import time
from dataclasses import dataclass

from imapclient import IMAPClient
from imapclient.imapclient import SocketTimeout

from channels.email_settings import ImapBox

CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0  # a FETCH of a big mail over a slow link; a dead server is noticed by then
SEEN = rb"\Seen"
DELETED = rb"\Deleted"

# Whatever a lost, refused or confused connection raises (imapclient's errors derive from
# imaplib's; socket and TLS errors are OSError).
IMAP_ERRORS = (imaplib.IMAP4.error, OSError, EOFError)


@dataclass(frozen=True)
class Selected:
    uidvalidity: int
    top: int  # highest UID in the folder when it was selected (UIDNEXT - 1)
    idle: bool


class Session:
    def __init__(self, box: ImapBox) -> None:
        self.box = box
        self._client: IMAPClient | None = None
        self._idling = False

    @property
    def client(self) -> IMAPClient:
        if self._client is None:
            raise imaplib.IMAP4.abort("not connected")
        return self._client

    def open(self) -> Selected:
        """Connect, log in and select the folder (creating `processed_folder` when missing)."""
        box = self.box
        context = ssl.create_default_context() if box.tls or box.starttls else None
        timeout = SocketTimeout(CONNECT_TIMEOUT, READ_TIMEOUT)
        self._client = client = IMAPClient(
            box.host, box.port, ssl=box.tls, ssl_context=context, timeout=timeout
        )
        if box.starttls:
            client.starttls(context)
        client.login(box.user, box.password.reveal())
        if box.processed_folder and not client.folder_exists(box.processed_folder):
            client.create_folder(box.processed_folder)
        selected = client.select_folder(box.folder)
        uidnext = int(selected.get(b"UIDNEXT", 0))
        top = uidnext - 1 if uidnext else max(client.search(["ALL"]), default=0)
        return Selected(int(selected[b"UIDVALIDITY"]), top, bool(client.has_capability("IDLE")))

    def uids_after(self, last: int) -> list[int]:
        # `n:*` always matches the highest UID, even one below n: filtered out here
        return sorted(uid for uid in self.client.search(["UID", f"{last + 1}:*"]) if uid > last)

    def unseen(self) -> list[int]:
        return sorted(self.client.search(["UNSEEN"]))

    def sizes(self, uids: list[int]) -> dict[int, int]:
        found = self.client.fetch(uids, ["RFC822.SIZE"])
        return {
            uid: int(item[b"RFC822.SIZE"]) for uid, item in found.items() if b"RFC822.SIZE" in item
        }

    def fetch(self, uids: list[int]) -> dict[int, bytes]:
        """The raw bytes by UID; PEEK leaves \\Seen alone. A UID expunged meanwhile is absent."""
        found = self.client.fetch(uids, ["BODY.PEEK[]"])
        return {uid: bytes(item[b"BODY[]"]) for uid, item in found.items() if b"BODY[]" in item}

    def processed(self, uids: list[int]) -> None:
        """Mark stored mail \\Seen, and move it to `processed_folder` when one is configured."""
        client = self.client
        client.add_flags(uids, [SEEN], silent=True)
        folder = self.box.processed_folder
        if not folder:
            return
        if client.has_capability("MOVE"):
            client.move(uids, folder)
            return
        client.copy(uids, folder)
        client.add_flags(uids, [DELETED], silent=True)
        if client.has_capability("UIDPLUS"):
            client.uid_expunge(uids)
        else:
            client.expunge()  # without UIDPLUS only all \Deleted mail can be expunged

    def idle_start(self) -> None:
        self.client.idle()
        self._idling = True

    def idle_wait(self, timeout: float) -> bool:
        """True when the server said something (new mail, flags, BYE) or the socket woke early.

        A closed socket makes idle_check return at once with nothing: ending IDLE then lets
        the next command raise, so a dead connection is noticed instead of spun on.
        """
        started = time.monotonic()
        responses = self.client.idle_check(timeout=timeout)
        return bool(responses) or time.monotonic() - started < timeout / 2

    def idle_end(self) -> None:
        if self._idling:
            self._idling = False
            self.client.idle_done()

    def close(self) -> None:
        """Log out politely when possible; never raises (the connection may be gone)."""
        client, self._client = self._client, None
        if client is None:
            return
        try:
            if self._idling:
                self._idling = False
                client.idle_done()
            client.logout()
        except IMAP_ERRORS:
            with contextlib.suppress(*IMAP_ERRORS):
                client.shutdown()
