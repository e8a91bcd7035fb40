"""Dataset checks find duplicates, near duplicates, small, blurry, corrupt and uncaptioned images."""

import shutil

import numpy as np
import pytest
from PIL import Image, ImageFilter

from lorapilot.stack.workspace.layout import Workspace
from lorapilot.tools.tagpilot import dataset as datasets
from lorapilot.tools.tagpilot.checks import CheckOptions, run_checks
from lorapilot.tools.tagpilot.imagemetrics import hamming_pairs, laplacian_variance, measure
from support.tagpilot import write_image


def _photo(seed: int, size=(640, 640)) -> Image.Image:
    """A sharp random texture: distinct per seed, lots of edges."""
    rng = np.random.default_rng(seed)
    return Image.fromarray((rng.random((80, 80, 3)) * 255).astype("uint8")).resize(size, Image.Resampling.NEAREST)


@pytest.fixture
def ds(tmp_path):
    ds = datasets.create_dataset(Workspace(tmp_path / "ws"), "set")
    _photo(1).save(ds.path / "orig.png")
    shutil.copy(ds.path / "orig.png", ds.path / "copy.png")
    _photo(1).resize((600, 600), Image.Resampling.BILINEAR).save(ds.path / "resized.jpg", quality=92)
    _photo(2).save(ds.path / "other.png")
    _photo(3).filter(ImageFilter.GaussianBlur(12)).save(ds.path / "blurry.png")
    _photo(4, (300, 200)).save(ds.path / "small.png")
    (ds.path / "corrupt.png").write_bytes((ds.path / "other.png").read_bytes()[:3000])
    for name in ("orig", "copy", "resized", "other", "blurry", "small", "corrupt"):
        (ds.path / f"{name}.txt").write_text("tag")
    (ds.path / "small.txt").unlink()
    return ds


def by_check(report):
    out = {}
    for finding in report.findings:
        out.setdefault(finding.check, []).append(finding)
    return out


def test_every_check_finds_what_it_should(ds):
    report = run_checks(ds, CheckOptions(workers=1))
    found = by_check(report)
    assert [f.images for f in found["exact_duplicates"]] == [["copy.png", "orig.png"]]
    assert found["exact_duplicates"][0].keep == "copy.png"
    near = [f.images for f in found["near_duplicates"]]
    assert near == [["copy.png", "orig.png", "resized.jpg"]]  # identical pair linked through the resized one
    assert [f.images for f in found["low_resolution"]] == [["small.png"]]
    assert [f.images for f in found["blurry"]] == [["blurry.png"]]
    assert [f.images for f in found["corrupt"]] == [["corrupt.png"]]
    assert "truncated" in found["corrupt"][0].detail
    assert [f.images for f in found["uncaptioned"]] == [["small.png"]]
    assert "other.png" not in {i for f in report.findings for i in f.images}
    assert report.measured == 7


def test_second_scan_uses_the_cache_and_a_changed_file_is_measured_again(ds):
    run_checks(ds, CheckOptions(workers=1))
    assert run_checks(ds, CheckOptions(workers=1)).measured == 0
    _photo(9).save(ds.path / "copy.png")
    report = run_checks(ds, CheckOptions(workers=1))
    assert report.measured == 1
    assert "exact_duplicates" not in by_check(report)


def test_worker_processes_give_the_same_findings(ds):
    for i in range(70):  # enough images to use the process pool
        _photo(100 + i, (128, 128)).save(ds.path / f"x{i:02d}.png")
    serial = run_checks(ds, CheckOptions(workers=1, checks=("exact_duplicates", "blurry")))
    shutil.rmtree(ds.state_dir)
    parallel = run_checks(ds, CheckOptions(workers=2, checks=("exact_duplicates", "blurry")))
    assert parallel.measured == 77
    assert [f.to_dict() for f in parallel.findings] == [f.to_dict() for f in serial.findings]


def test_threshold_controls_near_duplicates():
    hashes = ["0000000000000000", "0000000000000007", "00000000000000ff", "ffffffffffffffff"]
    assert hamming_pairs(hashes, 3) == [(0, 1, 3)]
    assert hamming_pairs(hashes, 8) == [(0, 1, 3), (0, 2, 8), (1, 2, 5)]


def test_blur_is_variance_of_laplacian():
    flat = np.full((20, 20), 128, dtype=np.uint8)
    assert laplacian_variance(flat) == 0.0
    checker = (np.indices((20, 20)).sum(axis=0) % 2 * 255).astype(np.uint8)
    assert laplacian_variance(checker) > 10_000


def test_measure_reports_errors_instead_of_raising(tmp_path):
    bad = tmp_path / "x.png"
    bad.write_bytes(b"garbage")
    result = measure(str(bad))
    assert result["error"] == "cannot decode image: cannot identify image file 'x.png'"
    assert result["sha256"] and result["phash"] is None
    good = measure(str(write_image(tmp_path / "y.png", (10, 10), (255, 255, 255, 0), mode="RGBA")))
    assert good["error"] is None and good["blur"] == 0.0


def test_actions_exclude_and_trash_the_found_images(ds):
    report = run_checks(ds, CheckOptions(workers=1, checks=("exact_duplicates",)))
    finding = report.findings[0]
    others = [i for i in finding.images if i != finding.keep]
    datasets.exclude_images(ds, others)
    assert datasets.excluded_images(ds) == others
    assert run_checks(ds, CheckOptions(workers=1, checks=("exact_duplicates",))).findings == []
