"""`lorapilot comfyui nodes list | add | remove`: a user's own ComfyUI nodes in the workspace.

Real git repositories made here, a real (tiny) pinned environment (a venv holding one wheel), real uv
resolving and installing into the overlay from a local wheel folder; no network. The requirement check uses
ComfyUI's real uv.lock.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lorapilot.stack.components.custom_nodes import overlay_dir, user_nodes_dir
from support.running import lorapilot
from support.upstreams import make_repo, make_wheel
from support.workspaces import make_workspace

NODE = "import newpkg\nNODE_CLASS_MAPPINGS = {}\n"


@pytest.fixture
def comfy(tmp_path, monkeypatch):
    """A workspace whose ComfyUI environment is a real venv with tinydep 1.0; a wheel folder for the nodes."""
    uv = str(Path(sys.executable).parent / "uv")
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("UV_OFFLINE", "1")
    monkeypatch.setenv("UV_NO_INDEX", "1")
    monkeypatch.setenv("UV_PYTHON_DOWNLOADS", "never")
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    wheels = tmp_path / "wheels"
    make_wheel(wheels, "tinydep", "1.0", "VALUE = 42\n")
    make_wheel(wheels, "newpkg", "0.3", "from tinydep import VALUE\n", requires=("tinydep>=1",))
    make_wheel(wheels, "tinydep", "2.0", "VALUE = 2\n")
    make_wheel(wheels, "deeppkg", "1.0", "", requires=("tinydep>=2",))
    env = tmp_path / "comfy-env"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(env)], check=True)
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "-q",
            "--python",
            str(env / "bin" / "python"),
            "--find-links",
            str(wheels),
            "tinydep==1.0",
        ],
        check=True,
    )
    ctx = make_workspace(tmp_path / "ws", enabled={"comfyui"}, manifest={"comfyui": {"env": str(env)}})
    return ctx, env, wheels


def _site(env: Path) -> Path:
    return next(env.glob("lib/python*/site-packages"))


def test_add_a_git_node_at_a_rev_installs_only_what_the_pinned_env_lacks(comfy, tmp_path):
    ctx, env, wheels = comfy
    repo = tmp_path / "ShoutNode"
    first, _ = make_repo(
        repo,
        [
            {"__init__.py": NODE, "requirements.txt": "newpkg==0.3\ntinydep\n# a comment\n"},
            {"__init__.py": "raise SystemExit('the later commit')\n"},
        ],
    )
    added = lorapilot(ctx, "comfyui", "nodes", "add", str(repo), "--rev", first, "--find-links", str(wheels))
    assert "into the overlay: newpkg==0.3" in added.stdout
    state = ctx.workspace.state_dir("comfyui")
    node = user_nodes_dir(state) / "ShoutNode"
    assert (node / "__init__.py").read_text() == NODE  # the rev asked for, not the branch's head
    overlay = overlay_dir(state)
    assert (overlay / "newpkg.py").is_file()
    assert not list(overlay.glob("tinydep*")), "the pinned env's package must not be shadowed in the overlay"
    assert not list(_site(env).glob("newpkg*")), "the pinned environment must not receive the node's package"
    # Nothing was staged where ComfyUI looks for nodes.
    assert sorted(p.name for p in user_nodes_dir(state).iterdir()) == ["ShoutNode"]

    # The package works under the launch's PYTHONPATH (overlay on top of the pinned env).
    run = subprocess.run(
        [str(env / "bin" / "python"), "-c", "import newpkg; print(newpkg.VALUE)"],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(overlay), "PATH": "/usr/bin:/bin"},
    )
    assert run.stdout.strip() == "42", run.stderr

    listed = lorapilot(ctx, "comfyui", "nodes", "list").stdout
    assert "ShoutNode" in listed and first[:12] in listed and "newpkg==0.3" in listed
    assert "overlay (" in listed and listed.rstrip().endswith("): newpkg==0.3")

    again = lorapilot(ctx, "comfyui", "nodes", "add", str(repo), check=False)
    assert again.returncode != 0 and "exists" in again.stderr and "nodes remove ShoutNode" in again.stderr


def test_a_plain_folder_node_whose_needs_the_env_has_adds_nothing_to_the_overlay(comfy, tmp_path):
    ctx, _, wheels = comfy
    folder = tmp_path / "my nodes" / "Tiny"
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text("NODE_CLASS_MAPPINGS = {}\n")
    (folder / "requirements.txt").write_text("tinydep>=1.0\n")
    added = lorapilot(ctx, "comfyui", "nodes", "add", str(folder), "--name", "tiny-node")
    assert "into the overlay" not in added.stdout and "added tiny-node" in added.stdout
    state = ctx.workspace.state_dir("comfyui")
    assert (user_nodes_dir(state) / "tiny-node" / "__init__.py").is_file()
    assert not any(overlay_dir(state).glob("*"))
    assert "tiny-node" in lorapilot(ctx, "comfyui", "nodes", "list").stdout


def test_a_node_conflicting_with_the_lock_or_the_pinned_env_is_refused_naming_the_package(comfy, tmp_path):
    ctx, _, wheels = comfy
    state = ctx.workspace.state_dir("comfyui")
    old = tmp_path / "OldNode"
    make_repo(old, [{"__init__.py": NODE, "requirements.txt": "newpkg\nnumpy<1.20\n"}])
    refused = lorapilot(ctx, "comfyui", "nodes", "add", str(old), "--find-links", str(wheels), check=False)
    assert refused.returncode != 0
    assert "OldNode conflicts with ComfyUI's locked environment: numpy<1.20 (locked: numpy " in refused.stderr

    newer = tmp_path / "NewerNode"
    make_repo(newer, [{"__init__.py": NODE, "requirements.txt": "tinydep>=2\n"}])
    refused = lorapilot(ctx, "comfyui", "nodes", "add", str(newer), "--find-links", str(wheels), check=False)
    assert refused.returncode != 0
    assert "conflicts with ComfyUI's pinned environment: tinydep>=2 (locked: tinydep 1.0)" in refused.stderr
    # Further down: deeppkg needs tinydep>=2, the pinned env has 1.0 (uv's explanation names both).
    deep = tmp_path / "DeepNode"
    make_repo(deep, [{"__init__.py": NODE, "requirements.txt": "deeppkg\n"}])
    refused = lorapilot(ctx, "comfyui", "nodes", "add", str(deep), "--find-links", str(wheels), check=False)
    assert refused.returncode != 0
    assert "resolving deeppkg on top of ComfyUI's pinned environment failed" in refused.stderr
    assert "deeppkg depend on tinydep>=2 and tinydep==1.0" in refused.stderr
    # Nothing half-placed: no node folder, no staging left, no package in the overlay.
    assert not any(user_nodes_dir(state).glob("*")) and not any(overlay_dir(state).glob("*"))
    assert not list(state.glob(".node-*"))


def test_remove_moves_the_node_to_the_trash_and_restore_puts_it_back(comfy, tmp_path):
    ctx, _, _ = comfy
    folder = tmp_path / "Gone"
    folder.mkdir()
    (folder / "__init__.py").write_text("NODE_CLASS_MAPPINGS = {}\n")
    lorapilot(ctx, "comfyui", "nodes", "add", str(folder))
    removed = lorapilot(ctx, "comfyui", "nodes", "remove", "Gone").stdout
    item = removed.split(" as ", 1)[1].split()[0]
    state = ctx.workspace.state_dir("comfyui")
    assert not (user_nodes_dir(state) / "Gone").exists()
    assert "no nodes of your own" in lorapilot(ctx, "comfyui", "nodes", "list").stdout
    lorapilot(ctx, "trash", "restore", item)
    assert (user_nodes_dir(state) / "Gone" / "__init__.py").is_file()
    missing = lorapilot(ctx, "comfyui", "nodes", "remove", "Nope", check=False)
    assert missing.returncode != 0 and "no node 'Nope'" in missing.stderr
