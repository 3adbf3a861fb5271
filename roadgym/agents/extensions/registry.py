"""Extension names -> classes, and the run config's ``extensions`` list read and merged."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from roadgym.agents.extensions.base import TrainingExtension
from roadgym.agents.typed_config import ConfigError, from_mapping

__all__ = [
    "extension_class",
    "extension_names",
    "extensions_from_data",
    "register_extension",
]

_REGISTRY: dict[str, type[TrainingExtension]] = {}
_OLD_NAMES: dict[str, str] = {}


def register_extension(cls: type[TrainingExtension]) -> type[TrainingExtension]:
    """Make ``cls`` available to run configs under ``cls.name`` (a class decorator)."""
    if not cls.name or cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"extension name {cls.name!r} is empty or taken")
    _REGISTRY[cls.name] = cls
    _OLD_NAMES.update({old: cls.name for old in cls.old_names})
    return cls


def extension_names() -> list[str]:
    """The names of every registered extension."""
    return sorted(_REGISTRY)


def extension_class(name: str) -> type[TrainingExtension]:
    """The class registered under ``name`` (an old name warns)."""
    if name in _OLD_NAMES:
        warnings.warn(
            f"extension name {name!r} is deprecated; use {_OLD_NAMES[name]!r}",
            DeprecationWarning,
            stacklevel=3,
        )
        name = _OLD_NAMES[name]
    if name not in _REGISTRY:
        raise ConfigError(
            f"extensions: unknown extension {name!r}; allowed: {', '.join(extension_names())}"
        )
    return _REGISTRY[name]


def _entries(data: Any, where: str) -> list[tuple[str, dict[str, Any]]]:
    """``[{name: x, ...}, ...]`` or ``{x: {...}, ...}`` as (name, fields) pairs."""
    if data is None:
        return []
    if isinstance(data, Mapping):
        pairs = []
        for name, fields in data.items():
            if fields is not None and not isinstance(fields, Mapping):
                raise ConfigError(f"{where}.{name} = {fields!r}; allowed: a mapping of its fields")
            pairs.append((str(name), dict(fields or {})))
        return pairs
    if isinstance(data, (list, tuple)):
        pairs = []
        for item in data:
            if not isinstance(item, Mapping) or "name" not in item:
                raise ConfigError(
                    f"{where}: entry {item!r}; allowed: a mapping with a 'name' (one of "
                    f"{', '.join(extension_names())}) and its fields"
                )
            fields = dict(item)
            pairs.append((str(fields.pop("name")), fields))
        return pairs
    raise ConfigError(
        f"{where} = {data!r}; allowed: a list of {{name: ..., field: value}} mappings"
    )


def extensions_from_data(
    data: Any = None, overrides: Mapping[str, Any] | None = None
) -> tuple[TrainingExtension, ...]:
    """The extensions of a run config's ``extensions`` entry, with ``overrides`` on top.

    ``overrides`` (from ``--set extensions.NAME.FIELD=VALUE``) maps an extension name to
    field values: a listed extension gets them, an unlisted one is added, and ``null``
    (``--set extensions.NAME=null``) removes it. Order is kept; each name appears once.
    """
    merged: dict[str, dict[str, Any] | None] = {}
    for name, fields in _entries(data, "extensions"):
        cls = extension_class(name)
        if cls.name in merged:
            raise ConfigError(f"extensions: {cls.name!r} is listed twice; allowed: once")
        merged[cls.name] = fields
    if overrides is not None and not isinstance(overrides, Mapping):
        raise ConfigError(
            f"extensions = {overrides!r}; allowed: extensions.NAME.FIELD=VALUE "
            "or extensions.NAME=null"
        )
    for name, fields in (overrides or {}).items():
        cls = extension_class(str(name))
        if fields is None:
            merged.pop(cls.name, None)
            continue
        if not isinstance(fields, Mapping):
            raise ConfigError(
                f"extensions.{cls.name} = {fields!r}; allowed: a mapping of its fields, or null"
            )
        merged[cls.name] = {**(merged.get(cls.name) or {}), **fields}
    return tuple(
        from_mapping(
            extension_class(name),
            fields,
            where=f"extensions.{name}",
            aliases=extension_class(name).old_fields,
        )
        for name, fields in merged.items()
    )
