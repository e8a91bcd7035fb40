"""``lorapilot install native-trainer``: the train extra into the interpreter the native trainer
runs in, torch from the CPU index on a machine without a GPU; and uv found beside the interpreter.

The package indexes are local (PEP 503 on loopback) serving tiny wheels named like the real ones.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lorapilot.stack.install import native_trainer
from support.upstreams import SimpleIndex, make_wheel

NAMES = {
    "torch": "2.9.1",  # the shared stack's (components/stack.toml)
    "diffusers": "0.31.0",
    "peft": "0.13.0",
    "accelerate": "1.0.0",
    "safetensors": "0.4.0",
    "transformers": "4.44.0",
    "tensorboard": "2.17.0",
}


def _bare_venv(path: Path) -> Path:
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--without-pip", str(path)], check=True)
    return path / "bin" / "python"


def test_uv_is_found_beside_the_interpreter_when_not_on_path(tmp_path):
    # A venv's bin/ (where `pip install uv` puts it) is often not on PATH.
    beside = Path(sys.executable).parent / "uv"
    if not beside.exists():
        pytest.skip("this test environment has no uv beside its interpreter")
    probe = "from lorapilot.stack.install.tools import require; print(require('uv', 'test'))"
    env = {**os.environ, "PATH": str(tmp_path)}  # nothing on PATH at all
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(beside)


def test_the_commands_take_cpu_torch_first_without_a_gpu():
    reqs = native_trainer.train_requirements()
    assert any(r.startswith("torch") for r in reqs) and any(r.startswith("diffusers") for r in reqs)
    cpu = native_trainer.install_commands("uv", Path("/p/python"), gpu=False)
    assert len(cpu) == 2 and cpu[0][cpu[0].index("--index-url") + 1] == native_trainer.TORCH_CPU_INDEX
    assert [a for a in cpu[0][7:]] == [r for r in reqs if r.startswith("torch")] + ["torch==2.9.1"]  # the stack's torch
    gpu = native_trainer.install_commands("uv", Path("/p/python"), gpu=True)
    assert len(gpu) == 1 and "--index-url" not in gpu[0]


@pytest.mark.slow
def test_cli_installs_the_train_extra_into_the_trainers_interpreter(tmp_path):
    python = _bare_venv(tmp_path / "env")
    wheels = [
        make_wheel(tmp_path / "wheels", name, version, f"VERSION = {version!r}\n") for name, version in NAMES.items()
    ]
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"components": {}, "lorapilot_python": str(python)}))
    before = native_trainer.missing_modules(python)
    assert set(before) == set(native_trainer.NEEDED_MODULES)
    with SimpleIndex(wheels) as index:
        url = f"{index.url}/simple"
        env = {
            **os.environ,
            "LORAPILOT_MANIFEST": str(manifest),
            "LORAPILOT_TORCH_CPU_INDEX": url,
            "UV_DEFAULT_INDEX": url,
            "UV_CACHE_DIR": str(tmp_path / "uv-cache"),
            "UV_OFFLINE": "0",
        }
        done = subprocess.run(
            [sys.executable, "-m", "lorapilot", "install", "native-trainer", "-w", str(tmp_path / "ws")],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"into {python}" in done.stdout
    assert native_trainer.missing_modules(python) == []
    torch_requests = [r for r in index.requests if r.startswith("/simple/torch")]
    assert torch_requests, index.requests
