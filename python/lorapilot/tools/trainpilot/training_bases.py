"""Base models a user can train on, from the model store (``lorapilot.tools.models``): what lies in
``checkpoints``, ``diffusion_models``/``unet`` and ``diffusers`` of every store root, with the
family the store detected."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from lorapilot.stack.context import Context

BASE_FOLDERS = ("checkpoints", "diffusion_models", "unet", "diffusers")
COMPONENT_FOLDERS = {
    "vae": ("vae",),
    "ae": ("vae",),
    "clip_l": ("text_encoders", "clip"),
    "clip_g": ("text_encoders", "clip"),
    "t5xxl": ("text_encoders", "clip"),
    "llm": ("text_encoders", "clip"),
    "diffusers": ("diffusers",),
    "adapter": ("loras",),
}
# Profile fields that name a model file or folder besides model.base (validation checks each exists).
COMPONENT_SLOTS = ("vae", "clip_l", "clip_g", "t5xxl", "ae", "diffusers", "llm", "adapter")
BASE_KINDS = ("checkpoint", "diffusion_model", "diffusers", "unknown")
# The model store's family names → TrainPilot's (the SDXL refiner is not trained here).
STORE_FAMILIES = {
    "sd1": "sd15",
    "sd2": "sd2",
    "sdxl": "sdxl",
    "sd3": "sd3",
    "flux1": "flux1",
    "chroma": "chroma",
    "wan": "wan21",
    "lumina2": "lumina2",
    "hidream": "hidream",
    "hunyuan_video": "hunyuanvideo",
    "ltxv": "ltxvideo",
    "qwen_image": "qwenimage",
    "flux2": "flux2",
    "zimage": "zimage",
}
# Wan 2.1 and 2.2 share the store's "wan" (their 14B text-to-video files have the same layout); TrainPilot
# tells them apart where the model says: TI2V 5B's 48 latent channels, A14B's expert subfolders, a -Diffusers
# folder's second transformer (see wan_version / wan_diffusers_version).
WAN_EXPERTS = ("low_noise_model", "high_noise_model")


@dataclass
class BaseModel:
    path: str  # relative to models/ (absolute for an extra store root): what a profile's model.base holds
    folder: str
    kind: str  # "file", "diffusers", or "folder" (an official Wan checkpoint folder)
    family: str | None
    size: int

    def to_dict(self) -> dict:
        return asdict(self)


def _store(ctx: Context):
    from lorapilot.tools.models import ModelStore

    return ModelStore.for_context(ctx)


def _profile_path(ctx: Context, entry) -> str:
    return entry.rel if Path(entry.root) == ctx.workspace.models else entry.path


def list_base_models(ctx: Context, family: str | None = None) -> list[BaseModel]:
    """Base model candidates, optionally only ``family`` (models of unknown family are kept)."""
    store = _store(ctx)
    try:
        entries = [e for folder in BASE_FOLDERS for e in store.list(folder=folder)]
    finally:
        store.close()
    out = []
    wan_folders: dict[Path, BaseModel] = {}
    for e in entries:
        if e.kind not in BASE_KINDS:
            continue  # a LoRA or VAE left in checkpoints/ is no base model
        parent = Path(e.path).parent
        if e.format != "diffusers" and wan_model_type(parent):
            # A shard of an official Wan checkpoint folder: the folder is the base (Diffusion Pipe's ckpt_path);
            # Wan 2.2 A14B keeps each expert's shards in a subfolder of it.
            top = parent.parent if parent.name in WAN_EXPERTS else parent
            shard_dir = Path(_profile_path(ctx, e)).parent
            rel = str(shard_dir.parent if top != parent else shard_dir)
            fam_of_folder = "wan22" if wan_version(top) == "2.2" else "wan21"
            folder = wan_folders.setdefault(top, BaseModel(rel, e.folder, "folder", fam_of_folder, 0))
            folder.size += e.size
            continue
        fam = _trainpilot_family(e.family)
        if fam == "wan21" and (
            (e.format == "diffusers" and wan_diffusers_version(Path(e.path)) == "2.2")
            or (e.format != "diffusers" and (e.variant or "").startswith("ti2v"))
        ):
            fam = "wan22"
        if family and fam not in (None, family):
            continue
        out.append(
            BaseModel(_profile_path(ctx, e), e.folder, "diffusers" if e.format == "diffusers" else "file", fam, e.size)
        )
    return out + [m for m in wan_folders.values() if family in (None, m.family)]


def wan_model_type(folder: Path) -> str | None:
    """``t2v``/``i2v``/... for an official Wan checkpoint folder (its config.json, as Diffusion Pipe reads it), else None."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(config, dict) and "dim" in config and config.get("model_type") in ("t2v", "i2v", "flf2v", "ti2v"):
        return config["model_type"]
    return None


