"""The search language, compiled to parameterised SQL.

    castle "blue hair" model:sdxl lora:detail -tag:rejected (sampler:euler OR sampler:dpm)
    seed:18446744073709551615 steps>=20 cfg<7 width>=1024 gen:832x1216 source:comfyui fav:yes
    date>=2026-11-01 path:comfy/ NOT neg:blurry has:workflow type:video 桜 東京

Bare words and "phrases" search the positive prompt through FTS5 (``word*``
for a prefix; Chinese, Japanese and Korean text by any substring, see
``mediapilot.cjk``); ``field:value`` is a substring match, ``field=value`` exact;
numbers take ``= != > >= < <=``. Terms are ANDed; ``OR``, ``NOT`` / ``-`` and
parentheses group them. Results come in keyset pages (a cursor, not an offset)
sorted by date, name or size. ``QUERY_HELP`` is the user's summary (CLI help).
"""

from __future__ import annotations

import base64
import json
import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from lorapilot.kit.errors import LorapilotError
from lorapilot.tools.mediapilot.cjk import cjk_match, split_cjk
from lorapilot.tools.mediapilot.meta.model import MODEL_EXTENSIONS, lora_stem
from lorapilot.tools.mediapilot.query_help import QUERY_HELP  # noqa: F401  (the user's summary, re-exported)


class QueryError(LorapilotError):
    """A search that cannot be understood; the message names the term."""


_TOKEN = re.compile(
    r"""
    \s*(?:
      (?P<lp>\() | (?P<rp>\)) |
      (?P<neg>-)?(?:
        (?P<field>[A-Za-z_]+)(?P<op>>=|<=|!=|:|=|>|<)(?P<val>"(?:[^"\\]|\\.)*"|[^\s()]*) |
        (?P<quoted>"(?:[^"\\]|\\.)*"?) |
        (?P<word>[^\s()"]+)
      )
    )""",
    re.VERBOSE,
)

TEXT_FIELDS = {
    "model": "m.model",
    "sampler": "m.sampler",
    "scheduler": "m.scheduler",
    "name": "m.name",
    "path": "m.rel",
    "format": "m.format",
    "hash": "m.model_hash",
}
# width/height: the file's pixels; genwidth/genheight: the size the generator worked at (gen:WxH for both).
NUMBER_FIELDS = {
    "steps": "m.steps",
    "cfg": "m.cfg",
    "width": "m.width",
    "height": "m.height",
    "size": "m.size",
    "duration": "m.duration",
    "denoise": "m.denoise",
    "genwidth": "m.gen_width",
    "genheight": "m.gen_height",
}
SOURCES = {
    "a1111": "a1111",
    "automatic1111": "a1111",
    "webui": "a1111",
    "forge": "forge",
    "comfyui": "comfyui",
    "comfy": "comfyui",
    "invokeai": "invokeai",
    "invoke": "invokeai",
    "novelai": "novelai",
    "nai": "novelai",
    "trainpilot": "trainpilot",
    "training": "trainpilot",
}
FIELDS = (
    set(TEXT_FIELDS)
    | set(NUMBER_FIELDS)
    | {"lora", "seed", "source", "tag", "fav", "date", "neg", "prompt", "type", "kind", "has", "error", "in", "gen"}
)
# A stored LoRA name without its folder (either slash): what follows the last one. rtrim() strips the
# trailing characters that are not a slash, leaving the folder part, whose length is skipped.
_LORA_PATH = "replace(l.name, '\\', '/')"
_LORA_BASENAME = f"substr({_LORA_PATH}, length(rtrim({_LORA_PATH}, replace({_LORA_PATH}, '/', ''))) + 1)"
_OPS = {":": "=", "=": "=", "!=": "!=", ">": ">", ">=": ">=", "<": "<", "<=": "<="}
_YES = {"yes", "true", "1", "y", "on"}
_NO = {"no", "false", "0", "n", "off"}
_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1024,
    "kb": 1024,
    "kib": 1024,
    "m": 1024**2,
    "mb": 1024**2,
    "mib": 1024**2,
    "g": 1024**3,
    "gb": 1024**3,
    "gib": 1024**3,
}


@dataclass
class Term:
    field: str | None  # None: free text
    op: str
    value: str
    negated: bool = False


def _unquote(text: str) -> str:
    if text.startswith('"'):
        body = text[1:-1] if len(text) > 1 and text.endswith('"') else text[1:]
        return re.sub(r"\\(.)", r"\1", body)
    return text


