"""Issue 17, no orphans: `mailroom up` SIGKILLed leaves no process behind (its embedded broker
dies with it), and started again on the same broker port it answers new mail within 10 s
(not counting time its main thread waited for a CPU other processes held)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from books import bare_id, poll
from fault_procs import ServiceProcs, dovecot_env

from mailgen import make_mail
from mailroom.broker import brokers_on, free_port
from servers import Dovecot, SmtpSink

# serial: it times a restart (answered within 10 s), which tests running beside it would slow
pytestmark = [pytest.mark.faults, pytest.mark.integration, pytest.mark.slow, pytest.mark.serial]

RESTART_TO_REPLY = 10.0  # the bound: a restarted `mailroom up` answers within this


def replied(sink: SmtpSink, message_id: str) -> bool:
    return any(bare_id(r.in_reply_to) == bare_id(message_id) for r in sink.received)


def runqueue_wait(pid: int) -> float:
    """Seconds the process's main thread was ready to run but waited for a CPU (Linux)."""
    _on_cpu, waiting, _slices = Path(f"/proc/{pid}/task/{pid}/schedstat").read_text().split()
    return int(waiting) / 1e9


def family(pid: int) -> list[psutil.Process]:
    """The process and everything it started."""
    parent = psutil.Process(pid)
    return [parent, *parent.children(recursive=True)]


@pytest.mark.timeout(240)
def test_mailroom_up_sigkilled_leaves_no_process_and_answers_again_within_10_s_of_restart(
    dovecot: Dovecot, smtp_sink: SmtpSink, tmp_path: Path,
    service_procs: Callable[[dict[str, str]], ServiceProcs],
) -> None:
    port = free_port()
    env = dovecot_env(dovecot, smtp_sink, "", "", tmp_path / "data", EMBEDDED_BROKER_PORT=str(port))
    del env["KAFKA_SESSION_TIMEOUT_MS"]  # `mailroom up` as a user runs it: every default
    procs = service_procs(env)
    first_mail, second_mail = make_mail(0, subscription=True), make_mail(2, subscription=True)

    first = procs.start("up")
    dovecot.append(first_mail.raw)
    assert poll(lambda: replied(smtp_sink, first_mail.message_id), 90), procs.tail()
    first_run = family(first.pid)
    names = [p.name() for p in first_run]
    assert any(n == "tansu" for n in names), f"the embedded broker is a child of up: {names}"

    # a second `mailroom up` (another data dir) on the same port refuses with one line
    other = subprocess.run([sys.executable, "-m", "mailroom.cli", "up"],
                           env={**env, "MAILROOM_DATA_DIR": str(tmp_path / "other")},
                           capture_output=True, text=True, timeout=60, check=False)
    errors = [line for line in other.stderr.splitlines() if " ERROR " in line]
    assert other.returncode == 2 and len(errors) == 1, other.stderr[-2000:]
    assert f"port {port} is in use by the embedded broker of another running mailroom" in errors[0]

    procs.kill("up", sig=signal.SIGKILL)
    _, alive = psutil.wait_procs(first_run, timeout=5)
    assert not alive, f"left alive after SIGKILL of mailroom up: {alive}"

    restarted_at, started = time.monotonic(), time.time()
    second = procs.start("up")
    dovecot.append(second_mail.raw)
    assert poll(lambda: replied(smtp_sink, second_mail.message_id), 60), procs.tail()
    took = time.monotonic() - restarted_at
    starved = runqueue_wait(second.pid)
    # the bound is mailroom's: time its main thread was ready but other processes held every
    # core (a loaded CI machine) is not counted, and the message says how much that was
    assert took - starved <= RESTART_TO_REPLY, \
        f"the restarted mailroom up answered after {took:.1f} s, {starved:.1f} s of it waiting " \
        f"for a CPU (started {time.ctime(started)})\n{procs.tail()}"
    second_run = family(second.pid)
    # its own broker took the same port back (the log's "listening" line is the first run's too)
    assert {p.pid for p in second_run} & set(brokers_on("127.0.0.1", port)), procs.tail()

    procs.stop_all()
    _, alive = psutil.wait_procs(second_run, timeout=10)
    assert not alive, f"left alive after mailroom up stopped: {alive}"
    assert len([r for r in smtp_sink.received
                if bare_id(r.in_reply_to) == bare_id(first_mail.message_id)]) == 1
