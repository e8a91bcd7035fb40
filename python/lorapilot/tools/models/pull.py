"""``lorapilot models pull``: resolve a source, download, verify, place by type.

Downloads are staged in ``models/.incoming/`` (same file system as the
store, so placing is an atomic rename; resuming finds the ``.part`` there).
A file whose sha256 is already in the store is not downloaded again.
"""

from __future__ import annotations

import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from lorapilot.kit.errors import ConflictError, LorapilotError
from lorapilot.kit.progress import Progress, check_cancel, no_progress
from lorapilot.kit.safepath import check_name, resolve_inside
from lorapilot.stack.workspace.secrets import read_secrets
from lorapilot.tools.models import sources
from lorapilot.tools.models.detect import detect
from lorapilot.tools.models.download import check_free_space, discard_part, download_file, part_path, redact_url
from lorapilot.tools.models.inspect import FORMATS
from lorapilot.tools.models.manifest import load_manifest
from lorapilot.tools.models.safetensors_header import SafetensorsError, read_header
from lorapilot.tools.models.sidecars import write_sidecars
from lorapilot.tools.models.store import ModelStore, check_folder

INCOMING = ".incoming"


@dataclass
class PullResult:
    source: str
    title: str
    placed: list[str] = field(default_factory=list)  # paths written into the store
    existing: list[str] = field(default_factory=list)  # already in the store: nothing downloaded
    bytes_downloaded: int = 0
    resumed_from: int = 0

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def tokens_for(ws) -> dict[str, str]:
    """HF_TOKEN / CIVITAI_TOKEN from secrets.env, else the environment. Never shown anywhere."""
    values = read_secrets(ws.secrets_file)
    return {key: values.get(key) or os.environ.get(key, "") for key in ("HF_TOKEN", "CIVITAI_TOKEN")}


def pull(
    store: ModelStore,
    source: str,
    folder: str | None = None,
    progress: Progress = no_progress,
    cancel: threading.Event | None = None,
    client: httpx.Client | None = None,
) -> PullResult:
    """Download ``source`` into the store (``folder``, else the source's type, else the detected one)."""
    if folder is not None:
        check_folder(folder)
    with sources.use_endpoints(store.civitai_url, store.hf_url):
        return _pull(store, source, folder, progress, cancel, client)


def _pull(store, source, folder, progress, cancel, client) -> PullResult:
    plan = sources.resolve(source, tokens_for(store.ws), client)
    staging = store.ws.models / INCOMING
    staging.mkdir(parents=True, exist_ok=True)
    result = PullResult(source=source, title=plan.title)
    if plan.bundle:
        _pull_bundle(store, plan, folder or plan.folder or "diffusers", staging, result, progress, cancel, client)
    else:
        _pull_file(store, plan, plan.files[0], folder, staging, result, progress, cancel, client)
    return result


def pull_manifest(
    store: ModelStore, name: str, progress: Progress = no_progress, cancel=None, client=None
) -> list[PullResult]:
    """Pull a named entry of ``config/models.toml`` and the entries it ``requires``."""
    manifest = load_manifest(store.ws)
    results = []
    for entry_name in manifest.with_requirements(name):
        entry = manifest.models[entry_name]
        check_cancel(cancel)
        result = pull(store, entry.source, entry.type, progress, cancel, client)
        if entry.sha256:
            for placed in result.placed + result.existing:
                _check_manifest_hash(store, Path(placed), entry_name, entry.sha256)
        results.append(result)
    return results


def _check_manifest_hash(store: ModelStore, path: Path, name: str, sha256: str) -> None:
    if path.is_file() and store.hash(path)["sha256"] != sha256.lower():
        store.delete(str(path))
        raise LorapilotError(
            f"config/models.toml [{name}]: sha256 of {path.name} differs from the manifest; moved it to the trash"
        )


