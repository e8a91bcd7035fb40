"""Download locked wheels once into a cache, verified against the lock's sha256."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import httpx

from lorapilot.kit.errors import LorapilotError
from lorapilot.stack.delivery.locks import LockedFile


class DownloadError(LorapilotError):
    """A wheel could not be fetched or did not match its lock (it names the file)."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cached_wheel(
    locked: LockedFile,
    cache_dir: Path,
    on_bytes: Callable[[int], None] | None = None,
    client: httpx.Client | None = None,
) -> Path:
    """The cached file of ``locked``, downloaded first when missing. ``on_bytes`` sees progress."""
    target = cache_dir / (locked.sha256 or "unhashed") / locked.filename
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + f".part{os.getpid()}")
    own = client is None
    client = client or httpx.Client(follow_redirects=True, timeout=httpx.Timeout(60, read=300))
    try:
        with client.stream("GET", locked.url) as reply:
            if reply.status_code != 200:
                raise DownloadError(f"{locked.filename}: HTTP {reply.status_code} from {locked.url}")
            with partial.open("wb") as fh:
                for chunk in reply.iter_bytes(1 << 20):
                    fh.write(chunk)
                    if on_bytes:
                        on_bytes(len(chunk))
        if locked.sha256 and _sha256(partial) != locked.sha256:
            raise DownloadError(f"{locked.filename}: sha256 differs from the lock's {locked.sha256}")
        os.replace(partial, target)  # whole and verified, or not there at all
    except httpx.HTTPError as exc:
        raise DownloadError(f"{locked.filename}: {exc}") from None
    finally:
        partial.unlink(missing_ok=True)
        if own:
            client.close()
    return target
