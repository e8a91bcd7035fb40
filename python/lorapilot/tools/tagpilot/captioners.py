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


def local_model_dir(ctx: Context, name: str, given: str | None, confine: bool) -> Path:
    """A local captioner's folder: given, else ``[tagpilot] local_models_dir``/``name``; workspace-relative.

    ``confine`` (the API) keeps it inside the workspace. Whether it exists the captioner checks,
    so its error can say what to put there.
    """
    text = given or str(Path(ctx.settings.tagpilot.local_models_dir) / name)
    root = ctx.workspace.root
    if confine:
        return resolve_inside(root, text)
    path = Path(text).expanduser()
    return path if path.is_absolute() else root / path


def make_local(ctx: Context, name: str, model_dir: str | None = None, confine: bool = True, **options):
    """Florence-2, JoyCaption or Qwen2.5-VL (``name``); ``options`` are :class:`local_model.LocalOptions` fields
    (None values are ignored)."""
    from lorapilot.tools.tagpilot.local_captioners import make_local_captioner
    from lorapilot.tools.tagpilot.local_model import LocalOptions

    values = LocalOptions(**{k: v for k, v in options.items() if v is not None})
    return make_local_captioner(name, local_model_dir(ctx, name, model_dir, confine), values)
