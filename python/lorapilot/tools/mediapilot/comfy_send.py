""" "Send to ComfyUI": queue an image's stored API graph on a running ComfyUI through ``POST /prompt``.

The UI workflow rides along as ``extra_data.extra_pnginfo.workflow``, so the
image ComfyUI makes carries it and opens as the same workflow in its editor.
"""

from __future__ import annotations

import json
import uuid

from lorapilot.kit.errors import LorapilotError, ServiceError
from lorapilot.tools.mediapilot.library import MediaLibrary
from lorapilot.tools.mediapilot.meta import comfy_texts
from lorapilot.tools.mediapilot.meta.comfy import load_graph


def stored_workflow(lib: MediaLibrary, media_id: int) -> tuple[dict, dict | None]:
    """(API graph, UI workflow or None) stored for an item; a clear error when there is none."""
    texts = lib.raw_chunks(media_id)
    prompt, workflow = comfy_texts(texts)
    graph = load_graph(prompt) if prompt else None
    if graph is None:
        raise LorapilotError(f"media item {media_id} has no ComfyUI prompt graph to send")
    ui = None
    if workflow:
        try:
            ui = json.loads(workflow)
        except ValueError:
            ui = None
    return graph, ui if isinstance(ui, dict) else None


def comfy_url(ctx) -> str:
    """ComfyUI's address in this workspace (loopback, its configured port)."""
    if "comfyui" not in ctx.registry:
        raise LorapilotError("ComfyUI is not enabled in this workspace")
    return f"http://127.0.0.1:{ctx.registry.get('comfyui').port}"


LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def check_loopback(url: str) -> None:
    """Only a ComfyUI on this machine: the API must not become a way to POST anywhere."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.hostname not in LOOPBACK_HOSTS:
        raise LorapilotError(f"ComfyUI url must be http(s) on this machine (127.0.0.1, localhost, ::1), got {url!r}")


def send_to_comfy(lib: MediaLibrary, media_id: int, url: str, timeout: float = 10.0) -> dict:
    """Queue the item's graph; returns ComfyUI's answer (``prompt_id``, ``number``)."""
    import httpx

    check_loopback(url)
    graph, workflow = stored_workflow(lib, media_id)
    body: dict = {"prompt": graph, "client_id": f"lorapilot-{uuid.uuid4().hex[:8]}"}
    if workflow is not None:
        body["extra_data"] = {"extra_pnginfo": {"workflow": workflow}}
    try:
        response = httpx.post(url.rstrip("/") + "/prompt", json=body, timeout=timeout)
    except httpx.HTTPError as exc:
        raise ServiceError(f"cannot reach ComfyUI at {url}: {exc}") from None
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if response.status_code != 200:
        error = answer.get("error") if isinstance(answer, dict) else None
        message = error.get("message") if isinstance(error, dict) else response.text[:300]
        raise ServiceError(f"ComfyUI refused the workflow ({response.status_code}): {message}")
    return answer
