"""Parse tqdm progress-bar redraws (``desc:  12%|██  | 120/1000 [01:02<07:38,  1.92it/s, k=v]``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_BAR = re.compile(r"^(?P<desc>.*?):\s*(?P<pct>\d+)%\|[^|]*\|\s*(?P<n>\d+)/(?P<total>\d+)\s*\[(?P<inside>[^\]]*)\]")
_RATE = re.compile(r"(?P<value>\d+(?:\.\d+)?|\?)\s*(?P<unit>it/s|s/it)")


@dataclass
class TqdmLine:
    desc: str
    n: int
    total: int
    its: float | None  # iterations per second
    postfix: str  # what follows the rate, e.g. "avr_loss=0.0871"


def parse_tqdm(record: str) -> TqdmLine | None:
    """One tqdm redraw, or None when ``record`` is not a bar with a known total."""
    m = _BAR.search(record)
    if not m:
        return None
    inside = m.group("inside")
    its = None
    postfix = ""
    rate = _RATE.search(inside)
    if rate:
        if rate.group("value") != "?":
            value = float(rate.group("value"))
            if rate.group("unit") == "it/s":
                its = value
            elif value > 0:
                its = 1.0 / value
        postfix = inside[rate.end() :].lstrip(", ").strip()
    return TqdmLine(
        desc=m.group("desc").strip(), n=int(m.group("n")), total=int(m.group("total")), its=its, postfix=postfix
    )


_NUMBER = r"([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|nan|inf)"


def postfix_value(postfix: str, key: str, sep: str = "=") -> float | None:
    """The number after ``key`` + ``sep`` in a tqdm postfix (``avr_loss=0.08``, ``loss: 3.1e-01``)."""
    m = re.search(rf"(?:^|[\s,]){re.escape(key)}\s*{re.escape(sep)}\s*{_NUMBER}", postfix)
    if not m:
        return None
    try:
        return float(m.group(1))
    except ValueError:
        return None
