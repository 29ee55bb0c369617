"""Presenting a run: the printed table, the JSON file and the latency plot."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from benchmarks.stats import ratio

MB = 1024 * 1024
SERVICES = ("collector", "processor", "responder", "api", "up")


def fmt(value: float | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:,.{digits}f}"


def rows(result: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(metric, mailroom, naive, mailroom/naive, target) rows for the table."""
    out: list[tuple[str, str, str, str, str]] = []
    m, nv = result.get("mailroom", {}), result.get("naive", {})
    md, nd = m.get("drain", {}), nv.get("drain", {})
    if md or nd:
        mr, nr = md.get("mails_per_s", math.nan), nd.get("mails_per_s", math.nan)
        out.append((f"drain {result['args']['mails']} mails, mails/s", fmt(mr, 0), fmt(nr, 0),
                    fmt(ratio(mr, nr)), ">=1000 and >=3x"))
        out.append(("drain seconds", fmt(md.get("seconds")), fmt(nd.get("seconds")), "", ""))
        for stage, label in (("collected", "collector"), ("decided", "processor"),
                             ("sent", "responder")):
            value = md.get("stage_mails_per_s", {}).get(stage)
            if value is not None:
                out.append((f"  {label} mails/s (own window)", fmt(value, 0), "", "", ""))
    ml, nl = m.get("latency", {}), nv.get("latency", {})
    if ml or nl:
        at = ml.get("rate") or nl.get("rate")
        for q, target in (("p50", "<=0.3 s"), ("p90", ""), ("p99", "<=1 s")):
            a = ml.get("latency_s", {}).get(q, math.nan)
            b = nl.get("latency_s", {}).get(q, math.nan)
            out.append((f"APPEND->reply {q} at {fmt(at, 0)}/s, s", fmt(a, 3), fmt(b, 3),
                        fmt(ratio(a, b)), target))
    for stage, stats in ml.get("stage_latency_s", {}).items():
        out.append((f"  {stage.replace('_', ' ')} p50/p99, s",
                    f"{fmt(stats.get('p50'), 3)}/{fmt(stats.get('p99'), 3)}", "", "", ""))
    memory = m.get("memory", {})
    for name, mem in memory.items():
        target = "<=300 MB" if name in SERVICES else ""
        out.append((f"peak RSS {name}, MB", fmt(mem.get("peak_hwm_bytes", 0) / MB, 0), "", "", target))
        for child, peak in (mem.get("children_peak_hwm_bytes", {}) if name == "up" else {}).items():
            out.append((f"  peak RSS {name}/{child}, MB", fmt(peak / MB, 0), "", "",
                        "<=200 MB" if child == "broker" else "<=300 MB"))
    if memory or nd:
        # the naive loop's row: its own peak (getrusage) next to mailroom's largest service
        largest = max((mem.get("peak_hwm_bytes", 0) for name, mem in memory.items()
                       if name in SERVICES), default=math.nan) / MB
        naive_peak = nd.get("peak_rss_bytes", math.nan) / MB
        out.append(("peak RSS largest service vs naive, MB", fmt(largest, 0), fmt(naive_peak, 0),
                    fmt(ratio(largest, naive_peak)), ""))
    cpu = md.get("cpu_s_per_1000", {})
    if cpu:
        services_total = sum(v for k, v in cpu.items() if k in SERVICES)
        for name, value in cpu.items():  # "up/processor": a part of "up", indented under it
            if "/" in name and not name.startswith("up/"):
                continue  # another tree's parts (Dovecot's): in the JSON only
            out.append((f"{'  ' if '/' in name else ''}CPU s/1000 mails {name}", fmt(value), "", "", ""))
        naive_cpu = nd.get("cpu_s_per_1000", math.nan)
        out.append(("CPU s/1000 mails, mailroom services", fmt(services_total), fmt(naive_cpu),
                    fmt(ratio(services_total, naive_cpu)), ""))
        out.append(("CPU s/1000 mails, every process measured",
                    fmt(sum(v for k, v in cpu.items() if "/" not in k)), "", "", ""))
    return out


def table(result: dict[str, Any]) -> str:
    header = ("metric", "mailroom", "naive", "ratio", "target")
    body = rows(result)
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(5)]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in
                       enumerate(zip(r, widths, strict=True))) for r in [header, *body]]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def write_json(result: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=str, allow_nan=True) + "\n")


def plot_latency(result: dict[str, Any], path: Path) -> bool:
    """APPEND-to-reply latency over the phase, mailroom and naive, log scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = {
        name: result.get(name, {}).get("latency", {}).get("series", [])
        for name in ("mailroom", "naive")
    }
    if not any(series.values()):
        return False
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for name, points in series.items():
        if points:
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, ys, ".", markersize=3, label=name)
    ax.axhline(0.3, color="grey", linestyle="--", linewidth=0.8, label="p50 target 0.3 s")
    ax.axhline(1.0, color="grey", linestyle=":", linewidth=0.8, label="p99 target 1 s")
    ax.set_yscale("log")
    ax.set_xlabel("seconds since the first APPEND")
    ax.set_ylabel("APPEND to reply at the sink (s)")
    rate = result.get("args", {}).get("rate")
    ax.set_title(f"mailroom vs naive loop, {rate} mails/s APPENDed")
    ax.legend(loc="upper right", fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
