"""``lorapilot copilot delete|clear|trash``: history deletes go to the trash and come back, from a terminal."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from lorapilot.tools.copilot.chat_history import ChatHistory
from support.workspaces import make_workspace


def _run(ctx, *args, stdin: str | None = None):
    return subprocess.run(
        [sys.executable, "-m", "lorapilot", "copilot", *args, "--workspace", str(ctx.workspace.root)],
        input=stdin,
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
    )


def _seed(ctx) -> list[int]:
    db = ChatHistory(ctx.workspace.state_dir("copilot") / "history.db")
    try:
        ids = []
        for conversation, prompt in (("c1", "first prompt"), ("c1", "second prompt"), ("c2", "other prompt")):
            entry_id = db.start(conversation, prompt, "outputs", None, {})
            db.finish(entry_id, f"answer: {prompt}", "", 0, "ok", 0.2)
            ids.append(entry_id)
        return ids
    finally:
        db.close()


def test_delete_restore_clear_undo_and_empty(tmp_path):
    ctx = make_workspace(tmp_path / "ws", enabled={"copilot"})
    first, second, other = _seed(ctx)

    deleted = _run(ctx, "delete", str(first))
    assert deleted.returncode == 0, deleted.stderr
    assert f"lorapilot copilot trash restore {first}" in deleted.stdout
    assert "first prompt" not in _run(ctx, "history", "--conversation", "c1").stdout
    listed = _run(ctx, "trash", "list").stdout
    assert f"#{first}" in listed and "first prompt" in listed

    assert _run(ctx, "trash", "restore", str(first)).stdout.strip() == "restored 1 entry"
    assert "first prompt" in _run(ctx, "history", "--conversation", "c1").stdout
    assert "the Copilot trash is empty" in _run(ctx, "trash", "list").stdout

    refused = _run(ctx, "clear", stdin="n\n")
    assert refused.returncode != 0
    assert "c1" in _run(ctx, "history").stdout  # nothing moved without a yes

    cleared = _run(ctx, "clear", "--yes")
    assert "moved 3 entries to the Copilot trash" in cleared.stdout
    assert _run(ctx, "history").stdout.strip() == ""
    batch = re.search(r"restore --batch ([0-9a-f]{32})", cleared.stdout).group(1)
    assert _run(ctx, "trash", "restore", "--batch", batch).stdout.strip() == "restored 3 entries"
    assert {"c1", "c2"} <= set(re.findall(r"^(c\d)\s", _run(ctx, "history").stdout, re.M))

    one = _run(ctx, "clear", "--conversation", "c2", "--yes")
    assert "moved 1 entry" in one.stdout
    assert _run(ctx, "trash", "empty", "--older-than", "30", "--yes").stdout.strip() == "deleted 0 entries for good"
    assert _run(ctx, "trash", "empty", "--yes").stdout.strip() == "deleted 1 entry for good"
    gone = _run(ctx, "trash", "restore", str(other))
    assert gone.returncode == 1 and f"error: history entry {other} is not in the Copilot history trash" in gone.stderr

    missing = _run(ctx, "delete", "999")
    assert missing.returncode == 1 and "error: history entry 999 not found" in missing.stderr
    neither = _run(ctx, "trash", "restore")
    assert neither.returncode == 1 and "exactly one of 'id'" in neither.stderr
    db = ChatHistory(ctx.workspace.state_dir("copilot") / "history.db")
    try:
        assert [e.id for e in db.entries()] == [second, first]
    finally:
        db.close()
