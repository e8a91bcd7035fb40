"""The MediaPilot benchmark's corpus: small PNG/JPEG/WebP files with realistic A1111, ComfyUI and InvokeAI
metadata, written byte by byte so that 20,000 files take seconds (used by ``mediapilot_bench.py``)."""

from __future__ import annotations

import io
import json
import random
import struct
import zlib
from pathlib import Path

WORDS = (
    "masterpiece best quality 1girl solo long hair blue eyes smile outdoors castle forest night sky stars "
    "portrait cinematic lighting detailed background city rain neon reflections dragon armor sword fantasy "
    "watercolor oil painting sketch landscape mountains lake sunset autumn leaves snow winter cat dog robot "
    "cyberpunk steampunk ruins temple flowers garden ocean waves beach ship lighthouse"
).split()
MODELS = [
    "sd_xl_base_1.0.safetensors",
    "juggernautXL_v9.safetensors",
    "flux1-dev.safetensors",
    "realisticVision_v51.safetensors",
    "dreamshaper_8.safetensors",
    "ponyDiffusionV6XL.safetensors",
]
LORAS = [
    "detail_tweaker_xl",
    "add_more_details",
    "pixel-art-xl",
    "film grain v2",
    "my_character_v3",
    "watercolor_style",
    "lowra",
    "epi_noiseoffset2",
]
# Every tenth prompt carries Japanese/Chinese tags, as many prompts do: the CJK bigram index is part of the cost.
CJK_WORDS = "桜 少女 東京 夜景 着物 満開の桜 京都の寺 猫耳 青い目 長い髪 星空 雪景色 城 龍 和風 夕焼け".split()
SAMPLERS = ["euler", "euler_ancestral", "dpmpp_2m", "dpmpp_2m_sde", "dpmpp_3m_sde", "uni_pc"]
SCHEDULERS = ["normal", "karras", "exponential", "sgm_uniform", "simple"]


# --- byte-level writers ---------------------------------------------------------------------------


def _png_chunk(ctype: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data) & 0xFFFFFFFF)


def _base_png(rng: random.Random) -> tuple[bytes, bytes]:
    """(signature+IHDR+IDAT, IEND) of a tiny 16x16 RGB image."""
    width = height = 16
    raw = b"".join(b"\0" + bytes(rng.randrange(256) for _ in range(width * 3)) for _ in range(height))
    head = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    return head + _png_chunk(b"IDAT", zlib.compress(raw)), _png_chunk(b"IEND", b"")


def png_bytes(base: tuple[bytes, bytes], texts: dict[str, str]) -> bytes:
    body = b"".join(_png_chunk(b"tEXt", k.encode("latin-1") + b"\0" + v.encode("utf-8")) for k, v in texts.items())
    return base[0] + body + base[1]


def _exif_tiff(entries: dict[int, bytes], user_comment: bytes | None) -> bytes:
    """A little-endian TIFF block: IFD0 ASCII entries (+ an Exif IFD with UserComment)."""
    ifd0 = sorted(entries.items())
    n0 = len(ifd0) + (1 if user_comment is not None else 0)
    ifd0_size = 2 + 12 * n0 + 4
    data_at = 8 + ifd0_size
    exif_ifd_at = None
    blobs, out_entries = b"", []
    for tag, value in ifd0:
        value = value + b"\0"
        out_entries.append(struct.pack("<HHII", tag, 2, len(value), data_at + len(blobs)))
        blobs += value + (b"\0" if len(value) % 2 else b"")
    if user_comment is not None:
        exif_ifd_at = data_at + len(blobs)
        out_entries.append(struct.pack("<HHII", 0x8769, 4, 1, exif_ifd_at))
    out_entries.sort(key=lambda e: struct.unpack("<H", e[:2])[0])
    tiff = b"II*\0" + struct.pack("<I", 8) + struct.pack("<H", n0) + b"".join(out_entries) + b"\0\0\0\0" + blobs
    if user_comment is not None:
        uc_at = exif_ifd_at + 2 + 12 + 4
        tiff += struct.pack("<H", 1) + struct.pack("<HHII", 0x9286, 7, len(user_comment), uc_at) + b"\0\0\0\0"
        tiff += user_comment
    return tiff


def jpeg_bytes(base_jpeg: bytes, tiff: bytes) -> bytes:
    app1 = b"Exif\0\0" + tiff
    return base_jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + base_jpeg[2:]


def webp_bytes(vp8l: bytes, width: int, height: int, tiff: bytes) -> bytes:
    def chunk(fourcc: bytes, data: bytes) -> bytes:
        return fourcc + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")

    vp8x = bytes([0x08, 0, 0, 0]) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    body = b"WEBP" + chunk(b"VP8X", vp8x) + chunk(b"VP8L", vp8l) + chunk(b"EXIF", tiff)
    return b"RIFF" + struct.pack("<I", len(body)) + body


# --- realistic metadata -----------------------------------------------------------------------------


