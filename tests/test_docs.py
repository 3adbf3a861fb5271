"""The docs site's generated pages: every world has one, with its config's full table."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

import gymnasium as gym

from roadgym.envs import ENV_IDS

HOOKS = Path(__file__).resolve().parents[1] / "docs" / "hooks.py"


def _hooks():
    spec = importlib.util.spec_from_file_location("roadgym_docs_hooks", HOOKS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def env_class_of(env_id: str) -> type:
    module, _, name = gym.spec(env_id).entry_point.partition(":")
    return getattr(importlib.import_module(module), name)


def test_every_world_has_a_generated_page_with_its_config_table():
    pages = _hooks().generated_pages()
    worlds = {uri: text for uri, (_, text) in pages.items() if uri.startswith("worlds/")}
    for env_id in ENV_IDS:
        config_class = env_class_of(env_id).config_class
        table = config_class.markdown_table()
        page = next((text for text in worlds.values() if f"| `{env_id}` |" in text), None)
        assert page is not None, f"no world page lists {env_id}"
        assert table in page, f"{env_id}'s page lacks {config_class.__name__}'s table"
        if page.startswith(f"# {env_id}\n"):  # the world's own id: its docstring leads
            summary = _hooks().docstring_markdown(env_class_of(env_id)).splitlines()[0]
            assert summary in page


def test_every_study_is_a_results_page_and_every_area_a_reference_page():
    pages = _hooks().generated_pages()
    experiments = HOOKS.parents[1] / "experiments"
    for results in experiments.glob("*/RESULTS.md"):
        assert f"experiments/{results.parent.name}/RESULTS.md" in pages
    for area in ("envs", "drivers", "perception", "agents"):
        assert f"::: roadgym.{area}" in pages[f"reference/{area}.md"][1]
