from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_ci_runs_the_readme_test_command_verbatim():
    readme = (ROOT / "README.md").read_text()
    command = 'pip install torch==2.13.0 && pip install -e ".[dev]" && python -m pytest -q'
    assert f"```bash\n{command}\n```" in readme
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert command in ci_lines


def test_readme_picture_exists():
    assert "](docs/track.png)" in (ROOT / "README.md").read_text()
    assert (ROOT / "docs" / "track.png").stat().st_size > 10_000


def test_readme_main_job_uses_the_roadgym_command():
    readme = (ROOT / "README.md").read_text()
    main_job = next(line for line in readme.splitlines() if 'pip install -e ".[train]"' in line)
    assert "&& roadgym train --algo ppo --env roadgym/Track-v0" in main_job
    assert "&& roadgym watch --model runs/ppo-Track-v0-s0/model.zip" in main_job


def test_docs_name_commands_that_exist_and_no_scripts():
    import re

    from roadgym.cli import COMMANDS

    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = path.read_text()
        assert "python scripts/" not in text, path
        for name in re.findall(r"`roadgym ([a-z][a-z-]*)", text):
            assert name in COMMANDS, f"{path.name} names `roadgym {name}`, not a command"


def test_readme_links_the_architecture_page_in_the_repo():
    readme = (ROOT / "README.md").read_text()
    assert "](docs/architecture.md)" in readme and "../shared" not in readme
    assert (ROOT / "docs" / "architecture.md").is_file()


def test_ci_checks_the_wheel():
    assert ".ci/wheel_check" in (ROOT / ".ci" / "run").read_text().splitlines()
    assert (ROOT / ".ci" / "wheel_check").stat().st_mode & 0o111
