"""Raw readers for image containers: PNG chunks, JPEG segments, WebP RIFF chunks, EXIF.

They never decode pixels: they walk the container structure, take the size
from the header and collect metadata text, with caps on every length so a
hostile or broken file cannot make the indexer read or allocate without
bound. Problems are appended to ``errors`` rather than raised.
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass, field

MAX_CHUNK_BYTES = 2 * 1024 * 1024  # a text chunk is cut here: a 10 MB prompt is capped, not loaded whole
# A text chunk past the cap keeps its head and this much of its end: A1111 writes the negative prompt and
# the settings line after the prompt, so a megabytes-long prompt must not cost them.
TAIL_BYTES = 512 * 1024
HEAD_OF_LONG_TEXT = MAX_CHUNK_BYTES - TAIL_BYTES - 1  # head + a line break + tail fit the cap
MAX_INFLATE_BYTES = 64 * 1024 * 1024  # a compressed chunk is inflated this far looking for its end
MAX_TEXT_CHUNKS = 64  # text chunks kept per file
MAX_CONTAINER_ITEMS = 100_000  # chunks / segments walked per file
HEAD_BYTES = 64 * 1024  # read in one call up front: all of a small file, the headers of a big one


class Blob:
    """Random access to a file's bytes: its head is read once; anything past it with one pread per request
    (metadata chunks after the pixel data), so a big file's pixel data is never read."""

    __slots__ = ("head", "fd", "size")

    def __init__(self, fd: int, size: int):
        self.size = size
        self.fd = fd
        parts, want = [], min(size, HEAD_BYTES)
        while want > 0 and (part := os.read(fd, want)):
            parts.append(part)
            want -= len(part)
        self.head = b"".join(parts)  # shorter than asked when the file shrank since its stat

    def at(self, offset: int, length: int) -> bytes:
        if offset < 0 or length <= 0:
            return b""
        if offset + length <= len(self.head):
            return self.head[offset : offset + length]
        return os.pread(self.fd, length, offset)


@dataclass
class Probe:
    """What the container says about a file, without decoding it."""

    format: str | None = None  # png jpeg webp mp4 webm
    kind: str = "image"  # image | video
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    texts: dict[str, str] = field(default_factory=dict)  # metadata key -> text
    errors: list[str] = field(default_factory=list)

    def add_text(self, key: str, text: str) -> None:
        if len(self.texts) >= MAX_TEXT_CHUNKS:
            if "too many text chunks" not in self.errors:
                self.errors.append("too many text chunks")
            return
        # Keys repeat in odd files; keep the first and name the others apart.
        name, n = key, 2
        while name in self.texts:
            name, n = f"{key}#{n}", n + 1
        self.texts[name] = text


def _cap(probe: Probe, what: str, length: int) -> int:
    if length > MAX_CHUNK_BYTES:
        probe.errors.append(f"{what} is {length} bytes, capped at {MAX_CHUNK_BYTES}")
        return MAX_CHUNK_BYTES
    return length


def head_and_tail(head: bytes, tail: bytes) -> bytes:
    """The start and the end of a text too long to keep, joined by a line break; UTF-8 sequences cut
    at either edge are dropped so the text still decodes."""
    end = len(head)
    for back in range(1, min(4, end) + 1):  # a lead byte whose sequence runs past the cut
        byte = head[end - back]
        if byte < 0x80:
            break
        if byte >= 0xC0:
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            if need > back:
                end -= back
            break
    start = 0
    while start < min(3, len(tail)) and 0x80 <= tail[start] < 0xC0:  # continuation bytes of a cut sequence
        start += 1
    return head[:end] + b"\n" + tail[start:]


def _inflate(data: bytes, probe: Probe, what: str) -> bytes | None:
    """zlib-decompress at most MAX_CHUNK_BYTES (a small bomb cannot expand without bound); past that,
    the head and the last TAIL_BYTES when the end comes within MAX_INFLATE_BYTES."""
    try:
        decomp = zlib.decompressobj()
        out = decomp.decompress(data, MAX_CHUNK_BYTES)
        if not decomp.unconsumed_tail:
            return out
        tail, total = b"", len(out)
        while decomp.unconsumed_tail and total < MAX_INFLATE_BYTES:
            piece = decomp.decompress(decomp.unconsumed_tail, 1024 * 1024)
            total += len(piece)
            tail = (tail + piece)[-TAIL_BYTES:]
        if not decomp.eof:  # past MAX_INFLATE_BYTES, or the compressed data itself was cut: no true end
            probe.errors.append(f"{what} expands past {MAX_CHUNK_BYTES} bytes, capped at {MAX_CHUNK_BYTES}")
            return out
        probe.errors.append(
            f"{what} expands to {total} bytes, capped at {MAX_CHUNK_BYTES}: kept its first "
            f"{HEAD_OF_LONG_TEXT} and last {len(tail)}"
        )
        return head_and_tail(out[:HEAD_OF_LONG_TEXT], tail)
    except zlib.error as exc:
        probe.errors.append(f"{what}: bad compressed data ({exc})")
        return None


