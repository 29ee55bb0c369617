"""The deployment files pass the tools that define their formats, and agree with the code.

The formats are checked by their own tools, installed by ``.ci/run``: ``promtool`` (rules,
config, rule unit tests, and the dashboard's queries parsed as recording rules),
``amtool check-config``, ``kubernetes-validate --strict`` (the official Kubernetes
schemas), ``kubectl kustomize`` and the Compose Specification's JSON schema (vendored in
``deploy/schemas``). Each check has a test showing it fails on a broken copy written to
tmp_path. In CI a missing tool fails; elsewhere it skips.

The rest ties the files to the code: metric names come from ``mailroom.metrics.Metrics``,
settings names from ``mailroom.settings.Settings`` and container commands are parsed by
``mailroom.cli.build_parser``. ``tests/ops`` runs the same files against a live mailroom.
"""

from __future__ import annotations

import functools
import json
import re
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from pydantic import SecretStr

from mailroom.cli import build_parser
from mailroom.collector.ahead import WaitReason
from mailroom.metrics import (
    COLLECTOR_WAIT_REASONS,
    DEAD_LETTER_SOURCES,
    FAILING_REPLY_OUTCOMES,
    RETRYING_STAGES,
    Metrics,
)
from mailroom.processor.service import ProcessorService
from mailroom.responder.service import Outcome, ResponderService
from mailroom.settings import Settings
from ops.monitoring import DASHBOARD, DEPLOY, ROOT, RULES, dashboard_queries, grafana_expr, tool

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


@functools.cache
def exported_series() -> frozenset[str]:
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
    return frozenset(names)


# -- metric names and the tools ----------------------------------------------------
STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
# every mailroom series starts with one of these prefixes (see mailroom.metrics)
MAILROOM_NAME = re.compile(r"(?<![\w:])(?:emails?|mailroom)_[A-Za-z0-9_:]*")


def mailroom_metrics_in(expr: str) -> set[str]:
    """The mailroom metric names a PromQL expression reads (not inside strings).

    Whether the expression is PromQL at all is promtool's job; this only ties the names
    to the registry, so a typo in a name (which is still valid PromQL) is caught.
    """
    return set(MAILROOM_NAME.findall(STRING.sub('""', expr)))


def unknown_metrics(expr: str) -> set[str]:
    return mailroom_metrics_in(expr) - exported_series()


def run(command: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False, cwd=cwd)


def promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return run([tool("promtool"), *args], cwd=cwd)


def test_metric_names_are_found_outside_strings_and_checked_against_the_registry() -> None:
    """Names in selectors and functions count, label values do not; a misspelt name is unknown."""
    expr = ('histogram_quantile(0.95, sum by (le) (rate(mailroom_smtp_send_seconds_bucket[5m])))'
            ' / on() max(email_queue_size{queue_name="mailroom_x"})')
    assert mailroom_metrics_in(expr) == {"mailroom_smtp_send_seconds_bucket", "email_queue_size"}
    assert not unknown_metrics(expr)
    assert unknown_metrics("rate(emails_processd_total[5m])") == {"emails_processd_total"}


def test_registry_exposes_the_metric_names_the_deploy_files_rely_on() -> None:
    """The series names derived from the registry include the seed's and the stages' metrics."""
    known = exported_series()
    for name in ("emails_processed_total", "email_processing_time_seconds_bucket", "email_queue_size",
                 "mailroom_collector_mailbox_up", "mailroom_replies_suppressed_total",
                 "mailroom_end_to_end_seconds_bucket", "mailroom_dead_letters_total"):
        assert name in known
    # the name check below sees every mailroom metric only if all share its prefixes
    assert all(MAILROOM_NAME.fullmatch(name) for name in known), sorted(
        n for n in known if not MAILROOM_NAME.fullmatch(n))


def zero_samples(name: str, label: str) -> dict[str, float]:
    """label value -> value of the ``name`` series a fresh registry already exposes."""
    return {s.labels[label]: s.value for family in Metrics().registry.collect()
            for s in family.samples if s.name == name}


