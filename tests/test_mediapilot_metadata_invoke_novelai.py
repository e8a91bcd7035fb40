"""InvokeAI (3.x+ metadata-only files, graphs, 2.x sd-metadata) and NovelAI, read from real PNGs."""

from __future__ import annotations

import json

from lorapilot.tools.mediapilot.meta import extract
from lorapilot.tools.mediapilot.probe import probe_file
from support import media_files as mf

META_V5 = {
    "generation_mode": "txt2img",
    "positive_prompt": "a misty forest, volumetric light",
    "negative_prompt": "text, watermark",
    "width": 1216,
    "height": 832,
    "seed": 3312874,
    "rand_device": "cpu",
    "cfg_scale": 6.5,
    "cfg_rescale_multiplier": 0,
    "steps": 32,
    "scheduler": "dpmpp_2m_k",
    "model": {"key": "4f1c", "hash": "blake3:abcd", "name": "juggernautXL_v9", "base": "sdxl", "type": "main"},
    "loras": [
        {
            "model": {"key": "k1", "hash": "blake3:1111", "name": "forest_style_v2", "base": "sdxl", "type": "lora"},
            "weight": 0.65,
        },
        {
            "model": {"key": "k2", "hash": "blake3:2222", "name": "less detail", "base": "sdxl", "type": "lora"},
            "weight": -0.3,
        },
    ],
    "vae": {"key": "v", "name": "sdxl_vae", "base": "sdxl", "type": "vae"},
    "app_version": "5.6.0",
}

# InvokeAI 3.0-3.3 wrote model records as {model_name, base_model} and LoRAs as {lora: {...}, weight}.
META_V3 = {
    "generation_mode": "txt2img",
    "positive_prompt": "portrait of an old sailor",
    "negative_prompt": "",
    "width": 512,
    "height": 768,
    "seed": 99,
    "cfg_scale": 7.5,
    "steps": 50,
    "scheduler": "euler",
    "model": {"model_name": "stable-diffusion-v1-5", "base_model": "sd-1", "model_type": "main"},
    "loras": [{"lora": {"model_name": "sailor_hat", "base_model": "sd-1"}, "weight": 0.8}],
    "app_version": "3.2.0",
}


def _extract(path):
    probe = probe_file(path)
    assert probe.errors == []
    info, problems = extract(probe.texts, path.name)
    assert problems == []
    return info


def test_invokeai_metadata_only_file_v5(tmp_path):
    info = _extract(mf.png(tmp_path / "a.png", texts={"invokeai_metadata": json.dumps(META_V5)}))
    assert info.source == "invokeai"
    assert info.positive == "a misty forest, volumetric light"
    assert info.negative == "text, watermark"
    assert (info.seed, info.steps, info.cfg, info.scheduler) == (3312874, 32, 6.5, "dpmpp_2m_k")
    assert (info.width, info.height) == (1216, 832)
    assert (info.model, info.model_hash) == ("juggernautXL_v9", "blake3:abcd")
    assert [(l.name, l.weight, l.hash) for l in info.loras] == [
        ("forest_style_v2", 0.65, "blake3:1111"),
        ("less detail", -0.3, "blake3:2222"),
    ]
    assert info.extra["vae"] == "sdxl_vae"
    assert info.has_workflow is False


def test_invokeai_metadata_only_file_v3(tmp_path):
    info = _extract(mf.png(tmp_path / "b.png", texts={"invokeai_metadata": json.dumps(META_V3)}))
    assert info.model == "stable-diffusion-v1-5"
    assert [(l.name, l.weight) for l in info.loras] == [("sailor_hat", 0.8)]
    assert (info.seed, info.steps, info.cfg) == (99, 50, 7.5)


def test_invokeai_graph_with_core_metadata(tmp_path):
    graph = {
        "id": "g",
        "nodes": {
            "core_metadata": {"id": "core_metadata", "type": "core_metadata", **META_V5},
            "noise": {"id": "noise", "type": "noise", "seed": 1},
        },
        "edges": [],
    }
    info = _extract(mf.png(tmp_path / "c.png", texts={"invokeai_graph": json.dumps(graph), "invokeai_workflow": "{}"}))
    assert info.seed == 3312874 and info.model == "juggernautXL_v9" and info.has_workflow


