"""Optimizer and learning-rate schedule from the ``[optim]`` settings."""

from __future__ import annotations

import importlib

import torch

from lorapilot.kit.errors import ConfigError

from .config import OptimSettings


def _require(module: str, package: str, optimizer: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(
            None, f"optim.optimizer: {optimizer!r} needs the {package} package, which is not installed"
        ) from None


def make_optimizer(settings: OptimSettings, param_groups: list[dict]) -> torch.optim.Optimizer:
    """``param_groups``: [{"params": [...], "lr": ...}, ...] (the UNet's and the text encoders')."""
    name, lr, wd = settings.optimizer, settings.learning_rate, settings.weight_decay
    if name == "adamw":
        return torch.optim.AdamW(param_groups, lr=lr, weight_decay=wd)
    if name == "sgd":
        return torch.optim.SGD(param_groups, lr=lr, weight_decay=wd)
    if name == "adamw8bit":
        bnb = _require("bitsandbytes", "bitsandbytes", name)
        return bnb.optim.AdamW8bit(param_groups, lr=lr, weight_decay=wd)
    if name == "prodigy":
        prodigyopt = _require("prodigyopt", "prodigyopt", name)
        return prodigyopt.Prodigy(param_groups, lr=lr, weight_decay=wd)
    if name == "adafactor":
        from transformers.optimization import Adafactor

        return Adafactor(param_groups, lr=lr, weight_decay=wd, relative_step=False, scale_parameter=False)
    raise ConfigError(None, f"optim.optimizer: unknown optimizer {name!r}")


def make_scheduler(settings: OptimSettings, optimizer, total_steps: int, num_processes: int):
    """diffusers' schedule; counts are per process because accelerate steps it once per process."""
    from diffusers.optimization import get_scheduler

    name = settings.lr_scheduler
    if name == "constant" and settings.warmup_steps:
        name = "constant_with_warmup"
    return get_scheduler(
        name,
        optimizer=optimizer,
        num_warmup_steps=settings.warmup_steps * num_processes,
        num_training_steps=total_steps * num_processes,
    )
