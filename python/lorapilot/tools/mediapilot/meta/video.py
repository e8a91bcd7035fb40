"""Header readers for MP4 (ISO BMFF boxes) and WebM (EBML): size, duration, comment text.

Only the boxes/elements that describe the file are read; media data is skipped.
"""

from __future__ import annotations

import struct

from lorapilot.tools.mediapilot.meta.chunks import MAX_CHUNK_BYTES, MAX_CONTAINER_ITEMS, Blob, Probe, decode_text

_MP4_CONTAINERS = {b"moov", b"trak", b"mdia", b"udta", b"meta", b"ilst"}
# iTunes-style text items that generators use for prompts.
_MP4_TEXT_ITEMS = {b"\xa9cmt": "comment", b"\xa9nam": "title", b"\xa9too": "encoder", b"desc": "description"}


def read_mp4(blob: Blob, probe: Probe) -> None:
    """Read ``ftyp``, ``mvhd`` (duration), ``tkhd`` (width/height) and ``ilst`` text."""
    probe.format, probe.kind = "mp4", "video"
    head = blob.at(4, 4)
    if head != b"ftyp":
        probe.errors.append("mp4: no ftyp box (not an MP4 file)")
        return
    state = {"count": 0}
    _mp4_boxes(blob, 0, blob.size, probe, state, depth=0)


def _mp4_boxes(blob: Blob, start: int, end: int, probe: Probe, state: dict, depth: int, parent: bytes = b"") -> None:
    offset = start
    while offset + 8 <= end:
        state["count"] += 1
        if state["count"] > MAX_CONTAINER_ITEMS:
            probe.errors.append("mp4: too many boxes")
            return
        size, btype = struct.unpack(">I4s", blob.at(offset, 8))
        header = 8
        if size == 1:
            size = struct.unpack(">Q", blob.at(offset + 8, 8))[0]
            header = 16
        elif size == 0:
            size = end - offset
        if size < header or offset + size > end:
            probe.errors.append(f"mp4: truncated {btype.decode('latin-1')!r} box")
            return
        body_at, body_len = offset + header, size - header
        if btype == b"mvhd":
            _mvhd(blob.at(body_at, min(body_len, 32)), probe)
        elif btype == b"tkhd":
            _tkhd(blob.at(body_at, min(body_len, 96)), probe)
        elif btype in _MP4_TEXT_ITEMS and parent == b"ilst":
            _ilst_item(blob, body_at, body_len, _MP4_TEXT_ITEMS[btype], probe)
        elif btype in _MP4_CONTAINERS and depth < 8:
            inner = body_at + 4 if btype == b"meta" and blob.at(body_at + 4, 4) != b"hdlr" else body_at
            _mp4_boxes(blob, inner, body_at + body_len, probe, state, depth + 1, btype)
        offset += size


def _mvhd(body: bytes, probe: Probe) -> None:
    if len(body) < 20:
        return
    if body[0] == 1 and len(body) >= 32:
        timescale, duration = struct.unpack(">IQ", body[20:32])
    else:
        timescale, duration = struct.unpack(">II", body[12:20])
    if timescale:
        probe.duration = duration / timescale


def _tkhd(body: bytes, probe: Probe) -> None:
    at = 88 if body[:1] == b"\x01" else 76  # after times, ids, layer/volume and the 3x3 matrix
    if len(body) < at + 8:
        return
    width, height = struct.unpack(">II", body[at : at + 8])
    if width and height and probe.width is None:  # the first track with a size is the video
        probe.width, probe.height = width >> 16, height >> 16


def _ilst_item(blob: Blob, at: int, length: int, name: str, probe: Probe) -> None:
    # item -> 'data' box: size, 'data', type(4), locale(4), payload
    if length < 16 or blob.at(at + 4, 4) != b"data":
        return
    data_len = min(struct.unpack(">I", blob.at(at, 4))[0], length) - 16
    if data_len > 0:
        probe.add_text(name, decode_text(blob.at(at + 16, min(data_len, MAX_CHUNK_BYTES)), probe, f"mp4 {name}"))


# --- WebM / Matroska ---------------------------------------------------------------------------

