"""`lorapilot init`: the layout, app configs and secrets; idempotent and respectful of user files."""

import os
import stat
from pathlib import Path

import pytest
import yaml

from lorapilot.kit.errors import WorkspaceError
from lorapilot.stack.workspace import MODEL_FOLDERS, init_workspace
from lorapilot.stack.workspace.layout import resolve_root
from lorapilot.stack.workspace.secrets import GENERATED_SECRETS, read_secrets


def _snapshot_tree(root: Path) -> dict[str, tuple[int, bytes]]:
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            out[str(path.relative_to(root))] = (path.stat().st_mtime_ns, path.read_bytes())
        else:
            out[str(path.relative_to(root))] = (0, b"dir")
    return out


def test_init_creates_layout_and_app_configs(ctx):
    report = init_workspace(ctx)
    ws = ctx.workspace
    for folder in MODEL_FOLDERS:
        assert (ws.models / folder).is_dir()
    for folder in (
        "datasets",
        "outputs/comfy",
        "outputs/trainpilot",
        "config/generated",
        "logs",
        "apps",
        "cache/thumbs",
    ):
        assert (ws.root / folder).is_dir()
    statuses = {path.name: status for path, status in report.files}
    assert statuses["extra_model_paths.yaml"] == "created"
    assert statuses["invokeai.yaml"] == "created"
    assert statuses["config.toml"] == "created"


def test_second_init_changes_nothing(ctx):
    init_workspace(ctx)
    before = _snapshot_tree(ctx.workspace.root)
    report = init_workspace(ctx)
    assert not report.changed
    assert _snapshot_tree(ctx.workspace.root) == before


def test_comfy_yaml_points_at_store_and_extra_roots(tmp_path):
    from support.workspaces import make_workspace

    extra = tmp_path / "volume"
    ctx = make_workspace(tmp_path / "ws", settings={"models": {"extra_roots": [str(extra)]}})
    init_workspace(ctx)
    data = yaml.safe_load((ctx.workspace.state_dir("comfyui") / "extra_model_paths.yaml").read_text())
    assert data["lorapilot"]["base_path"] == str(ctx.workspace.models)
    assert data["lorapilot"]["is_default"] is True
    assert data["lorapilot"]["loras"] == "loras"
    assert data["lorapilot_extra_1"]["base_path"] == str(extra)
    assert set(MODEL_FOLDERS) - {"t2i_adapter"} <= set(data["lorapilot"])  # ComfyUI reads t2i_adapter as controlnet


def test_user_sections_of_comfy_yaml_survive_byte_for_byte(ctx):
    init_workspace(ctx)
    path = ctx.workspace.state_dir("comfyui") / "extra_model_paths.yaml"
    before_ours = "# my models on the NAS\na111:\n    base_path: /mnt/a1111   # keep this comment\n    checkpoints: models/Stable-diffusion\n\n"
    after_ours = "\nother_ui:\n  base_path: '/srv/other'\n  loras: |\n    loras\n    more_loras\n"
    ours = path.read_text().split("lorapilot:", 1)[1]
    path.write_text(before_ours + "lorapilot:" + ours.replace("loras: loras", "loras: stale") + after_ours)
    init_workspace(ctx)
    text = path.read_text()
    assert text.startswith(before_ours)
    assert text.endswith(after_ours)
    assert "loras: loras" in text and "stale" not in text
    data = yaml.safe_load(text)
    assert data["other_ui"]["loras"] == "loras\nmore_loras\n"


def test_invalid_user_comfy_yaml_is_not_overwritten(ctx):
    init_workspace(ctx)
    path = ctx.workspace.state_dir("comfyui") / "extra_model_paths.yaml"
    path.write_text("a: [unclosed\n")
    with pytest.raises(Exception) as err:
        init_workspace(ctx)
    assert str(path) in str(err.value)
    assert path.read_text() == "a: [unclosed\n"


def test_invokeai_yaml_keeps_other_keys_and_private_models_dir(ctx):
    init_workspace(ctx)
    path = ctx.workspace.state_dir("invokeai") / "invokeai.yaml"
    data = yaml.safe_load(path.read_text())
    assert data["port"] == ctx.registry.get("invokeai").port
    assert data["outputs_dir"] == str(ctx.workspace.outputs / "invoke")
    assert "models_dir" not in data
    data["precision"] = "float16"
    path.write_text(yaml.safe_dump(data))
    init_workspace(ctx)
    assert yaml.safe_load(path.read_text())["precision"] == "float16"


