"""Run the native trainer as the queue does (a child process) and read what it reports."""

from __future__ import annotations

import copy
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import tomli_w

from .tiny_sd import TINY_BUCKET_STEP, build_tiny_sd1, make_dataset

EVENT = re.compile(r"^\[trainpilot\] (?:(?P<kind>[a-z]+) )?(?P<fields>(?:\w+=\S+ ?)+)$")


@dataclass(frozen=True)
class TinySD1:
    model: Path
    images: Path


@pytest.fixture(scope="session")
def tiny_sd1(tmp_path_factory) -> TinySD1:
    """One tiny SD1 pipeline and 8 captioned images, shared by every native-trainer test."""
    root = tmp_path_factory.mktemp("tiny-sd1")
    return TinySD1(model=build_tiny_sd1(root / "model"), images=make_dataset(root / "images"))


def base_config(tiny: TinySD1, output_dir: Path, steps: int = 32) -> dict:
    return {
        "name": "tiny",
        "output_dir": str(output_dir),
        "model": {"pretrained": str(tiny.model), "family": "sd1"},
        "dataset": {
            "image_dir": str(tiny.images),
            "resolution": 64,
            "bucket_step": TINY_BUCKET_STEP,
            "min_bucket": 32,
            "max_bucket": 96,
        },
        "network": {"rank": 4, "alpha": 8.0},
        "optim": {"learning_rate": 1e-2},
        "training": {"steps": steps, "batch_size": 2},
        "save": {"every_n_steps": 8, "precision": "fp32"},
        "sample": {"prompts": [], "every_n_steps": 1000, "steps": 3},
    }


def write_config(path: Path, config: dict, **sections) -> Path:
    """Write ``config`` with each keyword (a section name) merged over it; returns the TOML path."""
    data = copy.deepcopy(config)
    for key, value in sections.items():
        if isinstance(value, dict):
            data.setdefault(key, {}).update(value)
        else:
            data[key] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(tomli_w.dumps(data).encode())
    return path


def trainer_command(config_path: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "lorapilot.tools.trainpilot.native", "--config", str(config_path), *extra]


def ddp_command(config_path: Path, port: int, *extra: str, processes: int = 2) -> list[str]:
    """``accelerate launch`` with torchrun's launcher; without a GPU the processes form a gloo group."""
    return [
        sys.executable, "-m", "accelerate.commands.launch",
        "--multi_gpu", "--num_processes", str(processes), "--num_machines", "1",
        "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(port),
        "-m", "lorapilot.tools.trainpilot.native", "--config", str(config_path), *extra,
    ]  # fmt: skip


def mpi_cpu_command(config_path: Path, port: int, hostfile: Path, *extra: str, processes: int = 2) -> list[str]:
    """``accelerate launch --cpu --num_processes N``: accelerate's multi-CPU launch, which starts the
    processes through ``mpirun`` (``--mpirun_hostfile``); they form a gloo group."""
    return [
        sys.executable, "-m", "accelerate.commands.launch",
        "--cpu", "--num_processes", str(processes), "--num_machines", "1", "--mpirun_hostfile", str(hostfile),
        "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(port),
        "-m", "lorapilot.tools.trainpilot.native", "--config", str(config_path), *extra,
    ]  # fmt: skip


def mpi_hostfile(folder: Path, processes: int = 2) -> Path | None:
    """A hostfile giving this machine ``processes`` slots in the syntax of the installed mpirun (None: no MPI)."""
    import shutil

    mpirun = shutil.which("mpirun") or shutil.which("mpiexec")
    if mpirun is None:
        return None
    version = subprocess.run([mpirun, "--version"], capture_output=True, text=True, timeout=30).stdout
    path = folder / "hostfile"
    path.write_text(f"localhost slots={processes}\n" if "Open MPI" in version else f"localhost:{processes}\n")
    return path


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "2")
    env["PYTHONUNBUFFERED"] = "1"
    # Open MPI refuses to start as root (CI containers) unless told twice; MPICH ignores these.
    env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    return env


