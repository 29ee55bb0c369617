"""Text views of a mail shared by the rules, the guard and the models (pure)."""

from __future__ import annotations

import re
import unicodedata

from mailroom.collector.html_text import html_to_text as html_to_lines
from mailroom.events import TEXT_FROM_HTML, RawEmail

# the models see at most this much body: the opening of a mail carries its intent, and a
# bound keeps a huge mail from costing more than a small one
MODEL_TEXT_CHARS = 4000
# and at most this much of an HTML-only mail's HTML is parsed for them: markup is long and
# the opening is what they read, and parsing a megabyte of it again for each model would
# cost far more than the rest of the mail's classification
HTML_READ_CHARS = 100_000
# where the sender's own words end: a reply's attribution line ("On ... wrote:",
# "El ... escribió:", also wrapped over two lines), Outlook's "-----Original Message-----"
# or "From:/De:" header block, and the "-- " signature delimiter (RFC 3676)
_ATTRIBUTION = re.compile(
    r"^\s*(on\b.{0,200}\bwrote|el\b.{0,200}\bescribi[oó]|em\b.{0,200}\bescreveu"
    r"|le\b.{0,200}\ba [ée]crit)\s*:\s*$", re.IGNORECASE)
_SEPARATOR = re.compile(
    r"^\s*(-{2,}\s*(original message|mensaje original|forwarded message|mensaje reenviado)"
    r"\s*-*|_{10,})\s*$", re.IGNORECASE)
_HEADER_BLOCK = re.compile(r"^\s*\*?(from|de)\s*:\*?\s+\S", re.IGNORECASE)
_HEADER_NEXT = re.compile(r"^\s*\*?(sent|enviado|date|fecha|to|para)\s*:", re.IGNORECASE)
_SIGNATURE = frozenset({"-- ", "--"})
# a line that may start a quote, an attribution, a separator or a signature (a superset of
# what ``own_words`` cuts at, so a body without one needs no line-by-line look)
_MAYBE_QUOTED = re.compile(r"^\s*(>|--|__|\*?(on|el|em|le|from|de)\b)|\b(wrote|escribi|escreveu|crit)",
                           re.IGNORECASE | re.MULTILINE)
_HTML_QUOTE = re.compile(
    r"<blockquote\b.*?</blockquote\s*>|<div[^>]*\b(gmail_quote|moz-cite-prefix|divRplyFwdMsg)\b.*",
    re.IGNORECASE | re.DOTALL)


def fold(text: str) -> str:
    """Case- and accent-insensitive form: NFKD, combining marks dropped, casefolded.

    "Suscripción", "SUSCRIPCION" and "suscripcion" all fold to "suscripcion".
    """
    if text.isascii():  # NFKD leaves ASCII as it is and there is nothing to drop
        return text.casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    # the few distinct marks in a text, each looked up once and dropped at C speed
    for mark in [c for c in set(decomposed) if unicodedata.combining(c)]:
        decomposed = decomposed.replace(mark, "")
    return decomposed.casefold()


def body_text(email: RawEmail) -> str:
    """The plain-text body, or the HTML body's text when there is no plain part (as the
    collector writes it into ``text``: a mail that did not pass through it, such as a
    labelled set's, reads the same)."""
    if email.text.strip():
        return email.text
    return html_to_lines(email.html) if email.html else ""


# lines that say nothing on their own: greetings, sign-offs and a bare "please" (one or more
# on a line), "Sent from my phone", an address; a body made only of these (and a name beside
# one of them) leaves the subject alone ("Newsletter / Please." is a keyword subject)
_NOTHING_LINE = re.compile(
    r"((hi|hello|hey|hola|buenas|buenos dias|buenas tardes|buenas noches|good (morning|afternoon|evening)"
    r"|regards|best regards|kind regards|best wishes|best|cheers|thanks|thank you|many thanks|thx"
    r"|yours (sincerely|faithfully|truly)|sincerely|saludos|un saludo|saludos cordiales|atentamente"
    r"|cordialmente|gracias|muchas gracias|un abrazo|besos|slds|bss"
    r"|please|pls|plz|por favor|porfa|porfavor|xfa)[\s,.!]*)+"
    r"|(sent from|enviado desde|get outlook for|obtener outlook para)\b.*"
    r"|[\w.+-]+@[\w-]+(\.[\w-]+)+\.?", re.IGNORECASE)
