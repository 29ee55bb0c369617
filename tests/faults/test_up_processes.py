"""Issue 21: `mailroom up` with its Kafka stages in child processes (``UP_PROCESSES=true``).

One command, one log stream naming each stage, SIGINT stops every child with exit 0,
SIGKILL of the parent leaves nothing alive, a stage that dies stops `up` with a clear
error, and the embedded broker's topics are still recycled (memory bound) with children.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
from pathlib import Path

import psutil
import pytest
from books import bare_id, poll
from fault_procs import dovecot_env
from prometheus_client import generate_latest

from mailgen import make_mail
from mailroom.app import Supervisor
from mailroom.broker import free_port
from pipeline import settle_and_recycle, wait_until
from servers import Dovecot, SmtpSink

pytestmark = [pytest.mark.faults, pytest.mark.integration, pytest.mark.slow]

STAGES = ("collector", "processor", "responder")


class Up:
    """`mailroom up` as a user runs it, its stdout and stderr read into one list of lines."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "mailroom.cli", "up"], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout or ():
            self.lines.append(line)

    def tail(self) -> str:
        return "".join(self.lines[-60:])

    def family(self) -> list[psutil.Process]:
        parent = psutil.Process(self.proc.pid)
        return [parent, *parent.children(recursive=True)]

    def stage_pids(self) -> dict[str, int]:
        found = {}
        for child in psutil.Process(self.proc.pid).children():
            argv = child.cmdline()
            if "mailroom.stages" in argv:
                found[argv[argv.index("mailroom.stages") + 1]] = child.pid
        return found


def replied(sink: SmtpSink, message_id: str) -> bool:
    return any(bare_id(r.in_reply_to) == bare_id(message_id) for r in sink.received)


def up_env(dovecot: Dovecot, smtp_sink: SmtpSink, data_dir: Path) -> dict[str, str]:
    env = dovecot_env(dovecot, smtp_sink, "", "", data_dir,
                      EMBEDDED_BROKER_PORT=str(free_port()), UP_PROCESSES="true")
    del env["KAFKA_SESSION_TIMEOUT_MS"]
    return env


@pytest.mark.timeout(300)
def test_up_runs_each_stage_in_a_child_that_logs_to_its_stream_stops_on_sigint_and_dies_with_it(
        dovecot: Dovecot, smtp_sink: SmtpSink, tmp_path: Path) -> None:
    env = up_env(dovecot, smtp_sink, tmp_path / "data")
    first_mail, second_mail = make_mail(0, subscription=True), make_mail(2, subscription=True)

    up = Up(env)
    try:
        dovecot.append(first_mail.raw)
        assert poll(lambda: replied(smtp_sink, first_mail.message_id), 90), up.tail()
        stages = up.stage_pids()
        assert sorted(stages) == sorted(STAGES), up.tail()
        names = [p.name() for p in up.family()]
        assert "tansu" in names, names
        # one log stream: each stage's own lines, tagged with its name, on up's output
        for stage in STAGES:
            assert any(f" [{stage}] mailroom." in line for line in up.lines), up.tail()
        assert any("stages running in their own processes" in line for line in up.lines)
        family = up.family()
        up.proc.send_signal(signal.SIGINT)
        assert up.proc.wait(90) == 0, up.tail()
        _, alive = psutil.wait_procs(family, timeout=10)
        assert not alive, f"left alive after SIGINT: {alive}\n{up.tail()}"
    finally:
        if up.proc.poll() is None:
            up.proc.kill()

    again = Up(env)
    try:
        dovecot.append(second_mail.raw)
        assert poll(lambda: replied(smtp_sink, second_mail.message_id), 90), again.tail()
        family = again.family()
        assert len(again.stage_pids()) == len(STAGES), again.tail()
        again.proc.send_signal(signal.SIGKILL)
        _, alive = psutil.wait_procs(family, timeout=10)
        assert not alive, f"left alive after SIGKILL of mailroom up: {alive}"
    finally:
        if again.proc.poll() is None:
            again.proc.kill()
    assert len([r for r in smtp_sink.received
                if bare_id(r.in_reply_to) == bare_id(first_mail.message_id)]) == 1


@pytest.mark.timeout(240)
def test_a_stage_that_dies_stops_up_with_an_error_naming_it_and_nothing_left(
        dovecot: Dovecot, smtp_sink: SmtpSink, tmp_path: Path) -> None:
    up = Up(up_env(dovecot, smtp_sink, tmp_path / "data"))
    try:
        assert poll(lambda: any("stages running in their own processes" in line
                                for line in up.lines), 90), up.tail()
        family = up.family()
        psutil.Process(up.stage_pids()["processor"]).kill()
        assert up.proc.wait(90) == 1, up.tail()
        _, alive = psutil.wait_procs(family, timeout=10)
        assert not alive, f"left alive: {alive}"
        errors = [line for line in up.lines if " ERROR " in line]
        assert any("service processor stopped unexpectedly" in line and "SIGKILL" in line
                   for line in errors), up.tail()
    finally:
        if up.proc.poll() is None:
            up.proc.kill()


async def test_topics_are_recycled_with_the_stages_in_child_processes(
        dovecot: Dovecot, smtp_sink: SmtpSink, make_settings) -> None:  # type: ignore[no-untyped-def]
    """The memory bound holds in process mode: the children report idle, the supervisor
    pauses them, recycles the topics and resumes them; mail after a recycle still flows;
    /metrics counts what the children did."""
    settings = make_settings(dovecot=dovecot, smtp=smtp_sink, embedded_recycle_records=100,
                             max_emails_per_batch=50)
    supervisor = Supervisor(settings, ["collector", "processor", "responder", "api"],
                            processes=True)
    task = asyncio.create_task(supervisor.run())
    try:
        assert await wait_until(lambda: supervisor.ready.is_set() or task.done(), 90)
        assert set(supervisor.stages) == set(STAGES) and not supervisor.services.keys() & set(STAGES)
        for batch in range(2):
            start, total = batch * 120, (batch + 1) * 120
            dovecot.preload("support@example.com", [make_mail(i, subscription=i % 2 == 0).raw
                                                    for i in range(start, total)])

            await settle_and_recycle(supervisor, total)
            print(f"recycle {supervisor.recycles}: stages stopped for "
                  f"{supervisor.last_recycle_seconds:.2f} s")
        assert smtp_sink.wait_for(120, 30)
        assert all(stage.proc is not None and stage.proc.poll() is None
                   for stage in supervisor.stages.values())
        assert supervisor.runtime is not None
        await asyncio.sleep(1.5)  # a metrics snapshot after the last batch
        exposition = generate_latest(supervisor.runtime.metrics.registry).decode()  # type: ignore[arg-type]
        sent = [line for line in exposition.splitlines()
                if line.startswith('mailroom_replies_total{outcome="sent"}')]
        assert sent and float(sent[0].split()[-1]) == 120, sent
    finally:
        supervisor.stopping.set()
        await asyncio.wait_for(task, 90)
    assert task.result() == 0
