"""``/api/trainpilot``: pickers, profile drafts from presets, validation issues, the queue and its worker
running inside ControlPilot (the router's lifespan)."""

from __future__ import annotations

import json
import time

from support.api import make_client
from support.trainpilot import make_dataset, make_train_workspace

FAST = {"trainpilot": {"poll_interval_s": 0.1}}


def _draft(client, **kw):
    body = {
        "name": "mycat",
        "dataset": "cats",
        "base": "checkpoints/sd15-base.safetensors",
        "family": "sd15",
        "quality": "quick",
        "vram_gb": 12,
        "trainer": "native",
    }
    body.update(kw)
    r = client.post("/api/trainpilot/profiles/draft", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def test_pickers_list_presets_datasets_and_base_models(tmp_path):
    ctx = make_train_workspace(tmp_path, settings={"trainpilot": {"worker": False}})
    make_dataset(ctx.workspace.root, "dogs", images=2, handoff={"trigger_word": "ohwxdog", "resolution": 768})
    (ctx.workspace.models / "diffusers" / "flux-dev").mkdir(parents=True)
    (ctx.workspace.models / "diffusers" / "flux-dev" / "model_index.json").write_text(
        json.dumps({"_class_name": "FluxPipeline"})
    )
    (ctx.workspace.models / "diffusers" / "flux-dev" / "transformer").mkdir()
    (
        ctx.workspace.models / "diffusers" / "flux-dev" / "transformer" / "diffusion_pytorch_model.safetensors"
    ).write_bytes(b"x")
    client = make_client(ctx)
    presets = client.get("/api/trainpilot/presets").json()
    by_id = {p["id"]: p for p in presets}
    assert len(presets) == 225 and by_id["sdxl-regular-24gb"]["fits"] and not by_id["flux1-quick-8gb"]["fits"]
    datasets = {d["name"]: d for d in client.get("/api/trainpilot/datasets").json()}
    assert datasets["cats"]["num_images"] == 4 and datasets["dogs"]["trigger_word"] == "ohwxdog"
    models = {m["path"]: m for m in client.get("/api/trainpilot/models").json()}
    assert models["checkpoints/sd15-base.safetensors"]["family"] == "sd15"
    assert models["diffusers/flux-dev"] == {
        "path": "diffusers/flux-dev",
        "folder": "diffusers",
        "kind": "diffusers",
        "family": "flux1",
        "size": 1 + len(json.dumps({"_class_name": "FluxPipeline"})),
    }
    assert [m["path"] for m in client.get("/api/trainpilot/models", params={"family": "flux1"}).json()] == [
        "diffusers/flux-dev"
    ]
    assert client.get("/api/trainpilot/datasets/nope").status_code == 404
    assert client.get("/api/trainpilot/datasets/%2E%2E").status_code == 400
    trainers = {
        t["name"]: t
        for t in client.get("/api/trainpilot/trainers", params={"family": "flux1", "base": "diffusers/flux-dev"}).json()
    }
    assert (
        trainers["native"]["issues"] == []
        and trainers["native"]["tiers"]["48"] == ""
        and "48+ GB" in trainers["native"]["tiers"]["24"]
    )
    assert trainers["kohya"]["issues"][0]["field"] == "model.base"
    native_sd15 = client.get(
        "/api/trainpilot/trainers", params={"family": "sd15", "base": "checkpoints/sd15-base.safetensors"}
    ).json()[3]
    assert native_sd15["name"] == "native" and native_sd15["issues"] == []
    assert client.get("/api/trainpilot/trainers", params={"family": "sd9"}).status_code == 400


def test_a_chroma_draft_for_diffusion_pipe_takes_its_flux_folder_from_the_picker(tmp_path):
    from support.trainpilot import CHROMA_KEYS, write_safetensors

    ctx = make_train_workspace(tmp_path, settings={"trainpilot": {"worker": False}})
    models = ctx.workspace.models
    write_safetensors(models / "diffusion_models" / "chroma-unlocked-v50.safetensors", CHROMA_KEYS)
    (models / "diffusers" / "FLUX.1-schnell").mkdir(parents=True)
    (models / "diffusers" / "FLUX.1-schnell" / "model_index.json").write_text(
        json.dumps({"_class_name": "FluxPipeline"})
    )
    write_safetensors(models / "text_encoders" / "gemma_2_2b_fp16.safetensors", ["model.embed_tokens.weight"])
    client = make_client(ctx)
    assert client.get("/api/trainpilot/components/diffusers").json() == ["diffusers/FLUX.1-schnell"]
    assert "text_encoders/gemma_2_2b_fp16.safetensors" in client.get("/api/trainpilot/components/llm").json()
    base = "diffusion_models/chroma-unlocked-v50.safetensors"
    draft = _draft(client, family="chroma", base=base, trainer="diffusion-pipe", vram_gb=16, quality="regular")
    assert [i for i in draft["issues"] if i["level"] == "error" and i["field"].startswith("model")] == [
        {
            "field": "model.diffusers",
            "message": "Diffusion Pipe trains Chroma with a FLUX.1 diffusers folder (dev or schnell) for the T5 text encoder and VAE (diffusers_path): set model.diffusers",
            "level": "error",
        }
    ]
    draft = _draft(
        client,
        family="chroma",
        base=base,
        trainer="diffusion-pipe",
        vram_gb=16,
        quality="regular",
        diffusers="diffusers/FLUX.1-schnell",
    )
    assert (
        draft["profile"]["model"]["diffusers"] == "diffusers/FLUX.1-schnell"
        and draft["profile"]["training"]["fp8_base"]
    )
    assert [i for i in draft["issues"] if i["level"] == "error" and i["field"] != "trainer"] == []


def test_an_sd2_draft_takes_its_prediction_type_from_the_base_folder(tmp_path):
    ctx = make_train_workspace(tmp_path, settings={"trainpilot": {"worker": False}})
    client = make_client(ctx)
    for name, predicts in (("sd21-base", "epsilon"), ("sd21-768", "v_prediction")):
        folder = ctx.workspace.models / "diffusers" / name
        (folder / "scheduler").mkdir(parents=True)
        (folder / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
        (folder / "scheduler" / "scheduler_config.json").write_text(json.dumps({"prediction_type": predicts}))
        draft = _draft(client, family="sd2", base=f"diffusers/{name}", trainer="kohya")
        assert draft["profile"]["model"]["v_prediction"] is (predicts == "v_prediction")
    # a single file does not say: the sd2 preset assumes the 768-v model
    assert _draft(client, family="sd2", trainer="kohya")["profile"]["model"]["v_prediction"] is True


def test_draft_save_validate_and_submit(tmp_path):
    ctx = make_train_workspace(tmp_path, settings={"trainpilot": {"worker": False}})
    client = make_client(ctx)
    draft = _draft(client)
    profile = draft["profile"]
    assert profile["training"]["steps"] == 250 and profile["dataset"]["resolution"] == 512
    profile["optim"]["optimizer"] = "adamw"
    r = client.put("/api/trainpilot/profiles/mycat", json=profile)
    assert r.status_code == 200 and r.json()["path"].endswith("config/trainpilot/profiles/mycat.toml")
    assert client.put("/api/trainpilot/profiles/mycat", json=profile).status_code == 409
    assert client.get("/api/trainpilot/profiles").json() == ["mycat"]

    bad = dict(profile, model={"base": "checkpoints/missing.safetensors"})
    r = client.post("/api/trainpilot/jobs", json={"profile": bad})
    assert r.status_code == 400
    assert {
        "field": "model.base",
        "message": "models/checkpoints/missing.safetensors not found",
        "level": "error",
    } in r.json()["issues"]
    r = client.post("/api/trainpilot/jobs", json={"profile": dict(profile, network={"rank": 0})})
    assert r.status_code == 422  # pydantic names network.rank

    r = client.post("/api/trainpilot/jobs", json={"profile_name": "mycat"})
    assert r.status_code == 200, r.text
    job = r.json()["job"]
    assert job["state"] == "queued" and job["profile_name"] == "mycat"
    second = client.post("/api/trainpilot/jobs", json={"profile": profile}).json()["job"]
    moved = client.post(f"/api/trainpilot/jobs/{second['id']}/move", json={"index": 0}).json()
    assert [j["id"] for j in moved] == [second["id"], job["id"]]
    r = client.post(f"/api/trainpilot/jobs/{job['id']}/cancel", json={"mode": "kill"})
    assert r.json()["state"] == "cancelled"
    r = client.post(f"/api/trainpilot/jobs/{job['id']}/resume")
    assert r.status_code == 409 and "no saved state" in r.json()["detail"]
    assert client.get("/api/trainpilot/jobs/999").status_code == 404
    status = client.get("/api/trainpilot/status").json()
    assert status["counts"]["queued"] == 1 and status["worker_running"] is False and status["gpus"] == ["cpu"]


def test_the_worker_runs_inside_controlpilot_and_the_ui_data_is_live(tmp_path, monkeypatch):
    ctx = make_train_workspace(tmp_path, settings=FAST)
    monkeypatch.setenv("FAKE_STEP_S", "0.01")
    with make_client(ctx) as client:  # entering runs the lifespan: the queue worker starts
        profile = _draft(client)["profile"]
        profile["optim"]["optimizer"] = "adamw"
        profile["training"]["steps"] = 30
        profile["sample"]["every_n_steps"] = 10
        job = client.post("/api/trainpilot/jobs", json={"profile": profile}).json()["job"]
        deadline = time.monotonic() + 30
        while client.get(f"/api/trainpilot/jobs/{job['id']}").json()["state"] != "done":
            assert time.monotonic() < deadline, "job did not finish"
            time.sleep(0.1)
        assert client.get("/api/trainpilot/status").json()["worker_running"] is True
        detail = client.get(f"/api/trainpilot/jobs/{job['id']}").json()
        assert [s["step"] for s in detail["samples"]] == [10, 20, 30]
        assert len(detail["points"]) == 30 and detail["points"][-1]["step"] == 30
        assert detail["final_lora"].endswith("models/loras/mycat.safetensors") and detail["log"]
        sample = client.get(f"/api/trainpilot/jobs/{job['id']}/file", params={"path": detail["samples"][0]["path"]})
        assert sample.status_code == 200 and sample.content.startswith(b"\x89PNG")
        assert client.get(f"/api/trainpilot/jobs/{job['id']}/file", params={"path": "/etc/passwd"}).status_code == 400
        with client.stream("GET", "/api/trainpilot/events") as stream:
            lines = []
            for line in stream.iter_lines():
                lines.append(line)
                if line.startswith("data: "):
                    break
        assert "event: queue" in lines
        jobs = json.loads(lines[-1][len("data: ") :])
        assert jobs[0]["id"] == job["id"] and jobs[0]["state"] == "done" and "profile" not in jobs[0]
        retry = client.post(f"/api/trainpilot/jobs/{job['id']}/retry").json()
        assert retry["retry_of"] == job["id"]
        assert client.delete(f"/api/trainpilot/jobs/{job['id']}").json()["id"] == job["id"]
    assert client.app.state.trainpilot_worker._thread.is_alive() is False
