"""A stand-in trainer for the queue tests: it reads the configuration TrainPilot rendered, prints
progress in the real trainer's format, and writes outputs with the real names.

It only exercises queue mechanics (start, progress, kill, re-attach, cancel, resume, crash); no
model is trained. Invoked through fake environments (``bin/python``, ``bin/deepspeed``) that exec
this file with the trainer's own command line:

- sd-scripts: ``-m accelerate.commands.launch ... script.py --config_file run.toml``
- AI Toolkit: ``run.py job.yaml``
- Diffusion Pipe: ``--deepspeed-launcher --num_gpus=1 ... train.py --deepspeed --config main.toml [--resume_from_checkpoint]``
- native: ``-m lorapilot.tools.trainpilot.native --config run.toml [--resume auto]``

Environment: ``FAKE_STEP_S`` seconds per step (default 0.02); ``FAKE_CRASH_AT`` crash at that
step; ``FAKE_CRASH_ONCE`` a file: crash only while it does not exist (it is created on crashing).
"""

from __future__ import annotations

import json
import math
import os
import signal
import struct
import sys
import time
import tomllib
import zlib
from datetime import UTC, datetime
from pathlib import Path

STEP_S = float(os.environ.get("FAKE_STEP_S", "0.02"))
CRASH_AT = int(os.environ.get("FAKE_CRASH_AT", "0") or 0)
CRASH_ONCE = os.environ.get("FAKE_CRASH_ONCE")
stop_requested = False


def loss_at(step: int) -> float:
    return 0.05 + 0.5 * math.exp(-step / 40)


def write_safetensors(path: Path, step: int) -> None:
    header = json.dumps(
        {"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "__metadata__": {"step": str(step)}}
    ).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(struct.pack("<Q", len(header)) + header + struct.pack("<f", float(step)))
    os.replace(tmp, path)


def write_png(path: Path) -> None:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = zlib.compress(b"\x00\xff\x00\x00")
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", raw)
        + chunk(b"IEND", b"")
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png)


def maybe_crash(step: int) -> None:
    if CRASH_AT and step == CRASH_AT:
        if CRASH_ONCE and Path(CRASH_ONCE).exists():
            return
        if CRASH_ONCE:
            Path(CRASH_ONCE).touch()
        sys.stdout.flush()
        print("Traceback (most recent call last):", file=sys.stderr)
        for i in range(60):  # more than the 50 lines the queue keeps
            print(f'  File "train.py", line {100 + i}, in frame_{i}', file=sys.stderr)
        print("torch.OutOfMemoryError: CUDA out of memory (fake)", file=sys.stderr, flush=True)
        sys.exit(1)


def arg_after(argv: list[str], flag: str) -> str | None:
    for i, a in enumerate(argv):
        if a == flag and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith(flag + "="):
            return a.split("=", 1)[1]
    return None