def test_rare_event_counters_start_at_zero_for_every_known_label_value() -> None:
    """Retries, dead letters and failing replies exist at 0 from the start, so the first event
    counts in increase() (and alerts) and their panels show 0, not "No data"."""
    assert set(RETRYING_STAGES) == {ProcessorService.stage, ResponderService.stage}
    assert set(DEAD_LETTER_SOURCES) == {"imap", ProcessorService.input_topic, ResponderService.input_topic}
    assert set(FAILING_REPLY_OUTCOMES) <= {o.value for o in Outcome}
    assert set(FAILING_REPLY_OUTCOMES) == set(re.findall(
        r'outcome=~"([^"]+)"', next(r for r in alert_rules() if r["alert"] == "MailroomSmtpDown")["expr"]
    )[0].split("|"))
    assert zero_samples("mailroom_retries_total", "stage") == dict.fromkeys(RETRYING_STAGES, 0.0)
    assert zero_samples("mailroom_dead_letters_total", "topic") == dict.fromkeys(DEAD_LETTER_SOURCES, 0.0)
    assert zero_samples("mailroom_replies_total", "outcome") == dict.fromkeys(FAILING_REPLY_OUTCOMES, 0.0)
    # (metrics cannot import the collector: the two lists are kept equal here)
    assert set(COLLECTOR_WAIT_REASONS) == {reason.value for reason in WaitReason}
    assert zero_samples("mailroom_collector_wait_seconds_total", "reason") == \
        dict.fromkeys(COLLECTOR_WAIT_REASONS, 0.0)


# -- docker compose -----------------------------------------------------------------
COMPOSE_FILE = DEPLOY / "docker-compose.yml"
COMPOSE_SCHEMA = DEPLOY / "schemas" / "compose-spec.json"
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


def compose_validator() -> jsonschema.Draft7Validator:
    """The Compose Specification's own schema (draft-07, vendored: deploy/schemas/README.md)."""
    schema = json.loads(COMPOSE_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def test_compose_file_matches_the_compose_specification(compose: dict[str, Any]) -> None:
    """docker-compose.yml validates against the published Compose schema, as `docker compose config`."""
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in compose_validator().iter_errors(compose)]
    assert not errors, errors


@pytest.mark.parametrize(("where", "change"), [
    ("a misspelt service key", lambda c: c["services"]["processor"].update(imagee="mailroom:latest")),
    ("depends_on as one string", lambda c: c["services"]["processor"].update(depends_on="kafka")),
    ("an unknown top-level key", lambda c: c.update(service={})),
])
def test_compose_schema_refuses_a_broken_compose_file(
    compose: dict[str, Any], tmp_path: Path, where: str, change: Any,
) -> None:
    """The schema check is not vacuous: a broken copy of the compose file fails it."""
    broken = json.loads(json.dumps(compose))
    change(broken)
    (tmp_path / "docker-compose.yml").write_text(yaml.safe_dump(broken), encoding="utf-8")
    reloaded = load_yaml(tmp_path / "docker-compose.yml")
    assert list(compose_validator().iter_errors(reloaded)), f"{where} passed the schema"


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


PROMETHEUS = RULES.parent
ALERTMANAGER = DEPLOY / "alertmanager" / "alertmanager.yml"


def alert_rules() -> Iterator[dict[str, Any]]:
    for group in load_yaml(RULES)["groups"]:
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


def test_alert_rules_read_only_mailroom_metrics_and_keep_the_labels_they_show() -> None:
    """Every rule has a severity and summary, reads metrics mailroom exports, keeps its labels."""
    names = []
    for rule in alert_rules():
        names.append(rule["alert"])
        assert re.fullmatch(r"[A-Z][A-Za-z0-9]+", rule["alert"])
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
        assert rule["annotations"]["summary"]
        assert mailroom_metrics_in(rule["expr"]), f"{rule['alert']} reads no mailroom metric"
        assert not unknown_metrics(rule["expr"]), (rule["alert"], unknown_metrics(rule["expr"]))
        # a label an annotation shows must survive the expression's aggregation
        grouped = set(re.findall(r"\bby\s*\(([^)]*)\)", rule["expr"]))
        kept = {label.strip() for group in grouped for label in group.split(",")}
        for label in re.findall(r"\$labels\.(\w+)", json.dumps(rule["annotations"])):
            assert label in kept, f"{rule['alert']}: {label} is aggregated away"
    assert len(names) == len(set(names)), "duplicate alert names"
    assert set(names) >= ALERT_SCENARIOS