def decode_text(data: bytes, probe: Probe, what: str, encoding: str = "utf-8") -> str:
    """Decode leniently: invalid bytes become U+FFFD and the file is flagged."""
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        probe.errors.append(f"{what}: invalid {encoding}")
        return data.decode(encoding, errors="replace")


# --- PNG ---------------------------------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def read_png(blob: Blob, probe: Probe) -> None:
    """Walk every chunk (text can sit after IDAT); IDAT data is skipped, never read."""
    probe.format = "png"
    offset, count, seen_end = 8, 0, False
    while offset + 8 <= blob.size:
        count += 1
        if count > MAX_CONTAINER_ITEMS:
            probe.errors.append("png: too many chunks")
            return
        length, ctype = struct.unpack(">I4s", blob.at(offset, 8))
        data_at = offset + 8
        if data_at + length + 4 > blob.size:
            probe.errors.append(f"png: truncated {ctype.decode('latin-1')} chunk")
            return
        if ctype == b"IHDR" and length >= 8:
            probe.width, probe.height = struct.unpack(">II", blob.at(data_at, 8))
        elif ctype in (b"tEXt", b"zTXt", b"iTXt"):
            _png_text(ctype, _text_chunk(blob, ctype, data_at, length, probe), probe)
        elif ctype == b"eXIf":
            read_exif(blob.at(data_at, _cap(probe, "png eXIf chunk", length)), probe)
        elif ctype == b"IEND":
            seen_end = True
            break
        offset = data_at + length + 4
    if probe.width is None:
        probe.errors.append("png: no IHDR chunk")
    if not seen_end:
        probe.errors.append("png: truncated (no IEND chunk)")


def _text_chunk(blob: Blob, ctype: bytes, at: int, length: int, probe: Probe) -> bytes:
    """A text chunk's data; past the cap, an uncompressed one keeps its head and its last TAIL_BYTES
    (compressed data cannot be cut: it is capped and _inflate keeps what it can)."""
    if length <= MAX_CHUNK_BYTES:
        return blob.at(at, length)
    head = blob.at(at, HEAD_OF_LONG_TEXT)
    compressed = ctype == b"zTXt" or (ctype == b"iTXt" and head.partition(b"\0")[2][:1] == b"\1")
    if compressed:
        return blob.at(at, _cap(probe, f"png {ctype.decode()} chunk", length))
    probe.errors.append(
        f"png {ctype.decode()} chunk is {length} bytes, capped at {MAX_CHUNK_BYTES}: kept its "
        f"first {len(head)} and last {TAIL_BYTES}"
    )
    return head_and_tail(head, blob.at(at + length - TAIL_BYTES, TAIL_BYTES))


def _png_text(ctype: bytes, data: bytes, probe: Probe) -> None:
    key, sep, rest = data.partition(b"\0")
    if not sep:
        probe.errors.append(f"png: {ctype.decode()} chunk without a keyword")
        return
    keyword = key.decode("latin-1")
    what = f"png {ctype.decode()} {keyword!r}"
    if ctype == b"tEXt":
        probe.add_text(keyword, _latin1_or_utf8(rest))
        return
    if ctype == b"zTXt":
        raw = _inflate(rest[1:], probe, what)
        if raw is not None:
            probe.add_text(keyword, _latin1_or_utf8(raw))
        return
    # iTXt: compression flag, method, language\0, translated keyword\0, text (UTF-8)
    if len(rest) < 2:
        probe.errors.append(f"{what}: too short")
        return
    compressed = rest[0] == 1
    parts = rest[2:].split(b"\0", 2)
    if len(parts) < 3:
        probe.errors.append(f"{what}: malformed")
        return
    text = parts[2]
    if compressed:
        text = _inflate(text, probe, what)
        if text is None:
            return
    probe.add_text(keyword, decode_text(text, probe, what))


