"""Architecture, kind, LoRA rank/alpha and metadata come from the header alone."""

import json
import os
import subprocess
import sys
import tracemalloc

import pytest

from lorapilot.tools.models.detect import detect
from lorapilot.tools.models.inspect import inspect_file, summarize
from lorapilot.tools.models.safetensors_header import read_header
from support import model_files as mf
from support.workspaces import make_workspace

CASES = [
    # builder, kind, family, variant, (algo, rank, alpha) or None
    (mf.sd1_checkpoint, "checkpoint", "sd1", None, None),
    (mf.sd2_checkpoint, "checkpoint", "sd2", None, None),
    (mf.sdxl_checkpoint, "checkpoint", "sdxl", None, None),
    (mf.sdxl_refiner_checkpoint, "checkpoint", "sdxl_refiner", None, None),
    (mf.sd3_checkpoint, "checkpoint", "sd3", "medium", None),
    (lambda: mf.flux_transformer(dev=True), "diffusion_model", "flux1", "dev", None),
    (lambda: mf.flux_transformer(dev=False), "diffusion_model", "flux1", "schnell", None),
    (lambda: mf.kohya_lora_sd1(rank=4, alpha=2.0), "lora", "sd1", None, ("lora", 4, 2.0)),
    (lambda: mf.kohya_lora_sdxl(rank=8, alpha=4.0), "lora", "sdxl", None, ("lora", 8, 4.0)),
    (lambda: mf.kohya_lora_flux(rank=16), "lora", "flux1", None, ("lora", 16, 16.0)),
    (lambda: mf.peft_lora_flux(rank=8), "lora", "flux1", None, ("lora", 8, None)),
    (lambda: mf.loha_sd1(rank=4), "lycoris", "sd1", None, ("loha", 4, 1.0)),
    (lambda: mf.lokr_sdxl(rank=8), "lycoris", "sdxl", None, ("lokr", 8, None)),
    (lambda: mf.vae(4), "vae", None, "4-channel latents (SD1.x / SD2.x / SDXL)", None),
    (lambda: mf.vae(16), "vae", None, "16-channel latents (FLUX.1 / SD3)", None),
    (mf.clip_l, "text_encoder", None, "CLIP-L", None),
    (mf.t5xxl, "text_encoder", None, "T5-XXL", None),
    (mf.controlnet_sd1, "controlnet", "sd1", None, None),
    (mf.controlnet_sdxl_diffusers, "controlnet", "sdxl", None, None),
    (mf.sd1_inpaint_checkpoint, "checkpoint", "sd1", "inpaint", None),
    (mf.flux_checkpoint, "checkpoint", "flux1", "schnell", None),
    (lambda: mf.kohya_lora_sd2(rank=4), "lora", "sd2", None, ("lora", 4, 1.0)),
    (lambda: mf.kohya_lora_sd3(rank=8), "lora", "sd3", None, ("lora", 8, 8.0)),
    (lambda: mf.peft_lora_sd3(rank=8), "lora", "sd3", None, ("lora", 8, None)),
    (lambda: mf.locon_sd1(rank=8), "lycoris", "sd1", None, ("locon", 8, 1.0)),
    (lambda: mf.dora_sdxl(rank=8), "lora", "sdxl", None, ("dora", 8, 4.0)),
    # Newer DiT families: full models (original / ComfyUI layout and diffusers) ...
    (mf.chroma_transformer, "diffusion_model", "chroma", None, None),
    (lambda: mf.wan_transformer(dim=1536), "diffusion_model", "wan", "t2v 1.3B", None),
    (lambda: mf.wan_transformer(dim=5120, image=True), "diffusion_model", "wan", "i2v 14B", None),
    (mf.wan_diffusers_transformer, "diffusion_model", "wan", "t2v 14B", None),
    (lambda: mf.wan_transformer(dim=3072, in_dim=48), "diffusion_model", "wan", "ti2v 5B", None),
    (lambda: mf.as_checkpoint(mf.wan_transformer()), "checkpoint", "wan", "t2v 1.3B", None),
    (mf.lumina2_transformer, "diffusion_model", "lumina2", None, None),
    (lambda: mf.lumina2_transformer(diffusers=True), "diffusion_model", "lumina2", None, None),
    (lambda: mf.as_checkpoint(mf.lumina2_transformer()), "checkpoint", "lumina2", None, None),
    (mf.hidream_transformer, "diffusion_model", "hidream", None, None),
    (mf.hunyuan_video_transformer, "diffusion_model", "hunyuan_video", "t2v", None),
    (lambda: mf.hunyuan_video_transformer(in_channels=32), "diffusion_model", "hunyuan_video", "i2v", None),
    (mf.hunyuan_video_diffusers_transformer, "diffusion_model", "hunyuan_video", "t2v", None),
    (mf.ltxv_transformer, "diffusion_model", "ltxv", None, None),
    (lambda: mf.ltxv_transformer(diffusers=True), "diffusion_model", "ltxv", None, None),
    (mf.qwen_image_transformer, "diffusion_model", "qwen_image", None, None),
    (lambda: mf.as_checkpoint(mf.qwen_image_transformer()), "checkpoint", "qwen_image", None, None),
    (mf.flux2_transformer, "diffusion_model", "flux2", "dev", None),
    (lambda: mf.flux2_transformer(width=3072), "diffusion_model", "flux2", "klein 4B", None),
    (lambda: mf.flux2_transformer(width=4096, diffusers=True), "diffusion_model", "flux2", "klein 9B", None),
    (mf.zimage_transformer, "diffusion_model", "zimage", None, None),
    # ... and their LoRAs: Diffusion Pipe (diffusion_model. + PEFT), diffusers (transformer.), kohya / musubi-tuner.
    (
        lambda: mf.peft_lora(
            {"distilled_guidance_layer.layers.0.in_layer": 3072, "double_blocks.0.img_attn.qkv": 3072}
        ),
        "lora",
        "chroma",
        None,
        ("lora", 4, None),
    ),
    (
        lambda: mf.peft_lora({"blocks.0.self_attn.q": 1536, "blocks.0.cross_attn.k": 1536}),
        "lora",
        "wan",
        None,
        ("lora", 4, None),
    ),
    (
        lambda: mf.peft_lora({"blocks.0.attn1.to_q": 5120}, prefix="transformer."),
        "lora",
        "wan",
        None,
        ("lora", 4, None),
    ),
    (lambda: mf.kohya_lora({"blocks.0.self_attn.q": 5120}), "lora", "wan", None, ("lora", 4, 4.0)),
    (
        lambda: mf.peft_lora({"layers.0.attention.qkv": 2304, "noise_refiner.0.feed_forward.w1": 2304}),
        "lora",
        "lumina2",
        None,
        ("lora", 4, None),
    ),
    (
        lambda: mf.peft_lora({"double_stream_blocks.0.block.attn1.to_q": 2560}),
        "lora",
        "hidream",
        None,
        ("lora", 4, None),
    ),
    (
        lambda: mf.peft_lora({"single_stream_blocks.0.block.attn1.to_q": 2560}, prefix="transformer."),
        "lora",
        "hidream",
        None,
        ("lora", 4, None),
    ),
    (
        lambda: mf.peft_lora(
            {"double_blocks.0.img_attn_qkv": 3072, "single_blocks.0.linear1": 3072}, prefix="transformer."
        ),
        "lora",
        "hunyuan_video",
        None,
        ("lora", 4, None),
    ),
    (
        lambda: mf.kohya_lora({"double_blocks.0.img_attn_qkv": 3072, "double_blocks.0.img_mlp.fc1": 3072}),
        "lora",
        "hunyuan_video",
        None,
        ("lora", 4, 4.0),
    ),
    (
        lambda: mf.peft_lora({"transformer_blocks.0.attn1.to_q": 2048, "transformer_blocks.0.attn2.to_k": 4096}),
        "lora",
        "ltxv",
        None,
        ("lora", 4, None),
    ),
    (
        lambda: mf.peft_lora({"transformer_blocks.0.attn.to_q": 3072, "transformer_blocks.0.img_mlp.net.0.proj": 3072}),
        "lora",
        "qwen_image",
        None,
        ("lora", 4, None),
    ),
    (lambda: mf.kohya_lora({"transformer_blocks.0.txt_mod.1": 3072}), "lora", "qwen_image", None, ("lora", 4, 4.0)),
    (lambda: mf.peft_lora({"double_blocks.0.img_attn.qkv": 6144}), "lora", "flux2", None, ("lora", 4, None)),
    (
        lambda: mf.peft_lora({"layers.0.attention.qkv": 3840, "noise_refiner.0.feed_forward.w1": 3840}),
        "lora",
        "zimage",
        None,
        ("lora", 4, None),
    ),
    (
        lambda: mf.peft_lora({"layers.0.attention.to_q": 3840}, prefix="diffusion_model."),
        "lora",
        "zimage",
        None,
        ("lora", 4, None),
    ),
]


