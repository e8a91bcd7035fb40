"""Apply a kohya-format LoRA to diffusers modules at a strength, by patching weights (as ComfyUI does).

Patching (W += strength · alpha/r · up @ down) rather than adapter injection lets one loaded base
model render every checkpoint × weight: :class:`PatchedLora` restores the exact original weights.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from lorapilot.kit.errors import LorapilotError


def kohya_module_names(module, prefix: str, namer: Callable[[str], str] | None = None) -> dict[str, torch.nn.Module]:
    """kohya name (``lora_unet_down_blocks_0_...``) → the module with a weight it patches."""
    names = {}
    for path, sub in module.named_modules():
        if not path or not isinstance(getattr(sub, "weight", None), torch.Tensor):
            continue
        try:
            kohya_path = namer(path) if namer else path
        except ValueError:
            continue  # a module the SGM names have no name for is never in a kohya file
        names[prefix + kohya_path.replace(".", "_")] = sub
    return names


def read_kohya(path) -> dict[str, tuple[torch.Tensor, torch.Tensor, float]]:
    """A kohya LoRA file as module name → (down, up, scale = alpha / rank)."""
    from safetensors.torch import load_file

    try:
        tensors = load_file(str(path))
    except Exception as exc:  # noqa: BLE001 - safetensors raises several types for a bad file
        raise LorapilotError(f"{path}: not a readable safetensors LoRA: {exc}") from exc
    modules: dict[str, tuple[torch.Tensor, torch.Tensor, float]] = {}
    for key, down in tensors.items():
        if not key.endswith(".lora_down.weight"):
            continue
        name = key[: -len(".lora_down.weight")]
        up = tensors.get(f"{name}.lora_up.weight")
        if up is None:
            raise LorapilotError(f"{path}: {name} has a lora_down but no lora_up weight")
        rank = down.shape[0]
        alpha = tensors.get(f"{name}.alpha")
        modules[name] = (down.float(), up.float(), (float(alpha) if alpha is not None else rank) / rank)
    if not modules:
        raise LorapilotError(f"{path}: no kohya LoRA weights (lora_down/lora_up) in the file")
    return modules


def _delta(down: torch.Tensor, up: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    if down.dim() == 4:  # a conv LoRA: 1x1 up over a kxk (or 1x1) down
        return (up.flatten(1) @ down.flatten(1)).reshape(shape)
    return (up @ down).reshape(shape)


class PatchedLora:
    """``with PatchedLora(targets, lora, strength):`` the modules carry the LoRA; afterwards they do not."""

    def __init__(self, targets: dict[str, torch.nn.Module], lora: dict, strength: float, source: str = "LoRA"):
        unknown = sorted(set(lora) - set(targets))
        if unknown:
            raise LorapilotError(
                f"{source}: {len(unknown)} LoRA modules match nothing in the base model "
                f"(e.g. {unknown[0]}); is it for another model family?"
            )
        self.targets, self.lora, self.strength = targets, lora, strength
        self._saved: dict[str, torch.Tensor] = {}

    @torch.no_grad()
    def __enter__(self) -> PatchedLora:
        for name, (down, up, scale) in self.lora.items():
            weight = self.targets[name].weight
            self._saved[name] = weight.detach().clone()
            weight += (self.strength * scale * _delta(down, up, weight.shape)).to(weight.dtype)
        return self

    @torch.no_grad()
    def __exit__(self, *exc) -> None:
        for name, original in self._saved.items():
            self.targets[name].weight.copy_(original)
        self._saved.clear()
