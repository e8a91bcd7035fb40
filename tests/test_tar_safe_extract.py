"""lorapilot.kit.tararchive refuses hostile tars before writing anything and extracts good ones whole."""

import io
import tarfile

import pytest

from lorapilot.kit.archive import ArchiveLimits, UnsafeArchiveError
from lorapilot.kit.errors import LorapilotError
from lorapilot.kit.tararchive import extract_archive, extract_tar, sha256_file


def _tar(path, members: list[tarfile.TarInfo | tuple[str, bytes]]):
    with tarfile.open(path, "w:gz") as tf:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tf.addfile(member)
            else:
                name, data = member
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
    return path


def _special(name: str, kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    return info


def _assert_nothing_written(dest):
    assert not dest.exists()
    assert [p.name for p in dest.parent.iterdir() if p.name.startswith(f".{dest.name}")] == []


def test_a_good_tar_is_extracted_whole(tmp_path):
    archive = _tar(tmp_path / "good.tar.gz", [("top/a.txt", b"alpha"), ("top/sub/b.txt", b"beta")])
    dest = tmp_path / "out"
    members = extract_archive(archive, dest)
    assert sorted(m.name for m in members) == ["top/a.txt", "top/sub/b.txt"]
    assert (dest / "top" / "sub" / "b.txt").read_bytes() == b"beta"
    assert len(sha256_file(archive)) == 64


@pytest.mark.parametrize(
    ("member", "reason"),
    [
        (("/etc/evil", b"x"), "absolute path"),
        (("top/../../evil", b"x"), "escapes the destination"),
        (_special("top/link", tarfile.SYMTYPE, "/etc/passwd"), "links are not allowed"),
        (_special("top/hard", tarfile.LNKTYPE, "top/a.txt"), "links are not allowed"),
        (_special("top/dev", tarfile.CHRTYPE), "special files are not allowed"),
        (_special("top/fifo", tarfile.FIFOTYPE), "special files are not allowed"),
    ],
)
def test_hostile_members_are_refused_before_anything_is_written(tmp_path, member, reason):
    archive = _tar(tmp_path / "bad.tar.gz", [("top/a.txt", b"alpha"), member])
    dest = tmp_path / "out"
    with pytest.raises(UnsafeArchiveError, match=reason):
        extract_tar(archive, dest)
    _assert_nothing_written(dest)


def test_size_limits_and_a_corrupt_tar_are_refused(tmp_path):
    archive = _tar(tmp_path / "big.tar.gz", [("top/a.bin", b"\0" * 4096)])
    with pytest.raises(UnsafeArchiveError, match="4096 bytes; the limit is 1000"):
        extract_tar(archive, tmp_path / "out", ArchiveLimits(max_member_bytes=1000))
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(archive.read_bytes()[:40])
    with pytest.raises(UnsafeArchiveError, match="broken.tar.gz"):
        extract_tar(broken, tmp_path / "out2")
    _assert_nothing_written(tmp_path / "out2")


def test_an_unknown_archive_type_is_named(tmp_path):
    other = tmp_path / "tree.rar"
    other.write_bytes(b"Rar!")
    with pytest.raises(LorapilotError, match=r"tree.rar: not an archive this can read"):
        extract_archive(other, tmp_path / "out")
