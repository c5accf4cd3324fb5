"""Bloom filters that answer "not held" for most keys of an SQLite index without a search.

A lookup probes the ``keys`` B-tree once per key (~110 keys an article, ~5.5 µs each when the
leaves are cached, a disk read when not), and a new article's keys are almost all absent. Each
key range (:data:`~dedup.store.ranges.SLICES` of them) has a blocked Bloom filter of the keys
filed in it: one 64-bit word per key, :data:`_PROBES` bits set in it, sized for
:data:`BITS_PER_KEY` bits a key at its capacity. A key the filter does not hold is not filed;
one it holds is probed (~1-3% of absent keys are, by chance). The recent keys a process holds
in memory (:mod:`.recent`) have one filter too, in front of their sorted arrays.

Keys are already uniform hashes, so the filter hashes by multiplication alone: the word from
bits 28-59 of the key (below the range's own top bits), scaled to the word count; the bits
within the word from the top of the key times an odd constant.
"""

from __future__ import annotations

import numpy as np

from dedup.store.base import I64
from dedup.store.ranges import SLICES, slice_of

__all__ = ["BITS_PER_KEY", "GROWTH", "RangeFilters", "capacity_for", "contains", "empty",
           "insert"]

#: Bits of filter per key at a filter's capacity: ~3.4% of absent keys pass (measured on
#: random keys, 5 bits per word); fewer as it fills towards capacity from below.
BITS_PER_KEY = 8
#: A filter rebuilt for ``n`` keys holds up to ``GROWTH * n``, so 8-12 bits per key.
GROWTH = 1.5
_MIN_CAPACITY = 1 << 12
_PROBES = 5
_MUL = np.uint64(0x9E3779B97F4A7C15)
_U4, _U32, _ONE = np.uint64(4), np.uint64(32), np.uint64(1)
_SHIFTS = np.array([[64 - 6 * (i + 1)] for i in range(_PROBES)], dtype=np.uint64)
_LOW6 = np.uint64(63)


def capacity_for(count: int) -> int:
    """Return the capacity of a filter (re)built for ``count`` keys."""
    return max(_MIN_CAPACITY, int(count * GROWTH))


def empty(capacity: int) -> np.ndarray:
    """Return a filter of zero words for ``capacity`` keys."""
    return np.zeros(-(-capacity * BITS_PER_KEY // 64), dtype=np.uint64)


def _slots(keys: I64, words: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
    """Return each key's word (0 .. words - 1, per key or for all) and the bits it sets there."""
    k = np.asarray(keys, dtype=np.int64).view(np.uint64)
    word = (((k << _U4) >> _U32) * np.asarray(words, dtype=np.uint64)) >> _U32
    bits = ((k * _MUL) >> _SHIFTS) & _LOW6  # (probes, keys): one pass per operation
    mask = np.bitwise_or.reduce(_ONE << bits, axis=0)
    return word.astype(np.intp), mask


def insert(filt: np.ndarray, keys: I64) -> None:
    """Add keys to a filter in place."""
    word, mask = _slots(keys, len(filt))
    np.bitwise_or.at(filt, word, mask)


def contains(filt: np.ndarray, keys: I64) -> np.ndarray:
    """Return, per key, whether the filter may hold it (never False for a key added)."""
    word, mask = _slots(keys, len(filt))
    held: np.ndarray = (filt[word] & mask) == mask
    return held


class RangeFilters:
    """The filters of every key range a process holds, queried together in one pass.

    A range without a filter (none stored, or one stale for the range's keys) passes every
    key, so that its keys are probed.
    """

    def __init__(self) -> None:
        self._sizes = np.zeros(SLICES, dtype=np.uint64)
        self._starts = np.zeros(SLICES, dtype=np.intp)
        # one word past the filters, so that a range without one (size 0) indexes inside
        self._words = np.zeros(1, dtype=np.uint64)

    def set(self, part: int, filt: np.ndarray | None) -> None:
        """Hold a copy of ``filt`` for range ``part`` (None: no filter, every key passes)."""
        size = 0 if filt is None else len(filt)
        start = int(self._starts[part])
        if size == int(self._sizes[part]):
            if filt is not None:
                self._words[start:start + size] = filt
            return
        end = start + int(self._sizes[part])
        pieces = [self._words[:start], *([] if filt is None else [filt]), self._words[end:]]
        self._words = np.concatenate(pieces)
        self._sizes[part] = size
        self._starts = np.concatenate([[0], np.cumsum(self._sizes)[:-1]]).astype(np.intp)

    @property
    def nbytes(self) -> int:
        """Bytes of filter held."""
        return int(self._sizes.sum()) * 8

    def maybe(self, keys: I64) -> np.ndarray:
        """Return, per key, whether it may be filed: its range's filter holds it, or it has none."""
        part = slice_of(keys)
        sizes = self._sizes[part]
        word, mask = _slots(keys, sizes)
        held: np.ndarray = ((self._words[self._starts[part] + word] & mask) == mask) | (sizes == 0)
        return held
