"""The real kohya_ss GUI (pinned tree from ../shared/vendor/, sd-scripts as its submodule) starts with the
command line and config.toml LoRA Pilot gives it, and its readiness probe (components/kohya) passes.

Environment: Python 3.11 + torch 2.13.0 + kohya_ss' requirements.txt (cached under .cache/upstream/kohya-gui)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import tomllib

import httpx
import pytest

from lorapilot.stack.workspace.appconfig import write_kohya_config
from support.workspaces import REPO_ROOT, free_port, make_workspace
from upstream import _trainers

pytestmark = [pytest.mark.upstream, pytest.mark.slow, pytest.mark.e2e, pytest.mark.timeout(900)]
COMPONENT = tomllib.loads((REPO_ROOT / "components" / "kohya" / "component.toml").read_text())


@pytest.fixture(scope="module")
def kohya_gui():
    src = _trainers.kohya_gui_tree()
    return _trainers.build_env("kohya-gui", _trainers.requirements_of(src)), src


def test_kohya_gui_starts_and_its_probe_passes(tmp_path, kohya_gui):
    env, src = kohya_gui
    ctx = make_workspace(tmp_path / "ws", enabled={"kohya"})
    ws = ctx.workspace
    config, _ = write_kohya_config(ws)
    port = free_port()
    values = {"python": str(env / "bin" / "python"), "host": "127.0.0.1", "port": str(port), "state": str(ws.state_dir("kohya"))}
    argv = [part.format(**values) for part in COMPONENT["run"]["command"]]
    assert "--noverify" in argv and str(config) in argv
    log = tmp_path / "kohya_gui.log"
    environ = {**os.environ, "HF_HUB_OFFLINE": "1"}
    environ.pop("PYTHONPATH", None)
    started = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.Popen(argv, cwd=src, env=environ, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    probe = COMPONENT["probe"]
    try:
        deadline = time.monotonic() + 600
        status = None
        while time.monotonic() < deadline and status != probe["status"]:
            assert proc.poll() is None, f"kohya_gui.py exited with {proc.returncode}:\n{log.read_text()[-4000:]}"
            try:
                status = httpx.get(f"http://127.0.0.1:{port}{probe['http']}", timeout=5).status_code
            except httpx.HTTPError:
                time.sleep(1)
        print(f"\nkohya_ss GUI answered its probe after {time.monotonic() - started:.0f} s")
        assert status == probe["status"], log.read_text()[-4000:]
        text = log.read_text()
        assert "Skipping requirements verification." in text and "headless: True" in text  # --noverify, --headless
        # It read LoRA Pilot's config.toml: the GUI's fields default to the shared store's folders.
        ui = httpx.get(f"http://127.0.0.1:{port}/config", timeout=30).text
        assert str(ws.models / "checkpoints") in ui and str(ws.outputs / "kohya") in ui
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
