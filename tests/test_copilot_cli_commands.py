"""``lorapilot copilot status|ask|history``: the same library as the sidecar, from a terminal."""

from __future__ import annotations

import os
import subprocess
import sys

from lorapilot.stack.workspace.secrets import set_secret
from support.fake_copilot import FAKE_VERSION, install_fake_copilot, parse_report, path_with
from support.workspaces import make_workspace


def _run(ctx, bin_dir, *args, stdin: str | None = None, extra_env: dict | None = None):
    env = {**os.environ, "PATH": path_with(bin_dir), "COPILOT_GITHUB_TOKEN": "", "GH_TOKEN": "", "GITHUB_TOKEN": ""}
    env.update(extra_env or {})
    return subprocess.run(
        [sys.executable, "-m", "lorapilot", "copilot", *args, "--workspace", str(ctx.workspace.root)],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_status_ask_and_history(tmp_path):
    ctx = make_workspace(tmp_path / "ws", enabled={"copilot"})
    bin_dir = tmp_path / "bin"
    install_fake_copilot(bin_dir)
    (ctx.workspace.root / "datasets").mkdir(exist_ok=True)

    status = _run(ctx, bin_dir, "status")
    assert status.returncode == 0
    assert f"version {FAKE_VERSION}" in status.stdout
    assert "token:  not configured" in status.stdout

    set_secret(ctx.workspace.secrets_file, "COPILOT_GITHUB_TOKEN", "github_pat_cli_secret_value")
    status = _run(ctx, bin_dir, "status")
    assert "configured from secrets.env:COPILOT_GITHUB_TOKEN" in status.stdout
    assert "github_pat_cli_secret_value" not in status.stdout

    asked = _run(
        ctx, bin_dir, "ask", "what is in here?\nfake: stdout an answer", "--cwd", "datasets", "--allow-tool", "write"
    )
    assert asked.returncode == 0, asked.stderr
    report = parse_report(asked.stdout)
    assert report["stdin"] == "what is in here?\nfake: stdout an answer"
    assert report["cwd"] == str((ctx.workspace.root / "datasets").resolve())
    assert "--allow-tool=write" in report["argv"]
    assert "an answer" in asked.stdout
    assert "[conversation " in asked.stderr and ", ok," in asked.stderr

    piped = _run(ctx, bin_dir, "ask", stdin="from stdin\nfake: exit 4")
    assert piped.returncode == 4
    assert parse_report(piped.stdout)["stdin"] == "from stdin\nfake: exit 4"

    listing = _run(ctx, bin_dir, "history")
    assert listing.returncode == 0
    assert "what is in here?" in listing.stdout and "from stdin" in listing.stdout
    conversation = listing.stdout.split()[0]
    one = _run(ctx, bin_dir, "history", "--conversation", conversation)
    assert "> from stdin" in one.stdout and "[error, exit 4]" in one.stdout


def test_user_mistakes_are_one_line_errors(tmp_path):
    ctx = make_workspace(tmp_path / "ws", enabled={"copilot"})
    bin_dir = tmp_path / "bin"
    install_fake_copilot(bin_dir)
    escape = _run(ctx, bin_dir, "ask", "hi", "--cwd", "../..")
    assert escape.returncode == 1
    assert escape.stderr.startswith("error: path '../..' is outside")
    assert "Traceback" not in escape.stderr
    yolo = _run(ctx, bin_dir, "ask", "hi", "--allow-tool", "shell")
    assert yolo.returncode == 1 and "--permit-allow-all" in yolo.stderr
    missing = _run(ctx, tmp_path / "empty", "ask", "hi", extra_env={"PATH": f"{tmp_path / 'empty'}:/usr/bin:/bin"})
    assert missing.returncode == 1 and "npm install -g @github/copilot" in missing.stderr
