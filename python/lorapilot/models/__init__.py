"""The shared model store: inspect, hash, download, and wire it into every app.

Modules: :mod:`.safetensors_header` (header-only reader), :mod:`.detect`
(architecture and kind from key patterns), :mod:`.inspect` (summaries and
full reports), :mod:`.hashing` + :mod:`.cache` (sha256 / AutoV2 / addnet,
cached in SQLite), :mod:`.store` (list, move, rename, delete, restore),
:mod:`.download` + :mod:`.sources` (pulls with resume and checksums),
:mod:`.invokeai` (in-place registration), :mod:`.api` and :mod:`.cli`.
"""
