"""Run every snippet of docs/guides/other-libraries.md (issue 14).

Each snippet is marked ``<!-- snippet: NAME requires=MODULE [expensive] -->``; it is run
when MODULE imports, and skipped otherwise. Snippets for libraries roadgym does not
install (TorchRL, Tianshou, RLlib, RL Zoo) are ``expensive``.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

DOC = Path(__file__).parents[1] / "docs" / "guides" / "other-libraries.md"
_SNIPPET = re.compile(
    r"<!-- snippet: (?P<name>\w+) requires=(?P<module>\w+)(?P<expensive> expensive)? -->\n"
    r"```python\n(?P<code>.*?)```",
    re.S,
)


def _snippets():
    found = list(_SNIPPET.finditer(DOC.read_text()))
    assert len(found) >= 7, "docs/guides/other-libraries.md lost its snippets"
    for match in found:
        marks = [pytest.mark.expensive] if match["expensive"] else []
        yield pytest.param(match["module"], match["code"], id=match["name"], marks=marks)


@pytest.mark.parametrize(("module", "code"), list(_snippets()))
def test_integration_snippet_runs(module, code, monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed")
    exec(compile(code, f"{DOC.name}:{module}", "exec"), {"__name__": "snippet"})


def test_every_library_of_the_issue_has_a_section():
    text = DOC.read_text()
    for name in ("CleanRL", "TorchRL", "Tianshou", "RLlib", "RL Baselines3 Zoo", "record_video"):
        assert name in text
