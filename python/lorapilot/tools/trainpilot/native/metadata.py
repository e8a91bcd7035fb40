"""The ``ss_*`` (sd-scripts) and ``modelspec.*`` (Stability AI ModelSpec) metadata of a LoRA file."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from .captions import tag_frequency
from .config import NativeTrainConfig
from .images import TrainImage

BASE_MODEL_VERSION = {"sd1": "sd_v1", "sd2": "sd_v2", "sdxl": "sdxl_base_v1-0", "flux1": "flux1"}
ARCHITECTURE = {
    "sd1": "stable-diffusion-v1",
    "sd2": "stable-diffusion-v2-512",
    "sdxl": "stable-diffusion-xl-v1-base",
    "flux1": "flux-1-dev",
}
IMPLEMENTATION = {
    "sd1": "diffusers",
    "sd2": "diffusers",
    "sdxl": "https://github.com/Stability-AI/generative-models",
    "flux1": "https://github.com/black-forest-labs/flux",
}


@dataclass(frozen=True)
class RunFacts:
    """What the metadata records beyond the config."""

    started_at: float  # unix time
    session_id: int
    v_prediction: bool
    mixed_precision: str  # the precision actually used
    attention: str


def build_metadata(config: NativeTrainConfig, images: list[TrainImage], facts: RunFacts, step: int) -> dict[str, str]:
    family = config.model.family
    data, net, optim, train = config.dataset, config.network, config.optim, config.training
    folder = data.image_dir.name
    tag_counts = tag_frequency(image.caption for image in images)
    buckets: dict[str, int] = {}
    for image in images:
        key = "x".join(map(str, image.placement.bucket))
        buckets[key] = buckets.get(key, 0) + data.repeats
    version = BASE_MODEL_VERSION[family]
    architecture = ARCHITECTURE[family]
    if family == "sd2" and facts.v_prediction:
        version, architecture = "sd_v2_v", "stable-diffusion-v2-768-v"
    values = {
        "ss_session_id": facts.session_id,
        "ss_training_started_at": facts.started_at,
        "ss_output_name": config.name,
        "ss_learning_rate": optim.learning_rate,
        "ss_unet_lr": optim.learning_rate,
        "ss_text_encoder_lr": (net.text_encoder_lr or optim.learning_rate) if net.train_text_encoder else None,
        "ss_num_train_images": len(images) * data.repeats,
        "ss_max_train_steps": train.steps,
        "ss_steps": step,
        "ss_batch_size_per_device": train.batch_size,
        "ss_gradient_accumulation_steps": train.gradient_accumulation,
        "ss_gradient_checkpointing": train.gradient_checkpointing,
        "ss_mixed_precision": facts.mixed_precision,
        "ss_seed": train.seed,
        "ss_lr_scheduler": optim.lr_scheduler,
        "ss_lr_warmup_steps": optim.warmup_steps,
        "ss_optimizer": optim.optimizer,
        "ss_max_grad_norm": optim.max_grad_norm,
        "ss_min_snr_gamma": optim.min_snr_gamma,
        "ss_noise_offset": optim.noise_offset or None,
        "ss_network_module": "networks.lora_flux" if family == "flux1" else "networks.lora",
        "ss_network_dim": net.rank,
        "ss_network_alpha": net.alpha,
        "ss_network_dropout": net.dropout,
        "ss_network_args": json.dumps({"target_modules": net.target_modules}),
        "ss_base_model_version": version,
        "ss_v2": family == "sd2",
        "ss_sd_model_name": config.model.pretrained.name,
        "ss_vae_name": config.model.vae.name if config.model.vae else None,
        "ss_resolution": f"({data.resolution}, {data.resolution})",
        "ss_cache_latents": data.cache_latents,
        "ss_enable_bucket": data.buckets,
        "ss_min_bucket_reso": data.min_bucket,
        "ss_max_bucket_reso": data.max_bucket,
        "ss_bucket_info": json.dumps({"buckets": buckets}),
        "ss_shuffle_caption": data.shuffle_tags,
        "ss_keep_tokens": data.keep_tokens,
        "ss_caption_dropout_rate": data.caption_dropout,
        "ss_tag_frequency": json.dumps({f"{data.repeats}_{folder}": tag_counts}),
        "ss_dataset_dirs": json.dumps(
            {f"{data.repeats}_{folder}": {"n_repeats": data.repeats, "img_count": len(images)}}
        ),
        "ss_training_comment": f"LoRA Pilot native trainer (attention: {facts.attention})",
        "modelspec.sai_model_spec": "1.0.1",
        "modelspec.architecture": f"{architecture}/lora",
        "modelspec.implementation": IMPLEMENTATION[family],
        "modelspec.title": config.name,
        "modelspec.resolution": f"{data.resolution}x{data.resolution}",
        "modelspec.trigger_phrase": data.trigger_word or None,
        "modelspec.date": dt.datetime.fromtimestamp(facts.started_at, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "modelspec.prediction_type": None if family == "flux1" else ("v" if facts.v_prediction else "epsilon"),
    }
    return {key: _text(value) for key, value in values.items() if value is not None}


def _text(value) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def addnet_hashes(tensors, metadata: dict[str, str]) -> tuple[str, str]:
    """sd-scripts' ``sshs_model_hash`` and ``sshs_legacy_hash``, computed as it does.

    Both hash the file serialised with only the ``ss_*`` metadata: the model hash is the sha256 of the
    bytes after the header (the tensors), the legacy hash of 64 KiB at offset 1 MiB.
    """
    from safetensors.torch import save

    data = save(tensors, {k: v for k, v in metadata.items() if k.startswith("ss_")})
    header = int.from_bytes(data[:8], "little")
    model_hash = hashlib.sha256(data[8 + header :]).hexdigest()
    legacy_hash = hashlib.sha256(data[0x100000 : 0x100000 + 0x10000]).hexdigest()[:8]
    return model_hash, legacy_hash
