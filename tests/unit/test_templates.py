"""The reply templates: ``Templates`` renders what Jinja2's own ``SandboxedEnvironment``
renders, with its globals kept in a plain dict (``templates._Environment``)."""

from __future__ import annotations

import itertools
import os
import random
from pathlib import Path
from typing import Any

import pytest
from jinja2 import ChoiceLoader, DictLoader, FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from mailgen import OTHER_SUBJECTS, SUBSCRIPTION_SUBJECTS
from mailroom.responder.templates import PACKAGED, Templates, language_candidates

# every global a SandboxedEnvironment has, used (lipsum is random: only looked up)
GLOBALS = DictLoader({
    "globals.en.txt": "{{ range(3)|list }} {{ dict(a=1) }} {% set ns = namespace(n=1) %}"
                      "{{ ns.n }} {% set c = cycler('x', 'y') %}{{ c.next() }}{{ c.next() }}"
                      "{% set j = joiner('|') %}{{ j() }}a{{ j() }}b"
                      " {{ lipsum is defined }} {{ sender_name }} <{{ subject }}>\n",
    "globals.en.html": "<p>{{ range(2)|join(',') }} {{ sender_name }} {{ subject }}</p>\n",
})


def plain(loader: Any) -> tuple[SandboxedEnvironment, SandboxedEnvironment]:
    """Jinja2's environments as ``Templates`` made them before its globals were a dict."""
    common: dict[str, Any] = {"loader": loader, "undefined": StrictUndefined,
                              "keep_trailing_newline": True}
    return (SandboxedEnvironment(autoescape=False, **common),
            SandboxedEnvironment(autoescape=True, **common))


def contexts(n: int) -> list[dict[str, Any]]:
    rng = random.Random(7)
    names = ["", "Ana Pérez", "O'Brien & <Sons>", "\"Doe, John\"", "日本語", "a" * 40]
    subjects = [*SUBSCRIPTION_SUBJECTS, *OTHER_SUBJECTS, "<script>alert(1)</script>", "{{ x }}",
                "", "50% & more \"quoted\""]
    return [{"sender_name": rng.choice(names), "sender_address": f"user{i}@customers.test",
             "subject": rng.choice(subjects), "category": "subscription",
             "organisation": rng.choice(["Soporte", "A & B <Ltd>"]),
             "reply_body": rng.choice(["", "Hola\n\nlínea <b>dos</b> & tres"]),
             "language": "en"} for i in range(n)]


def test_packaged_templates_render_as_jinjas_own_sandboxed_environment() -> None:
    """Every shipped template, many contexts: the same text and HTML, character for character."""
    templates = Templates()
    text_env, html_env = plain(FileSystemLoader(str(PACKAGED)))
    names = sorted({p.name.rsplit(".", 2)[0] for p in PACKAGED.iterdir()})
    for (name, language), context in itertools.product(
            itertools.product(names, ["en", "es"]), contexts(60)):
        expected = (text_env.get_template(f"{name}.{language}.txt").render(context),
                    html_env.get_template(f"{name}.{language}.html").render(context))
        found = templates.find(name, language, "en")
        assert (found.name, found.language) == (name, language)
        assert found.render(context) == expected


def test_a_template_using_every_global_renders_as_before() -> None:
    templates = Templates(loader=GLOBALS)
    text_env, html_env = plain(GLOBALS)
    found = templates.find("globals", "en", "en")
    assert isinstance(found.text.globals, dict)  # (what makes each render cheaper)
    for context in contexts(20):
        assert found.render(context) == (
            text_env.get_template("globals.en.txt").render(context),
            html_env.get_template("globals.en.html").render(context))


def test_find_takes_the_category_in_the_language_then_default() -> None:
    templates = Templates()
    assert (templates.find("subscription", "es-MX", "en").name,
            templates.find("subscription", "es-MX", "en").language) == ("subscription", "es")
    unknown = templates.find("nothing-like-it", "fr", "es")
    assert (unknown.name, unknown.language) == ("default", "es")
    unsafe = templates.find("../etc", None, "en")
    assert (unsafe.name, unsafe.language) == ("default", "en")
    with pytest.raises(LookupError):
        Templates(loader=DictLoader({})).find("subscription", "en", "en")


def test_a_template_edited_while_running_is_read_again(tmp_path: Path) -> None:
    """Found templates are not kept past a change: each lookup asks Jinja2, which reloads."""
    (tmp_path / "default.en.txt").write_text("one {{ subject }}")
    (tmp_path / "default.en.html").write_text("<p>one</p>")
    templates = Templates(tmp_path)
    assert templates.find("default", "en", "en").render({"subject": "s"})[0] == "one s"
    (tmp_path / "default.en.txt").write_text("two {{ subject }}")
    stat = (tmp_path / "default.en.txt").stat()  # (a later mtime, whatever the clock)
    os.utime(tmp_path / "default.en.txt", (stat.st_atime, stat.st_mtime + 5))
    assert templates.find("default", "en", "en").render({"subject": "s"})[0] == "two s"
    # a file gone is no longer found: the next candidate is (here, the packaged template)
    (tmp_path / "default.en.txt").unlink()
    assert templates.find("default", "en", "en").text.filename == str(PACKAGED / "default.en.txt")
    assert not Templates(tmp_path).exists("nothing", "en")


def test_a_template_found_again_is_the_one_jinja_gives() -> None:
    mapping = {"default.en.txt": "one", "default.en.html": "<p>one</p>"}
    templates = Templates(loader=DictLoader(mapping))
    first = templates.find("default", "en", "en")
    again = templates.find("default", "en", "en")
    assert again.text is first.text is templates.text.get_template("default.en.txt")
    assert again.html is first.html is templates.html.get_template("default.en.html")
    mapping["default.en.txt"] = "two"
    assert templates.find("default", "en", "en").render({}) == ("two", "<p>one</p>")
    del mapping["default.en.html"]
    with pytest.raises(LookupError):
        templates.find("default", "en", "en")
    with pytest.raises(LookupError):
        Templates(loader=ChoiceLoader([])).find("default", "en", "en")


def test_language_candidates_cannot_be_changed_by_a_caller() -> None:
    first = language_candidates("es_MX", "en")
    with pytest.raises(AttributeError):
        first.append("xx")  # type: ignore[attr-defined]
    assert language_candidates("es_MX", "en") == ("es-mx", "es", "en")
