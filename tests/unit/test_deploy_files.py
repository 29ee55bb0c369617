"""The deployment files are well-formed and agree with the code.

There is no Docker engine, Prometheus or Kubernetes on this machine, so these are pure
file checks standing in for ``docker compose config``, ``promtool check rules`` and a
schema validation of the manifests. They tie the files to the code: metric names come
from ``mailroom.metrics.Metrics``, settings names from ``mailroom.settings.Settings`` and
container commands are parsed by ``mailroom.cli.build_parser``.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from pydantic import SecretStr

from mailroom.cli import build_parser
from mailroom.metrics import Metrics
from mailroom.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
MAILROOM_STAGES = ("collector", "processor", "responder", "api")
SCALED = ("processor", "responder")
# secrets that belong to the other containers of the stack, read from the same env file
OTHER_SECRETS = frozenset({"POSTGRES_PASSWORD", "GF_SECURITY_ADMIN_PASSWORD"})


# -- helpers ------------------------------------------------------------------------
def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not KEY=VALUE: {line!r}"
        values[key.strip()] = value.strip()
    return values


def setting_names() -> set[str]:
    return {name.upper() for name in Settings.model_fields}


def secret_setting_names() -> set[str]:
    secret = {name.upper() for name, f in Settings.model_fields.items() if f.annotation is SecretStr}
    return secret | {"DATABASE_URL", "API_USERS"} | OTHER_SECRETS


def exported_series() -> set[str]:
    """Every series name the mailroom registry can expose (counters, histograms, gauges)."""
    metrics = Metrics()
    metrics.watch_queues(lambda: {"raw_emails": 0})
    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_count", "_sum", "_created"),
        "summary": ("", "_count", "_sum", "_created"),
        "gauge": ("",),
        "info": ("_info",),
    }
    names: set[str] = set()
    for family in metrics.registry.collect():
        names |= {family.name + s for s in suffixes.get(family.type, ("",))}
        names |= {sample.name for sample in family.samples}
    return names


# -- a promtool-style PromQL check --------------------------------------------------
PROMQL_FUNCTIONS = frozenset({
    "abs", "absent", "absent_over_time", "avg", "avg_over_time", "bottomk", "ceil", "changes", "clamp",
    "clamp_max", "clamp_min", "count", "count_over_time", "count_values", "delta", "deriv", "exp",
    "floor", "group", "histogram_quantile", "holt_winters", "idelta", "increase", "irate", "label_join",
    "label_replace", "last_over_time", "ln", "log2", "log10", "max", "max_over_time", "min",
    "min_over_time", "predict_linear", "quantile", "quantile_over_time", "rate", "resets", "round",
    "scalar", "sgn", "sort", "sort_desc", "sqrt", "stddev", "stdvar", "sum", "sum_over_time", "time",
    "timestamp", "topk", "vector", "label_values"
})
PROMQL_KEYWORDS = frozenset({
    "and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left",
    "group_right", "inf", "nan"
})
GRAFANA_VARIABLES = re.compile(r"\$__(rate_interval|interval|range)|\$\{__\w+\}")
STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
DURATION = r"(?:\d+(?:ms|[smhdwy]))+"


def promql_metric_names(expr: str) -> set[str]:
    """The metric names an expression reads; AssertionError when it is not well formed."""
    assert expr.strip(), "empty expression"
    text = GRAFANA_VARIABLES.sub("5m", expr)
    text = STRING.sub('""', text)
    stack: list[str] = []
    pairs = {")": "(", "]": "[", "}": "{"}
    for char in text:
        if char in "([{":
            stack.append(char)
        elif char in pairs:
            assert stack and stack[-1] == pairs[char], f"unbalanced {char!r} in {expr!r}"
            stack.pop()
    assert not stack, f"unclosed {stack[-1]!r} in {expr!r}"
    assert '"' not in STRING.sub("", text), f"unterminated string in {expr!r}"
    for selector in re.findall(r"\{([^}]*)\}", text):
        for matcher in filter(None, (m.strip() for m in selector.split(","))):
            assert re.fullmatch(r'[A-Za-z_]\w*\s*(=~|!~|!=|=)\s*""', matcher), (
                f"bad label matcher {matcher!r} in {expr!r}")
    text = re.sub(r"\{[^}]*\}", " ", text)
    for window in re.findall(r"\[([^\]]*)\]", text):
        assert re.fullmatch(rf"\s*{DURATION}\s*(:\s*(?:{DURATION})?\s*)?", window), (
            f"bad range {window!r} in {expr!r}")
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(rf"\boffset\s+-?{DURATION}", " ", text)
    text = re.sub(r"(?<![\w:.])\d+(\.\d+)?([eE][+-]?\d+)?(?![\w:])", " ", text)
    names: set[str] = set()
    for match in re.finditer(r"[A-Za-z_:][\w:]*", text):
        word = match.group()
        if word.lower() in PROMQL_KEYWORDS:
            continue
        if text[match.end():].lstrip().startswith("("):
            assert word in PROMQL_FUNCTIONS, f"unknown function {word!r} in {expr!r}"
        else:
            names.add(word)
    return names


def assert_known_metrics(expr: str, known: set[str]) -> set[str]:
    names = promql_metric_names(expr)
    assert names, f"{expr!r} reads no metric"
    unknown = names - known
    assert not unknown, f"{expr!r} reads metrics mailroom does not define: {sorted(unknown)}"
    return names


@pytest.mark.parametrize(
    ("expr", "problem"),
    [
        ("sum(rate(emails_processed_total[5m])", "unclosed"),
        ("sum(rate(emails_processed_total[5m])))", "unbalanced"),
        ("rate(emails_processed_total[5 minutes])", "bad range"),
        ('emails_processed_total{topic="imap}', "unterminated|unclosed"),
        ("emails_processed_total{topic~imap}", "bad label matcher"),
        ("sumx(emails_processed_total)", "unknown function"),
        ("rate(emails_processd_total[5m])", "does not define"),
        ("1 + 2", "reads no metric"),
    ],
)
def test_promql_check_rejects_broken_expressions(expr: str, problem: str) -> None:
    """The PromQL check is not vacuous: each broken expression is caught with its reason."""
    with pytest.raises(AssertionError, match=problem):
        assert_known_metrics(expr, exported_series())


def test_promql_check_reads_names_through_grouping_and_grafana_variables() -> None:
    """Label names in by()/matchers, numbers, durations and Grafana variables are not metrics."""
    expr = (
        'histogram_quantile(0.95, sum by (le, topic) (rate(email_processing_time_seconds_bucket'
        '{mailbox=~"$mailbox"}[$__rate_interval]))) > 1e-3 and on() max(email_queue_size) offset 5m'
    )
    assert promql_metric_names(expr) == {"email_processing_time_seconds_bucket", "email_queue_size"}


def test_registry_exposes_the_metric_names_the_deploy_files_rely_on() -> None:
    """The series names derived from the registry include the seed's and the stages' metrics."""
    known = exported_series()
    for name in ("emails_processed_total", "email_processing_time_seconds_bucket", "email_queue_size",
                 "mailroom_collector_mailbox_up", "mailroom_replies_suppressed_total",
                 "mailroom_end_to_end_seconds_bucket", "mailroom_dead_letters_total"):
        assert name in known


# -- docker compose -----------------------------------------------------------------
COMPOSE_FILE = DEPLOY / "docker-compose.yml"
COMPOSE_TOP_LEVEL = {"name", "services", "networks", "volumes", "configs", "secrets"}
DEPENDS_CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = load_yaml(COMPOSE_FILE)
    assert isinstance(data, dict)
    return data


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose["services"]
    return result


def mailroom_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in services(compose).items() if str(s.get("image", "")).startswith("mailroom:")}


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | dict) else [value]


def test_compose_has_only_known_top_level_keys(compose: dict[str, Any]) -> None:
    """Like `docker compose config`: unknown top-level keys are refused (x- extensions allowed)."""
    unknown = {k for k in compose if k not in COMPOSE_TOP_LEVEL and not k.startswith("x-")}
    assert not unknown
    assert compose["services"]


def test_compose_interpolations_all_have_defaults() -> None:
    """Every ${VAR} has a default, so the file resolves with an empty environment."""
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    for var in re.findall(r"\$\{([^}]*)\}", text):
        assert ":-" in var, f"${{{var}}} has no default"


def test_every_compose_service_has_an_image_and_its_build_context_exists(compose: dict[str, Any]) -> None:
    """Each service names an image or a build, and a build's context and Dockerfile exist."""
    for name, svc in services(compose).items():
        assert "image" in svc or "build" in svc, name
        build = svc.get("build")
        if build is not None:
            context = DEPLOY / (build if isinstance(build, str) else build["context"])
            dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
            assert (context / dockerfile).is_file(), f"{name}: {context / dockerfile} missing"


