"""Render grid cells through a running ComfyUI: an API graph per cell (the base model's family decides
the loaders), ``POST /prompt``, poll ``GET /history/{id}``, fetch the image with ``GET /view``."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from pathlib import Path

from lorapilot.kit.errors import LorapilotError, ServiceError

from .plan import GridPlan

STAGING = "trainpilot-grid"  # under models/loras/: where ComfyUI finds the checkpoints being compared


def model_loaders(plan: GridPlan, models_root: Path) -> dict:
    """The nodes "1" (model, clip, vae outputs) that load the base model, by family and file layout."""
    base = plan.base
    relative = _relative(base, models_root)
    if plan.render_family == "flux1":
        names = {k: _relative(Path(v), models_root, strip_folder=True) for k, v in plan.extras.items() if v}
        missing = [k for k in ("clip_l", "t5xxl", "ae") if k not in names]
        if missing:
            raise LorapilotError(f"a FLUX.1 grid through ComfyUI needs the profile's {', '.join(missing)}")
        return {
            "1": {"class_type": "UNETLoader", "inputs": {"unet_name": _strip(relative), "weight_dtype": "default"}},
            "1c": {
                "class_type": "DualCLIPLoader",
                "inputs": {"clip_name1": names["clip_l"], "clip_name2": names["t5xxl"], "type": "flux"},
            },
            "1v": {"class_type": "VAELoader", "inputs": {"vae_name": names["ae"]}},
        }
    if base.is_dir():  # a diffusers folder: ComfyUI's DiffusersLoader takes it relative to models/diffusers
        return {"1": {"class_type": "DiffusersLoader", "inputs": {"model_path": _strip(relative)}}}
    return {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": _strip(relative)}}}


def _relative(path: Path, root: Path, strip_folder: bool = False) -> str:
    try:
        rel = path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        raise LorapilotError(f"{path} is outside {root}: ComfyUI only sees the workspace's models folders") from None
    return _strip(rel) if strip_folder else rel


def _strip(rel: str) -> str:
    # "checkpoints/x.safetensors" → "x.safetensors": ComfyUI names files relative to each model-type folder.
    return rel.split("/", 1)[1] if "/" in rel else rel


def cell_graph(plan: GridPlan, models_root: Path, lora: str, weight: float, prompt: int, prefix: str) -> dict:
    """The API-format graph of one cell: loaders → LoraLoader(strength) → text → KSampler → VAEDecode → SaveImage."""
    graph = model_loaders(plan, models_root)
    flux = plan.render_family == "flux1"
    clip_src = ["1c", 0] if flux else ["1", 1]
    vae_src = ["1v", 0] if flux else ["1", 2]
    graph.update(
        {
            "2": {
                "class_type": "LoraLoader",
                "inputs": {
                    "model": ["1", 0],
                    "clip": clip_src,
                    "lora_name": lora,
                    "strength_model": weight,
                    "strength_clip": weight,
                },
            },
            "3": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["2", 1], "text": plan.prompts[prompt]}},
            "4": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["2", 1], "text": "" if flux else plan.negative}},
            "5": {
                "class_type": "EmptyLatentImage",
                "inputs": {"width": plan.width, "height": plan.height, "batch_size": 1},
            },
            "6": {
                "class_type": "KSampler",
                "inputs": {
                    "model": ["2", 0],
                    "positive": ["3", 0],
                    "negative": ["4", 0],
                    "latent_image": ["5", 0],
                    "seed": plan.seed_of(prompt),
                    "steps": plan.steps,
                    "cfg": 1.0 if flux else plan.guidance,
                    "sampler_name": "euler",
                    "scheduler": "normal",
                    "denoise": 1.0,
                },
            },
            "7": {"class_type": "VAEDecode", "inputs": {"samples": ["6", 0], "vae": vae_src}},
            "8": {"class_type": "SaveImage", "inputs": {"images": ["7", 0], "filename_prefix": prefix}},
        }
    )
    if flux:  # FLUX.1 dev takes its distilled guidance as conditioning
        graph["3g"] = {"class_type": "FluxGuidance", "inputs": {"conditioning": ["3", 0], "guidance": plan.guidance}}
        graph["6"]["inputs"]["positive"] = ["3g", 0]
    return graph


class ComfyRenderer:
    """Queues one cell at a time on ComfyUI and waits for its image."""

    name = "comfyui"

    def __init__(self, plan: GridPlan, url: str, models_root: Path, timeout_s: float = 1800, poll_s: float = 0.5):
        import httpx

        from lorapilot.tools.mediapilot import check_loopback

        check_loopback(url)
        self.plan, self.url, self.models_root = plan, url.rstrip("/"), models_root
        self.timeout_s, self.poll_s = timeout_s, poll_s
        self.client = httpx.Client(timeout=30)
        self.client_id = f"lorapilot-grid-{uuid.uuid4().hex[:8]}"
        self.staging = models_root / "loras" / STAGING / f"{plan.name}-{uuid.uuid4().hex[:6]}"
        self._staged: dict[int, str] = {}

    def _stage(self, checkpoint: int) -> str:
        """Put the checkpoint where ComfyUI's LoraLoader finds it (a hard link when possible)."""
        if checkpoint not in self._staged:
            source = self.plan.checkpoints[checkpoint].path
            self.staging.mkdir(parents=True, exist_ok=True)
            target = self.staging / source.name
            if not target.exists():
                try:
                    os.link(source, target)
                except OSError:
                    shutil.copy2(source, target)
            self._staged[checkpoint] = target.relative_to(self.models_root / "loras").as_posix()
        return self._staged[checkpoint]

    def render(self, checkpoint: int, weight: int, prompt: int):
        from PIL import Image

        plan = self.plan
        graph = cell_graph(
            plan,
            self.models_root,
            self._stage(checkpoint),
            plan.weights[weight],
            prompt,
            prefix=f"trainpilot-grid/{plan.name}",
        )
        prompt_id = self._queue(graph)
        image_ref = self._wait(prompt_id)
        data = self._get("/view", params=image_ref).content
        import io

        image = Image.open(io.BytesIO(data))
        image.load()
        # ComfyUI writes its API graph (and workflow) into the PNG; keep them next to our A1111 text.
        texts = {k: v for k, v in image.info.items() if k in ("prompt", "workflow") and isinstance(v, str)}
        return image.convert("RGB"), texts

    def _get(self, path: str, **kwargs):
        import httpx

        try:
            response = self.client.get(self.url + path, **kwargs)
        except httpx.HTTPError as exc:
            raise ServiceError(f"ComfyUI at {self.url} did not answer {path}: {exc}") from exc
        if response.status_code != 200:
            raise ServiceError(f"ComfyUI {path} answered {response.status_code}: {response.text[:300]}")
        return response

    def _queue(self, graph: dict) -> str:
        import httpx

        try:
            response = self.client.post(self.url + "/prompt", json={"prompt": graph, "client_id": self.client_id})
        except httpx.HTTPError as exc:
            raise ServiceError(f"ComfyUI at {self.url} did not take the grid graph: {exc}") from exc
        if response.status_code != 200:
            raise ServiceError(f"ComfyUI refused the grid graph ({response.status_code}): {response.text[:500]}")
        prompt_id = response.json().get("prompt_id")
        if not prompt_id:
            raise ServiceError(f"ComfyUI's /prompt answer has no prompt_id: {response.text[:300]}")
        return prompt_id

    def _wait(self, prompt_id: str) -> dict:
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            entry = self._get(f"/history/{prompt_id}").json().get(prompt_id)
            if entry:
                status = entry.get("status") or {}
                if status.get("status_str") == "error":
                    raise ServiceError(f"ComfyUI failed the grid cell: {_error_text(status)}")
                for output in (entry.get("outputs") or {}).values():
                    for image in output.get("images") or []:
                        return {
                            "filename": image["filename"],
                            "subfolder": image.get("subfolder", ""),
                            "type": image.get("type", "output"),
                        }
                if status.get("completed"):
                    raise ServiceError("ComfyUI finished the grid cell without an image")
            time.sleep(self.poll_s)
        raise ServiceError(f"ComfyUI did not finish a grid cell within {self.timeout_s:.0f} s")

    def close(self) -> None:
        self.client.close()
        shutil.rmtree(self.staging, ignore_errors=True)  # our own links/copies of the job's files
        try:
            self.staging.parent.rmdir()  # only when no other grid is rendering
        except OSError:
            pass


def _error_text(status: dict) -> str:
    for kind, data in status.get("messages") or []:
        if kind == "execution_error" and isinstance(data, dict):
            return f"{data.get('node_type')}: {data.get('exception_message', '').strip()}"
    return "unknown error"


def comfy_running(url: str) -> bool:
    """True when a ComfyUI answers ``/system_stats`` at ``url``."""
    import httpx

    try:
        return httpx.get(url.rstrip("/") + "/system_stats", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
