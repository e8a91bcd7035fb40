#!/usr/bin/env python3
"""Model store benchmarks, each beside its baseline in the same run.

1. Hashing a 2 GB file: lorapilot.tools.models.hashing.hash_file vs `sha256sum`
   (target: at least 90% of sha256sum's speed). Both read the same file from
   the page cache; each is run 3 times alternately and the best time counts.
2. Listing 2,000 model files with a warm cache (target: under 300 ms), beside
   the cold listing (every header read and classified) of the same files.

Usage: python bench/models_bench.py [--size-mb 2048] [--files 2000] [--dir DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "tests"))

from lorapilot.stack.workspace.layout import Workspace  # noqa: E402
from lorapilot.tools.models.hashing import hash_file  # noqa: E402
from lorapilot.tools.models.store import ModelStore  # noqa: E402


def bench_hash(folder: Path, size_mb: int) -> None:
    path = folder / "big.safetensors"
    block = os.urandom(16 * 1024 * 1024)
    with path.open("wb") as fh:
        for _ in range(size_mb // 16):
            fh.write(block)
    size = path.stat().st_size
    ours, theirs = [], []
    expected = None
    for _ in range(3):
        start = time.perf_counter()
        out = subprocess.run(["sha256sum", str(path)], capture_output=True, text=True, check=True).stdout
        theirs.append(time.perf_counter() - start)
        expected = out.split()[0]
        start = time.perf_counter()
        got = hash_file(path).sha256
        ours.append(time.perf_counter() - start)
        assert got == expected, "hash mismatch"
    gb = size / 1e9
    best_ours, best_theirs = min(ours), min(theirs)
    ratio = best_theirs / best_ours
    print(
        f"hash {gb:.2f} GB: lorapilot {gb / best_ours:.2f} GB/s ({best_ours:.2f} s), "
        f"sha256sum {gb / best_theirs:.2f} GB/s ({best_theirs:.2f} s) -> {ratio * 100:.0f}% of sha256sum "
        f"[target >= 90%: {'PASS' if ratio >= 0.9 else 'FAIL'}]"
    )
    path.unlink()


def bench_list(folder: Path, count: int) -> None:
    from support import model_files as mf

    ws = Workspace(folder / "ws")
    template = mf.write_model(folder / "lora.safetensors", mf.kohya_lora_sdxl(), mf.LORA_METADATA)
    folders = ["loras", "checkpoints", "vae", "embeddings"]
    for i in range(count):
        target = ws.models / folders[i % len(folders)] / f"sub{i % 20}" / f"model_{i:05d}.safetensors"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, target)
    cold_store = ModelStore(ws)
    start = time.perf_counter()
    entries = cold_store.list()
    cold = time.perf_counter() - start
    cold_store.hash_entries(entries)
    cold_store.close()
    warm_times = []
    for _ in range(5):
        store = ModelStore(ws)  # a fresh process-like start: only the SQLite cache is warm
        start = time.perf_counter()
        entries = store.list(with_hashes=True)
        warm_times.append(time.perf_counter() - start)
        store.close()
    assert len(entries) == count and all(e.sha256 for e in entries)
    warm = min(warm_times)
    print(
        f"list {count} models: warm cache {warm * 1000:.0f} ms (median {sorted(warm_times)[2] * 1000:.0f} ms), "
        f"cold (headers read, no hashing) {cold * 1000:.0f} ms "
        f"[target < 300 ms: {'PASS' if warm < 0.3 else 'FAIL'}]"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=2048)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--dir", type=Path, default=None, help="scratch folder (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        bench_hash(Path(tmp), args.size_mb)
        bench_list(Path(tmp), args.files)


if __name__ == "__main__":
    main()
