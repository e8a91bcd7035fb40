"""Push and pull the workspace's areas to and from an S3 bucket, incrementally and resumably (boto3).

Keys are ``<prefix>/<path in the workspace>`` (``lorapilot/models/loras/x.safetensors``).
What was synced is remembered in ``cache/sync-state.json`` (size, mtime, ETag per key): a
file whose size and mtime match the record and whose remote ETag still matches is
skipped, both ways. Big files go up as multipart uploads whose upload id is recorded
before the first part: an interrupted push resumes with the parts the bucket already
has (``list_parts``). Downloads go to ``<file>.sync-part`` and resume with a Range
request pinned to the ETag (``IfMatch``). A pulled file that would replace a different
local one moves that one to the workspace trash first; nothing is deleted remotely.
The TrainPilot database is copied with SQLite's backup API both ways (a consistent
copy while the queue runs).
"""

from __future__ import annotations

import fnmatch
import json
import math
import os
import sqlite3
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from lorapilot.kit.errors import LorapilotError
from lorapilot.kit.fsutil import atomic_write_text
from lorapilot.kit.progress import Progress, check_cancel, no_progress
from lorapilot.kit.safepath import PathEscapeError, resolve_inside
from lorapilot.stack.workspace.secrets import read_secrets

AREA_PATHS = {"loras": "models/loras", "datasets": "datasets", "outputs": "outputs"}
DB_PATH = "apps/trainpilot/queue.db"
SECRET_KEYS = ("SYNC_ACCESS_KEY_ID", "SYNC_SECRET_ACCESS_KEY")
STATE_FILE = "sync-state.json"
_CHUNK = 1024 * 1024
_AUTH_CODES = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AccessDenied",
    "InvalidToken",
    "ExpiredToken",
    "403",
    "401",
}


class SyncError(LorapilotError):
    """Sync cannot go on; the message says what to fix."""


@dataclass
class SyncReport:
    direction: str
    transferred: list[str] = field(default_factory=list)  # workspace paths sent or fetched
    skipped: int = 0  # unchanged since the last sync
    bytes: int = 0
    resumed: dict[str, int] = field(default_factory=dict)  # path -> bytes already there from an interrupted run
    trashed: list[str] = field(default_factory=list)  # local files a pull replaced (in the trash)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def credentials(ws) -> dict[str, str]:
    """The bucket keys from secrets.env, else the environment."""
    values = read_secrets(ws.secrets_file)
    return {key: values.get(key) or os.environ.get(key, "") for key in SECRET_KEYS}