@pytest.mark.parametrize("builder,kind,family,variant,adapter", CASES, ids=[f"{c[1]}-{c[2]}-{c[3]}" for c in CASES])
def test_detects_kind_family_and_adapter_shape(tmp_path, builder, kind, family, variant, adapter):
    path = mf.write_model(tmp_path / "m.safetensors", builder())
    result = detect(read_header(path))
    assert (result.kind, result.family, result.variant) == (kind, family, variant), result.evidence
    if adapter is None:
        assert result.lora is None
    else:
        assert (result.lora.algo, result.lora.rank, result.lora.alpha) == adapter
    assert result.dtype == "F16"
    assert (
        result.folder
        == {
            "lycoris": "loras",
            "lora": "loras",
            "checkpoint": "checkpoints",
            "diffusion_model": "diffusion_models",
            "vae": "vae",
            "text_encoder": "text_encoders",
            "controlnet": "controlnet",
        }[kind]
    )


def test_pixart_is_not_taken_for_ltx_video(tmp_path):
    """PixArt shares LTX-Video's adaln_single; ComfyUI tells them apart by PixArt's pos_embed."""
    result = detect(read_header(mf.write_model(tmp_path / "p.safetensors", mf.pixart_transformer())))
    assert result.family is None


def test_hunyuan_image_is_not_taken_for_hunyuan_video(tmp_path):
    spec = mf.hunyuan_video_transformer()
    spec["img_in.proj.weight"] = ((8, 64, 2, 2),)  # a 2-D patch embedding
    result = detect(read_header(mf.write_model(tmp_path / "h.safetensors", spec)))
    assert result.kind == "diffusion_model" and result.family is None and "2-D" in result.evidence