def _latin1_or_utf8(raw: bytes) -> str:
    # tEXt/zTXt are latin-1 by the spec, but every generator writes UTF-8 there;
    # bytes that are not valid UTF-8 are read as the spec says.
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


# --- JPEG --------------------------------------------------------------------------------------

_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def read_jpeg(blob: Blob, probe: Probe) -> None:
    """Walk the segments up to the scan data: size from SOF, EXIF from APP1, text from COM."""
    probe.format = "jpeg"
    offset, count = 2, 0
    while True:
        count += 1
        if count > MAX_CONTAINER_ITEMS:
            probe.errors.append("jpeg: too many segments")
            return
        head = blob.at(offset, 4)
        if len(head) < 2:
            probe.errors.append("jpeg: truncated before the image data")
            return
        if head[0] != 0xFF:
            probe.errors.append(f"jpeg: bad marker at byte {offset}")
            return
        marker = head[1]
        if marker == 0xFF:  # fill byte
            offset += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            offset += 2
            continue
        if marker == 0xD9:
            probe.errors.append("jpeg: end of image before any scan")
            return
        if len(head) < 4:
            probe.errors.append("jpeg: truncated segment header")
            return
        length = struct.unpack(">H", head[2:4])[0]
        if length < 2 or offset + 2 + length > blob.size:
            probe.errors.append(f"jpeg: truncated segment 0x{marker:02X}")
            return
        body_at = offset + 4
        body_len = length - 2
        if marker in _SOF_MARKERS and body_len >= 5:
            probe.height, probe.width = struct.unpack(">HH", blob.at(body_at + 1, 4))
        elif marker == 0xE1:
            body = blob.at(body_at, body_len)
            if body.startswith(b"Exif\0"):
                read_exif(body[6:], probe)
        elif marker == 0xFE:
            probe.add_text("comment", decode_text(blob.at(body_at, body_len), probe, "jpeg comment"))
        elif marker == 0xDA:  # start of scan: the pixels follow, metadata is done
            if probe.width is None:
                probe.errors.append("jpeg: no frame header before the scan")
            if blob.at(blob.size - 2, 2) != b"\xff\xd9":
                probe.errors.append("jpeg: truncated (no end-of-image marker)")
            return
        offset += 2 + length


# --- WebP --------------------------------------------------------------------------------------


def read_webp(blob: Blob, probe: Probe) -> None:
    """Walk the RIFF chunks: size from VP8/VP8L/VP8X, metadata from EXIF and XMP."""
    probe.format = "webp"
    riff_size = struct.unpack("<I", blob.at(4, 4))[0]
    end = min(blob.size, 8 + riff_size)
    if 8 + riff_size > blob.size:
        probe.errors.append("webp: truncated (RIFF size beyond the end of the file)")
    offset, count = 12, 0
    while offset + 8 <= end:
        count += 1
        if count > MAX_CONTAINER_ITEMS:
            probe.errors.append("webp: too many chunks")
            return
        fourcc, length = struct.unpack("<4sI", blob.at(offset, 8))
        data_at = offset + 8
        if data_at + length > blob.size:
            probe.errors.append(f"webp: truncated {fourcc.decode('latin-1')} chunk")
            return
        if fourcc == b"VP8X" and length >= 10:
            b = blob.at(data_at, 10)
            probe.width = 1 + int.from_bytes(b[4:7], "little")
            probe.height = 1 + int.from_bytes(b[7:10], "little")
        elif fourcc == b"VP8 " and length >= 10 and probe.width is None:
            b = blob.at(data_at, 10)
            if b[3:6] == b"\x9d\x01\x2a":
                w, h = struct.unpack("<HH", b[6:10])
                probe.width, probe.height = w & 0x3FFF, h & 0x3FFF
        elif fourcc == b"VP8L" and length >= 5 and probe.width is None:
            b = blob.at(data_at, 5)
            if b[0] == 0x2F:
                bits = int.from_bytes(b[1:5], "little")
                probe.width, probe.height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        elif fourcc == b"EXIF":
            data = blob.at(data_at, _cap(probe, "webp EXIF chunk", length))
            read_exif(data[6:] if data.startswith(b"Exif\0") else data, probe)
        elif fourcc == b"XMP ":
            probe.add_text(
                "xmp", decode_text(blob.at(data_at, _cap(probe, "webp XMP chunk", length)), probe, "webp XMP")
            )
        offset = data_at + length + (length & 1)
    if probe.width is None:
        probe.errors.append("webp: no image header")