def run_trainer(
    config_path: Path, *extra: str, timeout: float = 240, command: list[str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        command or trainer_command(config_path, *extra),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env(),
    )


def events(stdout: str) -> list[dict]:
    """The ``[trainpilot]`` lines as dicts: ``{"kind": "step"|"sample"|..., field: value}``."""
    found = []
    for line in stdout.splitlines():
        m = EVENT.match(line.strip())
        if not m:
            continue
        fields = dict(item.split("=", 1) for item in m["fields"].split())
        found.append({"kind": m["kind"] or "step", **fields})
    return found


def steps_of(stdout: str) -> list[int]:
    return [int(e["step"]) for e in events(stdout) if e["kind"] == "step"]


class RunningTrainer:
    """A trainer in its own process group, read line by line until a condition holds."""

    def __init__(self, config_path: Path, *extra: str, stderr_path: Path, command: list[str] | None = None):
        self.stderr = stderr_path.open("w")
        self.proc = subprocess.Popen(
            command or trainer_command(config_path, *extra),
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            env=child_env(),
            start_new_session=True,
        )
        self.lines: list[str] = []

    def wait_for(self, predicate, timeout: float = 180) -> dict:
        """Read until an event satisfies ``predicate``; returns that event."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError(f"trainer ended (rc={self.proc.wait()}) before the awaited event:\n{self.text}")
            self.lines.append(line)
            for event in events(line):
                if predicate(event):
                    return event
        raise AssertionError(f"timed out waiting for an event:\n{self.text}")

    def signal_group(self, sig: int) -> None:
        os.killpg(self.proc.pid, sig)

    def finish(self, timeout: float = 120) -> int:
        rest, _ = self.proc.communicate(timeout=timeout)
        self.lines.append(rest or "")
        self.stderr.close()
        return self.proc.returncode

    @property
    def text(self) -> str:
        return "".join(self.lines)


def kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def load_sd1(model_dir: Path, lora: Path | None = None):
    """A fresh pipeline from disk, with ``lora`` loaded through diffusers' ``load_lora_weights``."""
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(model_dir)
    if lora is not None:
        pipe.load_lora_weights(str(lora))
    return pipe


def fixed_batch_loss(pipe, image_dir: Path) -> float:
    """Noise-prediction MSE on a fixed evaluation batch: every image at five timesteps, fixed noise."""
    import torch
    from diffusers import DDPMScheduler

    from lorapilot.tools.trainpilot.native.config import DatasetSettings
    from lorapilot.tools.trainpilot.native.images import load_pixels, scan_images

    scheduler = DDPMScheduler.from_config(pipe.scheduler.config)
    settings = DatasetSettings(
        image_dir=image_dir, resolution=64, bucket_step=TINY_BUCKET_STEP, min_bucket=32, max_bucket=96
    )
    generator = torch.Generator().manual_seed(0)
    losses = []
    with torch.no_grad():
        for image in scan_images(settings):
            latents = pipe.vae.encode(load_pixels(image)[None]).latent_dist.mean * pipe.vae.config.scaling_factor
            ids = pipe.tokenizer([image.caption], padding="max_length", max_length=77, return_tensors="pt").input_ids
            hidden = pipe.text_encoder(ids)[0]
            for t in (50, 250, 450, 650, 850):
                noise = torch.randn(latents.shape, generator=generator)
                timestep = torch.tensor([t])
                pred = pipe.unet(scheduler.add_noise(latents, noise, timestep), timestep, hidden).sample
                losses.append(torch.nn.functional.mse_loss(pred, noise))
    return torch.stack(losses).mean().item()


def with_trained_adapter(module, state_file: Path, targets: list[str], rank: int, alpha: float):
    """``module`` with the adapter a state folder saved (peft layout): the model exactly as the trainer held it."""
    from peft import LoraConfig, inject_adapter_in_model
    from peft.utils import set_peft_model_state_dict
    from safetensors.torch import load_file

    inject_adapter_in_model(LoraConfig(r=rank, lora_alpha=alpha, target_modules=targets), module)
    result = set_peft_model_state_dict(module, load_file(state_file))
    assert not result.unexpected_keys, result.unexpected_keys[:3]
    return module
