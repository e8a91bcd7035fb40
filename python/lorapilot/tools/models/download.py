"""Download one file safely: ``.part`` file, Range resume, checksum, disk check.

:func:`download_file` never leaves a half-written file where a model belongs:
bytes go to ``<name>.part`` (kept across interruptions so the next call
resumes with an HTTP Range request), the sha256 is computed as the bytes
arrive, and only the caller renames the verified file into place. It refuses
an HTML page served instead of a model, checks free space before the first
byte, and on a full disk removes its partial file so nothing else suffers.
"""

from __future__ import annotations

import email.message
import errno
import fcntl
import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from lorapilot.kit.errors import LorapilotError
from lorapilot.kit.fsutil import atomic_write_text
from lorapilot.kit.progress import Progress, check_cancel, no_progress
from lorapilot.tools.models.hashing import StreamingSha256

RETRIES = 5
_HTML_PREFIXES = (b"<!doctype html", b"<html", b"<head", b"<!--")


class DownloadError(LorapilotError):
    """A download failed; the message names the URL (never a token) and what to do."""


class ChecksumError(DownloadError):
    """The downloaded bytes do not match the checksum the source gave."""


class DiskFullError(DownloadError):
    """Not enough free space for the download."""


@dataclass(frozen=True)
class DownloadResult:
    path: Path  # the verified .part file, ready to be renamed into place
    size: int
    sha256: str
    server_filename: str | None = None  # from Content-Disposition
    resumed_from: int = 0


def part_path(staging_dir: Path, filename: str) -> Path:
    return staging_dir / f"{filename}.part"


def _meta_path(part: Path) -> Path:
    return part.with_name(part.name + ".json")


