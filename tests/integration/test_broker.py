"""The embedded broker's lifecycle: it dies with its parent even on SIGKILL, and a port it
wants is never silently swapped for another (a broker its data dir's earlier run left is
stopped, anything else refused with one line)."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from mailroom.broker import BrokerError, EmbeddedBroker, free_port, tansu_binary, wait_for_port

pytestmark = pytest.mark.integration

BROKER_PARENT = """
import sys, time
from mailroom.broker import EmbeddedBroker
child = EmbeddedBroker(port=0)
child.start()
assert child.process is not None
print(child.process.pid, flush=True)
time.sleep(120)
"""
DEMO_IMAP_PARENT = BROKER_PARENT.replace(
    "from mailroom.broker import EmbeddedBroker", "from mailroom.demo.servers import DemoImapServer"
).replace("EmbeddedBroker(port=0)", "DemoImapServer()")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("parent_code", [BROKER_PARENT, DEMO_IMAP_PARENT], ids=["broker", "demo-imap"])
def test_a_child_server_dies_when_the_process_that_started_it_is_sigkilled(parent_code: str) -> None:
    parent = subprocess.Popen([sys.executable, "-c", parent_code], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        broker = psutil.Process(int(parent.stdout.readline()))
        assert broker.ppid() == parent.pid
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        _, alive = psutil.wait_procs([broker], timeout=5)
        for orphan in alive:  # the test fails, and leaves nothing running either
            orphan.kill()
        assert not alive, f"{broker.name()} outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(10)


@pytest.mark.timeout(60)
def test_a_broker_left_on_the_port_by_an_earlier_run_is_stopped_and_the_port_reused(
    tmp_path: Path,
) -> None:
    port, pid_file = free_port(), tmp_path / "data" / "broker.pid"
    earlier = EmbeddedBroker(port=port, pid_file=pid_file)
    earlier.start()
    assert earlier.process is not None
    left = earlier.process
    earlier.process = None  # the run that started it is gone without stopping it
    broker = EmbeddedBroker(port=port, pid_file=pid_file)
    try:
        assert broker.start() == f"127.0.0.1:{port}"
        assert left.wait(5) == -signal.SIGKILL
        assert broker.process is not None and broker.process.poll() is None
        assert json.loads(pid_file.read_text()) == {"pid": broker.process.pid, "port": port}
    finally:
        broker.stop()
        if left.poll() is None:
            left.kill()
            left.wait(5)
    assert not pid_file.exists()


@pytest.mark.timeout(60)
def test_a_broker_this_data_dir_did_not_start_is_left_alone_and_refused(tmp_path: Path) -> None:
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    other = subprocess.Popen([str(tansu_binary()), "broker", "--listener-url", url,
                              "--advertised-listener-url", url, "--storage-engine",
                              "memory://tansu/"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        assert wait_for_port("127.0.0.1", port, 10)
        broker = EmbeddedBroker(port=port, pid_file=tmp_path / "broker.pid")
        with pytest.raises(BrokerError, match=f"port {port} is in use by an embedded broker this "
                           f"mailroom did not start \\(pid {other.pid}\\)"):
            broker.claim_port()
        assert other.poll() is None, "someone else's broker was stopped"
    finally:
        other.kill()
        other.wait(5)


def test_a_port_held_by_another_program_is_refused_with_one_line() -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        broker = EmbeddedBroker(port=port)
        with pytest.raises(BrokerError) as refused:
            broker.claim_port()
    message = str(refused.value)
    assert "\n" not in message
    assert f"port {port} is in use by another program, not mailroom's broker" in message
    assert broker.process is None
