"""lorapilot.kit.fsutil.atomic_write_bytes: permissions kept or set, nothing left behind on failure."""

import os

import pytest

from lorapilot.kit.fsutil import atomic_write_bytes, atomic_write_text


def test_new_file_existing_mode_and_explicit_mode(tmp_path):
    path = tmp_path / "a.txt"
    atomic_write_text(path, "one")
    umask = os.umask(0o022)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    os.chmod(path, 0o640)
    atomic_write_bytes(path, b"two" * 100_000, fsync=False)
    assert path.stat().st_mode & 0o777 == 0o640 and path.read_bytes() == b"two" * 100_000
    atomic_write_bytes(tmp_path / "secret", b"k", mode=0o600)
    assert (tmp_path / "secret").stat().st_mode & 0o777 == 0o600
    atomic_write_bytes(tmp_path / "shared", b"k", mode=0o666)  # bits the umask would strip are kept
    assert (tmp_path / "shared").stat().st_mode & 0o777 == 0o666


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("old")
    with pytest.raises(TypeError):
        atomic_write_bytes(path, "not bytes")  # type: ignore[arg-type]
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
