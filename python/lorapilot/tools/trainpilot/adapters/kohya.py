"""Kohya sd-scripts: a dataset TOML plus a training TOML, run with ``accelerate launch``.

sd-scripts flattens every table of ``--config_file`` into argparse names and takes the values
as they are (no type conversion), so the TOML holds ints, floats, bools and lists exactly as
argparse would have produced them.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import tomli_w

from .base import Command, Issue, Outputs, Progress, RunSpec, TrainerAdapter, clean_record, numbered
from .multinode import rendezvous_id, torchrun_args
from .tqdm import parse_tqdm, postfix_value

SCRIPTS = {
    "sd15": "train_network.py",
    "sd2": "train_network.py",  # with --v2 (and --v_parameterization for a 768-v base)
    "sdxl": "sdxl_train_network.py",
    "flux1": "flux_train_network.py",
    "sd3": "sd3_train_network.py",
}
NETWORK_MODULES = {
    "sd15": "networks.lora",
    "sd2": "networks.lora",
    "sdxl": "networks.lora",
    "flux1": "networks.lora_flux",
    "sd3": "networks.lora_sd3",
}
OPTIMIZERS = {"adamw": "AdamW", "adamw8bit": "AdamW8bit", "prodigy": "Prodigy", "adafactor": "Adafactor"}
OPTIMIZER_ARGS = {
    "prodigy": ["decouple=True", "use_bias_correction=True", "safeguard_warmup=True"],
    "adafactor": ["scale_parameter=False", "relative_step=False", "warmup_init=False"],
}
SAVE_PRECISION = {"bf16": "bf16", "fp16": "fp16", "no": "float"}
UNET_FAMILIES = ("sd15", "sd2", "sdxl")  # noise/v-prediction UNets: text encoders trainable, min-SNR applies
# What each script asserts of bucket_reso_steps before it trains (``verify_bucket_reso_steps``):
# SD1/SD2's UNet downsamples the latents three times, so buckets must step by 64 px.
BUCKET_STEP_MULTIPLE = {"sd15": 64, "sd2": 64, "sdxl": 32, "flux1": 32, "sd3": 32}
# The hub ids sd-scripts loads its tokenizers from (library/strategy_sd.py, strategy_sdxl.py), by the
# base model's diffusers subfolder that holds the same tokenizer. sd-scripts looks for each in
# ``<tokenizer_cache_dir>/<id with / as _>`` before it asks the hub.
TOKENIZER_IDS = {
    "sd15": {"tokenizer": "openai/clip-vit-large-patch14"},
    "sd2": {"tokenizer": "stabilityai/stable-diffusion-2"},
    "sdxl": {"tokenizer": "openai/clip-vit-large-patch14", "tokenizer_2": "laion/CLIP-ViT-bigG-14-laion2B-39B-b160k"},
}


def sample_prompt_lines(spec: RunSpec, guidance_flag: str) -> str:
    """sd-scripts' prompt file: one prompt per line with ``--w --h --d --s --l/--g --n`` options."""
    p = spec.profile
    width = p.sample.width or p.dataset.resolution
    height = p.sample.height or p.dataset.resolution
    lines = []
    for prompt in p.sample.prompts:
        text = " ".join(prompt.replace("--", "-").split())
        line = f"{text} --w {width} --h {height} --d {p.sample.seed} --s {p.sample.steps} --{guidance_flag} {p.sample.guidance}"
        if p.sample.negative.strip():
            line += f" --n {' '.join(p.sample.negative.replace('--', '-').split())}"
        lines.append(line)
    return "\n".join(lines) + "\n"


