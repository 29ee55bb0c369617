"""mailroom: mass email processing on Kafka."""

__version__ = "0.1.0"
