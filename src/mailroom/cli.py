"""The ``mailroom`` command: parse arguments, build settings once, start services."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence

from mailroom.logs import protect as protect_logs
from mailroom.settings import ConfigError, Settings

log = logging.getLogger("mailroom")

# modules that add their own sub-commands with ``register(subparsers)``
COMMAND_MODULES: tuple[str, ...] = (
    "mailroom.processor.commands",
    "mailroom.api.commands",
    "mailroom.store.commands",
)

Handler = Callable[[argparse.Namespace, Settings], int]


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("aiosmtpd").setLevel(logging.WARNING)
    logging.getLogger("mail.log").setLevel(logging.WARNING)


def cmd_services(names: list[str]) -> Handler:
    def run(args: argparse.Namespace, settings: Settings) -> int:
        from mailroom.app import run_supervised

        if names != ["all"] and settings.embedded:
            raise ConfigError(
                "KAFKA_BOOTSTRAP_SERVERS is not set: a single service needs a shared broker "
                "(or run `mailroom up` for everything in one process)"
            )
        wanted = ["collector", "processor", "responder", "api"] if names == ["all"] else names
        if getattr(args, "with_api", False) and "api" not in wanted:
            # containers: the API in the same process serves this stage's /metrics and probes
            wanted = [*wanted, "api"]
        return run_supervised(settings, wanted)

    return run


def cmd_topics_create(args: argparse.Namespace, settings: Settings) -> int:
    from mailroom.kafka import KafkaClients

    settings.require("kafka_bootstrap_servers")
    kafka = KafkaClients(settings.kafka_bootstrap_servers)
    created = kafka.create_topics(settings.kafka_topic_partitions, settings.kafka_replication_factor)
    print(f"created: {', '.join(created) or 'none (all existed)'}")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from mailroom.demo import run_demo

    return run_demo(settings, seconds=args.seconds)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mailroom", description=__doc__)
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING (LOG_LEVEL)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="every service in one process (embedded broker if "
                   "KAFKA_BOOTSTRAP_SERVERS is unset)").set_defaults(func=cmd_services(["all"]))
    for name in ("collector", "processor", "responder", "api"):
        stage = sub.add_parser(name, help=f"run the {name} alone")
        stage.set_defaults(func=cmd_services([name]))
        if name != "api":
            stage.add_argument("--with-api", action="store_true",
                               help="also serve the API from this process (/metrics, /health/*)")
    topics = sub.add_parser("topics", help="manage Kafka topics")
    topics_sub = topics.add_subparsers(dest="topics_command", required=True)
    topics_sub.add_parser("create", help="create the five topics").set_defaults(
        func=cmd_topics_create)
    demo = sub.add_parser("demo", help="everything plus a demo IMAP mailbox and SMTP sink")
    demo.add_argument("--seconds", type=float, default=0,
                      help="stop after this many seconds (0: run until Ctrl-C)")
    demo.set_defaults(func=cmd_demo)
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.load()
    except ConfigError as exc:
        setup_logging("INFO")
        print(f"mailroom: {exc}", file=sys.stderr)
        return 2
    setup_logging(args.log_level or settings.log_level)
    protect_logs(settings)  # no secret reaches a log line
    try:
        handler: Handler = args.func
        code = handler(args, settings)
    except ConfigError as exc:
        print(f"mailroom: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    raise SystemExit(main())
