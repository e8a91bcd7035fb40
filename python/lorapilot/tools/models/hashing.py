"""Model hashes: sha256, A1111 "AutoV2" and the LoRA "addnet" hash.

- sha256: of the whole file.
- AutoV2: the first 10 hex characters of that sha256 (what A1111 writes as
  ``Model hash`` and CivitAI lists as AutoV2).
- addnet: sha256 of the bytes after the safetensors header (the tensor data),
  so editing a LoRA's metadata does not change it.

Files are streamed in fixed-size chunks into one reused buffer: memory stays
bounded whatever the file size, and hashlib releases the GIL while it works.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from lorapilot.kit.progress import Progress, check_cancel, no_progress

CHUNK_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Hashes:
    sha256: str
    addnet: str | None = None

    @property
    def autov2(self) -> str:
        return self.sha256[:10]

    def to_dict(self) -> dict:
        return {"sha256": self.sha256, "autov2": self.autov2, "addnet": self.addnet}


def hash_file(
    path: str | os.PathLike,
    addnet_offset: int | None = None,
    progress: Progress = no_progress,
    cancel: threading.Event | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> Hashes:
    """Hash ``path`` in one streaming pass.

    With ``addnet_offset`` (a safetensors file's data offset, 8 + header length)
    the addnet hash of the bytes from there on is computed in the same pass.
    ``progress`` gets bytes done and the file size; ``cancel`` stops it.
    """
    path = Path(path)
    full = hashlib.sha256()
    tail = hashlib.sha256() if addnet_offset is not None else None
    buf = bytearray(chunk_bytes)
    view = memoryview(buf)
    done = 0
    with path.open("rb", buffering=0) as fh:
        size = os.fstat(fh.fileno()).st_size
        if hasattr(os, "posix_fadvise"):
            os.posix_fadvise(fh.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
        progress(0, size, path.name)
        while True:
            check_cancel(cancel)
            n = fh.readinto(buf)
            if not n:
                break
            chunk = view[:n]
            full.update(chunk)
            if tail is not None:
                if done >= addnet_offset:
                    tail.update(chunk)
                elif done + n > addnet_offset:
                    tail.update(chunk[addnet_offset - done :])
            done += n
            progress(done, size)
    return Hashes(sha256=full.hexdigest(), addnet=tail.hexdigest() if tail is not None else None)


class StreamingSha256:
    """sha256 of bytes as they are written (downloads verify without a second read)."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()

    def update(self, data: bytes | memoryview) -> None:
        self._hash.update(data)

    def feed_file(self, path: Path, cancel: threading.Event | None = None) -> int:
        """Feed the existing bytes of ``path`` (a partial download being resumed)."""
        total = 0
        buf = bytearray(CHUNK_BYTES)
        with Path(path).open("rb", buffering=0) as fh:
            while True:
                check_cancel(cancel)
                n = fh.readinto(buf)
                if not n:
                    return total
                self._hash.update(memoryview(buf)[:n])
                total += n

    def hexdigest(self) -> str:
        return self._hash.hexdigest()
