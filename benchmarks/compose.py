"""Reply composition: ``Composer.render`` (the reply's fields and its bytes, what the
processor does for each automatic reply it composes ahead) and ``reply_bytes`` alone,
with the header folding of ``mailroom.responder.folding`` and without it (every Subject,
References and To that is not one short ASCII line folded by the stdlib, as before that
module), in the same run.

The mails are a realistic mix: half Spanish, half English; subjects from a list of
requests and questions with an order or ticket number (so they seldom repeat, as in a
real inbox), a few long enough to fold; senders' names Spanish (accented), English or
missing; a third of the mails replies in a thread, with 1 to 20 References of the ids
mail clients write (some over 80 characters). Both ways are checked to give the same
bytes before anything is timed.

The two ways run alternately, ``--rounds`` times each; printed is the best round of each
(replies per second of this process's CPU time, ``time.process_time``) and the share of
References, Subject and To lines the folding module wrote itself. Pin it to one core for
steadier figures: ``taskset -c 1 python benchmarks/compose.py``.

Usage: python benchmarks/compose.py [--n 4000] [--rounds 5] [--seed 1]
"""

from __future__ import annotations

import argparse
import contextlib
import random
import time
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

from mailroom.events import Decision, RawEmail, Route
from mailroom.responder import compose, folding
from mailroom.responder.compose import Composer, ReplyFields, reply_bytes
from mailroom.responder.templates import Templates

SUBJECTS_ES = [
    "Solicitud de suscripción al boletín", "Quiero darme de baja de la suscripción",
    "Consulta sobre mi facturación", "Problema con la aplicación móvil",
    "¿Cómo cambio mi contraseña?", "Cancelación inmediata de mi suscripción anual, por favor",
    "Información sobre el envío de mi pedido", "No puedo acceder a mi cuenta desde ayer",
    "Devolución del importe cobrado dos veces en la última factura del mes",
    "Duda sobre la renovación automática",
]
SUBJECTS_EN = [
    "Subscription request", "Please cancel my subscription", "Question about my invoice",
    "Cannot log in to the dashboard", "Where is my order?", "Refund for a duplicate charge",
    "Update my billing address", "Unsubscribe me from the newsletter, thanks",
    "Problem with the mobile app after the latest update on my phone",
]
NAMES_ES = ["Ana Pérez", "José Martínez", "María José Núñez", "Lucía Gómez", "Íñigo Ibáñez",
            "Pedro Sánchez", "Carmen Ruiz", "Sofía Fernández Peña", "Jorge Díaz"]
NAMES_EN = ["John Smith", "Mary Johnson", "Peter Miller", "Chloé Dubois", "Zoë Williams", ""]


def message_id(rng: random.Random, i: int) -> str:
    """An id as one of the common clients writes it."""
    kind = rng.randrange(3)
    if kind == 0:  # Gmail
        return f"<CA{rng.getrandbits(200):x}{i}@mail.gmail.com>"
    if kind == 1:  # Outlook
        box = f"AM{rng.randrange(10)}PR{rng.randrange(10, 99)}MB{rng.randrange(1000, 9999)}"
        return f"<{box}{rng.getrandbits(80):X}{i}@{box}.eurprd0{rng.randrange(1, 9)}.prod.outlook.com>"
    return f"<{rng.getrandbits(64):x}.{i}@mail.client{rng.randrange(50)}.example.com>"


def mails(n: int, seed: int) -> list[tuple[RawEmail, Decision]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        spanish = i % 2 == 0
        subject = rng.choice(SUBJECTS_ES if spanish else SUBJECTS_EN)
        subject += f" ({'pedido' if spanish else 'order'} {rng.randrange(10_000, 99_999)})"
        name = rng.choice(NAMES_ES if spanish or rng.random() < 0.2 else NAMES_EN)
        thread = rng.random() < 1 / 3
        references = [message_id(rng, i) for _ in range(rng.randint(1, 20))] if thread else []
        email = RawEmail(mail_id=f"m{i}", account="support@example.com", folder="INBOX",
                         message_id=message_id(rng, i),
                         subject=("Re: " if thread else "") + subject,
                         from_addr=f"user{i}@customers.example.org", from_name=name,
                         language="es" if spanish else "en", references=references)
        out.append((email, Decision(mail_id=email.mail_id, category="subscription",
                                    route=Route.ACKNOWLEDGE, language=email.language)))
    return out


@contextlib.contextmanager
def stdlib_folding() -> Iterator[None]:
    """The composer with the folding module switched off (as on a Python whose folding it
    does not follow): the stdlib folds every header the module would have folded. The
    memo of folded lines is emptied on both sides."""
    compose._folded_line.cache_clear()
    try:
        with mock.patch.object(folding, "reproducible", lambda: False):
            yield
    finally:
        compose._folded_line.cache_clear()


def cpu_rate(n: int, run: Callable[[], Any]) -> float:
    started = time.process_time()
    run()
    return n / (time.process_time() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    composer = Composer(Templates(), "support@example.com", "Soporte", "en")
    sample = mails(args.n, args.seed)
    fields: list[ReplyFields] = [composer.fields(email, decision) for email, decision in sample]
    fast = [reply_bytes(f) for f in fields]
    with stdlib_folding():
        if [reply_bytes(f) for f in fields] != fast:
            raise SystemExit("the two ways gave different bytes")

    def render() -> None:
        for email, decision in sample:
            composer.render(email, decision)

    def write() -> None:
        for f in fields:
            reply_bytes(f)

    best: dict[tuple[str, str], float] = {}
    for _ in range(args.rounds):
        for way in ("stdlib", "folding"):
            for what, run in (("render", render), ("reply_bytes", write)):
                if way == "stdlib":
                    with stdlib_folding():
                        rate = cpu_rate(len(sample), run)
                else:
                    compose._folded_line.cache_clear()
                    rate = cpu_rate(len(sample), run)
                best[way, what] = max(rate, best.get((way, what), 0.0))
    print(f"{len(sample)} replies, best of {args.rounds} rounds; replies per CPU second "
          f"(folding module in use: {folding.reproducible()})")
    print(f"{'':<34} {'stdlib':>10} {'folding':>10} {'ratio':>7}")
    for what, label in (("render", "Composer.render (fields + bytes)"),
                        ("reply_bytes", "reply_bytes alone")):
        old, new = best["stdlib", what], best["folding", what]
        print(f"{label:<34} {old:>10,.0f} {new:>10,.0f} {new / old:>6.2f}x")
    print("header lines written by the folding module (the rest: one short line, or the stdlib):")
    for name, share in coverage(fields).items():
        print(f"  {name:<12} {share}")


def coverage(fields: list[ReplyFields]) -> dict[str, str]:
    """Of the lines that are not one short ASCII line, how many the folding module wrote."""
    counts: dict[str, list[int]] = {}
    for f in fields:
        values: list[tuple[str, Any]] = [("Subject", f.subject), ("References", f.references),
                                         ("To", f.to)]
        for name, value in values:
            if not value:
                continue
            if name == "To":
                text = str(value)
                folded = folding.fold_mailbox(name, value.display_name, value.addr_spec,
                                              compose.REPLY_POLICY) if value.display_name else None
            else:
                text = value
                folded = folding.fold_unstructured(name, value, compose.REPLY_POLICY)
            if text.isascii() and len(name) + 2 + len(text) <= 78:
                continue
            seen = counts.setdefault(name, [0, 0])
            seen[0] += folded is not None
            seen[1] += 1
    return {name: f"{done} of {total}" for name, (done, total) in counts.items()}


if __name__ == "__main__":
    main()
