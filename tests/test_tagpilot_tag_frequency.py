"""The tag frequency table and autocomplete stay exact while captions change by any route."""

import os

import pytest

from lorapilot.kit.errors import ConflictError
from lorapilot.stack.workspace.layout import Workspace
from lorapilot.tools.tagpilot import dataset as datasets
from lorapilot.tools.tagpilot.edits import apply_op, undo
from lorapilot.tools.tagpilot.index import autocomplete, dataset_tag_frequency, scan, tag_frequency
from lorapilot.tools.tagpilot.tags import make_op
from support.tagpilot import make_dataset_files


def test_incremental_table_matches_a_full_count_after_every_kind_of_change(tmp_path):
    ds = datasets.create_dataset(Workspace(tmp_path / "ws"), "set")
    make_dataset_files(ds.path, {"a.png": "cat, solo, cat", "b.png": "cat, hat", "c.png": None})
    (ds.path / "orphan.txt").write_text("not counted: no image")

    def check(expected):
        assert dataset_tag_frequency(ds) == tag_frequency(scan(ds, with_sizes=False)) == expected

    check([("cat", 2), ("hat", 1), ("solo", 1)])
    apply_op(ds, make_op("add", tag="ohwx"))  # TagPilot's own writes (c.txt is created)
    check([("ohwx", 3), ("cat", 2), ("hat", 1), ("solo", 1)])
    (ds.path / "c.txt").write_text("dog")  # a caption rewritten from outside
    check([("cat", 2), ("ohwx", 2), ("dog", 1), ("hat", 1), ("solo", 1)])
    with open(ds.path / "b.txt", "r+") as fh:  # an in-place edit of the same length
        fh.write("dog, hat")
        fh.truncate()
    stat = os.stat(ds.path / "b.txt")
    os.utime(ds.path / "b.txt", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1000))
    check([("dog", 2), ("cat", 1), ("hat", 1), ("ohwx", 1), ("solo", 1)])
    (ds.path / "a.png").unlink()  # the image goes: its caption no longer counts
    check([("dog", 2), ("hat", 1)])
    with pytest.raises(ConflictError):
        undo(ds)  # b.txt and c.txt were changed by hand since the add-tag: undo refuses
    check([("dog", 2), ("hat", 1)])


def test_autocomplete_ranks_prefix_matches_before_word_matches():
    frequency = [("long hair", 9), ("hat", 5), ("white hat", 3), ("shirt", 2), ("hatsune miku", 1)]
    assert autocomplete(frequency, "hat") == [("hat", 5), ("hatsune miku", 1), ("white hat", 3)]
    assert autocomplete(frequency, "HA", limit=1) == [("hat", 5)]
