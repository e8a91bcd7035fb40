"""Stopping the sidecar mid-chat (SIGTERM, or even SIGKILL) leaves no Copilot process behind."""

from __future__ import annotations

import signal
import threading

import psutil

from support.copilot_sidecar import is_dead, read_sse, running_sidecar
from support.workspaces import make_workspace


def _chat_until_ready(sidecar, prompt: str, ready: threading.Event, seen: list) -> threading.Thread:
    def run():
        try:
            with sidecar.client() as client:
                with client.stream("POST", "/chat", json={"prompt": prompt, "stream": True}) as resp:
                    stdout = ""
                    for kind, data in read_sse(resp.iter_lines()):
                        seen.append(kind)
                        if kind == "output":
                            stdout += data["text"]
                            if "ready" in stdout.splitlines():
                                ready.set()
        except Exception as exc:  # the connection drops when the sidecar dies
            seen.append(type(exc).__name__)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_sigterm_cancels_the_running_chat_first(tmp_path):
    ctx = make_workspace(tmp_path / "ws", enabled={"copilot"})
    pids = tmp_path / "child.pid", tmp_path / "escaped.pid"
    prompt = f"fake: child {pids[0]}\nfake: escaped-child {pids[1]}\nfake: stdout ready\nfake: sleep 120\n"
    ready, seen = threading.Event(), []
    with running_sidecar(ctx) as sc:
        thread = _chat_until_ready(sc, prompt, ready, seen)
        assert ready.wait(30)
        cli = [p.pid for p in psutil.Process(sc.proc.pid).children(recursive=True)]
        sc.proc.send_signal(signal.SIGTERM)
        sc.proc.wait(timeout=30)  # uvicorn re-raises SIGTERM after its graceful shutdown
        thread.join(30)
    assert "Application shutdown complete" in sc.log.read_text()
    assert "end" in seen, "the stream ended with the cancelled result"
    for pid in [*cli, *(int(p.read_text()) for p in pids)]:
        assert is_dead(pid), f"pid {pid} survived the sidecar"
    with running_sidecar(ctx) as sc, sc.client() as client:
        entries = client.get("/history").json()["entries"]
    assert entries[0]["status"] == "cancelled"


def test_after_a_sigkill_the_next_sidecar_kills_what_was_left(tmp_path):
    ctx = make_workspace(tmp_path / "ws", enabled={"copilot"})
    escaped = tmp_path / "escaped.pid"
    prompt = f"fake: escaped-child {escaped}\nfake: stdout ready\nfake: sleep 120\n"
    ready, seen = threading.Event(), []
    with running_sidecar(ctx) as sc:
        thread = _chat_until_ready(sc, prompt, ready, seen)
        assert ready.wait(30)
        cli = [p.pid for p in psutil.Process(sc.proc.pid).children(recursive=True)]
        sc.proc.kill()
        sc.proc.wait(timeout=30)
        thread.join(30)
    leftovers = [pid for pid in [*cli, int(escaped.read_text())] if not is_dead(pid)]
    assert leftovers, "SIGKILL gives the sidecar no chance to clean up"
    with running_sidecar(ctx) as sc, sc.client() as client:
        entries = client.get("/history").json()["entries"]
        status = client.get("/status").json()
    assert [pid for pid in leftovers if not is_dead(pid)] == []
    assert entries[0]["status"] == "interrupted"
    assert status["busy"] is False
    assert not (ctx.workspace.state_dir("copilot") / "running.json").exists()
