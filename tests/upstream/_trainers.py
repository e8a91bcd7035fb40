"""Helpers for the upstream trainer tier: the pinned upstream trees, their Python environments, the models.

Everything heavy is built once and cached under ``~/.cache/lorapilot-upstream/`` (``$LORAPILOT_UPSTREAM_CACHE``; outside the checkout), so CI pays for
it on its first run only:

- ``src/<archive>/``: a vendor archive from ``../shared/vendor/`` extracted (the upstream tree as pinned);
- ``<name>/venv``: Python 3.11 with the CPU torch 2.13.0 wheel plus the upstream's own requirements;
- ``models/sd1-full-width``: an SD1-shaped diffusers pipeline, randomly initialised.

Each cache entry carries a stamp of what built it, written last, so an interrupted or outdated build is rebuilt rather than used.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("LORAPILOT_UPSTREAM_CACHE") or Path.home() / ".cache" / "lorapilot-upstream")
# PyPI's torch 2.13.0 (built with CUDA; it runs on CPU) rather than the CPU wheel on disk: PyPI's
# torchvision 0.28.0, which sd-scripts and AI Toolkit import, links libtorch_cuda.so and fails to
# import beside the CPU torch ("operator torchvision::nms does not exist").
TORCH = ["torch==2.13.0", "torchvision==0.28.0"]


def vendor_dir() -> Path | None:
    """``shared/vendor`` beside the repository (or above it: worktrees sit one level deeper)."""
    if os.environ.get("LORAPILOT_VENDOR_DIR"):
        return Path(os.environ["LORAPILOT_VENDOR_DIR"])
    for parent in REPO_ROOT.parents:
        if (parent / "shared" / "vendor").is_dir():
            return parent / "shared" / "vendor"
    return None


def vendor_archive(prefix: str) -> Path:
    """The archive ``<prefix>-<rev>.tar.gz`` in the vendor folder, or skip the test naming the folder."""
    folder = vendor_dir()
    found = sorted(folder.glob(f"{prefix}-[0-9a-f]*.tar.gz")) if folder else []
    found = [p for p in found if p.name[len(prefix) + 1 :].split(".")[0].isalnum()]
    if not found:
        pytest.skip(f"upstream archive {prefix}-*.tar.gz not found in ../shared/vendor/ ({folder or 'no such folder'})")
    return found[0]


def _stamped(path: Path, stamp: str) -> bool:
    return (path / ".lorapilot-stamp").is_file() and (path / ".lorapilot-stamp").read_text() == stamp


def _finish(tmp: Path, path: Path, stamp: str) -> Path:
    (tmp / ".lorapilot-stamp").write_text(stamp)
    if path.exists():
        shutil.rmtree(path)
    tmp.rename(path)
    return path


def extract(prefix: str) -> Path:
    """The upstream tree of vendor archive ``prefix`` extracted under the cache; returns its top folder."""
    archive = vendor_archive(prefix)
    stamp = f"{archive.name} {archive.stat().st_size}"
    dest = CACHE / "src" / archive.name.removesuffix(".tar.gz")
    if _stamped(dest, stamp):
        return _only_child(dest)
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        tar.extractall(tmp, filter="data")
    return _only_child(_finish(tmp, dest, stamp))


def _only_child(folder: Path) -> Path:
    children = [p for p in folder.iterdir() if p.is_dir()]
    assert len(children) == 1, f"{folder}: expected one top folder, found {[c.name for c in children]}"
    return children[0]


def build_env(name: str, requirements: list[str], timeout: float = 1800) -> Path:
    """A Python 3.11 virtual environment under the cache with torch 2.13.0 and ``requirements``.

    Installed with uv from the package index (a fresh build of Kohya's takes about half a minute
    with a warm uv cache, a few minutes cold). Returns the environment folder (``bin/python``
    inside). Skips the test when Python 3.11 or uv is missing; fails with uv's own output when an
    install fails. A fresh build's wall time goes to ``build-seconds`` beside it.
    """
    python = shutil.which("python3.11")
    uv = shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))
    if python is None or uv is None:
        pytest.skip("the upstream tier needs Python 3.11 (python3.11 on PATH) and uv")
    requirements = [*TORCH, *requirements]
    stamp = "\n".join(requirements)
    root = CACHE / name
    env = root / "venv"
    if _stamped(env, stamp):
        return env
    # Built in place (a venv's scripts name their interpreter by absolute path); only the stamp,
    # written last, marks it complete, so an interrupted build is thrown away and redone.
    shutil.rmtree(env, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    for argv in (
        [uv, "venv", "-q", "--python", python, str(env)],
        [uv, "pip", "install", "-q", "--python", str(env / "bin" / "python"), *requirements],
    ):
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
        if result.returncode != 0:
            raise AssertionError(
                f"{' '.join(argv[:3])} failed for {env}:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
            )
    (root / "build-seconds").write_text(f"{time.monotonic() - started:.0f}\n")
    (env / ".lorapilot-stamp").write_text(stamp)
    return env


def requirements_of(src: Path, file: str = "requirements.txt", drop: tuple[str, ...] = ()) -> list[str]:
    """The pip requirement lines of an upstream file, without comments, ``-e``/``-r``/``git+`` lines and ``drop`` names."""
    lines = []
    for raw in (src / file).read_text().splitlines():
        line = raw.split("#")[0].strip()
        if not line or line.startswith(("-e", "-r", "--", "git+")):  # no GitHub here: callers substitute
            continue
        name = line.split("[")[0].split("=")[0].split("<")[0].split(">")[0].split("~")[0].strip().lower()
        if name not in drop:
            lines.append(line)
    return lines


def run_python(
    env: Path, argv: list[str], cwd: Path, timeout: float = 600, env_vars: dict | None = None
) -> subprocess.CompletedProcess:
    """Run ``env``'s interpreter offline (no hub access, as on an air-gapped pod); output captured."""
    environ = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "PYTHONUNBUFFERED": "1",
        **(env_vars or {}),
    }
    environ.pop("PYTHONPATH", None)
    return subprocess.run(
        [str(env / "bin" / "python"), *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environ,
        check=False,
    )


# --- models ---------------------------------------------------------------------------------------
SD1_FULL_WIDTH_STAMP = "sd1-full-width v2: SD1 UNet widths (320/640/1280/1280), cross-attention 32, tiny VAE/CLIP, fp16"


def sd1_full_width_model(dest: Path) -> Path:
    """An SD1-shaped diffusers pipeline at ``dest`` (a copy of the cached one, hard-linked where possible).

    sd-scripts rebuilds the UNet with SD1's fixed block widths (library/original_unet.py), so the UNet
    is full width (about 860 M parameters, stored fp16: 1.7 GB); only its cross-attention width follows
    the tiny CLIP text encoder (32), which sd-scripts takes from the pipeline as it is, as it does the VAE.
    """
    cached = CACHE / "models" / "sd1-full-width"
    if not _stamped(cached, SD1_FULL_WIDTH_STAMP):
        tmp = cached.with_name(cached.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        _build_sd1_full_width(tmp)
        _finish(tmp, cached, SD1_FULL_WIDTH_STAMP)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(cached, dest, copy_function=_link_or_copy, ignore=shutil.ignore_patterns(".lorapilot-stamp"))
    return dest


def _link_or_copy(src, dst):
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def write_slow_tokenizer_files(folder: Path) -> None:
    """vocab.json and merges.txt beside tokenizer.json, as every SD1 repository has them.

    Transformers 5 saves only tokenizer.json; the upstream environments pin transformers 4.x, whose
    ``CLIPTokenizer`` (the slow one sd-scripts asks for) reads these two files.
    """
    import json

    model = json.loads((folder / "tokenizer.json").read_text())["model"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    (folder / "vocab.json").write_text(json.dumps(model["vocab"], ensure_ascii=False))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{m}\n" for m in merges))


def _build_sd1_full_width(path: Path) -> None:
    import torch
    from diffusers import StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel

    from support import tiny_sd

    torch.manual_seed(0)
    # diffusers' defaults are SD1's UNet (320/640/1280/1280, two layers per block, 8 heads).
    unet = UNet2DConditionModel(sample_size=64, cross_attention_dim=32, attention_head_dim=8)
    pipe = StableDiffusionPipeline(
        unet=unet.half(),
        vae=tiny_sd._vae(),
        text_encoder=CLIPTextModel(tiny_sd._text_config(projection=False)),
        tokenizer=tiny_sd.tiny_tokenizer(),
        scheduler=tiny_sd._scheduler(),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(path, safe_serialization=True)
    write_slow_tokenizer_files(path / "tokenizer")
    digest = hashlib.sha256((path / "unet" / "config.json").read_bytes()).hexdigest()[:12]
    (path / "README.txt").write_text(f"LoRA Pilot upstream tier: SD1-shaped random model (unet config {digest})\n")


def square_dataset(path: Path, count: int = 4) -> Path:
    """tiny_sd's captioned shapes at 128 px, cropped square: with sd-scripts' 64 px bucket steps (SD1) and
    ``bucket_no_upscale``, a 64 px run can only bucket square images (other shapes round to 0 px)."""
    from PIL import Image

    from support import tiny_sd

    tiny_sd.make_dataset(path, count=count, scale=2)
    for image_path in sorted(path.glob("*.png")):
        with Image.open(image_path) as image:
            side = min(image.size)
            square = image.crop((0, 0, side, side)).resize((128, 128))
        square.save(image_path)
    return path


def ai_toolkit_requirements(src: Path) -> list[str]:
    """AI Toolkit's requirements with what this index and torch 2.13.0 force on them.

    - diffusers: pinned to a GitHub commit (unreachable here), so the newest release from the index;
    - torchaudio: its README installs one matching torch; 2.11.1 is the newest on the index (torch>=2.11);
    - setuptools: pinned to 69.5.1, which torch 2.13.0 refuses (>=77.0.3); <81 still has the
      pkg_resources that k-diffusion's ``clip`` imports.
    """
    return [
        *requirements_of(src, "requirements_base.txt", drop=("setuptools",)),
        *requirements_of(src),
        "diffusers",
        "torchaudio==2.11.1",
        "setuptools>=77.0.3,<81",
    ]


def diffusion_pipe_tree() -> Path:
    """Diffusion Pipe's pinned tree with its vendored submodules (dp-sub-* archives) in ``submodules/``.

    Its ``submodules/ComfyUI`` (comfyanonymous/ComfyUI 0ba903bd) is not among the archives: the
    ComfyUI tree pinned for our ComfyUI component stands in (linked), since ``utils/dataset.py``
    imports ``comfy.model_management`` before anything else runs.
    """
    src = extract("diffusion-pipe")
    comfy = src / "submodules" / "ComfyUI"
    if not comfy.is_symlink():
        if comfy.is_dir():
            comfy.rmdir()  # the empty submodule folder
        comfy.symlink_to(extract("comfyui"))
    folder = vendor_dir()
    for archive in sorted(folder.glob("dp-sub-*.tar.gz")) if folder else []:
        name = archive.name.removeprefix("dp-sub-").rsplit("-", 1)[0]
        done = src / "submodules" / f".{name}.extracted"  # written last: an interrupted extraction is redone
        if not done.is_file():
            with tarfile.open(archive) as tar:  # each extracts to diffusion-pipe/submodules/<name>/
                tar.extractall(src.parent, filter="data")
            done.write_text(archive.name)
    return src


def kohya_gui_tree() -> Path:
    """kohya_ss' pinned tree with the pinned sd-scripts as its ``sd-scripts`` submodule (linked)."""
    src = extract("kohya")
    nested = src / "sd-scripts"
    if not nested.is_symlink():
        if nested.is_dir():
            nested.rmdir()  # the empty submodule folder
        nested.symlink_to(extract("kohya-sd-scripts"))
    return src


def tiny_trainer_job(
    tmp_path: Path, trainer: str, env: Path, src: Path, *, name: str, family: str, vram_gb: int, base: str
):
    """(ctx, profile): a workspace that runs ``trainer`` from ``env``/``src``, the tiny diffusers model
    ``base`` (``tiny-sd1`` or ``tiny-flux``) and the shapes dataset, and a 4-step adamw profile for them."""
    from lorapilot.tools.trainpilot.datasets import inspect_dataset
    from lorapilot.tools.trainpilot.presets import build_profile
    from lorapilot.tools.trainpilot.profiles import ModelRef
    from support import tiny_sd
    from support.workspaces import make_workspace

    ctx = make_workspace(
        tmp_path / "ws",
        enabled={"controlpilot"},
        manifest={trainer: {"env": str(env), "src": str(src)}},
        settings={"trainpilot": {"poll_interval_s": 0.2}},
    )
    root = ctx.workspace.root
    build = {"tiny-sd1": tiny_sd.build_tiny_sd1, "tiny-flux": tiny_sd.build_tiny_flux}[base]
    build(root / "models" / "diffusers" / base)
    tiny_sd.make_dataset(root / "datasets" / "shapes")
    profile = build_profile(
        name=name,
        family=family,
        quality="quick",
        vram_gb=vram_gb,
        trainer=trainer,
        model=ModelRef(base=f"diffusers/{base}"),
        dataset_name="shapes",
        dataset=inspect_dataset(ctx.workspace, "shapes"),
    )
    tiny_sd.shrink_profile(profile, steps=4, save_every=2, sample_every=4, sample_steps=2)
    profile.optim.optimizer, profile.optim.lr_scheduler = "adamw", "constant"
    return ctx, profile
