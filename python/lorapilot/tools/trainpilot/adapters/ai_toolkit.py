"""Ostris' AI Toolkit: a ``job: extension`` YAML with one ``sd_trainer`` process, run as ``python run.py cfg.yaml``.

Its progress bar starts at the step it resumed from (``initial=step``), so the count needs no
offset. Running the same config again resumes from the newest ``{name}_{step:09d}.safetensors``.
"""

from __future__ import annotations

import json
import re

import yaml

from ..families import FAMILIES
from ..training_bases import flux2_variant, wan_diffusers_version, wan_two_experts
from .base import Command, Issue, Outputs, Progress, RunSpec, TrainerAdapter, clean_record, numbered
from .tqdm import parse_tqdm, postfix_value
from .zimage_turbo import turbo_issues

ARCH = {
    "sd15": "sd1",
    "sd2": "sd2",
    "sdxl": "sdxl",
    "sd3": "sd3",
    "flux1": "flux",
    "chroma": "chroma",
    "wan21": "wan21",
    "lumina2": "lumina2",
    "hidream": "hidream",
    # extensions_built_in/diffusion_models/: qwen_image/qwen_image.py (QwenImageModel.arch), wan22/
    # wan22_14b_model.py and wan22_5b_model.py (picked from the base folder), flux2/flux2_model.py (and
    # flux2_klein_model.py, picked from the base file's width), z_image/z_image.py.
    "qwenimage": "qwen_image",
    "wan22": "wan22_14b",
    "flux2": "flux2",
    "zimage": "zimage",
}
# Families AI Toolkit loads from a diffusers folder (Chroma, like SD1/2/XL, from one file). Qwen-Image and
# Z-Image would take one file too, but then fetch the rest from Hugging Face (Qwen/Qwen-Image, ...).
DIFFUSERS_ONLY = ("flux1", "sd3", "wan21", "lumina2", "hidream", "qwenimage", "wan22", "zimage")
# FLUX.2's model class by hidden width (detect_dit.FLUX2_WIDTHS): flux2_model.py / flux2_klein_model.py.
FLUX2_ARCH = {"dev": "flux2", "klein 9B": "flux2_klein_9b", "klein 4B": "flux2_klein_4b"}
OPTIMIZERS = {"adamw": "adamw", "adamw8bit": "adamw8bit", "prodigy": "prodigy", "adafactor": "adafactor"}
SAVE_DTYPE = {"bf16": "bf16", "fp16": "float16", "no": "float32"}
TRAIN_DTYPE = {"bf16": "bf16", "fp16": "fp16", "no": "fp32"}


def model_arch(family: str, base) -> str:
    """The ``model.arch`` AI Toolkit loads ``base`` with: Wan 2.2's and FLUX.2's model class depends on the base."""
    if family == "wan22" and base is not None and base.is_dir():
        if wan_diffusers_version(base) == "2.2" and not wan_two_experts(base):
            return "wan22_5b"
    if family == "flux2":
        return FLUX2_ARCH.get(flux2_variant(base) or "dev", "flux2")
    return ARCH[family]


def _pipeline_class(folder) -> str | None:
    try:
        return json.loads((folder / "model_index.json").read_text(encoding="utf-8")).get("_class_name")
    except (OSError, ValueError, AttributeError):
        return None


