"""The key filters of an SQLite index: never a false "not filed", rarely a false "maybe"."""

from __future__ import annotations

import numpy as np
import pytest

from dedup.store import keyfilter
from dedup.store.keyfilter import RangeFilters, capacity_for, contains, empty, insert
from dedup.store.ranges import SLICES, bounds, slice_of


def _keys(rng: np.random.Generator, n: int, part: int | None = None) -> np.ndarray:
    if part is None:
        return rng.integers(-(1 << 63), (1 << 63) - 1, size=n, dtype=np.int64)
    low, high = bounds(part)
    return rng.integers(low, high, size=n, dtype=np.int64, endpoint=True)


def test_bounds_are_the_first_and_last_key_of_each_range() -> None:
    for part in range(SLICES):
        low, high = bounds(part)
        keys = np.array([low, high], dtype=np.int64)
        assert slice_of(keys).tolist() == [part, part]
        if part:
            assert slice_of(np.array([low - 1], dtype=np.int64)).tolist() == [part - 1]
    assert bounds(0)[0] == -(1 << 63) and bounds(SLICES - 1)[1] == (1 << 63) - 1


@pytest.mark.parametrize("part", [0, 7, SLICES - 1])
def test_a_filter_holds_every_key_added_and_few_others(part: int) -> None:
    rng = np.random.default_rng(part)
    added = _keys(rng, 20_000, part)
    filt = empty(capacity_for(len(added)))
    insert(filt, added[:5000])
    insert(filt, added[5000:])  # in steps, as moves add
    assert contains(filt, added).all()
    absent = _keys(rng, 100_000, part)
    rate = contains(filt, absent).mean()
    # 12 bits a key after a rebuild (8 at capacity): ~1.2% measured on random keys; a filter
    # that used only the range's own top bits would pass nearly all of them
    assert 0 < rate < 0.02
    full = empty(len(added))
    insert(full, added)
    assert contains(full, absent).mean() < 0.045  # at capacity: ~3.4%


def test_range_filters_pass_keys_of_ranges_without_one_and_test_the_others() -> None:
    rng = np.random.default_rng(1)
    filters = RangeFilters()
    probe = _keys(rng, 50_000)
    assert filters.maybe(probe).all() and filters.nbytes == 0
    held = {}
    for part in (0, 3, SLICES - 1):
        held[part] = _keys(rng, 3000, part)
        filt = empty(capacity_for(3000))
        insert(filt, held[part])
        filters.set(part, filt)
    every = np.concatenate([probe, *held.values()])
    maybe, parts = filters.maybe(every), slice_of(every)
    for part in range(SLICES):
        mine = parts == part
        if part in held:
            filt = empty(capacity_for(3000))
            insert(filt, held[part])
            assert (maybe[mine] == contains(filt, every[mine])).all()
        else:
            assert maybe[mine].all()
    assert all(filters.maybe(keys).all() for keys in held.values())
    absent = np.isin(parts, list(held))[:len(probe)]
    assert 0 < maybe[:len(probe)][absent].mean() < 0.02


def test_range_filters_replace_a_filter_in_place_or_resized() -> None:
    rng = np.random.default_rng(2)
    filters = RangeFilters()
    a, b = _keys(rng, 2000, 5), _keys(rng, 2000, 5)
    small, other = empty(capacity_for(2000)), empty(capacity_for(2000))
    insert(small, a)
    insert(other, b)
    filters.set(5, small)
    filters.set(9, small.copy())
    assert filters.maybe(a).all() and filters.maybe(b).mean() < 0.1
    filters.set(5, other)  # same size: in place
    assert filters.maybe(b).all() and filters.maybe(a).mean() < 0.1
    big = empty(capacity_for(20_000))
    insert(big, a)
    filters.set(5, big)  # resized: the other ranges keep theirs
    assert filters.nbytes == 8 * (len(big) + len(small))
    assert filters.maybe(a).all() and filters.maybe(b).mean() < 0.1
    filters.set(5, None)
    assert filters.maybe(b).all() and filters.nbytes == 8 * len(small)


def test_capacity_grows_with_the_keys_and_has_a_floor() -> None:
    assert capacity_for(0) == capacity_for(10) > 0
    assert capacity_for(1_000_000) == int(1_000_000 * keyfilter.GROWTH)
    assert len(empty(64)) * 64 >= 64 * keyfilter.BITS_PER_KEY
