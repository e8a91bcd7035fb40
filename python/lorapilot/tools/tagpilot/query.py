"""The search/filter language of TagPilot.

Examples::

    tag:"white shirt" AND NOT tag:hat
    -tag:solo width>=1024
    caption:"red dress" OR (captioned:no AND height<512)

Terms: ``tag:V`` (a tag, ``*`` wildcards), ``caption:V`` (text contains),
``name:V`` (file name contains, ``*`` wildcards), ``captioned:yes|no``,
``error:yes|no`` (undecodable image), ``width``/``height``/``tags`` (the tag
count) with ``>= <= > < = !=`` and a number. A bare word searches caption
text. ``-`` before a term negates it. Terms next to each other are ANDed;
``AND``, ``OR``, ``NOT`` and parentheses combine them (NOT binds tightest,
then AND, then OR). Matching is case-insensitive.
"""

from __future__ import annotations

import fnmatch
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from lorapilot.kit.errors import LorapilotError
from lorapilot.tools.tagpilot.index import ImageRecord

Predicate = Callable[[ImageRecord], bool]

_COMPARE = {
    ">=": operator.ge,
    "<=": operator.le,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
    "=": operator.eq,
}
_NUMERIC_FIELDS = {
    "width": lambda r: r.width,
    "height": lambda r: r.height,
    "tags": lambda r: len(r.tags),
}
_TEXT_FIELDS = ("tag", "caption", "name", "captioned", "error")
_TERM_RE = re.compile(r"(?P<neg>-)?(?P<field>[A-Za-z_]+)(?P<op>:|>=|<=|!=|>|<|=)")
_YES = {"yes", "true", "1", "y"}
_NO = {"no", "false", "0", "n"}


class QueryError(LorapilotError):
    """A query that does not parse; the message names the position and the token."""


@dataclass(frozen=True)
class _Token:
    kind: str  # "(" ")" "AND" "OR" "NOT" "TERM" "WORD"
    pos: int
    field: str = ""
    op: str = ""
    value: str = ""
    negated: bool = False


def _read_value(text: str, i: int) -> tuple[str, int]:
    """A quoted ("...", with \\" escapes) or bare (up to space or ')') value starting at ``i``."""
    if i < len(text) and text[i] == '"':
        out, j = [], i + 1
        while j < len(text):
            ch = text[j]
            if ch == "\\" and j + 1 < len(text):
                out.append(text[j + 1])
                j += 2
                continue
            if ch == '"':
                return "".join(out), j + 1
            out.append(ch)
            j += 1
        raise QueryError(f"query: unterminated quote starting at position {i + 1}")
    j = i
    while j < len(text) and not text[j].isspace() and text[j] not in "()":
        j += 1
    return text[i:j], j


def tokenize(text: str) -> list[_Token]:
    tokens, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "()":
            tokens.append(_Token(ch, i))
            i += 1
            continue
        match = _TERM_RE.match(text, i)
        if match and match.group("field").lower() in (*_TEXT_FIELDS, *_NUMERIC_FIELDS):
            value, end = _read_value(text, match.end())
            if value == "" and not text[match.end() :].startswith('""'):
                raise QueryError(f"query: {match.group(0)!r} at position {i + 1} needs a value")
            tokens.append(
                _Token("TERM", i, match.group("field").lower(), match.group("op"), value, bool(match.group("neg")))
            )
            i = end
            continue
        if match:
            raise QueryError(
                f"query: unknown field {match.group('field')!r} at position {i + 1}; "
                f"known: {', '.join((*_TEXT_FIELDS, *_NUMERIC_FIELDS))}"
            )
        negated = ch == "-" and i + 1 < len(text) and not text[i + 1].isspace()
        value, end = _read_value(text, i + 1 if negated else i)
        upper = value.upper()
        if not negated and upper in ("AND", "OR", "NOT") and text[i] != '"':
            tokens.append(_Token(upper, i))
        else:
            tokens.append(_Token("WORD", i, value=value, negated=negated))
        i = end
    return tokens


def _tag_matcher(value: str) -> Predicate:
    wanted = " ".join(value.lower().split())
    if "*" in wanted:
        pattern = re.compile(".*".join(re.escape(p) for p in wanted.split("*")))
        return lambda r: any(pattern.fullmatch(t.lower()) for t in r.tags)
    return lambda r: any(t.lower() == wanted for t in r.tags)


