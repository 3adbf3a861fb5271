"""Typed configs from plain data: one validation style for run configs, extensions, imitate.

A config is a frozen dataclass with a docstring under each field. :func:`from_mapping`
builds one from plain data (a YAML file, ``--set key=value`` overrides), checking every
value against the field's type hint; an unknown key, a wrong type or a non-finite number
raises :class:`ConfigError` naming the field, the value and what is allowed. Range rules
stay in the dataclass's ``__post_init__``, worded the same way.
:func:`set_overrides` turns ``--set`` items into nested mappings (values parsed as YAML
scalars), and :func:`field_docs` reads the field docstrings that ``--help`` shows.
"""

from __future__ import annotations

import ast
import collections.abc
import dataclasses
import difflib
import functools
import inspect
import math
import textwrap
import types
import typing
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from roadgym.envs.core.config import ConfigError

__all__ = [
    "ConfigError",
    "check_value",
    "close_matches",
    "deep_merge",
    "field_docs",
    "from_mapping",
    "set_overrides",
    "to_plain",
]


# One error class for every config in roadgym: env configs, run configs, extensions,
# hyperparameters and imitate raise the same ConfigError (a ValueError), so one
# ``except ConfigError`` catches bad input wherever it came from.


def set_overrides(items: Sequence[str]) -> dict[str, Any]:
    """``["learning_rate=3e-4", "env_kwargs.frame_stack=2"]`` -> a nested dict.

    Values are parsed as YAML, so numbers, booleans, ``null``, lists and mappings work; a
    dotted key (``env_kwargs.action_type=discrete``) sets one field of a nested mapping.
    """
    overrides: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key or any(not part for part in key.split(".")):
            raise ConfigError(f"override {item!r} must look like key=value (e.g. n_envs=8)")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as error:
            reason = str(error).splitlines()[0]
            raise ConfigError(
                f"override {item!r}: the value is not valid YAML ({reason})"
            ) from None
        # YAML 1.1 reads 3e-4 as a string (it wants 3.0e-4); users mean a number.
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                pass
        target = overrides
        *parents, leaf = key.split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
            if not isinstance(target, dict):
                raise ConfigError(f"override {item!r}: {parent!r} is set to a value already")
        target[leaf] = value
    return overrides


def _type_name(annotation: Any) -> str:
    if annotation is type(None):
        return "null"
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(annotation))
    if origin in (tuple, list, collections.abc.Sequence):
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        inner = _type_name(args[0]) if len(set(args)) == 1 else ", ".join(map(_type_name, args))
        return f"a list of {inner}"
    if origin in (dict, collections.abc.Mapping) or annotation in (dict, Mapping):
        return "a mapping"
    if annotation is float:
        return "a finite number"
    if origin is type:
        (base,) = typing.get_args(annotation) or (object,)
        return f"a {base.__name__} class (set in Python, not in a YAML file)"
    if annotation is collections.abc.Callable or origin is collections.abc.Callable:
        return "'lin_<number>'"
    return getattr(annotation, "__name__", str(annotation))


def _matches(value: Any, annotation: Any) -> tuple[bool, Any]:
    """(whether ``value`` fits ``annotation``, the value converted: ints to floats for a
    float, lists to tuples for a tuple)."""
    if annotation is Any:
        return True, value
    if annotation is type(None):
        return value is None, value
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(annotation):
            ok, converted = _matches(value, option)
            if ok:
                return True, converted
        return False, value
    if annotation is bool:
        return isinstance(value, bool), value
    if annotation is int:
        whole_float = isinstance(value, float) and math.isfinite(value) and value == int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return True, value
        return whole_float, int(value) if whole_float else value
    if annotation is float:
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        return number and math.isfinite(value), float(value) if number else value
    if annotation is str:
        return isinstance(value, str), value
    if origin is tuple or origin in (list, collections.abc.Sequence):
        if not isinstance(value, (list, tuple)):
            return False, value
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis] or [Any]
        if origin is tuple and Ellipsis not in typing.get_args(annotation):
            if len(args) != len(value):
                return False, value
            pairs = zip(value, args, strict=True)
        else:
            pairs = ((item, args[0]) for item in value)
        converted = []
        for item, arg in pairs:
            ok, item = _matches(item, arg)
            if not ok:
                return False, value
            converted.append(item)
        return True, tuple(converted) if origin is tuple else converted
    if origin in (dict, collections.abc.Mapping) or annotation in (dict, Mapping):
        return isinstance(value, Mapping), value
    if origin is collections.abc.Callable or annotation is collections.abc.Callable:
        # A schedule: RL Zoo's 'lin_<x>' in plain data.
        return isinstance(value, str) and _is_linear_schedule(value), value
    if origin is type:  # a class (activation_fn): not something YAML can hold
        (base,) = typing.get_args(annotation) or (object,)
        return isinstance(value, type) and issubclass(value, base), value
    if dataclasses.is_dataclass(annotation):
        return isinstance(value, annotation), value
    return isinstance(value, annotation) if isinstance(annotation, type) else True, value


