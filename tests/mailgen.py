"""Test mails: subscription requests (the seed rule answers them) and others, es and en."""

from __future__ import annotations

import random
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

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
    rng = rng or random.Random(i)
    msg = EmailMessage()
    sender = f"user{i}@{domain}"
    msg["From"] = f"User {i} <{sender}>"
    msg["To"] = "support@example.com"
    subjects = SUBSCRIPTION_SUBJECTS if subscription else OTHER_SUBJECTS
    msg["Subject"] = f"{rng.choice(subjects)} #{i}"
    message_id = make_msgid(idstring=f"t{i}", domain=domain)
    msg["Message-ID"] = message_id
    if automated:
        msg["Auto-Submitted"] = "auto-replied"
    body = ("Hola, me gustaría suscribirme al boletín." if i % 2 else
            "Hello, I would like to subscribe to the newsletter.") if subscription else \
        ("Hola, tengo una duda sobre mi cuenta." if i % 2 else "Hello, I have a question.")
    msg.set_content(body)
    return TestMail(msg.as_bytes(), message_id, sender, subscription and not automated)


def make_batch(n: int, *, start: int = 0, automated_every: int = 0) -> list[TestMail]:
    """n mails, half of them subscription requests; every k-th an automated one."""
    out = []
    for i in range(start, start + n):
        automated = bool(automated_every) and i % automated_every == automated_every - 1
        out.append(make_mail(i, subscription=i % 2 == 0 or automated, automated=automated))
    return out
