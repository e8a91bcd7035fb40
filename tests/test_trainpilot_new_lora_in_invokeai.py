"""A LoRA that TrainPilot just installed is registered with a running InvokeAI at once (InvokeAI keeps its own
model list; the store is otherwise registered only when InvokeAI starts). An InvokeAI that is down is no error:
its next start registers the file."""

from __future__ import annotations

import time

import pytest

from lorapilot.tools.trainpilot import actions
from lorapilot.tools.trainpilot.datasets import inspect_dataset
from lorapilot.tools.trainpilot.presets import build_profile
from lorapilot.tools.trainpilot.profiles import ModelRef
from lorapilot.tools.trainpilot.worker import QueueWorker
from support.fake_invokeai import FakeInvokeAI
from support.trainpilot import SD1_KEYS, make_dataset, make_fake_env, make_fake_src, write_safetensors
from support.workspaces import make_workspace

pytestmark = [pytest.mark.e2e]


def _workspace(tmp_path, components: set[str]):
    env, src = make_fake_env(tmp_path / "fake-env"), make_fake_src(tmp_path / "fake-src")
    manifest = {"kohya": {"env": str(env), "src": str(src)}, "lorapilot-train": {"env": str(env)}}
    ctx = make_workspace(
        tmp_path / "ws", enabled=components, manifest=manifest, settings={"trainpilot": {"poll_interval_s": 0.1}}
    )
    write_safetensors(ctx.workspace.models / "checkpoints" / "sd15-base.safetensors", SD1_KEYS)
    make_dataset(ctx.workspace.root)
    return ctx


def _train(ctx, monkeypatch) -> str:
    monkeypatch.setenv("FAKE_STEP_S", "0.01")
    profile = build_profile(
        name="mycat",
        family="sd15",
        quality="quick",
        vram_gb=12,
        trainer="kohya",
        model=ModelRef(base="checkpoints/sd15-base.safetensors"),
        dataset_name="cats",
        dataset=inspect_dataset(ctx.workspace, "cats"),
    )
    profile.training.steps, profile.save.every_n_steps, profile.sample.every_n_steps = 10, 10, 10
    job, _ = actions.submit(ctx, profile)
    worker = QueueWorker(ctx)
    try:
        deadline = time.monotonic() + 60
        while (current := actions.list_jobs(ctx)[0]).state not in ("done", "failed"):
            assert time.monotonic() < deadline, "the job did not finish"
            worker.tick()
            time.sleep(0.1)
    finally:
        worker.release()
    assert current.state == "done", current.error
    return current.final_lora


def _wait(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_a_finished_lora_is_registered_with_a_running_invokeai(tmp_path, monkeypatch):
    ctx = _workspace(tmp_path, {"controlpilot", "invokeai"})
    fake = FakeInvokeAI(port=ctx.registry.get("invokeai").port).start()
    try:
        lora = _train(ctx, monkeypatch)
        assert _wait(lambda: lora in fake.installed), f"InvokeAI did not get {lora}: {list(fake.installed)}"
    finally:
        fake.stop()


def test_invokeai_down_or_disabled_is_no_error(tmp_path, monkeypatch):
    ctx = _workspace(tmp_path, {"controlpilot", "invokeai"})  # enabled, but nothing listens on its port
    assert _train(ctx, monkeypatch).endswith("mycat.safetensors")
    ctx = _workspace(tmp_path / "other", {"controlpilot"})
    assert _train(ctx, monkeypatch).endswith("mycat.safetensors")
