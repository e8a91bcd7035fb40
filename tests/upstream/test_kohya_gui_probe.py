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
GRADIO_SELF_CHECK = "When localhost is not accessible, a shareable link must be created."
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
    values = {
        "python": str(env / "bin" / "python"),
        "host": "127.0.0.1",
        "port": str(port),
        "state": str(ws.state_dir("kohya")),
    }
    argv = [part.format(**values) for part in COMPONENT["run"]["command"]]
    assert "--noverify" in argv and str(config) in argv
    environ = {**os.environ, "HF_HUB_OFFLINE": "1"}
    environ.pop("PYTHONPATH", None)
    started = time.monotonic()
    for attempt in range(1, 3):
        log = tmp_path / f"kohya_gui.{attempt}.log"
        with log.open("w") as out:
            proc = subprocess.Popen(
                argv, cwd=src, env=environ, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            status = _probe(proc, port, log)
        except AssertionError:
            _stop(proc)
            raise
        # Gradio checks at launch that its first page answers a HEAD within 3 s (gradio/networking.py,
        # url_ok) and exits otherwise; kohya's big page misses that on a busy CPU. The process manager
        # restarts the service then, as this loop does.
        if status is not None or GRADIO_SELF_CHECK not in log.read_text():
            break
    else:
        pytest.skip(
            "the kohya_ss GUI exited twice at gradio's launch self-check (its first page took over 3 s "
            "to answer a HEAD: the CPU is too busy here); see docs/upstream.md"
        )
    print(f"\nkohya_ss GUI answered its probe after {time.monotonic() - started:.0f} s (start attempt {attempt})")
    try:
        assert status == COMPONENT["probe"]["status"], log.read_text()[-4000:]
        text = log.read_text()
        assert "Skipping requirements verification." in text and "headless: True" in text  # --noverify, --headless
        assert "Loaded default GUI values from" in text  # LoRA Pilot's config.toml ...
        # ... whose folders the GUI's fields now default to.
        ui = httpx.get(f"http://127.0.0.1:{port}/config", timeout=30).text
        assert str(ws.models / "checkpoints") in ui and str(ws.outputs / "kohya") in ui
    finally:
        _stop(proc)


def _probe(proc: subprocess.Popen, port: int, log) -> int | None:
    """The probe's status once it answers as the component expects; None when the GUI exited first."""
    probe = COMPONENT["probe"]
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return None
        try:
            status = httpx.get(f"http://127.0.0.1:{port}{probe['http']}", timeout=5).status_code
            if status == probe["status"]:
                return status
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise AssertionError(f"no answer from the kohya_ss GUI in 600 s:\n{log.read_text()[-4000:]}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
