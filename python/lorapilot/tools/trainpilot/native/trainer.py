"""The training run: set up the parts, train, sample, checkpoint, stop and resume.

Distribution is accelerate's: under ``accelerate launch`` every process runs this same code, the
adapters are wrapped in DDP by ``accelerator.prepare``, and only the main process writes files
other than its own RNG state.
"""

from __future__ import annotations

import importlib.util
import logging
import random
import time
from pathlib import Path

import torch

from lorapilot.kit.errors import ConfigError

from . import state as states
from .batches import BatchMaker
from .buckets import BatchPlan
from .cache import build_latent_cache, build_text_cache
from .conditioning import encode_text
from .config import NativeTrainConfig
from .events import Reporter
from .export import kohya_tensors, save_lora
from .images import TrainImage, scan_images
from .metadata import RunFacts, build_metadata
from .models import BaseModel, add_lora_adapters, choose_attention, enable_gradient_checkpointing, load_base_model
from .objective import make_objective
from .optim import make_optimizer, make_scheduler
from .prior import PriorBatches, scan_regularization
from .sampling import write_samples
from .stopping import StopRequest

log = logging.getLogger(__name__)

DTYPES = {"no": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def effective_mixed_precision(requested: str) -> str:
    """Mixed precision needs a CUDA GPU; on the CPU the run trains in float32 (with a warning)."""
    if requested == "no":
        return "no"
    if not torch.cuda.is_available():
        log.warning("training.mixed_precision = %r needs a CUDA GPU; training in float32", requested)
        return "no"
    if requested == "bf16" and not torch.cuda.is_bf16_supported():
        raise ConfigError(None, "training.mixed_precision: this GPU does not support bf16 (use fp16)")
    return requested


class Trainer:
    def __init__(self, config: NativeTrainConfig, resume: str | None = None):
        from accelerate import Accelerator
        from accelerate.utils import DistributedDataParallelKwargs, set_seed

        self.config = config
        self.out = config.output_dir
        self.out.mkdir(parents=True, exist_ok=True)
        self.mixed_precision = effective_mixed_precision(config.training.mixed_precision)
        logging_dir = config.logging_dir
        if logging_dir and importlib.util.find_spec("tensorboard") is None:
            raise ConfigError(None, "logging_dir: TensorBoard logging needs the tensorboard package")
        self.acc = Accelerator(
            # Without a GPU, processes started by torchrun (`accelerate launch --multi_gpu`) form a
            # gloo CPU group instead of running alone.
            cpu=not torch.cuda.is_available(),
            mixed_precision=self.mixed_precision,
            gradient_accumulation_steps=config.training.gradient_accumulation,
            log_with="tensorboard" if logging_dir else None,
            project_dir=str(logging_dir) if logging_dir else None,
            # SDXL conditions on the first encoder's penultimate layer: its last layer's adapter
            # gets no gradient, which DDP must be told to expect.
            kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=config.network.train_text_encoder)],
        )
        set_seed(config.training.seed, device_specific=True)
        self.resume_from = states.resolve_resume(resume, self.out)
        self.reporter = Reporter(total=config.training.steps, enabled=self.acc.is_main_process)
        self.stop = StopRequest(self.out)
        self.started_at = time.time()
        self.saved_states: set[int] = set()
        self.sampled: set[int] = set()
        self.step = 0

    # ----------------------------------------------------------------- setup
    def setup(self) -> None:
        config, acc = self.config, self.acc
        self.weight_dtype = DTYPES[self.mixed_precision]
        self.images: list[TrainImage] = scan_images(config.dataset)
        self.reg_images: list[TrainImage] = scan_regularization(config)
        self.prior: PriorBatches | None = None
        self.model: BaseModel = load_base_model(config, self.weight_dtype)
        self._check_grid()
        device = acc.device
        if device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        model = self.model
        choose_attention(model, config.training.attention, device.type)
        model.vae.to(device, torch.float32)  # cached once; float32 avoids SDXL's fp16 VAE overflow
        model.denoiser.to(device, self.weight_dtype)
        for encoder in model.text_encoders:
            encoder.to(device, self.weight_dtype)
        add_lora_adapters(model, config)
        self.trainable = [model.denoiser] + [
            e for e, trained in zip(model.text_encoders, model.text_encoder_trained) if trained
        ]
        if self.weight_dtype != torch.float32:
            for module in self.trainable:  # adapters train in float32 over a half-precision base
                for param in module.parameters():
                    if param.requires_grad:
                        param.data = param.data.float()
        if config.training.gradient_checkpointing:
            enable_gradient_checkpointing(model)
        self._build_caches()
        self._build_optimizer()
        self._prepare()
        log.info(
            "%s: %d images in %d buckets, %d trainable parameters, attention %s, precision %s, %d process(es)",
            model.family,
            len(self.images),
            len({image.placement.bucket for image in self.images}),
            sum(p.numel() for p in self.params),
            model.attention,
            self.mixed_precision,
            acc.num_processes,
        )

    def _check_grid(self) -> None:
        data, multiple = self.config.dataset, self.model.pixel_multiple
        if data.buckets and data.bucket_step % multiple:
            raise ConfigError(
                None, f"dataset.bucket_step: {data.bucket_step} is not a multiple of {multiple} for this model"
            )
        for image in self.images + self.reg_images:
            w, h = image.placement.bucket
            if w % multiple or h % multiple:
                field = "dataset.min_bucket/max_bucket" if data.buckets else "dataset.resolution"
                raise ConfigError(None, f"{field}: bucket {w}x{h} is not a multiple of {multiple} for this model")

    def _build_caches(self) -> None:
        config, acc, model = self.config, self.acc, self.model
        latents = None
        if config.dataset.cache_latents:
            latents = build_latent_cache(
                model,
                self.images,
                self.out / "cache" / "latents",
                rank=acc.process_index,
                world=acc.num_processes,
                wait_for_everyone=acc.wait_for_everyone,
                dtype=torch.float32 if self.weight_dtype == torch.float32 else self.weight_dtype,
            )
        reg_latents = None
        if config.dataset.cache_latents and self.reg_images:
            reg_latents = build_latent_cache(
                model,
                self.reg_images,
                self.out / "cache" / "reg-latents",
                rank=acc.process_index,
                world=acc.num_processes,
                wait_for_everyone=acc.wait_for_everyone,
                dtype=torch.float32 if self.weight_dtype == torch.float32 else self.weight_dtype,
            )
        text_cache = None
        self.sample_embeds = None
        if config.dataset.cache_text and not any(model.text_encoder_trained) and not config.dataset.shuffle_tags:
            captions = [image.caption for image in self.images + self.reg_images]
            text_cache = build_text_cache(model, captions, acc.device)
            if model.family == "flux1":
                self._offload_text_encoders()
        self.latents, self.text_cache, self.reg_latents = latents, text_cache, reg_latents

    def _offload_text_encoders(self) -> None:
        """FLUX.1's T5 is ~9 GB: once captions (and sample prompts) are encoded, it leaves the GPU."""
        model, prompts = self.model, self.config.sample.prompts
        if prompts:
            with torch.no_grad():
                encoded = encode_text(model.family, model.tokenizers, model.text_encoders, prompts, self.acc.device)
            self.sample_embeds = {k: v.to(self.weight_dtype) for k, v in encoded.items()}
        for encoder in model.text_encoders:
            encoder.to("cpu")
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def _build_optimizer(self) -> None:
        config, model = self.config, self.model
        groups = [
            {"params": [p for p in model.denoiser.parameters() if p.requires_grad], "lr": config.optim.learning_rate}
        ]
        te_lr = config.network.text_encoder_lr or config.optim.learning_rate
        for module in self.trainable[1:]:
            groups.append({"params": [p for p in module.parameters() if p.requires_grad], "lr": te_lr})
        self.params = [p for group in groups for p in group["params"]]
        self.optimizer = make_optimizer(config.optim, groups)
        self.lr_scheduler = make_scheduler(config.optim, self.optimizer, config.training.steps, self.acc.num_processes)

    def _prepare(self) -> None:
        acc = self.acc
        prepared = acc.prepare(*self.trainable, self.optimizer, self.lr_scheduler)
        n = len(self.trainable)
        self.wrapped = list(prepared[:n])
        self.optimizer, self.lr_scheduler = prepared[n], prepared[n + 1]
        # Adapters are saved in the state folder by save_state_folder(); keep accelerate from
        # writing (and reading) the full base models.
        acc.register_save_state_pre_hook(lambda models, weights, _dir: weights.clear())
        acc.register_load_state_pre_hook(lambda models, _dir: models.clear())
        encoders = list(self.model.text_encoders)
        trained_iter = iter(self.wrapped[1:])
        encoders = [next(trained_iter) if t else e for e, t in zip(encoders, self.model.text_encoder_trained)]
        self.batches = BatchMaker(
            self.config,
            self.model,
            self.images,
            encoders,
            acc.device,
            latents=self.latents,
            text_cache=self.text_cache,
            rank=acc.process_index,
        )
        if self.reg_images:
            reg_maker = BatchMaker(
                self.config,
                self.model,
                self.reg_images,
                encoders,
                acc.device,
                latents=self.reg_latents,
                text_cache=self.text_cache,
                rank=acc.process_index,
            )
            self.prior = PriorBatches(
                self.config, self.reg_images, reg_maker, rank=acc.process_index, world=acc.num_processes
            )
        self.objective = make_objective(self.model, self.config.optim, acc.device)
        self.facts = RunFacts(
            started_at=self.started_at,
            session_id=random.SystemRandom().randint(0, 2**31 - 1),
            v_prediction=getattr(self.objective, "v_prediction", False),
            mixed_precision=self.mixed_precision,
            attention=self.model.attention,
        )

    # ----------------------------------------------------------------- state
    def adapter_parts(self) -> dict[str, torch.nn.Module]:
        """The adapter-carrying modules by label (unwrapped)."""
        parts = {"unet": self.acc.unwrap_model(self.wrapped[0])}
        index = 1
        for i, trained in enumerate(self.model.text_encoder_trained):
            if trained:
                parts[f"te{i + 1}"] = self.acc.unwrap_model(self.wrapped[index])
                index += 1
        return parts

    def trainer_state(self) -> dict:
        net = self.config.network
        return {
            "step": self.step,
            "total": self.config.training.steps,
            "name": self.config.name,
            "family": self.config.model.family,
            "rank": net.rank,
            "alpha": net.alpha,
            "target_modules": net.target_modules,
            "text_encoders_trained": list(self.model.text_encoder_trained),
            "num_processes": self.acc.num_processes,
        }

    def save_state_folder(self) -> None:
        from peft.utils import get_peft_model_state_dict
        from safetensors.torch import save_file

        acc, step = self.acc, self.step
        if step in self.saved_states:
            return
        final = states.state_dir(self.out, step)
        partial = states.partial_dir(final)
        if acc.is_main_process and partial.exists():
            import shutil

            shutil.rmtree(partial)
        acc.wait_for_everyone()
        acc.save_state(str(partial))
        if acc.is_main_process:
            for label, module in self.adapter_parts().items():
                tensors = {
                    k: v.detach().float().cpu().contiguous() for k, v in get_peft_model_state_dict(module).items()
                }
                save_file(tensors, str(partial / f"lora_{label}.safetensors"))
        acc.wait_for_everyone()
        if acc.is_main_process:
            states.finish_state(partial, final, self.trainer_state())
            states.prune_states(self.out, self.config.save.keep_last)
            self.reporter.state(step, final)
        acc.wait_for_everyone()
        self.saved_states.add(step)

    def load_state_folder(self, path: Path) -> None:
        from peft.utils import set_peft_model_state_dict
        from safetensors.torch import load_file

        saved = states.read_trainer_state(path)
        states.check_compatible(saved, self.trainer_state(), path)
        self.acc.load_state(str(path))
        for label, module in self.adapter_parts().items():
            file = path / f"lora_{label}.safetensors"
            if not file.is_file():
                raise ConfigError(path, f"missing {file.name}")
            result = set_peft_model_state_dict(module, load_file(str(file)))
            if getattr(result, "unexpected_keys", None):
                raise ConfigError(file, f"keys that fit no adapter: {result.unexpected_keys[:3]}")
        self.step = int(saved["step"])
        self.saved_states.add(self.step)
        log.info("resumed from %s at step %d", path, self.step)

    # ----------------------------------------------------------------- outputs
    def save_lora_file(self, final: bool = False) -> Path:
        name = self.config.name
        path = self.out / (f"{name}.safetensors" if final else f"{name}-step{self.step:08d}.safetensors")
        if self.acc.is_main_process:
            parts = self.adapter_parts()
            encoders = [parts.get(f"te{i + 1}") for i in range(len(self.model.text_encoders))]
            tensors = kohya_tensors(
                self.model.family,
                parts["unet"],
                encoders,
                self.model.text_encoder_trained,
                self.config.network.alpha,
                self.config.save.precision,
            )
            save_lora(path, tensors, build_metadata(self.config, self.images, self.facts, self.step))
            if not final:
                self.reporter.checkpoint(self.step, path)
        return path

    def sample(self) -> None:
        if not self.config.sample.prompts or self.step in self.sampled:
            return
        if self.acc.is_main_process:
            autocast = self.weight_dtype if self.weight_dtype != torch.float32 else None
            denoiser = self.acc.unwrap_model(self.wrapped[0])
            embeds = self.sample_embeds
            for path in write_samples(self.model, denoiser, self.config, self.step, self.out, autocast, embeds):
                self.reporter.sample(self.step, path)
        self.sampled.add(self.step)
        self.acc.wait_for_everyone()

    # ----------------------------------------------------------------- loop
    def should_stop(self) -> bool:
        local = self.stop.requested
        if self.acc.num_processes == 1:
            return local
        if local:
            self.acc.set_trigger()
        return self.acc.check_trigger()

    def train(self) -> int:
        """Run to ``training.steps`` (or until asked to stop); returns the exit code."""
        config, acc = self.config, self.acc
        total, accumulation = config.training.steps, config.training.gradient_accumulation
        self.stop.install()
        try:
            self.setup()
            if self.resume_from is not None:
                self.load_state_folder(self.resume_from)
            if config.logging_dir:
                acc.init_trackers(config.name, config=_hparams(config))
            plan = BatchPlan(
                [image.placement.bucket for image in self.images],
                repeats=config.dataset.repeats,
                batch_size=config.training.batch_size,
                seed=config.training.seed,
                rank=acc.process_index,
                world=acc.num_processes,
            )
            batches = plan.iterate(self.step * accumulation)
            if self.prior is not None:
                self.prior.start(self.step * accumulation)
            for module in self.wrapped:
                module.train()
            self.reporter.start(self.step)
            while self.step < total:
                loss = self._optimizer_step(batches, accumulation)
                self.step += 1
                lr = self.lr_scheduler.get_last_lr()[0]
                self.reporter.step(self.step, loss, lr)
                if config.logging_dir:
                    acc.log({"loss": loss, "lr": lr}, step=self.step)
                if self.should_stop():
                    if self.step % config.sample.every_n_steps == 0:
                        self.sample()  # this step's samples: a resumed run starts after it, so never makes them
                    self._save_point()
                    if acc.is_main_process:
                        self.stop.clear_file()
                    self.reporter.stopped(self.step)
                    return 0
                self._periodic()
            self.sample()
            path = self.save_lora_file(final=True)
            if acc.device.type == "cuda":
                log.info("peak GPU memory: %.3f GiB", torch.cuda.max_memory_allocated(acc.device) / 2**30)
            self.reporter.done(path)
            return 0
        finally:
            self.stop.uninstall()
            acc.end_training()

    def _optimizer_step(self, batches, accumulation: int) -> float:
        acc, losses = self.acc, []
        for _ in range(accumulation):
            micro, indices = next(batches)
            self._seed_micro_batch(micro)
            latents, cond = self.batches(micro, indices)
            with acc.accumulate(*self.wrapped):
                loss = self.objective(self.wrapped[0], latents, cond)
                if self.prior is not None:
                    loss = loss + self.prior.weighted_loss(self.objective, self.wrapped[0])
                acc.backward(loss)
                if acc.sync_gradients and self.config.optim.max_grad_norm:
                    acc.clip_grad_norm_(self.params, self.config.optim.max_grad_norm)
                self.optimizer.step()
                self.lr_scheduler.step()
                self.optimizer.zero_grad(set_to_none=True)
            losses.append(loss.detach())
        mean = torch.stack(losses).mean()
        if acc.num_processes > 1:
            mean = acc.reduce(mean, reduction="mean")
        return mean.item()

    def _seed_micro_batch(self, micro: int) -> None:
        """Seed noise, timesteps and dropout from this micro-batch's place in the global order.

        Process ``rank`` of ``world`` takes the global micro-batches ``micro * world + rank``, so N
        processes (on one machine or several) draw exactly what one process accumulating N
        micro-batches draws: the LoRA does not depend on how the global batch was split.
        """
        index = micro * self.acc.num_processes + self.acc.process_index
        torch.manual_seed((self.config.training.seed * 1_000_003 + index) % 2**63)

    def _save_point(self) -> None:
        self.save_lora_file()
        self.save_state_folder()

    def _periodic(self) -> None:
        save = self.config.save
        state_every = save.state_every_n_steps or save.every_n_steps
        last = self.step == self.config.training.steps
        if self.step % save.every_n_steps == 0 and not last:
            self.save_lora_file()
        if self.step % state_every == 0 or last:
            self.save_state_folder()
        if self.step % self.config.sample.every_n_steps == 0:
            self.sample()


def _hparams(config: NativeTrainConfig) -> dict:
    return {
        "family": config.model.family,
        "rank": config.network.rank,
        "alpha": config.network.alpha,
        "learning_rate": config.optim.learning_rate,
        "optimizer": config.optim.optimizer,
        "steps": config.training.steps,
        "batch_size": config.training.batch_size,
        "resolution": config.dataset.resolution,
    }
