"""The recent keys of an SQLite index, held in memory by every process that opens it.

An SQLite index files each key in the ``keys`` B-tree only when a write moves the key's range
(one of :data:`SLICES` ranges of the key space) there; until then the key lives only in its
document's row (``docs.keys``), which a write appends, and in this structure, which each
process rebuilds from those rows. :class:`RecentKeys` holds the (key, seq) pairs of one
process's view: sorted arrays plus a small dict of the newest pairs, merged into the arrays
when it grows, and a Bloom filter (:mod:`.keyfilter`) of the keys held, so that a lookup
searches the arrays only for the few keys that may be there.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from dedup.store.base import I64
from dedup.store.keyfilter import capacity_for, contains, empty, insert
from dedup.store.ranges import SLICES, bounds, slice_of

__all__ = ["RecentKeys"]

#: Pairs the dict holds before they are merged into the sorted arrays.
_TAIL = 1 << 16


class RecentKeys:
    """(key, seq) pairs of the documents whose keys are not yet in the ``keys`` table.

    Attributes:
        last: The highest seq read so far (0 when empty).
        counts: Pairs held per key range.
    """

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        """Forget every pair."""
        self._keys: I64 = np.zeros(0, dtype=np.int64)  # sorted by (key, seq)
        self._seqs: I64 = np.zeros(0, dtype=np.int64)
        self._tail: dict[int, list[int]] = {}
        self._tail_size = 0
        self.last = 0
        self.counts = np.zeros(SLICES, dtype=np.int64)
        self._refilter()

    def _refilter(self, more: I64 | None = None) -> None:
        """Rebuild the filter for the keys held and ``more``, sized for them."""
        keys = np.concatenate([self._keys, np.fromiter(self._tail, dtype=np.int64,
                                                       count=len(self._tail)),
                               np.zeros(0, dtype=np.int64) if more is None else more])
        self._capacity = capacity_for(len(keys))
        self._filter = empty(self._capacity)
        self._filtered = len(keys)
        insert(self._filter, keys)

    def __len__(self) -> int:
        return len(self._keys) + self._tail_size

    def add(self, rows: Iterable[tuple[int, I64]], upto: I64) -> None:
        """Add documents' keys, ``(seq, keys)`` with seqs above :attr:`last`, but moved ones.

        A key of range ``r`` has been moved once its seq is at most ``upto[r]``.
        """
        rows = list(rows)
        if not rows:
            return
        keys = np.concatenate([k for _, k in rows]).astype(np.int64, copy=False)
        seqs = np.repeat(np.array([s for s, _ in rows], dtype=np.int64), [len(k) for _, k in rows])
        keep = seqs > upto[slice_of(keys)]
        keys, seqs = keys[keep], seqs[keep]
        self.counts += np.bincount(slice_of(keys), minlength=SLICES)
        self.last = max(self.last, max(s for s, _ in rows))
        if self._filtered + len(keys) > self._capacity:
            self._refilter(keys)
        else:
            insert(self._filter, keys)
            self._filtered += len(keys)
        if self._tail_size + len(keys) > _TAIL:
            self._fold()
            self._merge(keys, seqs)
            return
        for key, seq in zip(keys.tolist(), seqs.tolist(), strict=True):
            self._tail.setdefault(key, []).append(seq)
        self._tail_size += len(keys)

    def _fold(self) -> None:
        """Merge the dict into the sorted arrays."""
        if self._tail:
            keys = [k for k, seqs in self._tail.items() for _ in seqs]
            seqs = [s for v in self._tail.values() for s in v]
            self._merge(np.array(keys, dtype=np.int64), np.array(seqs, dtype=np.int64))
            self._tail, self._tail_size = {}, 0

    def _merge(self, keys: I64, seqs: I64) -> None:
        """Insert pairs whose seqs are above every seq held into the sorted arrays."""
        order = np.lexsort((seqs, keys))
        keys, seqs = keys[order], seqs[order]
        at = np.searchsorted(self._keys, keys, side="right")  # after the equal keys held
        self._keys, self._seqs = np.insert(self._keys, at, keys), np.insert(self._seqs, at, seqs)

    def drop_moved(self, upto: I64) -> None:
        """Drop the pairs whose range was moved past their seq (``seq <= upto[range]``)."""
        self._fold()
        keep = self._seqs > upto[slice_of(self._keys)]
        self._keys, self._seqs = self._keys[keep], self._seqs[keep]
        self.counts = np.bincount(slice_of(self._keys), minlength=SLICES).astype(np.int64)
        self._refilter()

    def pairs(self, part: int) -> tuple[I64, I64]:
        """Return the keys and seqs held in range ``part``, sorted by (key, seq)."""
        keys, _ = self.arrays()
        low, high = bounds(part)
        lo, hi = int(np.searchsorted(keys, low)), int(np.searchsorted(keys, high, side="right"))
        return self._keys[lo:hi], self._seqs[lo:hi]

    def arrays(self) -> tuple[I64, I64]:
        """Return every pair held, keys and seqs sorted by (key, seq)."""
        self._fold()
        return self._keys, self._seqs

    def lookup(self, keys: I64) -> dict[int, list[int]]:
        """Return the seqs held under each of ``keys`` (sorted, unique) that has any."""
        found: dict[int, list[int]] = {}
        keys = keys[contains(self._filter, keys)]
        lo = np.searchsorted(self._keys, keys, side="left")
        hit = np.flatnonzero(self._keys[np.minimum(lo, len(self._keys) - 1)] == keys
                             if len(self._keys) else np.zeros(len(keys), dtype=bool))
        hi = np.searchsorted(self._keys, keys[hit], side="right")  # the few keys held
        for i, end in zip(hit.tolist(), hi.tolist(), strict=True):
            found[int(keys[i])] = self._seqs[lo[i]:end].tolist()
        if self._tail:
            for key in self._tail.keys() & keys.tolist():
                found.setdefault(key, []).extend(self._tail[key])
        return found

