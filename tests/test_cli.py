"""The ``roadgym`` command: one table of subcommands, each with a working ``--help``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from roadgym.cli import COMMANDS, main, resolve

EXPECTED = {
    "train",
    "evaluate",
    "watch",
    "play",
    "bench",
    "snapshot",
    "train-classifier",
    "distill",
    "export-curve",
}


def test_help_lists_every_command_without_importing_torch():
    code = (
        "import sys; from roadgym.cli import main; code = main(['--help']); "
        "assert 'torch' not in sys.modules, 'roadgym --help imported torch'; sys.exit(code)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    listed = {line.split()[0] for line in done.stdout.splitlines() if line.startswith("  ")}
    assert listed == set(COMMANDS)
    assert EXPECTED <= listed


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_command_has_help(name, capsys):
    assert callable(resolve(name))
    assert main([name, "--help"]) == 0
    assert capsys.readouterr().out.startswith(f"usage: roadgym {name}")


def test_unknown_command_and_bad_flag_fail(capsys):
    assert main(["drive"]) == 2
    assert "unknown command 'drive'" in capsys.readouterr().err
    assert main(["evaluate", "--episodes", "zero"]) == 2
    assert "--episodes" in capsys.readouterr().err
    assert main(["highway-dqn"]) == 2  # the report commands moved to experiments/
    assert "unknown command 'highway-dqn'" in capsys.readouterr().err


def test_python_dash_m_roadgym_runs_the_command():
    done = subprocess.run(
        [sys.executable, "-m", "roadgym", "play", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and done.stdout.startswith("usage: roadgym play")


def test_scripts_are_shims_over_the_command():
    scripts = Path(__file__).resolve().parents[1] / "scripts"
    for path in sorted(scripts.glob("*.py")):
        lines = [line for line in path.read_text().splitlines() if line.strip()]
        assert len(lines) <= 4 and "from roadgym.cli import main" in lines, path.name
    done = subprocess.run(
        [sys.executable, str(scripts / "evaluate.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and done.stdout.startswith("usage: roadgym evaluate")
