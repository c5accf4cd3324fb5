"""The recent keys an SQLite index holds in memory, against a plain list of pairs."""

from __future__ import annotations

import numpy as np
import pytest

from dedup.store import keyfilter, recent
from dedup.store.ranges import SLICES, slice_of
from dedup.store.recent import RecentKeys


def _part(key: int) -> int:
    return (key + (1 << 63)) >> 60


def test_slices_are_the_top_bits_in_key_order() -> None:
    keys = np.array([-(1 << 63), -(1 << 63) + (1 << 60) - 1, -(1 << 63) + (1 << 60), -1, 0,
                     (1 << 63) - 1], dtype=np.int64)
    assert slice_of(keys).tolist() == [0, 0, 1, SLICES // 2 - 1, SLICES // 2, SLICES - 1]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_recent_keys_equal_a_list_of_pairs(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recent, "_LIMITS", (40, 300))  # merge levels often
    monkeypatch.setattr(keyfilter, "_MIN_CAPACITY", 1)  # and rebuild the filter often
    rng = np.random.default_rng(seed)
    pool = rng.integers(-(1 << 63), (1 << 63) - 1, size=400, dtype=np.int64)  # shared keys
    held, pairs, every = RecentKeys(), [], []
    upto = np.zeros(SLICES, dtype=np.int64)
    seq = 0
    for step in range(60):
        rows = []
        for _ in range(int(rng.integers(1, 40)) if step % 7 else 200):  # some batches fold
            seq += 1
            keys = np.unique(rng.choice(pool, size=int(rng.integers(0, 12))))
            rows.append((seq, keys))
            pairs += [(int(k), seq) for k in keys if seq > upto[_part(int(k))]]
        held.add(rows, upto)
        every += rows
        if step % 10 == 9:  # move some ranges up to the current seq
            for part in rng.choice(SLICES, size=3, replace=False):
                upto[part] = seq
            held.drop_moved(upto)
            pairs = [(k, s) for k, s in pairs if s > upto[_part(k)]]
            rebuilt = RecentKeys()  # as a process reads them again after a removal
            rebuilt.add([row for row in every if row[0] > upto.min()], upto)
            assert all(np.array_equal(a, b)
                       for a, b in zip(rebuilt.arrays(), held.arrays(), strict=True))
        expected = sorted(pairs)
        assert len(held) == len(expected) and held.last == seq
        assert held.counts.tolist() == np.bincount(
            slice_of(np.array([k for k, _ in expected], dtype=np.int64)),
            minlength=SLICES).tolist()
        probe = np.unique(np.concatenate([rng.choice(pool, 30), rng.integers(0, 9, 3)]))
        wanted = set(probe.tolist())
        want: dict[int, list[int]] = {}
        for key, s in expected:
            if key in wanted:
                want.setdefault(key, []).append(s)
        assert held.lookup(probe) == want
        part = int(rng.integers(SLICES))
        keys, seqs = held.pairs(part)
        assert list(zip(keys.tolist(), seqs.tolist(), strict=True)) == [
            (k, s) for k, s in expected if _part(k) == part]
    keys, seqs = held.arrays()
    assert list(zip(keys.tolist(), seqs.tolist(), strict=True)) == sorted(pairs)
    held.clear()
    assert len(held) == 0 and held.last == 0 and not held.counts.any()


def test_recent_keys_find_every_key_as_their_filter_is_rebuilt(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """New keys in every add: the filter, rebuilt as it fills, holds the keys of every level."""
    monkeypatch.setattr(recent, "_LIMITS", (50, 500))
    monkeypatch.setattr(keyfilter, "_MIN_CAPACITY", 1)
    rng = np.random.default_rng(3)
    held, upto, added = RecentKeys(), np.zeros(SLICES, dtype=np.int64), []
    for seq in range(1, 120):
        keys = np.unique(rng.integers(-(1 << 63), (1 << 63) - 1, size=30, dtype=np.int64))
        held.add([(seq, keys)], upto)
        added.append(keys)
        every = np.unique(np.concatenate(added))
        assert sorted(held.lookup(every)) == every.tolist()
    absent = rng.integers(-(1 << 63), (1 << 63) - 1, size=1000, dtype=np.int64)
    assert held.lookup(np.unique(absent)) == {}