# --- EXIF --------------------------------------------------------------------------------------

# IFD0 and Exif-IFD tags that carry generation metadata, by the name we store them under.
_IFD0_TAGS = {0x010E: "ImageDescription", 0x010F: "Make", 0x0110: "Model", 0x0131: "Software", 0x013B: "Artist"}
_EXIF_TAGS = {0x9286: "UserComment"}
_EXIF_POINTER = 0x8769
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1, 9: 4, 10: 8}


def read_exif(tiff: bytes, probe: Probe) -> None:
    """Read the text tags of a TIFF/EXIF block (IFD0 and the Exif IFD)."""
    if len(tiff) < 8 or tiff[:2] not in (b"II", b"MM"):
        probe.errors.append("exif: not a TIFF header")
        return
    order = "<" if tiff[:2] == b"II" else ">"
    ifd0 = struct.unpack(order + "I", tiff[4:8])[0]
    exif_ifd = _read_ifd(tiff, order, ifd0, _IFD0_TAGS, probe)
    if exif_ifd:
        _read_ifd(tiff, order, exif_ifd, _EXIF_TAGS, probe)


def _read_ifd(tiff: bytes, order: str, offset: int, wanted: dict[int, str], probe: Probe) -> int | None:
    if offset + 2 > len(tiff):
        probe.errors.append("exif: IFD offset beyond the data")
        return None
    count = struct.unpack(order + "H", tiff[offset : offset + 2])[0]
    exif_pointer = None
    for i in range(min(count, 1000)):
        entry = tiff[offset + 2 + 12 * i : offset + 14 + 12 * i]
        if len(entry) < 12:
            probe.errors.append("exif: truncated IFD")
            break
        tag, typ, n = struct.unpack(order + "HHI", entry[:8])
        if tag == _EXIF_POINTER:
            exif_pointer = struct.unpack(order + "I", entry[8:12])[0]
            continue
        name = wanted.get(tag)
        if name is None:
            continue
        size = _TYPE_SIZES.get(typ, 1) * n
        if size <= 4:
            value = entry[8 : 8 + size]
        else:
            at = struct.unpack(order + "I", entry[8:12])[0]
            value = tiff[at : at + min(size, MAX_CHUNK_BYTES)]
            if size > MAX_CHUNK_BYTES:
                probe.errors.append(f"exif {name} is {size} bytes, capped at {MAX_CHUNK_BYTES}")
        if name == "UserComment":
            text = decode_user_comment(value, order, probe)
        else:
            text = decode_text(value.rstrip(b"\0"), probe, f"exif {name}")
        if text:
            probe.add_text(f"exif:{name}", text)
    return exif_pointer


def decode_user_comment(value: bytes, byte_order: str, probe: Probe) -> str:
    """EXIF UserComment: an 8-byte charset code, then the text.

    ``UNICODE`` is UTF-16 whose byte order writers disagree on (A1111 writes big
    endian whatever the TIFF order; others follow the TIFF order): a BOM wins, else
    the side where the zero bytes of ASCII text fall.
    """
    code, body = value[:8], value[8:]
    if code == b"UNICODE\0":
        if body[:2] in (b"\xfe\xff", b"\xff\xfe"):
            encoding, body = ("utf-16-be" if body[:2] == b"\xfe\xff" else "utf-16-le"), body[2:]
        else:
            even_zeros = body[0::2].count(0)
            odd_zeros = body[1::2].count(0)
            if even_zeros == odd_zeros:
                encoding = "utf-16-le" if byte_order == "<" else "utf-16-be"
            else:
                encoding = "utf-16-be" if even_zeros > odd_zeros else "utf-16-le"
        if len(body) % 2:
            body = body[:-1]
        return decode_text(body, probe, "exif UserComment", encoding).rstrip("\0")
    if code in (b"ASCII\0\0\0", b"\0" * 8):
        return decode_text(body, probe, "exif UserComment").rstrip("\0")
    if code == b"JIS\0\0\0\0\0":
        return decode_text(body, probe, "exif UserComment", "shift_jis").rstrip("\0")
    # No charset code at all: some writers put plain UTF-8 there.
    return decode_text(value, probe, "exif UserComment").rstrip("\0")
