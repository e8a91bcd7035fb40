"""Base-model families TrainPilot trains LoRAs for, and what each VRAM tier allows."""

from __future__ import annotations

from dataclasses import dataclass

VRAM_TIERS = (8, 12, 16, 24, 48)
QUALITIES = ("quick", "regular", "high")


@dataclass(frozen=True)
class Family:
    id: str
    title: str
    native_resolution: int
    # The largest training resolution each VRAM tier fits (batch 1, gradient checkpointing, cached latents);
    # a tier missing here cannot train the family at all.
    max_resolution: dict[int, int]
    # Single-file checkpoints hold everything (SD1.5, SDXL); FLUX.1 also needs text encoders and an autoencoder.
    needs_components: tuple[str, ...] = ()
    # A flow-matching transformer (SD3, FLUX.1 and later): no min-SNR weighting, text encoders stay frozen,
    # fp8 weights and block swapping on the small tiers.
    flow_matching: bool = False

    @property
    def min_vram(self) -> int:
        return min(self.max_resolution)


FAMILIES: dict[str, Family] = {
    family.id: family
    for family in (
        Family(
            id="sd15",
            title="Stable Diffusion 1.5",
            native_resolution=512,
            max_resolution={8: 768, 12: 1024, 16: 1024, 24: 1536, 48: 2048},
        ),
        Family(
            id="sd2",
            title="Stable Diffusion 2.x",
            native_resolution=768,
            max_resolution={8: 768, 12: 1024, 16: 1024, 24: 1536, 48: 2048},
        ),
        Family(
            id="sdxl",
            title="SDXL",
            native_resolution=1024,
            max_resolution={8: 1024, 12: 1024, 16: 1280, 24: 1536, 48: 2048},
        ),
        Family(
            id="sd3",
            title="Stable Diffusion 3.5",
            native_resolution=1024,
            max_resolution={12: 768, 16: 1024, 24: 1024, 48: 1536},
            flow_matching=True,
        ),
        Family(
            id="flux1",
            title="FLUX.1",
            native_resolution=1024,
            # 12 GB needs fp8 weights and block swapping; 8 GB does not fit FLUX.1 training.
            max_resolution={12: 768, 16: 1024, 24: 1024, 48: 1536},
            needs_components=("clip_l", "t5xxl", "ae"),
            flow_matching=True,
        ),
        # Chroma: an 8.9B FLUX.1-schnell derivative (one single-file transformer); sized like FLUX.1.
        Family(
            id="chroma",
            title="Chroma",
            native_resolution=1024,
            max_resolution={12: 768, 16: 1024, 24: 1024, 48: 1536},
            flow_matching=True,
        ),
        # Wan 2.1 text-to-video, trained on still images (and on clips with Diffusion Pipe). Tiers are sized for the 14B transformer with fp8
        # weights and block swapping below 24 GB (the 1.3B model needs far less).
        Family(
            id="wan21",
            title="Wan 2.1 (text-to-video)",
            native_resolution=768,
            max_resolution={12: 512, 16: 768, 24: 768, 48: 1024},
            flow_matching=True,
        ),
        # HiDream-I1 Full: a 17B transformer plus a Llama 3.1 8B text encoder that stays loaded (no text caching);
        # 24 GB with fp8 weights, a 4-bit Llama and block swapping, 48 GB without. Poor below 1024 px.
        Family(
            id="hidream",
            title="HiDream-I1",
            native_resolution=1024,
            max_resolution={24: 1024, 48: 1024},
            flow_matching=True,
        ),
        # HunyuanVideo: a 13B video transformer, trained on still images (and clips with Diffusion Pipe); fp8 weights up to 24 GB.
        Family(
            id="hunyuanvideo",
            title="HunyuanVideo",
            native_resolution=768,
            max_resolution={16: 512, 24: 768, 48: 1024},
            flow_matching=True,
        ),
        # LTX-Video 0.9.x: a 2B video transformer, trained on still images (and clips with Diffusion Pipe).
        Family(
            id="ltxvideo",
            title="LTX-Video",
            native_resolution=768,
            max_resolution={8: 512, 12: 768, 16: 768, 24: 1024, 48: 1024},
            flow_matching=True,
        ),
        # Lumina Image 2.0: a 2.6B transformer with a Gemma-2 2B text encoder.
        Family(
            id="lumina2",
            title="Lumina Image 2.0",
            native_resolution=1024,
            max_resolution={12: 768, 16: 1024, 24: 1024, 48: 1536},
            flow_matching=True,
        ),
        # The families below train with AI Toolkit and Diffusion Pipe only: the pinned sd-scripts has no script
        # for them and the native trainer knows SD and FLUX.1. Tiers are estimates, not measured on a GPU.
        # Qwen-Image: a 20B MMDiT with a Qwen2.5-VL 7B text encoder. Diffusion Pipe trains it on 24 GB with fp8
        # weights and block swapping at 640 px (its docs/supported_models.md, examples/qwen_image_24gb_vram.toml).
        Family(
            id="qwenimage",
            title="Qwen-Image",
            native_resolution=1024,
            max_resolution={24: 640, 48: 1024},
            flow_matching=True,
        ),
        # Wan 2.2 text-to-video, trained here on still images: the A14B pair of experts (AI Toolkit trains both,
        # Diffusion Pipe the low-noise one) or the TI2V 5B; sized for A14B with fp8 weights and block swapping.
        Family(
            id="wan22",
            title="Wan 2.2 (text-to-video)",
            native_resolution=768,
            max_resolution={16: 512, 24: 768, 48: 1024},
            flow_matching=True,
        ),
        # FLUX.2 dev: a 32B transformer with a Mistral Small 3 24B text encoder; fp8 weights on every tier (bf16
        # alone is 64 GB) and block swapping on 24 GB ("without block swapping, Dev needs at least 48GB":
        # Diffusion Pipe's docs). The smaller Klein 4B / 9B bases fit the same tiers comfortably.
        Family(
            id="flux2",
            title="FLUX.2",
            native_resolution=1024,
            max_resolution={24: 768, 48: 1024},
            flow_matching=True,
        ),
        # Z-Image: a 6B single-stream DiT (Lumina 2's layout, 3840 wide) with a Qwen3 4B text encoder.
        Family(
            id="zimage",
            title="Z-Image",
            native_resolution=1024,
            max_resolution={12: 768, 16: 1024, 24: 1024, 48: 1024},
            flow_matching=True,
        ),
    )
}


def get_family(family_id: str) -> Family:
    """The family named ``family_id``; the error lists the known ones."""
    from lorapilot.kit.errors import LorapilotError

    try:
        return FAMILIES[family_id]
    except KeyError:
        raise LorapilotError(f"unknown family {family_id!r}; known: {', '.join(FAMILIES)}") from None


def vram_tier(gb: int) -> int:
    """The tier a card of ``gb`` GiB belongs to (the largest tier not above it; 48 for 48 and more)."""
    fitting = [t for t in VRAM_TIERS if t <= gb]
    return fitting[-1] if fitting else VRAM_TIERS[0]