def _read_meta(part: Path) -> dict:
    try:
        return json.loads(_meta_path(part).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def discard_part(part: Path) -> None:
    """Remove a partial download and its resume notes."""
    for path in (part, _meta_path(part)):
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def check_free_space(folder: Path, needed: int, what: str) -> None:
    """Raise :class:`DiskFullError` when ``folder``'s file system has less than ``needed`` bytes free."""
    free = shutil.disk_usage(folder).free
    if needed > free:
        raise DiskFullError(
            f"not enough free space for {what}: it needs {_mib(needed)} more but {folder} has {_mib(free)} free"
        )


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MiB"


def _filename_from(response: httpx.Response) -> str | None:
    header = response.headers.get("content-disposition")
    if not header:
        return None
    msg = email.message.Message()
    msg["content-disposition"] = header
    name = msg.get_filename()
    return os.path.basename(name) if name else None


def _looks_like_html(first: bytes) -> bool:
    return first.lstrip()[:20].lower().startswith(_HTML_PREFIXES)


def download_file(
    url: str,
    part: Path,
    *,
    headers: dict[str, str] | None = None,
    expected_size: int | None = None,
    expected_sha256: str | None = None,
    progress: Progress = no_progress,
    cancel: threading.Event | None = None,
    retries: int = RETRIES,
    auth_hint: str = "",
    client: httpx.Client | None = None,
) -> DownloadResult:
    """Fetch ``url`` into ``part``, resuming what an earlier attempt left there.

    Connection drops are retried (``retries`` times) from the byte reached.
    ``expected_size``/``expected_sha256`` (when the source gives them) are
    verified; on a mismatch the partial file is removed and
    :class:`ChecksumError` raised. ``auth_hint`` is added to 401/403 errors
    (e.g. "set HF_TOKEN with `lorapilot secrets set HF_TOKEN`").
    """
    part.parent.mkdir(parents=True, exist_ok=True)
    own_client = client is None
    client = client or httpx.Client(follow_redirects=True, timeout=httpx.Timeout(30.0, read=60.0))
    try:
        with _exclusive(part):
            return _download(
                url,
                part,
                dict(headers or {}),
                expected_size,
                expected_sha256,
                progress,
                cancel,
                retries,
                auth_hint,
                client,
            )
    finally:
        if own_client:
            client.close()


@contextmanager
def _exclusive(part: Path) -> Iterator[None]:
    """One writer per ``.part`` file, across threads and processes (two pulls of one file would interleave bytes).

    A ``<part>.lock`` file is flocked and removed on release; a lock taken on a file another holder has just
    removed is retried, so removing it is safe.
    """
    lock = part.with_name(part.name + ".lock")
    while True:
        fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DownloadError(
                f"{part.name[: -len('.part')]} is being downloaded by another pull right now; wait for it to finish"
            ) from None
        try:
            current = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            current = False
        if current:
            break
        os.close(fd)
    try:
        yield
    finally:
        try:
            lock.unlink()
        except FileNotFoundError:
            pass
        os.close(fd)


def _download(
    url, part, headers, expected_size, expected_sha256, progress, cancel, retries, auth_hint, client
) -> DownloadResult:
    expected_sha256 = expected_sha256.lower() if expected_sha256 else None
    meta = _read_meta(part)
    first_offset = part.stat().st_size if part.exists() else 0
    server_filename = meta.get("filename")
    running = _RunningHash()
    attempt = 0
    while True:
        check_cancel(cancel)
        offset = part.stat().st_size if part.exists() else 0
        if expected_size is not None and offset > expected_size:
            discard_part(part)
            offset = 0
        total = expected_size or meta.get("total")
        if total is not None and offset == total and offset > 0:
            break  # complete already: verify below
        if total is not None:
            check_free_space(part.parent, total - offset, part.name[: -len(".part")])
        try:
            done = _fetch_once(url, part, headers, offset, meta, progress, cancel, auth_hint, client, running)
        except (httpx.TransportError, httpx.RemoteProtocolError) as exc:
            attempt += 1
            if attempt > retries:
                raise DownloadError(
                    f"download of {redact_url(url)} kept failing ({type(exc).__name__}: {exc}); "
                    f"{_mib(part.stat().st_size if part.exists() else 0)} are kept in {part} and the next pull resumes there"
                ) from None
            progress(part.stat().st_size if part.exists() else 0, total, f"connection lost, resuming (try {attempt})")
            time.sleep(min(2.0, 0.2 * attempt))
            meta = _read_meta(part)
            continue
        meta = _read_meta(part)
        server_filename = meta.get("filename") or server_filename
        if done:
            break

    size = part.stat().st_size
    if expected_size is not None and size != expected_size:
        discard_part(part)
        raise ChecksumError(
            f"{redact_url(url)}: got {size} bytes, the source says {expected_size}; the download was removed"
        )
    if running.digest is not None and running.length == size:
        sha = running.digest.hexdigest()  # hashed as it was written: no second read of a big file
    else:  # complete before this call (an earlier run got every byte but stopped before checking them)
        digest = StreamingSha256()
        digest.feed_file(part, cancel)
        sha = digest.hexdigest()
    if expected_sha256 and sha != expected_sha256:
        discard_part(part)
        raise ChecksumError(
            f"{redact_url(url)}: sha256 {sha} does not match the expected {expected_sha256}; the file was not placed"
        )
    with part.open("rb") as fh:
        os.fsync(fh.fileno())
    try:
        _meta_path(part).unlink()
    except FileNotFoundError:
        pass
    return DownloadResult(path=part, size=size, sha256=sha, server_filename=server_filename, resumed_from=first_offset)


def redact_url(url: str) -> str:
    """The URL without its query (signed URLs and tokens live there)."""
    return url.split("?", 1)[0]


class _RunningHash:
    """The sha256 of a ``.part`` file kept up to date as bytes are written to it."""

    def __init__(self) -> None:
        self.digest: StreamingSha256 | None = None
        self.length = 0

    def start(self, part: Path, offset: int, cancel: threading.Event | None) -> None:
        """Writing resumes at ``offset`` (the file holds exactly that much): carry on, or hash what is there."""
        if self.digest is not None and self.length == offset:
            return
        self.digest = StreamingSha256()
        self.length = self.digest.feed_file(part, cancel) if offset else 0

    def update(self, chunk: bytes) -> None:
        self.digest.update(chunk)
        self.length += len(chunk)


def _fetch_once(url, part, headers, offset, meta, progress, cancel, auth_hint, client, running) -> bool:
    """One GET from ``offset``; True when the server sent everything."""
    request_headers = dict(headers)
    request_headers["Accept-Encoding"] = "identity"
    if offset > 0:
        request_headers["Range"] = f"bytes={offset}-"
        if meta.get("validator"):
            request_headers["If-Range"] = meta["validator"]
    with client.stream("GET", url, headers=request_headers) as response:
        status = response.status_code
        if status == 416 and offset > 0:
            # Our part is as long as (or longer than) the file: start over to be sure.
            discard_part(part)
            return False
        if status in (401, 403):
            raise DownloadError(f"{redact_url(url)}: access denied (HTTP {status}). {auth_hint}".strip())
        if status == 404:
            raise DownloadError(f"{redact_url(url)}: not found (HTTP 404)")
        if status >= 400:
            raise DownloadError(f"{redact_url(url)}: the server answered HTTP {status}")
        content_type = response.headers.get("content-type", "").lower()
        if content_type.startswith(("text/html", "application/xhtml")):
            raise DownloadError(
                f"{redact_url(url)} returned an HTML page instead of a model (a login or error page?). {auth_hint}".strip()
            )
        if status == 206:
            start, total = _content_range(response.headers.get("content-range"))
            if start != offset:
                discard_part(part)
                return False
        else:
            offset = 0
            length = response.headers.get("content-length")
            total = int(length) if length and length.isdigit() else None
        if total is not None:
            check_free_space(part.parent, total - offset, part.name[: -len(".part")])
        validator = response.headers.get("etag") or response.headers.get("last-modified")
        new_meta = {
            "total": total,
            "validator": validator,
            "filename": _filename_from(response) or meta.get("filename"),
        }
        atomic_write_text(_meta_path(part), json.dumps(new_meta))

        # Chunks as they arrive: a dropped connection loses nothing already received.
        stream = response.iter_bytes()
        first = b""
        if offset == 0:
            for chunk in stream:
                first += chunk
                if len(first) >= 512:
                    break
            if _looks_like_html(first):
                discard_part(part)
                raise DownloadError(
                    f"{redact_url(url)} returned an HTML page instead of a model (a login or error page?). {auth_hint}".strip()
                )
        done = offset
        try:
            with part.open("r+b" if offset > 0 else "wb") as fh:
                fh.seek(offset)
                fh.truncate()
                running.start(part, offset, cancel)
                if first:
                    fh.write(first)
                    running.update(first)
                    done += len(first)
                    progress(done, total)
                for chunk in stream:
                    check_cancel(cancel)
                    fh.write(chunk)
                    running.update(chunk)
                    done += len(chunk)
                    progress(done, total)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                discard_part(part)
                raise DiskFullError(
                    f"disk full while downloading {redact_url(url)} into {part.parent}; the partial file was removed "
                    "so the disk is usable again — free space and pull again"
                ) from None
            raise
        if total is not None and done < total:
            raise httpx.RemoteProtocolError(f"connection closed at byte {done} of {total}")
        return True


def _content_range(value: str | None) -> tuple[int | None, int | None]:
    """``bytes 100-199/200`` -> (100, 200)."""
    if not value or not value.startswith("bytes "):
        return None, None
    span, _, total = value[6:].partition("/")
    start = span.split("-", 1)[0]
    return (int(start) if start.isdigit() else None, int(total) if total.isdigit() else None)
