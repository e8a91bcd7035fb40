"""Build a captioner from the workspace settings plus per-job overrides (shared by API and CLI)."""

from __future__ import annotations

from pathlib import Path

from lorapilot.kit.errors import LorapilotError
from lorapilot.kit.safepath import resolve_inside
from lorapilot.stack.context import Context
from lorapilot.stack.workspace.secrets import read_secrets


def wd14_model_dir(ctx: Context, given: str | None, confine: bool) -> Path:
    """The model folder: given, else ``[tagpilot] wd14_model_dir``; relative paths are workspace-relative.

    ``confine`` (the API) keeps it inside the workspace.
    """
    text = given or ctx.settings.tagpilot.wd14_model_dir
    if not text:
        raise LorapilotError(
            "no WD14 model folder: pass one, or set [tagpilot] wd14_model_dir in config/lorapilot.toml"
        )
    root = ctx.workspace.root
    if confine:
        path = resolve_inside(root, text)
    else:
        path = Path(text).expanduser()
        path = path if path.is_absolute() else root / path
    if not path.is_dir():
        raise LorapilotError(f"WD14 model folder {path} does not exist")
    return path


def make_wd14(ctx: Context, model_dir: str | None = None, confine: bool = True, **options):
    """A WD14 tagger; ``options`` are :class:`wd14.TaggerOptions` fields."""
    from lorapilot.tools.tagpilot.wd14 import TaggerOptions, WD14Tagger

    return WD14Tagger(wd14_model_dir(ctx, model_dir, confine), TaggerOptions(**options))


def make_vlm(ctx: Context, **overrides):
    """A VLM captioner from ``[tagpilot.vlm]`` with ``overrides`` (None values are ignored) and the secret key."""
    from lorapilot.tools.tagpilot.vlm import API_KEY_SECRET, VLMCaptioner, VLMOptions

    values = ctx.settings.tagpilot.vlm.model_dump()
    values.update({k: v for k, v in overrides.items() if v is not None})
    values["api_key"] = read_secrets(ctx.workspace.secrets_file).get(API_KEY_SECRET) or None
    return VLMCaptioner(VLMOptions(**values))
