"""The API token store shared by the server and the CLI (separate processes)."""

from __future__ import annotations

import json
import multiprocessing
import os

from lorapilot.controlpilot.tokens import TokenStore
from lorapilot.kit.fsutil import atomic_write_text
from support.workspaces import make_workspace


def test_a_token_revoked_elsewhere_stops_working_even_within_one_clock_tick(tmp_path):
    ctx = make_workspace(tmp_path / "ws")
    server = TokenStore(ctx.workspace)  # the running ControlPilot's store (it caches the file)
    info, secret = server.create("ci-a")
    assert server.verify(secret) == info
    before = os.stat(server.path)
    cli = TokenStore(ctx.workspace)  # `lorapilot controlpilot token revoke` in another process
    cli.revoke(info.id)
    cli.create("ci-b")
    # The worst case: the rewritten list has the same size (padded here; JSON allows trailing
    # blanks) and, on a coarse file-system clock, the same mtime as the list the server read.
    compact = json.dumps(json.loads(server.path.read_text()), separators=(",", ":"))
    assert len(compact) <= before.st_size
    atomic_write_text(server.path, compact.ljust(before.st_size), mode=0o600)
    os.utime(server.path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(server.path).st_size == before.st_size
    assert server.verify(secret) is None


def _create_many(root: str, count: int, prefix: str, go) -> None:
    from pathlib import Path

    from lorapilot.stack.workspace.layout import Workspace

    store = TokenStore(Workspace(Path(root)))
    go.wait(30)  # both processes start writing together
    for i in range(count):
        store.create(f"{prefix}-{i}")


def test_tokens_created_by_two_processes_at_once_are_all_kept(tmp_path):
    ctx = make_workspace(tmp_path / "ws")
    root = str(ctx.workspace.root)
    spawn = multiprocessing.get_context("spawn")
    go = spawn.Event()
    procs = [spawn.Process(target=_create_many, args=(root, 100, name, go)) for name in ("cli", "api")]
    for p in procs:
        p.start()
    go.set()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    names = {t.name for t in TokenStore(ctx.workspace).list()}
    assert names == {f"{who}-{i}" for who in ("cli", "api") for i in range(100)}


def test_a_settled_file_is_parsed_once_and_a_fresh_one_on_every_call(tmp_path):
    from lorapilot.controlpilot.filecache import CachedFile

    path = tmp_path / "list.json"
    path.write_text("[1]")
    parsed = []
    cached = CachedFile(path, lambda p: parsed.append(p.read_text()) or p.read_text(), lambda: "missing")
    assert cached.get() == cached.get() == "[1]" and len(parsed) == 2  # just written: not trusted yet
    old = os.stat(path).st_mtime_ns - 10_000_000_000
    os.utime(path, ns=(old, old))
    cached.get()
    cached.get()
    assert len(parsed) == 3  # settled: read once more, then served from memory
    path.unlink()
    assert cached.get() == "missing"
