"""Tiny, randomly initialised Stable Diffusion pipelines and datasets, built locally (no downloads).

The layouts match the real families (SD1: one CLIP text encoder; SDXL: two, with pooled text and
time ids) so every code path of the native trainer runs, only with a few thousand parameters. The
VAE downsamples by 8 like the real one; the UNet by 2, so buckets step in 16 px.
"""

from __future__ import annotations

import random
from pathlib import Path

TINY_BUCKET_STEP = 16


def tiny_tokenizer():
    """A CLIP BPE tokenizer over the 256 byte symbols plus a few merges, built in memory."""
    from transformers import CLIPTokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    symbols = list(bytes_to_unicode().values())
    vocab: dict[str, int] = {}
    for sym in symbols:
        vocab[sym] = len(vocab)
    for sym in symbols:
        vocab[sym + "</w>"] = len(vocab)
    merges = [("r", "e"), ("re", "d</w>"), ("c", "a"), ("ca", "t</w>"), ("d", "o"), ("do", "g</w>")]
    for left, right in merges:
        vocab[left + right] = len(vocab)
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    tokenizer = CLIPTokenizer(vocab=vocab, merges=merges)
    tokenizer.model_max_length = 77
    return tokenizer


def _text_config(projection: bool):
    from transformers import CLIPTextConfig

    return CLIPTextConfig(
        vocab_size=1000,
        hidden_size=32,
        intermediate_size=37,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=77,
        projection_dim=32 if projection else 512,
        bos_token_id=0,
        eos_token_id=2,
        pad_token_id=1,
    )


def _vae(**extra):
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        **extra,
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(8, 16, 16, 16),
        layers_per_block=1,
        norm_num_groups=8,
        latent_channels=4,
        sample_size=64,
    )


def _scheduler():
    from diffusers import DDPMScheduler

    return DDPMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        num_train_timesteps=1000,
        clip_sample=False,
        steps_offset=1,
    )


def build_tiny_sd1(path: Path, seed: int = 0) -> Path:
    """Save a tiny SD1-layout diffusers pipeline folder at ``path`` and return it."""
    import torch
    from diffusers import StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        sample_size=8,
        in_channels=4,
        out_channels=4,
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
        block_out_channels=(32, 64),
        layers_per_block=1,
        cross_attention_dim=32,
        attention_head_dim=8,
        norm_num_groups=8,
    )
    pipe = StableDiffusionPipeline(
        unet=unet,
        vae=_vae(),
        text_encoder=CLIPTextModel(_text_config(projection=False)),
        tokenizer=tiny_tokenizer(),
        scheduler=_scheduler(),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(path, safe_serialization=True)
    return Path(path)


def build_tiny_sdxl(path: Path, seed: int = 0) -> Path:
    """Save a tiny SDXL-layout diffusers pipeline folder (two text encoders, text_time embedding)."""
    import torch
    from diffusers import StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        sample_size=8,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        block_out_channels=(32, 64),
        layers_per_block=2,
        cross_attention_dim=64,  # both encoders' hidden states concatenated
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=8,
        transformer_layers_per_block=(1, 2),
        projection_class_embeddings_input_dim=32 + 6 * 8,  # pooled text + 6 time ids
        norm_num_groups=8,
    )
    pipe = StableDiffusionXLPipeline(
        unet=unet,
        vae=_vae(),
        text_encoder=CLIPTextModel(_text_config(projection=False)),
        text_encoder_2=CLIPTextModelWithProjection(_text_config(projection=True)),
        tokenizer=tiny_tokenizer(),
        tokenizer_2=tiny_tokenizer(),
        scheduler=_scheduler(),
    )
    pipe.save_pretrained(path, safe_serialization=True)
    return Path(path)


def tiny_t5_tokenizer():
    """A T5 (unigram) tokenizer over letters and the dataset's words, built in memory."""
    import string

    from transformers import T5Tokenizer

    words = ["tok", "red", "blue", "green", "yellow", "square", "stripe", "simple", "background"]
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    vocab += (
        [(c, -1.0) for c in string.ascii_lowercase + ","] + [("\u2581" + w, -2.0) for w in words] + [("\u2581", -3.0)]
    )
    tokenizer = T5Tokenizer(vocab=vocab, extra_ids=0)
    tokenizer.model_max_length = 32
    return tokenizer


