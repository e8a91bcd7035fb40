"""`lorapilot dataset op --apply` while another process writes captions: it re-previews under the
dataset lock and applies when the change set is the same; otherwise it shows the new preview and
refuses (non-interactive) without losing anyone's text. (The audit saw 19 of 20 runs fail.)"""

from __future__ import annotations

import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from support.tagpilot import make_dataset_files
from support.workspaces import make_workspace

IMAGES = 20

# Rewrites every caption in a loop, under the dataset lock as TagPilot's writers do. mode "same": the same
# text with other bytes (a trailing newline on and off), so versions change but no text does; mode
# "text": a new tag each round.
WRITER = (
    r"""
import sys, time
from pathlib import Path
from lorapilot.stack.workspace.layout import Workspace
from lorapilot.tools.tagpilot.dataset import open_dataset
from lorapilot.kit.fsutil import atomic_write_bytes
ws, mode, ready = Workspace(Path(sys.argv[1])), sys.argv[2], Path(sys.argv[3])
ds = open_dataset(ws, "set")
n = 0
while True:
    n += 1
    for i in range(%d):
        path = ds.path / f"img{i:02d}.txt"
        with ds.lock():
            text = path.read_text().strip()
            if mode == "text":
                text = text + f", other{n}"
            atomic_write_bytes(path, (text + ("\n" if n %% 2 else "")).encode())
    ready.touch()
    time.sleep(0.001)
"""  # noqa: UP031 - the script is Python text with braces of its own
    % IMAGES
)


@contextmanager
def writer(ctx, mode: str, tmp_path: Path):
    ready = tmp_path / f"ready-{mode}"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(ctx.workspace.root), mode, str(ready)])
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "the writer did not start"
            time.sleep(0.05)
        yield
    finally:
        proc.terminate()
        proc.wait(10)


def _op(ctx, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "lorapilot",
            "dataset",
            "op",
            "set",
            *args,
            "--apply",
            "--workspace",
            str(ctx.workspace.root),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def _setup(tmp_path):
    ctx = make_workspace(tmp_path / "ws", enabled=set())
    make_dataset_files(
        ctx.workspace.datasets / "set", {f"img{i:02d}.png": "cat, cute" for i in range(IMAGES)}, size=(16, 16)
    )
    return ctx


def test_apply_succeeds_while_another_writer_rewrites_the_same_text(tmp_path):
    ctx = _setup(tmp_path)
    with writer(ctx, "same", tmp_path):
        results = [_op(ctx, "add", "--tag", f"tag{run}", "--position", "-1") for run in range(5)]
    for result in results:
        assert result.returncode == 0, result.stderr
        assert "applied (history entry" in result.stdout
    for i in range(IMAGES):
        text = (ctx.workspace.datasets / "set" / f"img{i:02d}.txt").read_text()
        assert text.strip() == "cat, cute, tag0, tag1, tag2, tag3, tag4"


def test_a_changed_change_set_is_shown_again_and_not_applied(tmp_path):
    ctx = _setup(tmp_path)
    with writer(ctx, "text", tmp_path):
        result = _op(ctx, "add", "--tag", "mine", "--position", "-1")
    folder = ctx.workspace.datasets / "set"
    texts = [(folder / f"img{i:02d}.txt").read_text() for i in range(IMAGES)]
    if result.returncode == 0:  # the writer paused long enough: applied on top of its text
        assert all("mine" in t for t in texts)
    else:
        assert "the preview now reads" in result.stderr and "run the command again" in result.stderr
        assert not any("mine" in t for t in texts)
    assert all("other" in t for t in texts)  # the other writer's text was never lost