def test_promtool_rule_tests_cover_the_key_alerts_and_name_only_real_ones() -> None:
    """deploy/prometheus/alerts_test.yml (run by promtool) tests real alerts, firing and quiet."""
    suite = load_yaml(PROMETHEUS / "alerts_test.yml")
    assert suite["rule_files"] == ["alerts.yml"]
    existing = {rule["alert"] for rule in alert_rules()}
    tested = [c for t in suite["tests"] for c in t["alert_rule_test"]]
    assert {c["alertname"] for c in tested} <= existing
    assert any(c["exp_alerts"] for c in tested) and any(not c["exp_alerts"] for c in tested)
    for test in suite["tests"]:
        for series in test["input_series"]:
            assert mailroom_metrics_in(series["series"]), series
            assert not unknown_metrics(series["series"]), series


def checkable_config(tmp_path: Path, config: dict[str, Any], rules: Path) -> Path:
    """prometheus.yml as shipped, its rule file path (a container path) pointed at ``rules``."""
    config = {**config, "rule_files": [str(rules)]}
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def test_promtool_accepts_the_shipped_rules_and_config(tmp_path: Path) -> None:
    """`promtool check rules` finds every rule; `promtool check config` loads config and rules."""
    rules = promtool("check", "rules", str(RULES))
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert f"SUCCESS: {len(list(alert_rules()))} rules found" in rules.stdout
    config = checkable_config(tmp_path, load_yaml(PROMETHEUS / "prometheus.yml"), RULES)
    checked = promtool("check", "config", str(config))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_promtool_rule_unit_tests_pass() -> None:
    """`promtool test rules deploy/prometheus/alerts_test.yml`: the alerts fire and stay quiet as tested."""
    result = promtool("test", "rules", "alerts_test.yml", cwd=PROMETHEUS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize(("typo", "old", "new"), [
    ("an unclosed parenthesis", "(rate(mailroom_retries_total[10m]))", "(rate(mailroom_retries_total[10m])"),
    ("a misspelt function", "histogram_quantile(", "histogram_quantil("),
    ("a bad range", "[10m]", "[10 minutes]"),
    ("a bad `for`", "for: 15m", "for: quarter-hour"),
])
def test_promtool_refuses_a_rule_with_a_typo(tmp_path: Path, typo: str, old: str, new: str) -> None:
    """`promtool check rules` fails on a copy of the rules with one typo."""
    text = RULES.read_text(encoding="utf-8")
    assert old in text
    broken = tmp_path / "alerts.yml"
    broken.write_text(text.replace(old, new, 1), encoding="utf-8")
    result = promtool("check", "rules", str(broken))
    assert result.returncode != 0, f"{typo} passed promtool"


def test_promtool_rule_tests_fail_when_a_rule_reads_a_misspelt_metric(tmp_path: Path) -> None:
    """A misspelt metric is valid PromQL, but the alert no longer fires: `promtool test rules` fails."""
    text = RULES.read_text(encoding="utf-8")
    (tmp_path / "alerts.yml").write_text(
        text.replace("mailroom_replies_total", "mailroom_replys_total"), encoding="utf-8")
    (tmp_path / "alerts_test.yml").write_text(
        (PROMETHEUS / "alerts_test.yml").read_text(encoding="utf-8"), encoding="utf-8")
    assert promtool("check", "rules", "alerts.yml", cwd=tmp_path).returncode == 0
    result = promtool("test", "rules", "alerts_test.yml", cwd=tmp_path)
    assert result.returncode != 0
    assert "MailroomSmtpDown" in result.stdout + result.stderr


def test_promtool_refuses_a_broken_config(tmp_path: Path) -> None:
    """`promtool check config` fails on a copy of prometheus.yml with a bad interval."""
    config = load_yaml(PROMETHEUS / "prometheus.yml")
    config["global"]["scrape_interval"] = "15 seconds"
    result = promtool("check", "config", str(checkable_config(tmp_path, config, RULES)))
    assert result.returncode != 0


def test_amtool_accepts_the_shipped_alertmanager_config() -> None:
    """`amtool check-config deploy/alertmanager/alertmanager.yml`; the default route's receiver exists."""
    result = run([tool("amtool"), "check-config", str(ALERTMANAGER)])
    assert result.returncode == 0, result.stdout + result.stderr
    config = load_yaml(ALERTMANAGER)
    assert config["route"]["receiver"] in {r["name"] for r in config["receivers"]}


def test_amtool_refuses_a_route_to_an_undeclared_receiver(tmp_path: Path) -> None:
    """`amtool check-config` fails when the route names a receiver that is not declared."""
    config = load_yaml(ALERTMANAGER)
    config["route"]["receiver"] = "nobody"
    broken = tmp_path / "alertmanager.yml"
    broken.write_text(yaml.safe_dump(config), encoding="utf-8")
    result = run([tool("amtool"), "check-config", str(broken)])
    assert result.returncode != 0
    assert "nobody" in result.stdout + result.stderr


# -- Grafana ------------------------------------------------------------------------
DASHBOARD_METRICS = (
    "emails_processed_total", "email_processing_time_seconds_bucket", "email_queue_size",
    "mailroom_collector_mailbox_up", "mailroom_collector_lag", "mailroom_replies_total",
    "mailroom_replies_suppressed_total", "mailroom_smtp_send_seconds_bucket",
    "mailroom_end_to_end_seconds_bucket", "mailroom_dead_letters_total", "mailroom_decisions_total",
)


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    data = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for panel in dashboard["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def panel_metric_problems(dashboard: dict[str, Any]) -> list[str]:
    """Panels that read no mailroom metric or one the registry does not export."""
    problems = []
    for title, expr in dashboard_queries(dashboard):
        if not mailroom_metrics_in(expr):
            problems.append(f"{title}: reads no mailroom metric")
        if unknown_metrics(expr):
            problems.append(f"{title}: reads {sorted(unknown_metrics(expr))}, not exported by mailroom")
    return problems


def test_dashboard_panels_query_only_mailroom_metrics(dashboard: dict[str, Any]) -> None:
    """Every panel reads metrics the registry exports; the mailbox variable too; all key metrics shown."""
    assert all(p["targets"] for p in panels(dashboard) if p["type"] != "row")
    assert not panel_metric_problems(dashboard), panel_metric_problems(dashboard)
    for variable in dashboard["templating"]["list"]:
        metric = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", variable["definition"])
        assert metric and metric.group(1) in exported_series()
    read = {name for _title, expr in dashboard_queries(dashboard) for name in mailroom_metrics_in(expr)}
    missing = set(DASHBOARD_METRICS) - read
    assert not missing, f"dashboard does not show {sorted(missing)}"


def test_a_panel_querying_a_metric_mailroom_does_not_export_is_caught(dashboard: dict[str, Any]) -> None:
    """The metric check is not vacuous: a panel on a misspelt metric is reported with its title."""
    broken = json.loads(json.dumps(dashboard).replace("mailroom_smtp_send_seconds_bucket",
                                                      "mailroom_smtp_sent_seconds_bucket"))
    assert any("SMTP send time" in p and "mailroom_smtp_sent_seconds_bucket" in p
               for p in panel_metric_problems(broken))


def panel_rules(dashboard: dict[str, Any], path: Path) -> Path:
    """The panels' queries (Grafana's variables filled in) as a Prometheus recording-rule file."""
    rules = [{"record": f"panel:query_{i}", "expr": grafana_expr(expr)}
             for i, (_title, expr) in enumerate(dashboard_queries(dashboard))]
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}),
                    encoding="utf-8")
    return path