class AIToolkitAdapter(TrainerAdapter):
    name = "ai-toolkit"
    title = "AI Toolkit"
    component = "ai-toolkit"
    families = frozenset(ARCH)
    supports_save_stop = False
    stop_hint = "its sd_trainer stops on SIGINT without saving; it resumes from the last periodic save."
    # The pinned tree's own Wan 2.1 example (config/examples/train_lora_wan21_14b_24gb.yaml) says it does not
    # support video datasets and trains one frame at a time; its data_loader reads clips only in an entry with
    # num_frames > 1, which then skips every image of the folder. TrainPilot renders image entries only.
    no_clips_reason = (
        "reads clips only in a separate num_frames > 1 dataset entry (which skips images), and its pinned Wan 2.1 "
        "example says it does not support video datasets; TrainPilot renders its image entry only"
    )

    def save_root(self, spec: RunSpec):
        return spec.output_dir / spec.name  # training_folder / name

    def check(self, spec: RunSpec) -> list[Issue]:
        p = spec.profile
        base = spec.model_file(p.model.base)
        issues = []
        if p.family in DIFFUSERS_ONLY and base is not None and not base.is_dir():
            issues.append(
                Issue(
                    "model.base",
                    f"AI Toolkit loads {FAMILIES[p.family].title} from a diffusers folder (models/diffusers/...), not a single file",
                )
            )
        if p.family == "chroma" and base is not None and base.is_dir():
            issues.append(
                Issue(
                    "model.base",
                    "AI Toolkit loads Chroma from its single .safetensors file (chroma-unlocked-v*.safetensors), not a folder",
                )
            )
        if p.family in ("wan21", "wan22") and base is not None and _pipeline_class(base) == "WanImageToVideoPipeline":
            issues.append(
                Issue(
                    "model.base",
                    f"models/{p.model.base} is a Wan image-to-video model: AI Toolkit trains it (wan21_i2v / wan22_14b_i2v) on videos only, and TrainPilot renders AI Toolkit image datasets only; choose a text-to-video (T2V) -Diffusers folder",
                )
            )
        issues += self._new_family_issues(spec, base)
        if p.family == "hidream" and not p.model.llm:
            issues.append(
                Issue(
                    "model.llm",
                    "no Llama 3.1 8B Instruct folder set: AI Toolkit fetches unsloth/Meta-Llama-3.1-8B-Instruct from Hugging Face",
                    "warning",
                )
            )
        if p.family == "chroma":
            # ChromaModel.load_model takes T5 and the VAE from the Hugging Face repo ostris/Flex.1-alpha, whatever the config says.
            issues.append(
                Issue(
                    "model.base",
                    "AI Toolkit fetches Chroma's T5 and VAE from Hugging Face (ostris/Flex.1-alpha) on first use: the pod needs Hugging Face access or that repo in its cache",
                    "warning",
                )
            )
        if p.training.num_gpus > 1:
            issues.append(
                Issue(
                    "training.num_gpus",
                    "AI Toolkit's run.py trains on one GPU; use Kohya, Diffusion Pipe or the native trainer for several",
                )
            )
        if p.training.num_nodes > 1:
            issues.append(
                Issue(
                    "training.num_nodes",
                    "AI Toolkit's run.py trains on one machine; use Kohya, Diffusion Pipe or the native trainer across several",
                )
            )
        return issues

    def _new_family_issues(self, spec: RunSpec, base) -> list[Issue]:
        """Qwen-Image, Wan 2.2, FLUX.2, Z-Image: the base's shape and what AI Toolkit fetches from Hugging Face."""
        p = spec.profile
        issues = turbo_issues(self.title, p)
        if p.family == "wan22" and base is not None and base.is_dir():
            if wan_diffusers_version(base) == "2.1":
                issues.append(
                    Issue(
                        "model.base",
                        f"models/{p.model.base} is a Wan 2.1 -Diffusers folder, not Wan 2.2 (no transformer_2, no expand_timesteps in model_index.json)",
                    )
                )
            elif model_arch("wan22", base) == "wan22_14b":
                # Wan2214bModel._wan_vae_path = "ai-toolkit/wan2.1-vae": its VAE never comes from the folder.
                issues.append(
                    Issue(
                        "model.base",
                        "AI Toolkit fetches Wan 2.2 A14B's VAE from Hugging Face (ai-toolkit/wan2.1-vae) on first use: the pod needs Hugging Face access or that repo in its cache",
                        "warning",
                    )
                )
        if p.family == "flux2":
            if base is not None and base.is_dir():
                issues.append(
                    Issue(
                        "model.base",
                        "TrainPilot gives AI Toolkit FLUX.2 as its single transformer file (flux2-dev.safetensors or a Klein base), not a folder",
                    )
                )
            elif base is not None and base.is_file() and flux2_variant(base) is None:
                issues.append(Issue("model.base", f"models/{p.model.base} is not a FLUX.2 transformer file"))
            if not p.model.vae:
                issues.append(
                    Issue(
                        "model.vae",
                        "no FLUX.2 VAE set (ae.safetensors): AI Toolkit fetches it from Hugging Face (black-forest-labs/FLUX.2-dev, gated)",
                        "warning",
                    )
                )
            # Flux2Model.load_te reads MISTRAL_PATH (mistralai/Mistral-Small-3.1-24B-Instruct-2503); Klein its
            # class's flux2_klein_te_path (Qwen3): neither comes from the config.
            issues.append(
                Issue(
                    "model.base",
                    "AI Toolkit fetches FLUX.2's text encoder from Hugging Face (Mistral Small 3.1 for dev, Qwen3 for Klein) on first use: the pod needs Hugging Face access or that repo in its cache",
                    "warning",
                )
            )
        return issues

    def render(self, spec: RunSpec) -> dict[str, str]:
        return {"job.yaml": yaml.safe_dump(self.job_config(spec), sort_keys=False)}

    def job_config(self, spec: RunSpec) -> dict:
        p = spec.profile
        big = FAMILIES[p.family].flow_matching
        t, o, n, d = p.training, p.optim, p.network, p.dataset
        network = {"type": "lora", "linear": n.rank, "linear_alpha": float(n.alpha)}
        if n.dropout > 0:
            network["dropout"] = float(n.dropout)
        dataset = {
            "folder_path": str(spec.image_dir),
            "caption_ext": d.caption_extension,
            "caption_dropout_rate": float(d.caption_dropout),
            "shuffle_tokens": d.shuffle_tags,
            "keep_tokens": d.keep_tokens,
            "cache_latents_to_disk": t.cache_latents,
            "resolution": [d.resolution],
            "num_repeats": d.repeats,
            "buckets": d.buckets,
        }
        datasets = [dataset]
        reg = p.regularization
        if reg is not None and spec.reg_image_dir is not None:
            # DatasetConfig.is_reg: its images' loss is scaled by TrainConfig.reg_weight.
            datasets.append(
                {**dataset, "folder_path": str(spec.reg_image_dir), "num_repeats": reg.repeats, "is_reg": True}
            )
        train = {
            "batch_size": t.batch_size,
            "steps": t.steps,
            "gradient_accumulation": t.gradient_accumulation,
            "train_unet": True,
            "train_text_encoder": n.train_text_encoder and not big,
            "gradient_checkpointing": t.gradient_checkpointing,
            "noise_scheduler": "flowmatch" if big else "ddpm",
            "optimizer": OPTIMIZERS[o.optimizer],
            "lr": float(o.learning_rate),
            "optimizer_params": {"weight_decay": float(o.weight_decay)},
            "lr_scheduler": o.lr_scheduler,
            "dtype": TRAIN_DTYPE[t.mixed_precision],
            "max_grad_norm": float(o.max_grad_norm),
        }
        if reg is not None:
            train["reg_weight"] = float(reg.weight)
        if o.lr_scheduler == "constant_with_warmup":
            train["lr_scheduler_params"] = {"num_warmup_steps": o.warmup_steps}
        if o.text_encoder_lr is not None and train["train_text_encoder"]:
            train["text_encoder_lr"] = float(o.text_encoder_lr)
        if o.min_snr_gamma is not None and not big:
            train["min_snr_gamma"] = float(o.min_snr_gamma)
        if o.noise_offset > 0:
            train["noise_offset"] = float(o.noise_offset)
        if t.cache_text and not train["train_text_encoder"]:
            train["cache_text_embeddings"] = True
        base = spec.model_file(p.model.base)
        model = {"name_or_path": str(base), "arch": model_arch(p.family, base), "quantize": t.fp8_base}
        if p.model.vae and (not big or p.family == "flux2"):  # Flux2Model.load_model reads model_config.vae_path
            model["vae_path"] = str(spec.model_file(p.model.vae))
        if p.family == "zimage" and p.model.adapter:
            # ZImageModel.load_training_adapter merges it for training and inverts it for samples.
            model["assistant_lora_path"] = str(spec.model_file(p.model.adapter))
        if p.family in ("qwenimage", "wan22", "flux2") and p.vram_gb <= 24:
            model["quantize_te"] = True  # 7B-24B text encoders
        if p.model.v_prediction and not big:
            model["is_v_pred"] = True
        if p.family == "hidream":
            # HiDreamModel reads the CLIP/T5 encoders from extras_name_or_path and Llama from model_kwargs
            # (without it: unsloth/Meta-Llama-3.1-8B-Instruct from Hugging Face).
            model["extras_name_or_path"] = model["name_or_path"]
            model["quantize_te"] = True
            if p.model.llm:
                model["model_kwargs"] = {"llama_model_path": str(spec.model_file(p.model.llm))}
        # low_vram keeps the transformer on the CPU while it is quantized: the 24 GB examples of Qwen-Image and
        # Wan 2.2 A14B (config/examples/train_lora_*_24gb.yaml) set it, and FLUX.2 is bigger still.
        if big and (p.vram_gb <= 16 or (p.family in ("qwenimage", "wan22", "flux2") and p.vram_gb <= 24)):
            model["low_vram"] = True
        process = {
            "type": "sd_trainer",
            "training_folder": str(spec.output_dir),
            "log_dir": str(spec.tensorboard_dir),
            "training_seed": t.seed,
            "network": network,
            "save": {
                "dtype": SAVE_DTYPE[t.mixed_precision],
                "save_every": p.save.every_n_steps,
                "max_step_saves_to_keep": p.save.keep_last,
                "save_format": "safetensors",
            },
            "datasets": datasets,
            "train": train,
            "model": model,
        }
        if d.trigger_word:
            process["trigger_word"] = d.trigger_word
        if p.sample.prompts:
            process["sample"] = {
                "sampler": "flowmatch" if big else "ddpm",
                "sample_every": p.sample.every_n_steps,
                "width": p.sample.width or d.resolution,
                "height": p.sample.height or d.resolution,
                "prompts": list(p.sample.prompts),
                "neg": p.sample.negative,
                "seed": p.sample.seed,
                "walk_seed": True,
                "guidance_scale": float(p.sample.guidance),
                "sample_steps": p.sample.steps,
            }
        else:
            train["disable_sampling"] = True
        return {
            "job": "extension",
            "config": {"name": p.name, "process": [process]},
            "meta": {"name": "[name]", "version": "1.0"},
        }

    def command(self, spec: RunSpec) -> Command:
        src = spec.location.src
        argv = [str(spec.location.python), str(src / "run.py") if src else "run.py", str(spec.run_dir / "job.yaml")]
        return Command(argv=argv, cwd=src)

    def parse(self, record: str, spec: RunSpec) -> Progress | None:
        bar = parse_tqdm(clean_record(record))
        if bar is None or bar.desc != spec.name:
            return None
        return Progress(
            step=bar.n,
            total=bar.total,
            loss=postfix_value(bar.postfix, "loss", ":"),
            lr=postfix_value(bar.postfix, "lr", ":"),
            its=bar.its,
        )

    def find_outputs(self, spec: RunSpec) -> Outputs:
        root, name = self.save_root(spec), re.escape(spec.name)
        files = [f for f in root.iterdir() if f.is_file()] if root.is_dir() else []
        checkpoints = numbered(files, re.compile(rf"^{name}_(\d{{9}})\.safetensors$"))
        sample_dir = root / "samples"
        samples = numbered(
            sample_dir.iterdir() if sample_dir.is_dir() else [], re.compile(r"__(\d{9})_\d+\.(?:jpg|png|webp)$")
        )
        final = root / f"{spec.name}.safetensors"
        # AI Toolkit resumes from its newest step file: those double as its resumable state.
        return Outputs(
            checkpoints=checkpoints, samples=samples, states=list(checkpoints), final=final if final.is_file() else None
        )
