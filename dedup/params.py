"""LSH banding parameters: the S-curve and the (bands, rows) that best fit a threshold.

A pair with Jaccard similarity ``s`` shares at least one of ``b`` bands of ``r`` MinHash
values with probability ``1 - (1 - s**r)**b``. :func:`optimal_params` picks the ``(b, r)``
with ``b * r <= num_perm`` that minimise the weighted area under that curve below the
threshold (false positives) plus the area above the curve beyond it (false negatives), as
datasketch's ``MinHashLSH`` does. The curve is a polynomial of degree ``b * r``, so
Gauss-Legendre quadrature with ``num_perm // 2 + 1`` nodes integrates it exactly; all
candidates are scored in one NumPy expression.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["candidate_probability", "optimal_params"]


def candidate_probability(similarity: float, bands: int, rows: int) -> float:
    """Return the chance that a pair of this Jaccard similarity becomes an LSH candidate."""
    return float(1.0 - (1.0 - similarity**rows) ** bands)


@functools.lru_cache(maxsize=256)
def optimal_params(threshold: float, num_perm: int, false_positive_weight: float = 0.5,
                   false_negative_weight: float = 0.5) -> tuple[int, int]:
    """Return the ``(bands, rows)`` minimising weighted false positive and negative areas.

    Args:
        threshold: Jaccard similarity the index should separate at, in [0, 1].
        num_perm: MinHash values per signature; ``bands * rows`` never exceeds it.
        false_positive_weight: Weight of the area under the S-curve below ``threshold``.
        false_negative_weight: Weight of the area above it from ``threshold`` to 1.

    Raises:
        ValueError: If an argument is out of range.
    """
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be between 0 and 1, got {threshold}")
    if num_perm < 1:
        raise ValueError(f"num_perm must be at least 1, got {num_perm}")
    if min(false_positive_weight, false_negative_weight) < 0:
        raise ValueError("false positive and negative weights must not be negative")
    # Candidates in datasketch's order (bands, then rows, ascending): ties go to the first.
    pairs = [(b, r) for b in range(1, num_perm + 1) for r in range(1, num_perm // b + 1)]
    bands = np.array([p[0] for p in pairs], dtype=np.float64)[:, None]
    rows = np.array([p[1] for p in pairs], dtype=np.float64)[:, None]
    nodes, weights = np.polynomial.legendre.leggauss(num_perm // 2 + 1)

    def area(lo: float, hi: float, miss: bool) -> np.ndarray:
        s = (nodes + 1.0) * (hi - lo) / 2.0 + lo
        p = 1.0 - (1.0 - s[None, :] ** rows) ** bands
        values = 1.0 - p if miss else p
        return np.asarray((values * weights).sum(axis=1) * (hi - lo) / 2.0)

    error = (false_positive_weight * area(0.0, threshold, miss=False)
             + false_negative_weight * area(threshold, 1.0, miss=True))
    best = int(np.argmin(error))
    return pairs[best]
