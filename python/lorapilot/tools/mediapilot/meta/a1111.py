"""A1111 / Forge ``parameters`` text.

Format: prompt lines, an optional ``Negative prompt: ...`` block, and a last
line of ``Key: value`` pairs separated by commas, where values that contain
``,``, ``:`` or a newline are JSON-quoted (``Lora hashes: "a: 7c6b, b: 1f2e"``).
"""

from __future__ import annotations

import json
import re

from lorapilot.tools.mediapilot.meta.model import GenInfo, to_float, to_int

# Same shape as A1111's own parser (infotext_utils.re_param_code): a quoted value may hold commas.
_PARAM = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')
_SIZE = re.compile(r"^(\d+)x(\d+)$")
# <lora:name:weight> / <lyco:name:te:unet> / <lora:name:te=0.5>; the name ends at ':' or '>'.
_EXTRA_NETWORK = re.compile(r"<(lora|lyco|locon|loha):([^:>]+)((?::[^:>]*)*)>", re.IGNORECASE)
_FORGE_VERSION = re.compile(r"^f\d")


def looks_like_parameters(text: str) -> bool:
    """True when the last line has at least three ``Key: value`` settings (A1111's own test)."""
    last = text.strip().rsplit("\n", 1)[-1]
    return len(_PARAM.findall(last)) >= 3


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        try:
            return json.loads(value)
        except ValueError:
            return value[1:-1]
    return value


def _weights(spec: str) -> tuple[float | None, float | None]:
    """(model weight, text-encoder weight) of an extra-network spec, A1111's way.

    ':0.8' -> (0.8, None); ':0.8:0.5' -> te 0.8, unet 0.5 -> (0.5, 0.8);
    ':te=0.8:unet=0.5' -> (0.5, 0.8); no weight -> (1.0, None).
    """
    positional, named = [], {}
    for part in spec.split(":")[1:]:
        key, eq, value = part.partition("=")
        if eq:
            named[key.strip().lower()] = to_float(value.strip())
        else:
            positional.append(to_float(part.strip()))
    te = named.get("te", positional[0] if positional else None)
    unet = named.get("unet", positional[1] if len(positional) > 1 else None)
    if unet is None:
        return (1.0 if te is None else te), None
    return unet, te


def loras_from_prompt(prompt: str, info: GenInfo) -> None:
    """Add every ``<lora:name:w>`` in ``prompt`` to ``info`` (negative weights included)."""
    for kind, name, spec in _EXTRA_NETWORK.findall(prompt):
        weight, te_weight = _weights(spec)
        info.add_lora(name, weight, te_weight)
        if kind.lower() != "lora":
            info.extra.setdefault("lora_kinds", {})[name.strip()] = kind.lower()


def parse_parameters(text: str, source: str | None = None) -> GenInfo:
    """Parse A1111/Forge ``parameters`` text into fields."""
    lines = text.strip().split("\n")
    settings: dict[str, str] = {}
    pairs = _PARAM.findall(lines[-1]) if lines else []
    if len(pairs) >= 3:
        lines.pop()
        settings = {key.strip(): _unquote(value.strip()) for key, value in pairs}
    prompt, negative, in_negative = [], [], False
    for line in lines:
        if not in_negative and line.startswith("Negative prompt:"):
            in_negative = True
            line = line[len("Negative prompt:") :].strip()
        (negative if in_negative else prompt).append(line)

    version = settings.get("Version", "")
    info = GenInfo(
        source=source or ("forge" if _FORGE_VERSION.match(version) or "forge" in version.lower() else "a1111")
    )
    info.positive = "\n".join(prompt).strip()
    info.negative = "\n".join(negative).strip()
    info.steps = to_int(settings.pop("Steps", None))
    info.sampler = settings.pop("Sampler", None) or None
    info.scheduler = settings.pop("Schedule type", None) or None
    info.cfg = to_float(settings.pop("CFG scale", None))
    info.seed = to_int(settings.pop("Seed", None))
    info.model = settings.pop("Model", None) or None
    info.model_hash = settings.pop("Model hash", None) or None
    info.denoise = to_float(settings.pop("Denoising strength", None))
    size = _SIZE.match(settings.pop("Size", "") or "")
    if size:
        info.width, info.height = int(size.group(1)), int(size.group(2))

    loras_from_prompt(info.positive, info)
    lora_hashes = _hash_list(settings.pop("Lora hashes", ""))
    for name, hash_ in lora_hashes.items():
        existing = next((l for l in info.loras if l.name == name), None)
        if existing:
            existing.hash = hash_
        else:
            info.add_lora(name, None, None, hash_)
    _addnet_loras(settings, info)
    # TrainPilot's native trainer names the LoRA being trained this way in its samples (strength not written).
    if settings.get("LoRA"):
        info.add_lora(settings["LoRA"])
    info.extra.update(settings)
    return info.clip()


def _hash_list(value: str) -> dict[str, str]:
    """'a: 7c6bad76eb54, b: 1f2e' -> {'a': '7c6bad76eb54', 'b': '1f2e'}."""
    out = {}
    for item in value.split(","):
        name, sep, hash_ = item.rpartition(":")
        if sep and name.strip():
            out[name.strip()] = hash_.strip()
    return out


def _addnet_loras(settings: dict[str, str], info: GenInfo) -> None:
    """The additional-networks extension: ``AddNet Module 1: LoRA, AddNet Model 1: name(hash)``."""
    for key, value in list(settings.items()):
        if key.startswith("AddNet Module") and value.lower() == "lora":
            index = key[len("AddNet Module") :]
            model = settings.get(f"AddNet Model{index}", "")
            name, _, rest = model.partition("(")
            info.add_lora(
                name.strip(), to_float(settings.get(f"AddNet Weight A{index}", "1")), hash=rest.rstrip(")") or None
            )
