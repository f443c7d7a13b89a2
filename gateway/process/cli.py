"""Command line: `python -m gateway serve | check-config`.

`serve` runs the whole product in the foreground (gateway/server.py); `check-config` validates.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from channels.errors import ConfigError
from gateway.config import load_config
from gateway.process.options import (
    add_config_options,
    add_listen_options,
    config_from_args,
    parse_count,
    parse_processes,
    print_problems,
    setup_logging,
)
from gateway.process.server import serve


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gateway", description="Omnichannel intake gateway."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser("serve", help="run HTTP, SMTP, pollers and workers")
    add_config_options(run)
    add_listen_options(run)
    run.add_argument("--workers", type=parse_count, metavar="N", help="RQ worker processes")
    run.add_argument(
        "--processes", type=parse_processes, metavar="N|auto", help="HTTP/SMTP acceptor processes"
    )
    check = commands.add_parser("check-config", help="validate the config file")
    check.add_argument("--config", metavar="PATH", help="default: $INTAKE_CONFIG or ./config.toml")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "check-config":
        return check_config(args)
    setup_logging()
    try:
        config = config_from_args(args)
    except ConfigError as error:
        return print_problems(error)
    setup_logging(config)
    return serve(config)


def check_config(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as error:
        return print_problems(error)
    print(f"{os.path.basename(config.path)}: ok")
    return 0
