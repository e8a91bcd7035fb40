"""Per-app configuration files that point every app at the shared workspace.

Each writer returns what it did ("created", "updated", "unchanged", "kept"),
never overwrites a file the user owns, and writes atomically.
"""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from pathlib import Path

import yaml

from lorapilot.kit.errors import ConfigError
from lorapilot.kit.fsutil import write_if_changed
from lorapilot.stack.workspace.layout import MODEL_FOLDERS, Workspace

MANAGED_MARKER = "# Managed by LoRA Pilot"
COMFY_SECTION = "lorapilot"

_TOP_KEY = re.compile(r"^([^\s#][^:]*):")


def _status(path: Path, existed: bool, changed: bool) -> str:
    if not changed:
        return "unchanged"
    return "updated" if existed else "created"


# ---------------------------------------------------------------- ComfyUI


# Store folders ComfyUI has no folder name of its own for: its folder_paths.py reads models/t2i_adapter as part
# of "controlnet", so a `t2i_adapter:` key would make a folder type no node reads. (clip and unet need no entry:
# ComfyUI maps those legacy names to text_encoders and diffusion_models itself.)
COMFY_FOLDER_OF = {"t2i_adapter": "controlnet"}


def comfy_folder_lines() -> list[str]:
    """Each ComfyUI folder name with the store folders it reads (a `|` block when there are several)."""
    groups: dict[str, list[str]] = {}
    for folder in MODEL_FOLDERS:
        groups.setdefault(COMFY_FOLDER_OF.get(folder, folder), []).append(folder)
    lines = []
    for name, folders in groups.items():
        if len(folders) == 1:
            lines.append(f"    {name}: {folders[0]}")
        else:
            lines.append(f"    {name}: |")
            lines += [f"        {folder}" for folder in folders]
    return lines


def comfy_sections(models: Path, extra_roots: list[str]) -> str:
    """Our extra_model_paths.yaml sections: the store, then each extra root."""
    roots = [(COMFY_SECTION, str(models), True)]
    roots += [(f"{COMFY_SECTION}_extra_{i + 1}", root, False) for i, root in enumerate(extra_roots)]
    out = []
    for section, base, default in roots:
        out.append(f"{section}:")
        out.append(f"    base_path: {_yaml_scalar(base)}")
        if default:
            out.append("    is_default: true")
        out += comfy_folder_lines()
    return "\n".join(out) + "\n"


def _yaml_scalar(value: str) -> str:
    return yaml.safe_dump(value, default_style=None).splitlines()[0] if value else '""'


def split_top_level(text: str) -> list[tuple[str | None, str]]:
    """Split YAML text into (top-level key or None, exact text) blocks."""
    blocks: list[tuple[str | None, str]] = []
    key: str | None = None
    current: list[str] = []
    for line in text.splitlines(keepends=True):
        match = _TOP_KEY.match(line)
        if match:
            if current:
                blocks.append((key, "".join(current)))
            key, current = match.group(1).strip(), [line]
        else:
            current.append(line)
    if current:
        blocks.append((key, "".join(current)))
    return blocks


def merge_comfy_yaml(existing: str, ours: str) -> str:
    """Replace our ``lorapilot*`` sections; every other byte stays as it was."""
    blocks = split_top_level(existing)
    out: list[str] = []
    placed = False
    for key, text in blocks:
        if key is not None and (key == COMFY_SECTION or key.startswith(f"{COMFY_SECTION}_extra_")):
            if not placed:
                out.append(ours)
                placed = True
            continue
        out.append(text)
    if not placed:
        if out and not out[-1].endswith("\n"):
            out.append("\n")
        out.append(ours)
    return "".join(out)


def write_comfy_paths(ws: Workspace, extra_roots: list[str]) -> tuple[Path, str]:
    path = ws.state_dir("comfyui") / "extra_model_paths.yaml"
    # ComfyUI refuses a --user-directory that does not exist.
    for folder in (path.parent / "input", path.parent / "user", ws.cache / "comfy-temp"):
        folder.mkdir(parents=True, exist_ok=True)
    existed = path.exists()
    existing = (
        path.read_text(encoding="utf-8")
        if existed
        else (
            "# ComfyUI model folders. LoRA Pilot manages the `lorapilot` sections;\n"
            "# add your own sections below and they are kept as written.\n"
        )
    )
    if existed:
        try:
            yaml.safe_load(existing)
        except yaml.YAMLError as exc:
            raise ConfigError(path, f"not valid YAML, left untouched: {exc}") from None
    merged = merge_comfy_yaml(existing, comfy_sections(ws.models, extra_roots))
    return path, _status(path, existed, write_if_changed(path, merged))


