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
