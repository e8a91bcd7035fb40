"""A chat request runs the CLI with the prompt on stdin and returns its output; history keeps it."""

from __future__ import annotations

import sqlite3
import time
import uuid

import pytest

from support.copilot_sidecar import read_sse, running_sidecar
from support.fake_copilot import parse_report
from support.workspaces import make_workspace


@pytest.fixture(scope="module")
def sidecar(tmp_path_factory):
    ctx = make_workspace(tmp_path_factory.mktemp("roundtrip") / "ws", enabled={"copilot"})
    with running_sidecar(ctx) as sc:
        yield sc


def test_prompt_goes_on_stdin_and_output_comes_back(sidecar):
    prompt = "write a ComfyUI workflow that uses my LoRA\nfake: stdout the answer\nfake: stderr a warning\n"
    with sidecar.client() as client:
        resp = client.post("/chat", json={"prompt": prompt})
    assert resp.status_code == 200, resp.text
    result = resp.json()
    report = parse_report(result["stdout"])
    assert report["stdin"] == prompt
    assert "the answer" in result["stdout"]
    assert result["stderr"].strip() == "a warning"
    assert result["exit_code"] == 0 and result["status"] == "ok" and not result["timed_out"]
    assert result["duration_s"] > 0
    # Runs in the default folder (outputs), non-interactive, without colour or updates, in its own session id.
    assert report["cwd"] == str(sidecar.ctx.workspace.root.resolve() / "outputs")
    assert result["cwd"] == "outputs"
    argv = report["argv"]
    assert {"--no-color", "--no-auto-update", "--disallow-temp-dir"} <= set(argv)
    assert f"--session-id={result['conversation_id']}" in argv
    assert not any(a.startswith("--allow") for a in argv), "no tool permission unless asked for"
    assert not any(prompt.splitlines()[0] in a for a in argv), "the prompt must not be on the command line"
    assert report["env"] == {
        "COPILOT_HOME": str(sidecar.ctx.workspace.state_dir("copilot") / "home"),
        "NO_COLOR": "1",
        "COPILOT_AUTO_UPDATE": "false",
        "COPILOT_ALLOW_ALL": None,
    }


def test_exit_code_of_a_failing_cli_is_returned(sidecar):
    with sidecar.client() as client:
        resp = client.post(
            "/chat", json={"prompt": "fake: stderr Error: No authentication information found.\nfake: exit 3"}
        )
    result = resp.json()
    assert resp.status_code == 200
    assert result["exit_code"] == 3 and result["status"] == "error"
    assert "No authentication" in result["stderr"]


def test_history_records_prompt_answer_cwd_and_time(sidecar):
    (sidecar.ctx.workspace.root / "datasets" / "cats").mkdir(parents=True, exist_ok=True)
    with sidecar.client() as client:
        result = client.post("/chat", json={"prompt": "why did my training OOM?", "cwd": "datasets/cats"}).json()
        entry = client.get(f"/history/{result['id']}").json()
        listed = client.get("/history", params={"conversation_id": result["conversation_id"]}).json()["entries"]
        missing = client.get("/history/999999")
    assert entry["prompt"] == "why did my training OOM?"
    assert entry["answer"] == result["stdout"]
    assert entry["cwd"] == "datasets/cats"
    assert entry["exit_code"] == 0 and entry["status"] == "ok"
    assert entry["started_at"] > 1.7e9 and entry["duration_s"] == result["duration_s"]
    assert [e["id"] for e in listed] == [result["id"]]
    assert missing.status_code == 404
    # It is a real SQLite file in the workspace.
    db = sidecar.ctx.workspace.root / "apps" / "copilot" / "history.db"
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT prompt, cwd, status FROM chats WHERE id = ?", (result["id"],)).fetchone()
    assert row == ("why did my training OOM?", "datasets/cats", "ok")


def test_a_conversation_continues_the_same_copilot_session(sidecar):
    conversation = str(uuid.uuid4())
    with sidecar.client() as client:
        first = client.post("/chat", json={"prompt": "first", "conversation_id": conversation}).json()
        second = client.post("/chat", json={"prompt": "second", "conversation_id": conversation}).json()
        conversations = client.get("/conversations").json()["conversations"]
        bad = client.post("/chat", json={"prompt": "x", "conversation_id": "not-a-uuid"})
    for result in (first, second):
        assert result["conversation_id"] == conversation
        assert f"--session-id={conversation}" in parse_report(result["stdout"])["argv"]
    mine = [c for c in conversations if c["conversation_id"] == conversation]
    assert mine and mine[0]["messages"] == 2 and mine[0]["title"] == "first"
    assert bad.status_code == 400 and "not-a-uuid" in bad.json()["detail"]


def test_output_streams_over_sse_before_the_run_ends(sidecar):
    prompt = "fake: stdout line one\nfake: sleep 1.5\nfake: stdout line two\n"
    events = []
    with sidecar.client() as client:
        with client.stream("POST", "/chat", json={"prompt": prompt, "stream": True}) as resp:
            assert resp.status_code == 200
            assert resp.headers["content-type"].startswith("text/event-stream")
            for kind, data in read_sse(resp.iter_lines()):
                if kind == "output" and "line one" in data["text"]:
                    # Still running while the first line is already here: it streamed.
                    assert client.get("/status").json()["busy"] is True
                events.append((kind, data))
    kinds = [k for k, _ in events]
    assert kinds[0] == "start" and kinds[-1] == "end" and "output" in kinds
    streamed = "".join(d["text"] for k, d in events if k == "output" and d["stream"] == "stdout")
    end = events[-1][1]
    assert streamed == end["stdout"]
    assert streamed.index("line one") < streamed.index("line two")
    assert end["status"] == "ok"


def test_accept_header_asks_for_sse_too(sidecar):
    with sidecar.client() as client:
        with client.stream("POST", "/chat", json={"prompt": "hi"}, headers={"Accept": "text/event-stream"}) as resp:
            kinds = [k for k, _ in read_sse(resp.iter_lines())]
    assert kinds[0] == "start" and kinds[-1] == "end"


def test_bad_requests_name_the_field(sidecar):
    with sidecar.client() as client:
        empty = client.post("/chat", json={"prompt": "   "})
        unknown = client.post("/chat", json={"prompt": "x", "yolo": True})
        too_long = client.post("/chat", json={"prompt": "x", "timeout_s": 10**6})
        bad_model = client.post("/chat", json={"prompt": "x", "model": "--yolo"})
    assert empty.status_code == 400 and "prompt" in empty.json()["detail"]
    assert unknown.status_code == 422 and "yolo" in unknown.text
    assert too_long.status_code == 400 and "timeout_s" in too_long.json()["detail"]
    assert bad_model.status_code == 400 and "--yolo" in bad_model.json()["detail"]


def test_a_closed_stream_does_not_lose_the_answer(sidecar):
    """The drawer may close mid-answer: the run goes on and its answer lands in the history."""
    prompt = "fake: stdout first part\nfake: sleep 1\nfake: stdout last part\n"
    with sidecar.client() as client:
        with client.stream("POST", "/chat", json={"prompt": prompt, "stream": True}) as resp:
            for kind, data in read_sse(resp.iter_lines()):
                if kind == "start":
                    entry_id = data["id"]
                    break  # leave: the connection closes here
        start = time.monotonic()
        while client.get(f"/history/{entry_id}").json()["status"] == "running":
            assert time.monotonic() - start < 30, "the run never finished"
            time.sleep(0.1)
        entry = client.get(f"/history/{entry_id}").json()
    assert entry["status"] == "ok"
    assert "last part" in entry["answer"]
