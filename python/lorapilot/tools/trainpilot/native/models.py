"""Load a base model's parts per family, choose the attention kernel, and add the LoRA adapters."""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from lorapilot.kit.errors import ConfigError

from .config import NativeTrainConfig

log = logging.getLogger(__name__)


@dataclass
class BaseModel:
    """The parts of one base model the trainer uses."""

    family: str
    denoiser: Any  # UNet2DConditionModel, or FluxTransformer2DModel for flux1
    vae: Any
    text_encoders: list[Any]
    tokenizers: list[Any]
    noise_scheduler: Any
    source: Path
    attention: str = "sdpa"
    text_encoder_trained: list[bool] = field(default_factory=list)

    @property
    def vae_scale(self) -> int:
        """Pixels per latent cell."""
        return 2 ** (len(self.vae.config.block_out_channels) - 1)

    @property
    def pixel_multiple(self) -> int:
        """Bucket sides must be multiples of this (VAE scale times the denoiser's own downsampling)."""
        if self.family == "flux1":
            return self.vae_scale * 2  # latents are packed in 2x2 patches
        return self.vae_scale * 2 ** (len(self.denoiser.config.block_out_channels) - 1)


def _is_diffusers_folder(path: Path) -> bool:
    return path.is_dir() and (path / "model_index.json").is_file()


def load_base_model(config: NativeTrainConfig, dtype=None) -> BaseModel:
    """Load every part of ``model.pretrained`` (a diffusers folder, or a single-file SD/SDXL checkpoint).

    The denoiser and text encoders are loaded in ``dtype`` (the frozen weights' precision; loading a
    12B FLUX.1 transformer in float32 first would need 48 GB of RAM); the VAE stays float32.
    """
    settings = config.model
    path = settings.pretrained
    if not path.exists():
        raise ConfigError(None, f"model.pretrained: {path} does not exist")
    try:
        if _is_diffusers_folder(path):
            parts = _load_diffusers_folder(path, settings.family, dtype)
        elif path.is_file():
            parts = _load_single_file(path, settings.family, dtype)
        else:
            raise ConfigError(
                None, f"model.pretrained: {path} is neither a diffusers folder (model_index.json) nor a file"
            )
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(None, f"model.pretrained: cannot load {path} as {settings.family}: {exc}") from exc
    if settings.vae is not None:
        parts["vae"] = _load_vae(settings.vae)
    model = BaseModel(family=settings.family, source=path, **parts)
    for module in [model.denoiser, model.vae, *model.text_encoders]:
        module.requires_grad_(False)
    return model


def _transformers_dtype(dtype) -> dict:
    # transformers 4.56 renamed torch_dtype to dtype
    import transformers
    from packaging.version import Version

    return {"dtype" if Version(transformers.__version__) >= Version("4.56") else "torch_dtype": dtype}


def _load_diffusers_folder(path: Path, family: str, dtype) -> dict:
    from diffusers import AutoencoderKL

    te = _transformers_dtype(dtype)

    parts: dict = {"vae": AutoencoderKL.from_pretrained(path, subfolder="vae")}
    if family == "flux1":
        from diffusers import FlowMatchEulerDiscreteScheduler, FluxTransformer2DModel
        from transformers import AutoTokenizer, CLIPTextModel, CLIPTokenizer, T5EncoderModel

        parts["denoiser"] = FluxTransformer2DModel.from_pretrained(path, subfolder="transformer", torch_dtype=dtype)
        parts["text_encoders"] = [
            CLIPTextModel.from_pretrained(path, subfolder="text_encoder", **te),
            T5EncoderModel.from_pretrained(path, subfolder="text_encoder_2", **te),
        ]
        parts["tokenizers"] = [
            CLIPTokenizer.from_pretrained(path, subfolder="tokenizer"),
            AutoTokenizer.from_pretrained(path, subfolder="tokenizer_2"),
        ]
        parts["noise_scheduler"] = FlowMatchEulerDiscreteScheduler.from_pretrained(path, subfolder="scheduler")
        return parts

    from diffusers import DDPMScheduler, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    parts["denoiser"] = UNet2DConditionModel.from_pretrained(path, subfolder="unet", torch_dtype=dtype)
    parts["text_encoders"] = [CLIPTextModel.from_pretrained(path, subfolder="text_encoder", **te)]
    parts["tokenizers"] = [CLIPTokenizer.from_pretrained(path, subfolder="tokenizer")]
    if family == "sdxl":
        from transformers import CLIPTextModelWithProjection

        parts["text_encoders"].append(
            CLIPTextModelWithProjection.from_pretrained(path, subfolder="text_encoder_2", **te)
        )
        parts["tokenizers"].append(CLIPTokenizer.from_pretrained(path, subfolder="tokenizer_2"))
    # Training always uses the DDPM forward process, whatever sampler the folder ships with.
    parts["noise_scheduler"] = DDPMScheduler.from_pretrained(path, subfolder="scheduler")
    return parts