# a name: up to five capitalised words (initials, titles, "de la"), no verb of a request
_NAME_LINE = re.compile(r"([A-Z][\w'.-]*|de|del|la|van|von|da|y)(\s+([A-Z][\w'.-]*|de|del|la|van|von|da|y))"
                        r"{0,4}[\s,.]*")
_LONG_NOTHING = ("sent from", "enviado desde", "get outlook", "obtener outlook")
_NOT_A_NAME = frozenset({"stop", "remove", "unsubscribe", "cancel", "baja", "alta", "delete", "pause",
                         "subscribe", "suscribir", "suscribirme", "please", "no", "not", "yes", "si",
                         "me", "end", "quit", "add", "join", "newsletter", "boletin", "lista", "list"})


def says_nothing(words: str) -> bool:
    """A short body of greetings, sign-offs, "Sent from my iPhone", addresses and a name
    beside them: no words of the sender's own, so the subject is the mail."""
    if not words or len(words) > 200:
        return False
    lines = [line.strip() for line in words.splitlines() if line.strip()]
    if len(lines) > 5:
        return False
    said_nothing = False
    for line in lines:  # stops at the first line that says something: most bodies' first or second
        if len(line) > 40 and not line[:14].lower().startswith(_LONG_NOTHING):
            return False  # a greeting, sign-off, address or name is short: a long line says something
        folded = fold(line)
        if _NOTHING_LINE.fullmatch(folded):
            said_nothing = True
        elif not _NAME_LINE.fullmatch(line) or not _NOT_A_NAME.isdisjoint(_WORD.findall(folded)):
            return False
    return said_nothing


def own_words(body: str) -> str:
    """The part of a body its sender wrote: above a quoted reply or a signature.

    Lines quoted with ">" are dropped; the first attribution line, original-message
    separator, Outlook header block or "-- " delimiter ends the sender's words. A body that
    is nothing but quote is kept whole (there is nothing else to read); one that is nothing
    but a signature, or only greetings, sign-offs, "Sent from my iPhone", an address and a
    name beside them (``says_nothing``), says nothing (the subject is the mail).
    """
    if not _MAYBE_QUOTED.search(body):  # most mails: nothing to cut, one C-speed scan
        words = body.strip()
        return "" if len(words) <= 200 and says_nothing(words) else words
    lines = body.splitlines()
    kept: list[str] = []
    for n, line in enumerate(lines):
        if line in _SIGNATURE or line.rstrip() == "--":
            if not "\n".join(kept).strip():  # a signature and nothing above it: no words
                return ""
            break
        if _SEPARATOR.match(line):
            break
        if _ATTRIBUTION.match(line) or (
                n + 1 < len(lines) and _ATTRIBUTION.match(f"{line} {lines[n + 1]}")
                and len(line) < 200):
            break
        if _HEADER_BLOCK.match(line) and any(
                _HEADER_NEXT.match(following) for following in lines[n + 1 : n + 4]):
            break
        if not line.lstrip().startswith(">"):
            kept.append(line)
    words = "\n".join(kept).strip()
    if says_nothing(words):
        return ""
    return words or body.strip()


def request_text(email: RawEmail) -> str:
    """The body the models read: the sender's own words, from the text or the HTML part.

    An HTML-only mail is read with its structure (paragraphs as lines) and without its
    ``<blockquote>`` or Gmail/Thunderbird/Outlook quote containers: the collector's ``text``
    of such a mail (``TEXT_FROM_HTML``) still holds the quoted thread.
    """
    if email.text.strip() and TEXT_FROM_HTML not in email.flags:
        return own_words(email.text)
    if not email.html:
        return ""
    return own_words(html_to_lines(_HTML_QUOTE.sub(" ", email.html[:HTML_READ_CHARS])))


# Put after the subject of a mail whose body says nothing: "Suscripción" with nothing under
# it is a request, "Suscripción" above a question about a double charge is not, and a
# linear model can only tell the two apart when the subject-only mail carries a word of its own.
SUBJECT_ONLY = "zzsubjectonly"


def model_text(email: RawEmail, words: str | None = None) -> str:
    """What the intent model reads: the subject (marked when the body is empty), then the
    start of the sender's own words (``words``: the mail's ``request_text``, when the
    caller has it already)."""
    body = (request_text(email) if words is None else words)[:MODEL_TEXT_CHARS]
    if not body.strip():
        return f"{email.subject} {SUBJECT_ONLY}\n"
    return f"{email.subject}\n{body}"