def test_invokeai_graph_without_metadata_node(tmp_path):
    graph = {
        "id": "g",
        "nodes": {
            "main": {
                "id": "main",
                "type": "main_model_loader",
                "model": {"key": "m", "name": "dreamshaper_8", "base": "sd-1"},
            },
            "lora1": {"id": "lora1", "type": "lora_loader", "lora": {"key": "l", "name": "ink_style"}, "weight": 0.5},
            "pos": {"id": "pos", "type": "compel", "prompt": "ink drawing of a whale"},
            "neg": {"id": "neg", "type": "compel", "prompt": "color"},
            "noise": {"id": "noise", "type": "noise", "seed": 5150, "width": 640, "height": 640},
            "den": {"id": "den", "type": "denoise_latents", "steps": 22, "cfg_scale": 5.0, "scheduler": "euler_a"},
        },
        "edges": [
            {
                "source": {"node_id": "pos", "field": "conditioning"},
                "destination": {"node_id": "den", "field": "positive_conditioning"},
            },
            {
                "source": {"node_id": "neg", "field": "conditioning"},
                "destination": {"node_id": "den", "field": "negative_conditioning"},
            },
        ],
    }
    info = _extract(mf.png(tmp_path / "d.png", texts={"invokeai_graph": json.dumps(graph)}))
    assert (info.positive, info.negative) == ("ink drawing of a whale", "color")
    assert (info.model, info.seed, info.steps, info.cfg, info.scheduler) == ("dreamshaper_8", 5150, 22, 5.0, "euler_a")
    assert (info.width, info.height) == (640, 640)
    assert [(l.name, l.weight) for l in info.loras] == [("ink_style", 0.5)]


def test_invokeai_2_sd_metadata(tmp_path):
    meta = {
        "model": "stable diffusion",
        "model_weights": "stable-diffusion-1.5",
        "model_hash": "cc6cb27103",
        "app_id": "invoke-ai/InvokeAI",
        "app_version": "2.3.5",
        "image": {
            "prompt": [{"prompt": "a red barn in snow [blurry, people]", "weight": 1.0}],
            "steps": 40,
            "cfg_scale": 7.5,
            "threshold": 0,
            "perlin": 0,
            "height": 512,
            "width": 768,
            "seed": 2023,
            "seamless": False,
            "hires_fix": False,
            "type": "txt2img",
            "postprocessing": None,
            "sampler": "k_lms",
            "variations": [],
        },
    }
    info = _extract(mf.png(tmp_path / "e.png", texts={"sd-metadata": json.dumps(meta)}))
    assert info.source == "invokeai"
    assert info.positive == "a red barn in snow"
    assert info.negative == "blurry, people"
    assert (info.model, info.model_hash) == ("stable-diffusion-1.5", "cc6cb27103")
    assert (info.seed, info.steps, info.cfg, info.sampler, info.width, info.height) == (
        2023,
        40,
        7.5,
        "k_lms",
        768,
        512,
    )


def test_novelai(tmp_path):
    comment = {
        "prompt": "1girl, silver hair, starry sky",
        "steps": 28,
        "height": 1216,
        "width": 832,
        "scale": 5.0,
        "uncond_scale": 0.0,
        "cfg_rescale": 0.0,
        "seed": 3735928559,
        "n_samples": 1,
        "noise_schedule": "karras",
        "sampler": "k_euler_ancestral",
        "uc": "lowres, bad anatomy",
    }
    path = mf.png(
        tmp_path / "nai.png",
        texts={
            "Title": "NovelAI generated image",
            "Description": "1girl, silver hair, starry sky",
            "Software": "NovelAI",
            "Source": "NovelAI Diffusion V4.5 4BDE2A90",
            "Comment": json.dumps(comment),
        },
    )
    info = _extract(path)
    assert info.source == "novelai"
    assert info.model == "NovelAI Diffusion V4.5 4BDE2A90"
    assert info.positive == "1girl, silver hair, starry sky"
    assert info.negative == "lowres, bad anatomy"
    assert (info.seed, info.steps, info.cfg, info.sampler, info.scheduler) == (
        3735928559,
        28,
        5.0,
        "k_euler_ancestral",
        "karras",
    )
    assert (info.width, info.height) == (832, 1216)
    assert info.extra["cfg_rescale"] == 0.0


def test_broken_json_is_reported_not_raised(tmp_path):
    path = mf.png(
        tmp_path / "bad.png", texts={"invokeai_metadata": "{not json", "Software": "NovelAI", "Comment": "[1, 2"}
    )
    info, problems = extract(probe_file(path).texts, path.name)
    assert info is None
    assert problems == ["invokeai_metadata is not a JSON object", "NovelAI Comment is not a JSON object"]
