"""CI runs the parser's atheris fuzz target briefly, seeded with a slice of the corpora."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TARGET = Path(__file__).with_name("fuzz_parse.py")
SEEDS = 80  # small corpus files copied as seeds: enough to start deep inside MIME
needs_atheris = pytest.mark.skipif(importlib.util.find_spec("atheris") is None,
                                   reason="atheris is not installable on this platform")


def seed_corpus(corpora: Path, target: Path) -> int:
    """Copy the smallest corpus files to a scratch dir (libFuzzer writes into it)."""
    target.mkdir()
    files = sorted((p for p in corpora.rglob("*") if p.is_file() and p.name not in
                    ("LICENSE", "COPYING", "README.md")), key=lambda p: (p.stat().st_size, p.name))
    for i, path in enumerate(files[:SEEDS]):
        shutil.copyfile(path, target / f"seed{i}")
    return min(SEEDS, len(files))


@needs_atheris
@pytest.mark.timeout(240)
def test_fuzzing_the_parser_for_3000_runs_finds_no_exception_but_unparseable_mail(
    corpora: Path, tmp_path: Path
) -> None:
    seeds = tmp_path / "seeds"
    assert seed_corpus(corpora, seeds) > 10
    result = subprocess.run(
        [sys.executable, str(TARGET), "-atheris_runs=3000", "-max_len=16384", "-timeout=20",
         "-rss_limit_mb=1536", f"-artifact_prefix={tmp_path}/", str(seeds)],
        capture_output=True, timeout=220, cwd=tmp_path, check=False,
    )
    log = result.stderr.decode(errors="replace")
    assert result.returncode == 0, log[-4000:]
    assert "Done 3000 runs" in log or "Done 3000 in" in log, log[-2000:]
    assert not list(tmp_path.glob("crash-*"))


@needs_atheris
def test_the_fuzz_property_fails_when_the_parser_leaks_another_exception(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The target is not vacuous: an exception other than UnparseableMail escapes it."""
    sys.path.insert(0, str(TARGET.parent))
    try:
        import fuzz_parse
    finally:
        sys.path.remove(str(TARGET.parent))

    def leaky(*_args: object, **_kwargs: object) -> None:
        raise ValueError("a parser bug")

    monkeypatch.setattr(fuzz_parse, "parse_message", leaky)
    with pytest.raises(ValueError, match="a parser bug"):
        fuzz_parse.check_one(b"Subject: x\r\n\r\nbody")