def test_compose_references_resolve(compose: dict[str, Any]) -> None:
    """env_files, bind mounts, named volumes, networks and depends_on all point at something real."""
    names = set(services(compose))
    volumes = set(compose.get("volumes") or {})
    networks = set(compose.get("networks") or {}) | {"default"}
    ignored = (DEPLOY / ".gitignore").read_text(encoding="utf-8").split()
    for name, svc in services(compose).items():
        for entry in as_list(svc.get("env_file")):
            path = DEPLOY / (entry if isinstance(entry, str) else entry["path"])
            # a secrets file is made by the operator from its committed template
            assert path.is_file() or (
                path.with_name(path.name + ".example").is_file() and path.name in ignored
            ), f"{name}: env_file {path.name} has neither the file nor an ignored template"
        for mount in as_list(svc.get("volumes")):
            source = mount.split(":")[0] if isinstance(mount, str) else mount["source"]
            if source.startswith((".", "/")):
                assert (DEPLOY / source).exists(), f"{name}: bind mount {source} missing"
            else:
                assert source in volumes, f"{name}: volume {source} not declared"
        for net in as_list(svc.get("networks")):
            assert net in networks, f"{name}: network {net} not declared"
        depends = svc.get("depends_on") or {}
        for dep in as_list(depends):
            assert dep in names, f"{name} depends on unknown service {dep}"
            if isinstance(depends, dict):
                assert depends[dep]["condition"] in DEPENDS_CONDITIONS
                if depends[dep]["condition"] == "service_completed_successfully":
                    assert services(compose)[dep].get("restart") == "no", f"{dep} must be one-shot"
                if depends[dep]["condition"] == "service_healthy":
                    assert "healthcheck" in services(compose)[dep], f"{dep} has no healthcheck"