_LETTER = re.compile(r"[^\W\d_]")
# what mail clients put before a subject they answer or forward (en, es, fr, de, nordic,
# pt): "Re:", "RV:", "Fwd:", "TR:", "AW:", "WG:", "SV:", "Enc:", also repeated or numbered
_REPLY_PREFIXES = re.compile(r"\A(?:\s*(?:re|rv|fw|fwd|tr|aw|wg|sv|vs|enc)\s*(?:\[\d+\])?\s*:)+",
                             re.IGNORECASE)


def has_words(text: str) -> bool:
    """Whether a ``model_text`` holds a letter of the sender's (the subject-only marker and
    the subject's reply and forward prefixes aside): a mail without one (no subject, no
    text, only an attachment; or a bare "RV:" or "Fwd:" above nothing) asks for nothing."""
    return _LETTER.search(_REPLY_PREFIXES.sub("", text.replace(SUBJECT_ONLY, ""), count=1)) \
        is not None


_WORD = re.compile(r"[a-z0-9]+")


def _bucket(n: int) -> str:
    return "0" if n == 0 else "1" if n == 1 else "few" if n < 5 else "many"


def shape_tokens(email: RawEmail) -> list[str]:
    """What spam filters read besides words, as tokens: how the mail is built and sent.

    Only fields of the ``RawEmail`` event are used (the processor has nothing else):
    HTML-only or not, links and images, sender and recipient shape, mailer, priority,
    subject shouting, whether it answers a thread. Each token starts with "zz" so it
    never collides with a word of a mail.
    """
    tokens = []
    html_only = (bool(email.html) and not email.text.strip()) or email.content_type == "text/html"
    tokens.append("zzhtmlonly" if html_only else "zzhtml" if email.html else "zzplain")
    body = email.html or email.text
    head = body[:20000]
    tokens.append(f"zzurls{_bucket(head.count('://') + head.count('www.'))}")
    if email.html:
        lower = email.html[:20000].lower()
        tokens += [f"zz{tag}" for tag in ("img", "font", "table", "form") if f"<{tag}" in lower]
        if "color" in lower:
            tokens.append("zzcolor")
    sender = email.from_addr.lower()
    local, _, domain = sender.partition("@")
    tokens.append("zzfromdigits" if any(map(str.isdigit, local)) else "zzfromletters")
    tokens.append(f"zztld{domain.rsplit('.', 1)[-1][:6]}" if "." in domain else "zznodomain")
    tokens.append("zznoname" if not email.from_name else "zzname")
    if email.reply_to and all(a.lower().partition("@")[2] != domain for a in email.reply_to):
        tokens.append("zzreplytoelsewhere")
    tokens.append(f"zzto{_bucket(len(email.to))}")
    if sender and sender in {a.lower() for a in email.to}:
        tokens.append("zztoself")
    if email.in_reply_to or email.references:
        tokens.append("zzthread")
    if not email.message_id:
        tokens.append("zznomsgid")
    elif domain and not email.message_id.lower().rstrip(">").endswith(domain):
        tokens.append("zzmsgidelsewhere")
    if not email.date:
        tokens.append("zznodate")
    mailer = (email.headers.get("x-mailer") or email.headers.get("user-agent") or [""])[0]
    first = _WORD.findall(mailer.lower()[:40])
    tokens.append(f"zzmailer{first[0][:12]}" if first else "zznomailer")
    if email.headers.get("x-priority") or email.headers.get("importance"):
        tokens.append("zzpriority")
    letters = "".join(filter(str.isalpha, email.subject))
    if len(letters) >= 6 and sum(map(str.isupper, letters)) > 0.7 * len(letters):
        tokens.append("zzsubjectcaps")
    if "!" in email.subject or "$" in email.subject:
        tokens.append("zzsubjectbang")
    if email.attachments:
        tokens.append("zzattachment")
    return tokens


def spam_text(email: RawEmail, words: str | None = None) -> str:
    """What the spam model reads: the shape tokens, then the same text as ``model_text``
    (``words`` as there)."""
    # the subject-only mark is the intent model's; the spam model reads the plain text
    body = request_text(email) if words is None else words
    text = f"{email.subject}\n{body[:MODEL_TEXT_CHARS]}"
    return f"{' '.join(shape_tokens(email))}\n{text}"
