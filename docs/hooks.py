"""MkDocs hooks: the pages that are generated at build time, so that they cannot drift.

- ``worlds/<name>.md``, one per world (config class) registered under the ``roadgym``
  namespace: the env class's docstring (Gymnasium's sections), the ids registered for
  it with their settings, and its config dataclass's field table
  (``BaseConfig.markdown_table``); the nav's "Worlds" section lists them.
- ``experiments/**``: every Markdown file of the repository's ``experiments/`` folder
  (each study's ``RESULTS.md`` and ``NOTES.md``, and its index), at the same relative
  paths, so that links between them work on the site and in the repository alike.
- ``reference/<area>.md``: the API reference of each part of the package (envs,
  drivers, perception, agents, tools), one mkdocstrings block per module found in the
  source tree, so a new module appears without editing a page.
- ``changelog.md`` and ``contributing.md``: the repository's ``CHANGELOG.md`` and
  ``CONTRIBUTING.md``.

The nav's "Worlds", "API reference" and "Results" sections are filled from these.

The generators are plain functions (:func:`generated_pages`), tested without MkDocs.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
WORLDS_SECTION = "Worlds"
REFERENCE_SECTION = "API reference"
RESULTS_SECTION = "Results"
REFERENCE_AREAS = {
    "envs": "Environments: the worlds, their configs, the vector env and the SB3 adapter.",
    "drivers": "Privileged drivers: the experts that read the simulator's state.",
    "perception": "Encoders, labelled datasets, the classifier trainer, distillation, the GAN.",
    "agents": "SB3 and RLlib training, evaluation, watch, imitation, shipped models.",
    "tools": "The benchmark, snapshots and keyboard play behind the `roadgym` command.",
}

# Sphinx roles in docstrings (":class:`~roadgym.envs.TrackConfig`") -> code spans.
_ROLE = re.compile(r":(?:class|func|meth|mod|attr|data|obj|exc):`~?([^`]+)`")


def docstring_markdown(obj: Any) -> str:
    """``obj``'s docstring as Markdown: dedented, Sphinx roles as code spans."""
    text = inspect.cleandoc(obj.__doc__ or "")

    def code(match: re.Match[str]) -> str:
        name = match.group(1)
        return f"`{name.rsplit('.', 1)[-1] if match.group(0).count('~') else name}`"

    return _ROLE.sub(code, text)


def discrete_action_table() -> str:
    """The ``Discrete(9)`` actions as a Markdown table, from ``roadgym.envs``'s own table."""
    from roadgym.envs import DISCRETE_ACTION_NAMES, DISCRETE_ACTIONS

    rows = ["| action | meaning | steer | throttle |", "|---|---|---|---|"]
    for index, (name, (steer, throttle)) in enumerate(
        zip(DISCRETE_ACTION_NAMES, DISCRETE_ACTIONS, strict=True)
    ):
        rows.append(f"| {index} | {name} | {steer:+.1f} | {throttle:+.1f} |")
    return "\n".join(rows)


def _load(entry_point: str) -> Any:
    module_name, _, attribute = entry_point.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def world_specs() -> dict[str, list[Any]]:
    """World (config class name) -> the Gymnasium specs of the roadgym ids that make it,
    in registration order (the world's own id first, then variants such as highway-env's
    ids, which the pages list)."""
    import gymnasium as gym

    import roadgym  # noqa: F401  (registers the ids)

    worlds: dict[str, list[Any]] = {}
    for spec in gym.registry.values():
        if spec.namespace != "roadgym" or not isinstance(spec.entry_point, str):
            continue
        config_class = getattr(_load(spec.entry_point), "config_class", None)
        if config_class is not None:
            worlds.setdefault(config_class.__name__, []).append(spec)
    return worlds


def _slug(specs: list[Any]) -> str:
    return re.sub(r"[^a-z0-9]+", "-", specs[0].name.lower()).strip("-")


def world_page(specs: list[Any]) -> tuple[str, str]:
    """(title, Markdown) of one world's page, from its first id's env class."""
    env_class = _load(specs[0].entry_point)
    config_class = env_class.config_class
    title = specs[0].id
    summary, _, body = docstring_markdown(env_class).partition("\n")
    lines = [f"# {title}", "", summary.strip(), ""]
    picture = DOCS / f"{_slug(specs)}.png"
    if picture.is_file():
        alt = f"{title}: the bird's-eye render and the agent's camera"
        lines += [f"![{alt}](../{picture.name})", ""]
    lines += [body.strip(), ""]
    more = DOCS / "worlds" / "more" / f"{_slug(specs)}.md"
    if more.is_file():  # hand-written detail beyond the docstring
        text = more.read_text(encoding="utf-8").strip()
        text = text.replace("<!-- discrete-actions -->", discrete_action_table())
        lines += ["## More about this world", "", text, ""]
    lines += ["## Registered ids", ""]
    lines += [
        "| id | entry point | vector entry point | max episode steps | settings |",
        "|---|---|---|---:|---|",
    ]
    for spec in specs:
        settings = ", ".join(f"`{k}={v!r}`" for k, v in spec.kwargs.items()) or "defaults"
        lines.append(
            f"| `{spec.id}` | `{spec.entry_point}` | `{spec.vector_entry_point or '-'}` | "
            f"{spec.max_episode_steps or 'by config'} | {settings} |"
        )
    lines += [
        "",
        f"## Configuration: `{config_class.__name__}`",
        "",
        docstring_markdown(config_class),
        "",
        "Pass fields as keywords to `gym.make` / `gym.make_vec`, or "
        f"`config={config_class.__name__}(...)` (or a mapping), or both (keywords win). "
        "An unknown field, a wrong type or an out-of-range value raises `ConfigError` "
        "naming the field, the value and what is allowed.",
        "",
        config_class.markdown_table(),
        "",
        "*This page is generated from the env's docstring and its config class (`docs/hooks.py`).*",
        "",
    ]
    return title, "\n".join(lines)