class KohyaAdapter(TrainerAdapter):
    name = "kohya"
    title = "Kohya sd-scripts"
    component = "kohya"
    families = frozenset(SCRIPTS)
    supports_save_stop = False
    stop_hint = "sd-scripts has no save-on-signal; it keeps a resumable state every save cadence."

    # --- paths -------------------------------------------------------------------------------
    def scripts_dir(self, spec: RunSpec) -> Path:
        src = spec.location.src or Path(".")
        nested = src / "sd-scripts"  # kohya_ss carries sd-scripts as a submodule
        return nested if (nested / "train_network.py").is_file() else src

    def check(self, spec: RunSpec) -> list[Issue]:
        p = spec.profile
        issues = []
        if p.family == "flux1":
            for slot in ("clip_l", "t5xxl", "ae"):
                if not getattr(p.model, slot):
                    issues.append(
                        Issue(f"model.{slot}", f"sd-scripts trains FLUX.1 from separate files: set model.{slot}")
                    )
        multiple = BUCKET_STEP_MULTIPLE.get(p.family)  # an unsupported family is reported by validation
        if multiple and p.dataset.bucket_step % multiple:
            issues.append(
                Issue(
                    "dataset.bucket_step",
                    f"sd-scripts' {SCRIPTS[p.family]} needs bucket steps in multiples of {multiple} px "
                    f"(got {p.dataset.bucket_step}); it stops before training otherwise",
                )
            )
        if p.family == "sd2" and not p.model.v_prediction:
            issues.append(
                Issue(
                    "model.v_prediction",
                    "SD 2.x trains without v-parameterization: right for the 512 base, wrong for a 768-v base (SD 2.0/2.1 768), which needs true",
                    "warning",
                )
            )
        return issues

    def fit_issues(self, family: str, vram_gb: int | None = None, base: Path | None = None) -> list[Issue]:
        if family in ("flux1", "sd3") and base is not None and base.is_dir():
            return [Issue("model.base", f"sd-scripts needs a single-file {family} checkpoint, not a diffusers folder")]
        return []

    # --- render ------------------------------------------------------------------------------
    def tokenizer_cache_dir(self, spec: RunSpec) -> Path:
        return spec.run_dir / "tokenizers"

    def write_config(self, spec: RunSpec) -> list[Path]:
        written = super().write_config(spec)
        self.fill_tokenizer_cache(spec)
        return written

    def fill_tokenizer_cache(self, spec: RunSpec) -> list[Path]:
        """Copy the base model's own tokenizers where sd-scripts looks before the hub.

        Without them sd-scripts downloads ``openai/clip-vit-large-patch14`` (and SDXL's second
        tokenizer) at start, so a job fails on an offline pod, and a base model with its own
        tokenizer would be trained with another one. A single-file checkpoint holds no tokenizer:
        sd-scripts then loads it from the hub or the Hugging Face cache, and saves it here.
        """
        base = spec.model_file(spec.profile.model.base)
        filled = []
        for subfolder, hub_id in TOKENIZER_IDS.get(spec.profile.family, {}).items():
            source = base / subfolder if base is not None else None
            target = self.tokenizer_cache_dir(spec) / hub_id.replace("/", "_")
            if source is None or not source.is_dir() or target.exists():
                continue
            staging = target.with_name(target.name + ".partial")
            shutil.rmtree(staging, ignore_errors=True)
            shutil.copytree(source, staging)
            staging.rename(target)  # sd-scripts takes any existing folder as complete
            filled.append(target)
        return filled

    def render(self, spec: RunSpec) -> dict[str, str]:
        return {
            "dataset.toml": tomli_w.dumps(self.dataset_config(spec)),
            "run.toml": tomli_w.dumps(self.run_config(spec)),
            "sample_prompts.txt": sample_prompt_lines(spec, "g" if spec.profile.family == "flux1" else "l"),
        }

    def dataset_config(self, spec: RunSpec) -> dict:
        d = spec.profile.dataset
        return {
            "general": {
                "shuffle_caption": d.shuffle_tags,
                "caption_extension": d.caption_extension,
                "keep_tokens": d.keep_tokens,
            },
            "datasets": [
                {
                    "resolution": d.resolution,
                    "batch_size": spec.profile.training.batch_size,
                    "enable_bucket": d.buckets,
                    "min_bucket_reso": d.min_bucket,
                    "max_bucket_reso": d.max_bucket,
                    "bucket_reso_steps": d.bucket_step,
                    "bucket_no_upscale": True,
                    "subsets": [
                        {
                            "image_dir": str(spec.image_dir),
                            "num_repeats": d.repeats,
                            "caption_dropout_rate": float(d.caption_dropout),
                        },
                        *self.reg_subsets(spec),
                    ],
                }
            ],
        }

    def reg_subsets(self, spec: RunSpec) -> list[dict]:
        """The regularization set as a DreamBooth ``is_reg`` subset (sd-scripts' class folder, by config)."""
        reg = spec.profile.regularization
        if reg is None or spec.reg_image_dir is None:
            return []
        subset: dict = {"image_dir": str(spec.reg_image_dir), "num_repeats": reg.repeats, "is_reg": True}
        if reg.class_tokens.strip():
            subset["class_tokens"] = reg.class_tokens.strip()
        return [subset]

    def run_config(self, spec: RunSpec) -> dict:
        p = spec.profile
        fam = p.family
        t, o, n, s = p.training, p.optim, p.network, p.save
        model: dict = {
            "pretrained_model_name_or_path": str(spec.model_file(p.model.base)),
            "tokenizer_cache_dir": str(self.tokenizer_cache_dir(spec)),
        }
        for slot in ("vae", "clip_l", "clip_g", "t5xxl", "ae"):
            value = getattr(p.model, slot)
            if value and not (slot == "vae" and fam in ("flux1", "sd3")):
                model[slot] = str(spec.model_file(value))
        network: dict = {
            "network_module": NETWORK_MODULES[fam],
            "network_dim": n.rank,
            "network_alpha": float(n.alpha),
            "network_train_unet_only": not (n.train_text_encoder and fam in UNET_FAMILIES),
        }
        if n.dropout > 0:
            network["network_dropout"] = float(n.dropout)
        optimizer: dict = {
            "optimizer_type": OPTIMIZERS[o.optimizer],
            "learning_rate": float(o.learning_rate),
            "optimizer_args": [f"weight_decay={o.weight_decay}", *OPTIMIZER_ARGS.get(o.optimizer, [])],
            "lr_scheduler": o.lr_scheduler,
            "lr_warmup_steps": int(o.warmup_steps),
            "max_grad_norm": float(o.max_grad_norm),
        }
        if o.text_encoder_lr is not None and not network["network_train_unet_only"]:
            optimizer["text_encoder_lr"] = [float(o.text_encoder_lr)]
        training: dict = {
            "output_dir": str(spec.output_dir),
            "output_name": p.name,
            "dataset_config": str(spec.run_dir / "dataset.toml"),
            "max_train_steps": t.steps,
            "gradient_accumulation_steps": t.gradient_accumulation,
            "mixed_precision": t.mixed_precision,
            "save_precision": SAVE_PRECISION[t.mixed_precision],
            "seed": t.seed,
            "gradient_checkpointing": t.gradient_checkpointing,
            "cache_latents": t.cache_latents,
            "cache_latents_to_disk": t.cache_latents,
            "sdpa": True,
            "max_data_loader_n_workers": 2,
            "persistent_data_loader_workers": True,
        }
        if fam not in ("sd15", "sd2") and t.cache_text and network["network_train_unet_only"]:
            training["cache_text_encoder_outputs"] = True
            training["cache_text_encoder_outputs_to_disk"] = True
        if p.regularization is not None:
            training["prior_loss_weight"] = float(p.regularization.weight)
        if o.min_snr_gamma is not None and fam in UNET_FAMILIES:
            training["min_snr_gamma"] = float(o.min_snr_gamma)
        if o.noise_offset > 0:
            training["noise_offset"] = float(o.noise_offset)
        if fam == "sd2":
            model["v2"] = True
        if p.model.v_prediction and fam in UNET_FAMILIES:
            model["v_parameterization"] = True
        if t.fp8_base:
            training["fp8_base"] = True
        if t.blocks_to_swap and fam in ("flux1", "sd3"):
            training["blocks_to_swap"] = t.blocks_to_swap
        if fam == "flux1":
            # sd-scripts' recommended FLUX.1 LoRA settings (README "FLUX.1 LoRA training").
            training.update(
                timestep_sampling="shift", discrete_flow_shift=3.1582, model_prediction_type="raw", guidance_scale=1.0
            )
        saving = {
            "save_every_n_steps": s.every_n_steps,
            "save_model_as": "safetensors",
            "save_state": True,
            "save_state_on_train_end": True,
            "save_last_n_steps": s.every_n_steps * s.keep_last,
            "save_last_n_steps_state": s.every_n_steps * s.keep_last,
        }
        sampling: dict = {}
        if p.sample.prompts:
            sampling = {
                "sample_prompts": str(spec.run_dir / "sample_prompts.txt"),
                "sample_every_n_steps": p.sample.every_n_steps,
                "sample_sampler": "euler_a",
            }
        config = {
            "model": model,
            "network": network,
            "optimizer": optimizer,
            "training": training,
            "saving": saving,
            "sampling": sampling,
            "logging": {"logging_dir": str(spec.tensorboard_dir), "log_with": "tensorboard"},
        }
        if spec.resume:
            state = self.find_outputs(spec).latest_state
            if state is not None:
                # skip_until_initial_step: continue the step count (and the data order) from the state.
                config["resume"] = {"resume": str(state[1]), "skip_until_initial_step": True}
        return {k: v for k, v in config.items() if v}

    # --- run ---------------------------------------------------------------------------------
    def command(self, spec: RunSpec) -> Command:
        t = spec.profile.training
        script = self.scripts_dir(spec) / SCRIPTS[spec.profile.family]
        if t.num_nodes > 1:
            # torchrun's c10d rendezvous, as accelerate launch would start it; sd-scripts' Accelerator
            # takes the ranks from torchrun and these from the environment.
            env = {"ACCELERATE_MIXED_PRECISION": t.mixed_precision, "ACCELERATE_DYNAMO_BACKEND": "NO"}
            argv = [
                str(spec.location.python),
                *torchrun_args(t.num_nodes, t.num_gpus, t.rendezvous, rendezvous_id(spec.name)),
                str(script),
                "--config_file",
                str(spec.run_dir / "run.toml"),
            ]
            return Command(argv=argv, cwd=self.scripts_dir(spec), env=env)
        argv = [
            str(spec.location.python),
            "-m",
            "accelerate.commands.launch",
            "--num_processes",
            str(t.num_gpus),
            "--num_machines",
            "1",
            "--mixed_precision",
            t.mixed_precision,
            "--dynamo_backend",
            "no",
            *(["--multi_gpu"] if t.num_gpus > 1 else []),
            str(script),
            "--config_file",
            str(spec.run_dir / "run.toml"),
        ]
        return Command(argv=argv, cwd=self.scripts_dir(spec))

    def parse(self, record: str, spec: RunSpec) -> Progress | None:
        bar = parse_tqdm(clean_record(record))
        if bar is None or bar.desc != "steps":
            return None
        max_steps = spec.profile.training.steps
        # On resume the bar counts max_train_steps - initial_step: add the offset back.
        offset = max_steps - bar.total if 0 <= max_steps - bar.total < max_steps else 0
        return Progress(step=bar.n + offset, total=max_steps, loss=postfix_value(bar.postfix, "avr_loss"), its=bar.its)

    def find_outputs(self, spec: RunSpec) -> Outputs:
        out_dir, name = spec.output_dir, re.escape(spec.name)
        files = list(out_dir.iterdir()) if out_dir.is_dir() else []
        # Ordered by write time, not by the number in the name: after a resume with
        # skip_until_initial_step, sd-scripts (3e6935a) restarts its global_step inside the epoch,
        # so later files can carry smaller numbers. The newest state is the one to resume from.
        checkpoints = _by_mtime(
            numbered([f for f in files if f.is_file()], re.compile(rf"^{name}-step(\d{{8}})\.safetensors$"))
        )
        states = numbered([f for f in files if f.is_dir()], re.compile(rf"^{name}-step(\d{{8}})-state$"))
        end_state = out_dir / f"{spec.name}-state"
        if end_state.is_dir():
            states.append((_state_step(end_state, spec.profile.training.steps), end_state))
        sample_dir = out_dir / "sample"
        samples = numbered(
            sample_dir.iterdir() if sample_dir.is_dir() else [],
            re.compile(rf"^{name}_(\d{{6}})_\d{{2}}_\d{{14}}.*\.png$"),
        )
        final = out_dir / f"{spec.name}.safetensors"
        return Outputs(
            checkpoints=checkpoints,
            samples=_by_mtime(samples),
            states=_by_mtime(states),
            final=final if final.is_file() else None,
        )


def _by_mtime(items: list[tuple[int, Path]]) -> list[tuple[int, Path]]:
    def key(item):
        try:
            return (item[1].stat().st_mtime_ns, item[0])
        except OSError:
            return (0, item[0])

    return sorted(items, key=key)


def _state_step(state_dir: Path, default: int) -> int:
    try:
        return int(json.loads((state_dir / "train_state.json").read_text())["current_step"])
    except (OSError, ValueError, KeyError, TypeError):
        return default
