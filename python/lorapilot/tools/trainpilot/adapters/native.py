"""The native trainer (``lorapilot.tools.trainpilot.native``): a run TOML validated by its own config model.

Contract (see ``native/__init__.py``): ``python -m lorapilot.tools.trainpilot.native --config run.toml
[--resume auto]``, under ``accelerate launch`` for several GPUs; progress lines
``[trainpilot] step=… total=… loss=… lr=… its=…``; ``save_quit`` in the output folder saves and exits.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import tomli_w

from lorapilot.kit.tomlconfig import validate_model

from ..native import SUPPORTED_FAMILIES
from ..training_bases import scheduler_prediction
from .base import Command, Issue, Outputs, Progress, RunSpec, TrainerAdapter, clean_record, numbered
from .multinode import rendezvous_id, torchrun_args

FAMILY = {"sd15": "sd1", "sd2": "sd2", "sdxl": "sdxl", "flux1": "flux1"}
_PREFIX = "[trainpilot]"
_PAIR = re.compile(r"(\w+)=(\S+)")

# FLUX.1 is held in bf16 without fp8 or block swapping: the transformer alone is about 24 GB.
FLUX_MIN_VRAM = 48
# Like sd-scripts' lora_flux and AI Toolkit: every linear layer of the double and single blocks (diffusers
# names; the exporter writes them under BFL names). A bare "proj_out" would also catch the final layer,
# so the single blocks' linear2 is named per block (see flux_targets).
FLUX_DOUBLE_TARGETS = (
    "attn.to_q", "attn.to_k", "attn.to_v", "attn.to_out.0", "attn.add_q_proj", "attn.add_k_proj", "attn.add_v_proj",
    "attn.to_add_out", "ff.net.0.proj", "ff.net.2", "ff_context.net.0.proj", "ff_context.net.2", "norm1.linear",
    "norm1_context.linear",
)  # fmt: skip
FLUX_SINGLE_TARGETS = ("proj_mlp", "norm.linear")  # attn.to_q/k/v above also match the single blocks
FLUX1_SINGLE_BLOCKS = 38  # FLUX.1-dev and -schnell
# Optimizers the native trainer imports from packages the lorapilot-train environment (the train extra)
# does not carry; presets choose AdamW for it (a LoRA's optimizer state is small).
OPTIMIZER_PACKAGES = {"adamw8bit": "bitsandbytes", "prodigy": "prodigyopt"}


def is_diffusers_folder(path: Path) -> bool:
    return path.is_dir() and (path / "model_index.json").is_file()


def flux_targets(base: Path | None) -> list[str]:
    """The LoRA target modules for the FLUX.1 transformer in the diffusers folder ``base``."""
    try:
        config = json.loads((base / "transformer" / "config.json").read_text(encoding="utf-8"))
        singles = int(config["num_single_layers"])
    except (TypeError, OSError, ValueError, KeyError):
        singles = FLUX1_SINGLE_BLOCKS
    return [
        *FLUX_DOUBLE_TARGETS,
        *FLUX_SINGLE_TARGETS,
        *(f"single_transformer_blocks.{i}.proj_out" for i in range(singles)),
    ]


def _native_families() -> frozenset[str]:
    ours = {v: k for k, v in FAMILY.items()}
    return frozenset(ours[f] for f in SUPPORTED_FAMILIES if f in ours)


class NativeAdapter(TrainerAdapter):
    name = "native"
    title = "Native (diffusers + peft)"
    component = "lorapilot-train"
    supports_save_stop = True

    @property
    def families(self) -> frozenset[str]:  # type: ignore[override]
        return _native_families()

    def fit_issues(self, family: str, vram_gb: int | None = None, base: Path | None = None) -> list[Issue]:
        if family != "flux1":
            return []
        issues = []
        if vram_gb is not None and vram_gb < FLUX_MIN_VRAM:
            issues.append(
                Issue(
                    "vram_gb",
                    f"the native trainer holds FLUX.1 in bf16 without fp8 or block swapping (the transformer alone is about 24 GB), so it needs the {FLUX_MIN_VRAM}+ GB tier, not {vram_gb} GB; on a smaller card train FLUX.1 with Kohya sd-scripts or AI Toolkit",
                )
            )
        if base is not None and base.exists() and not is_diffusers_folder(base):
            what = "a folder without model_index.json" if base.is_dir() else "a single-file checkpoint"
            issues.append(
                Issue(
                    "model.base",
                    f"the native trainer loads FLUX.1 only from a diffusers folder (with model_index.json); {base.name} is {what}: choose a FLUX.1 diffusers folder under models/diffusers/, or train this file with Kohya sd-scripts",
                )
            )
        return issues

    def check(self, spec: RunSpec) -> list[Issue]:
        p = spec.profile
        issues = []  # fit_issues (family, tier, base model) are asked by validation for every trainer
        package = OPTIMIZER_PACKAGES.get(p.optim.optimizer)
        if package and spec.location.can_import(package) is False:
            issues.append(
                Issue(
                    "optim.optimizer",
                    f"{p.optim.optimizer} needs the {package} package, which the native trainer's "
                    f"environment ({spec.location.python}) does not have: choose adamw, or install {package} there",
                )
            )
        elif p.optim.optimizer == "adamw8bit" and not spec.gpu_ids:
            issues.append(
                Issue(
                    "optim.optimizer",
                    "adamw8bit needs bitsandbytes on a GPU; on CPU the native trainer needs adamw",
                    "warning",
                )
            )
        predicts = scheduler_prediction(spec.model_file(p.model.base))
        if predicts and (predicts == "v_prediction") != p.model.v_prediction:
            issues.append(
                Issue(
                    "model.v_prediction",
                    f"the native trainer follows the base's scheduler, which predicts {predicts}: "
                    f"model.v_prediction = {str(p.model.v_prediction).lower()} is ignored",
                    "warning",
                )
            )
        if p.training.fp8_base:
            issues.append(
                Issue(
                    "training.fp8_base",
                    "the native trainer has no fp8 base weights: set false (Kohya sd-scripts and AI Toolkit have them)",
                )
            )
        if p.training.blocks_to_swap:
            issues.append(
                Issue(
                    "training.blocks_to_swap",
                    "the native trainer does not swap blocks to the CPU: set 0 (Kohya sd-scripts does)",
                )
            )
        if p.family == "flux1":
            if p.training.mixed_precision != "bf16":
                issues.append(
                    Issue(
                        "training.mixed_precision",
                        f"the native trainer trains FLUX.1 in bf16 only (FLUX.1 overflows in fp16; float32 weights need about 48 GB): set bf16, not {p.training.mixed_precision!r}",
                    )
                )
            if p.network.train_text_encoder:
                issues.append(
                    Issue(
                        "network.train_text_encoder",
                        "the native trainer keeps FLUX.1's CLIP and T5 encoders frozen: set false",
                    )
                )
            if p.optim.min_snr_gamma:
                issues.append(
                    Issue("optim.min_snr_gamma", "not used for FLUX.1 (rectified flow has no SNR weighting)", "warning")
                )
            for slot in ("clip_l", "t5xxl", "ae", "vae"):
                if getattr(p.model, slot):
                    issues.append(
                        Issue(
                            f"model.{slot}",
                            "not used: the native trainer reads FLUX.1's text encoders and autoencoder from the diffusers folder in model.base",
                            "warning",
                        )
                    )
        return issues

    def native_config(self, spec: RunSpec):
        """The run settings as the native trainer's own model (validated: errors name the field)."""
        from lorapilot.tools.trainpilot.native.config import NativeTrainConfig

        p = spec.profile
        t, o, n, d, s = p.training, p.optim, p.network, p.dataset, p.sample
        data = {
            "name": p.name,
            "output_dir": str(spec.output_dir),
            "logging_dir": str(spec.tensorboard_dir),
            "model": {"pretrained": str(spec.model_file(p.model.base)), "family": FAMILY.get(p.family, p.family)},
            "dataset": {
                "image_dir": str(spec.image_dir),
                "caption_extension": d.caption_extension,
                "resolution": d.resolution,
                "buckets": d.buckets,
                "bucket_step": d.bucket_step,
                "min_bucket": d.min_bucket,
                "max_bucket": d.max_bucket,
                "repeats": d.repeats,
                "caption_dropout": d.caption_dropout,
                "shuffle_tags": d.shuffle_tags,
                "keep_tokens": d.keep_tokens,
                "trigger_word": d.trigger_word,
                "cache_latents": t.cache_latents,
                "cache_text": t.cache_text and not n.train_text_encoder,
            },
            "regularization": None
            if p.regularization is None or spec.reg_image_dir is None
            else {
                "image_dir": str(spec.reg_image_dir),
                "repeats": p.regularization.repeats,
                "prior_loss_weight": p.regularization.weight,
                "class_tokens": p.regularization.class_tokens,
            },
            "network": {
                "rank": n.rank,
                "alpha": n.alpha,
                "dropout": n.dropout,
                "train_text_encoder": n.train_text_encoder,
                "text_encoder_lr": o.text_encoder_lr,
            },
            "optim": {
                "optimizer": o.optimizer,
                "learning_rate": o.learning_rate,
                "lr_scheduler": o.lr_scheduler,
                "warmup_steps": o.warmup_steps,
                "weight_decay": o.weight_decay,
                "max_grad_norm": o.max_grad_norm,
                "min_snr_gamma": o.min_snr_gamma,
                "noise_offset": o.noise_offset,
            },
            "training": {
                "steps": t.steps,
                "batch_size": t.batch_size,
                "gradient_accumulation": t.gradient_accumulation,
                "mixed_precision": t.mixed_precision,
                "gradient_checkpointing": t.gradient_checkpointing,
                "seed": t.seed,
            },
            "save": {
                "every_n_steps": p.save.every_n_steps,
                "state_every_n_steps": p.save.every_n_steps,
                "keep_last": p.save.keep_last,
            },
            "sample": {
                "prompts": list(s.prompts),
                "every_n_steps": s.every_n_steps,
                "seed": s.seed,
                "steps": s.steps,
                "guidance": s.guidance,
                "width": s.width,
                "height": s.height,
            },
        }
        if p.family == "flux1":
            # No text-encoder training for FLUX.1; mixed precision is bf16 (validation refuses the others).
            data["network"]["target_modules"] = flux_targets(spec.model_file(p.model.base))
            data["network"]["train_text_encoder"] = False
            data["network"].pop("text_encoder_lr")
            data["optim"]["min_snr_gamma"] = None
        elif p.model.vae:
            data["model"]["vae"] = str(spec.model_file(p.model.vae))
        # Settings newer versions of the native trainer take (written only where its model has them).
        native_fields = {name: model.annotation for name, model in NativeTrainConfig.model_fields.items()}
        if "negative_prompt" in native_fields["sample"].model_fields and s.negative:
            data["sample"]["negative_prompt"] = s.negative
        if "precision" in native_fields["save"].model_fields:
            data["save"]["precision"] = {"bf16": "bf16", "fp16": "fp16", "no": "fp32"}[t.mixed_precision]
        return validate_model(spec.run_dir / "run.toml", NativeTrainConfig, data)

    def render(self, spec: RunSpec) -> dict[str, str]:
        config = self.native_config(spec)
        return {"run.toml": tomli_w.dumps(config.model_dump(mode="json", exclude_none=True))}

    def command(self, spec: RunSpec) -> Command:
        python = str(spec.location.python)
        t = spec.profile.training
        gpus = t.num_gpus
        if t.num_nodes > 1:  # every machine runs this; torchrun's rendezvous assigns the ranks
            argv = [
                python,
                *torchrun_args(t.num_nodes, gpus, t.rendezvous, rendezvous_id(spec.name)),
                "-m",
                "lorapilot.tools.trainpilot.native",
            ]
        elif gpus > 1:
            argv = [
                python,
                "-m",
                "accelerate.commands.launch",
                "--multi_gpu",
                "--num_processes",
                str(gpus),
                "-m",
                "lorapilot.tools.trainpilot.native",
            ]
        else:
            argv = [python, "-m", "lorapilot.tools.trainpilot.native"]
        argv += ["--config", str(spec.run_dir / "run.toml")]
        if spec.resume:
            argv += ["--resume", "auto"]
        return Command(argv=argv, cwd=spec.run_dir)

    def parse(self, record: str, spec: RunSpec) -> Progress | None:
        text = clean_record(record)
        at = text.find(_PREFIX)
        if at < 0:
            return None
        rest = text[at + len(_PREFIX) :].strip()
        event = None
        head = rest.split(" ", 1)[0]
        if head and "=" not in head:  # an event: sample, checkpoint, state, stopped, done, ...
            event, _, rest = rest.partition(" ")
        path = None
        if "path=" in rest:
            rest, _, path = rest.partition("path=")
            path = path.strip()
        values = dict(_PAIR.findall(rest))

        def num(key, kind=float):
            try:
                return kind(values[key]) if key in values else None
            except ValueError:
                return None

        if event is None and num("step", int) is None:
            return None
        return Progress(
            step=num("step", int),
            total=num("total", int),
            loss=num("loss"),
            lr=num("lr"),
            its=num("its"),
            event=event,
            path=path,
        )

    def find_outputs(self, spec: RunSpec) -> Outputs:
        out, name = spec.output_dir, re.escape(spec.name)
        entries = list(out.iterdir()) if out.is_dir() else []
        checkpoints = numbered([e for e in entries if e.is_file()], re.compile(rf"^{name}-step(\d{{8}})\.safetensors$"))
        states = numbered([e for e in entries if e.is_dir()], re.compile(r"^state-step(\d{8})$"))
        sample_dir = out / "samples"
        samples = numbered(sample_dir.iterdir() if sample_dir.is_dir() else [], re.compile(r"^(\d{6})_\d+\.png$"))
        final = out / f"{spec.name}.safetensors"
        return Outputs(
            checkpoints=checkpoints, samples=samples, states=states, final=final if final.is_file() else None
        )

    def request_save_stop(self, spec: RunSpec, pgid: int) -> None:
        spec.output_dir.mkdir(parents=True, exist_ok=True)
        (spec.output_dir / "save_quit").touch()