def test_compose_dependencies_have_no_cycle(compose: dict[str, Any]) -> None:
    """The start order exists: depends_on forms no cycle."""
    graph = {n: set(as_list(s.get("depends_on"))) for n, s in services(compose).items()}
    started: set[str] = set()
    while graph.keys() - started:
        ready = {n for n in graph.keys() - started if graph[n] <= started}
        assert ready, f"cycle among {sorted(graph.keys() - started)}"
        started |= ready


def test_kafka_runs_in_kraft_mode_without_zookeeper(compose: dict[str, Any]) -> None:
    """The broker is the official apache/kafka image as broker+controller with a quorum, no ZooKeeper."""
    kafka = services(compose)["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    env = kafka["environment"]
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].startswith(f"{env['KAFKA_NODE_ID']}@kafka:")
    assert "CONTROLLER" in env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", env["CLUSTER_ID"]), "CLUSTER_ID must be a base64 UUID"
    assert "zookeeper" not in json.dumps(compose).lower()
    assert env["KAFKA_ADVERTISED_LISTENERS"] == "PLAINTEXT://kafka:9092"


def test_every_mailroom_container_runs_a_real_cli_command(compose: dict[str, Any]) -> None:
    """One image; each stage, the API and `topics create` are commands the mailroom CLI accepts."""
    stages = mailroom_services(compose)
    assert {"collector", "processor", "responder", "api", "topics"} <= set(stages)
    assert len({s["image"] for s in stages.values()}) == 1
    parser = build_parser()
    for name, svc in stages.items():
        command = svc["command"]
        args = parser.parse_args(command if isinstance(command, list) else shlex.split(command))
        assert args.command == ("topics" if name == "topics" else name)
        if name in ("collector", "processor", "responder"):
            # the stage's /metrics and probes are served by the API in the same process
            assert args.with_api, f"{name} would expose no /metrics"
        env = svc["environment"]
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"


