"""The README is a front page: its two set-up commands are the ones CI runs; no prose pinned."""

import re
import subprocess
import sys
from pathlib import Path

from roadgym.cli import COMMANDS

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"


def _bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)\n```", text, re.S)


def test_ci_runs_the_readme_test_command_verbatim():
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    test_commands = [b for b in _bash_blocks(README.read_text()) if "pytest" in b]
    assert len(test_commands) == 1 and test_commands[0] in ci_lines


def test_the_readme_main_job_is_what_the_wheel_check_runs():
    """The main job installs, trains and watches with commands that exist; the wheel check
    (run by CI) trains and watches with the same two commands, outside the checkout."""
    main_job = next(b for b in _bash_blocks(README.read_text()) if "roadgym train" in b)
    steps = [step.strip() for step in main_job.split("&&")]
    assert steps[0].startswith("pip install torch==") and steps[1].startswith("pip install -e")
    names = [step.split()[1] for step in steps if step.startswith("roadgym ")]
    assert names == ["train", "watch"] and all(name in COMMANDS for name in names)
    wheel_check = (ROOT / ".ci" / "wheel_check").read_text()
    assert ".ci/wheel_check" in (ROOT / ".ci" / "run").read_text().splitlines()
    assert '/roadgym" train' in wheel_check and '/roadgym" watch' in wheel_check


def test_readme_is_a_front_page_with_working_links():
    text = README.read_text()
    assert len(text.encode()) <= 10 * 1024
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
        if not target.startswith("http"):
            assert (ROOT / target).exists(), f"README links {target}, which is missing"


def test_readme_python_runs(tmp_path):
    for block in re.findall(r"```python\n(.*?)\n```", README.read_text(), re.S):
        done = subprocess.run(
            [sys.executable, "-c", block], cwd=tmp_path, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr


def command_names(markdown: str) -> list[str]:
    """``roadgym <name>`` as written in code blocks and code spans of a Markdown page."""
    blocks = re.findall(r"```[a-z]*\n(.*?)```", markdown, re.S)
    names = [n for b in blocks for n in re.findall(r"^\s*roadgym ([a-z][a-z-]*)", b, re.M)]
    prose = re.sub(r"```.*?```", "", markdown, flags=re.S)
    return names + re.findall(r"`roadgym ([a-z][a-z-]*)", prose)


def test_docs_name_commands_that_exist_and_no_scripts():
    pages = [README, ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").rglob("*.md"))]
    pages += sorted((ROOT / "experiments").rglob("*.md"))
    for path in pages:
        text = path.read_text()
        assert "python scripts/" not in text, path
        for name in command_names(text):
            assert name in COMMANDS, f"{path} names `roadgym {name}`, not a command"


def test_ci_checks_the_wheel_and_the_docs_scripts_are_executable():
    for script in ("wheel_check", "docs_check"):
        assert (ROOT / ".ci" / script).stat().st_mode & 0o111, script
