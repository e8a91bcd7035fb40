"""Rewrite one array of strings in a TOML file in place, keeping everything else byte for byte.

The standard library reads TOML but cannot write it, and tomli-w rewrites a whole file without its
comments. This editor replaces only the text of ``[table] key = [...]`` (or appends it), then parses
the result and checks that nothing but that key changed; a layout it cannot edit (a dotted
``table.key`` at the top, an inline table) is refused with an error instead of being guessed at.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import tomli_w

from lorapilot.kit.errors import ConfigError
from lorapilot.kit.fsutil import atomic_write_text

_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\- ]+?)\s*\]\s*(#.*)?$")  # [table], not [[array]]
_ANY_HEADER = re.compile(r"^\s*\[")


def _array_text(values: list[str]) -> str:
    return "[" + ", ".join(tomli_w.dumps({"v": v}).split("=", 1)[1].strip() for v in values) + "]"


def _value_end(text: str, start: int) -> int:
    """Index just past the array that starts at ``text[start] == '['`` (strings and comments skipped)."""
    depth, i = 0, start
    while i < len(text):
        ch = text[i]
        if ch in "\"'":
            triple = text.startswith(ch * 3, i)
            quote = ch * 3 if triple else ch
            i += len(quote)
            while i < len(text) and not text.startswith(quote, i):
                i += 2 if ch == '"' and text[i] == "\\" else 1
            i += len(quote)
            continue
        if ch == "#":
            i = text.find("\n", i)
            if i < 0:
                break
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return -1


def _table_span(lines: list[str], table: str) -> tuple[int, int] | None:
    """(first body line, end line) of ``[table]``, or None when the file has no such header."""
    for n, line in enumerate(lines):
        m = _HEADER.match(line)
        if m and m.group(1).replace(" ", "") == table:
            end = next((k for k in range(n + 1, len(lines)) if _ANY_HEADER.match(lines[k])), len(lines))
            return n + 1, end
    return None


def _replace(text: str, table: str, key: str, values: list[str]) -> str:
    lines = text.splitlines(keepends=True)
    span = _table_span(lines, table)
    new_assignment = f"{key} = {_array_text(values)}"
    if span is None:
        sep = "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
        return f"{text}{sep}[{table}]\n{new_assignment}\n"
    first, end = span
    offset = sum(len(line) for line in lines[:first])
    body = "".join(lines[first:end])
    m = re.search(rf"(?m)^[ \t]*{re.escape(key)}[ \t]*=[ \t]*", body)
    if m is None:  # the table exists without the key: add it as the table's first line
        return text[:offset] + new_assignment + "\n" + text[offset:]
    start = offset + m.start()
    array_at = offset + m.end()
    stop = _value_end(text, array_at) if text[array_at:array_at + 1] == "[" else -1
    if stop < 0:
        raise ConfigError(None, f"{key} in [{table}] is not an array this editor can rewrite")
    return text[:start] + new_assignment.lstrip() + text[stop:]


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
        new_text = _replace(text, table, key, values)
        after = tomllib.loads(new_text)
    except (ConfigError, tomllib.TOMLDecodeError):
        after, new_text = None, None
    expected = {**before, table: {**before.get(table, {}), key: list(values)}} \
        if isinstance(before.get(table, {}), dict) else None
    if after is None or after != expected:
        raise ConfigError(path, f"could not change {table}.{key} in place (it is written in a form this "
                                f"editor does not rewrite, e.g. a dotted key or an inline table): set "
                                f"{key} = {_array_text(values)} under [{table}] by hand")
    path.parent.mkdir(parents=True, exist_ok=True)  # a workspace not initialised yet has no config/
    atomic_write_text(path, new_text)
