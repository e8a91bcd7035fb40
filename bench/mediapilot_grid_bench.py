#!/usr/bin/env python3
"""MediaPilot grid at 100,000 items: does scrolling stay smooth as the list grows?

    .venv/bin/python bench/mediapilot_grid_bench.py [--count 100000] [--deep 20000] [--seconds 3]

Builds a workspace whose outputs/ holds ``--count`` real PNG files with A1111 metadata (copies of one
small file: one thumbnail serves them all, the grid is what is measured), indexes them with a real scan,
serves ControlPilot with uvicorn and opens the MediaPilot page in headless Chromium. Then:

1. first view: navigation -> the item count on screen;
2. smooth scrolling near the top (one page of 200 loaded) for ``--seconds``: frame intervals
   (requestAnimationFrame), frames longer than 50 ms, most tiles in the DOM;
3. keyset pages loaded while jumping down until ``--deep`` items are in the list (ms per page);
4. the same smooth scrolling there, side by side with 2 (the baseline: the same grid with 1% of the items).

The grid is smooth at size when 4 matches 2 (its work per frame does not grow with the list) and the DOM
holds only the rows in view. Needs the built web UI and /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "python"))
sys.path.insert(0, str(REPO / "tests"))

PARAMS = (
    "a lighthouse in a storm, <lora:storm_style_v2:0.7>\nNegative prompt: blurry\n"
    "Steps: 24, Sampler: DPM++ 2M, CFG scale: 6, Seed: 1234, Size: 96x64, Model: dreamshaper_8"
)

# Scrolls the grid at a steady speed for `seconds` and reports the frame intervals seen meanwhile.
SMOOTH_SCROLL = """async ([seconds, pxPerFrame]) => {
  const grid = document.querySelector('[data-testid=media-grid]');
  const gaps = []; let cells = 0; let last = performance.now();
  const end = last + seconds * 1000;
  await new Promise(done => {
    const step = now => {
      gaps.push(now - last); last = now;
      grid.scrollTop += pxPerFrame;
      cells = Math.max(cells, document.querySelectorAll('.vgrid-cell').length);
      if (now < end) requestAnimationFrame(step); else done();
    };
    requestAnimationFrame(step);
  });
  return {gaps, cells};
}"""


def make_files(outputs: Path, count: int) -> None:
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("parameters", PARAMS)
    buffer = io.BytesIO()
    Image.new("RGB", (96, 64), (40, 90, 160)).save(buffer, "PNG", pnginfo=info)
    data = buffer.getvalue()
    for i in range(count):
        folder = outputs / "bulk" / f"{i // 1000:03d}"
        if i % 1000 == 0:
            folder.mkdir(parents=True, exist_ok=True)
        (folder / f"img_{i:06d}.png").write_bytes(data)


CPU_METRICS = ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration")


def cpu_seconds(cdp) -> dict[str, float]:
    """The renderer main thread's busy time so far, by kind (Chrome's Performance domain)."""
    return {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"] if m["name"] in CPU_METRICS}


def smooth_scroll(page, cdp, seconds: float, speed: int) -> dict:
    """Frame intervals (wall clock: CPU contention shows) and main-thread work per frame (CPU time: it does not)."""
    before = cpu_seconds(cdp)
    result = page.evaluate(SMOOTH_SCROLL, [seconds, speed])
    after = cpu_seconds(cdp)
    gaps = sorted(result["gaps"][2:])  # the first frames measure the start, not the scrolling
    figures = {
        "frames": len(gaps),
        "p50_ms": statistics.median(gaps),
        "p95_ms": gaps[int(len(gaps) * 0.95) - 1],
        "max_ms": gaps[-1],
        "long": sum(g > 50 for g in gaps),
        "cells": result["cells"],
    }
    for name in CPU_METRICS:
        figures[name] = (after[name] - before[name]) * 1000 / len(result["gaps"])
    return figures


def loaded_items(page) -> int:
    return page.get_by_test_id("media-grid").evaluate(
        "el => Math.round(el.firstElementChild.getBoundingClientRect().height / 188)"
        " * Math.max(1, Math.floor((el.clientWidth + 8) / 188))"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--deep", type=int, default=20_000, help="items loaded before the second measurement")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--speed", type=int, default=60, help="pixels scrolled per frame")
    args = parser.parse_args()

    from support.browser import browser_page, live_controlpilot, login
    from support.media_lib import make_library

    tmp = Path(tempfile.mkdtemp(prefix="mp-grid-bench-"))
    ctx, lib = make_library(tmp, media={"watch": False})
    t0 = time.perf_counter()
    make_files(ctx.workspace.outputs, args.count)
    made = time.perf_counter() - t0
    report = lib.scan()
    lib.close()
    print(
        f"{report.added:,} files made in {made:.1f} s, indexed in {report.seconds:.1f} s "
        f"({report.added / report.seconds:,.0f}/s)"
    )

    with live_controlpilot(ctx) as server, browser_page() as page:
        page.set_default_timeout(120_000)
        login(page, server, "/media")
        t0 = time.perf_counter()
        page.goto(server.url + "/media")
        page.get_by_test_id("media-count").filter(has_text=f"{args.count} item(s)").wait_for()
        page.get_by_test_id("media-grid").get_by_role("button").first.wait_for()
        first_view_ms = (time.perf_counter() - t0) * 1000

        cdp = page.context.new_cdp_session(page)
        cdp.send("Performance.enable")
        top = smooth_scroll(page, cdp, args.seconds, args.speed)
        top_items = loaded_items(page)

        grid = page.get_by_test_id("media-grid")
        t0 = time.perf_counter()
        start_items = loaded_items(page)
        height = "document.querySelector('.vgrid-space').getBoundingClientRect().height"
        while (items := loaded_items(page)) < min(args.deep, args.count):
            before = page.evaluate(height)
            grid.evaluate("el => { el.scrollTop = el.scrollHeight; }")
            page.wait_for_function(f"n => {height} > n", arg=before)
        pages = max(1, (items - start_items) // 200)
        per_page_ms = (time.perf_counter() - t0) * 1000 / pages
        grid.evaluate("el => { el.scrollTop = el.scrollHeight / 2; }")  # mid-list: rows above and below
        deep = smooth_scroll(page, cdp, args.seconds, args.speed)
        errors = page.console_errors

    load = os.getloadavg()
    print(f"first view (navigation -> {args.count:,} item(s) and the first tiles): {first_view_ms:,.0f} ms")
    print(f"keyset pages of 200 while jumping to {items:,} items: {per_page_ms:,.0f} ms per page ({pages} pages)")
    print()
    print(f"{'smooth scroll, ' + str(args.speed) + ' px/frame':34}{'near the top':>16}{'deep in the list':>18}")
    print(f"{'items in the list':34}{top_items:>16,}{items:>18,}")
    for key, label in (
        ("frames", "frames"),
        ("p50_ms", "frame p50 (ms)"),
        ("p95_ms", "frame p95 (ms)"),
        ("max_ms", "longest frame (ms)"),
        ("long", "frames > 50 ms"),
        ("cells", "most tiles in the DOM"),
        ("TaskDuration", "main-thread CPU per frame (ms)"),
        ("ScriptDuration", "  of which script"),
        ("LayoutDuration", "  of which layout"),
        ("RecalcStyleDuration", "  of which style"),
    ):
        fmt = "{:>16,.1f}{:>18,.1f}" if key.endswith(("_ms", "Duration")) else "{:>16,}{:>18,}"
        print(f"{label:34}" + fmt.format(top[key], deep[key]))
    shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"console errors: {len(errors)}; load average {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f} on "
        f"{os.cpu_count()} CPUs (frame times on a loaded machine are noisy: compare the two columns)"
    )


if __name__ == "__main__":
    main()
