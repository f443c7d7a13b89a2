"""redis-py's connection classes with two failures made ordinary ConnectionErrors, so that a
server dying under the gateway is a 503 and a clean reconnect, never a 500 or a stuck client.

- uvloop (the `fast` extra) raises RuntimeError("... the handler is closed") when a command is
  written to a connection the server closed while it was opening (a primary SIGKILLed during
  a failover); redis-py maps only OSError.
- redis-py wraps every write in asyncio.wait_for(socket_timeout), a task per command; on an
  open connection a write only queues bytes in the transport, so it goes without that wrapper
  (a dead or stuck server still shows as the reply's timeout, which stays).
- redis-py's blocking Sentinel connection keeps a connection whose read was interrupted in the
  pool, unlike its plain Connection: RQ's warm shutdown raises inside a BLMOVE, and RQ's last
  writes then waited behind that command still blocked on the server.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from redis.asyncio import connection as aconnection
from redis.asyncio import sentinel as asentinel
from redis.connection import SSLConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.sentinel import SentinelManagedConnection
from redis.utils import SENTINEL


class _WritesChecked(aconnection.AbstractConnection):
    async def send_packed_command(
        self, command: bytes | str | Iterable[bytes], check_health: bool = True
    ) -> None:
        timeout = self.socket_timeout
        if self.is_connected:  # connecting (and its AUTH/HELLO replies) keeps every timeout
            self.socket_timeout = None
        try:
            await super().send_packed_command(command, check_health)
        except RuntimeError as error:  # the transport is closed (and redis-py disconnected)
            raise RedisConnectionError(f"Error while writing to socket: {error}") from error
        finally:
            self.socket_timeout = timeout


class _Tcp(_WritesChecked, aconnection.Connection):
    pass


class _Tls(_WritesChecked, aconnection.SSLConnection):
    pass


class _Unix(_WritesChecked, aconnection.UnixDomainSocketConnection):
    pass


class AsyncSentinelConnection(_WritesChecked, asentinel.SentinelManagedConnection):
    pass


class AsyncSentinelTlsConnection(_WritesChecked, asentinel.SentinelManagedSSLConnection):
    pass


CHECKED: dict[type[aconnection.AbstractConnection], type[aconnection.AbstractConnection]] = {
    aconnection.Connection: _Tcp,
    aconnection.SSLConnection: _Tls,
    aconnection.UnixDomainSocketConnection: _Unix,
}


class SentinelConnection(SentinelManagedConnection):
    def read_response(
        self,
        disable_decoding: Any = False,
        *,
        timeout: float | object = SENTINEL,
        disconnect_on_error: bool | None = True,  # redis-py's Sentinel class says False
        push_request: bool | None = False,
    ) -> Any:
        return super().read_response(
            disable_decoding,
            timeout=timeout,
            disconnect_on_error=disconnect_on_error,
            push_request=push_request,
        )


class SentinelTlsConnection(SentinelConnection, SSLConnection):
    pass
