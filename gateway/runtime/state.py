"""What every handler shares: the running config, the Redis client, scripts, intake and reads."""

from __future__ import annotations

from dataclasses import dataclass, field

import redis.asyncio as aioredis

from channels.blobs import FsBlobStore
from channels.errors import Forbidden, Unauthorized
from gateway.config import Config
from gateway.intake import Intake
from gateway.runtime.clock import Clock
from gateway.store import Store
from gateway.telemetry import instruments
from gateway.telemetry.context import REQUEST_ID
from routing.keys import Keys
from routing.scripts import Scripts


@dataclass(frozen=True)
class Actor:
    operator: str | None  # None for the admin
    admin: bool

    def may_act_for(self, operator_id: str) -> bool:
        return self.admin or self.operator == operator_id


@dataclass
class Runtime:
    config: Config
    redis: aioredis.Redis
    keys: Keys
    scripts: Scripts
    intake: Intake
    store: Store
    tokens: dict[str, str] = field(default_factory=dict)  # bearer token -> operator id
    clock: Clock = field(default_factory=Clock)

    @classmethod
    def create(
        cls, config: Config, client: aioredis.Redis, keys: Keys, clock: Clock | None = None
    ) -> Runtime:
        clock = clock or Clock()
        wait = config.redis.wait_replicas, int(config.redis.wait_timeout * 1000)
        measured = config.telemetry.per_process_metrics
        lua_step = instruments.lua_step if measured else None
        scripts = Scripts(client, keys, replicas=wait, observe=lua_step, request_id=REQUEST_ID.get)
        store = Store(client, keys, lambda service: service)
        observe = instruments.intake_step if measured else None
        intake = Intake(scripts, FsBlobStore(config.blobs_dir), clock, observe)
        runtime = cls(config, client, keys, scripts, intake, store, clock=clock)
        store.service_name = runtime.service_name
        runtime.use(config)
        return runtime

    def service_name(self, service_id: str) -> str:
        """Shown in default subjects; a service gone from the config shows its id."""
        service = self.config.routing.services.get(service_id)
        return service.name if service else service_id

    def use(self, config: Config) -> None:
        self.config = config
        self.tokens = {
            op.token.reveal(): op.id for op in config.routing.operators.values() if op.token
        }

    def authenticate(self, header: str | None) -> Actor:
        scheme, _, token = (header or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("A bearer token is required.", code="missing_token")
        if token == self.config.admin_token.reveal():
            return Actor(None, admin=True)
        operator = self.tokens.get(token)
        if operator is None:
            raise Unauthorized("The bearer token is not valid.", code="bad_token")
        return Actor(operator, admin=False)

    def authenticate_admin(self, header: str | None) -> Actor:
        actor = self.authenticate(header)
        if not actor.admin:
            raise Forbidden("This needs the admin token.", code="admin_only")
        return actor
