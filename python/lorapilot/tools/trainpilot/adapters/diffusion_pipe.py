"""Diffusion Pipe: a main TOML plus a dataset TOML, run with ``deepspeed --num_gpus=N train.py --deepspeed --config``.

A dataset holding video clips (Wan, HunyuanVideo, LTX-Video) gets ``frame_buckets`` fitted to its clips.

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

from lorapilot.kit.errors import ConflictError

from ..families import FAMILIES
from ..training_bases import WAN_EXPERTS, wan_model_type, wan_version
from .base import Command, Issue, Outputs, Progress, RunSpec, TrainerAdapter, clean_record, numbered
from .diffusion_pipe_clips import clip_check_issues, dataset_frame_buckets
from .multinode import deepspeed_node_args
from .zimage_turbo import turbo_issues

MODEL_TYPES = {
    "sdxl": "sdxl",
    "flux1": "flux",
    "sd3": "sd3",
    "chroma": "chroma",
    "wan21": "wan",
    "lumina2": "lumina_2",
    "hidream": "hidream",
    "hunyuanvideo": "hunyuan-video",
    "ltxvideo": "ltx-video",
    # train.py: qwen_image → models/qwen_image.py, wan → models/wan/wan.py (Wan 2.1 and 2.2 alike), flux2 →
    # models/flux2.py, z_image → models/z_image.py (the last two are ComfyPipelines: ComfyUI-layout files).
    "qwenimage": "qwen_image",
    "wan22": "wan",
    "flux2": "flux2",
    "zimage": "z_image",
}
# What each family's base model must be for Diffusion Pipe's loader (models/<type>.py).
_BASE_SHAPE = {
    "sdxl": ("file", "a single-file checkpoint (checkpoint_path)"),
    "flux1": ("diffusers", "a diffusers folder (diffusers_path)"),
    "sd3": ("diffusers", "a diffusers folder (diffusers_path)"),
    "chroma": ("file", "the Chroma .safetensors transformer (transformer_path)"),
    "wan21": (
        "wan",
        "the official Wan 2.1 checkpoint folder, e.g. Wan2.1-T2V-1.3B, with config.json (ckpt_path); not the -Diffusers one",
    ),
    "lumina2": (
        "file",
        "the Lumina 2 transformer .safetensors, e.g. lumina_2_model_bf16.safetensors (transformer_path)",
    ),
    "hidream": ("diffusers", "the HiDream-I1-Full diffusers folder (diffusers_path)"),
    "hunyuanvideo": (
        "file",
        "the HunyuanVideo transformer .safetensors, e.g. hunyuan_video_720_cfgdistill_fp8_e4m3fn.safetensors (transformer_path)",
    ),
    "ltxvideo": ("file", "an LTX-Video checkpoint file, e.g. ltx-video-2b-v0.9.1.safetensors (single_file_path)"),
    "qwenimage": ("diffusers", "the Qwen-Image diffusers folder (diffusers_path)"),
    "wan22": (
        "wan22",
        "the official Wan 2.2 checkpoint folder, Wan2.2-T2V-A14B (with low_noise_model/) or Wan2.2-TI2V-5B (ckpt_path); not the -Diffusers one",
    ),
    "flux2": (
        "file",
        "the FLUX.2 transformer .safetensors in ComfyUI's layout, e.g. flux2-dev.safetensors (diffusion_model)",
    ),
    "zimage": (
        "file",
        "the Z-Image transformer .safetensors in ComfyUI's layout, e.g. z_image_turbo_bf16.safetensors (diffusion_model)",
    ),
}
# The [model] key that names the base model, per family.
_BASE_KEY = {
    "sdxl": "checkpoint_path",
    "flux1": "diffusers_path",
    "sd3": "diffusers_path",
    "wan21": "ckpt_path",
    "chroma": "transformer_path",
    "lumina2": "transformer_path",
    "hidream": "diffusers_path",
    "hunyuanvideo": "transformer_path",
    "ltxvideo": "single_file_path",
    "qwenimage": "diffusers_path",
    "wan22": "ckpt_path",
    "flux2": "diffusion_model",  # ComfyPipeline: diffusion_model, vae, text_encoders (models/base.py)
    "zimage": "diffusion_model",
}
# Further files: ([model] key, profile slot, what it must hold; None: optional).
_EXTRA_FILES = {
    "wan21": [("llm_path", "llm", None)],  # overrides the UMT5 file in the Wan folder
    "chroma": [
        (
            "diffusers_path",
            "diffusers",
            "a FLUX.1 diffusers folder (dev or schnell) for the T5 text encoder and VAE (diffusers_path)",
        )
    ],
    "lumina2": [
        ("llm_path", "llm", "the Gemma-2 2B text encoder .safetensors, e.g. gemma_2_2b_fp16.safetensors (llm_path)"),
        ("vae_path", "vae", "the FLUX.1 VAE .safetensors, e.g. flux_vae.safetensors (vae_path)"),
    ],
    "hidream": [("llama3_path", "llm", "the Meta-Llama-3.1-8B-Instruct folder (llama3_path)")],
    "hunyuanvideo": [
        ("vae_path", "vae", "the HunyuanVideo VAE .safetensors, e.g. hunyuan_video_vae_bf16.safetensors (vae_path)"),
        ("llm_path", "llm", "the llava-llama-3-8b-text-encoder-tokenizer folder (llm_path)"),
        ("clip_path", "clip_l", "the clip-vit-large-patch14 folder (clip_path)"),
    ],
    "ltxvideo": [
        ("diffusers_path", "diffusers", "the LTX-Video diffusers folder, for its T5 text encoder (diffusers_path)")
    ],
    "wan22": [("llm_path", "llm", None)],
    "flux2": [("vae", "vae", "the FLUX.2 VAE .safetensors, e.g. flux2-vae.safetensors (vae)")],
    "zimage": [("vae", "vae", "the FLUX.1 VAE .safetensors, e.g. ae.safetensors (vae)")],
}
# ComfyPipeline text encoders: one [[model.text_encoders]] entry {path, type} from the llm slot; the type is
# ComfyUI's CLIPType name, as Diffusion Pipe's docs/supported_models.md configures each model.
_TEXT_ENCODERS = {
    "flux2": (
        "flux2",
        "the FLUX.2 text encoder .safetensors (Mistral Small 3 for dev, Qwen3 for Klein), e.g. mistral_3_small_flux2_fp8.safetensors",
    ),
    "zimage": ("lumina2", "the Qwen3 4B text encoder .safetensors, e.g. qwen_3_4b.safetensors"),
}
# The [model] key that casts the transformer to fp8: ComfyPipelines read diffusion_model_dtype.
_FP8_KEY = {"flux2": "diffusion_model_dtype", "zimage": "diffusion_model_dtype"}
# Video families: Diffusion Pipe reads clips beside images (frame_buckets), counting a clip's frames as the
# model's frame rate × its duration (models/wan/wan.py, hunyuan_video.py, ltx_video.py: framerate). Wan 2.2's
# TI2V 5B reads at 24 fps (wan.py, model_type 'ti2v'): its clips get buckets counted at 16, shorter than they are,
# which Diffusion Pipe accepts (a clip goes to the largest bucket it fills).
FRAMERATE = {"wan21": 16, "wan22": 16, "hunyuanvideo": 24, "ltxvideo": 25}
# Families whose Diffusion Pipe model loads the transformer in fp8 (transformer_dtype).
FP8 = frozenset(MODEL_TYPES) - {"sdxl", "lumina2"}
# Families whose Diffusion Pipe model implements enable_block_swap (for the others train.py raises NotImplementedError).
BLOCK_SWAP = frozenset({"flux1", "chroma", "wan21", "hidream", "hunyuanvideo", "qwenimage", "wan22", "flux2", "zimage"})
OPTIMIZERS = {"adamw": "adamw_optimi", "adamw8bit": "AdamW8bitKahan", "prodigy": "Prodigy"}
SAVE_DTYPE = {"bf16": "bfloat16", "fp16": "float16", "no": "float32"}
_RUN_DIR = re.compile(r"^\d{8}_\d{2}-\d{2}-\d{2}$")
_STEP_LINE = re.compile(
    r"steps:\s*(\d+)\s+loss:\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|nan|inf)\s+iter time \(s\):\s*([\d.]+)"
)


def _base_fits(family: str, base: Path) -> bool:
    shape = _BASE_SHAPE[family][0]
    if shape == "file":
        return base.is_file()
    if shape == "diffusers":
        return base.is_dir()
    if shape == "wan22":
        return wan_version(base) == "2.2"
    return wan_model_type(base) is not None


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
    clip_families = frozenset(FRAMERATE)

    def check(self, spec: RunSpec) -> list[Issue]:
        p = spec.profile
        issues = []
        if p.regularization is not None:
            issues.append(
                Issue(
                    "regularization.name",
                    "Diffusion Pipe has no regularization images (no prior-preservation loss): use Kohya, AI Toolkit or the native trainer, or remove the regularization set",
                )
            )
        base = spec.model_file(p.model.base)
        if p.family in _BASE_SHAPE and base is not None and base.exists() and not _base_fits(p.family, base):
            issues.append(
                Issue(
                    "model.base",
                    f"Diffusion Pipe loads {FAMILIES[p.family].title} from {_BASE_SHAPE[p.family][1]}; models/{p.model.base} is not that",
                )
            )
        if p.family == "wan21" and base is not None and base.is_dir():
            kind = wan_model_type(base)
            if kind in ("i2v", "flf2v"):
                issues.append(
                    Issue(
                        "model.base",
                        f"models/{p.model.base} is a Wan {kind} checkpoint: Diffusion Pipe trains it on a dataset of videos only (first-frame conditioning), which TrainPilot does not set up; choose a text-to-video (T2V) checkpoint",
                    )
                )
            elif kind == "ti2v":
                issues.append(
                    Issue(
                        "model.base",
                        f"models/{p.model.base} is a Wan 2.2 TI2V checkpoint, not Wan 2.1; choose a Wan 2.1 text-to-video (T2V) checkpoint",
                    )
                )
        if p.family == "wan22" and base is not None and base.is_dir():
            kind = wan_model_type(base) or wan_model_type(base / "low_noise_model")
            if kind in ("i2v", "flf2v"):
                issues.append(
                    Issue(
                        "model.base",
                        f"models/{p.model.base} is a Wan 2.2 image-to-video checkpoint: Diffusion Pipe trains it on videos only, and TrainPilot trains Wan on images; choose Wan2.2-T2V-A14B or Wan2.2-TI2V-5B",
                    )
                )
        issues += turbo_issues(self.title, p)
        if p.family in _TEXT_ENCODERS and not p.model.llm:
            issues.append(
                Issue(
                    "model.llm",
                    f"Diffusion Pipe trains {FAMILIES[p.family].title} with {_TEXT_ENCODERS[p.family][1]}: set model.llm",
                )
            )
        for _, slot, what in _EXTRA_FILES.get(p.family, []):
            if what and not getattr(p.model, slot):
                issues.append(
                    Issue(
                        f"model.{slot}",
                        f"Diffusion Pipe trains {FAMILIES[p.family].title} with {what}: set model.{slot}",
                    )
                )
        if p.model.v_prediction and p.family != "sdxl":
            issues.append(
                Issue(
                    "model.v_prediction",
                    f"Diffusion Pipe has no v-prediction switch for {FAMILIES[p.family].title}; it is ignored",
                    "warning",
                )
            )
        if p.training.blocks_to_swap and p.family not in BLOCK_SWAP:
            issues.append(
                Issue(
                    "training.blocks_to_swap",
                    f"Diffusion Pipe cannot swap blocks for {FAMILIES[p.family].title}; it is left out (set 0, or use fp8_base to save memory)",
                    "warning",
                )
            )
        if p.training.fp8_base and p.family not in FP8:
            issues.append(
                Issue(
                    "training.fp8_base",
                    f"Diffusion Pipe has no fp8 transformer for {FAMILIES[p.family].title}; it is left out",
                    "warning",
                )
            )
        if p.optim.optimizer not in OPTIMIZERS:
            issues.append(
                Issue(
                    "optim.optimizer",
                    f"Diffusion Pipe has no {p.optim.optimizer!r}; use one of {', '.join(OPTIMIZERS)}",
                )
            )
        issues += clip_check_issues(spec, FRAMERATE.get(p.family))
        if p.dataset.caption_extension != ".txt":
            issues.append(Issue("dataset.caption_extension", "Diffusion Pipe reads .txt captions only"))
        if p.network.alpha != p.network.rank:
            issues.append(
                Issue(
                    "network.alpha",
                    f"Diffusion Pipe always trains with alpha = rank ({p.network.rank}); alpha {p.network.alpha:g} is ignored",
                    "warning",
                )
            )
        if p.dataset.caption_dropout > 0 or p.dataset.keep_tokens > 0:
            issues.append(
                Issue(
                    "dataset.caption_dropout",
                    "Diffusion Pipe has no caption dropout or keep_tokens; they are ignored",
                    "warning",
                )
            )
        return issues

    # --- render ------------------------------------------------------------------------------
    def render(self, spec: RunSpec) -> dict[str, str]:
        return {
            "dataset.toml": tomli_w.dumps(self.dataset_config(spec)),
            "main.toml": tomli_w.dumps(self.main_config(spec)),
        }

    def dataset_config(self, spec: RunSpec) -> dict:
        d = spec.profile.dataset
        config: dict = {
            "resolutions": [d.resolution],
            "enable_ar_bucket": d.buckets,
            "min_ar": 0.5,
            "max_ar": 2.0,
            "num_ar_buckets": 7,
            "frame_buckets": dataset_frame_buckets(spec, FRAMERATE.get(spec.profile.family)),
        }
        if d.shuffle_tags:
            config.update(cache_shuffle_num=10, cache_shuffle_delimiter=", ")
        config["directory"] = [{"path": str(spec.image_dir), "num_repeats": d.repeats}]
        return config

    def _epochs(self, spec: RunSpec) -> int:
        """Enough epochs that ``max_steps`` ends the run (and schedules span the whole run)."""
        from ..datasets import list_clips, list_images

        t, d = spec.profile.training, spec.profile.dataset
        media = len(list_images(spec.image_dir)) + len(list_clips(spec.image_dir))
        per_epoch = max(1, media * d.repeats // (t.batch_size * t.gradient_accumulation * t.num_gpus))
        return math.ceil(t.steps / per_epoch) + 1

    def main_config(self, spec: RunSpec) -> dict:
        p = spec.profile
        t, o, s = p.training, p.optim, p.save
        model: dict = {"type": MODEL_TYPES[p.family], "dtype": "bfloat16" if t.mixed_precision != "fp16" else "float16"}
        model[_BASE_KEY[p.family]] = str(spec.model_file(p.model.base))
        for key, slot, _ in _EXTRA_FILES.get(p.family, []):
            if getattr(p.model, slot):
                model[key] = str(spec.model_file(getattr(p.model, slot)))
        if p.family in _TEXT_ENCODERS and p.model.llm:
            model["text_encoders"] = [{"path": str(spec.model_file(p.model.llm)), "type": _TEXT_ENCODERS[p.family][0]}]
        if p.family == "zimage" and p.model.adapter:
            # ComfyPipeline.load_diffusion_model merges each merge_adapters LoRA into the weights before training.
            model["merge_adapters"] = [str(spec.model_file(p.model.adapter))]
        if t.fp8_base and p.family in FP8:
            model[_FP8_KEY.get(p.family, "transformer_dtype")] = "float8"
        if p.family == "sdxl":
            if o.min_snr_gamma is not None:
                model["min_snr_gamma"] = float(o.min_snr_gamma)
            if p.model.v_prediction:
                model["v_pred"] = True
        elif p.family == "flux1":
            model["timestep_sample_method"] = "logit_normal"
        elif p.family == "wan22":
            base = spec.model_file(p.model.base)
            expert = base / WAN_EXPERTS[0] if base is not None else None
            if expert is not None and expert.is_dir():
                # A14B: the low-noise expert, over the whole timestep range (Diffusion Pipe's docs: it "can be used
                # entirely on its own ... just like you would do with Wan2.1"); the folder supplies VAE and T5.
                model["transformer_path"] = str(expert)
        elif p.family in ("qwenimage", "flux2"):
            # Diffusion Pipe's Qwen-Image and FLUX.2 examples sample timesteps logit-normally; FLUX.2's VAE has more
            # channels, so its docs shift timesteps ("3 seems to work well").
            model["timestep_sample_method"] = "logit_normal"
            if p.family == "flux2":
                model["shift"] = 3.0
        elif p.family == "hidream":
            # Llama stays loaded through training (its embeddings are not cached): 4-bit below 48 GB.
            model["llama3_4bit"] = p.vram_gb < 48
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
        if t.blocks_to_swap and p.family in BLOCK_SWAP:
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
        t = spec.profile.training
        if t.num_nodes > 1:
            argv += deepspeed_node_args(t.num_nodes, t.num_gpus, t.rendezvous, spec.node_rank)
            port = int(t.rendezvous.rpartition(":")[2])  # the master's port on every machine
        elif numeric:
            argv.append(f"--include=localhost:{','.join(numeric)}")
        else:
            argv.append(f"--num_gpus={spec.profile.training.num_gpus}")
        if t.num_nodes == 1:
            argv.append(f"--master_port={port}")
        argv += [
            str(src / "train.py") if src else "train.py",
            "--deepspeed",
            "--config",
            str(spec.run_dir / "main.toml"),
            "--master_port",
            str(port),
        ]
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
        checkpoints = [
            (n, d / "adapter_model.safetensors")
            for n, d in numbered(dirs, re.compile(r"^step(\d+)$"))
            if (d / "adapter_model.safetensors").is_file()
        ]
        states = numbered(dirs, re.compile(r"^global_step(\d+)$"))
        final = run / f"step{spec.profile.training.steps}" / "adapter_model.safetensors"
        if not final.is_file():
            epochs = [
                (n, d / "adapter_model.safetensors")
                for n, d in numbered(dirs, re.compile(r"^epoch(\d+)$"))
                if (d / "adapter_model.safetensors").is_file()
            ]
            final = epochs[-1][1] if epochs else None
        return Outputs(checkpoints=checkpoints, states=states, final=final)

    def request_save_stop(self, spec: RunSpec, pgid: int) -> None:
        run = self.run_folder(spec)
        if run is None:
            raise ConflictError("Diffusion Pipe has not started its run folder yet (still caching); cancel with kill")
        (run / "save_quit").touch()