def build_tiny_flux(path: Path, seed: int = 0) -> Path:
    """Save a tiny FLUX.1-layout pipeline (one double and one single block, CLIP + T5, guidance embedding)."""
    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler, FluxPipeline, FluxTransformer2DModel
    from transformers import CLIPTextModel, T5Config, T5EncoderModel

    torch.manual_seed(seed)
    transformer = FluxTransformer2DModel(
        patch_size=1,
        in_channels=16,  # 4 latent channels in 2x2 patches
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=32,
        pooled_projection_dim=32,
        guidance_embeds=True,
        axes_dims_rope=(4, 6, 6),
    )
    pipe = FluxPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(
            shift=3.0,
            use_dynamic_shifting=True,
            base_shift=0.5,
            max_shift=1.15,
            base_image_seq_len=256,
            max_image_seq_len=4096,
        ),  # fmt: skip
        vae=_vae(shift_factor=0.1, scaling_factor=1.5, use_quant_conv=False, use_post_quant_conv=False),
        text_encoder=CLIPTextModel(_text_config(projection=False)),
        tokenizer=tiny_tokenizer(),
        text_encoder_2=T5EncoderModel(T5Config(vocab_size=100, d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4)),
        tokenizer_2=tiny_t5_tokenizer(),
        transformer=transformer,
    )
    pipe.save_pretrained(path, safe_serialization=True)
    return Path(path)


COLOURS = {"red": (220, 30, 30), "blue": (30, 40, 220), "green": (30, 200, 60), "yellow": (230, 220, 40)}
SHAPES = ("square", "stripe")


def make_dataset(path: Path, count: int = 8, seed: int = 0, scale: int = 1) -> Path:
    """Write ``count`` small captioned images of mixed aspect ratios (64x64, 80x48, 48x80 ... times ``scale``)."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    path.mkdir(parents=True, exist_ok=True)
    sizes = [(64, 64), (80, 48), (48, 80), (72, 56)]
    colours = list(COLOURS)
    for index in range(count):
        colour = colours[index % len(colours)]
        shape = SHAPES[(index // len(colours)) % len(SHAPES)]
        width, height = (side * scale for side in sizes[index % len(sizes)])
        image = Image.new("RGB", (width, height), (245, 245, 245))
        draw = ImageDraw.Draw(image)
        x0, y0 = rng.randint(0, width // 4), rng.randint(0, height // 4)
        if shape == "square":
            draw.rectangle([x0, y0, x0 + width // 2, y0 + height // 2], fill=COLOURS[colour])
        else:
            draw.rectangle([0, y0, width, y0 + height // 6], fill=COLOURS[colour])
        image.save(path / f"img{index:02d}.png")
        (path / f"img{index:02d}.txt").write_text(f"tok, {colour}, {shape}, simple background\n", encoding="utf-8")
    return path


def shrink_profile(profile, steps: int, save_every: int, sample_every: int, sample_steps: int) -> None:
    """A TrainPilot profile sized for the tiny models: 64 px buckets, rank 4, lr 1e-2, one 64×64 sample prompt."""
    profile.dataset.resolution, profile.dataset.min_bucket, profile.dataset.max_bucket = 64, 32, 96
    profile.dataset.bucket_step = TINY_BUCKET_STEP
    profile.network.rank, profile.network.alpha = 4, 8.0
    profile.optim.learning_rate, profile.optim.warmup_steps = 1e-2, 0
    profile.training.steps, profile.training.batch_size = steps, 2
    profile.save.every_n_steps, profile.sample.every_n_steps, profile.sample.steps = (
        save_every,
        sample_every,
        sample_steps,
    )
    profile.sample.prompts, profile.sample.width, profile.sample.height = ["tok, red, square"], 64, 64
