"""``/status`` reports the CLI and its version, and whether (and where) a token is set, never the token."""

from __future__ import annotations

import hashlib
import os
import shutil

import pytest

from lorapilot.stack.workspace.secrets import read_secrets, set_secret
from support.copilot_sidecar import running_sidecar
from support.fake_copilot import FAKE_VERSION, parse_report
from support.workspaces import make_workspace

TOKEN = "github_pat_11TESTTOKEN0123456789"


def test_status_with_the_cli_and_no_token(tmp_path):
    ctx = make_workspace(tmp_path / "ws", enabled={"copilot"})
    with running_sidecar(ctx, env={"GH_TOKEN": "", "GITHUB_TOKEN": "", "COPILOT_GITHUB_TOKEN": ""}) as sc:
        with sc.client() as client:
            status = client.get("/status").json()
            health = client.get("/health").json()
    assert health == {"status": "ok"}
    assert status["cli"]["installed"] is True
    assert status["cli"]["version"] == FAKE_VERSION
    assert status["cli"]["path"] == str(tmp_path / "bin" / "copilot")
    assert status["token"] == {"configured": False, "source": None}
    assert status["cwd"] == str(ctx.workspace.root.resolve() / "outputs")
    assert status["default_cwd"] == "outputs" and status["cwd_error"] is None
    assert status["busy"] is False


def test_cli_not_installed_is_reported_and_chat_gets_503(tmp_path):
    ctx = make_workspace(tmp_path / "ws", enabled={"copilot"})
    empty_bin = tmp_path / "empty-bin"
    empty_bin.mkdir()
    path = f"{empty_bin}:/usr/bin:/bin"
    if shutil.which("copilot", path=path):
        pytest.skip("a real copilot is installed system-wide")
    with running_sidecar(ctx, bin_dir=empty_bin, fake=False, env={"PATH": path}) as sc:
        with sc.client() as client:
            status = client.get("/status").json()
            chat = client.post("/chat", json={"prompt": "hello"})
    assert status["cli"]["installed"] is False
    assert "not found" in status["cli"]["error"]
    assert "@github/copilot" in status["cli"]["install_hint"]
    assert chat.status_code == 503
    assert "npm install -g @github/copilot" in chat.json()["detail"]


def test_token_from_secrets_env_reaches_the_cli_but_never_the_api(tmp_path):
    ctx = make_workspace(tmp_path / "ws", enabled={"copilot"})
    secrets = ctx.workspace.secrets_file
    set_secret(secrets, "COPILOT_GITHUB_TOKEN", TOKEN)
    # As the launcher does: the variable is also in the sidecar's environment.
    with running_sidecar(ctx, env={"COPILOT_GITHUB_TOKEN": TOKEN, "GH_TOKEN": "", "GITHUB_TOKEN": ""}) as sc:
        with sc.client() as client:
            status = client.get("/status")
            result = client.post("/chat", json={"prompt": "who am I"}).json()
            # Removed from secrets.env: gone for the next chat, without a restart.
            from lorapilot.stack.workspace.secrets import delete_secret

            delete_secret(secrets, "COPILOT_GITHUB_TOKEN")
            after = client.post("/chat", json={"prompt": "and now"}).json()
            status_after = client.get("/status").json()
    assert status.json()["token"] == {"configured": True, "source": "secrets.env:COPILOT_GITHUB_TOKEN"}
    assert TOKEN not in status.text
    assert parse_report(result["stdout"])["token_sha256"] == hashlib.sha256(TOKEN.encode()).hexdigest()
    assert "--secret-env-vars=COPILOT_GITHUB_TOKEN,GH_TOKEN,GITHUB_TOKEN" in parse_report(result["stdout"])["argv"]
    assert parse_report(after["stdout"])["token_sha256"] is None
    assert status_after["token"] == {"configured": False, "source": None}


def test_token_from_the_cli_variables_is_reported_by_name(tmp_path):
    ctx = make_workspace(tmp_path / "ws", enabled={"copilot"})
    with running_sidecar(
        ctx, env={"COPILOT_GITHUB_TOKEN": "", "GH_TOKEN": "gho_fromenv123", "GITHUB_TOKEN": "x"}
    ) as sc:
        with sc.client() as client:
            status = client.get("/status")
            result = client.post("/chat", json={"prompt": "hi"}).json()
    assert status.json()["token"] == {"configured": True, "source": "env:GH_TOKEN"}
    assert "gho_fromenv123" not in status.text
    assert parse_report(result["stdout"])["token_sha256"] == hashlib.sha256(b"gho_fromenv123").hexdigest()
    assert read_secrets(ctx.workspace.secrets_file).get("COPILOT_GITHUB_TOKEN") is None
    assert os.environ.get("GH_TOKEN") != "gho_fromenv123"


def test_cli_is_found_in_the_manifest_env_and_in_the_workspace(tmp_path, monkeypatch):
    from lorapilot.tools.copilot.discovery import find_cli

    monkeypatch.delenv("LORAPILOT_COPILOT_CLI", raising=False)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    if shutil.which("copilot"):
        pytest.skip("a real copilot is installed system-wide")
    nix_env, state = tmp_path / "nix-env", tmp_path / "apps" / "copilot"
    assert find_cli(None, nix_env, state) is None
    from support.fake_copilot import install_fake_copilot

    local = install_fake_copilot(state / "node_modules" / ".bin")
    assert find_cli(None, nix_env, state) == str(local)
    nix = install_fake_copilot(nix_env / "bin")
    assert find_cli(None, nix_env, state) == str(nix)
    monkeypatch.setenv("LORAPILOT_COPILOT_CLI", str(local))
    assert find_cli(None, nix_env, state) == str(local)
