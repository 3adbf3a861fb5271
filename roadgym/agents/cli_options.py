"""Options the agent commands share: ``--config FILE``, ``--set KEY=VALUE`` and old flag
spellings kept as deprecated, hidden aliases of ``--set`` (or of a renamed flag).

An alias still works: it prints one ``DeprecationWarning:`` line to stderr naming what to
use instead, and is left out of ``--help`` (``argparse.SUPPRESS``).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from roadgym.agents.typed_config import field_docs, to_plain

__all__ = [
    "add_config_options",
    "add_dataclass_flags",
    "add_renamed_flag",
    "add_set_alias",
    "deprecation_notes",
    "fail",
]


def add_config_options(parser: argparse.ArgumentParser, what: str) -> None:
    """``--config FILE`` (``what``: its help) and the repeatable ``--set KEY=VALUE`` (into
    ``args.set``)."""
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help=what,
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        dest="set",
        help="set any config field (YAML value; dotted keys reach nested fields, e.g. "
        "env_kwargs.frame_stack=2); repeatable, checked like the file",
    )


class _SetAlias(argparse.Action):
    """An old flag whose value becomes ``--set KEY=VALUE`` (in command-line order)."""

    def __init__(
        self, option_strings, dest, *, key, convert=None, flag_value=None, deprecated=True, **kw
    ):
        self.key = key
        self.deprecated = deprecated
        self.mapping = kw.pop("mapping", False)
        self.convert = convert
        self.flag_value = flag_value
        if flag_value is not None:
            kw["nargs"] = 0
        super().__init__(option_strings, dest, **kw)

    def __call__(self, parser, namespace, values, option_string=None):
        value = self.flag_value if self.flag_value is not None else values
        if self.key is None:  # the value is already KEY=VALUE (--hp)
            item = str(value)
        elif self.mapping and "=" in str(value) and not str(value).lstrip().startswith("{"):
            item = f"{self.key}.{value}"  # one field of a mapping: --env-kwargs frame_stack=4
        else:
            text = self.convert(value) if self.convert is not None else value
            item = f"{self.key}={text}"
        namespace.set = [*(getattr(namespace, "set", None) or []), item]
        if not self.deprecated:
            return
        used = dict(getattr(namespace, "deprecated", None) or {})
        used[option_string] = (value, f"--set {item}")
        namespace.deprecated = used


def add_set_alias(
    parser: argparse.ArgumentParser,
    flag: str,
    key: str | None,
    *,
    type: Callable[[str], Any] = str,
    convert: Callable[[Any], str] | None = None,
    flag_value: str | None = None,
) -> None:
    """Keep ``flag`` working, hidden, as ``--set key=VALUE``.

    :param key: the config key (None: the flag's value is already ``KEY=VALUE``).
    :param type: parses the value (argparse's ``type``), so bad input is refused as before.
    :param convert: the value -> the text after ``key=`` (default ``str``).
    :param flag_value: for a flag without a value (``--freeze``): the value it sets.
    """
    extra = {} if flag_value is not None else {"type": type}
    parser.add_argument(
        flag,
        action=_SetAlias,
        key=key,
        convert=convert,
        flag_value=flag_value,
        dest=f"_alias_{flag.lstrip('-').replace('-', '_')}",
        default=None,
        help=argparse.SUPPRESS,
        **extra,
    )


def add_dataclass_flags(
    parser: argparse.ArgumentParser, cls: type, defaults: Any, key_prefix: str = ""
) -> list[str]:
    """One flag per field of dataclass ``cls`` (nested dataclasses as ``--parent-field``),
    each a shorthand of ``--set field=VALUE``; help from the field's docstring, default from
    ``defaults``. A field may name its flag in ``metadata={"flag": "--env"}``. Returns the
    flags added."""
    docs = field_docs(cls)
    added = []
    for field in dataclasses.fields(cls):
        value = getattr(defaults, field.name)
        if dataclasses.is_dataclass(value):
            added += add_dataclass_flags(parser, type(value), value, f"{key_prefix}{field.name}.")
            continue
        flag = field.metadata.get("flag") or "--" + (key_prefix + field.name).replace(
            ".", "-"
        ).replace("_", "-")
        doc = docs.get(field.name, "").split(". ")[0].rstrip(".")
        shown = to_plain(value)
        mapping = isinstance(value, Mapping)
        text = f"{doc} (default {shown}; --set {key_prefix}{field.name}=...)"
        if mapping:
            text += "; KEY=VALUE sets one key, repeatable"
        parser.add_argument(
            flag,
            action=_SetAlias,
            key=f"{key_prefix}{field.name}",
            deprecated=False,
            mapping=mapping,
            dest=f"_field_{(key_prefix + field.name).replace('.', '_')}",
            default=None,
            metavar="KEY=VALUE" if mapping else "VALUE",
            help=" ".join(text.split()).replace("%", "%%"),
        )
        added.append(flag)
    return added


class _RenamedFlag(argparse.Action):
    def __init__(self, option_strings, dest, *, new, append=False, **kwargs):
        self.new = new
        self.append = append
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        if self.append:
            values = [*(getattr(namespace, self.dest, None) or []), values]
        setattr(namespace, self.dest, True if self.nargs == 0 else values)
        used = dict(getattr(namespace, "deprecated", None) or {})
        used[option_string] = (values, self.new)
        namespace.deprecated = used


def add_renamed_flag(
    parser: argparse.ArgumentParser, old: str, new: str, dest: str, **kwargs: Any
) -> None:
    """Keep ``old`` working, hidden, as the flag ``new`` (same ``dest``; ``action`` may be
    'store_true' or 'append', as ``new``'s)."""
    action = kwargs.pop("action", None)
    if action == "store_true":
        kwargs["nargs"] = 0
    kwargs["append"] = action == "append"
    parser.add_argument(
        old, action=_RenamedFlag, new=new, dest=dest, help=argparse.SUPPRESS, **kwargs
    )


def deprecation_notes(args: argparse.Namespace, stream: Any = None) -> dict[str, Any]:
    """Print one ``DeprecationWarning:`` line per old flag used; return {flag: value}."""
    used = dict(getattr(args, "deprecated", None) or {})
    for flag, (_, instead) in used.items():
        print(
            f"DeprecationWarning: {flag} is deprecated and will be removed; use {instead}",
            file=stream or sys.stderr,
        )
    return {flag: value for flag, (value, _) in used.items()}


def fail(message: str, code: int = 2) -> int:
    """Print ``error: message`` (one line) to stderr; return the exit code."""
    print(f"error: {' '.join(str(message).split())}", file=sys.stderr)
    return code


def require_together(
    used: Mapping[str, Any], needs: Mapping[str, str], positive: Sequence[str] = ()
) -> str | None:
    """A message when an old flag in ``used`` lacks the flag it ``needs`` (or that flag's
    value is not > 0, for flags in ``positive``), else None."""
    for flag, main in needs.items():
        if flag in used and (main not in used or (main in positive and not used[main] > 0)):
            return f"{flag} needs {main} > 0 (both are deprecated: use --set extensions...)"
    return None
