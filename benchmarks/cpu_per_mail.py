"""CPU per mail in the two pure steps of the pipeline that cost the most: the collector's
parse (``parse_message``, language detection included) and the processor's reply composed
ahead (``Composer.ahead``).

    taskset -c 1 .venv/bin/python -m benchmarks.cpu_per_mail [--mails 2000] [--rounds 3] [--passes 10] \\
        [--src DIR --src DIR ...]

The mails are ``tests/mailgen.py``'s, as the drain (``python -m benchmarks``) sends them:
half subscription requests, half other mail, es and en, every sender its own. They are made
once and the same bytes go to every run. Each is parsed as the collector parses it; every
parsed mail then gets the reply the processor composes ahead for an answered one (the
``subscription`` template in the mail's language). Each ``--src`` (a tree's ``src``, e.g.
a ``git worktree`` of an older commit; default: this tree's) runs in a process of its own,
the trees in turn, ``--rounds`` times, so they are compared back to back on a shared
machine. Per run it prints mails per CPU second (``time.process_time``, this process
only), the best of ``--passes`` passes over the mails: the parse, the language detection
alone (on the text the parse gives it) and the reply composed ahead.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.alternating import ROOT, alternate, medians

ACCOUNT = "support@example.com"
STEPS = ("parse", "language", "compose_ahead")


def per_cpu_second(n: int, step: Callable[[], object], passes: int) -> float:
    """Mails per CPU second of this process, the best of ``passes`` passes."""
    best = float("inf")
    for _ in range(passes):
        started = time.process_time()
        step()
        best = min(best, time.process_time() - started)
    return n / best


def read_mails(path: Path) -> list[bytes]:
    """The mails the parent wrote: each one's length (4 bytes) and its bytes."""
    data, raws, at = path.read_bytes(), [], 0
    while at < len(data):
        size = int.from_bytes(data[at:at + 4], "big")
        raws.append(data[at + 4:at + 4 + size])
        at += 4 + size
    return raws


def one(mails_file: Path, passes: int) -> dict[str, float | str]:
    """The three steps over the mails in ``mails_file``, in this process (one ``--src``)."""
    import mailroom
    from mailroom.collector.parse import ParseLimits, parse_message
    from mailroom.events import Decision, RawEmail, Route
    from mailroom.language import detect_language
    from mailroom.responder.compose import Composer
    from mailroom.responder.templates import Templates

    raws = read_mails(mails_file)
    limits = ParseLimits()

    def parse_all() -> list[RawEmail]:
        return [parse_message(raw, account=ACCOUNT, folder="INBOX", uid=uid, uidvalidity=1,
                              limits=limits, own_addresses=(ACCOUNT,))
                for uid, raw in enumerate(raws, 1)]

    emails = parse_all()
    texts = [f"{email.subject}\n{email.text}" for email in emails]
    composer = Composer(Templates(), ACCOUNT, "Soporte", "en", frozenset({ACCOUNT}))
    answered = [(email, Decision(mail_id=email.mail_id, category="subscription",
                                 route=Route.ACKNOWLEDGE, language=email.language))
                for email in emails]
    if any(composer.ahead(email, decision) is None for email, decision in answered):
        raise SystemExit("a reply could not be composed ahead")
    steps: dict[str, Callable[[], object]] = {
        "parse": parse_all,
        "language": lambda: [detect_language(text) for text in texts],
        "compose_ahead": lambda: [composer.ahead(e, d) for e, d in answered],
    }
    rates = {name: per_cpu_second(len(raws), steps[name], passes) for name in STEPS}
    return {**rates, "package": str(Path(mailroom.__file__).parent.parent)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--passes", type=int, default=10, help="passes per run; the best counts")
    parser.add_argument("--src", action="append", default=[],
                        help="a tree's src folder to run (repeatable; default: this tree's)")
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)  # a child: the mails file
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(one(args.one, args.passes)))
        return
    results = alternate("benchmarks.cpu_per_mail", args.src or [str(ROOT / "src")],
                        mails=args.mails, rounds=args.rounds, child_args=["--passes", str(args.passes)],
                        line=lambda run: "  ".join(f"{name} {run[name]:7.0f}" for name in STEPS)
                        + " mails per CPU second")
    print("\nmedian over rounds, mails per CPU second:")
    for src, runs in results.items():
        median = medians(runs)
        print(f"  {src}: " + "  ".join(f"{name} {median[name]:7.0f}" for name in STEPS))

if __name__ == "__main__":
    main()