def tokenize(query: str) -> list:
    tokens, pos = [], 0
    while pos < len(query):
        match = _TOKEN.match(query, pos)
        if not match or match.end() == pos:
            if query[pos:].strip() == "":
                break
            raise QueryError(f"cannot read the search at {query[pos : pos + 20]!r}")
        pos = match.end()
        if match.group("lp"):
            tokens.append("(")
        elif match.group("rp"):
            tokens.append(")")
        elif match.group("field") and match.group("field").lower() in FIELDS:
            tokens.append(
                Term(
                    match.group("field").lower(),
                    match.group("op"),
                    _unquote(match.group("val")),
                    bool(match.group("neg")),
                )
            )
        elif match.group("field"):  # "word:1.2" is prompt text, not an unknown field
            text = match.group(0).strip().lstrip("-")
            tokens.append(Term(None, ":", text, bool(match.group("neg"))))
        elif match.group("quoted") is not None:
            tokens.append(
                Term(
                    None,
                    ":",
                    _unquote(match.group("quoted")),
                    bool(match.group("neg")),
                )
            )
        elif match.group("word") in ("AND", "OR", "NOT"):
            tokens.append(match.group("word"))
        elif match.group("word"):
            tokens.append(Term(None, ":", match.group("word"), bool(match.group("neg"))))
    return tokens


