"""CJK text in the full-text index: overlapping two-character tokens.

FTS5's unicode61 tokenizer treats a run of Chinese, Japanese or Korean characters
as one word, so ``桜`` or ``東京`` inside ``夜の東京の桜`` cannot be found. Beside the
word index, ``media_cjk`` holds each run as bigram tokens: ``東京都`` becomes
``東京 京都 都`` (every character starts exactly one token; the last one of a run
stands alone). A search for a run of two or more characters is the phrase of its
bigrams (``京都`` -> ``"京都"``, ``東京都`` -> ``"東京 京都"``), so it matches any
substring; a single character is the prefix query ``"桜" *``, which matches every
token starting with it, i.e. every place it occurs. Text without CJK costs one
``str.isascii`` (or one regex scan) per prompt.
"""

from __future__ import annotations

import re

# Han (with extensions A-G and compatibility ideographs), kana, Hangul syllables and jamo, iteration marks.
CJK_RUN = re.compile(
    "[\u1100-\u11ff\u3005-\u3007\u3021-\u3029\u3031-\u3035\u3040-\u30ff\u3130-\u318f\u31f0-\u31ff"
    "\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003134f]+"
)


def cjk_tokens(text: str) -> str:
    """The bigram tokens of every CJK run in ``text``, space-separated ('' when there is none)."""
    if not text or text.isascii():
        return ""
    out = []
    for run in CJK_RUN.findall(text):
        out.extend(run[i : i + 2] for i in range(len(run) - 1))
        out.append(run[-1])
    return " ".join(out)


def split_cjk(text: str) -> tuple[list[str], str]:
    """(the CJK runs of a search term, the rest of it with the runs replaced by spaces)."""
    if text.isascii():
        return [], text
    return CJK_RUN.findall(text), CJK_RUN.sub(" ", text)


def cjk_match(run: str) -> str:
    """The FTS5 query (over ``media_cjk``) for a CJK run: the phrase of its bigrams, or a prefix."""
    if len(run) == 1:
        return f'"{run}" *'
    return '"' + " ".join(run[i : i + 2] for i in range(len(run) - 1)) + '"'
