"""A small file another process may rewrite at any time (secrets.env, the token list),
parsed once and re-read only when it changes, so hot request paths cost no read."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")

# A rewrite within this long of the previous one may carry the same mtime (coarse file-system
# clocks) and, with the same size and a reused inode, look unchanged: such a recent file is
# parsed again on every call until it is older than this (git's "racy" index entries).
_RACY_NS = 2_000_000_000


class CachedFile(Generic[T]):
    """``parse(path)`` of ``path``, cached by (inode, mtime, size); ``missing()`` when absent."""

    def __init__(self, path: Path, parse: Callable[[Path], T], missing: Callable[[], T]):
        self.path = path
        self._parse = parse
        self._missing = missing
        self._stamp: tuple[int, int, int] | None = None
        self._value: T | None = None
        self._lock = threading.Lock()

    def get(self) -> T:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return self._missing()
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        with self._lock:
            if stamp != self._stamp:
                self._value = self._parse(self.path)
                settled = time.time_ns() - st.st_mtime_ns > _RACY_NS
                self._stamp = stamp if settled else None
            return self._value
