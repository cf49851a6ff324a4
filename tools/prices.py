"""The price table (``docs/prices/eu-west-1.json``): the one reader of it.

``tools/docgen/cost.py`` prices the whole estate with it and ``tools/network_cost.py`` takes its
five network prices from it. Every failure raises :class:`PriceTableError` with one line of the
form ``<file>: <dotted.key>: expected <what>, got <value>``, like the configuration reader
(``config/reader.py``), so that a user sees which value of which file to change.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PRICES = ROOT / "docs" / "prices" / "eu-west-1.json"

_MISSING = object()


class PriceTableError(Exception):
    """The price table cannot be read, is malformed or lacks a price. The message is one line."""


def _error(path: Path, key: str, expected: str, value: Any = _MISSING) -> PriceTableError:
    got = "nothing (the key is missing)" if value is _MISSING else repr(value)
    return PriceTableError(f"{path}: {key}: expected {expected}, got {got}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_string(value: Any) -> bool:
    return isinstance(value, str)


def _string(path: Path, data: Mapping[str, Any], key: str) -> str:
    value = data.get(key, _MISSING)
    if not isinstance(value, str):
        raise _error(path, key, "a string", value)
    return value


def _table(
    path: Path, data: Mapping[str, Any], key: str, item: str, check: Callable[[Any], bool], default: Any = _MISSING
) -> dict[str, Any]:
    """The object under ``key``, each of its values checked by ``check`` to be an ``item`` (number, string)."""
    value = data.get(key, default)
    if not isinstance(value, dict):
        raise _error(path, key, f"an object of {item}s", value)
    for name, entry in value.items():
        if not check(entry):
            raise _error(path, f"{key}.{name}", f"a {item}", entry)
    return value


@dataclass(frozen=True)
class PriceTable:
    #: The file the table was read from, named in every error.
    path: Path
    region: str
    currency: str
    recorded: str
    note: str
    prices: dict[str, float]
    sources: dict[str, str]
    recorded_on: dict[str, str]

    @classmethod
    def from_file(cls, path: Path = DEFAULT_PRICES) -> PriceTable:
        try:
            data = json.loads(path.read_text())
        except OSError as error:
            raise PriceTableError(f"{path}: cannot read the price table ({error.strerror or error})") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise PriceTableError(f"{path}: not JSON ({error})") from None
        if not isinstance(data, dict):
            raise _error(path, "<top level>", "an object", data)
        return cls(
            path=path,
            region=_string(path, data, "region"),
            currency=_string(path, data, "currency"),
            recorded=_string(path, data, "recorded"),
            note=_string(path, data, "note"),
            prices={key: float(value) for key, value in _table(path, data, "prices", "number", _is_number).items()},
            sources=_table(path, data, "sources", "string", _is_string),
            recorded_on=_table(path, data, "recorded_on", "string", _is_string, default={}),
        )

    def __getitem__(self, key: str) -> float:
        """The price ``key``; a missing one is a :class:`PriceTableError` naming the file and the key."""
        if key not in self.prices:
            raise _error(self.path, f"prices.{key}", "a number")
        return self.prices[key]

    def date(self, key: str) -> str:
        return self.recorded_on.get(key, self.recorded)