def test_processor_and_responder_run_three_replicas(compose: dict[str, Any]) -> None:
    """processor and responder scale out to three replicas of one consumer group."""
    for name in SCALED:
        assert services(compose)[name]["deploy"]["replicas"] == 3


def test_long_running_services_have_healthchecks(compose: dict[str, Any]) -> None:
    """Every service that keeps running is health-checked (mailroom ones by the image's HEALTHCHECK)."""
    image_checked = "HEALTHCHECK" in dockerfile_instructions(final_stage=True)
    for name, svc in services(compose).items():
        if svc.get("restart") == "no":
            continue
        has_own = "healthcheck" in svc and not svc["healthcheck"].get("disable")
        assert has_own or (name in mailroom_services(compose) and image_checked), name


def test_env_files_name_only_real_settings_and_hold_no_secrets() -> None:
    """mailroom.env keys are Settings fields, values validate, and no secret sits in it."""
    values = read_env_file(DEPLOY / "mailroom.env")
    assert set(values) <= setting_names(), set(values) - setting_names()
    assert not set(values) & secret_setting_names()
    settings = Settings(_env_file=None, **{k.lower(): v for k, v in values.items()})
    assert settings.kafka_topic_partitions >= 3


def test_secrets_template_lists_every_secret_with_no_value() -> None:
    """The template names every secret setting a deployment needs, with no real value in it."""
    template = read_env_file(DEPLOY / "secrets.env.example")
    assert set(template) <= setting_names() | OTHER_SECRETS
    assert {"IMAP_PASSWORD", "SMTP_PASSWORD", "DATABASE_URL", "API_SESSION_SECRET"} <= set(template)
    for key, value in template.items():
        assert value == "" or "<" in value, f"{key} has a value in the committed template"


def test_no_secret_is_inline_in_compose(compose: dict[str, Any]) -> None:
    """Passwords, tokens and DATABASE_URL come from the env file, never from `environment:`."""
    secret = secret_setting_names()
    for name, svc in [*services(compose).items(), ("x-mailroom", compose["x-mailroom"])]:
        env = svc.get("environment") or {}
        keys = set(env) if isinstance(env, dict) else {e.split("=")[0] for e in env}
        assert not keys & secret, f"{name} sets {keys & secret} inline"
        assert not {k for k in keys if re.search(r"PASSWORD|SECRET|TOKEN", k)}, name


def test_prometheus_and_grafana_files_are_mounted_where_their_configs_look(
    compose: dict[str, Any],
) -> None:
    """Prometheus reads its rules and Grafana its dashboards from the paths the compose mounts."""
    prom_mounts = dict(m.split(":")[:2] for m in services(compose)["prometheus"]["volumes"])
    rule_files = load_yaml(DEPLOY / "prometheus/prometheus.yml")["rule_files"]
    targets = {target: source for source, target in prom_mounts.items()}
    for rule_file in rule_files:
        assert targets[rule_file] == "./prometheus/alerts.yml"
    grafana_mounts = dict(m.split(":")[:2] for m in services(compose)["grafana"]["volumes"])
    provider = load_yaml(DEPLOY / "grafana/provisioning/dashboards/mailroom.yml")["providers"][0]
    assert grafana_mounts["./grafana/dashboards"] == provider["options"]["path"]
    assert grafana_mounts["./grafana/provisioning"] == "/etc/grafana/provisioning"