def _pull_file(store, plan, remote, folder, staging, result, progress, cancel, client) -> None:
    if remote.sha256:
        existing = store.find_by_sha256(remote.sha256)
        if existing is not None:
            result.existing.append(str(existing))
            progress(1, 1, f"already in the store: {existing}")
            return
    filename = remote.filename or _fallback_name(remote.url)
    check_name(filename, "file name")
    if remote.size_hint and not remote.size:
        part = part_path(staging, filename)
        have = part.stat().st_size if part.exists() else 0
        check_free_space(staging, max(0, remote.size_hint - have), filename)
    part = part_path(staging, filename)
    downloaded = download_file(
        remote.url,
        part,
        headers=plan.headers,
        expected_size=remote.size,
        expected_sha256=remote.sha256,
        progress=lambda cur, total=None, msg="": progress(cur, total, msg or filename),
        cancel=cancel,
        auth_hint=plan.auth_hint,
        client=client,
    )
    result.bytes_downloaded += downloaded.size - downloaded.resumed_from
    result.resumed_from = downloaded.resumed_from
    final_name = filename
    if remote.filename is None and downloaded.server_filename:
        final_name = check_name(downloaded.server_filename, "file name from the server")
    if os.path.splitext(final_name)[1].lower() not in FORMATS:
        discard_part(part)
        raise LorapilotError(
            f"{redact_url(remote.url)} did not name a model file (got {final_name!r}); the download was removed"
        )
    folder = folder or _source_folder(plan.folder, part, final_name) or _detect_folder(part, final_name)
    dest = store.ws.models / folder / final_name
    if dest.exists():
        if store.hash(dest)["sha256"] == downloaded.sha256:
            discard_part(part)
            result.existing.append(str(dest))
            return
        raise ConflictError(
            f"{dest} exists with different content; rename or delete it and pull again "
            f"(the download is kept in {part} and will not be fetched again)"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.rename(part, dest)
    st = dest.stat()
    store.cache.put_hashes(str(dest), st.st_size, st.st_mtime_ns, downloaded.sha256, None)
    result.placed.append(str(dest))
    if plan.info:
        progress(1, 1, "saving the model's info and preview")
        write_sidecars(dest, plan.info, client)


def _fallback_name(url: str) -> str:
    import hashlib

    return f"download-{hashlib.sha256(url.split('?', 1)[0].encode()).hexdigest()[:12]}"


def _source_folder(source_folder: str | None, part: Path, name: str) -> str | None:
    """The folder the source names, except a "Checkpoint" that is only a diffusion model (CivitAI lists FLUX
    fine-tunes so): ComfyUI's checkpoint loader cannot load one, its diffusion-model loader reads diffusion_models/."""
    if source_folder != "checkpoints" or not name.lower().endswith((".safetensors", ".sft")):
        return source_folder
    try:
        kind = detect(read_header(part)).kind
    except SafetensorsError:
        return source_folder  # _detect_folder is not reached; the file is placed as the source says
    return "diffusion_models" if kind == "diffusion_model" else source_folder


def _detect_folder(part: Path, name: str) -> str:
    """The store folder from the downloaded file's own header."""
    if not name.lower().endswith((".safetensors", ".sft")):
        raise LorapilotError(
            f"cannot tell what {name} is without reading a pickle: pass --type (it is kept in {part.parent})"
        )
    try:
        detection = detect(read_header(part))
    except SafetensorsError as exc:
        discard_part(part)
        raise LorapilotError(f"the download is not a valid safetensors file and was removed: {exc}") from None
    if detection.folder is None:
        raise LorapilotError(f"cannot tell what kind of model {name} is: pass --type (it is kept in {part.parent})")
    return detection.folder


def _pull_bundle(store, plan, folder, staging, result, progress, cancel, client) -> None:
    check_name(plan.bundle, "model folder name")
    dest = store.ws.models / folder / plan.bundle
    if dest.exists():
        raise ConflictError(f"{dest} already exists; delete or rename it to pull {plan.title} again")
    bundle_dir = staging / plan.bundle
    total = sum(f.size or 0 for f in plan.files)
    already = sum(f.size or 0 for f in plan.files if (bundle_dir / f.relpath).is_file())
    check_free_space(staging, max(0, total - already), plan.title)
    done = 0
    for remote in plan.files:
        check_cancel(cancel)
        target = resolve_inside(bundle_dir, remote.relpath)  # sources checked it too; a bundle never leaves its folder
        if target.is_file() and (remote.size is None or target.stat().st_size == remote.size):
            done += target.stat().st_size
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        base = done
        got = download_file(
            remote.url,
            part_path(target.parent, target.name),
            headers=plan.headers,
            expected_size=remote.size,
            expected_sha256=remote.sha256,
            progress=lambda cur, _t=None, msg="", base=base, name=remote.relpath: progress(
                base + cur, total or None, name
            ),
            cancel=cancel,
            auth_hint=plan.auth_hint,
            client=client,
            # Small config files come without a checksum; the big weights carry one.
        )
        os.rename(got.path, target)
        result.bytes_downloaded += got.size - got.resumed_from
        done += got.size
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.rename(bundle_dir, dest)
    result.placed.append(str(dest))


def partial_downloads(store: ModelStore) -> list[tuple[Path, int]]:
    """What interrupted pulls left in ``models/.incoming`` for the next pull to resume: (path, bytes)."""
    staging = store.ws.models / INCOMING
    if not staging.is_dir():
        return []
    return sorted(
        (p, p.stat().st_size)
        for p in staging.rglob("*")
        if p.is_file() and not p.name.endswith((".part.json", ".part.lock"))
    )


def clear_incoming(store: ModelStore) -> int:
    """Remove every partial download (those pulls start over); returns the bytes freed."""
    staging = store.ws.models / INCOMING
    if not staging.exists():
        return 0
    freed = sum(p.stat().st_size for p in staging.rglob("*") if p.is_file())
    shutil.rmtree(staging)
    return freed
