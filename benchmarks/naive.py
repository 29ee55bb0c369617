"""The naive baseline: the seed's design, run without pauses.

A single loop polls with stdlib imaplib, fetches each unseen mail one by one, parses it with
the stdlib ``email`` package, applies the seed's keyword rule and answers over smtplib with a
new connection (and login) for every reply. No Kafka, no state store: what is not answered
is only counted as "review". Run as a child process so its RSS and CPU are measured alone:

    python -m benchmarks.naive --imap-port 1143 --smtp-port 1025 --expect 1000

It prints ``ready`` once logged in, then one JSON line with its counts when it has handled
``--expect`` mails (or on SIGTERM).
"""

from __future__ import annotations

import argparse
import imaplib
import json
import resource
import signal
import smtplib
import sys
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parseaddr

KEYWORDS = ("suscrip", "subscri")  # the seed's rule: subject mentions a subscription


def wants_reply(msg: EmailMessage) -> bool:
    if str(msg.get("Auto-Submitted", "no")).lower() != "no":
        return False
    return any(k in str(msg.get("Subject", "")).lower() for k in KEYWORDS)


def compose(msg: EmailMessage, sender: str) -> EmailMessage:
    reply = EmailMessage()
    reply["From"] = sender
    reply["To"] = parseaddr(str(msg.get("From", "")))[1]
    reply["Subject"] = f"Re: {msg.get('Subject', '')}"
    reply["In-Reply-To"] = str(msg.get("Message-ID", ""))
    reply["References"] = str(msg.get("Message-ID", ""))
    reply["Auto-Submitted"] = "auto-replied"
    reply.set_content("Thank you, your subscription request has been received.")
    return reply


def send(args: argparse.Namespace, reply: EmailMessage) -> None:
    # one connection per reply, as the seed did
    with smtplib.SMTP(args.smtp_host, args.smtp_port, timeout=30) as smtp:
        smtp.login(args.smtp_user, args.smtp_password)
        smtp.send_message(reply)


def run(args: argparse.Namespace) -> dict[str, int]:
    counts = {"handled": 0, "replied": 0, "review": 0, "polls": 0}
    stop = False

    def on_term(_sig: int, _frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    imap = imaplib.IMAP4(args.imap_host, args.imap_port)
    imap.login(args.imap_user, args.imap_password)
    print("ready", flush=True)
    while not stop and (args.expect <= 0 or counts["handled"] < args.expect):
        imap.select("INBOX")
        counts["polls"] += 1
        _typ, data = imap.uid("SEARCH", None, "UNSEEN")  # type: ignore[arg-type]
        uids = data[0].split() if data and data[0] else []
        for uid in uids[: args.batch]:
            _typ, fetched = imap.uid("FETCH", uid.decode(), "(RFC822)")
            raw = next(part[1] for part in fetched if isinstance(part, tuple))
            msg = message_from_bytes(raw, policy=policy.default)
            assert isinstance(msg, EmailMessage)
            if wants_reply(msg):
                send(args, compose(msg, args.smtp_user))
                counts["replied"] += 1
            else:
                counts["review"] += 1
            counts["handled"] += 1
        if not uids and args.poll:
            time.sleep(args.poll)
    imap.logout()
    return counts


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.naive", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--imap-host", default="127.0.0.1")
    p.add_argument("--imap-port", type=int, required=True)
    p.add_argument("--imap-user", default="support@example.com")
    p.add_argument("--imap-password", default="support-pass")
    p.add_argument("--smtp-host", default="127.0.0.1")
    p.add_argument("--smtp-port", type=int, required=True)
    p.add_argument("--smtp-user", default="mailer@example.com")
    p.add_argument("--smtp-password", default="mailer-pass")
    p.add_argument("--expect", type=int, default=0, help="exit after this many mails (0: never)")
    p.add_argument("--poll", type=float, default=0.0,
                   help="pause between empty polls (the seed used 60 s; 0 busy-polls)")
    p.add_argument("--batch", type=int, default=1_000_000,
                   help="mails per poll (the seed used 50)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    counts: dict[str, float] = dict(run(args))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    counts["cpu_seconds"] = usage.ru_utime + usage.ru_stime
    counts["peak_rss_bytes"] = usage.ru_maxrss * 1024  # Linux reports KiB
    print(json.dumps(counts), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
