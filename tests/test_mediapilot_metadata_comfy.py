"""ComfyUI prompt graphs: the sampler behind the final save, prompts through conditioning, model through LoRAs."""

from __future__ import annotations

import copy
import json

import pytest

from lorapilot.tools.mediapilot.meta import extract
from lorapilot.tools.mediapilot.meta.comfy import parse_prompt_graph
from lorapilot.tools.mediapilot.probe import probe_file
from support import media_files as mf

MAX_SEED = 2**64 - 1


def two_pass_graph() -> dict:
    """SD1.5 hires fix: KSampler -> LatentUpscaleBy -> KSampler -> VAEDecode -> SaveImage, with two LoRAs."""
    return {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd15/dreamshaper_8.safetensors"}},
        "10": {
            "class_type": "LoraLoader",
            "inputs": {
                "lora_name": "styles\\film_grain.safetensors",
                "strength_model": 0.7,
                "strength_clip": 1.0,
                "model": ["4", 0],
                "clip": ["4", 1],
            },
        },
        "11": {
            "class_type": "LoraLoader",
            "inputs": {
                "lora_name": "detail_tweaker.safetensors",
                "strength_model": -0.4,
                "strength_clip": -0.4,
                "model": ["10", 0],
                "clip": ["10", 1],
            },
        },
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 768, "batch_size": 1}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a castle at dusk", "clip": ["11", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry, lowres", "clip": ["11", 1]}},
        "3": {
            "class_type": "KSampler",
            "inputs": {
                "seed": 111,
                "steps": 30,
                "cfg": 7.0,
                "sampler_name": "euler",
                "scheduler": "normal",
                "denoise": 1.0,
                "model": ["11", 0],
                "positive": ["6", 0],
                "negative": ["7", 0],
                "latent_image": ["5", 0],
            },
        },
        "12": {
            "class_type": "LatentUpscaleBy",
            "inputs": {"upscale_method": "nearest-exact", "scale_by": 2.0, "samples": ["3", 0]},
        },
        "13": {
            "class_type": "KSampler",
            "inputs": {
                "seed": MAX_SEED,
                "steps": 15,
                "cfg": 5.5,
                "sampler_name": "dpmpp_2m",
                "scheduler": "karras",
                "denoise": 0.5,
                "model": ["11", 0],
                "positive": ["6", 0],
                "negative": ["7", 0],
                "latent_image": ["12", 0],
            },
        },
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["13", 0], "vae": ["4", 2]}},
        "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "ComfyUI", "images": ["8", 0]}},
    }


def test_two_pass_takes_the_sampler_that_feeds_the_save():
    info = parse_prompt_graph(two_pass_graph())
    assert info.source == "comfyui"
    assert info.seed == MAX_SEED
    assert (info.steps, info.cfg, info.sampler, info.scheduler, info.denoise) == (15, 5.5, "dpmpp_2m", "karras", 0.5)
    assert info.positive == "a castle at dusk"
    assert info.negative == "blurry, lowres"
    assert info.model == "sd15/dreamshaper_8.safetensors"
    assert [(l.name, l.weight, l.clip_weight) for l in info.loras] == [
        ("styles\\film_grain.safetensors", 0.7, 1.0),
        ("detail_tweaker.safetensors", -0.4, -0.4),
    ]
    assert (info.width, info.height) == (512, 768)  # the generation size: the first pass's, as A1111's Size
    assert info.extra["final_size"] == [1024, 1536]  # the hires pass works at 512x768 upscaled by 2
    assert [p["seed"] for p in info.extra["passes"]] == [str(MAX_SEED), "111"]
    assert info.warnings == []


def test_graph_order_does_not_matter():
    graph = two_pass_graph()
    reversed_graph = dict(reversed(list(graph.items())))
    assert parse_prompt_graph(reversed_graph).seed == MAX_SEED
    # IIB's bug: the first KSampler in the file wins. Here the first pass comes first in the file.
    assert list(graph).index("3") < list(graph).index("13")


