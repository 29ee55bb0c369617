"""HTML to plain text for mails without a text part (pure)."""

from __future__ import annotations

from mailroom.collector.html_text import html_to_text, text_or_html


def test_markup_scripts_and_styles_are_dropped_and_blocks_become_lines() -> None:
    html = ("<html><head><title>T</title><style>p {color: red}</style></head><body>"
            "<h1>Welcome</h1><p>Caf&eacute; &amp; t&#233;</p><script>alert(1)</script>"
            "<ul><li>one</li><li>two</li></ul>text<br>after break</body></html>")
    assert html_to_text(html) == "Welcome\n\nCafé & té\n\none\n\ntwo\n\ntext\nafter break"


def test_broken_markup_still_gives_the_words() -> None:
    assert html_to_text("<div><p>unclosed <b>bold <i>text") == "unclosed bold text"
    assert html_to_text("") == ""


def test_the_html_is_read_only_when_the_mail_has_no_text() -> None:
    assert text_or_html("Sign me up", "<p>ignored</p>") == ("Sign me up", False)
    assert text_or_html(" \n", "<p>Sign me up</p>") == ("Sign me up", True)
    assert text_or_html("", "") == ("", False)
