"""Register the shared store with InvokeAI in place (no copies).

For each store folder InvokeAI understands: ``GET /api/v2/models/scan_folder
?scan_path=DIR`` lists the models there and whether each is installed; each
one that is not is installed with ``POST /api/v2/models/install?source=PATH
&inplace=true`` (body ``{}``), and the returned job is followed on ``GET
/api/v2/models/install/{id}`` until it completes or fails.

Idempotent: installed models are skipped, and files InvokeAI rejected are
remembered (by size and mtime) in ``apps/invokeai/lorapilot-sync.json`` so the
post-start task does not retry them on every start.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from lorapilot.kit.errors import LorapilotError
from lorapilot.kit.fsutil import atomic_write_text
from lorapilot.kit.progress import Progress, check_cancel, no_progress

# Store folders whose contents InvokeAI can register.
INVOKEAI_FOLDERS = (
    "checkpoints",
    "diffusion_models",
    "unet",
    "diffusers",
    "loras",
    "vae",
    "text_encoders",
    "clip",
    "clip_vision",
    "controlnet",
    "t2i_adapter",
    "embeddings",
    "upscale_models",
)
_DONE = {"completed", "error", "cancelled"}


@dataclass
class SyncReport:
    installed: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # rejected before and unchanged since
    failed: list[tuple[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "installed": self.installed,
            "already": self.already,
            "skipped": self.skipped,
            "failed": [{"path": p, "error": e} for p, e in self.failed],
        }


class InvokeAIError(LorapilotError):
    pass


def wait_until_up(base_url: str, timeout: float, client: httpx.Client, cancel: threading.Event | None = None) -> None:
    """Wait for InvokeAI's ``/api/v1/app/version`` to answer."""
    deadline = time.monotonic() + timeout
    while True:
        check_cancel(cancel)
        try:
            if client.get(f"{base_url}/api/v1/app/version").status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise InvokeAIError(f"InvokeAI at {base_url} did not answer within {timeout:.0f}s; is it running?")
        time.sleep(1)


def sync_invokeai(
    base_url: str,
    roots: list[Path],
    state_file: Path,
    *,
    retry_failed: bool = False,
    job_timeout: float = 600,
    progress: Progress = no_progress,
    cancel: threading.Event | None = None,
    client: httpx.Client | None = None,
) -> SyncReport:
    """Register every model under ``roots`` (their InvokeAI-readable folders) in place."""
    own = client is None
    client = client or httpx.Client(timeout=60)
    try:
        return _sync(base_url.rstrip("/"), roots, state_file, retry_failed, job_timeout, progress, cancel, client)
    finally:
        if own:
            client.close()


def _load_state(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _fingerprint(path: str) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def _sync(base, roots, state_file, retry_failed, job_timeout, progress, cancel, client) -> SyncReport:
    report = SyncReport()
    rejected: dict = {} if retry_failed else _load_state(state_file).get("rejected", {})
    found: list[tuple[str, bool]] = []
    for root in roots:
        for folder in INVOKEAI_FOLDERS:
            directory = Path(root) / folder
            if not directory.is_dir() or not any(directory.iterdir()):
                continue
            response = _call(client, "GET", f"{base}/api/v2/models/scan_folder", params={"scan_path": str(directory)})
            if response.status_code != 200:
                raise InvokeAIError(
                    f"InvokeAI could not scan {directory} (HTTP {response.status_code}: {_detail(response)})"
                )
            found += [(item["path"], bool(item.get("is_installed"))) for item in response.json()]
    todo = []
    for path, installed in found:
        if installed:
            report.already.append(path)
        elif path in rejected and rejected[path].get("fingerprint") == _fingerprint(path):
            report.skipped.append(path)
        else:
            todo.append(path)
    found_paths = {p for p, _ in found}
    new_rejected = {p: v for p, v in rejected.items() if p in found_paths and p not in todo}
    for index, path in enumerate(todo):
        check_cancel(cancel)
        progress(index, len(todo), os.path.basename(path))
        error = _install(client, base, path, job_timeout, cancel)
        if error is None:
            report.installed.append(path)
        elif error == "already":
            report.already.append(path)
        else:
            report.failed.append((path, error))
            new_rejected[path] = {"fingerprint": _fingerprint(path), "error": error}
    progress(len(todo), len(todo), "done")
    state_file.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(state_file, json.dumps({"rejected": new_rejected}, indent=1) + "\n")
    return report


def _call(client: httpx.Client, method: str, url: str, **kwargs) -> httpx.Response:
    try:
        return client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        raise InvokeAIError(f"cannot reach InvokeAI ({url.split('/api/')[0]}): {exc}") from None


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
        return str(detail) if detail else response.reason_phrase
    except (ValueError, AttributeError):
        return response.reason_phrase


def _install(client, base, path, job_timeout, cancel) -> str | None:
    """None when installed, "already" when InvokeAI has it, else the error."""
    response = _call(
        client, "POST", f"{base}/api/v2/models/install", params={"source": path, "inplace": "true"}, json={}
    )
    if response.status_code == 409:  # InvokeAI's answer to a ValueError while queueing, e.g. a duplicate source
        return "already"
    if response.status_code == 415:
        return "InvokeAI does not recognise this model format"
    if response.status_code not in (200, 201):
        return f"install refused (HTTP {response.status_code}: {_detail(response)})"
    job = response.json()
    deadline = time.monotonic() + job_timeout
    while job.get("status") not in _DONE:
        check_cancel(cancel)
        if time.monotonic() > deadline:
            return f"install job {job.get('id')} did not finish within {job_timeout:.0f}s"
        time.sleep(0.2)
        response = _call(client, "GET", f"{base}/api/v2/models/install/{job['id']}")
        if response.status_code != 200:
            return f"install job {job.get('id')} vanished (HTTP {response.status_code})"
        job = response.json()
    if job["status"] == "completed":
        return None
    if job.get("error_reason") == "DuplicateModelException":
        return "already"  # installed by someone else since our scan (InvokeAI's paths are unique)
    return job.get("error") or job.get("error_reason") or job["status"]


def state_file_for(ws) -> Path:
    return ws.state_dir("invokeai") / "lorapilot-sync.json"


def sync_for_context(
    ctx,
    url: str | None = None,
    wait_s: float = 0,
    retry_failed: bool = False,
    progress: Progress = no_progress,
    cancel: threading.Event | None = None,
) -> SyncReport:
    """:func:`sync_invokeai` for a workspace: its InvokeAI port and every store root."""
    from lorapilot.tools.models.store import ModelStore

    if url is None:
        if "invokeai" not in ctx.registry:
            raise InvokeAIError("InvokeAI is not a component of this workspace")
        url = f"http://127.0.0.1:{ctx.registry.get('invokeai').port}"
    with httpx.Client(timeout=60) as client:
        if wait_s:
            wait_until_up(url, wait_s, client, cancel)
        return sync_invokeai(
            url,
            ModelStore.for_context(ctx).roots,
            state_file_for(ctx.workspace),
            retry_failed=retry_failed,
            progress=progress,
            cancel=cancel,
            client=client,
        )


def register_new_models(ctx) -> SyncReport | None:
    """Register what is new in the store with InvokeAI, if it is enabled and answering (after a training).

    Best effort: None when InvokeAI is disabled or down, which is no error, since its post-start task
    registers the store at its next start. Already-registered models are skipped, so this is cheap.
    """
    if "invokeai" not in ctx.registry or not ctx.registry.get("invokeai").enabled:
        return None
    try:
        return sync_for_context(ctx)
    except InvokeAIError:
        return None
