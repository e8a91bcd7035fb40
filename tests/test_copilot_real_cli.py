"""The real GitHub Copilot CLI accepts the command line the sidecar builds.

Runs only where the real binary is available: set ``LORAPILOT_REAL_COPILOT``
to it (e.g. the ``copilot`` file of the npm package
``@github/copilot-linux-x64``, 1.0.102). No GitHub access is needed: the CLI
runs in its bring-your-own-model mode against a local OpenAI-compatible stub.
"""

from __future__ import annotations

import json
import os
import uuid

import psutil
import pytest

from lorapilot.stack.workspace.secrets import set_secret
from support.copilot_sidecar import running_sidecar
from support.fake_openai import FakeOpenAI
from support.workspaces import make_workspace

REAL_CLI = os.environ.get("LORAPILOT_REAL_COPILOT")
pytestmark = pytest.mark.skipif(
    not REAL_CLI or not os.access(REAL_CLI, os.X_OK),
    reason="set LORAPILOT_REAL_COPILOT to the real copilot executable (npm @github/copilot-linux-x64)",
)


@pytest.fixture
def real_sidecar(tmp_path):
    ctx = make_workspace(tmp_path / "ws", enabled={"copilot"})
    (ctx.workspace.root / "datasets" / "cats").mkdir(parents=True)
    with FakeOpenAI() as api:
        with running_sidecar(ctx, fake=False, env=_byok_env(api)) as sc:
            yield sc, api


def _byok_env(api: FakeOpenAI) -> dict[str, str]:
    """The real CLI in bring-your-own-model mode against ``api``, no GitHub token."""
    return {
        "LORAPILOT_COPILOT_CLI": REAL_CLI,
        "COPILOT_OFFLINE": "true",
        "COPILOT_PROVIDER_BASE_URL": api.base_url,
        "COPILOT_MODEL": "fake-model",
        "COPILOT_GITHUB_TOKEN": "",
        "GH_TOKEN": "",
        "GITHUB_TOKEN": "",
    }


def test_real_cli_answers_and_keeps_the_conversation(real_sidecar):
    sidecar, api = real_sidecar
    conversation = str(uuid.uuid4())
    body = {
        "cwd": "datasets/cats",
        "add_dirs": ["datasets"],
        "allow_tools": ["write", "shell(ls)"],
        "deny_tools": ["shell(rm)"],
        "model": "fake-model",
        "conversation_id": conversation,
        "timeout_s": 120,
    }
    with sidecar.client(timeout=180) as client:
        status = client.get("/status").json()
        first = client.post("/chat", json={**body, "prompt": "first question"}).json()
        second = client.post("/chat", json={**body, "prompt": "second question"}).json()
    assert status["cli"]["installed"] and status["cli"]["version"].startswith("1.")
    assert first["status"] == "ok", first
    assert "ANSWER: first question" in first["stdout"]
    assert "ANSWER: second question" in second["stdout"]
    # --session-id resumed the session: the model saw the first turn again.
    last_request = " ".join(api.user_texts()[-3:])
    assert "first question" in last_request and "second question" in last_request
    assert f"--resume={conversation}" in second["stderr"]


def test_real_cli_is_killed_on_timeout(real_sidecar):
    sidecar, api = real_sidecar
    with sidecar.client(timeout=180) as client:
        result = client.post("/chat", json={"prompt": "HANG please", "timeout_s": 8}).json()
    assert result["status"] == "timeout"
    leftovers = [
        p for p in psutil.Process(sidecar.proc.pid).children(recursive=True) if p.status() != psutil.STATUS_ZOMBIE
    ]
    assert leftovers == []


def _touch(name: str) -> str:
    """A prompt whose model answer is a shell tool call that creates ``name``."""
    call = {
        "name": "bash",
        "args": {"command": f"touch {name}", "description": "make a file", "mode": "sync", "initial_wait": 10},
    }
    return f"CALL {json.dumps(call)}\nplease make the file"


def test_real_cli_denies_tools_that_were_not_allowed(tmp_path):
    # COPILOT_ALLOW_ALL=true in the service's environment must not lift the checks either.
    ctx = make_workspace(tmp_path / "ws", enabled={"copilot"})
    work = ctx.workspace.root / "datasets"
    work.mkdir(parents=True)
    set_secret(ctx.workspace.secrets_file, "HF_TOKEN", "hf_not_a_real_secret_123")
    with FakeOpenAI() as api:
        env = {**_byok_env(api), "COPILOT_ALLOW_ALL": "true"}
        with running_sidecar(ctx, fake=False, env=env) as sidecar, sidecar.client(timeout=180) as client:
            denied = client.post(
                "/chat", json={"prompt": _touch("denied.txt"), "cwd": "datasets", "timeout_s": 120}
            ).json()
            allowed = client.post(
                "/chat",
                json={
                    "prompt": _touch("allowed.txt"),
                    "cwd": "datasets",
                    "allow_tools": ["shell(touch)"],
                    "timeout_s": 120,
                },
            ).json()
            # The default folder (outputs) does not hold config/: the secrets stay unread.
            secrets = ctx.workspace.secrets_file
            view = {"name": "view", "args": {"path": str(secrets)}}
            peek = client.post("/chat", json={"prompt": f"CALL {json.dumps(view)}\nshow it", "timeout_s": 120}).json()
    assert denied["status"] == "ok", denied
    assert "TOOL RESULT: Permission denied" in denied["stdout"]
    assert not (work / "denied.txt").exists()
    assert allowed["status"] == "ok", allowed
    assert (work / "allowed.txt").exists()
    assert peek["status"] == "ok", peek
    assert "TOOL RESULT: Permission denied" in peek["stdout"]
    assert "hf_not_a_real_secret_123" not in peek["stdout"]
