"""Export is a cancellable task with live progress, also when ``outputs/`` is on another file system and every
image is copied: the library, the API (a 202 task on /api/tasks) and the CLI (a progress bar; Ctrl-C) leave the
previous export whole and no half-written one behind.

``outputs/tagpilot`` is put on /dev/shm (a real second file system); :class:`CopyGate` holds each real copy
until the test lets it through, so progress and cancel are checked at a known point, not a race.
"""

import json
import os
import signal
import threading
import time
import tomllib

import pytest
from click.testing import CliRunner

from lorapilot.cli import cli
from lorapilot.kit.errors import LorapilotError
from lorapilot.kit.progress import Cancelled
from lorapilot.tools.tagpilot import dataset as datasets
from lorapilot.tools.tagpilot import export as export_module
from lorapilot.tools.tagpilot.export import ExportOptions, export_dataset, export_root
from support.api import make_client
from support.tagpilot import CopyGate, make_dataset_files, outputs_on_another_file_system, staging_folders, wait_task

IMAGES = 6
TOTAL_STEPS = IMAGES + 3  # each image, then kohya's TOML, the AI Toolkit entry, the Diffusion Pipe TOML


@pytest.fixture
def dataset(ctx):
    ds = datasets.create_dataset(ctx.workspace, "cats")
    make_dataset_files(ds.path, {f"{i}.png": f"ohwx, cat {i}" for i in range(IMAGES)})
    return ds


@pytest.fixture
def other_fs(ctx):
    with outputs_on_another_file_system(ctx.workspace) as folder:
        yield folder