# -- Dockerfile ---------------------------------------------------------------------
def dockerfile_instructions(final_stage: bool = False) -> dict[str, list[str]]:
    """Instruction -> arguments, continuation lines joined (of the last stage if asked)."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text(encoding="utf-8"))
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    if final_stage:
        starts = [i for i, ln in enumerate(lines) if ln.upper().startswith("FROM ")]
        lines = lines[starts[-1]:]
    found: dict[str, list[str]] = {}
    for line in lines:
        word, _, rest = line.partition(" ")
        found.setdefault(word.upper(), []).append(rest.strip())
    return found


def test_dockerfile_runs_slim_python_as_a_non_root_user_with_a_healthcheck() -> None:
    """Final stage: python:3.11-slim, a USER that is not root, HEALTHCHECK on /health/live."""
    final = dockerfile_instructions(final_stage=True)
    assert final["FROM"][0].startswith("python:3.11-slim")
    user = final["USER"][-1].split(":")[0]
    assert user not in ("root", "0", "")
    assert "/health/live" in final["HEALTHCHECK"][0]
    assert json.loads(final["ENTRYPOINT"][0]) == ["mailroom"]
    assert "8000" in final["EXPOSE"][0].split()
    everything = dockerfile_instructions()
    assert any(re.search(r"pip install \.(\s|$)", run) for run in everything["RUN"])


def test_dockerignore_keeps_the_build_context_small_and_secret_free() -> None:
    """The image context leaves out the venv, git, tests and secrets but keeps what pip needs."""
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    ignored = {ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")}
    assert {".git", ".venv", "tests", ".env", "deploy/secrets.env"} <= ignored
    assert not ignored & {"src", "pyproject.toml", "README.md"}


# -- Prometheus ---------------------------------------------------------------------
ALERT_SCENARIOS = {
    "MailroomPipelineStalled", "MailroomQueueGrowing", "MailroomHighErrorRate",
    "MailroomImapMailboxDown", "MailroomSmtpDown", "MailroomDeadLetters",
}


def alert_rules() -> Iterator[dict[str, Any]]:
    for group in load_yaml(DEPLOY / "prometheus/alerts.yml")["groups"]:
        assert group["name"] and group["rules"]
        yield from group["rules"]


def test_prometheus_scrapes_every_mailroom_service_every_15_seconds(compose: dict[str, Any]) -> None:
    """Scrape interval 15 s; the targets are the compose services on the API port."""
    config = load_yaml(DEPLOY / "prometheus/prometheus.yml")
    assert config["global"]["scrape_interval"] == "15s"
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "mailroom")
    assert job["metrics_path"] == "/metrics"
    (sd,) = job["dns_sd_configs"]
    assert set(sd["names"]) == set(MAILROOM_STAGES) <= set(services(compose))
    assert str(sd["port"]) == services(compose)["api"]["environment"]["API_PORT"]
    (manager,) = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert manager.split(":")[0] in services(compose)


def test_alert_rules_are_well_formed_and_read_only_mailroom_metrics() -> None:
    """promtool-style: every rule has a name, severity, summary, valid `for` and a sane expression."""
    known = exported_series()
    names = []
    for rule in alert_rules():
        names.append(rule["alert"])
        assert re.fullmatch(r"[A-Z][A-Za-z0-9]+", rule["alert"])
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
        assert rule["annotations"]["summary"]
        if "for" in rule:
            assert re.fullmatch(DURATION, rule["for"])
        assert_known_metrics(rule["expr"], known)
        # a label an annotation shows must survive the expression's aggregation
        grouped = set(re.findall(r"\bby\s*\(([^)]*)\)", rule["expr"]))
        kept = {label.strip() for group in grouped for label in group.split(",")}
        for label in re.findall(r"\$labels\.(\w+)", json.dumps(rule["annotations"])):
            assert label in kept, f"{rule['alert']}: {label} is aggregated away"
    assert len(names) == len(set(names)), "duplicate alert names"
    assert set(names) >= ALERT_SCENARIOS


def test_promtool_rule_tests_cover_the_key_alerts_and_name_only_real_ones() -> None:
    """deploy/prometheus/alerts_test.yml (run by promtool) tests real alerts, firing and quiet."""
    suite = load_yaml(DEPLOY / "prometheus/alerts_test.yml")
    assert suite["rule_files"] == ["alerts.yml"]
    existing = {rule["alert"] for rule in alert_rules()}
    tested = [c for t in suite["tests"] for c in t["alert_rule_test"]]
    assert {c["alertname"] for c in tested} <= existing
    assert any(c["exp_alerts"] for c in tested) and any(not c["exp_alerts"] for c in tested)
    known = exported_series()
    for test in suite["tests"]:
        for series in test["input_series"]:
            assert promql_metric_names(series["series"]) <= known


def test_alertmanager_routes_to_a_declared_receiver() -> None:
    """The default route's receiver exists."""
    config = load_yaml(DEPLOY / "alertmanager/alertmanager.yml")
    assert config["route"]["receiver"] in {r["name"] for r in config["receivers"]}