# ---------------------------------------------------------------- InvokeAI


def write_invokeai_yaml(ws: Workspace, host: str, port: int) -> tuple[Path, str]:
    """Set host, port and outputs_dir; models_dir stays InvokeAI's own."""
    root = ws.state_dir("invokeai")
    root.mkdir(parents=True, exist_ok=True)
    path = root / "invokeai.yaml"
    existed = path.exists()
    data: dict = {}
    if existed:
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(path, f"not valid YAML, left untouched: {exc}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(path, "expected a mapping at the top level, left untouched")
        data = loaded or {}
    wanted = {"host": host, "port": port, "outputs_dir": str(ws.outputs / "invoke")}
    if all(data.get(k) == v for k, v in wanted.items()):
        return path, "unchanged"
    data.setdefault("schema_version", "4.0.2")
    data.update(wanted)
    text = yaml.safe_dump(data, sort_keys=False)
    return path, _status(path, existed, write_if_changed(path, text))


# ---------------------------------------------------------------- Kohya


def kohya_config_text(ws: Workspace) -> str:
    def q(p: Path) -> str:
        return '"' + str(p).replace("\\", "\\\\").replace('"', '\\"') + '"'

    return (
        f"{MANAGED_MARKER}; delete this line to manage the file yourself.\n"
        "[model]\n"
        f"models_dir = {q(ws.models / 'checkpoints')}\n"
        f"train_data_dir = {q(ws.datasets)}\n"
        "\n[folders]\n"
        f"output_dir = {q(ws.outputs / 'kohya')}\n"
        f"reg_data_dir = {q(ws.datasets)}\n"
        f"logging_dir = {q(ws.outputs / 'tensorboard' / 'kohya')}\n"
        "\n[configuration]\n"
        f"config_dir = {q(ws.state_dir('kohya') / 'presets')}\n"
        "\n[advanced]\n"
        f"state_dir = {q(ws.outputs / 'kohya')}\n"
        f"vae_dir = {q(ws.models / 'vae')}\n"
        f"log_tracker_config_dir = {q(ws.outputs / 'tensorboard' / 'kohya')}\n"
    )


def write_managed(path: Path, text: str) -> tuple[Path, str]:
    """Write a file we own, unless the user took it over (marker line removed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    existed = path.exists()
    if existed and MANAGED_MARKER not in path.read_text(encoding="utf-8", errors="replace"):
        return path, "kept"
    return path, _status(path, existed, write_if_changed(path, text))


def write_kohya_config(ws: Workspace) -> tuple[Path, str]:
    return write_managed(ws.state_dir("kohya") / "config.toml", kohya_config_text(ws))


# ---------------------------------------------------------------- AI Toolkit


def wire_ai_toolkit(ws: Workspace, src: Path) -> tuple[Path, str]:
    """Point AI Toolkit's job folders at the workspace.

    Its UI keeps TRAINING_FOLDER and DATASETS_FOLDER in the Settings table of
    ``aitk_db.db`` (created by its ``prisma db push`` at install). Only empty
    values are filled, so a folder the user chose in its UI is kept. The models
    path is the ``MODELS_PATH`` environment variable in its component.toml.
    """
    db = src / "aitk_db.db"
    if not db.exists():
        return db, "pending (AI Toolkit not installed)"
    wanted = {"TRAINING_FOLDER": str(ws.outputs / "ai-toolkit"), "DATASETS_FOLDER": str(ws.datasets)}
    try:
        with closing(sqlite3.connect(db, timeout=5)) as conn, conn:
            rows = dict(conn.execute("SELECT key, value FROM Settings").fetchall())
            changed = False
            for key, value in wanted.items():
                if rows.get(key):
                    continue
                conn.execute(
                    "INSERT INTO Settings(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (key, value),
                )
                changed = True
    except sqlite3.Error as exc:
        raise ConfigError(db, f"cannot update AI Toolkit settings: {exc}") from None
    return db, "updated" if changed else "unchanged"
