"""`lorapilot trash list | restore | empty` over the one workspace trash every tool uses."""

import subprocess
import sys

from lorapilot.kit.trash import Trash


def _run(ws, *args, input=None):
    return subprocess.run(
        [sys.executable, "-m", "lorapilot", "trash", *args, "--workspace", str(ws)],
        capture_output=True,
        text=True,
        input=input,
    )


def test_list_restore_and_empty(tmp_path):
    ws = tmp_path / "ws"
    (ws / "datasets" / "cats").mkdir(parents=True)
    (ws / "datasets" / "cats" / "a.txt").write_text("a cat")
    (ws / "b.txt").write_text("b")
    trash = Trash(ws)
    first = trash.move("datasets/cats/a.txt", source="tagpilot")
    trash.move("b.txt", source="files")

    listed = _run(ws, "list")
    assert first.id in listed.stdout and "tagpilot" in listed.stdout and "datasets/cats/a.txt" in listed.stdout

    assert _run(ws, "restore", first.id).returncode == 0
    assert (ws / "datasets" / "cats" / "a.txt").read_text() == "a cat"

    refused = _run(ws, "empty", input="n\n")
    assert refused.returncode != 0 and len(trash.list()) == 1
    assert "deleted 1 item(s)" in _run(ws, "empty", "--yes").stdout
    assert trash.list() == [] and "the trash is empty" in _run(ws, "list").stdout


def test_restore_of_unknown_item_is_one_clear_line(tmp_path):
    result = _run(tmp_path, "restore", "nope")
    assert result.returncode == 1 and "no trash item 'nope'" in result.stderr and "Traceback" not in result.stderr