@pytest.mark.parametrize("arch,family", [("chroma/lora", "chroma"), ("hunyuan-video/lora", "hunyuan_video")])
def test_metadata_names_a_flux_layout_family_the_keys_cannot(tmp_path, arch, family):
    """A LoRA on FLUX-named attention only reads as FLUX.1; sd-scripts' / musubi-tuner's modelspec says which."""
    spec = mf.peft_lora({"double_blocks.0.img_attn.qkv": 3072})
    assert detect(read_header(mf.write_model(tmp_path / "a.safetensors", spec))).family == "flux1"
    path = mf.write_model(tmp_path / "b.safetensors", spec, {"modelspec.architecture": arch})
    result = detect(read_header(path))
    assert result.family == family and "modelspec.architecture" in result.evidence


def test_sd_unet_peft_lora_is_not_taken_for_ltx_video(tmp_path):
    """SD's nested down_blocks.*.transformer_blocks.*.attn2 must still read as SD, not as LTX-Video's top-level blocks."""
    spec = mf.peft_lora({"down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k": 768}, prefix="unet.")
    assert detect(read_header(mf.write_model(tmp_path / "s.safetensors", spec))).family == "sd1"


def test_lora_family_falls_back_to_metadata_when_keys_do_not_say(tmp_path):
    spec = {"lora_unet_some_block.lora_down.weight": ((4, 320),), "lora_unet_some_block.lora_up.weight": ((320, 4),)}
    path = mf.write_model(tmp_path / "x.safetensors", spec, {"ss_base_model_version": "sdxl_base_v1-0"})
    result = detect(read_header(path))
    assert result.kind == "lora" and result.family == "sdxl"
    assert "ss_base_model_version" in result.evidence


def test_inspect_reports_training_metadata_and_tag_frequency_table(tmp_path):
    path = mf.write_model(tmp_path / "pixel.safetensors", mf.kohya_lora_sd1(), mf.LORA_METADATA)
    report = inspect_file(path)
    assert report["summary"]["family_label"] == "SD1.x"
    assert report["training"]["ss_network_dim"] == "4"
    assert report["training"]["modelspec.title"] == "Pixel Style"
    assert "ss_tag_frequency" not in report["metadata"]
    assert report["tag_frequency"][:3] == [
        {"dataset": "10_pixel", "tag": "pixel art", "count": 40},
        {"dataset": "10_pixel", "tag": "1girl", "count": 12},
        {"dataset": "10_pixel", "tag": "outdoors", "count": 7},
    ]


def test_inspect_cli_prints_the_tag_table_and_hashes(tmp_path):
    ctx = make_workspace(tmp_path / "ws")
    path = mf.write_model(tmp_path / "pixel.safetensors", mf.kohya_lora_sd1(), mf.LORA_METADATA)
    env = {**os.environ, "COLUMNS": "160"}
    out = subprocess.run(
        [sys.executable, "-m", "lorapilot", "models", "inspect", str(path), "-w", str(ctx.workspace.root)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    assert "ss_tag_frequency" in out and "pixel art" in out and "40" in out
    assert "rank          4" in out and "alpha         2.0" in out
    assert "autov2" in out
    data = json.loads(
        subprocess.run(
            [
                sys.executable,
                "-m",
                "lorapilot",
                "models",
                "inspect",
                str(path),
                "--json",
                "-w",
                str(ctx.workspace.root),
            ],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        ).stdout
    )
    assert data["hashes"]["autov2"] == data["hashes"]["sha256"][:10]


def test_inspect_reads_the_header_only(tmp_path):
    """A 4 GiB tensor (a sparse file) is inspected without reading or allocating its data."""
    header = {
        "big.weight": {"dtype": "F32", "shape": [1024, 1024, 1024], "data_offsets": [0, 4 * 1024**3]},
        "__metadata__": {"modelspec.title": "huge"},
    }
    path = mf.raw_safetensors(tmp_path / "huge.safetensors", header)
    with path.open("r+b") as fh:
        fh.truncate(path.stat().st_size + 4 * 1024**3)
    tracemalloc.start()
    summary = summarize(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert summary["params"] == 1024**3 and summary["dtype"] == "F32"
    assert peak < 5 * 1024 * 1024


def test_pickles_are_listed_with_a_warning_and_never_opened(tmp_path):
    evil = tmp_path / "evil.ckpt"
    # A pickle that would create a file if it were ever unpickled.
    marker = tmp_path / "pwned"
    evil.write_bytes(b"cos\nsystem\n(S'touch " + str(marker).encode() + b"'\ntR.")
    summary = summarize(evil)
    assert summary["format"] == "pickle" and "not opened" in summary["warning"]
    assert not marker.exists()
