"""Diffusion Pipe: a main TOML plus a dataset TOML, run with ``deepspeed --num_gpus=N train.py --deepspeed --config``.

``max_steps`` is always set so the total is known; DeepSpeed prints
``steps: N loss: X iter time (s): T samples/sec: S``. Each run writes into a timestamped folder
under ``output_dir`` (``stepN/adapter_model.safetensors``, DeepSpeed ``global_stepN`` states);
a file named ``save_quit`` in that folder makes it save a checkpoint and quit.
"""

from __future__ import annotations

import math
import re
import socket
from pathlib import Path

import tomli_w

from lorapilot.errors import ConflictError

from .base import Command, Issue, Outputs, Progress, RunSpec, TrainerAdapter, clean_record, numbered

MODEL_TYPES = {"sdxl": "sdxl", "flux1": "flux", "sd3": "sd3"}
OPTIMIZERS = {"adamw": "adamw_optimi", "adamw8bit": "AdamW8bitKahan", "prodigy": "Prodigy"}
SAVE_DTYPE = {"bf16": "bfloat16", "fp16": "float16", "no": "float32"}
_RUN_DIR = re.compile(r"^\d{8}_\d{2}-\d{2}-\d{2}$")
_STEP_LINE = re.compile(
    r"steps:\s*(\d+)\s+loss:\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|nan|inf)\s+iter time \(s\):\s*([\d.]+)"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DiffusionPipeAdapter(TrainerAdapter):
    name = "diffusion-pipe"
    title = "Diffusion Pipe"
    component = "diffusion-pipe"
    families = frozenset(MODEL_TYPES)
    supports_save_stop = True
    selects_gpus = True  # DeepSpeed picks GPUs from --include; CUDA_VISIBLE_DEVICES would renumber them

    def check(self, spec: RunSpec) -> list[Issue]:
        p = spec.profile
        issues = []
        base = spec.model_file(p.model.base)
        if p.family in ("flux1", "sd3") and base is not None and not base.is_dir():
            issues.append(Issue("model.base", f"Diffusion Pipe loads {p.family} from a diffusers folder (models/diffusers/...)"))
        if p.family == "sdxl" and base is not None and base.is_dir():
            issues.append(Issue("model.base", "Diffusion Pipe loads SDXL from a single-file checkpoint (checkpoint_path)"))
        if p.optim.optimizer not in OPTIMIZERS:
            issues.append(Issue("optim.optimizer", f"Diffusion Pipe has no {p.optim.optimizer!r}; use one of {', '.join(OPTIMIZERS)}"))
        if p.dataset.caption_extension != ".txt":
            issues.append(Issue("dataset.caption_extension", "Diffusion Pipe reads .txt captions only"))
        if p.network.alpha != p.network.rank:
            issues.append(Issue("network.alpha", f"Diffusion Pipe always trains with alpha = rank ({p.network.rank}); alpha {p.network.alpha:g} is ignored", "warning"))
        if p.dataset.caption_dropout > 0 or p.dataset.keep_tokens > 0:
            issues.append(Issue("dataset.caption_dropout", "Diffusion Pipe has no caption dropout or keep_tokens; they are ignored", "warning"))
        return issues

    # --- render ------------------------------------------------------------------------------
    def render(self, spec: RunSpec) -> dict[str, str]:
        return {"dataset.toml": tomli_w.dumps(self.dataset_config(spec)), "main.toml": tomli_w.dumps(self.main_config(spec))}

    def dataset_config(self, spec: RunSpec) -> dict:
        d = spec.profile.dataset
        config: dict = {
            "resolutions": [d.resolution],
            "enable_ar_bucket": d.buckets,
            "min_ar": 0.5,
            "max_ar": 2.0,
            "num_ar_buckets": 7,
            "frame_buckets": [1],
        }
        if d.shuffle_tags:
            config.update(cache_shuffle_num=10, cache_shuffle_delimiter=", ")
        config["directory"] = [{"path": str(spec.image_dir), "num_repeats": d.repeats}]
        return config

    def _epochs(self, spec: RunSpec) -> int:
        """Enough epochs that ``max_steps`` ends the run (and schedules span the whole run)."""
        from ..datasets import list_images

        t, d = spec.profile.training, spec.profile.dataset
        per_epoch = max(1, len(list_images(spec.image_dir)) * d.repeats // (t.batch_size * t.gradient_accumulation * t.num_gpus))
        return math.ceil(t.steps / per_epoch) + 1

    def main_config(self, spec: RunSpec) -> dict:
        p = spec.profile
        t, o, s = p.training, p.optim, p.save
        big = p.family in ("flux1", "sd3")
        model: dict = {"type": MODEL_TYPES[p.family], "dtype": "bfloat16" if t.mixed_precision != "fp16" else "float16"}
        base = str(spec.model_file(p.model.base))
        if p.family == "sdxl":
            model["checkpoint_path"] = base
            if o.min_snr_gamma is not None:
                model["min_snr_gamma"] = float(o.min_snr_gamma)
        else:
            model["diffusers_path"] = base
            if t.fp8_base:
                model["transformer_dtype"] = "float8"
            if p.family == "flux1":
                model["timestep_sample_method"] = "logit_normal"
        optimizer = {
            "type": OPTIMIZERS.get(o.optimizer, o.optimizer),
            "lr": float(o.learning_rate),
            "betas": [0.9, 0.99],
            "weight_decay": float(o.weight_decay),
            "eps": 1e-8,
        }
        config: dict = {
            "output_dir": str(spec.output_dir),
            "dataset": str(spec.run_dir / "dataset.toml"),
            "epochs": self._epochs(spec),
            "max_steps": t.steps,
            "micro_batch_size_per_gpu": t.batch_size,
            "pipeline_stages": 1,
            "gradient_accumulation_steps": t.gradient_accumulation,
            "gradient_clipping": float(o.max_grad_norm),
            "warmup_steps": o.warmup_steps,
            "lr_scheduler": o.lr_scheduler if o.lr_scheduler in ("linear", "cosine") else "constant",
            "save_every_n_steps": s.every_n_steps,
            "checkpoint_every_n_minutes": 30,
            "activation_checkpointing": t.gradient_checkpointing,
            "save_dtype": SAVE_DTYPE[t.mixed_precision],
            "caching_batch_size": 1,
            "steps_per_print": 1,
            "eval_before_first_step": False,
        }
        if t.blocks_to_swap and big:
            config["blocks_to_swap"] = t.blocks_to_swap
        config["model"] = model
        config["adapter"] = {"type": "lora", "rank": p.network.rank, "dtype": "bfloat16"}
        if p.network.dropout > 0:
            config["adapter"]["dropout"] = float(p.network.dropout)
        config["optimizer"] = optimizer
        return config

    # --- run ---------------------------------------------------------------------------------
    def command(self, spec: RunSpec) -> Command:
        src = spec.location.src
        port = _free_port()
        argv = [str(spec.location.bin("deepspeed"))]
        numeric = [g for g in spec.gpu_ids if g.isdigit()]
        if numeric:
            argv.append(f"--include=localhost:{','.join(numeric)}")
        else:
            argv.append(f"--num_gpus={spec.profile.training.num_gpus}")
        argv += [f"--master_port={port}", str(src / "train.py") if src else "train.py", "--deepspeed",
                 "--config", str(spec.run_dir / "main.toml"), "--master_port", str(port)]
        if spec.resume:
            argv.append("--resume_from_checkpoint")  # no value: the most recent run folder
        return Command(argv=argv, cwd=src)

    def parse(self, record: str, spec: RunSpec) -> Progress | None:
        m = _STEP_LINE.search(clean_record(record))
        if not m:
            return None
        iter_time = float(m.group(3))
        return Progress(
            step=int(m.group(1)),
            total=spec.profile.training.steps,
            loss=float(m.group(2)),
            its=(1.0 / iter_time) if iter_time > 0 else None,
        )

    def run_folder(self, spec: RunSpec) -> Path | None:
        """The newest timestamped run folder under output_dir (the one a resume continues)."""
        if not spec.output_dir.is_dir():
            return None
        runs = sorted(p for p in spec.output_dir.iterdir() if p.is_dir() and _RUN_DIR.match(p.name))
        return runs[-1] if runs else None

    def find_outputs(self, spec: RunSpec) -> Outputs:
        run = self.run_folder(spec)
        if run is None:
            return Outputs()
        dirs = [p for p in run.iterdir() if p.is_dir()]
        checkpoints = [(n, d / "adapter_model.safetensors") for n, d in numbered(dirs, re.compile(r"^step(\d+)$"))
                       if (d / "adapter_model.safetensors").is_file()]
        states = numbered(dirs, re.compile(r"^global_step(\d+)$"))
        final = run / f"step{spec.profile.training.steps}" / "adapter_model.safetensors"
        if not final.is_file():
            epochs = [(n, d / "adapter_model.safetensors") for n, d in numbered(dirs, re.compile(r"^epoch(\d+)$"))
                      if (d / "adapter_model.safetensors").is_file()]
            final = epochs[-1][1] if epochs else None
        return Outputs(checkpoints=checkpoints, states=states, final=final)

    def request_save_stop(self, spec: RunSpec, pgid: int) -> None:
        run = self.run_folder(spec)
        if run is None:
            raise ConflictError("Diffusion Pipe has not started its run folder yet (still caching); cancel with kill")
        (run / "save_quit").touch()
