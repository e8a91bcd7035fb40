"""One chat at a time per workspace: a second one gets 429, in the same sidecar or another process."""

from __future__ import annotations

import asyncio
import threading

import pytest

from lorapilot.tools.copilot.command import ChatOptions
from lorapilot.tools.copilot.service import ChatBusy, ChatService
from support.copilot_sidecar import read_sse, running_sidecar
from support.fake_copilot import install_fake_copilot
from support.workspaces import make_workspace


@pytest.fixture
def sidecar(tmp_path):
    ctx = make_workspace(tmp_path / "ws", enabled={"copilot"})
    with running_sidecar(ctx) as sc:
        yield sc


def _start_long_chat(sidecar, ready: threading.Event, results: list) -> threading.Thread:
    def run():
        with sidecar.client() as client:
            with client.stream(
                "POST", "/chat", json={"prompt": "fake: stdout busy\nfake: sleep 60", "stream": True}
            ) as resp:
                stdout = ""
                for kind, data in read_sse(resp.iter_lines()):
                    if kind == "output":
                        stdout += data["text"]
                        if "busy" in stdout.splitlines():
                            ready.set()
                    if kind == "end":
                        results.append(data)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_second_chat_gets_429_while_one_runs(sidecar):
    ready, results = threading.Event(), []
    thread = _start_long_chat(sidecar, ready, results)
    try:
        assert ready.wait(30)
        with sidecar.client() as client:
            second = client.post("/chat", json={"prompt": "me too"})
            assert second.status_code == 429
            assert second.headers["retry-after"]
            body = second.json()
            assert "already running" in body["detail"]
            status = client.get("/status").json()
            assert status["busy"] is True
            assert body["running"]["id"] == status["running"]["id"]
            client.post("/chat/cancel")
    finally:
        thread.join(30)
    assert results and results[0]["status"] == "cancelled"
    with sidecar.client() as client:
        after = client.post("/chat", json={"prompt": "now it is my turn"})
    assert after.status_code == 200 and after.json()["status"] == "ok"


def test_another_process_on_the_same_workspace_is_refused(sidecar, tmp_path):
    """The workspace lock (apps/copilot/chat.lock) holds across processes: here the CLI-side library."""
    ready, results = threading.Event(), []
    thread = _start_long_chat(sidecar, ready, results)
    try:
        assert ready.wait(30)
        fake = install_fake_copilot(tmp_path / "bin2")
        service = ChatService(sidecar.ctx.workspace, cli=str(fake))

        async def attempt():
            try:
                await service.start(ChatOptions(prompt="from another process"))
            finally:
                await service.shutdown()

        with pytest.raises(ChatBusy, match="chat.lock"):
            asyncio.run(attempt())
    finally:
        with sidecar.client() as client:
            client.post("/chat/cancel")
        thread.join(30)
