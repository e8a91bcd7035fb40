"""The real ComfyUI (pinned archive, --cpu) loads a user's own node from the workspace.

A small node written here is a git repository whose requirements.txt names a package ComfyUI's environment
lacks (a wheel built here). `lorapilot comfyui nodes add` puts the node in apps/comfyui/custom_nodes/ and the
package in the per-workspace overlay (offline, from the wheel's folder); `lorapilot up` launches ComfyUI the
way it always does (rendered command, PYTHONPATH to the overlay, extra_model_paths.yaml's custom_nodes). The
node shows in /object_info, a /prompt graph using it runs and its output is in /history; the pinned
environment never received the package. The node also reports ComfyUI's first custom_nodes folder (where
ComfyUI-Manager installs nodes): the workspace's.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from upstream_envs import COMFY_REQUIREMENTS, python_of, wait_ready

from lorapilot.stack.components.custom_nodes import overlay_dir, user_nodes_dir
from lorapilot.stack.workspace.layout import ensure_layout
from support.running import lorapilot, running, wait_for
from support.upstreams import make_repo, make_wheel
from support.workspaces import make_workspace

pytestmark = [pytest.mark.upstream, pytest.mark.e2e, pytest.mark.timeout(1200)]

NODE = """\
import lp_shout_pkg


class LPShout:
    CATEGORY = "lorapilot test"
    RETURN_TYPES = ("STRING",)
    FUNCTION = "run"
    OUTPUT_NODE = True

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"text": ("STRING", {"default": "hi"})}}

    def run(self, text):
        import folder_paths  # ComfyUI's; ComfyUI-Manager installs new nodes into the first custom_nodes path

        shouted = lp_shout_pkg.shout(text)
        first = folder_paths.get_folder_paths("custom_nodes")[0]
        return {"ui": {"text": [shouted], "custom_nodes_first": [first]}, "result": (shouted,)}


NODE_CLASS_MAPPINGS = {"LPShout": LPShout}
NODE_DISPLAY_NAME_MAPPINGS = {"LPShout": "Shout (LoRA Pilot test)"}
"""


def test_the_real_comfyui_loads_a_workspace_node_with_its_package_from_the_overlay(
    tmp_path, vendor_archive, upstream_env, monkeypatch
):
    archive = vendor_archive("comfyui-")
    env = upstream_env("comfyui", COMFY_REQUIREMENTS)
    # Offline: the node's package comes from the wheel folder only (uv beside this interpreter).
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{__import__('os').environ['PATH']}")
    monkeypatch.setenv("UV_OFFLINE", "1")
    monkeypatch.setenv("UV_NO_INDEX", "1")
    monkeypatch.setenv("UV_PYTHON_DOWNLOADS", "never")
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))

    wheels = tmp_path / "wheels"
    make_wheel(wheels, "lp_shout_pkg", "0.1", "def shout(text):\n    return text.upper() + '!'\n")
    repo = tmp_path / "upstream" / "lp-shout-node"
    rev = make_repo(repo, [{"__init__.py": NODE, "requirements.txt": "lp_shout_pkg==0.1\n"}])[0]

    ctx = make_workspace(
        tmp_path / "ws",
        enabled={"comfyui"},
        manifest={"comfyui": {"env": str(env)}},
        settings={"mediapilot": {"watch": False}},
    )
    ensure_layout(ctx.workspace)
    lorapilot(ctx, "install", "comfyui", "--source-only", "--from", str(archive), timeout=300)
    added = lorapilot(ctx, "comfyui", "nodes", "add", str(repo), "--rev", rev, "--find-links", str(wheels))
    assert "into the overlay: lp-shout-pkg==0.1" in added.stdout, added.stdout + added.stderr
    state = ctx.workspace.state_dir("comfyui")
    assert (user_nodes_dir(state) / "lp-shout-node" / "__init__.py").is_file()
    assert (overlay_dir(state) / "lp_shout_pkg.py").is_file()
    listed = lorapilot(ctx, "comfyui", "nodes", "list").stdout
    assert "lp-shout-node" in listed and rev[:12] in listed

    # The pinned environment did not receive the package (the overlay is only on ComfyUI's PYTHONPATH).
    probe = subprocess.run(
        [str(python_of(env)), "-I", "-c", "import lp_shout_pkg"], capture_output=True, text=True, timeout=60
    )
    assert probe.returncode != 0 and "No module named 'lp_shout_pkg'" in probe.stderr
    assert not list(env.glob("lib/python*/site-packages/lp_shout_pkg*"))

    with running(ctx):
        wait_ready(ctx, "comfyui", timeout=300)
        base = f"http://127.0.0.1:{ctx.registry.get('comfyui').port}"
        info = httpx.get(f"{base}/object_info/LPShout", timeout=30).json()
        assert info["LPShout"]["display_name"] == "Shout (LoRA Pilot test)", info
        assert info["LPShout"]["python_module"].endswith("lp-shout-node")
        answer = httpx.post(
            f"{base}/prompt",
            json={"prompt": {"1": {"class_type": "LPShout", "inputs": {"text": "ink whale"}}}, "client_id": "t"},
            timeout=30,
        ).json()
        assert answer.get("node_errors") == {}, answer

        def finished():
            entry = httpx.get(f"{base}/history/{answer['prompt_id']}", timeout=10).json().get(answer["prompt_id"])
            return entry if entry and entry.get("status", {}).get("completed") is not None else None

        entry = wait_for(finished, timeout=120, what="ComfyUI running the LPShout graph")
        assert entry["status"]["status_str"] == "success", entry["status"]
        assert entry["outputs"]["1"]["text"] == ["INK WHALE!"]
        # The workspace folder comes first, where ComfyUI-Manager puts the nodes it installs.
        assert entry["outputs"]["1"]["custom_nodes_first"] == [str(user_nodes_dir(state))]
