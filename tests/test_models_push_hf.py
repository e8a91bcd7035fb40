"""`models push LORA hf:user/repo`: huggingface_hub's real client against a loopback Hub that takes uploads."""

import hashlib
import json
import os
import subprocess
import sys

import pytest

from lorapilot.kit.errors import LorapilotError
from lorapilot.stack.workspace.secrets import set_secret
from lorapilot.tools.models import sources
from lorapilot.tools.models.publish import parse_target, push_lora
from support import hub_data
from support import model_files as mf
from support.hf_hub_server import HubUploadServer
from support.workspaces import make_workspace


@pytest.fixture
def hub():
    srv = HubUploadServer().start()
    yield srv
    srv.stop()


@pytest.fixture
def trained(tmp_path):
    """A LoRA as TrainPilot leaves it: the file, its training card, and the run's samples."""
    ctx = make_workspace(tmp_path / "ws")
    ws = ctx.workspace
    run = ws.root / "outputs" / "trainpilot" / "pixel" / "job1"
    (run / "samples").mkdir(parents=True)
    for step in (100, 200):
        (run / "samples" / f"step{step:05d}.png").write_bytes(hub_data.png((step % 255, 80, 80)))
    lora = mf.write_model(ws.models / "loras" / "pixel.safetensors", mf.kohya_lora_sdxl(rank=4), mf.LORA_METADATA)
    card = {
        "lora": "pixel.safetensors",
        "sha256": hashlib.sha256(lora.read_bytes()).hexdigest(),
        "name": "pixel",
        "trainer": "native",
        "base_family": "sdxl",
        "steps": 200,
        "final_loss": 0.1234567,
        "trained_from": str(run / "pixel.safetensors"),
        "dataset": {"name": "pixels", "images": 12},
        "profile": {
            "model": {"base": "sd_xl_base_1.0.safetensors"},
            "dataset": {"trigger_word": "pxl style", "resolution": 1024},
            "network": {"rank": 4, "alpha": 2},
            "optim": {"optimizer": "adamw8bit", "learning_rate": 0.0001},
        },
    }
    (ws.models / "loras" / "pixel.training.json").write_text(json.dumps(card))
    return ctx, lora


def test_push_uploads_lora_card_and_samples_privately_in_one_commit(hub, trained):
    ctx, lora = trained
    with sources.use_endpoints(hf=hub.url):
        result = push_lora(lora, "hf:alice/pixel-lora", hub.token, ctx.workspace.root)
    repo = hub.repos["alice/pixel-lora"]
    assert repo.private and result.private and len(repo.commits) == 1
    assert repo.files["pixel.safetensors"] == lora.read_bytes()
    assert sorted(repo.files) == ["README.md", "pixel.safetensors", "samples/step00100.png", "samples/step00200.png"]
    readme = repo.files["README.md"].decode()
    assert 'base_model: "stabilityai/stable-diffusion-xl-base-1.0"' in readme
    assert 'instance_prompt: "pxl style"' in readme and "Use `pxl style` in the prompt." in readme
    assert (
        "| rank / alpha | 4 / 2 |" in readme and "| learning rate | 0.0001 |" in readme and "| steps | 200 |" in readme
    )
    assert 'url: "samples/step00200.png"' in readme
    meta = hub.validated[0]  # the front matter parses as YAML, with what the Hub reads
    assert meta["base_model"] == "stabilityai/stable-diffusion-xl-base-1.0" and meta["instance_prompt"] == "pxl style"
    assert meta["widget"][1] == {"text": "pxl style", "output": {"url": "samples/step00200.png"}}
    # The calls huggingface_hub made: the weights and images went through LFS, the card inline.
    assert hub.calls[:4] == [
        ("POST", "/api/repos/create"),
        ("POST", "/api/validate-yaml"),
        ("POST", "/api/models/alice/pixel-lora/preupload/main"),
        ("POST", "/alice/pixel-lora.git/info/lfs/objects/batch"),
    ]
    assert [m for m, _ in hub.calls[4:7]] == ["PUT"] * 3  # in parallel: any order
    assert hub.calls[7:] == [("POST", "/api/models/alice/pixel-lora/commit/main")]
    assert sorted(p for m, p in hub.calls if m == "PUT") == sorted(
        f"/lfs-upload/{hashlib.sha256(d).hexdigest()}" for n, d in repo.files.items() if n != "README.md"
    )
    # A second push reuses the repo and its uploaded objects.
    with sources.use_endpoints(hf=hub.url):
        push_lora(lora, "hf:alice/pixel-lora", hub.token, ctx.workspace.root, message="again")
    assert len(repo.commits) == 2 and [c for c in hub.calls[8:] if c[0] == "PUT"] == []


def test_push_refuses_bad_targets_and_tokens(hub, trained):
    ctx, lora = trained
    with pytest.raises(LorapilotError, match="expected hf:USER/REPO"):
        parse_target("hf:../etc")
    with sources.use_endpoints(hf=hub.url):
        with pytest.raises(LorapilotError, match="needs a Hugging Face write token"):
            push_lora(lora, "hf:alice/x", "", ctx.workspace.root)
        with pytest.raises(LorapilotError, match=r"HTTP 403\): HF_TOKEN needs write access"):
            push_lora(lora, "hf:alice/x", "hf_read_token", ctx.workspace.root)
        with pytest.raises(LorapilotError, match=r"HTTP 401"):
            push_lora(lora, "hf:alice/x", "hf_wrong", ctx.workspace.root)
    assert hub.repos == {}


def test_cli_push_public_with_the_token_from_secrets(hub, trained):
    ctx, _ = trained
    set_secret(ctx.workspace.secrets_file, "HF_TOKEN", hub.token)
    env = {**os.environ, "HF_ENDPOINT": hub.url}
    env.pop("HF_TOKEN", None)
    cmd = [
        sys.executable,
        "-m",
        "lorapilot",
        "models",
        "push",
        "loras/pixel.safetensors",
        "hf:alice/pub",
        "--public",
        "-w",
        str(ctx.workspace.root),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert f"pushed to {hub.url}/alice/pub" in proc.stdout and "public" in proc.stdout
    assert hub.repos["alice/pub"].private is False and hub.token not in proc.stdout + proc.stderr