def test_ksampler_advanced_base_and_refiner():
    graph = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd_xl_base_1.0.safetensors"}},
        "2": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd_xl_refiner_1.0.safetensors"}},
        "3": {
            "class_type": "CLIPTextEncodeSDXL",
            "inputs": {
                "clip": ["1", 1],
                "width": 1024,
                "height": 1024,
                "crop_w": 0,
                "crop_h": 0,
                "target_width": 1024,
                "target_height": 1024,
                "text_g": "a red fox",
                "text_l": "a red fox, photo",
            },
        },
        "4": {
            "class_type": "CLIPTextEncodeSDXL",
            "inputs": {
                "clip": ["1", 1],
                "width": 1024,
                "height": 1024,
                "crop_w": 0,
                "crop_h": 0,
                "target_width": 1024,
                "target_height": 1024,
                "text_g": "cartoon",
                "text_l": "cartoon",
            },
        },
        "5": {
            "class_type": "CLIPTextEncodeSDXLRefiner",
            "inputs": {"ascore": 6.0, "width": 1024, "height": 1024, "text": "a red fox, photo", "clip": ["2", 1]},
        },
        "6": {
            "class_type": "CLIPTextEncodeSDXLRefiner",
            "inputs": {"ascore": 2.5, "width": 1024, "height": 1024, "text": "cartoon", "clip": ["2", 1]},
        },
        "7": {"class_type": "EmptyLatentImage", "inputs": {"width": 1024, "height": 1024, "batch_size": 1}},
        "10": {
            "class_type": "KSamplerAdvanced",
            "inputs": {
                "model": ["1", 0],
                "add_noise": "enable",
                "noise_seed": 987654321,
                "steps": 25,
                "cfg": 8.0,
                "sampler_name": "euler",
                "scheduler": "normal",
                "positive": ["3", 0],
                "negative": ["4", 0],
                "latent_image": ["7", 0],
                "start_at_step": 0,
                "end_at_step": 20,
                "return_with_leftover_noise": "enable",
            },
        },
        "11": {
            "class_type": "KSamplerAdvanced",
            "inputs": {
                "model": ["2", 0],
                "add_noise": "disable",
                "noise_seed": 0,
                "steps": 25,
                "cfg": 8.0,
                "sampler_name": "euler",
                "scheduler": "normal",
                "positive": ["5", 0],
                "negative": ["6", 0],
                "latent_image": ["10", 0],
                "start_at_step": 20,
                "end_at_step": 10000,
                "return_with_leftover_noise": "disable",
            },
        },
        "17": {"class_type": "VAEDecode", "inputs": {"samples": ["11", 0], "vae": ["2", 2]}},
        "19": {"class_type": "SaveImage", "inputs": {"filename_prefix": "sdxl", "images": ["17", 0]}},
    }
    info = parse_prompt_graph(graph)
    assert info.seed == 987654321  # the refiner adds no noise: the seed is the base's
    assert info.model == "sd_xl_base_1.0.safetensors"
    assert info.extra["refiner_model"] == "sd_xl_refiner_1.0.safetensors"
    assert info.positive == "a red fox, photo"  # the refiner's own prompt feeds the final sampler
    assert (info.steps, info.cfg, info.sampler, info.scheduler) == (25, 8.0, "euler", "normal")
    assert (info.width, info.height) == (1024, 1024)
    base_only = parse_prompt_graph(
        {k: v for k, v in graph.items() if k not in ("11",)}
        | {"17": {"class_type": "VAEDecode", "inputs": {"samples": ["10", 0], "vae": ["1", 2]}}}
    )
    assert base_only.positive == "a red fox\na red fox, photo"  # text_g and text_l, both kept
    assert base_only.negative == "cartoon"  # identical text_g / text_l reported once


