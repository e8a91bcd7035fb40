"""ComfyUI ``prompt`` (API graph): walk from the node that saved the image back to what made it.

The graph is ``{node_id: {"class_type": str, "inputs": {name: value | [node_id, slot]}}}``.
From the final save node we find the nearest sampler upstream (so the second
pass of a hires graph wins, not the first sampler in the file), then follow
``positive``/``negative`` through conditioning nodes to the text encoders,
``model`` through LoRA loaders to the checkpoint or UNet, and ``latent_image``
to the size. Every walk keeps a visited set and a step budget: cycles and
links to missing nodes produce warnings, never hangs or crashes.
"""

from __future__ import annotations

import json
import os
from collections import deque
from typing import Any

from lorapilot.tools.mediapilot.meta.model import GenInfo, to_float, to_int, to_str

SAMPLERS = {"KSampler", "KSamplerAdvanced", "SamplerCustom", "SamplerCustomAdvanced"}
SAVE_NODES = (
    "SaveImage",
    "SaveAnimatedWEBP",
    "SaveAnimatedPNG",
    "SaveWEBM",
    "SaveVideo",
    "VHS_VideoCombine",
    "Image Save",
)
# Text encoders: the inputs that hold the prompt text, in the order we report them.
TEXT_ENCODERS = {
    "CLIPTextEncode": ("text",),
    "CLIPTextEncodeSDXL": ("text_g", "text_l"),
    "CLIPTextEncodeSDXLRefiner": ("text",),
    "CLIPTextEncodeFlux": ("t5xxl", "clip_l"),
    "CLIPTextEncodeSD3": ("t5xxl", "clip_g", "clip_l"),
    "CLIPTextEncodeHunyuanDiT": ("bert", "mt5xl"),
}
GENERIC_TEXT_INPUTS = ("text", "text_g", "text_l", "t5xxl", "clip_l", "clip_g", "prompt", "wildcard_text")
# Conditioning nodes pass these through (ConditioningCombine, Concat, Average, FluxGuidance, SetArea, ...).
CONDITIONING_INPUTS = (
    "conditioning",
    "conditioning_1",
    "conditioning_2",
    "conditioning_to",
    "conditioning_from",
    "cond1",
    "cond2",
)
# What a sampler's image came from: latents, and pixels for hires passes that go through VAEEncode.
LATENT_INPUTS = ("latent_image", "samples", "latent", "pixels", "image", "images")
CHECKPOINT_INPUTS = ("ckpt_name", "unet_name", "model_name", "model_path")
SCALAR_INPUTS = ("value", "seed", "noise_seed", "int", "float", "number", "text", "string", "String", "Text")
MAX_STEPS = 20_000  # node visits per field of an image: a pathological graph stays cheap


def is_link(value: Any) -> bool:
    """``[node_id, output_slot]`` (exact types: a bool is not a slot)."""
    return (
        type(value) is list
        and len(value) == 2
        and type(value[1]) is int
        and (type(value[0]) is str or type(value[0]) is int)
    )


