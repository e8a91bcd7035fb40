"""Path confinement and the trash every tool deletes through."""

import os

import pytest

from lorapilot.kit.safepath import PathEscapeError, check_name, resolve_inside
from lorapilot.kit.trash import Trash, TrashError


@pytest.fixture
def root(tmp_path):
    root = tmp_path / "root"
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "f.txt").write_text("hello")
    (tmp_path / "outside.txt").write_text("secret")
    os.symlink(tmp_path / "outside.txt", root / "link-out")
    os.symlink(root / "a", root / "link-in")
    return root


@pytest.mark.parametrize(
    "path",
    [
        "..",
        "../outside.txt",
        "a/../../outside.txt",
        "/etc/passwd",
        "link-out",
        "a/b/../../../x",
        "a\x00b",
        "x" * 300,
        "a/" * 2100,
    ],
)
def test_escapes_are_refused(root, path):
    with pytest.raises(PathEscapeError):
        resolve_inside(root, path)


@pytest.mark.parametrize(
    "path, expected", [("", "."), ("a/b/f.txt", "a/b/f.txt"), ("link-in/b", "a/b"), ("a/./b/..", "a")]
)
def test_inside_paths_resolve(root, path, expected):
    assert resolve_inside(root, path) == (root / expected).resolve()


def test_absolute_path_inside_root_is_accepted(root):
    assert resolve_inside(root, str(root / "a")) == (root / "a").resolve()


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "..\\x", "a\x00"])
def test_check_name_refuses_paths(name):
    with pytest.raises(PathEscapeError):
        check_name(name)


def test_trash_move_list_restore(root):
    trash = Trash(root)
    item = trash.move("a/b/f.txt", source="test")
    assert not (root / "a/b/f.txt").exists()
    assert [i.id for i in trash.list()] == [item.id]
    assert item.original == "a/b/f.txt" and item.size == 5 and item.source == "test"
    restored = trash.restore(item.id)
    assert restored.read_text() == "hello" and trash.list() == []


def test_trash_folder_and_restore_recreates_parents(root):
    trash = Trash(root)
    item = trash.move("a", source="test")
    assert item.is_dir and not (root / "a").exists()
    trash.restore(item.id)
    assert (root / "a/b/f.txt").read_text() == "hello"


def test_restore_never_overwrites(root):
    trash = Trash(root)
    item = trash.move("a/b/f.txt")
    (root / "a/b/f.txt").write_text("new")
    with pytest.raises(TrashError, match="exists"):
        trash.restore(item.id)
    assert (root / "a/b/f.txt").read_text() == "new"
    trash.restore(item.id, to="a/b/f-restored.txt")
    assert (root / "a/b/f-restored.txt").read_text() == "hello"


def test_trash_refuses_outside_paths_and_itself(root):
    trash = Trash(root)
    with pytest.raises(PathEscapeError):
        trash.move("../outside.txt")
    item = trash.move("a/b/f.txt")
    with pytest.raises(TrashError, match="already in the trash"):
        trash.move(f".trash/{item.id}")
    with pytest.raises(TrashError):
        trash.restore("../../etc")


def test_symlink_is_trashed_not_its_target(root, tmp_path):
    trash = Trash(root)
    os.symlink(root / "a" / "b" / "f.txt", root / "alias")
    trash.move("alias")
    assert (root / "a/b/f.txt").exists()


def test_empty_trash_by_age(root):
    trash = Trash(root)
    old = trash.move("a/b/f.txt")
    (root / "g.txt").write_text("g")
    trash.move("g.txt")
    info = trash.dir / old.id / "info.json"
    import json

    data = json.loads(info.read_text())
    data["deleted_at"] -= 10 * 86400
    info.write_text(json.dumps(data))
    assert trash.empty(older_than_s=7 * 86400) == 1
    assert [i.name for i in trash.list()] == ["g.txt"]
    assert trash.empty() == 1 and trash.list() == []