def flux_graph() -> dict:
    """FLUX with SamplerCustomAdvanced: RandomNoise, BasicGuider, KSamplerSelect, BasicScheduler, FluxGuidance."""
    return {
        "12": {
            "class_type": "UNETLoader",
            "inputs": {"unet_name": "flux1-dev.safetensors", "weight_dtype": "fp8_e4m3fn"},
        },
        "30": {
            "class_type": "LoraLoaderModelOnly",
            "inputs": {"lora_name": "flux/realism_lora.safetensors", "strength_model": 0.85, "model": ["12", 0]},
        },
        "11": {
            "class_type": "DualCLIPLoader",
            "inputs": {"clip_name1": "t5xxl_fp16.safetensors", "clip_name2": "clip_l.safetensors", "type": "flux"},
        },
        "40": {"class_type": "PrimitiveStringMultiline", "inputs": {"value": "a lighthouse in a storm, cinematic"}},
        "6": {
            "class_type": "CLIPTextEncodeFlux",
            "inputs": {"clip": ["11", 0], "clip_l": "lighthouse", "t5xxl": ["40", 0], "guidance": 3.5},
        },
        "26": {"class_type": "FluxGuidance", "inputs": {"conditioning": ["6", 0], "guidance": 2.8}},
        "22": {"class_type": "BasicGuider", "inputs": {"model": ["30", 0], "conditioning": ["26", 0]}},
        "25": {"class_type": "RandomNoise", "inputs": {"noise_seed": ["41", 0]}},
        "41": {"class_type": "PrimitiveInt", "inputs": {"value": 424242424242}},
        "16": {"class_type": "KSamplerSelect", "inputs": {"sampler_name": "euler"}},
        "17": {
            "class_type": "BasicScheduler",
            "inputs": {"scheduler": "simple", "steps": 20, "denoise": 1.0, "model": ["30", 0]},
        },
        "27": {"class_type": "EmptySD3LatentImage", "inputs": {"width": 1024, "height": 768, "batch_size": 1}},
        "13": {
            "class_type": "SamplerCustomAdvanced",
            "inputs": {
                "noise": ["25", 0],
                "guider": ["22", 0],
                "sampler": ["16", 0],
                "sigmas": ["17", 0],
                "latent_image": ["27", 0],
            },
        },
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["13", 0], "vae": ["10", 0]}},
        "10": {"class_type": "VAELoader", "inputs": {"vae_name": "ae.safetensors"}},
        "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "flux", "images": ["8", 0]}},
    }


def test_flux_sampler_custom_advanced():
    info = parse_prompt_graph(flux_graph())
    assert info.seed == 424242424242  # through RandomNoise and a PrimitiveInt
    assert (info.steps, info.sampler, info.scheduler, info.denoise) == (20, "euler", "simple", 1.0)
    assert info.cfg is None  # BasicGuider has no cfg
    assert info.extra["guidance"] == 2.8  # FluxGuidance, nearest the sampler
    assert info.positive == "a lighthouse in a storm, cinematic\nlighthouse"  # t5xxl (via a primitive), clip_l
    assert info.negative == ""
    assert info.model == "flux1-dev.safetensors"
    assert [(l.name, l.weight) for l in info.loras] == [("flux/realism_lora.safetensors", 0.85)]
    assert (info.width, info.height) == (1024, 768)


def test_sampler_custom_with_cfg_guider_and_conditioning_nodes():
    graph = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "model.safetensors"}},
        "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "a cat", "clip": ["1", 1]}},
        "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "wearing a hat", "clip": ["1", 1]}},
        "4": {"class_type": "ConditioningCombine", "inputs": {"conditioning_1": ["2", 0], "conditioning_2": ["3", 0]}},
        "5": {"class_type": "CLIPTextEncode", "inputs": {"text": "in the rain", "clip": ["1", 1]}},
        "6": {
            "class_type": "ConditioningConcat",
            "inputs": {"conditioning_to": ["4", 0], "conditioning_from": ["5", 0]},
        },
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "dog", "clip": ["1", 1]}},
        "8": {
            "class_type": "ControlNetApplyAdvanced",
            "inputs": {
                "positive": ["6", 0],
                "negative": ["7", 0],
                "control_net": ["20", 0],
                "image": ["21", 0],
                "strength": 1.0,
                "start_percent": 0.0,
                "end_percent": 1.0,
            },
        },
        "9": {
            "class_type": "CFGGuider",
            "inputs": {"model": ["1", 0], "positive": ["8", 0], "negative": ["8", 1], "cfg": 4.5},
        },
        "10": {
            "class_type": "SamplerCustom",
            "inputs": {
                "model": ["1", 0],
                "add_noise": True,
                "noise_seed": 77,
                "cfg": 6.0,
                "positive": ["8", 0],
                "negative": ["8", 1],
                "sampler": ["11", 0],
                "sigmas": ["12", 0],
                "latent_image": ["13", 0],
            },
        },
        "11": {"class_type": "SamplerEulerAncestral", "inputs": {"eta": 1.0, "s_noise": 1.0}},
        "12": {
            "class_type": "KarrasScheduler",
            "inputs": {"steps": 18, "sigma_max": 14.6, "sigma_min": 0.03, "rho": 7.0},
        },
        "13": {"class_type": "EmptyLatentImage", "inputs": {"width": 640, "height": 640, "batch_size": 1}},
        "14": {"class_type": "VAEDecode", "inputs": {"samples": ["10", 0], "vae": ["1", 2]}},
        "15": {"class_type": "SaveImage", "inputs": {"filename_prefix": "custom", "images": ["14", 0]}},
    }
    info = parse_prompt_graph(graph)
    assert info.seed == 77
    assert (info.steps, info.cfg, info.sampler, info.scheduler) == (18, 6.0, "SamplerEulerAncestral", "karras")
    assert info.positive == "a cat\nwearing a hat\nin the rain"
    assert info.negative == "dog"  # ControlNetApplyAdvanced output slot 1 follows its negative input
    assert info.warnings == []  # links the walk never needs (the ControlNet model) are not checked


