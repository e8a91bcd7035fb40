"""A timeout (or a cancel) kills the CLI's whole process group, and nothing it started is left."""

from __future__ import annotations

import threading
import time

import psutil
import pytest

from support.copilot_sidecar import is_dead, read_sse, running_sidecar
from support.workspaces import make_workspace


@pytest.fixture(scope="module")
def sidecar(tmp_path_factory):
    ctx = make_workspace(tmp_path_factory.mktemp("timeout") / "ws", enabled={"copilot"})
    with running_sidecar(ctx) as sc:
        yield sc


def _cli_pids(sidecar) -> list[int]:
    """The sidecar's child processes (the running CLI and anything under it)."""
    return [p.pid for p in psutil.Process(sidecar.proc.pid).children(recursive=True)]


def test_timeout_kills_the_cli_its_children_and_escaped_descendants(sidecar, tmp_path):
    child_pid, escaped_pid = tmp_path / "child.pid", tmp_path / "escaped.pid"
    prompt = f"fake: child {child_pid}\nfake: escaped-child {escaped_pid}\nfake: stdout started\nfake: sleep 120\n"
    seen: list[int] = []

    def watch():  # note the CLI's pid while it runs
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not seen:
            seen.extend(_cli_pids(sidecar))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    started = time.monotonic()
    with sidecar.client() as client:
        result = client.post("/chat", json={"prompt": prompt, "timeout_s": 3}).json()
    watcher.join()
    assert result["status"] == "timeout" and result["timed_out"] is True
    assert result["exit_code"] is not None and result["exit_code"] < 0, "killed by a signal"
    assert "started" in result["stdout"], "output before the timeout is kept"
    assert time.monotonic() - started < 60, "the 120 s sleep did not run to its end"
    pids = [int(child_pid.read_text()), int(escaped_pid.read_text()), *seen]
    assert len(pids) >= 3
    leftovers = [pid for pid in pids if not is_dead(pid)]
    assert leftovers == [], f"processes left alive: {leftovers}"
    assert _cli_pids(sidecar) == []
    with sidecar.client() as client:
        entry = client.get(f"/history/{result['id']}").json()
        status = client.get("/status").json()
    assert entry["status"] == "timeout"
    assert status["busy"] is False


def test_cancel_stops_a_running_chat(sidecar, tmp_path):
    child_pid = tmp_path / "child.pid"
    prompt = f"fake: child {child_pid}\nfake: stdout ready\nfake: sleep 120\n"
    with sidecar.client() as client:
        with client.stream("POST", "/chat", json={"prompt": prompt, "stream": True}) as resp:
            stdout = ""
            for kind, data in read_sse(resp.iter_lines()):
                if kind == "output" and data["stream"] == "stdout":
                    stdout += data["text"]
                    if "ready" in stdout.splitlines():  # the line, not the prompt's echo
                        cancelled = client.post("/chat/cancel").json()
                        assert cancelled["cancelled"] is True
                if kind == "end":
                    end = data
                    break
        nothing = client.post("/chat/cancel").json()
    assert end["status"] == "cancelled"
    assert is_dead(int(child_pid.read_text()))
    assert nothing == {"cancelled": False, "running": None}


def test_processes_left_behind_after_a_normal_exit_are_killed(sidecar, tmp_path):
    child_pid = tmp_path / "child.pid"
    with sidecar.client() as client:
        result = client.post("/chat", json={"prompt": f"fake: escaped-child {child_pid}\nfake: stdout bye"}).json()
    assert result["status"] == "ok"
    assert is_dead(int(child_pid.read_text()))
