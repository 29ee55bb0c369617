"""Sub-commands of this stage (registered by mailroom.cli)."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    """Add this stage's sub-commands to the ``mailroom`` parser."""
    del sub
    _ = argparse
