"""The suite's per-test timeout: a hang fails with a traceback in minutes (issue 23)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

ROOT = Path(__file__).parents[1]


def test_a_hanging_test_fails_with_its_traceback(tmp_path: Path) -> None:
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]
    assert 0 < options["ini_options"]["timeout"] <= 600
    hang = tmp_path / "test_hang.py"
    hang.write_text("import time\n\ndef test_hang():\n    time.sleep(600)\n")
    # The project's own settings (-c pyproject.toml), with the limit shortened to 2 s.
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        + ["-c", str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path), "-o", "timeout=2"]
        + [str(hang)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "Timeout" in result.stdout + result.stderr
    assert "time.sleep(600)" in result.stdout + result.stderr  # the hanging line's traceback