def load_graph(text: str) -> dict | None:
    """The API graph from a ``prompt`` text, or None when it is not one."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    if not any(isinstance(n, dict) and "class_type" in n for n in data.values()):
        return None
    return data


class _Walker:
    def __init__(self, graph: dict, info: GenInfo):
        # One pass over the graph up front: class and inputs of each node; a node's links are listed
        # when a walk first goes up from it (most nodes of a big workflow are never visited).
        self.classes: dict[str, str] = {}
        self.inputs_of: dict[str, dict] = {}
        for key, node in graph.items():
            if type(node) is dict:
                inputs = node.get("inputs")
                cls = node.get("class_type", "")
                self.classes[key if type(key) is str else str(key)] = cls if type(cls) is str else str(cls)
                self.inputs_of[key if type(key) is str else str(key)] = inputs if type(inputs) is dict else {}
        self._links: dict[str, list[tuple[str, str, int]]] = {}
        self.info = info
        self.steps = 0
        self._chains: dict[str, list[str]] = {}
        self._models: dict[str, tuple] = {}

    # -- plumbing ---------------------------------------------------------------------------

    def _tick(self) -> bool:
        self.steps += 1
        if self.steps > MAX_STEPS:
            if "graph walk budget exhausted" not in self.info.warnings:
                self.info.warnings.append("graph walk budget exhausted")
            return False
        return True

    def links_of(self, node_id: str) -> list[tuple[str, str, int]]:
        """(input name, node id, slot) of each link among a node's inputs (listed once, then cached)."""
        links = self._links.get(node_id)
        if links is None:
            links = self._links[node_id] = [
                (name, str(value[0]), value[1]) for name, value in self.inputs_of[node_id].items() if is_link(value)
            ]
        return links

    def cls(self, node_id: str) -> str:
        return self.classes[node_id]

    def inputs(self, node_id: str) -> dict:
        return self.inputs_of[node_id]

    def dangling(self, node_id: str) -> None:
        warning = f"dangling link to node {node_id}"
        if warning not in self.info.warnings:
            self.info.warnings.append(warning)

    def target(self, value: Any) -> tuple[str, int] | None:
        """The (node_id, slot) a link points to, or None (warning for a dangling link)."""
        if not is_link(value):
            return None
        node_id = str(value[0])
        if node_id not in self.classes:
            self.dangling(node_id)
            return None
        return node_id, value[1]

    def cycle(self, node_id: str) -> None:
        warning = f"cycle through node {node_id}"
        if warning not in self.info.warnings:
            self.info.warnings.append(warning)

    def scalar(self, value: Any) -> Any:
        """A literal, or the literal behind a link to a primitive / seed / text node.

        Iterative: a chain of thousands of pass-through nodes costs steps from the budget, not stack frames.
        ``StringConcatenate`` nodes are evaluated with an explicit stack of frames.
        """
        if type(value) is not list:
            return value
        on_path: set[str] = set()  # nodes between the start and the current node (a cycle comes back to one)
        frames: list[tuple[str, list, list, list[str]]] = []  # (concat node, inputs left, values, nodes followed)
        while True:
            result, concat, followed = self._follow(value, on_path)
            if concat is not None:
                inputs = self.inputs(concat)
                pending = [inputs.get("delimiter"), inputs.get("string_b"), inputs.get("string_a")]
                frames.append((concat, pending, [], followed))
                value = pending.pop()
                continue
            on_path.difference_update(followed)
            while frames:
                _, pending, values, frame_nodes = frames[-1]
                values.append(result)
                if pending:
                    value = pending.pop()
                    break
                frames.pop()
                on_path.difference_update(frame_nodes)
                a, b, delimiter = values
                result = (delimiter if isinstance(delimiter, str) else "").join(p for p in (a, b) if isinstance(p, str))
            else:
                return result

    def _follow(self, value: Any, on_path: set[str]) -> tuple[Any, str | None, list[str]]:
        """Follow links through value-holding nodes: (literal, None, followed) or (None, concat node, followed)."""
        followed: list[str] = []
        while type(value) is list:
            hop = self.target(value)
            if hop is None:
                return (None if is_link(value) else value), None, followed
            node_id = hop[0]
            if node_id in on_path:
                self.cycle(node_id)
                return None, None, followed
            if not self._tick():
                return None, None, followed
            on_path.add(node_id)
            followed.append(node_id)
            inputs = self.inputs(node_id)
            if self.cls(node_id) == "StringConcatenate":
                return None, node_id, followed
            value = next((inputs[key] for key in SCALAR_INPUTS if key in inputs), None)
        return value, None, followed

    def upstream(self, start: str, follow: tuple[str, ...] | None = None):
        """Breadth-first node ids above ``start`` (nearest first), each once."""
        seen, queue = {start}, deque([start])
        classes = self.classes
        while queue and self._tick():
            node_id = queue.popleft()
            for name, target, _ in self.links_of(node_id):
                if follow is not None and name not in follow:
                    continue
                if target not in classes:
                    self.dangling(target)
                    continue
                if target in seen:
                    if target == start or target == node_id:
                        self.cycle(target)
                    continue
                seen.add(target)
                queue.append(target)
                yield target

    # -- samplers -----------------------------------------------------------------------------

    def is_sampler(self, node_id: str) -> bool:
        if self.cls(node_id) in SAMPLERS:
            return True
        keys = self.inputs(node_id).keys()
        return ("positive" in keys and "negative" in keys and ("seed" in keys or "noise_seed" in keys)) or (
            "guider" in keys and "noise" in keys
        )

    def nearest_sampler(self, start: str) -> str | None:
        return next((n for n in self.upstream(start) if self.is_sampler(n)), None)

    def sampler_chain(self, main: str) -> list[str]:
        """``main`` then the samplers that fed its latent, nearest first."""
        if main not in self._chains:
            chain = [main]
            for node_id in self.upstream(main, follow=LATENT_INPUTS):
                if self.is_sampler(node_id):
                    chain.append(node_id)
            self._chains[main] = chain
        return self._chains[main]

    def noise_added(self, node_id: str) -> bool:
        inputs = self.inputs(node_id)
        if "add_noise" in inputs:
            flag = self.scalar(inputs["add_noise"])
            return flag not in ("disable", False)
        hop = self.target(inputs.get("noise"))
        return not (hop and self.cls(hop[0]) == "DisableNoise")

    def settings(self, node_id: str) -> dict[str, Any]:
        """Seed, steps, cfg, sampler, scheduler, denoise of one sampler (following its helper nodes)."""
        inputs = self.inputs(node_id)
        out: dict[str, Any] = {"node": node_id, "class_type": self.cls(node_id)}
        seed = self.scalar(inputs.get("seed", inputs.get("noise_seed")))
        noise = self.target(inputs.get("noise"))
        if noise:
            seed = self.scalar(self.inputs(noise[0]).get("noise_seed", self.inputs(noise[0]).get("seed")))
        out["seed"] = to_int(seed)
        out["steps"] = to_int(self.scalar(inputs.get("steps")))
        out["cfg"] = to_float(self.scalar(inputs.get("cfg")))
        out["sampler"] = to_str(self.scalar(inputs.get("sampler_name")))
        out["scheduler"] = to_str(self.scalar(inputs.get("scheduler")))
        out["denoise"] = to_float(self.scalar(inputs.get("denoise")))
        for key in ("start_at_step", "end_at_step"):
            if key in inputs:
                out[key] = to_int(self.scalar(inputs[key]))
        guider = self.target(inputs.get("guider"))
        if guider:
            g_inputs = self.inputs(guider[0])
            out["cfg"] = to_float(self.scalar(g_inputs.get("cfg", g_inputs.get("cfg_conds"))))
        sampler = self.target(inputs.get("sampler"))
        if sampler:
            name = self.scalar(self.inputs(sampler[0]).get("sampler_name"))
            out["sampler"] = to_str(name) or self.cls(sampler[0])
        sigmas = self.target(inputs.get("sigmas"))
        seen = set()
        while sigmas and sigmas[0] not in seen and self._tick():
            seen.add(sigmas[0])
            s_inputs = self.inputs(sigmas[0])
            if "sigmas" in s_inputs:  # SplitSigmas, FlipSigmas, ...: the schedule is further up
                sigmas = self.target(s_inputs["sigmas"])
                continue
            out["steps"] = to_int(self.scalar(s_inputs.get("steps")))
            scheduler = self.scalar(s_inputs.get("scheduler"))
            out["scheduler"] = to_str(scheduler) or self.cls(sigmas[0]).removesuffix("Scheduler").lower() or None
            if "denoise" in s_inputs:
                out["denoise"] = to_float(self.scalar(s_inputs.get("denoise")))
            break
        return out

    def conditioning(self, node_id: str, which: str) -> tuple[str | None, int] | None:
        """The link a sampler's positive/negative comes from (through its guider, if any)."""
        inputs = self.inputs(node_id)
        guider = self.target(inputs.get("guider"))
        if guider:
            inputs = self.inputs(guider[0])
            if which == "positive" and "positive" not in inputs:
                return self.target(inputs.get("conditioning") or inputs.get("cond1"))
        return self.target(inputs.get(which))

    # -- prompts ------------------------------------------------------------------------------

    def texts(self, hop: tuple[str, int] | None, seen: set[str], out: list[str]) -> None:
        """Collect prompt texts behind a conditioning link (depth first, each node once; an explicit stack)."""
        stack = [hop]
        while stack:
            hop = stack.pop()
            if hop is None or not self._tick():
                continue
            node_id, slot = hop
            if node_id in seen:
                self.cycle(node_id)
                continue
            seen.add(node_id)
            cls, inputs = self.cls(node_id), self.inputs(node_id)
            if cls == "ConditioningZeroOut":
                continue
            keys = TEXT_ENCODERS.get(cls)
            if keys is None and not any(is_link(inputs.get(k)) for k in (*CONDITIONING_INPUTS, "positive", "negative")):
                keys = GENERIC_TEXT_INPUTS
            if keys is not None:
                for key in keys:
                    text = self.scalar(inputs.get(key))
                    if isinstance(text, str) and text.strip() and text.strip() not in out:
                        out.append(text.strip())
                continue
            if is_link(inputs.get("positive")) and is_link(inputs.get("negative")):
                # ControlNetApplyAdvanced and friends output (positive, negative): follow the matching side.
                stack.append(self.target(inputs["negative" if slot == 1 else "positive"]))
                continue
            # Pushed in reverse so that they are visited in CONDITIONING_INPUTS order.
            stack.extend(self.target(inputs[key]) for key in reversed(CONDITIONING_INPUTS) if key in inputs)

    def prompt(self, sampler: str, which: str) -> str:
        out: list[str] = []
        self.texts(self.conditioning(sampler, which), set(), out)
        return "\n".join(out)

    def guidance(self, sampler: str) -> float | None:
        """FluxGuidance / CLIPTextEncodeFlux ``guidance`` on the positive conditioning path."""
        hop = self.conditioning(sampler, "positive")
        if hop is None:
            return None
        for node_id in [hop[0], *self.upstream(hop[0], follow=CONDITIONING_INPUTS + ("positive",))]:
            if "guidance" in self.inputs(node_id):
                return to_float(self.scalar(self.inputs(node_id)["guidance"]))
        return None

    # -- model and LoRAs ------------------------------------------------------------------------

    def model(self, sampler: str) -> tuple[str | None, list[tuple[str, float | None, float | None]]]:
        """The checkpoint/UNet behind a sampler's model input and the LoRAs on the way (apply order)."""
        if sampler not in self._models:
            self._models[sampler] = self._model(sampler)
        return self._models[sampler]

    def _model(self, sampler: str) -> tuple[str | None, list[tuple[str, float | None, float | None]]]:
        inputs = self.inputs(sampler)
        guider = self.target(inputs.get("guider"))
        hop = self.target(self.inputs(guider[0]).get("model") if guider else inputs.get("model"))
        loras: list[tuple[str, float | None, float | None]] = []
        seen: set[str] = set()
        while hop and self._tick():
            node_id = hop[0]
            if node_id in seen:
                self.cycle(node_id)
                break
            seen.add(node_id)
            n_inputs = self.inputs(node_id)
            lora = to_str(self.scalar(n_inputs["lora_name"])) if "lora_name" in n_inputs else None
            if lora:
                loras.append(
                    (
                        lora,
                        to_float(self.scalar(n_inputs.get("strength_model"))),
                        to_float(self.scalar(n_inputs.get("strength_clip"))),
                    )
                )
            for value in n_inputs.values():  # "Power Lora Loader" style: {"on": true, "lora": ..., "strength": ...}
                if isinstance(value, dict) and isinstance(value.get("lora"), str) and value.get("on", True):
                    if value["lora"] not in ("None", ""):
                        loras.append(
                            (value["lora"], to_float(value.get("strength")), to_float(value.get("strengthTwo")))
                        )
            for key in CHECKPOINT_INPUTS:
                name = to_str(self.scalar(n_inputs[key])) if key in n_inputs else None
                if name:
                    return name, loras[::-1]
            hop = self.target(n_inputs.get("model"))
        return None, loras[::-1]

    # -- size -----------------------------------------------------------------------------------

    def size(self, sampler: str) -> tuple[int | None, int | None]:
        """Width and height of the latent a sampler works on (following upscales).

        Walks up to the node that sets both sides, noting the resizes on the way, then applies them in order.
        """
        hop = self.target(self.inputs(sampler).get("latent_image"))
        resizes: list[tuple[float | None, int | None, int | None]] = []  # (scale_by, 0, 0) or (None, width, height)
        seen: set[str] = set()
        width = height = None
        while hop is not None and hop[0] not in seen and self._tick():
            node_id = hop[0]
            seen.add(node_id)
            inputs = self.inputs(node_id)
            width, height = to_int(self.scalar(inputs.get("width"))), to_int(self.scalar(inputs.get("height")))
            if width and height:
                break
            if "scale_by" in inputs:
                resizes.append((to_float(self.scalar(inputs["scale_by"])), 0, 0))
            elif width or height:  # LatentUpscale with one side 0 keeps the aspect ratio
                resizes.append((None, width, height))
            hop = next((self.target(inputs[k]) for k in LATENT_INPUTS if k in inputs), None)
            width = height = None
        if not (width and height):
            return None, None
        for scale, new_width, new_height in reversed(resizes):
            if new_width == 0 and new_height == 0:  # a scale_by
                if not scale:
                    return None, None
                width, height = round(width * scale), round(height * scale)
            elif new_width:
                width, height = new_width, round(height * new_width / width)
            else:
                width, height = round(width * new_height / height), new_height
        return width, height


