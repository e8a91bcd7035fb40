"""When a job ends well: copy its final LoRA into ``models/loras/`` with a training card beside it."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from lorapilot.kit.fsutil import atomic_copy, atomic_write_text
from lorapilot.stack.workspace.layout import Workspace

from .queue import Job
from .training_bases import store_family


def sha256_file(path: Path) -> str:
    """The file's sha256 (streamed; the model store's hasher)."""
    from lorapilot.tools.models import hash_file

    return hash_file(path).sha256


def install_lora(ws: Workspace, job: Job, final: Path) -> tuple[Path, Path]:
    """Copy ``final`` to ``models/loras/<name>.safetensors`` (never over another file) and write its card.

    Returns (LoRA path, card path). The card (``<name>.training.json``) records the profile, the
    dataset, the steps and the file's sha256. The model store's hash cache learns the LoRA's hashes
    (sha256, AutoV2, addnet) here, so they show without a hashing task.
    """
    from lorapilot.tools.models import ModelStore

    loras = ws.models / "loras"
    loras.mkdir(parents=True, exist_ok=True)
    digest = sha256_file(final)
    store = ModelStore(ws)
    try:
        dest = loras / f"{job.name}.safetensors"
        if dest.exists() and store.hash(dest)["sha256"] != digest:
            dest = loras / f"{job.name}-job{job.id}.safetensors"
        if not dest.exists() or store.hash(dest)["sha256"] != digest:
            atomic_copy(final, dest, mode=0o644)  # trainers write 0600 (safetensors); every app must read it
            store.hash(dest)
    finally:
        store.close()
    card_path = dest.with_name(dest.name[: -len(".safetensors")] + ".training.json")
    profile = job.profile
    card = {
        "lora": dest.name,
        "sha256": digest,
        "autov2": digest[:10],
        "name": job.name,
        "job_id": job.id,
        "trainer": job.trainer,
        "family": job.family,
        "base_family": store_family(job.family),  # the model store's name: it lists the LoRA by it
        "base_model": profile.get("model", {}).get("base"),
        "dataset": {"name": job.dataset, **_dataset_counts(ws, job)},
        "steps": job.step if job.step is not None else profile.get("training", {}).get("steps"),
        "final_loss": job.loss,
        "trained_from": str(final),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "profile": profile,
    }
    atomic_write_text(card_path, json.dumps(card, indent=2) + "\n")
    os.chmod(card_path, 0o644)
    return dest, card_path


def _dataset_counts(ws: Workspace, job: Job) -> dict:
    from lorapilot.kit.errors import LorapilotError

    from .datasets import inspect_dataset

    try:
        info = inspect_dataset(ws, job.dataset, job.profile.get("dataset", {}).get("caption_extension"))
    except LorapilotError:
        return {}
    return {"images": info.num_images, "captioned": info.num_captioned}