def wan_version(folder: Path) -> str | None:
    """``2.1`` or ``2.2`` for an official Wan checkpoint folder, else None.

    Diffusion Pipe (models/wan/wan.py) reads ``config.json`` (model_type ``ti2v``: Wan 2.2 TI2V 5B) and, where the
    folder has none, ``low_noise_model/config.json`` ("Wan2.2 has subdirectories for the model")."""
    kind = wan_model_type(folder)
    if kind:
        return "2.2" if kind == "ti2v" else "2.1"
    return "2.2" if wan_model_type(folder / "low_noise_model") else None


def _model_index(folder: Path) -> dict:
    try:
        index = json.loads((folder / "model_index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return index if isinstance(index, dict) else {}


def wan_two_experts(folder: Path) -> bool:
    """Whether a Wan 2.2 -Diffusers folder holds the A14B pair (AI Toolkit's wan22_14b): its model_index.json
    names a second transformer (``transformer_2``, the low-noise expert; ``[null, null]`` when there is none)."""
    second = _model_index(folder).get("transformer_2")
    return isinstance(second, list) and any(second)


def wan_diffusers_version(folder: Path) -> str | None:
    """``2.1`` or ``2.2`` for a Wan -Diffusers folder (diffusers' WanPipeline config): Wan 2.2 A14B has a second
    transformer, TI2V 5B sets ``expand_timesteps``; None: not Wan."""
    index = _model_index(folder)
    if not str(index.get("_class_name", "")).startswith("Wan"):
        return None
    return "2.2" if wan_two_experts(folder) or index.get("expand_timesteps") is True else "2.1"


def flux2_variant(path: Path | None) -> str | None:
    """``dev`` / ``klein 9B`` / ``klein 4B`` for a FLUX.2 transformer file (the model store's detection), else None."""
    if path is None or not path.is_file():
        return None
    from lorapilot.tools.models import summarize

    info = summarize(path)
    return info.get("variant") if info.get("family") == "flux2" else None


def _trainpilot_family(store_family: str | None) -> str | None:
    return STORE_FAMILIES.get(store_family or "")


def store_family(trainpilot_family: str | None) -> str | None:
    """The model store's name for one of TrainPilot's families (None for one the store does not name)."""
    if trainpilot_family == "wan22":
        return "wan"
    return next((store for store, ours in STORE_FAMILIES.items() if ours == trainpilot_family), None)


def list_components(ctx: Context, slot: str) -> list[str]:
    """Files that can fill a component slot (``clip_l``, ``t5xxl``, ``ae``, ``vae``, ``clip_g``, ``llm``, ``adapter``:
    the LoRAs), or the diffusers folders for the ``diffusers`` slot."""
    folders_wanted = slot == "diffusers"
    store = _store(ctx)
    try:
        return [
            _profile_path(ctx, e)
            for folder in COMPONENT_FOLDERS.get(slot, ())
            for e in store.list(folder=folder)
            if (e.format == "diffusers") == folders_wanted
        ]
    finally:
        store.close()


def detect_family(path: Path) -> str | None:
    """The family of a base model file or diffusers folder (the model store's detection), or None."""
    if path.is_dir():
        version = wan_version(path)
        if version:
            return "wan22" if version == "2.2" else "wan21"
        from lorapilot.tools.models import describe_diffusers

        family = _trainpilot_family(describe_diffusers(path).get("family"))
        return "wan22" if family == "wan21" and wan_diffusers_version(path) == "2.2" else family
    from lorapilot.tools.models import summarize

    info = summarize(path)
    family = _trainpilot_family(info.get("family"))
    return "wan22" if family == "wan21" and str(info.get("variant") or "").startswith("ti2v") else family


def resolve_model(ctx: Context, user_path: str) -> Path:
    """A profile's model path (relative to ``models/``, or absolute inside a store root) as a real path."""
    store = _store(ctx)
    try:
        return store.resolve(user_path)[1]
    finally:
        store.close()


def scheduler_prediction(base: Path | None) -> str | None:
    """``epsilon``/``v_prediction`` from a diffusers folder's scheduler config (None: not a folder that says)."""
    try:
        config = json.loads((base / "scheduler" / "scheduler_config.json").read_text(encoding="utf-8"))
    except (TypeError, OSError, ValueError):
        return None
    value = config.get("prediction_type", "epsilon") if isinstance(config, dict) else None
    return value if value in ("epsilon", "v_prediction") else None


def known_prediction(ctx: Context, user_path: str) -> dict:
    """``{"v_prediction": bool}`` where the base model says what it predicts (a diffusers folder), else ``{}``:
    a preset then keeps its family's default."""
    from lorapilot.kit.errors import NotFoundError
    from lorapilot.kit.safepath import PathEscapeError

    try:
        predicts = scheduler_prediction(resolve_model(ctx, user_path))
    except (NotFoundError, PathEscapeError):
        return {}
    return {} if predicts is None else {"v_prediction": predicts == "v_prediction"}
