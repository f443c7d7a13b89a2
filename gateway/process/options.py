"""Options and config loading shared by `serve`, its acceptor children and `python -m worker`.

Flags override the file; Redis URL: --redis-url, else INTAKE_REDIS_URL, else [redis].url.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace

from channels.errors import ConfigError
from gateway.config import Config, load_config
from gateway.telemetry import logs

SHUTDOWN_TIMEOUT = 10.0  # in-flight requests get this long after SIGTERM


def parse_host_port(text: str) -> tuple[str, int]:
    """`HOST:PORT`, with IPv6 hosts in brackets (`[::1]:8080`)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def format_host_port(address: tuple[str, int]) -> str:
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}")
    return int(text)


def parse_processes(text: str) -> int:
    """A positive number, or `auto` for one process per CPU."""
    count = (os.cpu_count() or 1) if text == "auto" else parse_count(text)
    if count < 1:
        raise argparse.ArgumentTypeError("expected at least 1 process")
    return count


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """--config and --redis-url: what every process of the product accepts."""
    parser.add_argument("--config", metavar="PATH", help="default: $INTAKE_CONFIG or ./config.toml")
    parser.add_argument(
        "--redis-url", metavar="URL", help="default: $INTAKE_REDIS_URL or [redis].url"
    )


def add_listen_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--http", type=parse_host_port, metavar="HOST:PORT")
    parser.add_argument("--smtp", type=parse_host_port, metavar="HOST:PORT")


def config_from_args(args: argparse.Namespace, env: Mapping[str, str] = os.environ) -> Config:
    """The config file named by `args`/`env` with the flags that `args` has applied.

    Raises ConfigError with every problem of the file.
    """
    config = load_config(args.config, env)
    workers = getattr(args, "workers", None)
    processes = getattr(args, "processes", None)
    return replace(
        config,
        http=getattr(args, "http", None) or config.http,
        smtp=getattr(args, "smtp", None) or config.smtp,
        redis_url=args.redis_url or config.redis_url,  # load_config applied the env
        workers=config.workers if workers is None else workers,
        processes=config.processes if processes is None else processes,
    )


def child_config(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> Config | None:
    """A child process's flags and config (acceptor, worker); None after printing problems.

    Children need a Redis URL: `serve` passes the embedded server's in INTAKE_REDIS_URL.
    """
    args = parser.parse_args(argv)
    setup_logging()
    try:
        config = config_from_args(args)
    except ConfigError as error:
        print_problems(error)
        return None
    setup_logging(config)
    if not config.redis_url and not config.redis.sentinels:
        parser.error("needs a Redis URL (--redis-url, INTAKE_REDIS_URL, [redis].url) or sentinels")
    return config


def print_problems(error: ConfigError) -> int:
    """check-config's output, shared by every command that loads the config; exit status 1."""
    for line in error.problems:
        print(line, flush=True)
    return 1


def setup_logging(config: Config | None = None) -> None:
    """Text at INFO until the config is read, then its [logging] format and level."""
    logs.configure(config.telemetry if config else None)