class _Compiler:
    def __init__(self, tokens: list):
        self.tokens, self.pos = tokens, 0
        self.params: list = []

    def peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self):
        token = self.peek()
        self.pos += 1
        return token

    def expr(self) -> str:
        parts = [self.conj()]
        while self.peek() == "OR":
            self.take()
            parts.append(self.conj())
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    def conj(self) -> str:
        parts = []
        while self.peek() not in (None, ")", "OR"):
            if self.peek() == "AND":
                self.take()
                continue
            parts.append(self.unary())
        if not parts:
            raise QueryError("a search group is empty (check AND/OR/NOT and parentheses)")
        return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"

    def unary(self) -> str:
        token = self.take()
        if token == "NOT":
            if self.peek() in (None, ")", "OR", "AND"):
                raise QueryError("NOT needs a term after it")
            return f"NOT coalesce({self.unary()}, 0)"
        if token == "(":
            inner = self.expr()
            if self.take() != ")":
                raise QueryError("a '(' is not closed")
            return inner
        if token == ")":
            raise QueryError("a ')' has no matching '('")
        sql = self.term(token)
        return f"NOT coalesce({sql}, 0)" if token.negated else sql

    # -- terms ---------------------------------------------------------------------------------

    def bind(self, value) -> str:
        self.params.append(value)
        return "?"

    def term(self, t: Term) -> str:
        if t.field in (None, "prompt", "neg"):
            return self.fulltext("negative" if t.field == "neg" else "positive", t.value)
        op = _OPS[t.op]
        if t.field in TEXT_FIELDS:
            column = TEXT_FIELDS[t.field]
            if t.op == ":":
                return f"coalesce({column}, '') LIKE {self.bind(_like(t.value))} ESCAPE '\\'"
            self.need(t, ("=", "!="))
            return f"coalesce({column}, '') {op} {self.bind(t.value)} COLLATE NOCASE"
        if t.field in NUMBER_FIELDS:
            return f"{NUMBER_FIELDS[t.field]} {op} {self.bind(self.number(t))}"
        return getattr(self, f"field_{t.field}")(t, op)

    def need(self, t: Term, ops: tuple) -> None:
        if _OPS[t.op] not in ops:
            raise QueryError(f"{t.field} does not take {t.op!r} (use {' or '.join(ops)}): {t.field}{t.op}{t.value}")

    def number(self, t: Term) -> float:
        text = t.value.strip().lower()
        if t.field == "size":
            match = re.fullmatch(r"([\d.]+)\s*([a-z]*)", text)
            if match and match.group(2) in _SIZE_UNITS:
                try:
                    return float(match.group(1)) * _SIZE_UNITS[match.group(2)]
                except ValueError:
                    pass
            raise QueryError(f"size needs a number of bytes like 500KB or 2MB, got {t.value!r}")
        try:
            return float(text)
        except ValueError:
            raise QueryError(f"{t.field} needs a number, got {t.value!r}") from None

    def fulltext(self, column: str, text: str) -> str:
        prefix = text.endswith("*")
        runs, words = split_cjk(text.rstrip("*"))
        # CJK runs search the bigram index (any substring); the rest of the term, the word index.
        parts = [
            f"m.id IN (SELECT rowid FROM media_cjk WHERE media_cjk MATCH {self.bind(f'{column} : {cjk_match(run)}')})"
            for run in runs
        ]
        if re.search(r"\w", words):
            phrase = '"' + words.strip().replace('"', '""') + '"' + (" *" if prefix and not runs else "")
            parts.append(
                f"m.id IN (SELECT rowid FROM media_fts WHERE media_fts MATCH {self.bind(f'{column} : {phrase}')})"
            )
        if not parts:
            return "1"
        return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"

    def field_lora(self, t: Term, op: str) -> str:
        if t.op == ":":
            cond = f"l.name LIKE {self.bind(_like(t.value))} ESCAPE '\\'"
        else:  # the exact name, or the same name in another folder / with another extension
            self.need(t, ("=", "!="))
            stem = lora_stem(t.value)
            names = [stem, *(stem + ext for ext in MODEL_EXTENSIONS)]
            # The LIKE on the stem first: the folder/extension expression is costly, so only names holding
            # the stem get to it (the query then costs about what lora: does).
            cond = (
                f"(l.name = {self.bind(t.value)} COLLATE NOCASE OR (l.name LIKE {self.bind(_like(stem))} "
                f"ESCAPE '\\' AND lower({_LORA_BASENAME}) IN ({', '.join(self.bind(n) for n in names)})))"
            )
        exists = f"EXISTS (SELECT 1 FROM media_lora l WHERE l.media_id = m.id AND {cond})"
        return f"NOT {exists}" if op == "!=" else exists

    def field_gen(self, t: Term, op: str) -> str:
        self.need(t, ("=", "!="))
        match = re.fullmatch(r"\s*(\d+)\s*[x×]\s*(\d+)\s*", t.value.lower())
        if not match:
            raise QueryError(
                f"gen needs a size like 1024x1024, got {t.value!r} (genwidth>=N, genheight<N compare one side)"
            )
        same = f"(m.gen_width = {self.bind(int(match.group(1)))} AND m.gen_height = {self.bind(int(match.group(2)))})"
        return same if op == "=" else f"NOT coalesce({same}, 0)"

    def field_seed(self, t: Term, op: str) -> str:
        self.need(t, ("=", "!="))
        value = t.value.strip()
        if not re.fullmatch(r"-?\d+", value):
            raise QueryError(f"seed needs a whole number, got {t.value!r}")
        column = "m.seed" if op == "=" else "coalesce(m.seed, '')"  # '=' keeps the seed index usable
        return f"{column} {op} {self.bind(str(int(value)))}"

    def field_source(self, t: Term, op: str) -> str:
        self.need(t, ("=", "!="))
        value = t.value.strip().lower()
        if value in ("none", "unknown", ""):
            return "m.source IS NULL" if op == "=" else "m.source IS NOT NULL"
        if value not in SOURCES:
            raise QueryError(
                f"source must be one of {', '.join(sorted(set(SOURCES.values())))} or none, got {t.value!r}"
            )
        return f"coalesce(m.source, '') {op} {self.bind(SOURCES[value])}"

    def field_tag(self, t: Term, op: str) -> str:
        self.need(t, ("=", "!="))
        exists = f"EXISTS (SELECT 1 FROM media_tag g WHERE g.media_id = m.id AND g.tag = {self.bind(t.value.strip())})"
        return f"NOT {exists}" if op == "!=" else exists

    def flag(self, t: Term) -> bool:
        value = t.value.strip().lower()
        if value in _YES:
            return True
        if value in _NO:
            return False
        raise QueryError(f"{t.field} takes yes or no, got {t.value!r}")

    def field_fav(self, t: Term, op: str) -> str:
        self.need(t, ("=", "!="))
        want = self.flag(t) == (op == "=")
        return "m.fav = 1" if want else "m.fav = 0"

    def field_error(self, t: Term, op: str) -> str:
        self.need(t, ("=", "!="))
        want = self.flag(t) == (op == "=")
        return "m.error IS NOT NULL" if want else "m.error IS NULL"

    def field_type(self, t: Term, op: str) -> str:
        self.need(t, ("=", "!="))
        value = t.value.strip().lower()
        if value not in ("image", "video"):
            raise QueryError(f"type must be image or video, got {t.value!r}")
        return f"m.kind {op} {self.bind(value)}"

    field_kind = field_type

    def field_has(self, t: Term, op: str) -> str:
        self.need(t, ("=", "!="))
        checks = {
            "workflow": "m.has_workflow = 1",
            "error": "m.error IS NOT NULL",
            "metadata": "m.source IS NOT NULL",
            "lora": "EXISTS (SELECT 1 FROM media_lora l WHERE l.media_id = m.id)",
            "tag": "EXISTS (SELECT 1 FROM media_tag g WHERE g.media_id = m.id)",
            "seed": "m.seed IS NOT NULL",
            "negative": "m.negative != ''",
        }
        value = t.value.strip().lower().rstrip("s")
        if value not in checks:
            raise QueryError(f"has: takes one of {', '.join(checks)}, got {t.value!r}")
        return checks[value] if op == "=" else f"NOT {checks[value]}"

    def field_in(self, t: Term, op: str) -> str:
        if t.value.strip().lower() != "trash":
            raise QueryError(f"in: only takes trash, got {t.value!r}")
        return "1"  # the trash scope itself is set by compile_query

    def field_date(self, t: Term, op: str) -> str:
        start, end = _date_range(t.value)
        lo, hi = int(start.timestamp() * 1e9), int(end.timestamp() * 1e9)
        if t.op in (":", "="):
            return f"(m.mtime_ns >= {self.bind(lo)} AND m.mtime_ns < {self.bind(hi)})"
        if op == "!=":
            return f"(m.mtime_ns < {self.bind(lo)} OR m.mtime_ns >= {self.bind(hi)})"
        bound = {">=": lo, ">": hi, "<": lo, "<=": hi}[op]
        sql_op = {">=": ">=", ">": ">=", "<": "<", "<=": "<"}[op]
        return f"m.mtime_ns {sql_op} {self.bind(bound)}"


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _date_range(text: str) -> tuple[datetime, datetime]:
    """A local-time day, month, year or instant as [start, end)."""
    text = text.strip()
    try:
        if re.fullmatch(r"\d{4}", text):
            start = datetime(int(text), 1, 1)
            return start, start.replace(year=start.year + 1)
        if re.fullmatch(r"\d{4}-\d{2}", text):
            start = datetime.strptime(text, "%Y-%m")
            return start, (start + timedelta(days=32)).replace(day=1)
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            start = datetime.strptime(text, "%Y-%m-%d")
            return start, start + timedelta(days=1)
        start = datetime.fromisoformat(text)
        return start, start + timedelta(seconds=1)
    except ValueError:
        raise QueryError(f"date needs YYYY, YYYY-MM, YYYY-MM-DD or an ISO time, got {text!r}") from None


