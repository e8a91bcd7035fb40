"""The real InvokeAI (from the package index at the version components/invokeai pins) starts with the
invokeai.yaml LoRA Pilot writes, and ``lorapilot models sync-invokeai`` registers store models in place
through InvokeAI's own model-install API; they then appear in its model list with their store paths.

Environment: Python 3.11 + torch 2.13.0 + ``invokeai==<pin>`` (cached under .cache/upstream/invokeai)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import tomllib

import httpx
import pytest

from lorapilot.stack.workspace.appconfig import write_invokeai_yaml
from support import model_files as mf
from support.workspaces import REPO_ROOT, free_port, make_workspace
from upstream import _trainers

pytestmark = [pytest.mark.upstream, pytest.mark.slow, pytest.mark.e2e, pytest.mark.timeout(1200)]
PIN = tomllib.loads((REPO_ROOT / "components" / "invokeai" / "component.toml").read_text())["source"]["version"]


@pytest.fixture(scope="module")
def invokeai_env():
    return _trainers.build_env("invokeai", [f"invokeai=={PIN}"])


def _wait_up(url: str, proc: subprocess.Popen, log, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"invokeai-web exited with {proc.returncode}:\n{log.read_text()[-4000:]}"
        try:
            reply = httpx.get(f"{url}/api/v1/app/version", timeout=5)
            if reply.status_code == 200:
                return reply.json()
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise AssertionError(f"InvokeAI did not answer in {timeout:.0f} s:\n{log.read_text()[-4000:]}")


def test_invokeai_starts_with_our_yaml_and_lists_synced_store_models(tmp_path, invokeai_env):
    ctx = make_workspace(tmp_path / "ws", enabled={"invokeai"})
    ws = ctx.workspace
    port = free_port()
    yaml_path, _ = write_invokeai_yaml(ws, "127.0.0.1", port)
    lora = mf.write_model(ws.models / "loras" / "pixel-style.safetensors", mf.kohya_lora_sd1(), mf.LORA_METADATA)

    root = ws.state_dir("invokeai")
    log = tmp_path / "invokeai.log"
    env = {**os.environ, "INVOKEAI_ROOT": str(root), "HF_HUB_OFFLINE": "1"}
    env.pop("PYTHONPATH", None)
    started = time.monotonic()
    with log.open("w") as out:  # the component's own command line (components/invokeai/component.toml)
        proc = subprocess.Popen(
            [str(invokeai_env / "bin" / "invokeai-web"), "--root", str(root)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        version = _wait_up(url, proc, log)
        print(f"\nInvokeAI {version['version']} answered after {time.monotonic() - started:.0f} s")
        assert version["version"] == PIN
        # It read our invokeai.yaml: the port answered is ours, outputs go where LoRA Pilot indexes them.
        config = httpx.get(f"{url}/api/v1/app/runtime_config", timeout=10).json()["config"]
        assert config["outputs_dir"] == str(ws.outputs / "invoke") and config["port"] == port

        sync = subprocess.run(
            [
                sys.executable,
                "-m",
                "lorapilot",
                "models",
                "sync-invokeai",
                "--workspace",
                str(ws.root),
                "--url",
                url,
                "--wait",
                "60",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "python")},
        )
        assert sync.returncode == 0, sync.stdout + sync.stderr
        assert f"registered {lora}" in sync.stdout, sync.stdout

        models = httpx.get(f"{url}/api/v2/models/", timeout=30).json()["models"]
        by_path = {m["path"]: m for m in models}
        assert str(lora) in by_path, [m["path"] for m in models]  # in place: InvokeAI did not copy it
        assert (by_path[str(lora)]["type"], by_path[str(lora)]["base"]) == ("lora", "sd-1")

        again = subprocess.run(
            [sys.executable, "-m", "lorapilot", "models", "sync-invokeai", "--workspace", str(ws.root), "--url", url],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "python")},
        )
        assert "0 registered, 1 already there" in again.stdout, again.stdout
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert yaml_path.is_file()