def _load_single_file(path: Path, family: str, dtype) -> dict:
    # diffusers reads the layout of a single-file checkpoint from the matching diffusers config,
    # which it fetches from the Hugging Face Hub (or its local cache).
    from diffusers import DDPMScheduler, StableDiffusionPipeline, StableDiffusionXLPipeline

    if family == "flux1":
        raise ConfigError(None, "model.pretrained: FLUX.1 needs a diffusers folder (transformer, vae, text encoders)")
    cls = StableDiffusionXLPipeline if family == "sdxl" else StableDiffusionPipeline
    pipe = cls.from_single_file(str(path), torch_dtype=dtype)
    pipe.vae.to(torch.float32)
    encoders = [pipe.text_encoder] + ([pipe.text_encoder_2] if family == "sdxl" else [])
    tokenizers = [pipe.tokenizer] + ([pipe.tokenizer_2] if family == "sdxl" else [])
    return {
        "vae": pipe.vae,
        "denoiser": pipe.unet,
        "text_encoders": encoders,
        "tokenizers": tokenizers,
        "noise_scheduler": DDPMScheduler.from_config(pipe.scheduler.config),
    }


def _load_vae(path: Path):
    from diffusers import AutoencoderKL

    if not path.exists():
        raise ConfigError(None, f"model.vae: {path} does not exist")
    if path.is_dir():
        return AutoencoderKL.from_pretrained(path)
    return AutoencoderKL.from_single_file(str(path))


def choose_attention(model: BaseModel, requested: str, device_type: str) -> str:
    """Use xformers when asked (or on CUDA when it is installed and ``auto``), else PyTorch SDPA.

    diffusers' default attention processors already call ``scaled_dot_product_attention``.
    """
    have_xformers = importlib.util.find_spec("xformers") is not None
    if requested == "xformers" and not have_xformers:
        raise ConfigError(
            None, "training.attention: xformers is not installed in this environment (use 'auto' or 'sdpa')"
        )
    if requested == "xformers" and device_type != "cuda":
        raise ConfigError(None, "training.attention: xformers needs a CUDA GPU (use 'auto' or 'sdpa')")
    use_xformers = requested == "xformers" or (requested == "auto" and have_xformers and device_type == "cuda")
    if use_xformers:
        model.denoiser.enable_xformers_memory_efficient_attention()
        model.vae.enable_xformers_memory_efficient_attention()
        model.attention = "xformers"
    else:
        model.attention = "sdpa"
    return model.attention


def add_lora_adapters(model: BaseModel, config: NativeTrainConfig) -> None:
    """Add a fresh LoRA (kohya init: random down, zero up) to the denoiser and, if asked, the CLIP encoders."""
    net = config.network
    _add_adapter(model.denoiser, net.target_modules, config, "network.target_modules")
    if model.family == "flux1":
        from .kohya import flux_supported

        wrapped = [name for name, module in model.denoiser.named_modules() if hasattr(module, "lora_A")]
        unnamed = [name for name in wrapped if not flux_supported(name)]
        if unnamed:
            raise ConfigError(
                None, f"network.target_modules: the kohya FLUX format has no name for {', '.join(unnamed[:5])}"
            )
    model.text_encoder_trained = []
    for encoder in model.text_encoders:
        trained = net.train_text_encoder and model.family != "flux1"
        if trained:
            _add_adapter(encoder, net.text_encoder_target_modules, config, "network.text_encoder_target_modules")
        model.text_encoder_trained.append(trained)


def _add_adapter(module, targets: list[str], config: NativeTrainConfig, field_name: str) -> None:
    # peft's own injection works on any module; transformers' add_adapter may demand a newer peft.
    from peft import LoraConfig, inject_adapter_in_model

    net = config.network
    lora = LoraConfig(
        r=net.rank, lora_alpha=net.alpha, lora_dropout=net.dropout, target_modules=list(targets), init_lora_weights=True
    )
    if not any(_matches(name, targets) for name, _ in module.named_modules()):
        raise ConfigError(None, f"{field_name}: none of {targets} names a module of {type(module).__name__}")
    inject_adapter_in_model(lora, module, adapter_name="default")


def _matches(name: str, targets: list[str]) -> bool:
    # peft's rule for a list of names: the module path ends with one of them.
    return any(name == t or name.endswith("." + t) for t in targets)


def enable_gradient_checkpointing(model: BaseModel) -> None:
    model.denoiser.enable_gradient_checkpointing()
    for encoder, trained in zip(model.text_encoders, model.text_encoder_trained):
        if trained:
            enable = getattr(encoder, "activation_checkpointing_enable", None)
            if enable is not None:
                enable({"use_reentrant": False})
            else:
                encoder.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
