"""The recent keys of an SQLite index, held in memory by every process that opens it.

An SQLite index files each key in the ``keys`` B-tree only when a write moves the key's range
(one of :data:`SLICES` ranges of the key space) there; until then the key lives only in its
document's row (``docs.keys``), which a write appends, and in this structure, which each
process rebuilds from those rows. :class:`RecentKeys` holds the (key, seq) pairs of one
process's view: levels of sorted arrays, the newest pairs in the smallest, and a Bloom filter
(:mod:`.keyfilter`) of the keys held, so that a lookup searches the arrays only for the few
keys that may be there.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from dedup.store.base import I64
from dedup.store.keyfilter import capacity_for, contains, empty, insert
from dedup.store.ranges import SLICES, bounds, slice_of

__all__ = ["RecentKeys"]

#: Most pairs each level but the last holds; a level past its limit is merged into the next.
_LIMITS = (1 << 12, 1 << 16, 1 << 20)
_EMPTY: I64 = np.zeros(0, dtype=np.int64)
_EMPTY.flags.writeable = False


class RecentKeys:
    """(key, seq) pairs of the documents whose keys are not yet in the ``keys`` table.

    The pairs are held in levels of sorted arrays, newest first: an add merges its pairs into
    the first, small level, and a level that outgrows its limit is merged into the next. So
    an add copies little (merging 65,536 pairs into 3.5M takes ~27 ms), while a lookup
    searches a few sorted arrays, only for the keys the filter may hold. Every pair of a
    level has a higher seq than every pair of the levels after it, so merging is an insert
    after the equal keys.

    Attributes:
        last: The highest seq read so far (0 when empty).
        counts: Pairs held per key range.
    """

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        """Forget every pair."""
        self._levels: list[tuple[I64, I64]] = [(_EMPTY, _EMPTY)] * (len(_LIMITS) + 1)
        self.last = 0
        self.counts = np.zeros(SLICES, dtype=np.int64)
        self._refilter()

    def _refilter(self, more: I64 = _EMPTY) -> None:
        """Rebuild the filter for the keys held and ``more``, sized for them."""
        keys = np.concatenate([keys for keys, _ in self._levels] + [more])
        self._capacity = capacity_for(len(keys))
        self._filter = empty(self._capacity)
        self._filtered = len(keys)
        insert(self._filter, keys)

    def __len__(self) -> int:
        return sum(len(keys) for keys, _ in self._levels)

    def add(self, rows: Iterable[tuple[int, I64]], upto: I64) -> None:
        """Add documents' keys, ``(seq, keys)`` with seqs above :attr:`last`, but moved ones.

        A key of range ``r`` has been moved once its seq is at most ``upto[r]``.
        """
        rows = list(rows)
        if not rows:
            return
        keys = np.concatenate([k for _, k in rows]).astype(np.int64, copy=False)
        seqs = np.repeat(np.array([s for s, _ in rows], dtype=np.int64), [len(k) for _, k in rows])
        parts = slice_of(keys)
        keep = seqs > upto[parts]
        keys, seqs = keys[keep], seqs[keep]
        self.counts += np.bincount(parts[keep], minlength=SLICES)
        self.last = max(self.last, max(s for s, _ in rows))
        if self._filtered + len(keys) > self._capacity:
            self._refilter(keys)
        else:
            insert(self._filter, keys)
            self._filtered += len(keys)
        order = np.lexsort((seqs, keys))
        self._levels[0] = _merged(self._levels[0], keys[order], seqs[order])
        for level, limit in enumerate(_LIMITS):
            if len(self._levels[level][0]) <= limit:
                break
            self._levels[level + 1] = _merged(self._levels[level + 1], *self._levels[level])
            self._levels[level] = (_EMPTY, _EMPTY)

    def drop_moved(self, upto: I64) -> None:
        """Drop the pairs whose range was moved past their seq (``seq <= upto[range]``)."""
        for level, (keys, seqs) in enumerate(self._levels):
            keep = seqs > upto[slice_of(keys)]
            self._levels[level] = keys[keep], seqs[keep]
        self.counts = np.bincount(slice_of(np.concatenate([keys for keys, _ in self._levels])),
                                  minlength=SLICES).astype(np.int64)
        self._refilter()

    def pairs(self, part: int) -> tuple[I64, I64]:
        """Return the keys and seqs held in range ``part``, sorted by (key, seq)."""
        keys, seqs = self.arrays()
        low, high = bounds(part)
        lo, hi = int(np.searchsorted(keys, low)), int(np.searchsorted(keys, high, side="right"))
        return keys[lo:hi], seqs[lo:hi]

    def arrays(self) -> tuple[I64, I64]:
        """Return every pair held, keys and seqs sorted by (key, seq)."""
        for level in range(len(_LIMITS)):
            self._levels[level + 1] = _merged(self._levels[level + 1], *self._levels[level])
            self._levels[level] = (_EMPTY, _EMPTY)
        return self._levels[-1]

    def lookup(self, keys: I64) -> dict[int, list[int]]:
        """Return the seqs held under each of ``keys`` (sorted, unique) that has any."""
        found: dict[int, list[int]] = {}
        keys = keys[contains(self._filter, keys)]
        for held, seqs in reversed(self._levels):  # oldest first: each key's seqs ascending
            if not len(held) or not len(keys):
                continue
            lo = np.searchsorted(held, keys)
            hit = np.flatnonzero(held[np.minimum(lo, len(held) - 1)] == keys)
            hi = np.searchsorted(held, keys[hit], side="right")  # the few keys held
            for i, end in zip(hit.tolist(), hi.tolist(), strict=True):
                found.setdefault(int(keys[i]), []).extend(seqs[lo[i]:end].tolist())
        return found


def _merged(held: tuple[I64, I64], keys: I64, seqs: I64) -> tuple[I64, I64]:
    """Insert pairs sorted by (key, seq), with seqs above every seq held, into a level."""
    if not len(held[0]):
        return keys, seqs
    size = len(held[0]) + len(keys)
    at = np.searchsorted(held[0], keys, side="right")  # after the equal keys held
    at += np.arange(len(keys))  # their places in the result (``at`` is sorted)
    old = np.ones(size, dtype=bool)
    old[at] = False
    out = np.empty(size, dtype=np.int64), np.empty(size, dtype=np.int64)
    for merged, mine, theirs in zip(out, held, (keys, seqs), strict=True):
        merged[at] = theirs
        merged[old] = mine
    return out