def _prompt(rng: random.Random, n: int = 24) -> str:
    words = [rng.choice(WORDS) for _ in range(n)]
    if rng.random() < 0.1:
        at = rng.randrange(n - 2)
        words[at : at + 3] = rng.sample(CJK_WORDS, 3)
    return ", ".join(words)


def a1111_parameters(rng: random.Random) -> str:
    loras = rng.sample(LORAS, rng.randint(0, 3))
    prompt = _prompt(rng) + "".join(f", <lora:{l}:{rng.choice([0.4, 0.6, 0.8, 1.0, -0.5])}>" for l in loras)
    hashes = ", ".join(f"{l}: {rng.getrandbits(48):012x}" for l in loras)
    settings = (
        f"Steps: {rng.randint(15, 50)}, Sampler: DPM++ 2M, Schedule type: Karras, "
        f"CFG scale: {rng.choice([4.5, 5, 6, 7, 7.5])}, Seed: {rng.getrandbits(32)}, Size: 832x1216, "
        f"Model hash: {rng.getrandbits(40):010x}, Model: {rng.choice(MODELS).rsplit('.', 1)[0]}, "
        f"Denoising strength: 0.4, Hires upscale: 1.5, Hires steps: 10, Hires upscaler: 4x-UltraSharp"
    )
    if hashes:
        settings += f', Lora hashes: "{hashes}"'
    return f"{prompt}\nNegative prompt: {_prompt(rng, 8)}\n{settings}, Version: v1.10.1"


def comfy_graph(rng: random.Random) -> dict:
    """A realistic two-pass SDXL graph with a LoRA chain."""
    seed = rng.getrandbits(64)
    loras = rng.sample(LORAS, rng.randint(0, 2))
    graph = {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": rng.choice(MODELS)}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 1024, "height": 1024, "batch_size": 1}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": _prompt(rng, 30), "clip": ["10", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": _prompt(rng, 8), "clip": ["10", 1]}},
        "3": {
            "class_type": "KSampler",
            "inputs": {
                "seed": seed,
                "steps": 25,
                "cfg": 7.0,
                "sampler_name": rng.choice(SAMPLERS),
                "scheduler": rng.choice(SCHEDULERS),
                "denoise": 1.0,
                "model": ["10", 0],
                "positive": ["6", 0],
                "negative": ["7", 0],
                "latent_image": ["5", 0],
            },
        },
        "12": {
            "class_type": "LatentUpscaleBy",
            "inputs": {"upscale_method": "nearest-exact", "scale_by": 1.5, "samples": ["3", 0]},
        },
        "13": {
            "class_type": "KSampler",
            "inputs": {
                "seed": seed + 1 if seed < 2**64 - 1 else 0,
                "steps": 12,
                "cfg": 6.5,
                "sampler_name": "dpmpp_2m",
                "scheduler": "karras",
                "denoise": 0.45,
                "model": ["10", 0],
                "positive": ["6", 0],
                "negative": ["7", 0],
                "latent_image": ["12", 0],
            },
        },
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["13", 0], "vae": ["4", 2]}},
        "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "ComfyUI", "images": ["8", 0]}},
    }
    prev = ["4", 0]
    prev_clip = ["4", 1]
    for i, name in enumerate(loras):
        node = str(20 + i)
        graph[node] = {
            "class_type": "LoraLoader",
            "inputs": {
                "lora_name": f"{name}.safetensors",
                "strength_model": 0.8,
                "strength_clip": 1.0,
                "model": prev,
                "clip": prev_clip,
            },
        }
        prev, prev_clip = [node, 0], [node, 1]
    graph["10"] = {"class_type": "ModelSamplingDiscrete", "inputs": {"sampling": "eps", "zsnr": False, "model": prev}}
    graph["6"]["inputs"]["clip"] = prev_clip
    graph["7"]["inputs"]["clip"] = prev_clip
    return graph


def comfy_workflow(graph: dict) -> dict:
    """A UI workflow of the same nodes (positions, widgets, links): the bulk of a real file's metadata."""
    nodes, links, link_id = [], [], 1
    for node_id, node in graph.items():
        widgets = [v for v in node["inputs"].values() if not isinstance(v, list)]
        nodes.append(
            {
                "id": int(node_id),
                "type": node["class_type"],
                "pos": [100 * int(node_id), 200],
                "size": {"0": 315, "1": 262},
                "flags": {},
                "order": int(node_id),
                "mode": 0,
                "inputs": [
                    {"name": k, "type": "*", "link": link_id + i}
                    for i, (k, v) in enumerate(node["inputs"].items())
                    if isinstance(v, list)
                ],
                "outputs": [{"name": "OUT", "type": "*", "links": [], "slot_index": 0}],
                "properties": {"Node name for S&R": node["class_type"]},
                "widgets_values": widgets,
            }
        )
        for _k, v in node["inputs"].items():
            if isinstance(v, list):
                links.append([link_id, int(v[0]), v[1], int(node_id), 0, "*"])
                link_id += 1
    return {
        "last_node_id": 30,
        "last_link_id": link_id,
        "nodes": nodes,
        "links": links,
        "groups": [],
        "config": {},
        "extra": {"ds": {"scale": 1, "offset": [0, 0]}},
        "version": 0.4,
    }