# -- Grafana ------------------------------------------------------------------------
DASHBOARD_METRICS = (
    "emails_processed_total", "email_processing_time_seconds_bucket", "email_queue_size",
    "mailroom_collector_mailbox_up", "mailroom_collector_lag", "mailroom_replies_total",
    "mailroom_replies_suppressed_total", "mailroom_smtp_send_seconds_bucket",
    "mailroom_end_to_end_seconds_bucket", "mailroom_dead_letters_total", "mailroom_decisions_total",
)


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    data = json.loads((DEPLOY / "grafana/dashboards/mailroom.json").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for panel in dashboard["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def test_dashboard_panels_query_only_mailroom_metrics(dashboard: dict[str, Any]) -> None:
    """Every panel's expression is sane and reads metrics the registry defines; all key metrics shown."""
    known = exported_series()
    read: set[str] = set()
    for panel in panels(dashboard):
        if panel["type"] == "row":
            continue
        assert panel["title"] and panel["targets"], panel.get("id")
        for target in panel["targets"]:
            read |= assert_known_metrics(target["expr"], known)
    for variable in dashboard["templating"]["list"]:
        metric = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", variable["definition"])
        assert metric and metric.group(1) in known
    missing = set(DASHBOARD_METRICS) - read
    assert not missing, f"dashboard does not show {sorted(missing)}"


def test_dashboard_layout_and_datasource_are_consistent(dashboard: dict[str, Any]) -> None:
    """Unique panel ids, panels inside the 24-column grid without overlap, the provisioned datasource."""
    source = load_yaml(DEPLOY / "grafana/provisioning/datasources/prometheus.yml")["datasources"][0]
    assert source["url"] == "http://prometheus:9090"
    ids = [p["id"] for p in panels(dashboard)]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for panel in panels(dashboard):
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24
        area = {(x, y) for x in range(pos["x"], pos["x"] + pos["w"])
                for y in range(pos["y"], pos["y"] + pos["h"])}
        assert not area & cells, f"panel {panel['id']} overlaps another"
        cells |= area
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == source["uid"]
    assert dashboard["uid"] and dashboard["title"]


# -- Kubernetes ---------------------------------------------------------------------
NAME = {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 63}
METADATA = {"type": "object", "required": ["name"], "properties": {
    "name": NAME, "labels": {"type": "object", "additionalProperties": {"type": "string"}},
    "annotations": {"type": "object", "additionalProperties": {"type": "string"}}}}
LABELS = {"type": "object", "minProperties": 1, "additionalProperties": {"type": "string"}}


def http_probe(path: str) -> dict[str, Any]:
    return {"type": "object", "required": ["httpGet"], "properties": {"httpGet": {
        "type": "object", "required": ["path", "port"], "properties": {"path": {"const": path}}}}}


CONTAINER = {
    "type": "object",
    "required": ["name", "image", "resources"],
    "properties": {
        "name": NAME,
        "image": {"type": "string", "minLength": 1},
        "args": {"type": "array", "items": {"type": "string"}},
        "resources": {"type": "object", "required": ["limits"], "properties": {"limits": {
            "type": "object", "required": ["cpu", "memory"],
            "properties": {"cpu": {"const": "1"}, "memory": {"const": "1Gi"}}}}},
    },
}
SERVING_CONTAINER = {"allOf": [CONTAINER, {
    "required": ["ports", "livenessProbe", "readinessProbe"],
    "properties": {"livenessProbe": http_probe("/health/live"),
                   "readinessProbe": http_probe("/health/ready")}}]}
POD_TEMPLATE = {"type": "object", "required": ["metadata", "spec"], "properties": {
    "metadata": {"type": "object", "required": ["labels"], "properties": {"labels": LABELS}},
    "spec": {"type": "object", "required": ["containers"], "properties": {
        "containers": {"type": "array", "minItems": 1, "items": SERVING_CONTAINER}}}}}
K8S_SCHEMAS: dict[str, dict[str, Any]] = {
    "Deployment": {"properties": {"apiVersion": {"const": "apps/v1"}, "spec": {
        "type": "object", "required": ["replicas", "selector", "template"], "properties": {
            "replicas": {"type": "integer", "minimum": 1},
            "selector": {"type": "object", "required": ["matchLabels"],
                         "properties": {"matchLabels": LABELS}},
            "template": POD_TEMPLATE}}}, "required": ["spec"]},
    "Service": {"properties": {"apiVersion": {"const": "v1"}, "spec": {
        "type": "object", "required": ["selector", "ports"], "properties": {
            "selector": LABELS, "ports": {"type": "array", "minItems": 1, "items": {
                "type": "object", "required": ["port", "targetPort"]}}}}}, "required": ["spec"]},
    "ConfigMap": {"properties": {"apiVersion": {"const": "v1"}, "data": {
        "type": "object", "additionalProperties": {"type": "string"}}}, "required": ["data"]},
    "Secret": {"properties": {"apiVersion": {"const": "v1"}, "type": {"const": "Opaque"}, "stringData": {
        "type": "object", "additionalProperties": {"type": "string"}}}, "required": ["stringData"]},
    "PodDisruptionBudget": {"properties": {"apiVersion": {"const": "policy/v1"}, "spec": {
        "type": "object", "required": ["selector"],
        "oneOf": [{"required": ["minAvailable"]}, {"required": ["maxUnavailable"]}],
        "properties": {"selector": {"type": "object", "required": ["matchLabels"]}}}},
        "required": ["spec"]},
    "Job": {"properties": {"apiVersion": {"const": "batch/v1"}, "spec": {
        "type": "object", "required": ["template"], "properties": {"template": {
            "type": "object", "properties": {"spec": {"type": "object", "required": ["containers"],
                                                      "properties": {"containers": {
                                                          "type": "array", "items": CONTAINER}}}}}}}},
        "required": ["spec"]},
    "Namespace": {"properties": {"apiVersion": {"const": "v1"}}},
    "ServiceAccount": {"properties": {"apiVersion": {"const": "v1"}}},
}


def k8s_schema(kind: str) -> dict[str, Any]:
    base = {"type": "object", "required": ["apiVersion", "kind", "metadata"],
            "properties": {"kind": {"const": kind}, "metadata": METADATA}}
    return {"allOf": [base, K8S_SCHEMAS[kind]]}


@pytest.fixture(scope="module")
def manifests() -> list[dict[str, Any]]:
    """Every manifest: those kustomize applies plus the Secret template it must not apply."""
    listed = load_yaml(K8S / "kustomization.yaml")["resources"]
    on_disk = {p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml"}
    templates = {name for name in on_disk if name.endswith(".example.yaml")}
    assert sorted(listed) == sorted(on_disk - templates), "kustomization.yaml must list every manifest"
    docs = [d for name in sorted(on_disk) for d in yaml.safe_load_all((K8S / name).read_text("utf-8"))]
    assert all(docs)
    return docs


def test_kustomize_never_applies_the_secret() -> None:
    """`kubectl apply -k` must not overwrite the real Secret with the template's empty values."""
    for name in load_yaml(K8S / "kustomization.yaml")["resources"]:
        kinds = {d["kind"] for d in yaml.safe_load_all((K8S / name).read_text("utf-8"))}
        assert "Secret" not in kinds, name


def of_kind(manifests: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


def test_every_manifest_matches_its_kinds_schema(manifests: list[dict[str, Any]]) -> None:
    """Deployments, Services, ConfigMap, Secret, PDBs (and the rest) validate against their schema."""
    kinds = {m["kind"] for m in manifests}
    assert {"Deployment", "Service", "ConfigMap", "Secret", "PodDisruptionBudget"} <= kinds
    for manifest in manifests:
        jsonschema.validate(manifest, k8s_schema(manifest["kind"]))


def test_schema_refuses_a_deployment_without_probes_or_limits(manifests: list[dict[str, Any]]) -> None:
    """The schema is not vacuous: removing a probe or changing the limits fails validation."""
    deployment = of_kind(manifests, "Deployment")["mailroom-processor"]
    schema = k8s_schema("Deployment")
    container_path = ("spec", "template", "spec", "containers")

    def broken(change: Any) -> dict[str, Any]:
        copy: dict[str, Any] = json.loads(json.dumps(deployment))
        node: Any = copy
        for key in container_path:
            node = node[key]
        change(node[0])
        return copy

    for change in (lambda c: c.pop("readinessProbe"),
                   lambda c: c["livenessProbe"]["httpGet"].update(path="/health"),
                   lambda c: c["resources"]["limits"].update(memory="2Gi")):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken(change), schema)


def test_deployments_run_each_stage_with_matching_selectors(manifests: list[dict[str, Any]]) -> None:
    """One Deployment per stage, real CLI commands, selector ⊆ pod labels, processor/responder × 3."""
    deployments = of_kind(manifests, "Deployment")
    assert set(deployments) == {f"mailroom-{s}" for s in MAILROOM_STAGES}
    parser = build_parser()
    images = {i["name"] for i in load_yaml(K8S / "kustomization.yaml")["images"]}
    for stage in MAILROOM_STAGES:
        spec = deployments[f"mailroom-{stage}"]["spec"]
        selector = spec["selector"]["matchLabels"]
        assert selector.items() <= spec["template"]["metadata"]["labels"].items()
        (container,) = spec["template"]["spec"]["containers"]
        args = parser.parse_args(container["args"])
        assert args.command == stage
        assert stage == "api" or args.with_api
        assert container["image"].split(":")[0] in images
        port_names = {p["name"] for p in container["ports"]}
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            assert container[probe]["httpGet"]["port"] in port_names
        if stage in SCALED:
            assert spec["replicas"] == 3


def test_services_and_pdbs_select_existing_pods(manifests: list[dict[str, Any]]) -> None:
    """Each Service and PodDisruptionBudget selects the pods of exactly one Deployment."""
    pods = [(d["spec"]["template"]["metadata"]["labels"],
             {p["name"] for c in d["spec"]["template"]["spec"]["containers"] for p in c["ports"]})
            for d in of_kind(manifests, "Deployment").values()]
    for service in of_kind(manifests, "Service").values():
        selector = service["spec"]["selector"]
        matched = [ports for labels, ports in pods if selector.items() <= labels.items()]
        assert len(matched) == 1, service["metadata"]["name"]
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in matched[0]
    pdbs = of_kind(manifests, "PodDisruptionBudget")
    assert {f"mailroom-{s}" for s in SCALED} <= set(pdbs)
    for pdb in pdbs.values():
        selector = pdb["spec"]["selector"]["matchLabels"]
        assert sum(selector.items() <= labels.items() for labels, _ in pods) == 1


def test_pods_take_settings_from_the_configmap_and_secret(manifests: list[dict[str, Any]]) -> None:
    """envFrom names the ConfigMap and Secret; their keys are real settings; secrets only in the Secret."""
    configmaps, secrets = of_kind(manifests, "ConfigMap"), of_kind(manifests, "Secret")
    for workload in [*of_kind(manifests, "Deployment").values(), *of_kind(manifests, "Job").values()]:
        for container in workload["spec"]["template"]["spec"]["containers"]:
            refs = container["envFrom"]
            assert {r["configMapRef"]["name"] for r in refs if "configMapRef" in r} <= set(configmaps)
            assert {r["secretRef"]["name"] for r in refs if "secretRef" in r} <= set(secrets)
            assert any("secretRef" in r for r in refs)
    (config,) = configmaps.values()
    (secret,) = secrets.values()
    assert set(config["data"]) <= setting_names()
    assert not set(config["data"]) & secret_setting_names()
    assert set(secret["stringData"]) <= secret_setting_names() & setting_names()
    assert all(value == "" for value in secret["stringData"].values()), "no secret value is committed"
    Settings(_env_file=None, **{k.lower(): v for k, v in config["data"].items()})
