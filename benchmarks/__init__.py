"""mailroom benchmarks: backlog drain, APPEND-to-reply latency, memory and CPU, each side by
side with a naive seed-style loop measured in the same run (issue 8).

    python -m benchmarks --mails 10000 --rate 50 --seconds 20

Every server is real and started here on free ports: Dovecot, the embedded Tansu broker, an
aiosmtpd sink and (by default) a fresh PostgreSQL database. See docs/benchmarks.md.
"""
