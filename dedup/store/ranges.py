"""The key ranges of an SQLite index: the top four bits of a band key cut its space in 16.

An index moves recent keys into its ``keys`` B-tree one range at a time (:mod:`.recent`), and
keeps one filter per range (:mod:`.keyfilter`).
"""

from __future__ import annotations

import numpy as np

from dedup.store.base import I64

__all__ = ["SLICES", "bounds", "slice_of"]

_BITS = 4
#: Key ranges: the top four bits of the key (as uint64, so ``-2**63`` is in range 0).
SLICES = 1 << _BITS
_SHIFT = np.uint64(64 - _BITS)
_SIGN = np.uint64(1 << 63)


def slice_of(keys: I64) -> np.ndarray:
    """Return the range (0 .. SLICES - 1) of each int64 key, in key order."""
    return ((np.asarray(keys, dtype=np.int64).view(np.uint64) ^ _SIGN) >> _SHIFT).astype(np.intp)


def bounds(part: int) -> tuple[int, int]:
    """Return the lowest and the highest int64 key of range ``part``."""
    low = -(1 << 63) + (part << (64 - _BITS))
    return low, low + (1 << (64 - _BITS)) - 1