def test_kohya_config_taken_over_by_user_is_kept(ctx):
    init_workspace(ctx)
    path = ctx.workspace.state_dir("kohya") / "config.toml"
    assert str(ctx.workspace.models / "checkpoints") in path.read_text()
    path.write_text("[model]\nmodels_dir = '/mine'\n")
    report = init_workspace(ctx)
    assert dict((p.name, s) for p, s in report.files)["config.toml"] == "kept"
    assert path.read_text() == "[model]\nmodels_dir = '/mine'\n"


def test_ai_toolkit_settings_filled_only_when_empty(tmp_path):
    import sqlite3

    from support.workspaces import make_workspace

    src = tmp_path / "aitk"
    src.mkdir()
    with sqlite3.connect(src / "aitk_db.db") as conn:
        conn.execute("CREATE TABLE Settings (id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT UNIQUE, value TEXT)")
        conn.execute("INSERT INTO Settings(key, value) VALUES ('DATASETS_FOLDER', '/my/datasets')")
    ctx = make_workspace(tmp_path / "ws", manifest={"ai-toolkit": {"src": str(src)}})
    init_workspace(ctx)
    with sqlite3.connect(src / "aitk_db.db") as conn:
        rows = dict(conn.execute("SELECT key, value FROM Settings"))
    assert rows == {"DATASETS_FOLDER": "/my/datasets", "TRAINING_FOLDER": str(ctx.workspace.outputs / "ai-toolkit")}


def test_secrets_generated_once_with_mode_0600(ctx):
    init_workspace(ctx)
    path = ctx.workspace.secrets_file
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = read_secrets(path)
    assert set(GENERATED_SECRETS) <= set(first)
    assert len(set(first.values())) == len(first)
    init_workspace(ctx)
    assert read_secrets(path) == first


def test_user_added_secret_lines_are_kept(ctx):
    ctx.workspace.secrets_file.write_text("# mine\nHF_TOKEN=hf_abc\n")
    init_workspace(ctx)
    text = ctx.workspace.secrets_file.read_text()
    assert text.startswith("# mine\nHF_TOKEN=hf_abc\n")
    assert "JUPYTER_TOKEN=" in text
    assert stat.S_IMODE(ctx.workspace.secrets_file.stat().st_mode) == 0o600


def test_workspace_path_that_is_a_file(tmp_path):
    from support.workspaces import make_workspace

    ctx = make_workspace(tmp_path / "ws")
    target = tmp_path / "afile"
    target.write_text("x")
    ctx.workspace = type(ctx.workspace)(target)
    with pytest.raises(WorkspaceError, match="is a file"):
        init_workspace(ctx)
    assert target.read_text() == "x"


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_workspace_non_root(ctx):
    ctx.workspace.root.chmod(0o555)
    try:
        with pytest.raises(WorkspaceError, match="not writable"):
            init_workspace(ctx)
    finally:
        ctx.workspace.root.chmod(0o755)


def test_read_only_workspace(tmp_path):
    """A read-only mount (root cannot write either): a real read-only bind mount when possible."""
    import subprocess

    from support.workspaces import make_workspace

    ctx = make_workspace(tmp_path / "ws")
    ro = tmp_path / "ro"
    ro.mkdir()
    if os.geteuid() == 0:
        mounted = subprocess.run(["mount", "--bind", "-o", "ro", str(ctx.workspace.root), str(ro)], capture_output=True)
        if mounted.returncode != 0:
            pytest.skip(f"cannot make a read-only bind mount here: {mounted.stderr.decode().strip()}")
        subprocess.run(["mount", "-o", "remount,bind,ro", str(ro)], capture_output=True)
    else:
        ro = ctx.workspace.root
        ro.chmod(0o555)
    try:
        if os.access(ro, os.W_OK):
            pytest.skip("the mount stayed writable")
        before = sorted(p.name for p in ro.iterdir())
        ctx.workspace = type(ctx.workspace)(ro)
        with pytest.raises(WorkspaceError, match="not writable"):
            init_workspace(ctx)
        assert sorted(p.name for p in ro.iterdir()) == before
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", str(ro)], capture_output=True)
        else:
            ro.chmod(0o755)


def test_root_resolution_order(tmp_path, monkeypatch):
    monkeypatch.setenv("LORAPILOT_WORKSPACE", str(tmp_path / "env"))
    assert resolve_root(tmp_path / "flag") == tmp_path / "flag"
    assert resolve_root(None) == tmp_path / "env"
    monkeypatch.delenv("LORAPILOT_WORKSPACE")
    expected = (
        Path("/workspace")
        if Path("/workspace").is_dir() and os.access("/workspace", os.W_OK)
        else Path.home() / "lorapilot"
    )
    assert resolve_root(None) == expected
