"""Render a LoRA test grid for a job (or any LoRA): cells as PNGs with their metadata, a manifest, a
composed image with labels. Through ComfyUI when it runs, else with diffusers on this machine."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from lorapilot.kit.errors import LorapilotError
from lorapilot.kit.fsutil import atomic_write_bytes, atomic_write_text
from lorapilot.kit.progress import Cancelled

from .compose import compose_grid
from .infotext import cell_infotext, png_bytes
from .plan import GridPlan, check_size

MANIFEST = "manifest.json"
GRID_IMAGE = "grid.png"

Progress = Callable[[float, float | None, str], None]


def row_label(plan: GridPlan, checkpoint: int, weight: int) -> str:
    return f"{plan.checkpoints[checkpoint].label} × {plan.weights[weight]:g}"


def render_grid(
    plan: GridPlan,
    out_dir: Path,
    renderer,
    progress: Progress | None = None,
    cancel=None,
    discard: Callable[[Path], None] | None = None,
) -> dict:
    """Render every cell of ``plan`` with ``renderer`` into ``out_dir``; returns the manifest.

    Cells land as ``cells/c{checkpoint}_w{weight}_p{prompt}.png``. The grid is built in a sibling
    folder and swapped in when complete, so ``out_dir`` always holds one whole grid; an older grid
    there goes to ``discard`` (the workspace trash), else is removed.
    """
    check_size(plan)
    final_dir, out_dir = out_dir, out_dir.with_name(f".{out_dir.name}.partial")
    shutil.rmtree(out_dir, ignore_errors=True)  # a render killed half-way
    cells_dir = out_dir / "cells"
    cells_dir.mkdir(parents=True, exist_ok=True)
    order = plan.cells()
    images: dict[tuple[int, int], object] = {}
    manifest_cells = []
    started = time.time()
    for done, (c, w, p) in enumerate(order):
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        if progress:
            progress(done, len(order), f"{row_label(plan, c, w)} · prompt {p + 1}/{len(plan.prompts)}")
        image, texts = renderer.render(c, w, p)
        texts = {"parameters": cell_infotext(plan, c, w, p), **texts}
        name = f"c{c:02d}_w{w:02d}_p{p:02d}.png"
        atomic_write_bytes(cells_dir / name, png_bytes(image, texts), mode=0o644)
        row = c * len(plan.weights) + w
        images[(row, p)] = image
        manifest_cells.append(
            {
                "row": row,
                "col": p,
                "file": f"cells/{name}",
                "checkpoint": plan.checkpoints[c].label,
                "step": plan.checkpoints[c].step,
                "weight": plan.weights[w],
                "prompt": plan.prompts[p],
                "seed": plan.seed_of(p),
            }
        )
    rows = [row_label(plan, c, w) for c in range(len(plan.checkpoints)) for w in range(len(plan.weights))]
    grid = compose_grid(images, rows, plan.prompts, (plan.width, plan.height))
    atomic_write_bytes(out_dir / GRID_IMAGE, png_bytes(grid, {}), mode=0o644)
    manifest = {
        "job_id": plan.job_id,
        "name": plan.name,
        "renderer": renderer.name,
        "rows": rows,
        "cols": plan.prompts,
        "cells": manifest_cells,
        "grid": GRID_IMAGE,
        "plan": plan.to_dict(),
        "started_at": started,
        "finished_at": time.time(),
    }
    atomic_write_text(out_dir / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    if final_dir.exists():
        (discard or shutil.rmtree)(final_dir)
    out_dir.rename(final_dir)
    if progress:
        progress(len(order), len(order), "grid done")
    return manifest


def read_manifest(out_dir: Path) -> dict | None:
    """The grid manifest in ``out_dir``, or None when no complete grid is there."""
    path = out_dir / MANIFEST
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LorapilotError(f"{path}: unreadable grid manifest: {exc}") from exc
