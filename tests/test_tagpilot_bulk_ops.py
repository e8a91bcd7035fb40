"""Bulk caption operations are pure functions with exact, documented results."""

import pytest

from lorapilot.kit.errors import LorapilotError
from lorapilot.tools.tagpilot.tags import (
    add_tag,
    consolidate_tags,
    dedupe_tags,
    find_replace,
    make_op,
    remove_tags,
    replace_tag,
    sort_tags,
)


def test_add_tag_at_a_position_moves_an_existing_one():
    tags = ["cat", "solo", "outdoors"]
    assert add_tag(tags, "trigger", 0) == ["trigger", "cat", "solo", "outdoors"]
    assert add_tag(tags, "trigger", -1) == ["cat", "solo", "outdoors", "trigger"]
    assert add_tag(tags, "trigger", 1) == ["cat", "trigger", "solo", "outdoors"]
    assert add_tag(tags, "trigger", 99) == ["cat", "solo", "outdoors", "trigger"]
    assert add_tag(["cat", "Trigger"], "trigger", 0) == ["trigger", "cat"]


def test_remove_with_wildcards_and_case():
    assert remove_tags(["cat", "Long Hair", "short hair", "solo"], ["long hair"]) == ["cat", "short hair", "solo"]
    assert remove_tags(["cat", "long hair", "short hair", "solo"], ["* hair"]) == ["cat", "solo"]


def test_replace_keeps_position_and_uniqueness():
    assert replace_tag(["a", "b", "c"], "b", "x") == ["a", "x", "c"]
    assert replace_tag(["a", "b", "x"], "b", "x") == ["a", "x"]
    assert replace_tag(["a", "b"], "b", "") == ["a"]


def test_dedupe_ignores_case_and_spacing():
    assert dedupe_tags(["cat", "Cat", "white  shirt", "white shirt", "dog"]) == ["cat", "white  shirt", "dog"]


def test_sort_alphabetical_keep_first_and_by_frequency():
    assert sort_tags(["trig", "zebra", "apple", "Mango"], keep_first=1) == ["trig", "apple", "Mango", "zebra"]
    assert sort_tags(["b", "a", "c"], frequency={"c": 5, "a": 1, "b": 5}) == ["b", "c", "a"]


def test_consolidate_drops_tags_covered_by_more_specific_ones():
    tags = ["shirt", "white shirt", "hair", "long hair", "skirt", "shirt collar", "1girl"]
    assert consolidate_tags(tags) == ["white shirt", "long hair", "skirt", "shirt collar", "1girl"]
    # "shirt" is not covered by "t-shirt" (not a whole word) nor by itself
    assert consolidate_tags(["shirt", "t-shirt"]) == ["shirt", "t-shirt"]


def test_find_replace_plain_and_regex():
    assert find_replace("a red dress, red shoes", "red", "blue") == "a blue dress, blue shoes"
    assert find_replace("photo of 1girl", r"\d+girl", "woman", regex=True) == "photo of woman"
    assert find_replace("Red dress", "red", "blue", ignore_case=True) == "blue dress"
    assert find_replace("a\\b", "\\", "/") == "a/b"
    with pytest.raises(LorapilotError, match="invalid regular expression"):
        make_op("find_replace", find="(", replace="", regex=True)


def test_ops_leave_unchanged_captions_byte_identical():
    op = make_op("add", tag="cat", position=0)
    assert op.apply("cat,solo ,  outdoors") == "cat,solo ,  outdoors"
    assert op.apply("solo,outdoors") == "cat, solo, outdoors"
    assert make_op("dedupe").apply("a, b") == "a, b"


def test_make_op_names_the_bad_field():
    with pytest.raises(LorapilotError, match="field 'tag' must not be empty"):
        make_op("add", tag=" ")
    with pytest.raises(LorapilotError, match="must not contain a comma"):
        make_op("add", tag="a, b")
    with pytest.raises(LorapilotError, match="field 'tags' must list"):
        make_op("remove", tags=[])
    with pytest.raises(LorapilotError, match="unknown operation 'explode'"):
        make_op("explode")


def test_a_bad_group_reference_in_a_regex_replacement_is_a_clear_error():
    with pytest.raises(LorapilotError, match=r"find_replace: invalid replacement '\\\\1'"):
        make_op("find_replace", find="a", replace="\\1", regex=True)  # the pattern has no group 1
    with pytest.raises(LorapilotError, match="invalid replacement .*unknown group name 'other'"):
        make_op("find_replace", find="(?P<word>a)", replace="\\g<other>", regex=True)
    assert make_op("find_replace", find="(?P<word>a)", replace="<\\g<word>>", regex=True).apply("a cat") == "<a> c<a>t"
