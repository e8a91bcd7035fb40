"""TrainPilot test helpers: fake trainer installations, a captioned dataset, a base model file."""

from __future__ import annotations

import json
import math
import stat
import struct
import sys
from pathlib import Path

from lorapilot.stack.context import Context

from .fake_trainer import write_png
from .workspaces import make_workspace

FAKE_TRAINER = Path(__file__).with_name("fake_trainer.py")
UPSTREAM = Path(__file__).resolve().parents[1] / "data" / "trainpilot" / "upstream"
# An SD1 checkpoint's telling keys (the model store reads the 768-wide cross-attention of CLIP-L).
SD1_KEYS = {
    "model.diffusion_model.input_blocks.0.0.weight": [320, 4, 3, 3],
    "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight": [320, 768],
    "cond_stage_model.transformer.text_model.embeddings.position_ids": [1, 77],
}

# A Chroma transformer: FLUX.1's block layout (the model store calls it FLUX.1) plus the distilled guidance layer.
CHROMA_KEYS = {"double_blocks.0.img_attn.qkv.weight": [24, 8], "distilled_guidance_layer.in_proj.weight": [8, 4]}


def _script(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def make_fake_env(root: Path) -> Path:
    """An environment whose ``bin/python`` and ``bin/deepspeed`` run the fake trainer (``python -c``, as
    validation uses to ask what the environment can import, runs this interpreter)."""
    python = sys.executable
    _script(
        root / "bin" / "python",
        f'#!/bin/sh\n[ "$1" = "-c" ] && exec "{python}" "$@"\nexec "{python}" "{FAKE_TRAINER}" "$@"\n',
    )
    _script(root / "bin" / "deepspeed", f'#!/bin/sh\nexec "{python}" "{FAKE_TRAINER}" --deepspeed-launcher "$@"\n')
    return root


def make_fake_src(root: Path) -> Path:
    """A source tree with the entry points each trainer's command names (never executed)."""
    for name in (
        "train_network.py",
        "sdxl_train_network.py",
        "flux_train_network.py",
        "sd3_train_network.py",
        "run.py",
        "train.py",
    ):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("# stand-in: the fake environment runs tests/support/fake_trainer.py\n")
    return root


def write_safetensors(path: Path, keys: list[str] | dict[str, list[int]]) -> Path:
    """A valid safetensors file with these tensor names (and shapes; zeros as data)."""
    shapes = keys if isinstance(keys, dict) else {k: [1] for k in keys}
    header, offset = {}, 0
    for name, shape in shapes.items():
        size = 4 * math.prod(shape)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * offset)
    return path


def make_dataset(
    ws_root: Path, name: str = "cats", images: int = 4, captioned: int | None = None, handoff: dict | None = None
) -> Path:
    folder = ws_root / "datasets" / name
    folder.mkdir(parents=True, exist_ok=True)
    captioned = images if captioned is None else captioned
    for i in range(images):
        write_png(folder / f"img{i:02d}.png")
        if i < captioned:
            (folder / f"img{i:02d}.txt").write_text(f"mycat, a cat number {i}, sitting")
    if handoff is not None:
        (folder / ".tagpilot").mkdir(exist_ok=True)
        (folder / ".tagpilot" / "handoff.json").write_text(json.dumps(handoff))
    return folder


def make_train_workspace(tmp_path: Path, settings: dict | None = None) -> Context:
    """A workspace whose trainers are all the fake one, with dataset ``cats`` and an SD1 checkpoint."""
    env = make_fake_env(tmp_path / "fake-env")
    src = make_fake_src(tmp_path / "fake-src")
    manifest = {name: {"env": str(env), "src": str(src)} for name in ("kohya", "ai-toolkit", "diffusion-pipe")}
    manifest["lorapilot-train"] = {"env": str(env)}
    ctx = make_workspace(tmp_path / "ws", enabled={"controlpilot"}, manifest=manifest, settings=settings)
    root = ctx.workspace.root
    for folder in ("models/checkpoints", "models/loras", "outputs/trainpilot", "logs", "apps"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    write_safetensors(root / "models" / "checkpoints" / "sd15-base.safetensors", SD1_KEYS)
    make_dataset(root)
    return ctx


def fake_env_vars(**values) -> dict[str, str]:
    """FAKE_* variables for the fake trainer, as strings."""
    return {f"FAKE_{k.upper()}": str(v) for k, v in values.items()}


def load_upstream(name: str) -> dict:
    return json.loads((UPSTREAM / name).read_text())


def run_queue_to_the_end(ctx: Context, timeout: float = 600):
    """Drive a real QueueWorker until the first job is done, failed or cancelled; returns that job."""
    import time

    from lorapilot.tools.trainpilot import actions
    from lorapilot.tools.trainpilot.worker import QueueWorker

    worker = QueueWorker(ctx)
    deadline = time.monotonic() + timeout
    try:
        while (current := actions.list_jobs(ctx)[0]).state not in ("done", "failed", "cancelled"):
            assert time.monotonic() < deadline, f"job {current.id} did not finish in {timeout:g} s"
            worker.tick()
            time.sleep(0.2)
    finally:
        # The automatic test grid renders in its own daemon thread: let it end inside this test, so it
        # neither competes with the next tests nor is still running torch when the interpreter exits.
        if worker.grid_thread is not None:
            worker.grid_thread.join(timeout=600)
        worker.release()
    return current
