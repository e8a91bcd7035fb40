"""Render grid cells with diffusers on this machine (no ComfyUI): the base model loaded once,
each checkpoint patched in at each weight in turn."""

from __future__ import annotations

from pathlib import Path

from lorapilot.kit.errors import LorapilotError

from .lora_patch import PatchedLora, kohya_module_names, read_kohya
from .plan import GridPlan

TEXT_PREFIXES = {"sd1": ["lora_te_"], "sd2": ["lora_te_"], "sdxl": ["lora_te1_", "lora_te2_"]}


def load_pipeline(base: Path, family: str):
    """A diffusers text-to-image pipeline for ``base`` (a diffusers folder or a single-file checkpoint)."""
    import torch
    from diffusers import EulerDiscreteScheduler, StableDiffusionPipeline, StableDiffusionXLPipeline

    if family not in TEXT_PREFIXES:
        raise LorapilotError(
            f"the native grid renderer handles SD1, SD2 and SDXL; render {family} grids through ComfyUI"
        )
    cls = StableDiffusionXLPipeline if family == "sdxl" else StableDiffusionPipeline
    extra = {} if family == "sdxl" else {"safety_checker": None, "requires_safety_checker": False}
    try:
        if (base / "model_index.json").is_file():
            pipe = cls.from_pretrained(base, torch_dtype=torch.float32, **extra)
        elif base.is_file():
            pipe = cls.from_single_file(str(base), torch_dtype=torch.float32, **extra)
        else:
            raise LorapilotError(f"base model {base} is neither a diffusers folder nor a checkpoint file")
    except (OSError, ValueError) as exc:
        raise LorapilotError(f"cannot load base model {base} as {family}: {exc}") from exc
    pipe.scheduler = EulerDiscreteScheduler.from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    if torch.cuda.is_available():
        pipe.to("cuda", torch.float16)
    return pipe


def lora_targets(pipe, family: str) -> dict:
    """Every module a kohya LoRA of ``family`` may patch, by kohya name."""
    from lorapilot.tools.trainpilot.native.kohya import clip_text_namer, sgm_unet_namer

    unet_namer = sgm_unet_namer(pipe.unet.config) if family == "sdxl" else None
    targets = kohya_module_names(pipe.unet, "lora_unet_", unet_namer)
    encoders = [pipe.text_encoder] + ([pipe.text_encoder_2] if family == "sdxl" else [])
    for encoder, prefix in zip(encoders, TEXT_PREFIXES[family]):
        targets.update(kohya_module_names(encoder, prefix, clip_text_namer))
    return targets


class NativeRenderer:
    """Renders one cell at a time; keeps the current checkpoint's tensors loaded."""

    name = "native"

    def __init__(self, plan: GridPlan):
        self.plan = plan
        self.family = plan.render_family
        self.pipe = load_pipeline(plan.base, self.family)
        self.targets = lora_targets(self.pipe, self.family)
        self._loaded: tuple[int, dict] | None = None

    def _lora(self, checkpoint: int) -> dict:
        if self._loaded is None or self._loaded[0] != checkpoint:
            self._loaded = (checkpoint, read_kohya(self.plan.checkpoints[checkpoint].path))
        return self._loaded[1]

    def render(self, checkpoint: int, weight: int, prompt: int):
        """(PIL image, extra PNG texts) of one cell."""
        import torch

        plan = self.plan
        kwargs = {"negative_prompt": plan.negative} if plan.negative else {}
        source = str(plan.checkpoints[checkpoint].path)
        with PatchedLora(self.targets, self._lora(checkpoint), plan.weights[weight], source), torch.no_grad():
            image = self.pipe(
                prompt=plan.prompts[prompt],
                num_inference_steps=plan.steps,
                guidance_scale=plan.guidance,
                width=plan.width,
                height=plan.height,
                generator=torch.Generator("cpu").manual_seed(plan.seed_of(prompt)),
                **kwargs,
            ).images[0]
        return image, {}

    def close(self) -> None:
        self.pipe = None