def test_prefix_picks_the_matching_save_node():
    graph = two_pass_graph()
    graph["30"] = {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}}
    graph["31"] = {"class_type": "SaveImage", "inputs": {"filename_prefix": "previews/lowres", "images": ["30", 0]}}
    graph["9"]["inputs"]["filename_prefix"] = "final/hires"
    assert parse_prompt_graph(graph, "lowres_00001_.png").seed == 111
    assert parse_prompt_graph(graph, "hires_00001_.png").seed == MAX_SEED
    assert parse_prompt_graph(graph, "other.png").seed == MAX_SEED  # no match: the save with the longer chain


def test_text_through_string_nodes():
    graph = two_pass_graph()
    graph["50"] = {"class_type": "PrimitiveString", "inputs": {"value": "a castle"}}
    graph["51"] = {
        "class_type": "StringConcatenate",
        "inputs": {"string_a": ["50", 0], "string_b": "at night", "delimiter": ", "},
    }
    graph["6"]["inputs"]["text"] = ["51", 0]
    assert parse_prompt_graph(graph).positive == "a castle, at night"


@pytest.mark.timeout(10)
def test_cycles_and_dangling_links_do_not_hang():
    graph = two_pass_graph()
    graph["6"]["inputs"]["text"] = ["60", 0]
    graph["60"] = {
        "class_type": "StringConcatenate",
        "inputs": {"string_a": ["61", 0], "string_b": "x", "delimiter": ""},
    }
    graph["61"] = {
        "class_type": "StringConcatenate",
        "inputs": {"string_a": ["60", 0], "string_b": "y", "delimiter": ""},
    }
    graph["11"]["inputs"]["model"] = ["11", 0]  # a LoRA loader feeding itself
    graph["12"]["inputs"]["samples"] = ["13", 0]  # the two samplers feed each other
    graph["7"]["inputs"]["text"] = ["999", 0]  # a node that does not exist
    info = parse_prompt_graph(graph)
    assert any(w.startswith("cycle through node") for w in info.warnings)
    assert "dangling link to node 999" in info.warnings
    assert info.seed == MAX_SEED
    assert info.model is None
    assert [l.name for l in info.loras] == ["detail_tweaker.safetensors"]


def test_junk_graphs():
    assert parse_prompt_graph({"1": {"class_type": "SaveImage", "inputs": "nonsense"}, "2": 5}).warnings == [
        "no sampler found in the graph"
    ]
    weird = two_pass_graph()
    weird["13"]["inputs"]["seed"] = True  # a bool is not a seed
    weird["13"]["inputs"]["steps"] = ["3", "x"]  # not a link either
    info = parse_prompt_graph(weird)
    assert info.seed is None and info.steps is None


def test_png_with_prompt_and_workflow_chunks(tmp_path):
    graph = two_pass_graph()
    workflow = {"last_node_id": 13, "nodes": [{"id": 3, "type": "KSampler"}], "links": [], "version": 0.4}
    path = mf.png(
        tmp_path / "ComfyUI_00001_.png", texts={"prompt": json.dumps(graph), "workflow": json.dumps(workflow)}
    )
    info, problems = extract(probe_file(path).texts, path.name)
    assert problems == []
    assert info.has_workflow is True
    assert info.seed == MAX_SEED


