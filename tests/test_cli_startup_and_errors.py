"""The CLI starts light and turns user mistakes into one clear line."""

import subprocess
import sys

import pytest

HEAVY = (
    "torch",
    "diffusers",
    "transformers",
    "peft",
    "accelerate",
    "onnxruntime",
    "onnx",
    "numpy",
    "scipy",
    "cv2",
    "fastapi",
    "starlette",
    "uvicorn",
    "PIL",
    "safetensors",
    "huggingface_hub",
    "pynvml",
    "watchfiles",
)


def _run(*args, env=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "lorapilot", *args], capture_output=True, text=True, env=env, cwd=cwd)


def test_help_imports_no_heavy_module():
    code = (
        "import sys\n"
        "from lorapilot.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "Usage: lorapilot" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_every_command_help_imports_no_heavy_module():
    code = (
        "import sys\n"
        "from lorapilot.cli import COMMANDS, main\n"
        "for name in sorted(COMMANDS):\n"
        "    try:\n        main([name, '--help'])\n    except SystemExit:\n        pass\n"
        f"    heavy = sorted(m for m in {HEAVY!r} if m in sys.modules)\n"
        "    print('VERDICT', name, heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    verdicts = [line for line in result.stdout.splitlines() if line.startswith("VERDICT ")]
    from lorapilot.cli import COMMANDS

    assert len(verdicts) == len(COMMANDS)
    assert [v for v in verdicts if not v.endswith(" []")] == []


@pytest.mark.parametrize(
    "setup, args, expected",
    [
        ("settings", ["components"], "components.comfyui.port"),
        ("file", ["init"], "is a file"),
        ("none", ["status"], "not running"),
        ("none", ["secrets", "show", "NOPE"], "no secret 'NOPE'"),
    ],
)
def test_user_mistakes_print_one_line_without_traceback(tmp_path, setup, args, expected):
    ws = tmp_path / "ws"
    if setup == "settings":
        (ws / "config").mkdir(parents=True)
        (ws / "config" / "lorapilot.toml").write_text("[components.comfyui]\nport = 'x'\n")
    elif setup == "file":
        ws.write_text("not a folder")
    result = _run(*args, "--workspace", str(ws))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert expected in result.stderr


def test_secrets_are_printed_only_by_secrets_show(tmp_path):
    ws = tmp_path / "ws"
    outputs = [
        _run("init", "--workspace", str(ws)),
        _run("components", "--workspace", str(ws)),
        _run("render", "process-compose", "--workspace", str(ws)),
    ]
    from lorapilot.stack.workspace.secrets import read_secrets

    values = read_secrets(ws / "config" / "secrets.env").values()
    for result in outputs:
        assert result.returncode == 0, result.stderr
        for value in values:
            assert value not in result.stdout + result.stderr
    shown = _run("secrets", "show", "JUPYTER_TOKEN", "--workspace", str(ws))
    assert shown.stdout.strip() in values


def test_secrets_set_keeps_mode_0600(tmp_path):
    import stat

    ws = tmp_path / "ws"
    _run("init", "--workspace", str(ws))
    result = _run("secrets", "set", "HF_TOKEN", "--value", "hf_123", "--workspace", str(ws))
    assert result.returncode == 0 and "hf_123" not in result.stdout
    path = ws / "config" / "secrets.env"
    assert "HF_TOKEN=hf_123" in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
