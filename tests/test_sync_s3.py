"""`lorapilot sync push|pull` against moto's S3 server on loopback: incremental, resumable, safe with the database."""

import os
import sqlite3
import subprocess
import sys
import threading

import pytest

from lorapilot.kit.progress import Cancelled
from lorapilot.stack.settings import SyncSettings
from lorapilot.stack.workspace.secrets import set_secret
from lorapilot.tools.sync.engine import Syncer, SyncError, credentials
from support.s3_server import moto_s3
from support.workspaces import make_workspace

MB = 1024 * 1024


@pytest.fixture(scope="module")
def s3():
    with moto_s3() as server:
        yield server


def _workspace(path, s3, **sync):
    settings = {"bucket": "lp-sync", "endpoint_url": s3.url, "prefix": f"t/{path.name}", **sync}
    ctx = make_workspace(path, settings={"sync": settings})
    set_secret(ctx.workspace.secrets_file, "SYNC_ACCESS_KEY_ID", s3.key_id)
    set_secret(ctx.workspace.secrets_file, "SYNC_SECRET_ACCESS_KEY", s3.secret)
    return ctx


def _syncer(ctx):
    return Syncer(ctx.workspace, ctx.settings.sync, credentials(ctx.workspace))


def _fill(ws):
    (ws.models / "loras").mkdir(parents=True, exist_ok=True)
    (ws.models / "loras" / "pixel.safetensors").write_bytes(b"lora" * 1000)
    (ws.models / "loras" / "half.safetensors.part").write_bytes(b"partial download")  # excluded
    (ws.models / "checkpoints").mkdir(parents=True, exist_ok=True)
    (ws.models / "checkpoints" / "big.safetensors").write_bytes(b"not an area")
    (ws.root / "datasets" / "cats").mkdir(parents=True, exist_ok=True)
    (ws.root / "datasets" / "cats" / "1.txt").write_text("a cat")
    (ws.root / "outputs" / "2026").mkdir(parents=True, exist_ok=True)
    (ws.root / "outputs" / "2026" / "img.png").write_bytes(b"png")
    db = ws.root / "apps" / "trainpilot" / "queue.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(db) as conn:
        conn.execute("create table jobs (id integer primary key, name text)")
        conn.execute("insert into jobs (name) values ('pixel')")


def test_push_is_incremental_and_pull_restores_files_and_database(s3, tmp_path):
    ctx = _workspace(tmp_path / "a", s3)
    _fill(ctx.workspace)
    first = _syncer(ctx).push()
    assert sorted(first.transferred) == [
        "apps/trainpilot/queue.db",
        "datasets/cats/1.txt",
        "models/loras/pixel.safetensors",
        "outputs/2026/img.png",
    ]
    again = _syncer(ctx).push()
    assert again.transferred == [] and again.skipped == 4
    (ctx.workspace.root / "datasets" / "cats" / "1.txt").write_text("a black cat")
    assert _syncer(ctx).push().transferred == ["datasets/cats/1.txt"]

    # A fresh pod with the same bucket and prefix.
    other = _workspace(tmp_path / "b", s3, prefix="t/a")
    pulled = _syncer(other).pull()
    assert sorted(pulled.transferred) == sorted(first.transferred)
    assert (other.workspace.root / "datasets" / "cats" / "1.txt").read_text() == "a black cat"
    with sqlite3.connect(other.workspace.root / "apps" / "trainpilot" / "queue.db") as conn:
        assert conn.execute("select name from jobs").fetchall() == [("pixel",)]
    assert _syncer(other).pull().transferred == []

    # A local change that the bucket overrides is kept in the trash.
    (other.workspace.root / "outputs" / "2026" / "img.png").write_bytes(b"edited here")
    (ctx.workspace.root / "outputs" / "2026" / "img.png").write_bytes(b"png v2")
    _syncer(ctx).push()
    report = _syncer(other).pull()
    assert report.transferred == ["outputs/2026/img.png"] and len(report.trashed) == 1
    assert (other.workspace.root / "outputs" / "2026" / "img.png").read_bytes() == b"png v2"
    trashed = list((other.workspace.root / ".trash").rglob("img.png"))
    assert [p.read_bytes() for p in trashed] == [b"edited here"]


def test_interrupted_multipart_push_resumes_with_the_parts_already_sent(s3, tmp_path):
    ctx = _workspace(tmp_path / "mp", s3, multipart_mb=5, areas=["loras"])
    data = os.urandom(11 * MB)
    (ctx.workspace.models / "loras").mkdir(parents=True, exist_ok=True)
    (ctx.workspace.models / "loras" / "big.safetensors").write_bytes(data)
    cancel = threading.Event()

    def stop_after_first_part(current, total=None, message=""):
        if current >= 5 * MB:
            cancel.set()

    with pytest.raises(Cancelled):
        _syncer(ctx).push(progress=stop_after_first_part, cancel=cancel)
    report = _syncer(ctx).push()
    assert report.resumed == {"models/loras/big.safetensors": 5 * MB}
    body = s3.client().get_object(Bucket="lp-sync", Key="t/mp/models/loras/big.safetensors")["Body"].read()
    assert body == data
    assert _syncer(ctx).push().transferred == []


