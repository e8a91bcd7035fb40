"""The filter language: tag:, -tag:, caption:"...", width>=, height<, captioned:no, AND/OR/NOT, parentheses."""

import pytest

from lorapilot.tools.tagpilot.captions import decode_caption
from lorapilot.tools.tagpilot.index import ImageRecord
from lorapilot.tools.tagpilot.query import QueryError, parse_query


def _record(name, caption, width=512, height=512, error=None):
    return ImageRecord(
        name=name,
        size=1,
        mtime_ns=1,
        width=width,
        height=height,
        error=error,
        caption=decode_caption(caption.encode() if caption is not None else None),
    )


RECORDS = [
    _record("a.png", "1girl, white shirt, red dress", 1024, 1536),
    _record("b.png", "1boy, hat, outdoors", 512, 512),
    _record("c.png", None, 768, 400),
    _record("d.png", "1girl, hat, a photo of a Red Dress", 2048, 1024),
    _record("e.png", "", None, None, error="cannot decode"),
]


def names(query):
    return [r.name for r in parse_query(query).filter(RECORDS)]


@pytest.mark.parametrize(
    "query, expected",
    [
        ("", ["a.png", "b.png", "c.png", "d.png", "e.png"]),
        ("tag:1girl", ["a.png", "d.png"]),
        ('tag:"white shirt"', ["a.png"]),
        ("tag:HAT", ["b.png", "d.png"]),
        ("-tag:hat", ["a.png", "c.png", "e.png"]),
        ("tag:1girl -tag:hat", ["a.png"]),
        ("tag:1girl AND NOT tag:hat", ["a.png"]),
        ('tag:1boy OR tag:"white shirt"', ["a.png", "b.png"]),
        ('caption:"red dress"', ["a.png", "d.png"]),
        ("caption:photo", ["d.png"]),
        ("width>=1024", ["a.png", "d.png"]),
        ("height<512", ["c.png"]),
        ("width=512", ["b.png"]),
        ("width!=512", ["a.png", "c.png", "d.png"]),
        ("captioned:no", ["c.png", "e.png"]),
        ("captioned:yes AND tags>=3", ["a.png", "b.png", "d.png"]),
        ("tag:1* AND (width>=2000 OR tag:1boy)", ["b.png", "d.png"]),
        ("NOT (tag:hat OR captioned:no)", ["a.png"]),
        ("error:yes", ["e.png"]),
        ("name:b.p", ["b.png"]),
        ("name:*.png AND tag:*shirt", ["a.png"]),
        ("outdoors", ["b.png"]),
        ("-outdoors tag:hat", ["d.png"]),
        ("tag:1girl OR tag:1boy AND width<600", ["a.png", "b.png", "d.png"]),  # AND binds tighter than OR
    ],
)
def test_query_selects(query, expected):
    assert names(query) == expected


@pytest.mark.parametrize(
    "query, message",
    [
        ("colour:red", "unknown field 'colour' at position 1"),
        ("width>=big", "width>= expects a number, got 'big'"),
        ("(tag:a", "'(' at position 1 is not closed"),
        ("tag:a )", "unexpected ) at position 7"),
        ('caption:"open', "unterminated quote"),
        ("captioned:maybe", "expects yes or no"),
        ("tag:a AND", "ends where a term was expected"),
        ("tag>3", "tag takes ':'"),
    ],
)
def test_bad_queries_name_the_problem(query, message):
    with pytest.raises(QueryError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_query(query)


def test_needs_sizes_only_when_width_or_height_is_used():
    assert parse_query("tag:a").needs_sizes is False
    assert parse_query("tag:a width>1").needs_sizes is True
