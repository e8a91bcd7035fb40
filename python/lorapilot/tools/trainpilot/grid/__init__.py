"""LoRA test grids: checkpoints × LoRA weights × prompts with fixed seeds (see docs/trainpilot.md)."""

from .jobgrid import auto_grid_after_training, choose_renderer, grid_dir, plan_for_job, render_job_grid
from .plan import DEFAULT_WEIGHTS, GridPlan, parse_weights, read_prompts, select_checkpoints
from .render import read_manifest, render_grid

__all__ = [
    "DEFAULT_WEIGHTS",
    "GridPlan",
    "auto_grid_after_training",
    "choose_renderer",
    "grid_dir",
    "parse_weights",
    "plan_for_job",
    "read_manifest",
    "read_prompts",
    "render_grid",
    "render_job_grid",
    "select_checkpoints",
]
