"""The product's promise end to end, through ControlPilot's HTTP API only (as a browser or script would):
a folder of captioned images → TagPilot dataset with a trigger word → checks → export and "train this"
→ a TrainPilot profile from a preset → the native trainer under the queue inside ControlPilot, followed
live → the LoRA in the model store with its card, loaded by diffusers → the samples in MediaPilot → TensorBoard's events →
every service still healthy → ``lorapilot down`` leaves nothing running.

Real everything: ``lorapilot up`` under supervisord, HTTP on loopback with an API token (login
required), a tiny randomly initialised SD1 pipeline, real training steps on the CPU.
"""

from __future__ import annotations

import json
import os
import time

import httpx
import pytest

from support import journey as j
from support.running import lorapilot, running, wait_for, workspace_processes

pytest.importorskip("diffusers", reason="the native trainer needs the [train] extra")
pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(420)]


def _task_result(client: httpx.Client, task: dict, timeout: float = 60) -> dict:
    """Follow a ControlPilot task to its end; returns its result (fails with the task's error)."""
    done = wait_for(
        lambda: (t := client.get(f"/api/tasks/{task['id']}").json())["state"] in ("done", "failed", "cancelled") and t,
        timeout=timeout,
        what=f"task {task['title']}",
    )
    assert done["state"] == "done", done
    return done["result"]


def _follow_queue(client: httpx.Client, job_id: int, timeout: float = 300) -> list[dict]:
    """Read TrainPilot's event stream until job ``job_id`` ends; returns its snapshots, in order."""
    seen: list[dict] = []
    deadline = time.monotonic() + timeout
    with client.stream("GET", "/api/trainpilot/events", timeout=httpx.Timeout(10, read=40)) as stream:
        assert stream.status_code == 200 and stream.headers["content-type"].startswith("text/event-stream")
        event = None
        for line in stream.iter_lines():
            assert time.monotonic() < deadline, f"job {job_id} did not end; last: {seen[-1:]}"
            if line.startswith("event: "):
                event = line[len("event: ") :]
            elif line.startswith("data: ") and event == "queue":
                job = next((x for x in json.loads(line[len("data: ") :]) if x["id"] == job_id), None)
                if job is not None:
                    seen.append(job)
                    if job["state"] in ("done", "failed", "cancelled"):
                        return seen
    raise AssertionError(f"the event stream ended before job {job_id} did; last: {seen[-1:]}")


def _render(model_dir, lora=None):
    """One small image from the tiny pipeline (fixed seed), with ``lora`` loaded as a user's app would."""
    import torch

    from support.native_runs import load_sd1

    pipe = load_sd1(model_dir, lora)
    pipe.set_progress_bar_config(disable=True)
    out = pipe(
        f"{j.TRIGGER}, red",
        num_inference_steps=2,
        width=64,
        height=64,
        output_type="pt",
        generator=torch.Generator("cpu").manual_seed(0),
    )
    return out.images[0]


def _status(ctx) -> dict:
    return {s["name"]: s for s in json.loads(lorapilot(ctx, "status", "--json").stdout)}