def test_promtool_parses_every_panel_query(dashboard: dict[str, Any], tmp_path: Path) -> None:
    """Prometheus' own parser accepts every panel query (checked as recording rules by promtool)."""
    result = promtool("check", "rules", str(panel_rules(dashboard, tmp_path / "panels.yml")))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(dashboard_queries(dashboard))} rules found" in result.stdout


def test_promtool_refuses_a_panel_query_with_a_typo(dashboard: dict[str, Any], tmp_path: Path) -> None:
    """The panel check is not vacuous: a query with an unclosed parenthesis fails promtool."""
    broken = json.loads(json.dumps(dashboard).replace(
        "sum by (outcome) (rate(mailroom_replies_total[$__rate_interval]))",
        "sum by (outcome) (rate(mailroom_replies_total[$__rate_interval])"))
    assert broken != dashboard
    result = promtool("check", "rules", str(panel_rules(broken, tmp_path / "panels.yml")))
    assert result.returncode != 0


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
# validated against the newest Kubernetes schemas kubernetes-validate carries
K8S_VERSION = kubernetes_validate.latest_version()
HEALTH_PROBES = {"livenessProbe": "/health/live", "readinessProbe": "/health/ready"}


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


def test_every_manifest_passes_kubernetes_validate_strict(manifests: list[dict[str, Any]]) -> None:
    """Each manifest validates against the official Kubernetes schemas, unknown fields refused."""
    kinds = {m["kind"] for m in manifests}
    assert {"Deployment", "Service", "ConfigMap", "Secret", "PodDisruptionBudget", "Job"} <= kinds
    for manifest in manifests:
        kubernetes_validate.validate(manifest, K8S_VERSION, strict=True)