def _wait(condition, what: str, timeout: float = 30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if value := condition():
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def _first_export(ctx, ds) -> None:
    """A complete export (repeats 5) that a later, cancelled one must leave exactly as it is."""
    export_dataset(ctx.workspace, ds, ExportOptions(repeats=5, trigger_word="ohwx"))


def _assert_first_export_intact(ctx, ds, finished: bool = True) -> None:
    """The first export, whole; once the later export has ended, nothing of it is left beside."""
    root = export_root(ctx.workspace, ds)
    assert sorted(os.listdir(root / "kohya" / "img")) == ["5_ohwx"]
    assert len(os.listdir(root / "kohya" / "img" / "5_ohwx")) == 2 * IMAGES
    assert tomllib.loads((root / "kohya" / "dataset.toml").read_text())["datasets"][0]["subsets"][0]["num_repeats"] == 5
    assert tomllib.loads((root / "diffusion-pipe" / "dataset.toml").read_text())["directory"][0]["num_repeats"] == 5
    assert "num_repeats: 5" in (root / "ai-toolkit" / "dataset.yaml").read_text()
    assert json.loads(ds.handoff_file.read_text())["repeats"] == 5
    if finished:
        assert staging_folders(root) == []


def test_a_copying_export_reports_progress_and_a_cancel_keeps_the_previous_export(ctx, dataset, other_fs, monkeypatch):
    _first_export(ctx, dataset)
    root = export_root(ctx.workspace, dataset)
    copied = root / "kohya" / "img" / "5_ohwx" / "0.png"
    assert os.stat(copied).st_dev != os.stat(dataset.path / "0.png").st_dev  # really copied across file systems

    gate = CopyGate(monkeypatch)
    seen: list[tuple] = []
    cancel = threading.Event()
    outcome: dict = {}

    def work():
        try:
            export_dataset(
                ctx.workspace,
                dataset,
                ExportOptions(repeats=3, trigger_word="ohwx"),
                progress=lambda *update: seen.append(update),
                cancel=cancel,
            )
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            outcome["error"] = exc

    thread = threading.Thread(target=work)
    thread.start()
    gate.allow(4)  # two images with their captions
    _wait(lambda: len(seen) >= 3 and gate.copied == 4, "the third image to start")
    # (steps complete, of all, what is being done now)
    assert seen == [
        (0, TOTAL_STEPS, "kohya: 0.png"),
        (1, TOTAL_STEPS, "kohya: 1.png"),
        (2, TOTAL_STEPS, "kohya: 2.png"),
    ]
    # mid-export: the new one is being built aside, the previous one is untouched
    [staging] = staging_folders(root)
    assert staging.startswith(".export-") and staging.endswith(".partial")
    assert len(os.listdir(root / staging / "kohya" / "img" / "3_ohwx")) == 4
    _assert_first_export_intact(ctx, dataset, finished=False)

    cancel.set()
    gate.open()
    thread.join(30)
    assert isinstance(outcome.get("error"), Cancelled)
    assert len(seen) == 3  # nothing reported past the cancel
    _assert_first_export_intact(ctx, dataset)


def test_an_error_mid_export_leaves_no_half_written_export(ctx, dataset, monkeypatch):
    real = export_module._link_or_copy

    def failing(source, target, roots):
        if source.name == "3.png":
            raise OSError(28, "No space left on device", str(target))
        real(source, target, roots)

    monkeypatch.setattr(export_module, "_link_or_copy", failing)
    with pytest.raises(OSError, match="No space left"):
        export_dataset(ctx.workspace, dataset, ExportOptions(trigger_word="ohwx"))
    root = export_root(ctx.workspace, dataset)
    assert sorted(os.listdir(root)) == []  # no format folder and no staging: nothing half-written
    assert not dataset.handoff_file.exists()


def test_an_export_from_before_the_marker_is_replaced_but_a_users_folder_is_not(ctx, dataset):
    root = export_root(ctx.workspace, dataset)
    (root / "ai-toolkit").mkdir(parents=True)
    (root / "ai-toolkit" / "dataset.yaml").write_text("- folder_path: old\n")  # what an older TagPilot wrote
    export_dataset(ctx.workspace, dataset, ExportOptions(formats=("ai-toolkit",), repeats=2))
    assert "num_repeats: 2" in (root / "ai-toolkit" / "dataset.yaml").read_text()
    (root / "diffusion-pipe").mkdir()
    (root / "diffusion-pipe" / "notes.md").write_text("mine")
    with pytest.raises(LorapilotError, match="diffusion-pipe exists and was not made by TagPilot"):
        export_dataset(ctx.workspace, dataset, ExportOptions(repeats=3))
    assert "num_repeats: 2" in (root / "ai-toolkit" / "dataset.yaml").read_text()  # refused before any work
    assert not (root / "kohya").exists() and staging_folders(root) == []


# -- API --------------------------------------------------------------------------------------------


def test_api_export_is_a_task_with_live_progress_and_cancel(ctx, dataset, other_fs, monkeypatch):
    client = make_client(ctx)
    _first_export(ctx, dataset)
    gate = CopyGate(monkeypatch)
    reply = client.post("/api/tagpilot/datasets/cats/export", json={"repeats": 3, "trigger_word": "ohwx"})
    assert reply.status_code == 202, reply.text
    task = reply.json()
    assert (task["kind"], task["title"]) == ("tagpilot.export", "export cats")

    gate.allow(2)  # the first image and its caption
    live = _wait(lambda: (t := client.get(f"/api/tasks/{task['id']}").json())["current"] >= 1 and t, "progress")
    assert (live["state"], live["current"], live["total"], live["message"]) == (
        "running",
        1,
        TOTAL_STEPS,
        "kohya: 1.png",
    )
    assert any(t["id"] == task["id"] for t in client.get("/api/tasks").json())

    assert client.post(f"/api/tasks/{task['id']}/cancel").status_code == 200
    gate.open()
    ended = wait_task(client, task)
    assert ended["state"] == "cancelled" and ended["error"] is None
    _assert_first_export_intact(ctx, dataset)


def test_api_export_across_file_systems_completes_with_copies(ctx, dataset, other_fs):
    client = make_client(ctx)
    reply = client.post(
        "/api/tagpilot/datasets/cats/export", json={"repeats": 2, "formats": ["kohya"], "trigger_word": "ohwx"}
    )
    done = wait_task(client, reply.json())
    assert done["state"] == "done" and (done["current"], done["total"]) == (IMAGES + 1, IMAGES + 1)
    image_dir = done["result"]["files"]["kohya_image_dir"]
    assert sorted(os.listdir(image_dir)) == sorted(f"{i}.{ext}" for i in range(IMAGES) for ext in ("png", "txt"))
    assert os.stat(os.path.join(image_dir, "0.png")).st_dev == os.stat(other_fs).st_dev  # a copy on the other disk
    assert done["result"]["warnings"] == []


def test_api_export_refuses_bad_options_at_once_without_a_task(ctx, dataset):
    client = make_client(ctx)
    reply = client.post("/api/tagpilot/datasets/cats/export", json={"trigger_word": "a, b"})
    assert reply.status_code == 400 and "trigger word 'a, b' must be non-empty and contain no comma" in reply.text
    assert (
        client.post("/api/tagpilot/datasets/cats/export", json={"repeats": 0}).status_code == 422
    )  # the model's bounds
    foreign = export_root(ctx.workspace, dataset) / "kohya"
    foreign.mkdir(parents=True)
    (foreign / "mine.txt").write_text("user data")
    reply = client.post("/api/tagpilot/datasets/cats/export", json={"formats": ["kohya"]})
    assert reply.status_code == 400 and f"{foreign} exists and was not made by TagPilot" in reply.text
    assert [t for t in client.get("/api/tasks").json() if t["kind"] == "tagpilot.export"] == []
    assert (foreign / "mine.txt").read_text() == "user data"


# -- CLI ----------------------------------------------------------------------------------------------


def test_cli_export_shows_a_progress_bar_while_copying(ctx, dataset, other_fs):
    result = CliRunner().invoke(
        cli, ["dataset", "export", "cats", "--trigger", "ohwx", "--workspace", str(ctx.workspace.root)]
    )
    assert result.exit_code == 0, result.output
    assert f"{TOTAL_STEPS}/{TOTAL_STEPS}" in result.output and "export cats" in result.output  # rich's bar, at its end
    image_dir = export_root(ctx.workspace, dataset) / "kohya" / "img" / "10_ohwx"
    assert os.stat(image_dir / "5.png").st_dev == os.stat(other_fs).st_dev


def test_cli_ctrl_c_cancels_and_keeps_the_previous_export(ctx, dataset, other_fs, monkeypatch):
    _first_export(ctx, dataset)
    real = export_module._link_or_copy
    copies = []

    def interrupted(source, target, roots):
        real(source, target, roots)
        copies.append(source.name)
        if len(copies) == 5:  # Ctrl-C while the third image is being copied
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(export_module, "_link_or_copy", interrupted)
    result = CliRunner().invoke(
        cli,
        ["dataset", "export", "cats", "--repeats", "3", "--trigger", "ohwx", "--workspace", str(ctx.workspace.root)],
    )
    assert result.exit_code == 130, result.output
    assert "export cancelled: nothing was written, the previous export of 'cats' is unchanged" in result.output
    assert len(copies) == 5
    _assert_first_export_intact(ctx, dataset)
