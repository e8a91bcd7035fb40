"""InvokeAI: ``invokeai_metadata`` (3.x and later), ``invokeai_graph``, and 2.x ``sd-metadata``.

3.x files may carry only ``invokeai_metadata`` (no graph): that alone is enough.
Model and LoRA records changed shape across versions (``{"model_name", "base_model"}``
in 3.0-3.3, ``{"key", "hash", "name", "base"}`` later); both are read.
"""

from __future__ import annotations

import json
import re
from typing import Any

from lorapilot.tools.mediapilot.meta.model import GenInfo, to_float, to_int, to_str

_CORE_METADATA_TYPES = {"core_metadata", "metadata_accumulator", "metadata"}
_MODEL_LOADERS = {"main_model_loader", "sdxl_model_loader", "flux_model_loader", "sd3_model_loader"}
_LORA_LOADERS = {"lora_loader", "sdxl_lora_loader", "flux_lora_loader", "lora_selector"}
_PROMPT_NODES = {"compel", "sdxl_compel_prompt", "flux_text_encoder", "sd3_text_encoder"}
_DENOISE_NODES = {"denoise_latents", "flux_denoise", "sd3_denoise", "tiled_multi_diffusion_denoise_latents"}


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _model_name(record: Any) -> tuple[str | None, str | None]:
    """(name, hash) of a model record of any InvokeAI version."""
    if isinstance(record, str):
        return record, None
    if not isinstance(record, dict):
        return None, None
    return to_str(record.get("name") or record.get("model_name")), to_str(record.get("hash"))


def _from_core(meta: dict, info: GenInfo) -> None:
    info.positive = to_str(meta.get("positive_prompt")) or ""
    info.negative = to_str(meta.get("negative_prompt")) or ""
    info.seed = to_int(meta.get("seed"))
    info.steps = to_int(meta.get("steps"))
    info.cfg = to_float(meta.get("cfg_scale"))
    info.scheduler = to_str(meta.get("scheduler"))
    info.sampler = info.scheduler  # InvokeAI's scheduler names the sampler too (euler, dpmpp_2m_k, ...)
    info.width, info.height = to_int(meta.get("width")), to_int(meta.get("height"))
    info.denoise = to_float(meta.get("denoising_strength", meta.get("strength")))
    info.model, info.model_hash = _model_name(meta.get("model"))
    for entry in meta.get("loras") or []:
        if not isinstance(entry, dict):
            continue
        name, hash_ = _model_name(entry.get("model") or entry.get("lora"))
        if name:
            info.add_lora(name, to_float(entry.get("weight")), hash=hash_)
    for key in (
        "positive_style_prompt",
        "negative_style_prompt",
        "generation_mode",
        "app_version",
        "clip_skip",
        "rand_device",
        "cfg_rescale_multiplier",
        "guidance",
    ):
        if meta.get(key) not in (None, ""):
            info.extra[key] = meta[key]
    vae, _ = _model_name(meta.get("vae"))
    if vae:
        info.extra["vae"] = vae


def parse_invoke_metadata(text: str, has_workflow: bool = False) -> GenInfo | None:
    """``invokeai_metadata`` JSON (3.x and later)."""
    meta = _json(text)
    if not isinstance(meta, dict):
        return None
    info = GenInfo(source="invokeai", has_workflow=has_workflow)
    _from_core(meta, info)
    return info.clip()


def parse_invoke_graph(text: str, has_workflow: bool = False) -> GenInfo | None:
    """``invokeai_graph`` JSON: the core-metadata node if present, else the loaders, prompts and denoiser."""
    graph = _json(text)
    nodes = graph.get("nodes") if isinstance(graph, dict) else None
    if isinstance(nodes, list):
        nodes = {str(n.get("id")): n for n in nodes if isinstance(n, dict)}
    if not isinstance(nodes, dict):
        return None
    nodes = {k: v for k, v in nodes.items() if isinstance(v, dict)}
    info = GenInfo(source="invokeai", has_workflow=has_workflow)
    core = next((n for n in nodes.values() if n.get("type") in _CORE_METADATA_TYPES), None)
    if core is not None:
        _from_core(core, info)
        return info.clip()
    edges = [e for e in graph.get("edges") or [] if isinstance(e, dict)]

    def feeds(node_id: str) -> set[str]:
        return {
            str((e.get("destination") or {}).get("field"))
            for e in edges
            if isinstance(e.get("source"), dict) and e["source"].get("node_id") == node_id
        }

    for node_id, node in nodes.items():
        kind = node.get("type")
        if kind in _MODEL_LOADERS:
            info.model, info.model_hash = _model_name(node.get("model"))
        elif kind in _LORA_LOADERS:
            name, hash_ = _model_name(node.get("lora"))
            if name:
                info.add_lora(name, to_float(node.get("weight")), hash=hash_)
        elif kind in _PROMPT_NODES:
            text_value = to_str(node.get("prompt")) or ""
            targets = feeds(node_id)
            if any("negative" in t for t in targets):
                info.negative = info.negative or text_value
            else:
                info.positive = info.positive or text_value
        elif kind == "noise":
            info.seed = to_int(node.get("seed"))
            info.width, info.height = to_int(node.get("width")), to_int(node.get("height"))
        elif kind in _DENOISE_NODES:
            info.steps = to_int(node.get("steps")) or info.steps
            info.cfg = to_float(node.get("cfg_scale", node.get("guidance"))) or info.cfg
            info.scheduler = to_str(node.get("scheduler")) or info.scheduler
            info.sampler = info.scheduler
            if node.get("seed") is not None:
                info.seed = to_int(node.get("seed"))
            if node.get("width"):
                info.width, info.height = to_int(node.get("width")), to_int(node.get("height"))
    return info.clip()


_BRACKETS = re.compile(r"\[([^\[\]]*)\]")


def parse_sd_metadata(text: str) -> GenInfo | None:
    """InvokeAI 2.x ``sd-metadata``; negative terms are the ``[bracketed]`` parts of the prompt."""
    meta = _json(text)
    if not isinstance(meta, dict):
        return None
    image = meta.get("image") if isinstance(meta.get("image"), dict) else {}
    prompt = image.get("prompt", "")
    if isinstance(prompt, list):
        prompt = " ".join(p.get("prompt", "") for p in prompt if isinstance(p, dict))
    prompt = prompt if isinstance(prompt, str) else ""
    info = GenInfo(source="invokeai")
    info.negative = ", ".join(m.strip() for m in _BRACKETS.findall(prompt) if m.strip())
    info.positive = re.sub(r"\s+", " ", _BRACKETS.sub(" ", prompt)).strip()
    info.seed = to_int(image.get("seed"))
    info.steps = to_int(image.get("steps"))
    info.cfg = to_float(image.get("cfg_scale"))
    info.sampler = to_str(image.get("sampler"))
    info.width, info.height = to_int(image.get("width")), to_int(image.get("height"))
    info.denoise = to_float(image.get("strength"))
    info.model = to_str(meta.get("model_weights")) or to_str(meta.get("model"))
    info.model_hash = to_str(meta.get("model_hash"))
    for key in ("app_version", "type"):
        value = meta.get(key, image.get(key))
        if value not in (None, ""):
            info.extra[key] = value
    return info.clip()