def test_the_kubernetes_validate_command_accepts_every_manifest_file() -> None:
    """`kubernetes-validate --strict deploy/k8s/*.yaml`, the command operators run, passes."""
    files = sorted(str(p) for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
    result = run([tool("kubernetes-validate"), "--strict", "--quiet",
                  "--kubernetes-version", K8S_VERSION, *files])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("wrong", "change"), [
    ("a misspelt field", lambda d: d["spec"].update(replica=3)),
    ("a misspelt probe", lambda d: d["spec"]["template"]["spec"]["containers"][0].update(
        livenessprobe=d["spec"]["template"]["spec"]["containers"][0]["livenessProbe"])),
    ("replicas as text", lambda d: d["spec"].update(replicas="three")),
])
def test_kubernetes_validate_refuses_a_deployment_with_a_wrong_field(
    manifests: list[dict[str, Any]], tmp_path: Path, wrong: str, change: Any,
) -> None:
    """The manifest check is not vacuous: a broken copy of a Deployment fails, API and command."""
    broken: dict[str, Any] = json.loads(json.dumps(of_kind(manifests, "Deployment")["mailroom-processor"]))
    change(broken)
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)
    path = tmp_path / "processor.yaml"
    path.write_text(yaml.safe_dump(broken), encoding="utf-8")
    result = run([tool("kubernetes-validate"), "--strict", "--kubernetes-version", K8S_VERSION, str(path)])
    assert result.returncode != 0, f"{wrong} passed kubernetes-validate"


def test_kubectl_kustomize_builds_valid_manifests_in_the_namespace() -> None:
    """`kubectl kustomize deploy/k8s` builds; every built object validates and sits in `mailroom`."""
    result = run([tool("kubectl"), "kustomize", str(K8S)])
    assert result.returncode == 0, result.stderr
    built = [d for d in yaml.safe_load_all(result.stdout) if d]
    listed = [d for name in load_yaml(K8S / "kustomization.yaml")["resources"]
              for d in yaml.safe_load_all((K8S / name).read_text("utf-8"))]
    assert sorted((d["kind"], d["metadata"]["name"]) for d in built) == \
        sorted((d["kind"], d["metadata"]["name"]) for d in listed)
    for doc in built:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        assert doc["kind"] != "Secret"
        assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "mailroom"
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "mailroom", doc["metadata"]["name"]


def test_kubectl_kustomize_refuses_a_missing_resource(tmp_path: Path) -> None:
    """The kustomize check is not vacuous: a kustomization naming a missing file fails to build."""
    copy = tmp_path / "k8s"
    copy.mkdir()
    for path in K8S.glob("*.yaml"):
        (copy / path.name).write_text(path.read_text("utf-8"), encoding="utf-8")
    kustomization = load_yaml(copy / "kustomization.yaml")
    kustomization["resources"].append("no-such-manifest.yaml")
    (copy / "kustomization.yaml").write_text(yaml.safe_dump(kustomization), encoding="utf-8")
    assert run([tool("kubectl"), "kustomize", str(copy)]).returncode != 0


def test_serving_containers_probe_the_health_endpoints_within_limits(
    manifests: list[dict[str, Any]],
) -> None:
    """Every Deployment's container has liveness on /health/live, readiness on /health/ready,
    and the 1 CPU / 1 GiB limits; the Job's container has limits too."""
    for name, deployment in of_kind(manifests, "Deployment").items():
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            for probe, path in HEALTH_PROBES.items():
                assert container[probe]["httpGet"]["path"] == path, (name, probe)
            assert container["resources"]["limits"] == {"cpu": "1", "memory": "1Gi"}, name
    for job in of_kind(manifests, "Job").values():
        for container in job["spec"]["template"]["spec"]["containers"]:
            assert container["resources"]["limits"], job["metadata"]["name"]


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
            assert {e["name"] for e in container.get("env", [])} <= setting_names()
    (config,) = configmaps.values()
    (secret,) = secrets.values()
    assert set(config["data"]) <= setting_names()
    assert not set(config["data"]) & secret_setting_names()
    assert set(secret["stringData"]) <= secret_setting_names() & setting_names()
    assert all(value == "" for value in secret["stringData"].values()), "no secret value is committed"
    Settings(_env_file=None, **{k.lower(): v for k, v in config["data"].items()})
