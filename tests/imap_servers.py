"""Real IMAP servers started by the tests (pymap always, Dovecot when installed; see
../shared/TESTING.md), and a TCP proxy in front of one that can cut the connection mid-stream."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from imapclient import IMAPClient

from gateway.process.supervisor import spawn, stop_process
from tests.helpers import free_port, wait_for

USER = "alice"
PASSWORD = "s3cret"

# pymap always; Dovecot where installed (the recipe needs root: its mail belongs to nobody),
# and in CI (.ci/run installs it) a missing one fails the tests instead of leaving them out.
IN_CI = os.environ.get("CI") == "true"
HAS_DOVECOT = bool(shutil.which("dovecot")) and os.geteuid() == 0
KINDS = ["pymap"] + (["dovecot"] if HAS_DOVECOT or IN_CI else [])


class ImapServer:
    kind = ""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def argv(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        self.proc = spawn(self.argv())
        wait_for(self._answers, 15, f"{self.kind} to accept IMAP connections")

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, self.kind, 10)
            self.proc = None

    def client(self) -> IMAPClient:
        client = IMAPClient("127.0.0.1", self.port, ssl=False, timeout=10)
        client.login(USER, PASSWORD)
        return client

    def _answers(self) -> bool:
        assert self.proc is not None and self.proc.poll() is None, f"{self.kind} exited"
        try:
            self.client().logout()
        except OSError:
            return False
        return True


class Pymap(ImapServer):
    kind = "pymap"

    def argv(self) -> list[str]:
        binary = Path(sys.executable).parent / "pymap"
        return [str(binary), "--host", "127.0.0.1", "--port", str(self.port), "dict",
                "--demo-user", USER, "--demo-password", PASSWORD]  # fmt: skip


DOVECOT_CONF = """\
instance_name = test-{port}
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{d}/mail/%u:LAYOUT=fs
mail_uid = nobody
mail_gid = nogroup
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/users
}}
userdb {{
  driver = static
  args = home={d}/mail/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


class Dovecot(ImapServer):
    """A private instance from a temp dir (the recipe in ../shared/TESTING.md)."""

    kind = "dovecot"

    def argv(self) -> list[str]:
        binary = shutil.which("dovecot")
        assert binary, "dovecot is not installed (.ci/run installs dovecot-imapd)"
        d = self.directory
        for sub in ("run", "state", "mail"):
            (d / sub).mkdir(exist_ok=True)
        (d / "dovecot.conf").write_text(DOVECOT_CONF.format(d=d, port=self.port))
        (d / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        d.chmod(0o755)  # a 0700 temp dir makes auth fail ("Temporary authentication failure")
        shutil.chown(d / "mail", "nobody", "nogroup")
        return [binary, "-F", "-c", str(d / "dovecot.conf")]


def make_server(kind: str, directory: Path) -> ImapServer:
    return Pymap(directory) if kind == "pymap" else Dovecot(directory)


class CuttingProxy:
    """Forwards 127.0.0.1:`port` to the server; `cut_after` server bytes in, it drops every
    connection once (a network failure mid-FETCH), then forwards again. Counts connections.
    `hide_idle` strips IDLE from the server's capabilities: a server without it."""

    def __init__(
        self, target_port: int, cut_after: int | None = None, hide_idle: bool = False
    ) -> None:
        self.target_port = target_port
        self.cut_after = cut_after
        self.hide_idle = hide_idle
        self.port = 0
        self.connections = 0
        self.cut = False
        self._from_server = 0
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self._drop()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers += [writer, up_writer]
        await asyncio.gather(
            self._pipe(reader, up_writer, False), self._pipe(up_reader, writer, True)
        )

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, counted: bool
    ) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                if counted and self.hide_idle:
                    data = data.replace(b" IDLE", b"")
                writer.write(data)
                await writer.drain()
                if counted:
                    self._count(len(data))
        writer.close()

    def _count(self, size: int) -> None:
        self._from_server += size
        if self.cut_after is not None and not self.cut and self._from_server > self.cut_after:
            self.cut = True
            self._drop()

    def _drop(self) -> None:
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()