@pytest.mark.parametrize("fmt", ["webp", "jpeg"])
def test_webp_and_jpeg_exif_prompt(tmp_path, fmt):
    graph = flux_graph()
    tags = mf.comfy_exif_tags(graph, {"nodes": [], "links": []})
    path = (
        mf.webp(tmp_path / "ComfyUI_00001_.webp", tags=tags)
        if fmt == "webp"
        else mf.jpeg(tmp_path / "ComfyUI_00001_.jpg", tags=tags)
    )
    probe = probe_file(path)
    assert probe.texts["exif:Model"].startswith("prompt:{")
    info, problems = extract(probe.texts, path.name)
    assert problems == []
    assert info.source == "comfyui" and info.has_workflow
    assert info.seed == 424242424242
    assert info.model == "flux1-dev.safetensors"


def test_ui_workflow_without_api_graph(tmp_path):
    path = mf.png(tmp_path / "w.png", texts={"workflow": json.dumps({"nodes": []})})
    info, _ = extract(probe_file(path).texts, path.name)
    assert info.source == "comfyui" and info.has_workflow and info.seed is None


def test_graph_is_not_mutated():
    graph = two_pass_graph()
    before = copy.deepcopy(graph)
    parse_prompt_graph(graph)
    assert graph == before


def long_chain_graph(links: int) -> dict:
    """``two_pass_graph`` with ``links`` pass-through nodes on every path the walks follow: conditioning
    (ConditioningSetTimestepRange), the positive text (PrimitiveString -> ... -> the encoder), the
    negative text through nested StringConcatenate nodes, and the latent (LatentUpscaleBy 1.0)."""
    graph = two_pass_graph()
    prev = ["6", 0]
    for i in range(links):
        node = f"c{i}"
        graph[node] = {
            "class_type": "ConditioningSetTimestepRange",
            "inputs": {"conditioning": prev, "start": 0.0, "end": 1.0},
        }
        prev = [node, 0]
    graph["13"]["inputs"]["positive"] = prev
    graph["s0"] = {"class_type": "PrimitiveString", "inputs": {"value": "a castle at dusk"}}
    for i in range(1, links):
        graph[f"s{i}"] = {"class_type": "PrimitiveString", "inputs": {"value": [f"s{i - 1}", 0]}}
    graph["6"]["inputs"]["text"] = [f"s{links - 1}", 0]
    graph["n0"] = {"class_type": "PrimitiveString", "inputs": {"value": "blurry"}}
    for i in range(1, links):
        graph[f"n{i}"] = {
            "class_type": "StringConcatenate",
            "inputs": {"string_a": [f"n{i - 1}", 0], "string_b": "", "delimiter": ""},
        }
    graph["7"]["inputs"]["text"] = [f"n{links - 1}", 0]
    prev = ["3", 0]
    for i in range(links):
        graph[f"u{i}"] = {"class_type": "LatentUpscaleBy", "inputs": {"scale_by": 1.0, "samples": prev}}
        prev = [f"u{i}", 0]
    graph["12"]["inputs"]["samples"] = prev
    return graph


def test_a_chain_of_thousands_of_pass_through_nodes_keeps_every_field(tmp_path):
    """Each walk is iterative: 3,000 nodes on a path (far past Python's recursion limit) lose nothing."""
    graph = long_chain_graph(3000)
    path = mf.png(tmp_path / "ComfyUI_00001_.png", texts={"prompt": json.dumps(graph)})
    info, problems = extract(probe_file(path).texts, path.name)
    assert problems == []
    assert info.warnings == []
    assert info.positive == "a castle at dusk"
    assert info.negative == "blurry"
    assert (info.seed, info.steps, info.sampler) == (MAX_SEED, 15, "dpmpp_2m")
    assert info.model == "sd15/dreamshaper_8.safetensors"
    assert [l.name for l in info.loras] == ["styles\\film_grain.safetensors", "detail_tweaker.safetensors"]
    assert (info.width, info.height) == (512, 768) and info.extra["final_size"] == [1024, 1536]


