"""What the README's model commands meet first: `models inspect loras/x.safetensors` from anywhere, and
`models pull hf:...` with no network ending in one clear line."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from support import model_files as mf
from support.workspaces import make_workspace


def _run(args, cwd, env=None):
    return subprocess.run(
        [sys.executable, "-m", "lorapilot", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_inspect_finds_a_store_path_from_any_folder(tmp_path):
    ctx = make_workspace(tmp_path / "ws")
    mf.write_model(ctx.workspace.models / "loras" / "pixel.safetensors", mf.kohya_lora_sd1(), mf.LORA_METADATA)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = _run(
        ["models", "inspect", "loras/pixel.safetensors", "--no-hash", "--json", "-w", str(ctx.workspace.root)],
        elsewhere,
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["summary"]["family"] == "sd1"

    missing = _run(["models", "inspect", "loras/none.safetensors", "-w", str(ctx.workspace.root)], elsewhere)
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert "loras/none.safetensors: no such file, neither from the current folder nor in the store" in missing.stderr
    escape = _run(["models", "inspect", "../config/lorapilot.toml", "-w", str(ctx.workspace.root)], elsewhere)
    assert escape.returncode == 1 and "no such file" in escape.stderr  # never read outside the store


def test_pull_offline_ends_in_one_clear_line(tmp_path):
    ctx = make_workspace(tmp_path / "ws")
    r = _run(
        ["models", "pull", "hf:owner/repo/x.safetensors", "-w", str(ctx.workspace.root)],
        tmp_path,
        env={"HF_ENDPOINT": "http://lorapilot-offline.invalid"},
    )
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(
        "error: cannot reach Hugging Face (http://lorapilot-offline.invalid)"
    )
