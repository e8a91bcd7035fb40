"""Dataset checks: exact and near duplicates, low resolution, blur, corrupt files, missing captions.

Measurements (:mod:`imagemetrics`) run in worker processes, one per core, and
are cached in ``.tagpilot/cache.db`` by file size and mtime, so a second scan
only measures new or changed images. Each finding names its images; the
caller offers "exclude" or "delete to trash" on them
(:func:`dataset.exclude_images`, :func:`dataset.delete_images`).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field

from lorapilot.kit.errors import LorapilotError
from lorapilot.kit.progress import Progress, check_cancel, no_progress
from lorapilot.tools.tagpilot.dataset import Dataset
from lorapilot.tools.tagpilot.imagemetrics import hamming_pairs, measure
from lorapilot.tools.tagpilot.index import ImageRecord, open_cache, scan

CHECKS = ("exact_duplicates", "near_duplicates", "low_resolution", "blurry", "corrupt", "uncaptioned")


@dataclass
class CheckOptions:
    checks: tuple[str, ...] = CHECKS
    min_side: int = 512  # shorter side below this is "low resolution"
    blur_threshold: float = 60.0  # Laplacian variance below this is "blurry"
    near_threshold: int = 6  # pHash bits that may differ for a near duplicate
    workers: int | None = None  # default: one per CPU


@dataclass
class Finding:
    check: str
    images: list[str]
    detail: str
    # For duplicate groups: the image to keep; the action applies to the others.
    keep: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class CheckReport:
    images: int
    measured: int  # how many were (re)measured this time; the rest came from the cache
    findings: list[Finding] = field(default_factory=list)

    def to_dict(self) -> dict:
        counts: dict[str, int] = {name: 0 for name in CHECKS}
        for finding in self.findings:
            counts[finding.check] += 1
        return {
            "images": self.images,
            "measured": self.measured,
            "counts": counts,
            "findings": [f.to_dict() for f in self.findings],
        }


def _metrics(
    ds: Dataset, records: list[ImageRecord], workers: int | None, progress: Progress, cancel: threading.Event | None
) -> tuple[dict[str, dict], int]:
    """name → metrics for every record, measuring only what the cache lacks."""
    conn = open_cache(ds)
    try:
        rows = {r["name"]: dict(r) for r in conn.execute("SELECT * FROM images WHERE sha256 IS NOT NULL")}
        metrics, todo = {}, []
        for record in records:
            row = rows.get(record.name)
            if row is not None and row["size"] == record.size and row["mtime_ns"] == record.mtime_ns:
                metrics[record.name] = row
            else:
                todo.append(record)
        total = len(records)
        done = total - len(todo)
        progress(done, total, "measuring images")
        for record, result in _measure_all(ds, todo, workers, cancel):
            metrics[record.name] = result
            conn.execute(
                "INSERT OR REPLACE INTO images (name, size, mtime_ns, width, height, error, sha256, phash, dhash, blur)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.name,
                    record.size,
                    record.mtime_ns,
                    result["width"],
                    result["height"],
                    result["error"],
                    result["sha256"],
                    result["phash"],
                    result["dhash"],
                    result["blur"],
                ),
            )
            done += 1
            if done % 50 == 0 or done == total:
                progress(done, total, "measuring images")
        return metrics, len(todo)
    finally:
        conn.close()


def _measure_all(ds: Dataset, todo: list[ImageRecord], workers: int | None, cancel: threading.Event | None):
    """Yield (record, metrics) as they finish; in worker processes when there is enough work."""
    paths = [str(ds.path / r.name) for r in todo]
    workers = workers or os.cpu_count() or 1
    if workers == 1 or len(todo) < 64:
        for record, path in zip(todo, paths):
            check_cancel(cancel)
            yield record, measure(path)
        return
    # forkserver: forking a threaded server (ControlPilot) is unsafe; spawn would re-import everything per worker.
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        batch = 256
        for start in range(0, len(paths), batch):
            check_cancel(cancel)
            chunk = paths[start : start + batch]
            for offset, result in enumerate(pool.map(measure, chunk, chunksize=16)):
                yield todo[start + offset], result


def run_checks(
    ds: Dataset,
    options: CheckOptions = CheckOptions(),
    progress: Progress = no_progress,
    cancel: threading.Event | None = None,
) -> CheckReport:
    """Measure the dataset and return every finding of the selected checks."""
    unknown = set(options.checks) - set(CHECKS)
    if unknown:
        raise LorapilotError(f"unknown check {sorted(unknown)[0]!r}; known: {', '.join(CHECKS)}")
    records = [r for r in scan(ds) if not r.is_clip]  # the checks measure pixels; a clip is read on import
    needs_metrics = set(options.checks) - {"uncaptioned", "low_resolution"}
    metrics, measured = _metrics(ds, records, options.workers, progress, cancel) if needs_metrics else ({}, 0)
    report = CheckReport(images=len(records), measured=measured)
    selected = set(options.checks)
    if "corrupt" in selected:
        for record in records:
            error = metrics[record.name]["error"]
            if error:
                report.findings.append(Finding("corrupt", [record.name], error))
    if "exact_duplicates" in selected:
        report.findings += _exact_duplicates(records, metrics)
    if "near_duplicates" in selected:
        report.findings += _near_duplicates(records, metrics, options.near_threshold)
    if "low_resolution" in selected:
        for record in records:
            if record.width and record.height and min(record.width, record.height) < options.min_side:
                report.findings.append(
                    Finding(
                        "low_resolution",
                        [record.name],
                        f"{record.width}×{record.height}: shorter side below {options.min_side}",
                    )
                )
    if "blurry" in selected:
        for record in records:
            blur = metrics[record.name]["blur"]
            if blur is not None and blur < options.blur_threshold:
                report.findings.append(
                    Finding("blurry", [record.name], f"Laplacian variance {blur:.1f} below {options.blur_threshold:g}")
                )
    if "uncaptioned" in selected:
        for record in records:
            if not record.captioned:
                report.findings.append(
                    Finding(
                        "uncaptioned", [record.name], "no caption" if not record.caption.exists else "empty caption"
                    )
                )
    return report


def _exact_duplicates(records: list[ImageRecord], metrics: dict[str, dict]) -> list[Finding]:
    groups: dict[str, list[str]] = {}
    for record in records:
        digest = metrics[record.name]["sha256"]
        if digest:
            groups.setdefault(digest, []).append(record.name)
    return [
        Finding("exact_duplicates", names, f"{len(names)} identical files (sha256 {digest[:12]}…)", keep=names[0])
        for digest, names in groups.items()
        if len(names) > 1
    ]


def _near_duplicates(records: list[ImageRecord], metrics: dict[str, dict], threshold: int) -> list[Finding]:
    hashed = [r.name for r in records if metrics[r.name]["phash"]]
    pairs = hamming_pairs([metrics[name]["phash"] for name in hashed], threshold)
    parent = list(range(len(hashed)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    closest: dict[int, int] = {}
    for a, b, distance in pairs:
        if metrics[hashed[a]]["sha256"] == metrics[hashed[b]]["sha256"]:
            continue  # identical files are reported as exact duplicates
        parent[root(a)] = root(b)
        closest[a] = min(closest.get(a, 64), distance)
        closest[b] = min(closest.get(b, 64), distance)
    groups: dict[int, list[int]] = {}
    for index in closest:
        groups.setdefault(root(index), []).append(index)
    findings = []
    for members in groups.values():
        members.sort()
        names = [hashed[i] for i in members]
        best = min(closest[i] for i in members)
        findings.append(
            Finding(
                "near_duplicates",
                names,
                f"{len(names)} similar images (pHash distance {best} ≤ {threshold})",
                keep=names[0],
            )
        )
    return sorted(findings, key=lambda f: f.images[0])