def _is_linear_schedule(text: str) -> bool:
    if not text.startswith("lin_"):
        return False
    try:
        return math.isfinite(float(text[len("lin_") :]))
    except ValueError:
        return False


def close_matches(unknown: Sequence[str], allowed: Sequence[str]) -> str:
    """`` (did you mean 'x'?)`` for the first unknown name close to an allowed one, else ''."""
    for name in unknown:
        match = difflib.get_close_matches(str(name), list(allowed), n=1)
        if match:
            return f" (did you mean {match[0]!r}?)"
    return ""


def check_value(where: str, value: Any, annotation: Any) -> Any:
    """``value`` converted to ``annotation``, or :class:`ConfigError` naming ``where``
    (e.g. ``'n_steps'``), the value and the allowed type. Floats must be finite."""
    ok, converted = _matches(value, annotation)
    if not ok:
        raise ConfigError(f"{where} = {value!r}; allowed: {_type_name(annotation)}")
    return converted


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


@functools.cache
def field_docs(cls: type) -> dict[str, str]:
    """The docstring under each field of dataclass ``cls`` (and its bases), by field name."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass) or klass is object:
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for node, following in zip(body, body[1:], strict=False):
            is_field = isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
            is_doc = isinstance(following, ast.Expr) and isinstance(
                getattr(following, "value", None), ast.Constant
            )
            if is_field and is_doc and isinstance(following.value.value, str):
                docs[node.target.id] = inspect.cleandoc(following.value.value)
    return docs


def from_mapping(
    cls: type,
    data: Mapping[str, Any] | None,
    *,
    where: str | None = None,
    aliases: Mapping[str, str] | None = None,
    base: Any = None,
) -> Any:
    """An instance of dataclass ``cls`` from plain data, every value checked.

    :param where: how errors name the config (default the class name), e.g.
        ``'extensions.student_pull'``: an error reads ``where.field = value; allowed: ...``.
    :param aliases: old field name -> current name; an old name warns
        (``DeprecationWarning``) and sets the current field.
    :param base: an instance whose values are the defaults (overrides on top of a file);
        nested dataclass fields merge key by key.
    """
    where = where or cls.__name__
    data = dict(data or {})
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    for old, new in (aliases or {}).items():
        if old in data:
            warnings.warn(
                f"{where}.{old} is deprecated; use {where}.{new}", DeprecationWarning, stacklevel=3
            )
            data.setdefault(new, data.pop(old))
            data.pop(old, None)
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"{where} has unknown key(s) {', '.join(map(repr, unknown))}"
            f"{close_matches(unknown, list(fields))}; allowed: {', '.join(fields)}"
        )
    hints = _hints(cls)
    values: dict[str, Any] = {}
    for name, value in data.items():
        annotation = hints[name]
        current = getattr(base, name) if base is not None else None
        if dataclasses.is_dataclass(annotation) and isinstance(annotation, type):
            if isinstance(value, annotation):
                values[name] = value
                continue
            if not isinstance(value, Mapping):
                raise ConfigError(f"{where}.{name} = {value!r}; allowed: a mapping of its fields")
            values[name] = from_mapping(annotation, value, where=f"{where}.{name}", base=current)
            continue
        value = check_value(f"{where}.{name}", value, annotation)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            value = {**current, **value}  # overrides on top of the base's mapping
        values[name] = value
    try:
        if base is not None:
            return dataclasses.replace(base, **values)
        return cls(**values)
    except TypeError as error:  # a required field is missing
        raise ConfigError(f"{where}: {error}") from None


def deep_merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` on top, nested mappings merged key by key."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def to_plain(obj: Any) -> Any:
    """Plain data (dicts, lists, scalars) of a dataclass instance, for YAML or JSON."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {key: to_plain(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(value) for value in obj]
    return obj
