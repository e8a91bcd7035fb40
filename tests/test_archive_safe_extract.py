"""lorapilot.kit.archive refuses hostile zips before writing anything and extracts good ones whole."""

import io
import stat
import zipfile

import pytest

from lorapilot.kit.archive import ArchiveLimits, UnsafeArchiveError, check_zip, extract_zip


def _zip(path, members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> str:
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _symlink_zip(path):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("ok.txt", b"fine")
        info = zipfile.ZipInfo("link")
        info.create_system = 3
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    return path


def _assert_nothing_written(dest):
    assert not dest.exists()
    leftovers = [p.name for p in dest.parent.iterdir() if p.name.startswith(f".{dest.name}")]
    assert leftovers == []


def test_good_zip_is_extracted_with_folders(tmp_path):
    archive = _zip(tmp_path / "good.zip", {"a.txt": b"alpha", "sub/b.txt": b"beta", "./c.txt": b"gamma"})
    dest = tmp_path / "out"
    members = extract_zip(archive, dest)
    assert sorted(m.name for m in members) == ["a.txt", "c.txt", "sub/b.txt"]
    assert (dest / "sub" / "b.txt").read_bytes() == b"beta"
    assert (dest / "c.txt").read_bytes() == b"gamma"


@pytest.mark.parametrize(
    "name, reason",
    [
        ("../evil.txt", "escapes"),
        ("sub/../../evil.txt", "escapes"),
        ("/etc/evil.txt", "absolute"),
        ("C:/evil.txt", "drive letter"),
        ("..\\evil.txt", "escapes"),
    ],
)
def test_path_escapes_are_refused_and_nothing_is_written(tmp_path, name, reason):
    archive = _zip(tmp_path / "bad.zip", {"fine.txt": b"first, harmless", name: b"payload"})
    dest = tmp_path / "out"
    with pytest.raises(UnsafeArchiveError, match=reason):
        extract_zip(archive, dest)
    _assert_nothing_written(dest)
    assert not (tmp_path / "evil.txt").exists()


def test_symlinks_are_refused(tmp_path):
    dest = tmp_path / "out"
    with pytest.raises(UnsafeArchiveError, match="symlinks are not allowed"):
        extract_zip(_symlink_zip(tmp_path / "link.zip"), dest)
    _assert_nothing_written(dest)


def test_total_uncompressed_size_limit(tmp_path):
    archive = _zip(tmp_path / "big.zip", {f"f{i}.bin": bytes(range(256)) * 40 for i in range(5)}, zipfile.ZIP_STORED)
    dest = tmp_path / "out"
    with pytest.raises(UnsafeArchiveError, match="expands to more than 40000 bytes"):
        extract_zip(archive, dest, ArchiveLimits(max_total_bytes=40_000))
    _assert_nothing_written(dest)


def test_compression_ratio_limit_stops_a_zip_bomb(tmp_path):
    archive = _zip(tmp_path / "bomb.zip", {"zeros.bin": b"\0" * (20 * 1024 * 1024)})
    with pytest.raises(UnsafeArchiveError, match=r"compression ratio \d+:1 exceeds 200:1"):
        check_zip(archive)
    dest = tmp_path / "out"
    with pytest.raises(UnsafeArchiveError):
        extract_zip(archive, dest)
    _assert_nothing_written(dest)


def test_member_count_limit(tmp_path):
    archive = _zip(tmp_path / "many.zip", {f"{i}.txt": b"x" for i in range(20)})
    with pytest.raises(UnsafeArchiveError, match="20 members; the limit is 10"):
        check_zip(archive, ArchiveLimits(max_members=10))


def test_not_a_zip_is_refused_with_the_reason(tmp_path):
    path = tmp_path / "fake.zip"
    path.write_bytes(b"this is not a zip file at all")
    with pytest.raises(UnsafeArchiveError, match="not a valid zip"):
        extract_zip(path, tmp_path / "out")
    _assert_nothing_written(tmp_path / "out")


def test_a_member_lying_about_its_size_is_caught_while_writing(tmp_path):
    # A header claiming 10 bytes for 5,000 bytes of data: zipfile stops at the declared size and the CRC
    # check fails; either way the staging folder is removed and nothing appears.
    buffer = io.BytesIO()
    _zip(buffer, {"a.txt": b"A" * 5000}, zipfile.ZIP_STORED)
    data = bytearray(buffer.getvalue())
    # patch the uncompressed size in the central directory entry (offset 24 from its signature)
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")
    path = tmp_path / "liar.zip"
    path.write_bytes(bytes(data))
    dest = tmp_path / "out"
    with pytest.raises(UnsafeArchiveError):
        extract_zip(path, dest)
    _assert_nothing_written(dest)


def test_duplicate_member_names_are_refused(tmp_path):
    path = tmp_path / "dup.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a.txt", b"1")
        with pytest.warns(UserWarning):
            zf.writestr("A.txt".lower(), b"2")
    with pytest.raises(UnsafeArchiveError, match="appears twice"):
        check_zip(path)


def test_existing_destination_is_not_touched(tmp_path):
    archive = _zip(tmp_path / "good.zip", {"a.txt": b"alpha"})
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "mine.txt").write_text("keep")
    with pytest.raises(Exception, match="already exists"):
        extract_zip(archive, dest)
    assert (dest / "mine.txt").read_text() == "keep"