def _save_nodes(walker: _Walker, file_name: str | None) -> list[str]:
    nodes = walker.classes
    saves = [n for n in nodes if walker.cls(n) == "SaveImage"]
    saves = saves or [n for n in nodes if walker.cls(n) in SAVE_NODES or walker.cls(n).startswith("Save")]
    saves = saves or [n for n in nodes if walker.cls(n) == "PreviewImage"]
    if file_name and len(saves) > 1:
        stem = os.path.basename(file_name)
        matching = []
        for n in saves:
            prefix = walker.scalar(walker.inputs(n).get("filename_prefix"))
            if isinstance(prefix, str) and prefix and stem.startswith(prefix.rsplit("/", 1)[-1]):
                matching.append(n)
        saves = matching or saves
    return saves


def _node_order(node_id: str) -> tuple[int, str]:
    try:
        return int(node_id.split(":")[-1]), node_id
    except ValueError:
        return -1, node_id


def _pick_main(walker: _Walker, file_name: str | None) -> str | None:
    """The sampler whose pipeline made the file.

    A save node whose ``filename_prefix`` matches the file name settles it. Otherwise, among the
    pipelines (a final sampler and the samplers that fed its latent) the one holding the sampler with
    the lowest node id wins (the first in the graph); of pipelines sharing it, the longest (its hires
    pass), then the lowest save node.
    """
    candidates = []
    for save in _save_nodes(walker, file_name):
        main = walker.nearest_sampler(save)
        if main is not None:
            chain = walker.sampler_chain(main)
            candidates.append((min(_node_order(s) for s in chain), -len(chain), _node_order(save), main))
    if not candidates:  # no save node reaches a sampler: take a sampler nothing else consumes
        samplers = [n for n in walker.classes if walker.is_sampler(n)]
        fed = {u for s in samplers for u in walker.upstream(s) if walker.is_sampler(u)}
        terminal = [s for s in samplers if s not in fed] or samplers
        for main in terminal:
            chain = walker.sampler_chain(main)
            candidates.append((min(_node_order(s) for s in chain), -len(chain), _node_order(main), main))
    return min(candidates)[3] if candidates else None


