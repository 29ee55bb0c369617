"""What the configuration needs, tried once and said in one line each (``mailroom check``).

``Result`` and its rendering are pure. The local checks open every file a setting names
(mailboxes, rules, models, templates) and load it exactly as the services will, so a bad
file stops start-up before any service runs (``startup_problems``). The network probes
(IMAP, SMTP, the broker, the store) are in ``mailroom.probes``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from mailroom.settings import ConfigError, Settings


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"  # works, but not as well as it could (said, never fatal)
    FAIL = "fail"


MARK = {Status.OK: "✓", Status.WARN: "!", Status.FAIL: "✗"}


@dataclass(frozen=True)
class Result:
    """One thing tried: what it is, how it went, and for a failure what to do."""

    name: str
    status: Status
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"{MARK[self.status]} {self.name}: {self.detail}"
        return f"{text} -> {self.fix}" if self.fix else text


def ok(name: str, detail: str) -> Result:
    return Result(name, Status.OK, detail)


def warn(name: str, detail: str, fix: str = "") -> Result:
    return Result(name, Status.WARN, detail, fix)


def fail(name: str, detail: str, fix: str = "") -> Result:
    return Result(name, Status.FAIL, detail, fix)


def exit_code(results: Iterable[Result]) -> int:
    """1 when anything failed, else 0."""
    return 1 if any(r.status is Status.FAIL for r in results) else 0


def failure_lines(results: Iterable[Result]) -> list[str]:
    """Each failure as one self-contained line (for start-up errors and logs)."""
    return [f"{r.detail} -> {r.fix}" if r.fix else r.detail
            for r in results if r.status is Status.FAIL]


def named(setting: str, message: str) -> str:
    """``message`` prefixed with the setting it is about, unless it names it already."""
    return message if message.startswith(setting) else f"{setting}: {message}"


# -- local checks: the files the settings name -----------------------------------------

def check_missing(settings: Settings, services: Sequence[str]) -> list[Result]:
    return [fail("settings", line) for line in settings.missing_for(services)]


def check_data_dir(settings: Settings) -> list[Result]:
    path = settings.mailroom_data_dir
    if path.exists() and not path.is_dir():
        return [fail("data dir", f"MAILROOM_DATA_DIR={path} is a file, not a folder",
                     "point MAILROOM_DATA_DIR at a folder")]
    return []


def check_mailboxes(settings: Settings) -> list[Result]:
    from mailroom.collector.mailboxes import load_accounts

    if settings.mailroom_mailboxes is None:
        return []
    try:
        accounts = load_accounts(settings)
    except ConfigError as exc:
        return [fail("mailboxes", named("MAILROOM_MAILBOXES", str(exc)),
                     "fix the file (see docs/collector.md)")]
    folders = sum(len(a.folders) for a in accounts)
    return [ok("mailboxes", f"{settings.mailroom_mailboxes}: {len(accounts)} account(s), "
                            f"{folders} folder(s)")]


def check_rules(settings: Settings) -> list[Result]:
    from mailroom.processor.rules import load_rules

    try:
        rules = load_rules(settings.mailroom_rules)
    except ConfigError as exc:
        return [fail("rules", named("MAILROOM_RULES", str(exc)),
                     "fix the rules file, or unset MAILROOM_RULES for the built-in rules")]
    return [ok("rules", f"{len(rules.rules)} rule(s) from {rules.source}")]


def check_models(settings: Settings) -> list[Result]:
    from mailroom.processor.model import ModelError
    from mailroom.processor.training import load_intent_model, load_spam_model

    results = []
    try:
        model = load_intent_model(settings.mailroom_model)
        where = settings.mailroom_model or "the shipped starter model"
        results.append(ok("model", f"{where}: version {model.version}, "
                                   f"labels {', '.join(model.labels)}"))
    except (ModelError, OSError) as exc:
        results.append(fail("model", named("MAILROOM_MODEL", str(exc)),
                            "train one with `mailroom model train --out FILE`, or unset "
                            "MAILROOM_MODEL for the starter model"))
    try:
        spam = load_spam_model(settings.mailroom_spam_model)
        if spam is None:
            results.append(warn("spam model", "none: spam is judged by headers only"))
        else:
            where = settings.mailroom_spam_model or "the shipped spam model"
            results.append(ok("spam model", f"{where}: version {spam.version}"))
    except (ModelError, OSError) as exc:
        results.append(fail("spam model", named("MAILROOM_SPAM_MODEL", str(exc)),
                            "point MAILROOM_SPAM_MODEL at a spam model file, or unset it"))
    return results


def template_languages(folders: Sequence[Path]) -> set[str]:
    """The languages some ``<name>.<language>.txt`` template exists for."""
    found = set()
    for folder in folders:
        for path in folder.glob("*.*.txt"):
            found.add(path.name.split(".")[-2])
    return found


def reply_templates(settings: Settings) -> set[str]:
    """The templates the rules and categories can ask for (empty when the rules are bad)."""
    from mailroom.processor.rules import load_rules

    try:
        rules = load_rules(settings.mailroom_rules)
    except ConfigError:
        return set()
    names = {a.template for a in rules.categories.values() if a.template}
    return names | {r.template for r in rules.rules if r.template}


def check_templates(settings: Settings) -> list[Result]:
    """Every template parses; the default language has a reply; gaps per language are said.

    The languages checked are DEFAULT_LANGUAGE and every language some template is written
    in: a mail in any other language the detector finds is answered in DEFAULT_LANGUAGE.
    """
    from jinja2 import TemplateError

    from mailroom.responder.templates import DEFAULT_TEMPLATE, PACKAGED, Templates

    override = settings.mailroom_templates
    if override is not None and not override.is_dir():
        return [fail("templates", f"MAILROOM_TEMPLATES={override} is not a folder",
                     "point MAILROOM_TEMPLATES at the folder of your templates, or unset it")]
    templates = Templates(override)
    results: list[Result] = []
    folders = [PACKAGED] if override is None else [override, PACKAGED]
    for path in sorted(override.iterdir()) if override is not None else []:
        if path.suffix not in (".txt", ".html"):
            continue
        env = templates.html if path.suffix == ".html" else templates.text
        try:
            env.get_template(path.name)
        except (TemplateError, UnicodeDecodeError, OSError) as exc:
            line = getattr(exc, "lineno", None)
            where = f"{path.name} line {line}" if line else path.name
            results.append(fail("templates", f"MAILROOM_TEMPLATES: {where}: {exc}",
                                "fix the template"))
    if results:
        return results  # the coverage below would only stumble over the same errors
    languages = template_languages(folders)
    default = settings.default_language
    if not templates.exists(DEFAULT_TEMPLATE, default):
        usable = sorted(lang for lang in languages if templates.exists(DEFAULT_TEMPLATE, lang))
        results.append(fail(
            "templates", f"DEFAULT_LANGUAGE={default}: no reply template in that language "
            f"({DEFAULT_TEMPLATE}.{default}.txt and .html)",
            f"add them to MAILROOM_TEMPLATES, or set DEFAULT_LANGUAGE to one of: "
            f"{', '.join(usable) or '(none found)'}"))
        return results
    names = sorted(reply_templates(settings) | {DEFAULT_TEMPLATE})
    for language in sorted(languages | {default}):
        for name in names:
            if templates.exists(name, language):
                continue
            fallback = (f"{DEFAULT_TEMPLATE}.{language}" if templates.exists(DEFAULT_TEMPLATE,
                                                                             language)
                        else f"the {default} reply")
            results.append(warn("templates", f"no {name}.{language} template: such mails get "
                                             f"{fallback}", f"add {name}.{language}.txt and .html"))
    # only warnings get here: every failure above has returned
    return [ok("templates", f"{', '.join(names)} in {', '.join(sorted(languages))}"
                            f" (DEFAULT_LANGUAGE {default})"), *results]


def check_api_users(settings: Settings) -> list[Result]:
    from mailroom.api.auth import parse_api_users

    entries = [e for e in settings.api_users.split(",") if e.strip()]
    if len(parse_api_users(settings.api_users)) != len(entries):
        return [fail("dashboard", "API_USERS has an entry that is not name:hash",
                     "write each user as name:hash, the hash from `mailroom users hash`")]
    return []


# which local checks each service needs before it may start
LOCAL_CHECKS = {
    "collector": (check_mailboxes,),
    "processor": (check_rules, check_models),
    "responder": (check_templates,),
    "api": (check_api_users,),
}


def local_checks(settings: Settings, services: Sequence[str]) -> list[Result]:
    results = check_missing(settings, services) + check_data_dir(settings)
    for service in services:
        for checker in LOCAL_CHECKS.get(service, ()):
            results += checker(settings)
    return results


def startup_problems(settings: Settings, services: Sequence[str]) -> None:
    """Raise ``ConfigError`` with every problem, one line each, before any service starts."""
    lines = failure_lines(local_checks(settings, services))
    if lines:
        raise ConfigError("\n".join(lines))