def test_interrupted_pull_resumes_with_a_range_request(s3, tmp_path):
    src = _workspace(tmp_path / "src", s3, areas=["outputs"])
    data = os.urandom(3 * MB)
    (src.workspace.root / "outputs").mkdir(exist_ok=True)
    (src.workspace.root / "outputs" / "clip.mp4").write_bytes(data)
    _syncer(src).push()
    dst = _workspace(tmp_path / "dst", s3, areas=["outputs"], prefix="t/src")
    cancel = threading.Event()
    with pytest.raises(Cancelled):
        _syncer(dst).pull(progress=lambda cur, total=None, msg="": cancel.set() if cur >= MB else None, cancel=cancel)
    part = dst.workspace.root / "outputs" / "clip.mp4.sync-part"
    assert part.is_file() and not (dst.workspace.root / "outputs" / "clip.mp4").exists()
    report = _syncer(dst).pull()
    assert MB <= report.resumed["outputs/clip.mp4"] < len(data)
    assert (dst.workspace.root / "outputs" / "clip.mp4").read_bytes() == data and not part.exists()


def test_bad_credentials_and_missing_settings_say_what_to_fix(s3, tmp_path):
    ctx = _workspace(tmp_path / "bad", s3)
    set_secret(ctx.workspace.secrets_file, "SYNC_SECRET_ACCESS_KEY", "wrong-secret")
    with pytest.raises(SyncError, match=r"refused the keys \(SignatureDoesNotMatch\): check SYNC_ACCESS_KEY_ID"):
        _syncer(ctx).push()
    with pytest.raises(SyncError, match="no bucket: set \\[sync\\] bucket"):
        Syncer(ctx.workspace, SyncSettings(), credentials(ctx.workspace))
    with pytest.raises(SyncError, match="no bucket 'missing'"):
        Syncer(
            ctx.workspace,
            ctx.settings.sync.model_copy(update={"bucket": "missing"}),
            {"SYNC_ACCESS_KEY_ID": s3.key_id, "SYNC_SECRET_ACCESS_KEY": s3.secret},
        ).push()


def test_cli_and_dashboard_api(s3, tmp_path):
    import time

    from support.api import make_client

    ctx = _workspace(tmp_path / "cli", s3, areas=["datasets"])
    (ctx.workspace.root / "datasets" / "d").mkdir(parents=True)
    (ctx.workspace.root / "datasets" / "d" / "a.txt").write_text("x")
    proc = subprocess.run(
        [sys.executable, "-m", "lorapilot", "sync", "push", "-w", str(ctx.workspace.root)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "sent datasets/d/a.txt" in proc.stdout and "1 transferred" in proc.stdout
    with make_client(ctx) as client:
        status = client.get("/api/sync")
        assert status.json()["configured"] is True and s3.secret not in status.text and s3.key_id not in status.text
        task = client.post("/api/sync/push").json()
        deadline = time.monotonic() + 30
        while client.get(f"/api/tasks/{task['id']}").json()["state"] != "done" and time.monotonic() < deadline:
            time.sleep(0.05)
        last = client.get("/api/sync").json()["last"]
    assert last["direction"] == "push" and last["skipped"] == 1


@pytest.mark.browser
def test_dashboard_sync_control_pushes_with_progress(s3, tmp_path, output_dir):
    from support.browser import browser_page, live_controlpilot, login

    ctx = _workspace(tmp_path / "dash", s3, areas=["outputs"])
    (ctx.workspace.root / "outputs").mkdir(exist_ok=True)
    (ctx.workspace.root / "outputs" / "a.png").write_bytes(b"png")
    with live_controlpilot(ctx) as cp, browser_page() as page:
        login(page, cp, "/")
        panel = page.get_by_role("region", name="Sync")
        panel.get_by_text("s3://lp-sync/t/dash").wait_for()
        panel.get_by_role("button", name="Push to bucket").click()
        panel.get_by_test_id("sync-last").filter(has_text="Last push: 1 transferred").wait_for(timeout=30000)
        page.screenshot(path=output_dir / "dashboard-sync.png", full_page=True)
        assert page.console_errors == []
    assert s3.client().get_object(Bucket="lp-sync", Key="t/dash/outputs/a.png")["Body"].read() == b"png"
