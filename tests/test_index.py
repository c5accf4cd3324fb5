from __future__ import annotations

import itertools

import numpy as np
import pytest

from dedup.index import LSHIndex, band_keys


def _signatures(n: int, num_perm: int, seed: int) -> np.ndarray:
    """Random signatures where some rows copy a few bands of an earlier row."""
    rng = np.random.default_rng(seed)
    sig = rng.integers(0, 50, size=(n, num_perm)).astype(np.uint64)  # small: chance collisions
    for i in range(1, n):
        if rng.random() < 0.5:
            j = int(rng.integers(0, i))
            take = rng.random(num_perm) < 0.6
            sig[i, take] = sig[j, take]
    return sig


def _brute_force(keys: np.ndarray, max_bucket: int) -> set[tuple[int, int]]:
    pairs = set()
    for band in range(keys.shape[1]):
        buckets: dict[int, list[int]] = {}
        for doc, key in enumerate(keys[:, band].tolist()):
            buckets.setdefault(key, []).append(doc)
        for members in buckets.values():
            if len(members) <= max_bucket:
                pairs.update(itertools.combinations(sorted(members), 2))
    return pairs


def test_band_keys_shape_and_band_separation() -> None:
    sig = np.zeros((3, 12), dtype=np.uint64)  # every band holds the same values
    keys = band_keys(sig, 4, 3)
    assert keys.shape == (3, 4) and keys.dtype == np.uint64
    assert len(set(keys[0].tolist())) == 4  # band number is part of the key
    assert np.array_equal(keys[0], keys[1])


def test_band_keys_depend_on_every_row_and_only_their_band() -> None:
    rng = np.random.default_rng(1)
    sig = rng.integers(0, 2**63, size=(1, 128)).astype(np.uint64)
    base = band_keys(sig, 25, 5)
    for column in (0, 4, 7, 124):
        changed = sig.copy()
        changed[0, column] += np.uint64(1)
        diff = band_keys(changed, 25, 5) != base
        assert diff[0].tolist() == [b == column // 5 for b in range(25)]
    unused = sig.copy()
    unused[0, 127] += np.uint64(1)  # beyond bands * rows
    assert np.array_equal(band_keys(unused, 25, 5), base)


def test_band_keys_accept_uint32_and_reject_bad_shapes() -> None:
    sig = np.arange(24, dtype=np.uint32).reshape(2, 12)
    assert np.array_equal(band_keys(sig, 3, 4), band_keys(sig.astype(np.uint64), 3, 4))
    with pytest.raises(ValueError, match="do not fit"):
        band_keys(sig, 5, 3)
    with pytest.raises(ValueError, match="2-D"):
        band_keys(sig[0], 3, 4)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("max_bucket", [2, 3, 200])
def test_candidates_equal_brute_force(seed: int, max_bucket: int) -> None:
    keys = band_keys(_signatures(60, 16, seed), 8, 2)
    index = LSHIndex(8, 2, max_bucket)
    for doc, row in enumerate(keys):
        index.add(doc, row)
    found = list(index.candidates())
    assert found == sorted(_brute_force(keys, max_bucket))
    assert found  # the planted copies make pairs
    for doc in (0, 17, 59):
        expected = {j for i, j in found if i == doc} | {i for i, j in found if j == doc}
        assert index.query(keys[doc]) - {doc} == expected


def test_oversized_buckets_pair_nobody_and_are_reported() -> None:
    sig = np.zeros((10, 4), dtype=np.uint64)
    sig[9] = 1  # one different document
    sig[8, 2:] = 1  # shares band 0 with the boilerplate, band 1 with document 9
    keys = band_keys(sig, 2, 2)
    index = LSHIndex(2, 2, max_bucket=5)
    index.add_many(np.arange(10), keys)
    assert list(index.candidates()) == [(8, 9)]
    assert sorted(index.oversized) == [(0, 9), (1, 8)]
    assert index.query(keys[0]) == set()


def test_keys_are_document_ids_not_positions() -> None:
    keys = band_keys(np.array([[1, 2], [1, 3], [1, 2]], dtype=np.uint64), 2, 1)
    index = LSHIndex(2, 1, 10)
    for doc, row in zip([10, 3_000_000_000, 7], keys, strict=True):
        index.add(doc, row)
    assert list(index.candidates()) == [(7, 10), (7, 3_000_000_000), (10, 3_000_000_000)]


def test_add_many_equals_add_and_rejects_bad_input() -> None:
    keys = band_keys(_signatures(30, 8, 5), 4, 2)
    one, many = LSHIndex(4, 2, 50), LSHIndex(4, 2, 50)
    for doc, row in enumerate(keys):
        one.add(doc, row)
    many.add_many(range(30), keys)
    assert len(one) == len(many) == 30
    assert list(one.candidates()) == list(many.candidates())
    with pytest.raises(ValueError, match="negative"):
        one.add(-1, keys[0])
    with pytest.raises(ValueError, match="band keys"):
        one.add(1, keys[0][:2])
    with pytest.raises(ValueError, match="shape"):
        many.add_many([1, 2], keys[:3])


def test_adding_after_candidates_updates_the_result() -> None:
    keys = band_keys(np.array([[1, 2], [1, 3], [5, 3]], dtype=np.uint64), 2, 1)
    index = LSHIndex(2, 1, 10)
    index.add(0, keys[0])
    assert list(index.candidates()) == []
    index.add(1, keys[1])
    assert index.query(keys[2]) == {1}
    index.add(2, keys[2])
    assert list(index.candidates()) == [(0, 1), (1, 2)]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("max_bucket", [2, 4, 200])
def test_query_many_equals_query_per_row(seed: int, max_bucket: int) -> None:
    rng = np.random.default_rng(seed)
    keys = band_keys(_signatures(80, 16, seed), 8, 2)
    doc_keys = rng.choice(10_000, size=60, replace=False)
    index = LSHIndex(8, 2, max_bucket)
    index.add_many(doc_keys, keys[:60])
    queries = keys[rng.permutation(80)]  # indexed and unseen rows, in shuffled order
    expected = [index.query(row) for row in queries]
    assert index.query_many(queries) == expected
    assert sum(map(len, expected)) > len(queries)  # not only the queries finding themselves
    pairs = index.query_pairs(queries)
    assert pairs.tolist() == sorted([q, k] for q, found in enumerate(expected) for k in found)


def test_query_many_with_large_keys_empty_index_and_bad_shapes() -> None:
    keys = band_keys(np.array([[1, 2], [1, 3], [4, 3]], dtype=np.uint64), 2, 1)
    index = LSHIndex(2, 1, 10)
    assert index.query_many(keys) == [set(), set(), set()]
    index.add_many([2**40, 5], keys[:2])
    assert index.query_many(keys) == [{2**40, 5}, {2**40, 5}, {5}]
    assert index.query_many(keys[:0]) == []
    with pytest.raises(ValueError, match="shape"):
        index.query_many(keys[0])
    with pytest.raises(ValueError, match="shape"):
        index.query_pairs(np.zeros((2, 3), dtype=np.uint64))
