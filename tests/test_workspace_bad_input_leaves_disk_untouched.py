"""Every bad input the spine names: one clear error line, no traceback, and nothing written.

`lorapilot init` and `lorapilot up` check the workspace path, config/lorapilot.toml,
each component.toml and secrets.env before they create a folder or write a file.
"""

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support.workspaces import REPO_ROOT

COMMANDS = [("init",), ("up", "--backend", "supervisord", "--detach")]


def _tree(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` with its bytes (None for a folder)."""
    if root.is_file():
        return {".": root.read_bytes()}
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


def _run(ws: Path, *args: str, components: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("LORAPILOT_WORKSPACE", "LORAPILOT_COMPONENTS")}
    if components is not None:
        env["LORAPILOT_COMPONENTS"] = str(components)
    return subprocess.run(
        [sys.executable, "-m", "lorapilot", *args, "--workspace", str(ws)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def _assert_refused(result: subprocess.CompletedProcess, *expected: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(error_lines) == 1, result.stderr
    for text in expected:
        assert text in error_lines[0]


def _settings(ws: Path, text: str) -> Path:
    path = ws / "config" / "lorapilot.toml"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    return path


def _broken_components(tmp_path: Path, name: str, old: str, new: str) -> tuple[Path, Path]:
    components = tmp_path / "components"
    shutil.copytree(REPO_ROOT / "components", components)
    spec = components / name / "component.toml"
    text = spec.read_text()
    assert old in text
    spec.write_text(text.replace(old, new, 1))
    return components, spec


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize(
    "text, expected",
    [
        ("host = \n", ("not valid TOML", "line 1")),
        ("[components.comfyui]\nports = 1\n", ("components.comfyui.ports: unknown key",)),
        ("[components.comfyui]\nport = 7878\n", ("components.comfyui.port: port 7878", "'controlpilot'")),
        ("[components.kohya]\nport = 70000\n", ("components.kohya.port", "70000")),
    ],
    ids=["syntax", "unknown-key", "port-collision", "port-range"],
)
def test_bad_settings_file(tmp_path, command, text, expected):
    ws = tmp_path / "ws"
    path = _settings(ws, text)
    before = _tree(ws)
    _assert_refused(_run(ws, *command), str(path), *expected)
    assert _tree(ws) == before


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize(
    "name, old, new, expected",
    [
        ("comfyui", "gpu = true", "gpu = true\nport = = 1", ("not valid TOML",)),
        ("kohya", "[probe]", "[probe]\nhttp_path = '/x'", ("probe.http_path: unknown key",)),
        ("comfyui", "gpu = true", "gpu = true\ndepends_on = ['comfy-manager']", ("depends_on", "'comfy-manager'")),
        ("tensorboard", "port = 4444", "port = 5555", ("port 5555", "'comfyui'")),
    ],
    ids=["syntax", "unknown-key", "unknown-depends-on", "port-collision"],
)
def test_bad_component_spec(tmp_path, command, name, old, new, expected):
    components, spec = _broken_components(tmp_path, name, old, new)
    ws = tmp_path / "ws"
    _assert_refused(_run(ws, *command, components=components), str(spec), *expected)
    assert not ws.exists()


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_malformed_secrets_file(tmp_path, command):
    ws = tmp_path / "ws"
    secrets = ws / "config" / "secrets.env"
    secrets.parent.mkdir(parents=True)
    secrets.write_text("HF_TOKEN=abc\nthis line has no equals sign\n")
    before = _tree(ws)
    _assert_refused(_run(ws, *command), str(secrets), "line 2")
    assert _tree(ws) == before


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize("inside", [False, True], ids=["is-a-file", "under-a-file"])
def test_workspace_path_that_is_a_file(tmp_path, command, inside):
    afile = tmp_path / "afile"
    afile.write_text("mine\n")
    ws = afile / "ws" if inside else afile
    _assert_refused(_run(ws, *command), str(afile), "is a file")
    assert afile.read_text() == "mine\n"


@contextlib.contextmanager
def _read_only(folder: Path):
    """``folder`` made read-only for everyone: a read-only bind mount as root, chmod otherwise."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield folder
        finally:
            folder.chmod(0o755)
        return
    view = folder.with_name(folder.name + "-ro")
    view.mkdir()
    mounted = subprocess.run(["mount", "--bind", "-o", "ro", str(folder), str(view)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot make a read-only bind mount here: {mounted.stderr.strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(view)], capture_output=True)
        if os.access(view, os.W_OK):
            pytest.skip("the bind mount stayed writable")
        yield view
    finally:
        subprocess.run(["umount", str(view)], capture_output=True)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize("initialised", [False, True], ids=["empty", "initialised"])
def test_read_only_workspace(tmp_path, command, initialised):
    ws = tmp_path / "ws"
    ws.mkdir()
    if initialised:
        assert _run(ws, "init").returncode == 0
    before = _tree(ws)
    with _read_only(ws) as view:
        _assert_refused(_run(view, *command), str(view), "not writable")
    assert _tree(ws) == before


@contextlib.contextmanager
def _read_only_in_place(folder: Path):
    """``folder`` itself made read-only: bound read-only onto itself as root, chmod otherwise."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    if subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True).returncode != 0:
        pytest.skip("cannot bind-mount here")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], capture_output=True)
        if os.access(folder, os.W_OK):
            pytest.skip("the bind mount stayed writable")
        yield
    finally:
        subprocess.run(["umount", str(folder)], capture_output=True)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_read_only_config_folder_is_one_line_naming_the_file(tmp_path, command):
    ws = tmp_path / "ws"
    assert _run(ws, "init").returncode == 0
    (ws / "config" / "secrets.env").unlink()  # init must write it again, into a folder it cannot write
    before = _tree(ws)
    with _read_only_in_place(ws / "config"):
        result = _run(ws, *command)
    _assert_refused(result, f"{ws / 'config' / 'secrets.env'}: ")
    assert ".tmp" not in result.stderr
    assert _tree(ws) == before


def test_env_value_supervisord_cannot_carry_is_refused_before_up_writes(tmp_path):
    ws = tmp_path / "ws"
    _settings(ws, "[components.tensorboard]\nenv = { ODD = '\"quoted\"' }\n")
    before = _tree(ws)
    _assert_refused(_run(ws, *COMMANDS[1]), "'tensorboard'", "ODD", "components.tensorboard.env")
    assert _tree(ws) == before
    _assert_refused(_run(ws, "render", "supervisord"), "ODD")


@pytest.mark.parametrize("what", ["component", "manager"])
def test_port_already_in_use_on_this_machine_is_refused_before_up_writes(tmp_path, what):
    import socket

    from support.workspaces import make_workspace

    ctx = make_workspace(tmp_path / "ws", enabled={"controlpilot", "tensorboard"})
    port = ctx.registry.get("tensorboard").port if what == "component" else ctx.settings.manager.port
    before = _tree(ctx.workspace.root)
    with socket.socket() as other_program:
        other_program.bind(("127.0.0.1", port))
        other_program.listen()
        env = {k: v for k, v in os.environ.items() if k != "LORAPILOT_WORKSPACE"}
        env["LORAPILOT_MANIFEST"] = str(ctx.manifest.path)
        result = subprocess.run(
            [sys.executable, "-m", "lorapilot", *COMMANDS[1], "--workspace", str(ctx.workspace.root)],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
    field = "components.tensorboard.port" if what == "component" else "manager.port"
    _assert_refused(
        result, str(ctx.workspace.settings_file), field, f"port {port}", "already in use", f"pid {os.getpid()}"
    )
    assert _tree(ctx.workspace.root) == before