def bar(desc: str, n: int, total: int, postfix: str) -> str:
    pct = int(100 * n / total) if total else 0
    filled = "█" * (pct // 10)
    return f"\r{desc}: {pct:3d}%|{filled:<10}| {n}/{total} [00:0{n % 10}<00:10, {1 / STEP_S if STEP_S else 99:.2f}it/s, {postfix}]"


# --- sd-scripts ---------------------------------------------------------------------------------


def run_kohya(argv: list[str]) -> int:
    raw = tomllib.loads(Path(arg_after(argv, "--config_file")).read_text())
    cfg = {}
    for key, value in raw.items():
        cfg.update(value if isinstance(value, dict) else {key: value})
    out, name, max_steps = Path(cfg["output_dir"]), cfg["output_name"], cfg["max_train_steps"]
    every, sample_every = cfg.get("save_every_n_steps"), cfg.get("sample_every_n_steps")
    initial = 0
    if cfg.get("resume"):
        initial = json.loads((Path(cfg["resume"]) / "train_state.json").read_text())["current_step"]
        print(f"resume training from local state: {cfg['resume']}", flush=True)
    total = max_steps - initial
    out.mkdir(parents=True, exist_ok=True)
    sys.stderr.write(bar("steps", 0, total, ""))
    for n in range(1, total + 1):
        step = initial + n
        time.sleep(STEP_S)
        maybe_crash(step)
        sys.stderr.write(bar("steps", n, total, f"avr_loss={loss_at(step):.4g}"))
        sys.stderr.flush()
        if sample_every and step % sample_every == 0:
            write_png(out / "sample" / f"{name}_{step:06d}_00_{datetime.now():%Y%m%d%H%M%S}_1234.png")
        if every and step % every == 0:
            write_safetensors(out / f"{name}-step{step:08d}.safetensors", step)
            state = out / f"{name}-step{step:08d}-state"
            state.mkdir(exist_ok=True)
            (state / "train_state.json").write_text(json.dumps({"current_epoch": 1, "current_step": step}))
    sys.stderr.write("\n")
    write_safetensors(out / f"{name}.safetensors", max_steps)
    (out / f"{name}-state").mkdir(exist_ok=True)
    (out / f"{name}-state" / "train_state.json").write_text(json.dumps({"current_epoch": 1, "current_step": max_steps}))
    return 0


# --- AI Toolkit ---------------------------------------------------------------------------------


def run_ai_toolkit(argv: list[str]) -> int:
    import yaml

    cfg_path = next(a for a in argv if a.endswith(".yaml"))
    job = yaml.safe_load(Path(cfg_path).read_text())
    name = job["config"]["name"]
    proc = job["config"]["process"][0]
    root = Path(proc["training_folder"]) / name
    root.mkdir(parents=True, exist_ok=True)
    total, every = proc["train"]["steps"], proc["save"]["save_every"]
    sample_every = proc.get("sample", {}).get("sample_every")
    saved = sorted(int(p.stem.rsplit("_", 1)[1]) for p in root.glob(f"{name}_*.safetensors"))
    start = saved[-1] if saved else 0
    if start:
        print(f"Found step {start} in metadata, starting from there", flush=True)
    for step in range(start, total):
        time.sleep(STEP_S)
        maybe_crash(step + 1)
        sys.stderr.write(bar(name, step + 1, total, f"lr: 1.0e-04 loss: {loss_at(step + 1):.3e}"))
        sys.stderr.flush()
        if sample_every and (step + 1) % sample_every == 0:
            write_png(root / "samples" / f"{int(time.time() * 1000)}__{step + 1:09d}_0.jpg")
        if (step + 1) % every == 0 and step + 1 < total:
            write_safetensors(root / f"{name}_{step + 1:09d}.safetensors", step + 1)
    sys.stderr.write("\n")
    write_safetensors(root / f"{name}.safetensors", total)
    return 0


# --- Diffusion Pipe -----------------------------------------------------------------------------


def run_diffusion_pipe(argv: list[str]) -> int:
    cfg = tomllib.loads(Path(arg_after(argv, "--config")).read_text())
    out, max_steps, every = Path(cfg["output_dir"]), cfg["max_steps"], cfg.get("save_every_n_steps")
    runs = sorted(p for p in out.glob("*_*-*-*") if p.is_dir()) if out.is_dir() else []
    step = 1
    if "--resume_from_checkpoint" in argv and runs:
        run = runs[-1]
        states = sorted(int(p.name[len("global_step") :]) for p in run.glob("global_step*"))
        step = states[-1] + 1 if states else 1
    else:
        run = out / datetime.now(UTC).strftime("%Y%m%d_%H-%M-%S")
        while run.exists():
            time.sleep(1)
            run = out / datetime.now(UTC).strftime("%Y%m%d_%H-%M-%S")
    run.mkdir(parents=True, exist_ok=True)
    while True:
        time.sleep(STEP_S)
        maybe_crash(step)
        print(
            f"steps: {step} loss: {loss_at(step):.4f} iter time (s): {STEP_S:.3f} samples/sec: {1 / max(STEP_S, 1e-3):.3f}",
            flush=True,
        )
        if every and step % every == 0:
            write_safetensors(run / f"step{step}" / "adapter_model.safetensors", step)
        quit_file = run / "save_quit"
        if quit_file.is_file():
            quit_file.unlink()
            (run / f"global_step{step}").mkdir(exist_ok=True)
            print("Manually quitting", flush=True)
            return 0
        if step >= max_steps:
            break
        step += 1
    (run / f"global_step{step}").mkdir(exist_ok=True)
    write_safetensors(run / f"step{step}" / "adapter_model.safetensors", step)
    print("TRAINING COMPLETE!", flush=True)
    return 0


# --- native -------------------------------------------------------------------------------------


def run_native(argv: list[str]) -> int:
    cfg = tomllib.loads(Path(arg_after(argv, "--config")).read_text())
    out, name = Path(cfg["output_dir"]), cfg["name"]
    total, every = cfg["training"]["steps"], cfg["save"]["every_n_steps"]
    sample_every = cfg["sample"]["every_n_steps"] if cfg["sample"].get("prompts") else None
    out.mkdir(parents=True, exist_ok=True)
    start = 0
    if arg_after(argv, "--resume") == "auto":
        states = sorted(int(p.name[len("state-step") :]) for p in out.glob("state-step*"))
        start = states[-1] if states else 0

    def save(step: int) -> None:
        ckpt = out / f"{name}-step{step:08d}.safetensors"
        write_safetensors(ckpt, step)
        (out / f"state-step{step:08d}").mkdir(exist_ok=True)
        (out / f"state-step{step:08d}" / "state.json").write_text(json.dumps({"step": step}))
        print(f"[trainpilot] checkpoint step={step} path={ckpt}", flush=True)

    for step in range(start + 1, total + 1):
        time.sleep(STEP_S)
        maybe_crash(step)
        print(
            f"[trainpilot] step={step} total={total} loss={loss_at(step):.6f} lr=1.000e-04 its={1 / max(STEP_S, 1e-3):.2f}",
            flush=True,
        )
        if sample_every and step % sample_every == 0:
            sample = out / "samples" / f"{step:06d}_0.png"
            write_png(sample)
            print(f"[trainpilot] sample step={step} path={sample}", flush=True)
        quit_file = out / "save_quit"
        if stop_requested or quit_file.exists():
            quit_file.unlink(missing_ok=True)
            save(step)
            return 0
        if step % every == 0:
            save(step)
    final = out / f"{name}.safetensors"
    write_safetensors(final, total)
    print(f"[trainpilot] done path={final}", flush=True)
    return 0


def _on_term(signum, frame):
    global stop_requested
    stop_requested = True


def main(argv: list[str]) -> int:
    print(
        f"fake trainer pid={os.getpid()} CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '')}", flush=True
    )
    if argv and argv[0] == "--deepspeed-launcher":
        return run_diffusion_pipe(argv[1:])
    if "--config_file" in argv:
        return run_kohya(argv)
    if "lorapilot.tools.trainpilot.native" in argv:
        signal.signal(signal.SIGTERM, _on_term)
        return run_native(argv)
    if any(a.endswith(".yaml") for a in argv):
        return run_ai_toolkit(argv)
    print(f"fake trainer: cannot tell which trainer {argv} is", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
