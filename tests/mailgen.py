"""Test mails: subscription requests (the seed rule answers them) and others, es and en."""

from __future__ import annotations

import functools
import itertools
import os
import random
import time
from dataclasses import dataclass
from email.message import EmailMessage

SUBSCRIPTION_SUBJECTS = [
    "Solicitud de suscripción", "SUSCRIPCION al boletín", "Quiero la suscripcion",
    "Subscription request", "newsletter SUBSCRIPTION please", "Re: Subscription",
]
OTHER_SUBJECTS = [
    "Problema con mi pedido", "Question about invoice", "Cannot log in", "Consulta de precios",
    "Partnership proposal", "Factura duplicada", "Feedback on the dashboard",
]


@dataclass(frozen=True)
class TestMail:
    raw: bytes
    message_id: str
    sender: str
    wants_reply: bool


def make_mail(i: int, *, subscription: bool, automated: bool = False,
              rng: random.Random | None = None, domain: str = "customers.test") -> TestMail:
    """Mail i, byte for byte as ``EmailMessage`` writes it (tests/unit/test_mailgen.py), built
    as bytes: a 1,000,000-mail backlog is made in seconds, not in minutes."""
    rng = rng or random.Random(i)
    sender = f"user{i}@{domain}"
    subjects = SUBSCRIPTION_SUBJECTS if subscription else OTHER_SUBJECTS
    subject = _encoded_subject(rng.choice(subjects)) + f" #{i}"
    message_id = f"<{_STAMP}.{next(_CALLS)}.t{i}@{domain}>"
    body = ("Hola, me gustaría suscribirme al boletín." if i % 2 else
            "Hello, I would like to subscribe to the newsletter.") if subscription else \
        ("Hola, tengo una duda sobre mi cuenta." if i % 2 else "Hello, I have a question.")
    raw = (f"From: User {i} <{sender}>\nTo: support@example.com\nSubject: {subject}\n"
           f"Message-ID: {message_id}\n"
           + ("Auto-Submitted: auto-replied\n" if automated else "")
           ).encode("ascii") + _content(body)
    return TestMail(raw, message_id, sender, subscription and not automated)


# every call makes a new message, as make_msgid did: mail i made twice is two mails (a repeat
# from one sender), and a run's Message-IDs differ from another run's (a mailbox may hold both)
_STAMP = f"{time.time_ns()}.{os.getpid()}"
_CALLS = itertools.count()


@functools.cache
def _encoded_subject(subject: str) -> str:
    """The Subject as EmailMessage encodes it, without the " #i" that follows (ASCII, so it
    stays outside the encoded words; the subjects are short enough never to fold)."""
    msg = EmailMessage()
    msg["Subject"] = f"{subject} #0"
    line = msg.as_string().split("\n", 1)[0]
    return line.removeprefix("Subject: ").removesuffix(" #0")


@functools.cache
def _content(body: str) -> bytes:
    """The headers EmailMessage writes after the others (Content-Type, its encoding,
    MIME-Version), the blank line and the body."""
    msg = EmailMessage()
    msg.set_content(body)
    return msg.as_bytes()


def make_batch(n: int, *, start: int = 0, automated_every: int = 0) -> list[TestMail]:
    """n mails, half of them subscription requests; every k-th an automated one."""
    out = []
    for i in range(start, start + n):
        automated = bool(automated_every) and i % automated_every == automated_every - 1
        out.append(make_mail(i, subscription=i % 2 == 0 or automated, automated=automated))
    return out
