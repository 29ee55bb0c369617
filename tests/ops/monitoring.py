"""The real Prometheus and Alertmanager (Debian's packages) on loopback, for the ops tests.

Each server runs as a child process on a free port with its data in a temporary
directory; its output goes to a log file that assertion messages quote. Nothing is
downloaded: the binaries come from ``.ci/run``'s apt line.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from mailroom.broker import free_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
RULES = DEPLOY / "prometheus" / "alerts.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "mailroom.json"
# Grafana's variables, as the dashboard is opened with every mailbox selected
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$mailbox": ".*"}


def tool(name: str) -> str:
    """The path of a monitoring binary; in CI a missing one fails, elsewhere it skips."""
    # the venv's scripts (kubernetes-validate) first, then the system's (apt) tools
    path = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            raise RuntimeError(f"{name} is not installed (.ci/run installs it with apt)")
        pytest.skip(f"{name} not installed")
    return path


def grafana_expr(expr: str) -> str:
    """A dashboard query with Grafana's variables filled in as Grafana would."""
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def dashboard_queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, query) of every panel, rows' nested panels included."""
    found = []
    for panel in dashboard["panels"]:
        for inner in [panel, *panel.get("panels", [])]:
            found += [(inner["title"], target["expr"]) for target in inner.get("targets", [])]
    return found


def shortened_rules(target: Path, alert: str, *, for_: str, window: str) -> Path:
    """A copy of the shipped rules in which ``alert`` waits ``for_`` over ``window`` ranges.

    The live test cannot wait the production 5 minutes (and 10-minute windows still
    holding the replies sent before the fault); everything else is the shipped file.
    """
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    changed = 0
    for group in rules["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == alert:
                rule["for"] = for_
                rule["expr"] = re.sub(r"\[\d+[smhd]\]", f"[{window}]", rule["expr"])
                changed += 1
    assert changed == 1, f"{alert} not found in {RULES}"
    target.write_text(yaml.safe_dump(rules, sort_keys=False), encoding="utf-8")
    return target


@dataclass
class Server:
    """One child process with a log file and an HTTP API on loopback."""

    name: str
    command: list[str]
    port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready_path: str) -> None:
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(self.command, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.tail()}")
            try:
                if httpx.get(self.url + ready_path, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready in 30 s: {self.tail()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def tail(self, lines: int = 20) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class Alertmanager(Server):
    def alerts(self) -> list[dict[str, Any]]:
        """What Alertmanager holds now (its v2 API)."""
        response = httpx.get(self.url + "/api/v2/alerts", timeout=5)
        response.raise_for_status()
        result: list[dict[str, Any]] = response.json()
        return result


@dataclass
class Prometheus(Server):
    def query(self, expr: str) -> dict[str, Any]:
        """An instant query: ``data`` on success, AssertionError naming Prometheus' error."""
        response = httpx.get(self.url + "/api/v1/query", params={"query": expr}, timeout=10)
        body = response.json()
        assert body.get("status") == "success", f"{expr!r}: {body.get('error', body)}"
        result: dict[str, Any] = body["data"]
        return result

    def series_of(self, expr: str) -> list[dict[str, Any]]:
        data = self.query(expr)
        result: list[dict[str, Any]] = data["result"] if data["resultType"] == "vector" else \
            [{"metric": {}, "value": data["result"]}]
        return result

    def value(self, expr: str) -> float:
        """The single value of a scalar-like query, 0 when it has no series."""
        series = self.series_of(expr)
        return float(series[0]["value"][1]) if series else 0.0

    def alert_states(self) -> dict[str, str]:
        """alertname -> pending/firing, from Prometheus' own view."""
        response = httpx.get(self.url + "/api/v1/alerts", timeout=5).json()
        return {a["labels"]["alertname"]: a["state"] for a in response["data"]["alerts"]}

    def rule_health(self) -> dict[str, str]:
        """rule name -> health ("ok", "err" or "unknown") of every loaded rule."""
        response = httpx.get(self.url + "/api/v1/rules", timeout=5).json()
        return {rule["name"]: rule["health"] + (f": {rule['lastError']}" if rule.get("lastError") else "")
                for group in response["data"]["groups"] for rule in group["rules"]}

    def target_health(self) -> dict[str, str]:
        response = httpx.get(self.url + "/api/v1/targets", timeout=5).json()
        return {t["labels"].get("service", t["scrapeUrl"]): t["health"]
                for t in response["data"]["activeTargets"]}


def prometheus_config(rules: Path, alertmanager: str, targets: dict[str, str]) -> dict[str, Any]:
    """The shipped prometheus.yml with loopback targets and 1 s intervals.

    The shipped file finds replicas by DNS (compose/Kubernetes); here every service is a
    process on its own port, labelled with its service name as the DNS relabelling does.
    """
    config: dict[str, Any] = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    config["global"] |= {"scrape_interval": "1s", "evaluation_interval": "1s",
                         "scrape_timeout": "1s"}
    config["rule_files"] = [str(rules)]
    config["alerting"]["alertmanagers"][0]["static_configs"] = [{"targets": [alertmanager]}]
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "mailroom")
    job.pop("dns_sd_configs")
    job.pop("relabel_configs")
    job["static_configs"] = [{"targets": [address], "labels": {"service": name}}
                             for name, address in targets.items()]
    config["scrape_configs"] = [job]
    return config


def start_alertmanager(tmp: Path) -> Alertmanager:
    """The shipped alertmanager.yml, clustering off, on a free loopback port."""
    port = free_port()
    server = Alertmanager(
        "alertmanager",
        [tool("prometheus-alertmanager"), f"--config.file={DEPLOY / 'alertmanager' / 'alertmanager.yml'}",
         f"--storage.path={tmp / 'alertmanager'}", f"--web.listen-address=127.0.0.1:{port}",
         "--cluster.listen-address="],
        port, tmp / "alertmanager.log")
    server.start("/-/ready")
    return server


def start_prometheus(tmp: Path, rules: Path, alertmanager: Alertmanager,
                     targets: dict[str, str]) -> Prometheus:
    port = free_port()
    config = tmp / "prometheus.yml"
    config.write_text(yaml.safe_dump(prometheus_config(
        rules, f"127.0.0.1:{alertmanager.port}", targets)), encoding="utf-8")
    server = Prometheus(
        "prometheus",
        [tool("prometheus"), f"--config.file={config}", f"--storage.tsdb.path={tmp / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        port, tmp / "prometheus.log")
    server.start("/-/ready")
    return server


def wait_for(condition: Callable[[], bool], timeout: float, what: str,
             detail: Callable[[], str] = lambda: "") -> None:
    """Poll until ``condition`` holds; AssertionError naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    assert condition(), f"{what} not reached in {timeout:.0f} s\n{detail()}"

