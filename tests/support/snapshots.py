"""Snapshot files under tests/snapshots; LORAPILOT_UPDATE_SNAPSHOTS=1 rewrites them."""

from __future__ import annotations

import os
from pathlib import Path

SNAPSHOT_DIR = Path(__file__).resolve().parents[1] / "snapshots"


def assert_snapshot(name: str, text: str) -> None:
    path = SNAPSHOT_DIR / name
    if os.environ.get("LORAPILOT_UPDATE_SNAPSHOTS") == "1" or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if os.environ.get("LORAPILOT_UPDATE_SNAPSHOTS") != "1":
            raise AssertionError(f"snapshot {name} did not exist; written, review and commit it")
        return
    expected = path.read_text()
    assert text == expected, f"rendered output differs from {path}; rerun with LORAPILOT_UPDATE_SNAPSHOTS=1 if intended"
