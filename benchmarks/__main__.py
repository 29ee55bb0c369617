"""``python -m benchmarks``: drain, latency, memory and CPU of mailroom and the naive loop.

Starts its own Dovecot, embedded broker, SMTP sinks and (by default) a PostgreSQL database,
runs the naive baseline and then mailroom through the same workload, prints a table and
writes ``benchmarks/results/<timestamp>.json`` plus a latency plot next to it.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import mailroom_phase, naive_phase
from benchmarks.procs import Sampler
from benchmarks.profiling import Profiler
from benchmarks.report import plot_latency, table, write_json
from benchmarks.stats import hot_spots
from benchmarks.world import World, dovecot_master_pid, start_world, store_url
from mailroom.broker import EmbeddedBroker

RESULTS = Path(__file__).resolve().parent / "results"
# mail index ranges per phase, so every mail has its own sender (no per-sender rate limit)
NAIVE_DRAIN, NAIVE_LATENCY, DRAIN, LATENCY = 0, 2_000_000, 4_000_000, 6_000_000


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mails", type=int, default=10_000, help="backlog size (half subscriptions)")
    p.add_argument("--rate", type=float, default=50.0, help="APPENDs per second in the latency phase")
    p.add_argument("--seconds", type=float, default=20.0, help="length of the latency phase")
    p.add_argument("--mode", choices=("split", "up"), default="split",
                   help="split: one process per service (per-service RSS/CPU); up: `mailroom up`")
    p.add_argument("--embedded", action="store_true",
                   help="with --mode up: `mailroom up` starts its own broker (the embedded "
                        "defaults: topic recycling, the collector's recycle hold), measured "
                        "as one of its children")
    p.add_argument("--services", default="collector,processor,responder,api",
                   help="services started in split mode")
    p.add_argument("--db", choices=("postgres", "sqlite"), default="postgres",
                   help="state store (postgres uses MAILROOM_TEST_PG, as the tests do)")
    p.add_argument("--batch", type=int, default=500,
                   help="MAX_EMAILS_PER_BATCH for the collector (its default)")
    p.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                   help="extra setting for the services (repeatable)")
    p.add_argument("--skip-naive", action="store_true")
    p.add_argument("--skip-mailroom", action="store_true")
    p.add_argument("--skip-latency", action="store_true")
    p.add_argument("--profile", action="store_true",
                   help="attach py-spy to every service during the drain (adds some overhead)")
    p.add_argument("--out", type=Path, default=RESULTS)
    return p


def machine() -> dict[str, Any]:
    mem = ""
    with contextlib.suppress(OSError), open("/proc/meminfo") as fh:
        mem = fh.readline().split(":", 1)[1].strip()
    model = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        model = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), "")
    return {"nproc": os.cpu_count(), "cpu": model, "memory": mem, "python": sys.version.split()[0],
            "platform": platform.platform()}


def step(result: dict[str, Any], key: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run one phase; a failure is recorded in the result and the run goes on."""
    print(f"[bench] {key} ...", file=sys.stderr, flush=True)
    started = time.monotonic()
    try:
        value = fn(*args, **kwargs)
    except Exception as exc:
        traceback.print_exc()
        result.setdefault("errors", {})[key] = f"{type(exc).__name__}: {exc}"[:4000]
        return None
    print(f"[bench] {key} done in {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
    return value


def run_naive(args: argparse.Namespace, world: World, result: dict[str, Any]) -> None:
    naive: dict[str, Any] = result.setdefault("naive", {})
    naive["drain"] = step(result, "naive drain", naive_phase.drain, world, args.mails, NAIVE_DRAIN)
    if not args.skip_latency:
        naive["latency"] = step(result, "naive latency", naive_phase.latency, world, args.rate,
                                args.seconds, NAIVE_LATENCY)


def run_mailroom(args: argparse.Namespace, world: World, broker: EmbeddedBroker, sampler: Sampler,
                 workdir: Path, stem: str, result: dict[str, Any]) -> None:
    out: dict[str, Any] = result.setdefault("mailroom", {})
    extra = dict(item.split("=", 1) for item in args.env)
    with store_url(args.db, workdir) as db_url:
        room = mailroom_phase.Mailroom(
            world, "" if args.embedded else broker.bootstrap_servers, db_url, workdir,
            mode=args.mode,
            services=[s for s in args.services.split(",") if s], batch=args.batch, extra_env=extra)
        try:
            room.start(sampler)
            out["warm_up_s"] = step(result, "mailroom warm-up", room.warm_up)
            if out["warm_up_s"] is None:
                return
            backends = room.database_backends()  # the services' pooled connections, now open
            if backends:
                sampler.add("postgres", backends[0], others=tuple(backends[1:]))
            profiler = None
            if args.profile:
                pids = {name: p.pid for name, p in room.procs.items() if name != "api"}
                if args.mode == "up":  # the stages run in `up`'s children: profile those too
                    pids.update({f"up-{name}": pid for name, pid in sampler.children_pids("up").items()
                                 if name in ("collector", "processor", "responder")})
                profiler = Profiler(pids, args.out, stem)
            out["drain"] = step(result, "mailroom drain", mailroom_phase.drain, room, sampler,
                                args.mails, DRAIN, profiler)
            for name, path in ((out.get("drain") or {}).get("profiles") or {}).items():
                with open(path) as fh:
                    out.setdefault("hot_spots", {})[name] = hot_spots(fh)
            if not args.skip_latency:
                out["latency"] = step(result, "mailroom latency", mailroom_phase.latency, room,
                                      args.rate, args.seconds, LATENCY)
        finally:
            out["memory"] = sampler.memory()
            room.stop()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.embedded and args.mode != "up":
        parser.error("--embedded needs --mode up")
    # the sinks run in this process: keep aiosmtpd's per-connection chatter out of the report
    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    stem = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    result: dict[str, Any] = {"started": stem, "args": {k: str(v) if isinstance(v, Path) else v
                                                         for k, v in vars(args).items()},
                              "machine": machine()}
    workdir = Path(tempfile.mkdtemp(prefix="mailroom-bench-"))
    world = start_world()
    broker = EmbeddedBroker(port=0)
    sampler = Sampler()
    try:
        broker.start()
        assert broker.process is not None
        sampler.add("broker", broker.process.pid)
        # this process hosts both SMTP sinks (aiosmtpd threads): the load generator's share
        sampler.add("bench+sinks", os.getpid())
        master = dovecot_master_pid(world.dovecot)
        if master:
            sampler.add("dovecot", master, tree=True)
        sampler.start()
        if not args.skip_naive:
            run_naive(args, world, result)
        if not args.skip_mailroom:
            step(result, "mailroom", run_mailroom, args, world, broker, sampler, workdir, stem, result)
    finally:
        sampler.stop()
        broker.stop()
        world.close()
        shutil.rmtree(workdir, ignore_errors=True)
    json_path = args.out / f"{stem}.json"
    png_path = args.out / f"{stem}-latency.png"
    if plot_latency(result, png_path):
        result["plot"] = str(png_path)
    write_json(result, json_path)
    print(table(result))
    print(f"\nresults: {json_path}" + (f"\nplot: {png_path}" if "plot" in result else ""))
    for key, error in result.get("errors", {}).items():
        print(f"FAILED {key}: {error.splitlines()[0]}", file=sys.stderr)
    return 1 if result.get("errors") else 0


if __name__ == "__main__":
    sys.exit(main())
