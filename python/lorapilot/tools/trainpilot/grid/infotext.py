"""Each grid cell's generation metadata, written into its PNG so MediaPilot (and A1111/Forge) read it back."""

from __future__ import annotations

import io
import json

from .plan import GridPlan


def _quoted(value) -> str:
    text = str(value)
    return json.dumps(text) if any(c in text for c in ",:\n") else text


def lora_name(checkpoint_path) -> str:
    """The name a ``<lora:NAME:w>`` tag uses: the file name without ``.safetensors``."""
    name = checkpoint_path.name
    return name[: -len(".safetensors")] if name.endswith(".safetensors") else name


def cell_infotext(plan: GridPlan, checkpoint: int, weight: int, prompt: int) -> str:
    """A1111 ``parameters``: the prompt with ``<lora:name:weight>`` (so the LoRA and its weight are
    searchable), the negative prompt, and seed, steps, size and the grid's labels as settings."""
    ckpt = plan.checkpoints[checkpoint]
    strength = plan.weights[weight]
    lines = [f"{plan.prompts[prompt]} <lora:{lora_name(ckpt.path)}:{strength:g}>"]
    if plan.negative and plan.render_family != "flux1":
        lines.append(f"Negative prompt: {plan.negative}")
    pairs = {
        "Steps": plan.steps,
        "Sampler": "Euler",
        "CFG scale": plan.guidance,
        "Seed": plan.seed_of(prompt),
        "Size": f"{plan.width}x{plan.height}",
        "Model": plan.base.name,
        "LoRA": plan.name,
        "Training step": ckpt.step if ckpt.step is not None else "final",
        "Grid": f"{ckpt.label} @ {strength:g}",
    }
    lines.append(", ".join(f"{key}: {_quoted(value)}" for key, value in pairs.items()))
    return "\n".join(lines)


def png_bytes(image, texts: dict[str, str]) -> bytes:
    """``image`` as PNG with ``texts`` as tEXt chunks (``parameters``, ComfyUI's ``prompt``/``workflow``)."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    for key, value in texts.items():
        info.add_text(key, value)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()
