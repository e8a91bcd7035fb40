"""Generation metadata: which generator wrote a file's text chunks, and what they say."""

from __future__ import annotations

import json

from lorapilot.tools.mediapilot.meta.a1111 import looks_like_parameters, parse_parameters
from lorapilot.tools.mediapilot.meta.comfy import load_graph, parse_prompt_graph
from lorapilot.tools.mediapilot.meta.invoke import parse_invoke_graph, parse_invoke_metadata, parse_sd_metadata
from lorapilot.tools.mediapilot.meta.model import GenInfo, Lora
from lorapilot.tools.mediapilot.meta.novelai import is_novelai, parse_novelai
from lorapilot.tools.mediapilot.meta.training import mark_training_sample

__all__ = ["GenInfo", "Lora", "comfy_texts", "extract"]


def comfy_texts(texts: dict[str, str]) -> tuple[str | None, str | None]:
    """ComfyUI's (prompt, workflow) texts: PNG chunks, EXIF ``prompt:{json}`` / ``workflow:{json}``,
    or a video comment holding ``{"prompt": ..., "workflow": ...}``."""
    prompt, workflow = texts.get("prompt"), texts.get("workflow")
    for key, value in texts.items():
        if key.startswith("exif:"):
            if prompt is None and value.startswith("prompt:"):
                prompt = value[len("prompt:") :]
            elif workflow is None and value.startswith("workflow:"):
                workflow = value[len("workflow:") :]
        elif prompt is None and key in ("comment", "description") and value.startswith("{"):
            try:
                data = json.loads(value)
            except ValueError:
                continue
            if isinstance(data, dict) and isinstance(data.get("prompt"), (dict, str)):
                p = data["prompt"]
                prompt = p if isinstance(p, str) else json.dumps(p)
                w = data.get("workflow")
                workflow = workflow or (w if isinstance(w, str) or w is None else json.dumps(w))
    return prompt, workflow


def _a1111_text(texts: dict[str, str]) -> str | None:
    if "parameters" in texts:
        return texts["parameters"]
    for key in ("exif:UserComment", "comment", "exif:ImageDescription", "Description"):
        value = texts.get(key)
        if value and looks_like_parameters(value):
            return value
    return None


def extract(texts: dict[str, str], file_name: str | None = None) -> tuple[GenInfo | None, list[str]]:
    """Parse the metadata texts of one file: (fields or None, problems found).

    ``file_name`` is the path below its root: it picks the ComfyUI save node and marks training samples.
    """
    info, problems = _from_texts(texts, file_name)
    return (mark_training_sample(info, file_name) if file_name else info), problems


# What a parser can raise on input it was not written for: caught per source, so one unreadable
# chunk never costs the fields another chunk holds.
_PARSE_ERRORS = (RecursionError, ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError)


def _attempt(problems: list[str], what: str, parse, *args):
    try:
        return parse(*args)
    except _PARSE_ERRORS as exc:
        detail = "nested too deeply" if isinstance(exc, RecursionError) else f"{type(exc).__name__}: {exc}"[:200]
        problems.append(f"{what} unreadable ({detail})")
        return None


def _from_texts(texts: dict[str, str], file_name: str | None) -> tuple[GenInfo | None, list[str]]:
    problems: list[str] = []
    if not texts:
        return None, problems
    if "invokeai_metadata" in texts:
        info = _attempt(
            problems,
            "invokeai_metadata",
            parse_invoke_metadata,
            texts["invokeai_metadata"],
            "invokeai_workflow" in texts,
        )
        if info is not None:
            return info, problems
        problems.append("invokeai_metadata is not a JSON object")
    if "invokeai_graph" in texts:
        info = _attempt(
            problems, "invokeai_graph", parse_invoke_graph, texts["invokeai_graph"], "invokeai_workflow" in texts
        )
        if info is not None:
            return info, problems
        problems.append("invokeai_graph is not a graph")
    if "sd-metadata" in texts:
        info = _attempt(problems, "sd-metadata", parse_sd_metadata, texts["sd-metadata"])
        if info is not None:
            return info, problems
        problems.append("sd-metadata is not a JSON object")
    if is_novelai(texts):
        info = _attempt(problems, "NovelAI Comment", parse_novelai, texts)
        if info is not None:
            return info, problems
        problems.append("NovelAI Comment is not a JSON object")
    prompt, workflow = comfy_texts(texts)
    params = _a1111_text(texts)
    if prompt is not None:
        known = len(problems)
        graph = _attempt(problems, "ComfyUI prompt", load_graph, prompt)
        info = (
            None
            if graph is None
            else _attempt(problems, "ComfyUI prompt", parse_prompt_graph, graph, file_name, workflow is not None)
        )
        if info is not None:
            if params and looks_like_parameters(params):
                other = _attempt(problems, "parameters", parse_parameters, params)
                if other is not None:
                    _fill_from(info, other)
            return info, problems
        if graph is None and len(problems) == known:
            problems.append("ComfyUI prompt is not an API graph")
    if params:
        info = _attempt(problems, "parameters", parse_parameters, params)
        if info is not None:
            return info, problems
    if workflow is not None:  # a UI workflow without the API graph: nothing to walk, but it can be opened
        return GenInfo(source="comfyui", has_workflow=True), problems
    return None, problems


def _fill_from(info: GenInfo, other: GenInfo) -> None:
    """Fill fields the graph walk could not find from A1111-style text a custom node also wrote."""
    for attr in (
        "positive",
        "negative",
        "model",
        "model_hash",
        "seed",
        "steps",
        "cfg",
        "sampler",
        "scheduler",
        "width",
        "height",
    ):
        if getattr(info, attr) in (None, ""):
            setattr(info, attr, getattr(other, attr))
    for lora in other.loras:
        info.add_lora(lora.name, lora.weight, lora.clip_weight, lora.hash)
