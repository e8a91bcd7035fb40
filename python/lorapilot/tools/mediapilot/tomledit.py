"""Rewrite one array of strings in a TOML file in place, keeping comments and layout (tomlkit).

The standard library reads TOML but cannot write it, and tomli-w rewrites a whole file without its
comments. tomlkit edits the parsed document and writes back every other byte as it was; the result is
parsed again with the standard library and checked that nothing but ``table.key`` changed before it
replaces the file (temp file + rename).
"""

from __future__ import annotations

import tomllib
from collections.abc import MutableMapping
from pathlib import Path

import tomlkit
from tomlkit.exceptions import TOMLKitError

from lorapilot.kit.errors import ConfigError
from lorapilot.kit.fsutil import atomic_write_text


def _array(values: list[str]) -> tomlkit.items.Array:
    array = tomlkit.array()
    array.extend(values)
    return array


def _edited(text: str, table: str, key: str, values: list[str]) -> str:
    doc = tomlkit.parse(text)
    section = doc.get(table)
    if section is None:
        section = tomlkit.table()
        section.add(key, _array(values))
        doc.add(table, section)
    elif isinstance(section, MutableMapping):  # [table], a dotted table.key or an inline table
        section[key] = _array(values)
    else:
        raise ConfigError(None, f"{table} is not a table")
    return tomlkit.dumps(doc)


def set_string_array(path: Path, table: str, key: str, values: list[str]) -> None:
    """Set ``[table] key = values`` in the TOML file ``path`` (created when missing), atomically.

    Comments and every other key keep their exact text. The result is parsed before it is written:
    if anything besides ``table.key`` would differ, nothing is written and the error names the file.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    except UnicodeDecodeError as exc:
        raise ConfigError(path, f"not valid UTF-8: {exc}") from None
    try:
        before = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, f"not valid TOML: {exc}") from None
    try:
        new_text = _edited(text, table, key, values)
        after = tomllib.loads(new_text)
    except (ConfigError, TOMLKitError, tomllib.TOMLDecodeError):
        after, new_text = None, None
    expected = (
        {**before, table: {**before.get(table, {}), key: list(values)}}
        if isinstance(before.get(table, {}), dict)
        else None
    )
    if after is None or new_text is None or after != expected:
        wanted = tomlkit.dumps({key: _array(values)}).strip()
        raise ConfigError(
            path,
            f"could not change {table}.{key} in place (it is written in a form this "
            f"editor does not rewrite): set {wanted} under [{table}] by hand",
        )
    path.parent.mkdir(parents=True, exist_ok=True)  # a workspace not initialised yet has no config/
    atomic_write_text(path, new_text)
