"""TagPilot's "Train this" without an export hands over only what the user chose: TrainPilot's preset then
picks the family's resolution and repeats (an SD1.5 LoRA is not trained at TagPilot's 1024 px export default)."""

from __future__ import annotations

import pytest

from support.api import make_client
from support.tagpilot import make_dataset_files, wait_task
from support.trainpilot import SD1_KEYS, write_safetensors


@pytest.fixture
def client(ctx):
    write_safetensors(ctx.workspace.models / "checkpoints" / "sd15.safetensors", SD1_KEYS)
    client = make_client(ctx)
    client.post("/api/tagpilot/datasets", json={"name": "cats"})
    make_dataset_files(ctx.workspace.datasets / "cats", {"a.png": "ohwx, cat", "b.png": "ohwx, cat, sitting"})
    return client


def _draft(client, **extra) -> dict:
    body = {
        "name": "cats-sd15",
        "dataset": "cats",
        "base": "checkpoints/sd15.safetensors",
        "family": "sd15",
        "quality": "regular",
        "vram_gb": 24,
        **extra,
    }
    reply = client.post("/api/trainpilot/profiles/draft", json=body)
    assert reply.status_code == 200, reply.text
    return reply.json()["profile"]


def test_train_this_without_export_leaves_resolution_and_repeats_to_the_preset(client):
    handoff = client.post("/api/tagpilot/datasets/cats/handoff", json={}).json()
    assert (handoff["num_images"], handoff["captioned"]) == (2, 2)
    assert (handoff["trigger_word"], handoff["repeats"], handoff["resolution"]) == (None, None, None)
    profile = _draft(client)
    assert (profile["dataset"]["resolution"], profile["dataset"]["repeats"]) == (512, 1)


def test_chosen_values_are_handed_over_and_kept_by_a_later_train_this(client):
    client.post("/api/tagpilot/datasets/cats/handoff", json={"trigger_word": "ohwx", "resolution": 768})
    handoff = client.post("/api/tagpilot/datasets/cats/handoff", json={}).json()
    assert (handoff["trigger_word"], handoff["repeats"], handoff["resolution"]) == ("ohwx", None, 768)
    profile = _draft(client)
    assert (profile["dataset"]["resolution"], profile["dataset"]["repeats"]) == (768, 1)
    assert profile["dataset"]["trigger_word"] == "ohwx" and profile["sample"]["prompts"][0] == "ohwx"


def test_an_export_hands_over_its_settings(client):
    task = client.post(
        "/api/tagpilot/datasets/cats/export", json={"repeats": 3, "resolution": 640, "trigger_word": "ohwx"}
    ).json()
    assert wait_task(client, task)["state"] == "done"
    handoff = client.post("/api/tagpilot/datasets/cats/handoff", json={}).json()
    assert (handoff["trigger_word"], handoff["repeats"], handoff["resolution"]) == ("ohwx", 3, 640)
    assert _draft(client)["dataset"]["repeats"] == 3