def _yes_no(token: _Token) -> bool:
    value = token.value.lower()
    if value in _YES:
        return True
    if value in _NO:
        return False
    raise QueryError(f"query: {token.field}: expects yes or no, got {token.value!r} at position {token.pos + 1}")


def _term(token: _Token) -> Predicate:
    field, op, value = token.field, token.op, token.value
    if field in _NUMERIC_FIELDS:
        if op == ":":
            op = "="
        try:
            number = float(value)
        except ValueError:
            raise QueryError(
                f"query: {field}{op} expects a number, got {value!r} at position {token.pos + 1}"
            ) from None
        getter, compare = _NUMERIC_FIELDS[field], _COMPARE[op]
        return lambda r: getter(r) is not None and compare(getter(r), number)
    if op != ":":
        raise QueryError(f"query: {field} takes ':', not {op!r} (position {token.pos + 1})")
    if field == "tag":
        return _tag_matcher(value)
    if field == "caption":
        needle = value.lower()
        return lambda r: needle in r.caption.text.lower()
    if field == "name":
        needle = value.lower()
        if "*" in needle:
            return lambda r: fnmatch.fnmatchcase(r.name.lower(), needle)
        return lambda r: needle in r.name.lower()
    if field == "captioned":
        want = _yes_no(token)
        return lambda r: r.captioned == want
    want = _yes_no(token)  # error:
    return lambda r: (r.error is not None) == want


class _Parser:
    def __init__(self, tokens: list[_Token], text: str):
        self.tokens, self.i, self.text = tokens, 0, text

    def peek(self) -> _Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def parse(self) -> Predicate:
        pred = self.parse_or()
        if self.peek() is not None:
            token = self.peek()
            raise QueryError(
                f"query: unexpected {token.kind if token.kind != 'WORD' else repr(token.value)} at position {token.pos + 1}"
            )
        return pred

    def parse_or(self) -> Predicate:
        parts = [self.parse_and()]
        while self.peek() is not None and self.peek().kind == "OR":
            self.take()
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else (lambda r: any(p(r) for p in parts))

    def parse_and(self) -> Predicate:
        parts = [self.parse_not()]
        while self.peek() is not None and self.peek().kind not in ("OR", ")"):
            if self.peek().kind == "AND":
                self.take()
            parts.append(self.parse_not())
        return parts[0] if len(parts) == 1 else (lambda r: all(p(r) for p in parts))

    def parse_not(self) -> Predicate:
        token = self.peek()
        if token is not None and token.kind == "NOT":
            self.take()
            inner = self.parse_not()
            return lambda r: not inner(r)
        return self.parse_atom()

    def parse_atom(self) -> Predicate:
        token = self.peek()
        if token is None:
            raise QueryError("query: ends where a term was expected")
        self.take()
        if token.kind == "(":
            inner = self.parse_or()
            closing = self.peek()
            if closing is None or closing.kind != ")":
                raise QueryError(f"query: '(' at position {token.pos + 1} is not closed")
            self.take()
            return inner
        if token.kind == "TERM":
            pred = _term(token)
        elif token.kind == "WORD":
            needle = token.value.lower()
            pred = lambda r: needle in r.caption.text.lower()  # noqa: E731
        else:
            raise QueryError(f"query: unexpected {token.kind} at position {token.pos + 1}")
        if token.negated:
            positive = pred
            return lambda r: not positive(r)
        return pred


@dataclass(frozen=True)
class Query:
    """A compiled query: ``query.matches(record)``."""

    text: str
    matches: Predicate
    needs_sizes: bool

    def filter(self, records: list[ImageRecord]) -> list[ImageRecord]:
        return [r for r in records if self.matches(r)]


def parse_query(text: str | None) -> Query:
    """Compile ``text``; an empty query matches everything."""
    text = (text or "").strip()
    if not text:
        return Query(text="", matches=lambda r: True, needs_sizes=False)
    tokens = tokenize(text)
    predicate = _Parser(tokens, text).parse()
    needs_sizes = any(t.kind == "TERM" and t.field in ("width", "height", "error") for t in tokens)
    return Query(text=text, matches=predicate, needs_sizes=needs_sizes)