def test_from_a_folder_of_images_to_a_tested_lora(tmp_path):
    ctx = j.journey_workspace(tmp_path / "ws")
    root = ctx.workspace.root
    source = j.source_images(tmp_path / "my-photos")
    archive = j.zip_folder(source, tmp_path / "my-photos.zip")

    with running(ctx):
        wait_for(lambda: (s := _status(ctx)) and all(x["ready"] for x in s.values()), what="services ready")
        token = lorapilot(ctx, "controlpilot", "token", "create", "journey").stdout.strip()
        port = ctx.registry.get("controlpilot").port
        base_url = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base_url}/api/tagpilot/datasets").status_code == 401  # login is on
        api = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)

        # 1. TagPilot: a dataset from the user's zip of images + captions.
        assert api.post("/api/tagpilot/datasets", json={"name": j.DATASET}).status_code == 201
        reply = api.post(f"/api/tagpilot/datasets/{j.DATASET}/import/zip", content=archive.read_bytes())
        assert reply.status_code == 202, reply.text
        imported = _task_result(api, reply.json())
        stats = api.get(f"/api/tagpilot/datasets/{j.DATASET}").json()
        assert (stats["images"], stats["captioned"]) == (8, 8), (imported, stats)

        # 2. The trigger word on every caption: preview, then apply exactly what was previewed.
        op = {"op": {"kind": "add", "tag": j.TRIGGER, "position": 0}}
        preview = api.post(f"/api/tagpilot/datasets/{j.DATASET}/ops/preview", json=op).json()
        assert preview["changed"] == 8 and all(d["added"] == [j.TRIGGER] for d in preview["diffs"])
        applied = api.post(
            f"/api/tagpilot/datasets/{j.DATASET}/ops/apply", json={**op, "expected": preview["expected"]}
        )
        assert applied.status_code == 200, applied.text
        assert (
            (source.parent / "my-photos" / "img00.txt").read_text().startswith("tok")
        )  # the user's folder is untouched
        assert (root / "datasets" / j.DATASET / "img00.txt").read_text().startswith(f"{j.TRIGGER}, tok")
        tags = api.get(f"/api/tagpilot/datasets/{j.DATASET}/tags").json()
        assert {"tag": j.TRIGGER, "count": 8} in tags["tags"]

        # 3. Dataset checks (small images for this tiny model: min_side fits them).
        reply = api.post(f"/api/tagpilot/datasets/{j.DATASET}/checks", json={"min_side": 32})
        report = _task_result(api, reply.json())
        assert report["images"] == 8 and "counts" in report
        assert not [f for f in report["findings"] if f["check"] in ("missing_caption", "undecodable")], report

        # 4. Export with the trigger word, then "train this" (the handoff as the dataset is now).
        reply = api.post(
            f"/api/tagpilot/datasets/{j.DATASET}/export",
            json={"repeats": 1, "resolution": 64, "trigger_word": j.TRIGGER},
        )
        assert reply.status_code == 202, reply.text
        export = _task_result(api, reply.json())
        assert export["warnings"] == [], export
        kohya_dir = export["files"]["kohya_image_dir"]
        assert sorted(os.listdir(kohya_dir)) == sorted(os.listdir(source))
        handoff = api.post(f"/api/tagpilot/datasets/{j.DATASET}/handoff", json={}).json()
        assert (handoff["trigger_word"], handoff["num_images"], handoff["captioned"]) == (j.TRIGGER, 8, 8)
        seen_by_trainpilot = api.get(f"/api/trainpilot/datasets/{j.DATASET}").json()
        assert seen_by_trainpilot["trigger_word"] == j.TRIGGER
        assert (seen_by_trainpilot["num_images"], seen_by_trainpilot["num_captioned"]) == (8, 8)

        # 5. A base model in the store: a tiny SD1 diffusers pipeline, listed with its family.
        j.install_tiny_base_model(ctx)
        listed = api.get("/api/models", params={"type": "diffusers"}).json()["models"]
        tiny = next(m for m in listed if m["name"] == "tiny-sd1")
        assert (tiny["kind"], tiny["family"]) == ("diffusers", "sd1"), tiny
        choices = api.get("/api/trainpilot/models", params={"family": "sd15"}).json()
        assert j.BASE_MODEL in [m["path"] for m in choices], choices

        # 6. A profile from the handoff: native trainer, quick preset, shrunk to a CPU-sized run.
        draft = api.post(
            "/api/trainpilot/profiles/draft",
            json={
                "name": j.LORA_NAME,
                "dataset": j.DATASET,
                "base": j.BASE_MODEL,
                "family": "sd15",
                "quality": "quick",
                "vram_gb": 8,
                "trainer": "native",
            },
        ).json()
        profile = draft["profile"]
        assert profile["dataset"]["trigger_word"] == j.TRIGGER and profile["dataset"]["repeats"] == 1
        assert profile["sample"]["prompts"][0] == j.TRIGGER
        profile = j.tiny_profile(profile)
        saved = api.put(f"/api/trainpilot/profiles/{j.LORA_NAME}", json=profile)
        assert saved.status_code == 200 and saved.json()["issues"] == [], saved.text

        # 7. Submit and follow the live queue events until the job ends.
        submitted = api.post("/api/trainpilot/jobs", json={"profile_name": j.LORA_NAME})
        assert submitted.status_code == 200, submitted.text
        job_id = submitted.json()["job"]["id"]
        snapshots = _follow_queue(api, job_id)
        final = snapshots[-1]
        assert final["state"] == "done", api.get(f"/api/trainpilot/jobs/{job_id}").json()
        steps = [s["step"] for s in snapshots if s["step"] is not None]
        assert steps == sorted(steps) and steps[-1] == j.STEPS and final["total"] == j.STEPS
        assert "running" in {s["state"] for s in snapshots}
        detail = api.get(f"/api/trainpilot/jobs/{job_id}").json()
        assert [p["step"] for p in detail["points"]] == list(range(1, j.STEPS + 1))
        assert [s["step"] for s in detail["samples"]] == [8, 8, 8, 16, 16, 16]  # three prompts, every 8 steps

        # 8. The LoRA in the model store, with its card, inspected as an SD1 LoRA.
        lora = root / "models" / "loras" / f"{j.LORA_NAME}.safetensors"
        card = json.loads(lora.with_name(f"{j.LORA_NAME}.training.json").read_text())
        assert card["trainer"] == "native" and card["steps"] == j.STEPS and card["dataset"]["images"] == 8
        assert card["base_model"] == j.BASE_MODEL and card["dataset"]["name"] == j.DATASET
        assert lora.stat().st_mode & 0o044 == 0o044  # readable by every app, not only the trainer's user
        loras = api.get("/api/models", params={"type": "loras"}).json()["models"]
        entry = next(m for m in loras if m["name"] == lora.name)
        assert (entry["kind"], entry["family"], entry["rank"]) == ("lora", "sd1", j.RANK), entry
        assert entry["sha256"] == card["sha256"]  # hashed when installed: AutoV2 shows without a hashing task
        inspected = api.get("/api/models/inspect", params={"path": f"loras/{lora.name}"}).json()
        assert inspected["summary"]["lora"]["rank"] == j.RANK
        assert inspected["summary"]["lora"]["alpha"] == j.ALPHA
        assert inspected["training"]["ss_base_model_version"] == "sd_v1"
        assert inspected["training"]["modelspec.trigger_phrase"] == j.TRIGGER
        frequency = {row["tag"]: row["count"] for row in inspected["tag_frequency"]}
        assert frequency[j.TRIGGER] == 8, inspected["tag_frequency"]
        assert inspected["card"]["job_id"] == job_id and inspected["card"]["dataset"]["name"] == j.DATASET

        # The installed file works where the LoRA is used: diffusers loads it (kohya names) and it changes the output.
        base_image, lora_image = (_render(root / "models" / j.BASE_MODEL, lora_file) for lora_file in (None, lora))
        assert (base_image - lora_image).abs().max() > 1e-3

        # 9. MediaPilot indexed the training samples (live, through its watcher) and serves thumbnails.
        def sample_hits():
            items = api.get("/api/mediapilot/search", params={"q": "path:trainpilot", "limit": 50}).json()["items"]
            return len(items) == 6 and items

        samples = wait_for(sample_hits, timeout=30, what="6 training samples in MediaPilot")
        assert all(item["rel"].endswith(".png") and "/samples/" in item["rel"] for item in samples), samples
        by_prompt = api.get("/api/mediapilot/search", params={"q": f'"{j.TRIGGER}, tok, red"'}).json()["items"]
        assert {i["id"] for i in by_prompt} <= {i["id"] for i in samples} and len(by_prompt) == 2, by_prompt
        thumb = api.get(f"/api/mediapilot/{samples[0]['id']}/thumb")
        assert (
            thumb.status_code == 200 and thumb.headers["content-type"] == "image/webp" and thumb.content[:4] == b"RIFF"
        )
        exported = api.get("/api/mediapilot/search", params={"q": "path:tagpilot"}).json()["items"]
        assert exported == [], "TagPilot's export folder is training input, not generated media"

        # 10. TensorBoard: the run's event files, served by the TensorBoard service.
        run_name = os.path.basename(detail["run_dir"])
        events = list((root / "outputs" / "tensorboard" / run_name).rglob("events.out.tfevents.*"))
        assert events and all(e.stat().st_size > 0 for e in events)
        tb = f"http://127.0.0.1:{ctx.registry.get('tensorboard').port}"
        wait_for(
            lambda: any(run_name in r for r in httpx.get(f"{tb}/data/runs").json()),
            timeout=60,
            what=f"TensorBoard lists run {run_name}",
        )

        # 11. Everything still healthy.
        status = _status(ctx)
        assert {n: (s["state"], s["ready"]) for n, s in status.items()} == {
            "controlpilot": ("running", True),
            "tensorboard": ("running", True),
        }
        assert all(s["restarts"] == 0 for s in status.values()), status
        api.close()

    wait_for(lambda: not workspace_processes(root), timeout=30, what="no process left after `lorapilot down`")
