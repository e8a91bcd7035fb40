"""Sample images during training, with fixed seeds so steps can be compared."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import torch

from lorapilot.kit.fsutil import atomic_write_bytes

from .conditioning import FLUX_T5_MAX_LENGTH
from .config import NativeTrainConfig
from .models import BaseModel


def _pipeline(model: BaseModel, denoiser, with_text_encoders: bool = True):
    if model.family == "flux1":
        from diffusers import FlowMatchEulerDiscreteScheduler, FluxPipeline

        clip, t5 = model.text_encoders if with_text_encoders else (None, None)
        clip_tok, t5_tok = model.tokenizers
        return FluxPipeline(
            scheduler=FlowMatchEulerDiscreteScheduler.from_config(model.noise_scheduler.config),
            vae=model.vae,
            text_encoder=clip,
            tokenizer=clip_tok,
            text_encoder_2=t5,
            tokenizer_2=t5_tok,
            transformer=denoiser,
        )
    from diffusers import EulerDiscreteScheduler

    scheduler = EulerDiscreteScheduler.from_config(model.noise_scheduler.config)
    if model.family == "sdxl":
        from diffusers import StableDiffusionXLPipeline

        return StableDiffusionXLPipeline(
            vae=model.vae,
            text_encoder=model.text_encoders[0],
            text_encoder_2=model.text_encoders[1],
            tokenizer=model.tokenizers[0],
            tokenizer_2=model.tokenizers[1],
            unet=denoiser,
            scheduler=scheduler,
        )
    from diffusers import StableDiffusionPipeline

    return StableDiffusionPipeline(
        vae=model.vae,
        text_encoder=model.text_encoders[0],
        tokenizer=model.tokenizers[0],
        unet=denoiser,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def _decode(model: BaseModel, pipe, latents: torch.Tensor, width: int, height: int):
    """Decode outside autocast, with the float32 VAE: SDXL's VAE overflows in float16."""
    vae = model.vae
    if model.family == "flux1":
        latents = pipe._unpack_latents(latents, height, width, pipe.vae_scale_factor)
    latents = latents.to(vae.dtype) / vae.config.scaling_factor + (vae.config.get("shift_factor") or 0.0)
    pixels = vae.decode(latents, return_dict=False)[0]
    return pipe.image_processor.postprocess(pixels, output_type="pil")[0]


def sample_size(config: NativeTrainConfig, multiple: int) -> tuple[int, int]:
    """(width, height) of the samples: the configured ones, else the training resolution, on the grid."""
    width = config.sample.width or config.dataset.resolution
    height = config.sample.height or config.dataset.resolution
    return max(multiple, width // multiple * multiple), max(multiple, height // multiple * multiple)


@torch.no_grad()
def _quoted(value) -> str:
    """A1111's infotext quoting: a value with ``,``, ``:`` or a newline is written as JSON."""
    text = str(value)
    return json.dumps(text) if any(c in text for c in ",:\n") else text


def infotext(config: NativeTrainConfig, family: str, index: int, step: int, width: int, height: int) -> str:
    """The A1111 ``parameters`` text of sample ``index`` at ``step``: what MediaPilot, A1111/Forge and
    ComfyUI read back from a PNG (prompt, negative, seed, steps, size; the run's name and step as extras)."""
    settings = config.sample
    lines = [settings.prompts[index]]
    if family != "flux1" and settings.negative_prompt:
        lines.append(f"Negative prompt: {settings.negative_prompt}")
    pairs = {"Steps": settings.steps, "Sampler": "Euler"}
    if family == "flux1":  # Forge's names: the distilled guidance is not classifier-free guidance
        pairs.update({"CFG scale": 1, "Distilled CFG Scale": settings.guidance})
    else:
        pairs["CFG scale"] = settings.guidance
    pairs.update(
        {
            "Seed": settings.seed + index,
            "Size": f"{width}x{height}",
            "Model": config.model.pretrained.name,
            "LoRA": config.name,
            "Training step": step,
        }
    )
    lines.append(", ".join(f"{key}: {_quoted(value)}" for key, value in pairs.items()))
    return "\n".join(lines)


def write_samples(
    model: BaseModel,
    denoiser,
    config: NativeTrainConfig,
    step: int,
    output_dir: Path,
    autocast_dtype,
    prompt_embeds: dict[str, torch.Tensor] | None = None,
) -> list[Path]:
    """Render every sample prompt (prompt ``i`` with seed ``sample.seed + i``) to ``samples/{step:06d}_{i}.png``.

    ``prompt_embeds`` (FLUX.1 only): the prompts' conditioning computed before the text encoders
    were moved off the GPU.
    """
    from PIL.PngImagePlugin import PngInfo

    settings = config.sample
    if not settings.prompts:
        return []
    pipe = _pipeline(model, denoiser, with_text_encoders=prompt_embeds is None)
    pipe.set_progress_bar_config(disable=True)
    width, height = sample_size(config, model.pixel_multiple)
    folder = output_dir / "samples"
    folder.mkdir(parents=True, exist_ok=True)
    device = denoiser.device
    autocast = (
        torch.autocast(device.type, dtype=autocast_dtype) if autocast_dtype is not None else contextlib.nullcontext()
    )
    was_training = denoiser.training
    denoiser.eval()
    paths = []
    try:
        for index, prompt in enumerate(settings.prompts):
            kwargs: dict = {"prompt": prompt}
            if model.family != "flux1" and settings.negative_prompt:
                kwargs["negative_prompt"] = settings.negative_prompt
            if model.family == "flux1":  # the T5 length the training used
                kwargs["max_sequence_length"] = min(FLUX_T5_MAX_LENGTH, model.tokenizers[1].model_max_length)
            if prompt_embeds is not None:
                kwargs = {
                    "prompt_embeds": prompt_embeds["encoder_hidden_states"][index : index + 1],
                    "pooled_prompt_embeds": prompt_embeds["pooled_projections"][index : index + 1],
                }
            with autocast:
                latents = pipe(
                    num_inference_steps=settings.steps,
                    guidance_scale=settings.guidance,
                    width=width,
                    height=height,
                    generator=torch.Generator("cpu").manual_seed(settings.seed + index),
                    output_type="latent",
                    **kwargs,
                ).images
            image = _decode(model, pipe, latents, width, height)
            buffer = io.BytesIO()
            info = PngInfo()
            info.add_text("parameters", infotext(config, model.family, index, step, width, height))
            image.save(buffer, format="PNG", pnginfo=info)
            path = folder / f"{step:06d}_{index}.png"
            atomic_write_bytes(path, buffer.getvalue(), mode=0o644)
            paths.append(path)
    finally:
        denoiser.train(was_training)
    return paths