_EBML = 0x1A45DFA3
_SEGMENT, _INFO, _TRACKS, _TRACK_ENTRY, _VIDEO, _TAGS, _TAG, _SIMPLE_TAG = (
    0x18538067,
    0x1549A966,
    0x1654AE6B,
    0xAE,
    0xE0,
    0x1254C367,
    0x7373,
    0x67C8,
)
_CLUSTER = 0x1F43B675
_DOCTYPE, _TIMECODE_SCALE, _DURATION, _PIXEL_W, _PIXEL_H, _TAG_NAME, _TAG_STRING = (
    0x4282,
    0x2AD7B1,
    0x4489,
    0xB0,
    0xBA,
    0x45A3,
    0x4487,
)
_EBML_CONTAINERS = {_SEGMENT, _INFO, _TRACKS, _TRACK_ENTRY, _VIDEO, _TAGS, _TAG, _SIMPLE_TAG}


def _vint(blob: Blob, offset: int, keep_marker: bool) -> tuple[int, int] | None:
    first = blob.at(offset, 1)
    if not first:
        return None
    b0 = first[0]
    length = 1
    while length <= 8 and not (b0 & (0x80 >> (length - 1))):
        length += 1
    if length > 8:
        return None
    raw = blob.at(offset, length)
    if len(raw) < length:
        return None
    value = int.from_bytes(raw, "big")
    if not keep_marker:
        value &= (1 << (7 * length)) - 1
        if value == (1 << (7 * length)) - 1:
            value = -1  # unknown size
    return value, length


def read_webm(blob: Blob, probe: Probe) -> None:
    """Read the EBML header, segment Info (duration), Tracks (size) and Tags before the clusters."""
    probe.format, probe.kind = "webm", "video"
    state = {"count": 0, "scale": 1_000_000, "duration": None, "tag_name": None, "done": False}
    _ebml(blob, 0, blob.size, probe, state, depth=0)
    if state.get("doctype") not in ("webm", "matroska"):
        probe.errors.append("webm: no EBML header with a webm/matroska doctype (not a WebM file)")
    if state["duration"] is not None:
        probe.duration = state["duration"] * state["scale"] / 1e9


def _ebml(blob: Blob, start: int, end: int, probe: Probe, state: dict, depth: int) -> None:
    offset = start
    while offset < end and not state["done"]:
        state["count"] += 1
        if state["count"] > MAX_CONTAINER_ITEMS:
            probe.errors.append("webm: too many elements")
            return
        ident = _vint(blob, offset, keep_marker=True)
        if ident is None:
            return
        size = _vint(blob, offset + ident[1], keep_marker=False)
        if size is None:
            probe.errors.append("webm: bad element size")
            return
        eid, body_at = ident[0], offset + ident[1] + size[1]
        body_len = end - body_at if size[0] < 0 else size[0]
        if body_at + body_len > blob.size:
            if eid not in (_SEGMENT, _CLUSTER):
                probe.errors.append("webm: truncated element")
                return
            body_len = blob.size - body_at
        if eid == _CLUSTER:
            state["done"] = True  # media data starts: stop reading
            return
        if eid == _EBML:
            _ebml(blob, body_at, body_at + body_len, probe, state, depth + 1)
        elif eid in _EBML_CONTAINERS and depth < 8:
            _ebml(blob, body_at, body_at + body_len, probe, state, depth + 1)
        elif eid == _DOCTYPE:
            state["doctype"] = blob.at(body_at, min(body_len, 32)).rstrip(b"\0").decode("latin-1")
        elif eid == _TIMECODE_SCALE and body_len <= 8:
            state["scale"] = int.from_bytes(blob.at(body_at, body_len), "big") or 1_000_000
        elif eid == _DURATION and body_len in (4, 8):
            state["duration"] = struct.unpack(">f" if body_len == 4 else ">d", blob.at(body_at, body_len))[0]
        elif eid == _PIXEL_W and probe.width is None and body_len <= 8:
            probe.width = int.from_bytes(blob.at(body_at, body_len), "big")
        elif eid == _PIXEL_H and probe.height is None and body_len <= 8:
            probe.height = int.from_bytes(blob.at(body_at, body_len), "big")
        elif eid == _TAG_NAME:
            state["tag_name"] = decode_text(blob.at(body_at, min(body_len, 256)), probe, "webm tag name").lower()
        elif eid == _TAG_STRING and state["tag_name"]:
            text = blob.at(body_at, min(body_len, MAX_CHUNK_BYTES)).rstrip(b"\0")
            probe.add_text(state["tag_name"], decode_text(text, probe, f"webm tag {state['tag_name']}"))
        offset = body_at + body_len