class _Fields:
    """Runs each field's walk on its own step budget and catches its failure, so that one field that
    cannot be read (a graph too deep or too odd for it) never costs the others."""

    def __init__(self, walker: _Walker, info: GenInfo):
        self.walker, self.info = walker, info

    def read(self, what: str, read, default=None):
        self.walker.steps = 0
        try:
            return read()
        except (
            RecursionError,
            ValueError,
            TypeError,
            KeyError,
            AttributeError,
            ZeroDivisionError,
            OverflowError,
        ) as exc:
            self.info.warnings.append(f"{what} unreadable ({type(exc).__name__})")
            return default


def parse_prompt_graph(graph: dict, file_name: str | None = None, has_workflow: bool = False) -> GenInfo:
    """Fields from a ComfyUI API graph; ``file_name`` picks the SaveImage whose prefix matches."""
    info = GenInfo(source="comfyui", has_workflow=has_workflow)
    walker = _Walker(graph, info)
    fields = _Fields(walker, info)
    main = fields.read("sampler", lambda: _pick_main(walker, file_name))
    if main is None:
        if not any(w.startswith("sampler unreadable") for w in info.warnings):
            info.warnings.append("no sampler found in the graph")
        return info
    chain = fields.read("sampler chain", lambda: walker.sampler_chain(main), [main])
    passes = [
        fields.read(
            "sampler settings",
            lambda s=s: walker.settings(s),
            {"seed": None, "steps": None, "cfg": None, "sampler": None, "scheduler": None, "denoise": None},
        )
        for s in chain
    ]
    first = passes[0]
    seed_at = fields.read("seed", lambda: next((i for i, s in enumerate(chain) if walker.noise_added(s)), 0), 0)
    info.seed = passes[seed_at]["seed"]
    info.steps, info.cfg = first["steps"], first["cfg"]
    info.sampler, info.scheduler, info.denoise = first["sampler"], first["scheduler"], first["denoise"]
    info.positive = fields.read("positive prompt", lambda: walker.prompt(main, "positive"), "")
    info.negative = fields.read("negative prompt", lambda: walker.prompt(main, "negative"), "")
    model, loras = fields.read("model", lambda: walker.model(main), (None, []))
    seed_sampler = chain[seed_at]
    if seed_sampler != main:
        base_model, base_loras = fields.read("model", lambda: walker.model(seed_sampler), (None, []))
        if base_model and base_model != model:
            info.extra["refiner_model"] = model
            model = base_model
        loras = base_loras + loras
    for other in chain[1:]:
        loras = loras + fields.read("LoRAs", lambda o=other: walker.model(o), (None, []))[1]
    info.model = model
    for name, strength, clip_strength in loras:
        info.add_lora(name, strength, clip_strength)
    # The generation size is the first pass's (before a hires pass or latent upscale), as A1111's Size;
    # the size the final sampler worked at is kept beside it when it differs.
    info.width, info.height = fields.read("size", lambda: walker.size(chain[-1]), (None, None))
    if len(chain) > 1:
        final = fields.read("size", lambda: walker.size(main), (None, None))
        if final != (info.width, info.height) and None not in final:
            info.extra["final_size"] = list(final)
    guidance = fields.read("guidance", lambda: walker.guidance(main))
    if guidance is not None:
        info.extra["guidance"] = guidance
    if len(passes) > 1:
        info.extra["passes"] = [
            {k: (str(v) if k == "seed" and v is not None else v) for k, v in p.items()} for p in passes
        ]
    return info.clip()
