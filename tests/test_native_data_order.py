"""Buckets, batch order and captions: deterministic, resumable, and split evenly across processes."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from lorapilot.tools.trainpilot.native.buckets import BatchPlan, make_buckets, place_image
from lorapilot.tools.trainpilot.native.captions import prepare_caption, shuffle_caption, tag_frequency


def test_buckets_stay_within_the_area_on_the_grid_and_between_the_limits():
    buckets = make_buckets(512, 64, 256, 1024)
    assert (512, 512) in buckets and (768, 320) in buckets and (320, 768) in buckets
    for width, height in buckets:
        assert width * height <= 512 * 512
        assert width % 64 == 0 and height % 64 == 0
        assert 256 <= width <= 1024 and 256 <= height <= 1024


def test_an_image_goes_to_the_nearest_ratio_covers_it_and_is_centre_cropped():
    buckets = make_buckets(512, 64, 256, 1024)
    place = place_image((1200, 800), buckets)  # 1.5: 640x384 (1.67) is nearer than 576x448 (1.29)
    assert place.bucket == (640, 384)
    assert place.scaled == (640, 427) and place.crop == (0, 21)
    place = place_image((1280, 768), buckets)  # exactly 640x384's ratio: no crop
    assert place.bucket == (640, 384) and place.scaled == (640, 384) and place.crop == (0, 0)
    place = place_image((1000, 1000), buckets)
    assert place.bucket == (512, 512) and place.crop == (0, 0)
    place = place_image((700, 400), buckets)  # 1.75: nearest is 640x384 (1.67)
    assert place.bucket == (640, 384)
    assert place.scaled[0] >= 640 and place.scaled[1] >= 384
    assert place.crop == ((place.scaled[0] - 640) // 2, (place.scaled[1] - 384) // 2)


def test_an_epoch_holds_every_image_repeats_times_in_single_bucket_batches():
    image_buckets = [(64, 64)] * 5 + [(80, 48)] * 3
    plan = BatchPlan(image_buckets, repeats=2, batch_size=2, seed=7)
    batches = plan.epoch(0)
    seen = Counter(i for batch in batches for i in batch)
    assert seen == {i: 2 for i in range(8)}
    for batch in batches:
        assert len({image_buckets[i] for i in batch}) == 1
    assert len(batches) == plan.batches_per_epoch == 5 + 3  # ceil(10/2) + ceil(6/2)


def test_the_order_depends_only_on_seed_and_epoch():
    image_buckets = [(64, 64)] * 6
    a = BatchPlan(image_buckets, repeats=1, batch_size=2, seed=1)
    b = BatchPlan(image_buckets, repeats=1, batch_size=2, seed=1)
    assert a.epoch(3) == b.epoch(3)
    assert a.epoch(0) != a.epoch(1) or a.epoch(1) != a.epoch(2)
    assert BatchPlan(image_buckets, repeats=1, batch_size=2, seed=2).epoch(0) != a.epoch(0)


def test_iterating_from_a_later_index_continues_the_same_sequence():
    plan = BatchPlan([(64, 64)] * 5, repeats=1, batch_size=2, seed=3)
    full = [b for _, (_, b) in zip(range(20), plan.iterate(0))]
    resumed = [b for _, (_, b) in zip(range(13), plan.iterate(7))]
    assert resumed == full[7:]


def test_processes_take_disjoint_equal_shares():
    image_buckets = [(64, 64)] * 7
    plans = [BatchPlan(image_buckets, repeats=1, batch_size=2, seed=0, rank=r, world=2) for r in range(2)]
    shares = [p.epoch(0) for p in plans]
    assert len(shares[0]) == len(shares[1]) == 2
    all_batches = BatchPlan(image_buckets, repeats=1, batch_size=2, seed=0).epoch(0)
    assert shares[0] == all_batches[0::2] and shares[1] == all_batches[1::2]


def test_more_processes_than_batches_still_gives_each_one_a_batch():
    plans = [BatchPlan([(64, 64)] * 2, repeats=1, batch_size=2, seed=0, rank=r, world=3) for r in range(3)]
    assert [len(p.epoch(0)) for p in plans] == [1, 1, 1]


def test_shuffle_keeps_the_first_tokens_and_all_tags():
    caption = "ohwx person, red hat, smiling, outdoors, sunny"
    rng = random.Random(0)
    results = {shuffle_caption(caption, 1, rng) for _ in range(30)}
    assert len(results) > 1
    for result in results:
        tags = result.split(", ")
        assert tags[0] == "ohwx person"
        assert sorted(tags) == sorted(caption.split(", "))


def test_caption_dropout_happens_at_the_configured_rate():
    rng = random.Random(1)
    dropped = sum(
        prepare_caption("a, b", shuffle=False, keep_tokens=0, dropout=0.25, rng=rng) == "" for _ in range(4000)
    )
    assert 850 < dropped < 1150


def test_same_seed_same_caption_choices():
    def draw(seed):
        rng = random.Random(seed)
        return [prepare_caption("a, b, c, d", shuffle=True, keep_tokens=1, dropout=0.3, rng=rng) for _ in range(20)]

    assert draw("42:0:5") == draw("42:0:5")


def test_tag_frequency_counts_tags_across_captions():
    assert tag_frequency(["a, b", "b, c", " b ,"]) == {"b": 3, "a": 1, "c": 1}


@pytest.mark.parametrize("bad", [0, -1])
def test_a_plan_needs_images(bad):
    with pytest.raises(ValueError):
        BatchPlan([], repeats=1, batch_size=1, seed=bad)
