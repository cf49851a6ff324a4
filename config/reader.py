"""A strict reader for one TOML table: every key is typed, checked and accounted for.

Every failure raises :class:`ConfigError` with one line of the form
``<file>: <dotted.key>: expected <what>, got <value>`` so that a user sees exactly which
value in which file to change. Keys that no reader asked for are errors too: a typo must
not be silently ignored.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


class ConfigError(Exception):
    """A configuration value is missing, malformed or inconsistent. The message is one line."""


_MISSING = object()


class TableReader:
    """Reads the keys of one TOML table and remembers which ones were read."""

    def __init__(self, source: str, prefix: str, data: Any) -> None:
        self.source = source
        self.prefix = prefix
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: {prefix or '<top level>'}: expected a table, got {data!r}")
        self._data: dict[str, Any] = data
        self._seen: set[str] = set()

    # -- naming -------------------------------------------------------------------------
    def key(self, name: str) -> str:
        """The dotted name of ``name`` inside this table."""
        return f"{self.prefix}.{name}" if self.prefix else name

    def error(self, name: str, expected: str, value: Any = _MISSING) -> ConfigError:
        got = "nothing (the key is missing)" if value is _MISSING else repr(value)
        return ConfigError(f"{self.source}: {self.key(name)}: expected {expected}, got {got}")

    # -- typed getters -----------------------------------------------------------------
    def _get(self, name: str, default: Any, expected: str) -> Any:
        self._seen.add(name)
        if name in self._data:
            return self._data[name]
        if default is not _MISSING:
            # A misspelt optional key is reported by done(), once every valid key has been read.
            return default
        misspelt = self._misspelling_of(name)
        if misspelt is not None:
            # "regoin" hides "region": report the key the user wrote, not the one it hides.
            raise ConfigError(f"{self.source}: {self.key(misspelt)}: unknown key (did you mean {name!r}?)")
        raise self.error(name, expected)

    def _misspelling_of(self, name: str) -> str | None:
        """A key of the file that no getter asked for and that looks like ``name`` (a typo of it)."""
        unread = [key for key in self._data if key not in self._seen]
        close = difflib.get_close_matches(name, unread, n=1, cutoff=0.8)
        return close[0] if close else None

    def string(
        self,
        name: str,
        *,
        pattern: str,
        expected: str,
        default: Any = _MISSING,
        check: Callable[[str], bool] | None = None,
    ) -> str:
        value = self._get(name, default, expected)
        if not isinstance(value, str) or not re.fullmatch(pattern, value):
            raise self.error(name, expected, value)
        if check is not None and not check(value):
            raise self.error(name, expected, value)
        return value

    def optional_string(
        self, name: str, *, pattern: str, expected: str, check: Callable[[str], bool] | None = None
    ) -> str | None:
        """A string that may be left out; absent means None."""
        if name not in self._data:
            self._seen.add(name)
            return None
        return self.string(name, pattern=pattern, expected=expected, check=check)

    def integer(self, name: str, *, minimum: int, maximum: int, default: Any = _MISSING) -> int:
        expected = f"a whole number from {minimum} to {maximum}"
        value = self._get(name, default, expected)
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
            raise self.error(name, expected, value)
        return value

    def choice(self, name: str, choices: Sequence[T], *, default: Any = _MISSING) -> T:
        expected = "one of " + ", ".join(repr(c) for c in choices)
        value = self._get(name, default, expected)
        if isinstance(value, bool) or value not in choices:
            raise self.error(name, expected, value)
        return value  # type: ignore[no-any-return]

    def boolean(self, name: str, *, default: Any = _MISSING) -> bool:
        value = self._get(name, default, "true or false")
        if not isinstance(value, bool):
            raise self.error(name, "true or false", value)
        return value

    def string_list(
        self,
        name: str,
        *,
        pattern: str,
        expected: str,
        default: Any = _MISSING,
        min_items: int = 0,
        missing: str | None = None,
    ) -> tuple[str, ...]:
        """A list of strings; ``missing`` is what the error expects when a required list is left out."""
        list_expected = f"a list of {expected}"
        value = self._get(name, default, missing or list_expected)
        if not isinstance(value, (list, tuple)) or len(value) < min_items:
            raise self.error(name, list_expected + (f" with at least {min_items} item(s)" if min_items else ""), value)
        for index, item in enumerate(value):
            if not isinstance(item, str) or not re.fullmatch(pattern, item):
                raise self.error(f"{name}[{index}]", expected, item)
        if len(set(value)) != len(value):
            raise self.error(name, f"{list_expected} without duplicates", value)
        return tuple(value)

    def table(self, name: str, *, default: Any = _MISSING) -> TableReader:
        value = self._get(name, default, "a table")
        if not isinstance(value, dict):
            raise self.error(name, "a table", value)
        return TableReader(self.source, self.key(name), value)

    def table_list(self, name: str, *, default: Any = _MISSING) -> list[TableReader]:
        value = self._get(name, default, "an array of tables")
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise self.error(name, "an array of tables ([[...]])", value)
        return [TableReader(self.source, f"{self.key(name)}[{i}]", item) for i, item in enumerate(value)]

    def has(self, name: str) -> bool:
        """Whether the file sets ``name`` (for keys that only some other setting allows)."""
        return name in self._data

    def raw(self, name: str) -> Any:
        """The value as written, unchecked: only for an error message about a key that is not allowed."""
        self._seen.add(name)
        return self._data[name]

    def keys_present(self) -> list[str]:
        """The keys the table holds, without marking any of them read."""
        return list(self._data)

    def mark_read(self, name: str) -> None:
        """Account for an optional key that the caller looked for and did not find."""
        self._seen.add(name)

    def keys(self) -> list[str]:
        """All keys of the table (for tables whose keys are names, like ``environments``)."""
        self._seen.update(self._data)
        return list(self._data)

    def done(self) -> None:
        """Fail on the first key that no getter asked for."""
        for name in self._data:
            if name not in self._seen:
                close = difflib.get_close_matches(name, sorted(self._seen), n=1, cutoff=0.8)
                if close:
                    raise ConfigError(f"{self.source}: {self.key(name)}: unknown key (did you mean {close[0]!r}?)")
                known = ", ".join(sorted(self._seen)) or "no keys"
                raise ConfigError(f"{self.source}: {self.key(name)}: unknown key (expected one of: {known})")