def invoke_metadata(rng: random.Random) -> tuple[str, str]:
    loras = rng.sample(LORAS, rng.randint(0, 2))
    meta = {
        "generation_mode": "txt2img",
        "positive_prompt": _prompt(rng),
        "negative_prompt": _prompt(rng, 6),
        "width": 1024,
        "height": 1024,
        "seed": rng.getrandbits(32),
        "rand_device": "cpu",
        "cfg_scale": 7.5,
        "cfg_rescale_multiplier": 0,
        "steps": 30,
        "scheduler": "dpmpp_2m_k",
        "model": {
            "key": "a1b2",
            "hash": "blake3:" + "ab" * 32,
            "name": rng.choice(MODELS).rsplit(".", 1)[0],
            "base": "sdxl",
            "type": "main",
        },
        "loras": [
            {"model": {"key": "k", "hash": "h", "name": l, "base": "sdxl", "type": "lora"}, "weight": 0.75}
            for l in loras
        ],
        "app_version": "5.6.0",
    }
    graph = {
        "id": "g",
        "nodes": {
            "core_metadata": {"id": "core_metadata", "type": "core_metadata", **meta},
            "noise": {"id": "noise", "type": "noise", "seed": meta["seed"]},
        },
        "edges": [],
    }
    return json.dumps(meta), json.dumps(graph)


# --- corpus -------------------------------------------------------------------------------------------


def make_corpus(folder: Path, count: int, seed: int = 1234) -> None:
    """``count`` files in sub-folders: PNG (A1111, ComfyUI, InvokeAI), JPEG (A1111 EXIF), WebP (ComfyUI EXIF)."""
    from PIL import Image

    rng = random.Random(seed)
    base_png = _base_png(rng)
    img = Image.new("RGB", (16, 16), (120, 80, 200))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80)
    base_jpeg = buf.getvalue()
    buf = io.BytesIO()
    img.save(buf, "WEBP", lossless=True)
    riff = buf.getvalue()
    at = riff.index(b"VP8L")
    vp8l = riff[at + 8 : at + 8 + struct.unpack("<I", riff[at + 4 : at + 8])[0]]
    for i in range(count):
        sub = folder / ("comfy" if i % 5 in (1, 4) else "invoke" if i % 5 == 2 else "a1111") / f"batch{i // 1000:03d}"
        if i % 1000 == 0 or not sub.is_dir():
            sub.mkdir(parents=True, exist_ok=True)
        kind = i % 5
        if kind == 0:
            (sub / f"{i:06d}-a1111.png").write_bytes(png_bytes(base_png, {"parameters": a1111_parameters(rng)}))
        elif kind == 1:
            graph = comfy_graph(rng)
            (sub / f"ComfyUI_{i:06d}_.png").write_bytes(
                png_bytes(base_png, {"prompt": json.dumps(graph), "workflow": json.dumps(comfy_workflow(graph))})
            )
        elif kind == 2:
            meta, graph = invoke_metadata(rng)
            (sub / f"{i:06d}-invoke.png").write_bytes(
                png_bytes(base_png, {"invokeai_metadata": meta, "invokeai_graph": graph})
            )
        elif kind == 3:
            comment = b"UNICODE\0" + a1111_parameters(rng).encode("utf-16-be")
            (sub / f"{i:06d}-a1111.jpg").write_bytes(jpeg_bytes(base_jpeg, _exif_tiff({}, comment)))
        else:
            graph = comfy_graph(rng)
            tiff = _exif_tiff(
                {
                    0x0110: b"prompt:" + json.dumps(graph).encode(),
                    0x010F: b"workflow:" + json.dumps(comfy_workflow(graph)).encode(),
                },
                None,
            )
            (sub / f"ComfyUI_{i:06d}_.webp").write_bytes(webp_bytes(vp8l, 16, 16, tiff))


def overwrite_in_place(path: Path, digit: str) -> None:
    """Rewrite a corpus PNG's parameters (Steps: N -> Steps: <digit>N) in the same inode, as a re-save does."""
    data = path.read_bytes()
    out, offset = data[:8], 8
    while offset < len(data):
        length, ctype = struct.unpack(">I4s", data[offset : offset + 8])
        body = data[offset + 8 : offset + 8 + length]
        if ctype == b"tEXt" and body.startswith(b"parameters\0"):
            body = body.replace(b"Steps: ", b"Steps: " + digit.encode(), 1)
        out += _png_chunk(ctype, body)
        offset += 12 + length
    with open(path, "r+b") as fh:
        fh.write(out)
        fh.truncate()