def reference_page(area: str) -> str:
    """The API reference of ``roadgym.<area>``: one block per public module."""
    package = ROOT / "roadgym" / area
    modules = []
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if any(part.startswith("_") and part != "__init__" for part in parts):
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules.append(".".join(parts))
    lines = [f"# roadgym.{area}", "", REFERENCE_AREAS[area], ""]
    for module in sorted(modules, key=lambda name: (name.count("."), name)):
        lines += [f"::: {module}", "    options:", "      heading_level: 2", ""]
    return "\n".join(lines)


def _title(text: str, default: str) -> str:
    heading = next((line for line in text.splitlines() if line.startswith("# ")), "")
    return heading[2:].strip() or default


def _repository_page(path: Path) -> str:
    """A root Markdown file for the site: links into docs/ made site-relative."""
    return path.read_text(encoding="utf-8").replace("](docs/", "](")


def generated_pages() -> dict[str, tuple[str | None, str]]:
    """Site path -> (nav title or None, Markdown) of every generated page."""
    pages: dict[str, tuple[str | None, str]] = {}
    for specs in world_specs().values():
        title, text = world_page(specs)
        pages[f"worlds/{_slug(specs)}.md"] = (title, text)
    experiments = ROOT / "experiments"
    for path in sorted(experiments.rglob("*.md")):
        relative = path.relative_to(experiments)
        # A link from experiments/<study>/ into the repository's docs/ (right on GitHub)
        # points into the site's root, where docs/ is served.
        up = "../" * len(relative.parts)
        text = path.read_text(encoding="utf-8").replace(f"]({up}docs/", f"]({up}")
        pages[f"experiments/{relative.as_posix()}"] = (None, text)
    for area in REFERENCE_AREAS:
        pages[f"reference/{area}.md"] = (f"roadgym.{area}", reference_page(area))
    for name in ("CHANGELOG.md", "CONTRIBUTING.md"):
        if (ROOT / name).is_file():
            pages[name.lower()] = (None, _repository_page(ROOT / name))
    return pages


_PAGES: dict[str, tuple[str | None, str]] = {}


def _results_nav(pages: dict[str, tuple[str | None, str]]) -> list[Any]:
    """One nav entry per study: its RESULTS.md, and its NOTES.md beside it if any."""
    entries: list[Any] = []
    studies = sorted({uri.split("/")[1] for uri in pages if uri.count("/") == 2})
    for study in studies:
        results = f"experiments/{study}/RESULTS.md"
        if results not in pages:
            continue
        title = _title(pages[results][1], study)
        notes = f"experiments/{study}/NOTES.md"
        if notes in pages:
            entries.append({title: [{"Results": results}, {"Notes": notes}]})
        else:
            entries.append({title: results})
    return entries


def on_config(config: Any) -> Any:
    """Fill the nav's generated sections (worlds, API reference, results)."""
    _PAGES.clear()
    _PAGES.update(generated_pages())
    generated = {
        WORLDS_SECTION: [
            {title: uri} for uri, (title, _) in _PAGES.items() if uri.startswith("worlds/")
        ],
        REFERENCE_SECTION: [
            {title: uri} for uri, (title, _) in _PAGES.items() if uri.startswith("reference/")
        ],
        RESULTS_SECTION: _results_nav(_PAGES),
    }
    for entry in config["nav"] or []:
        for section, pages in generated.items():
            if isinstance(entry, dict) and section in entry:
                entry[section] = [*entry[section], *pages]
    return config


def on_files(files: Any, config: Any) -> Any:
    """Add the generated pages to the site's files."""
    from mkdocs.structure.files import File

    for uri, (_, text) in _PAGES.items():
        files.append(File.generated(config, uri, content=text))
    experiments = ROOT / "experiments"
    for path in sorted(experiments.rglob("*.png")):  # the studies' figures
        uri = f"experiments/{path.relative_to(experiments).as_posix()}"
        files.append(File.generated(config, uri, abs_src_path=str(path)))
    return files