# -- compiling and paging -----------------------------------------------------------------------

SORTS = {"date": "m.mtime_ns", "name": "m.name", "size": "m.size"}


@dataclass
class Compiled:
    where: str
    params: list
    trash: bool


def compile_query(query: str) -> Compiled:
    """The WHERE clause (over ``media m``) and its parameters for a search text."""
    tokens = tokenize(query or "")
    trash = any(isinstance(t, Term) and t.field == "in" for t in tokens)
    scope = "m.trash_id IS NOT NULL" if trash else "m.trash_id IS NULL"
    if not tokens:
        return Compiled(scope, [], trash)
    compiler = _Compiler(tokens)
    where = compiler.expr()
    if compiler.peek() is not None:
        raise QueryError("a ')' has no matching '('")
    return Compiled(f"{scope} AND {where}", compiler.params, trash)


def encode_cursor(value, media_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([value, media_id]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple:
    try:
        value, media_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return value, int(media_id)
    except (ValueError, TypeError):
        raise QueryError(f"invalid page cursor {cursor!r}") from None


@dataclass
class Page:
    rows: list[sqlite3.Row]
    next_cursor: str | None
    total: int | None


LIST_COLUMNS = (
    "m.id, m.root_id, m.rel, m.name, m.kind, m.format, m.size, m.mtime_ns, m.ctime_ns, m.width, "
    "m.height, m.duration, m.source, m.model, m.seed, m.steps, m.cfg, m.sampler, m.fav, m.error, "
    "m.has_workflow, m.trash_id"
)


def search(
    conn: sqlite3.Connection,
    query: str = "",
    sort: str = "date",
    order: str = "desc",
    cursor: str | None = None,
    limit: int = 100,
    with_total: bool = False,
) -> Page:
    """One page of results; pass ``next_cursor`` back for the next page."""
    if sort not in SORTS:
        raise QueryError(f"sort must be one of {', '.join(SORTS)}, got {sort!r}")
    if order not in ("asc", "desc"):
        raise QueryError(f"order must be asc or desc, got {order!r}")
    limit = max(1, min(int(limit), 1000))
    compiled = compile_query(query)
    column = SORTS[sort]
    where, params = compiled.where, list(compiled.params)
    total = None
    if with_total:
        total = conn.execute(f"SELECT count(*) FROM media m WHERE {where}", params).fetchone()[0]
    if cursor:
        value, last_id = decode_cursor(cursor)
        cmp = "<" if order == "desc" else ">"
        where += f" AND ({column} {cmp} ? OR ({column} = ? AND m.id {cmp} ?))"
        params += [value, value, last_id]
    direction = order.upper()
    rows = conn.execute(
        f"SELECT {LIST_COLUMNS} FROM media m WHERE {where} ORDER BY {column} {direction}, m.id {direction} LIMIT ?",
        [*params, limit + 1],
    ).fetchall()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(last[column.split(".")[1]], last["id"])
    return Page(rows, next_cursor, total)