class Syncer:
    """One workspace against one bucket (``settings`` is ``[sync]``)."""

    def __init__(self, ws, settings, creds: dict[str, str]):
        if not settings.bucket:
            raise SyncError(
                "no bucket: set [sync] bucket (and endpoint_url for a non-AWS store) in config/lorapilot.toml"
            )
        if not (creds.get("SYNC_ACCESS_KEY_ID") and creds.get("SYNC_SECRET_ACCESS_KEY")):
            raise SyncError(
                "no keys: `lorapilot secrets set SYNC_ACCESS_KEY_ID` and `lorapilot secrets set SYNC_SECRET_ACCESS_KEY`"
            )
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise SyncError("sync needs boto3: pip install 'lorapilot[sync]'") from None

        self.ws, self.settings = ws, settings
        self.bucket = settings.bucket
        self.s3 = boto3.client(
            "s3",
            endpoint_url=settings.endpoint_url or None,
            region_name=settings.region or "us-east-1",
            aws_access_key_id=creds["SYNC_ACCESS_KEY_ID"],
            aws_secret_access_key=creds["SYNC_SECRET_ACCESS_KEY"],
            config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=10, read_timeout=60),
        )
        self.state_path = ws.cache / STATE_FILE
        self.state = self._load_state()
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- state and selection

    def _load_state(self) -> dict:
        try:
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            state = {}
        state.setdefault("objects", {})
        state.setdefault("uploads", {})
        return state

    def _save_state(self) -> None:
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.state_path, json.dumps(self.state, indent=1, sort_keys=True))

    def key(self, rel: str) -> str:
        return f"{self.settings.prefix}/{rel}" if self.settings.prefix else rel

    def wanted(self, rel: str) -> bool:
        """Is ``rel`` (a workspace path) in a chosen area and through the include/exclude rules?"""
        areas = [AREA_PATHS[a] for a in self.settings.areas if a in AREA_PATHS]
        if not any(rel == a or rel.startswith(a + "/") for a in areas):
            return False
        if self.settings.include and not any(fnmatch.fnmatch(rel, p) for p in self.settings.include):
            return False
        return not any(
            fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(os.path.basename(rel), p) for p in self.settings.exclude
        )

    def local_files(self) -> dict[str, os.stat_result]:
        root = self.ws.root
        found = {}
        for area in self.settings.areas:
            base = root / AREA_PATHS.get(area, "")
            if area not in AREA_PATHS or not base.is_dir():
                continue
            for folder, _dirs, files in os.walk(base):  # never follows a symlinked folder out of the workspace
                for name in files:
                    path = Path(folder) / name
                    if path.is_symlink():
                        continue
                    rel = path.relative_to(root).as_posix()
                    if self.wanted(rel):
                        found[rel] = path.stat()
        return found

    def remote_objects(self) -> dict[str, dict]:
        """key -> {size, etag} of everything under the prefix."""
        out = {}
        paginator = self.s3.get_paginator("list_objects_v2")
        prefix = self.key("")
        for page in self._call(lambda: list(paginator.paginate(Bucket=self.bucket, Prefix=prefix))):
            for obj in page.get("Contents", []):
                out[obj["Key"]] = {"size": obj["Size"], "etag": obj["ETag"]}
        return out

    def _call(self, fn):
        """Run one S3 call; credentials and reachability errors become SyncErrors that say what to do."""
        from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

        try:
            return fn()
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _AUTH_CODES:
                raise SyncError(
                    f"the bucket refused the keys ({code}): check SYNC_ACCESS_KEY_ID / SYNC_SECRET_ACCESS_KEY in secrets.env"
                ) from None
            if code == "NoSuchBucket":
                raise SyncError(
                    f"no bucket {self.bucket!r} at {self.settings.endpoint_url or 'AWS S3'}: create it or fix [sync] bucket"
                ) from None
            raise
        except EndpointConnectionError as exc:
            raise SyncError(f"cannot reach {self.settings.endpoint_url or 'AWS S3'}: {exc}") from None
        except BotoCoreError as exc:
            raise SyncError(f"S3 error: {exc}") from None

    # ---------------------------------------------------------------- push

    def push(self, progress: Progress = no_progress, cancel=None) -> SyncReport:
        """Send new and changed files (and the TrainPilot database) to the bucket."""
        report = SyncReport("push")
        remote = self.remote_objects()
        files = self.local_files()
        todo = []
        for rel, st in sorted(files.items()):
            key = self.key(rel)
            known = self.state["objects"].get(key)
            there = remote.get(key)
            if (
                known
                and there
                and (known["size"], known["mtime_ns"], known["etag"]) == (st.st_size, st.st_mtime_ns, there["etag"])
            ):
                report.skipped += 1
            else:
                todo.append((rel, st))
        total = sum(st.st_size for _, st in todo)
        done = 0
        for rel, st in todo:
            check_cancel(cancel)
            base = done
            etag = self._upload(
                rel,
                self.ws.root / rel,
                st,
                report,
                lambda n, base=base, rel=rel: progress(base + n, total, rel),
                cancel,
            )
            self.state["objects"][self.key(rel)] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "etag": etag}
            self._save_state()
            report.transferred.append(rel)
            report.bytes += st.st_size
            done += st.st_size
        if "trainpilot-db" in self.settings.areas:
            self._push_db(report)
        progress(total, total, "done")
        return report

    def _upload(self, rel, path: Path, st, report, progress, cancel) -> str:
        key = self.key(rel)
        part_size = self.settings.multipart_mb * 1024 * 1024
        if st.st_size < part_size:
            with open(path, "rb") as handle:
                etag = self._call(lambda: self.s3.put_object(Bucket=self.bucket, Key=key, Body=handle))["ETag"]
            progress(st.st_size)
            return etag
        return self._upload_parts(rel, key, path, st, part_size, report, progress, cancel)

    def _upload_parts(self, rel, key, path, st, part_size, report, progress, cancel) -> str:
        from botocore.exceptions import ClientError

        pending = self.state["uploads"].get(key)
        done: dict[int, dict] = {}
        if pending and (pending["size"], pending["mtime_ns"]) == (st.st_size, st.st_mtime_ns):
            part_size = pending["part_size"]
            try:
                pages = self._call(
                    lambda: list(
                        self.s3.get_paginator("list_parts").paginate(
                            Bucket=self.bucket, Key=key, UploadId=pending["upload_id"]
                        )
                    )
                )
                done = {p["PartNumber"]: p for page in pages for p in page.get("Parts", [])}
            except ClientError:  # NoSuchUpload: it expired or was aborted; start again
                pending = None
        else:
            if pending:  # the file changed since: its old parts are worthless
                self._call(
                    lambda: self.s3.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=pending["upload_id"])
                )
            pending = None
        if pending is None:
            upload_id = self._call(lambda: self.s3.create_multipart_upload(Bucket=self.bucket, Key=key))["UploadId"]
            pending = {"upload_id": upload_id, "size": st.st_size, "mtime_ns": st.st_mtime_ns, "part_size": part_size}
            self.state["uploads"][key] = pending
            self._save_state()  # before the first part: an interruption from here on resumes
            done = {}
        count = math.ceil(st.st_size / part_size)
        parts, sent = [], 0
        with open(path, "rb") as handle:
            for number in range(1, count + 1):
                check_cancel(cancel)
                length = min(part_size, st.st_size - (number - 1) * part_size)
                have = done.get(number)
                if have and have["Size"] == length:
                    parts.append({"PartNumber": number, "ETag": have["ETag"]})
                    report.resumed[rel] = report.resumed.get(rel, 0) + length
                else:
                    handle.seek((number - 1) * part_size)
                    body = handle.read(length)
                    answer = self._call(
                        lambda: self.s3.upload_part(
                            Bucket=self.bucket, Key=key, UploadId=pending["upload_id"], PartNumber=number, Body=body
                        )
                    )
                    parts.append({"PartNumber": number, "ETag": answer["ETag"]})
                sent += length
                progress(sent)
        answer = self._call(
            lambda: self.s3.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=pending["upload_id"], MultipartUpload={"Parts": parts}
            )
        )
        del self.state["uploads"][key]
        return answer["ETag"]

    def _push_db(self, report: SyncReport) -> None:
        live = self.ws.root / DB_PATH
        if not live.is_file():
            return
        with tempfile.TemporaryDirectory(dir=self.ws.cache) as tmp:
            copy = Path(tmp) / "queue.db"
            _sqlite_copy(live, copy)
            import hashlib

            digest = hashlib.sha256(copy.read_bytes()).hexdigest()
            key = self.key(DB_PATH)
            if self.state["objects"].get(key, {}).get("sha256") == digest:
                report.skipped += 1
                return
            with open(copy, "rb") as handle:
                etag = self._call(lambda: self.s3.put_object(Bucket=self.bucket, Key=key, Body=handle))["ETag"]
            self.state["objects"][key] = {"sha256": digest, "etag": etag}
            self._save_state()
            report.transferred.append(DB_PATH)

    # ---------------------------------------------------------------- pull

    def pull(self, progress: Progress = no_progress, cancel=None) -> SyncReport:
        """Fetch new and changed files from the bucket; a replaced local file goes to the trash."""
        report = SyncReport("pull")
        remote = self.remote_objects()
        prefix = self.key("")
        todo = []
        for key, obj in sorted(remote.items()):
            rel = key[len(prefix) :]
            if rel == DB_PATH or not self.wanted(rel):
                continue
            try:
                local = resolve_inside(self.ws.root, rel)  # a key naming ../ never writes outside the workspace
            except PathEscapeError:
                raise SyncError(
                    f"the bucket holds a key outside the workspace: {key!r}; nothing was written for it"
                ) from None
            known = self.state["objects"].get(key)
            if local.is_file() and known and known["etag"] == obj["etag"]:
                st = local.stat()
                if (known["size"], known["mtime_ns"]) == (st.st_size, st.st_mtime_ns):
                    report.skipped += 1
                    continue
            todo.append((rel, key, obj, local))
        total = sum(obj["size"] for _, _, obj, _ in todo)
        done = 0
        for rel, key, obj, local in todo:
            check_cancel(cancel)
            base = done
            self._download(
                rel, key, obj, local, report, lambda n, base=base, rel=rel: progress(base + n, total, rel), cancel
            )
            st = local.stat()
            self.state["objects"][key] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "etag": obj["etag"]}
            self._save_state()
            report.transferred.append(rel)
            report.bytes += obj["size"]
            done += obj["size"]
        if "trainpilot-db" in self.settings.areas and self.key(DB_PATH) in remote:
            self._pull_db(remote[self.key(DB_PATH)], report)
        progress(total, total, "done")
        return report

    def _download(self, rel, key, obj, local: Path, report, progress, cancel) -> None:
        part = local.with_name(local.name + ".sync-part")
        meta = local.with_name(local.name + ".sync-part.json")
        local.parent.mkdir(parents=True, exist_ok=True)
        start = 0
        try:
            if json.loads(meta.read_text())["etag"] == obj["etag"] and part.is_file():
                start = part.stat().st_size
        except (OSError, ValueError, KeyError):
            pass
        if start == 0:
            atomic_write_text(meta, json.dumps({"etag": obj["etag"], "key": key}))
        if start:
            report.resumed[rel] = start
        args = {"Bucket": self.bucket, "Key": key, "IfMatch": obj["etag"]}
        if 0 < start < obj["size"]:
            args["Range"] = f"bytes={start}-"
        got = start
        if start < obj["size"]:
            body = self._call(lambda: self.s3.get_object(**args))["Body"]
            with open(part, "ab" if start else "wb") as out:
                for chunk in iter(lambda: body.read(_CHUNK), b""):
                    out.write(chunk)
                    got += len(chunk)
                    progress(got)
                    check_cancel(cancel)
                out.flush()
                os.fsync(out.fileno())
        if part.stat().st_size != obj["size"]:
            raise SyncError(f"{rel}: got {part.stat().st_size} of {obj['size']} bytes; pull again to resume")
        if local.exists():
            from lorapilot.kit.trash import Trash

            report.trashed.append(str(Trash(self.ws.root).move(local, source="sync").original))
        os.replace(part, local)
        meta.unlink(missing_ok=True)

    def _pull_db(self, obj: dict, report: SyncReport) -> None:
        key = self.key(DB_PATH)
        if self.state["objects"].get(key, {}).get("etag") == obj["etag"]:
            report.skipped += 1
            return
        live = self.ws.root / DB_PATH
        live.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.ws.cache) as tmp:
            copy = Path(tmp) / "queue.db"
            self._call(lambda: self.s3.download_file(self.bucket, key, str(copy)))
            _sqlite_copy(copy, live)  # into the live database, under SQLite's own locking
        self.state["objects"][key] = {"etag": obj["etag"]}
        self._save_state()
        report.transferred.append(DB_PATH)


def _sqlite_copy(source: Path, dest: Path) -> None:
    """A consistent copy of a SQLite database (the backup API), even while another process writes it."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(dest)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
