"""Validate and count tests/data/independent222/intent_testset.jsonl (set 222, helper 222).

Reads the file only; it never writes or changes mail text. The checks are
``tests/data/set_counts.py``'s, with this set's id prefix.
Usage: python tests/data/independent222/counts.py [path] [--partial]
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from set_counts import main

if __name__ == "__main__":
    sys.exit(main(Path(__file__).with_name("intent_testset.jsonl"), "s222"))
