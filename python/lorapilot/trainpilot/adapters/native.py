"""The native trainer (``lorapilot.trainpilot.native``): a run TOML validated by its own config model.

Contract (see ``native/__init__.py``): ``python -m lorapilot.trainpilot.native --config run.toml
[--resume auto]``, under ``accelerate launch`` for several GPUs; progress lines
``[trainpilot] step=… total=… loss=… lr=… its=…``; ``save_quit`` in the output folder saves and exits.
"""

from __future__ import annotations

import re

import tomli_w

from lorapilot.tomlconfig import validate_model

from .base import Command, Issue, Outputs, Progress, RunSpec, TrainerAdapter, clean_record, numbered

FAMILY = {"sd15": "sd1", "sdxl": "sdxl", "flux1": "flux1"}
# What the native trainer trains today (SD1.x and SDXL first; FLUX.1 when the native package says so).
DEFAULT_FAMILIES = frozenset({"sd15", "sdxl"})
_PREFIX = "[trainpilot]"
_PAIR = re.compile(r"(\w+)=(\S+)")


def _native_families() -> frozenset[str]:
    try:
        from lorapilot.trainpilot import native
    except ImportError:
        return DEFAULT_FAMILIES
    declared = getattr(native, "SUPPORTED_FAMILIES", None)
    if not declared:
        return DEFAULT_FAMILIES
    ours = {v: k for k, v in FAMILY.items()}
    return frozenset(ours[f] for f in declared if f in ours)


class NativeAdapter(TrainerAdapter):
    name = "native"
    title = "Native (diffusers + peft)"
    component = "lorapilot-train"
    supports_save_stop = True

    @property
    def families(self) -> frozenset[str]:  # type: ignore[override]
        return _native_families()

    def check(self, spec: RunSpec) -> list[Issue]:
        p = spec.profile
        issues = []
        if p.optim.optimizer == "adamw8bit" and not spec.gpu_ids:
            issues.append(Issue("optim.optimizer", "adamw8bit needs bitsandbytes on a GPU; on CPU the native trainer needs adamw", "warning"))
        return issues

    def native_config(self, spec: RunSpec):
        """The run settings as the native trainer's own model (validated: errors name the field)."""
        from lorapilot.trainpilot.native.config import NativeTrainConfig

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
                "cache_latents": t.cache_latents,
                "cache_text": t.cache_text and not n.train_text_encoder,
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
            "save": {"every_n_steps": p.save.every_n_steps, "state_every_n_steps": p.save.every_n_steps, "keep_last": p.save.keep_last},
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
        if p.model.vae:
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
        gpus = spec.profile.training.num_gpus
        if gpus > 1:
            argv = [python, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", str(gpus),
                    "-m", "lorapilot.trainpilot.native"]
        else:
            argv = [python, "-m", "lorapilot.trainpilot.native"]
        argv += ["--config", str(spec.run_dir / "run.toml")]
        if spec.resume:
            argv += ["--resume", "auto"]
        return Command(argv=argv, cwd=spec.run_dir)

    def parse(self, record: str, spec: RunSpec) -> Progress | None:
        text = clean_record(record)
        at = text.find(_PREFIX)
        if at < 0:
            return None
        rest = text[at + len(_PREFIX):].strip()
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
        return Progress(step=num("step", int), total=num("total", int), loss=num("loss"), lr=num("lr"), its=num("its"),
                        event=event, path=path)

    def find_outputs(self, spec: RunSpec) -> Outputs:
        out, name = spec.output_dir, re.escape(spec.name)
        entries = list(out.iterdir()) if out.is_dir() else []
        checkpoints = numbered([e for e in entries if e.is_file()], re.compile(rf"^{name}-step(\d{{8}})\.safetensors$"))
        states = numbered([e for e in entries if e.is_dir()], re.compile(r"^state-step(\d{8})$"))
        sample_dir = out / "samples"
        samples = numbered(sample_dir.iterdir() if sample_dir.is_dir() else [], re.compile(r"^(\d{6})_\d+\.png$"))
        final = out / f"{spec.name}.safetensors"
        return Outputs(checkpoints=checkpoints, samples=samples, states=states, final=final if final.is_file() else None)

    def request_save_stop(self, spec: RunSpec, pgid: int) -> None:
        spec.output_dir.mkdir(parents=True, exist_ok=True)
        (spec.output_dir / "save_quit").touch()
