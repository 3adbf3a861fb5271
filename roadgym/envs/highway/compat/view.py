"""``env.unwrapped.config`` on the highway-env ids: a mapping in highway-env's key names.

Reading, assigning and ``update`` work as on highway-env's dict; a key the id does not
have is refused at once, naming those it has. Values take effect at the next
``reset()``, as in highway-env, where :func:`translate` validates them all. Attribute
access (``config.dt_s``) reads the roadgym :class:`HighwayConfig` in effect, which is
what roadgym's own code reads.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, MutableMapping
from typing import Any

from roadgym.envs.core.config import ConfigError
from roadgym.envs.highway.compat.keys import Translation, check_key


class UnknownKeyError(ConfigError, KeyError):
    """A key this id's config does not have (a ``ConfigError`` and a ``KeyError``)."""

    def __str__(self) -> str:
        return str(self.args[0])  # KeyError would quote the message


class HighwayEnvConfig(MutableMapping):
    """highway-env's config dict for one env: pending values, and the roadgym config in use."""

    def __init__(self, env_name: str, values: dict[str, Any], translation: Translation) -> None:
        self.__dict__["_env_name"] = env_name
        self.__dict__["_values"] = values
        self.__dict__["translation"] = translation

    def __getitem__(self, key: str) -> Any:
        if key not in self._values:
            try:
                check_key(self._env_name, key)
            except ConfigError as error:  # a KeyError too, as a dict's missing key
                raise UnknownKeyError(str(error)) from None
            raise KeyError(key)  # "roadgym", not set
        return self._values[key]

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``key``, or ``default`` where this id has no such key."""
        return self._values.get(key, default)

    def __setitem__(self, key: str, value: Any) -> None:
        check_key(self._env_name, key)
        self._values[key] = value

    def __delitem__(self, key: str) -> None:
        raise TypeError(
            f"config keys cannot be deleted ({key!r}); assign highway-env's default instead"
        )

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return repr(self._values)

    def copy(self) -> dict[str, Any]:
        """A deep copy as a plain dict (highway-env's ``config.copy()``)."""
        return copy.deepcopy(self._values)

    def values_dict(self) -> dict[str, Any]:
        """The pending highway-env values (the mapping itself, not a copy)."""
        return self._values

    def __getattr__(self, name: str) -> Any:
        # Only called for names not found normally: roadgym's typed config fields.
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.__dict__["translation"].world, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "translation":
            self.__dict__[name] = value
            return
        raise AttributeError(
            f"config.{name} cannot be assigned; use config[key] = value with highway-env's keys"
        )

    def __deepcopy__(self, memo: dict) -> HighwayEnvConfig:
        return HighwayEnvConfig(self._env_name, copy.deepcopy(self._values, memo), self.translation)