def test_a_field_past_its_step_budget_costs_only_that_field():
    """Per-field isolation: a conditioning chain longer than the walk budget loses the positive prompt
    (with a warning), never the seed, model, LoRAs, size or negative prompt."""
    from lorapilot.tools.mediapilot.meta.comfy import MAX_STEPS

    graph = two_pass_graph()
    prev = ["6", 0]
    for i in range(MAX_STEPS + 10):
        graph[f"c{i}"] = {"class_type": "ConditioningSetTimestepRange", "inputs": {"conditioning": prev}}
        prev = [f"c{i}", 0]
    graph["13"]["inputs"]["positive"] = prev
    info = parse_prompt_graph(graph)
    assert info.positive == ""
    assert "graph walk budget exhausted" in info.warnings
    assert info.negative == "blurry, lowres"
    assert info.seed == MAX_SEED and info.model == "sd15/dreamshaper_8.safetensors"
    assert len(info.loras) == 2 and (info.width, info.height) == (512, 768)


def test_unparseable_graph_json_keeps_the_parameters_beside_it(tmp_path):
    """A prompt chunk that cannot even be loaded (JSON nested past the parser's limit) is reported; the
    A1111 parameters a custom node wrote beside it are still read."""
    deep = '{"1": {"class_type": "KSampler", "inputs": {"x": ' + "[" * 100_000 + "]" * 100_000 + "}}}"
    params = "a castle\nNegative prompt: blurry\nSteps: 20, Sampler: Euler, CFG scale: 7, Seed: 5, Size: 512x512"
    info, problems = extract({"prompt": deep, "parameters": params}, "x.png")
    assert info.positive == "a castle" and info.seed == 5 and info.negative == "blurry"
    assert any("nested too deeply" in p for p in problems)


def two_branch_graph() -> dict:
    """Two independent pipelines, each with its own sampler and SaveImage; neither prefix is the file's."""
    graph = two_pass_graph()
    del graph["12"], graph["13"]
    graph["8"]["inputs"]["samples"] = ["3", 0]
    graph["9"]["inputs"]["filename_prefix"] = "portraits/first"
    graph["20"] = {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sdxl/juggernautXL.safetensors"}}
    graph["21"] = {"class_type": "CLIPTextEncode", "inputs": {"text": "a dragon", "clip": ["20", 1]}}
    graph["22"] = {"class_type": "CLIPTextEncode", "inputs": {"text": "ugly", "clip": ["20", 1]}}
    graph["23"] = {"class_type": "EmptyLatentImage", "inputs": {"width": 1024, "height": 1024, "batch_size": 1}}
    graph["24"] = {
        "class_type": "KSampler",
        "inputs": {
            "seed": 222,
            "steps": 40,
            "cfg": 4.0,
            "sampler_name": "dpmpp_2m",
            "scheduler": "karras",
            "denoise": 1.0,
            "model": ["20", 0],
            "positive": ["21", 0],
            "negative": ["22", 0],
            "latent_image": ["23", 0],
        },
    }
    graph["25"] = {"class_type": "VAEDecode", "inputs": {"samples": ["24", 0], "vae": ["20", 2]}}
    graph["26"] = {"class_type": "SaveImage", "inputs": {"filename_prefix": "portraits/second", "images": ["25", 0]}}
    return graph


@pytest.mark.parametrize("order", ["as written", "reversed"])
def test_two_save_branches_without_a_matching_prefix_take_the_lowest_sampler(tmp_path, order):
    """The file name settles nothing: the pipeline of the sampler with the lowest node id (3) wins,
    whole (its prompt, seed, sampler and model together), whatever order the graph lists its nodes in."""
    graph = two_branch_graph()
    if order == "reversed":
        graph = dict(reversed(list(graph.items())))
    path = mf.png(tmp_path / "renamed_by_hand.png", texts={"prompt": json.dumps(graph)})
    info, _ = extract(probe_file(path).texts, path.name)
    assert (info.positive, info.seed, info.sampler, info.model) == (
        "a castle at dusk",
        111,
        "euler",
        "sd15/dreamshaper_8.safetensors",
    )
    assert info.negative == "blurry, lowres" and (info.width, info.height) == (512, 768)
    # A matching prefix still settles it.
    assert parse_prompt_graph(graph, "second_00001_.png").seed == 222
