"""Cluster stage: connected components of verified pairs (scipy does the graph work)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

__all__ = ["components"]


def components(n: int, edges: Iterable[tuple[int, int]]) -> list[list[int]]:
    """Group ``n`` documents by the connected components of ``edges``.

    Documents are numbered in rank order (earliest first), so each group's first member is its
    representative.

    Args:
        n: Number of documents.
        edges: Pairs of document numbers that are related.

    Returns:
        Every component, singletons included, each sorted, ordered by first member.
    """
    # Imported here: scipy is a quarter of a second of start-up that only clustering needs
    # (``dedup filter``, ``index check`` and Spark workers never call this).
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    pairs = np.array(list(edges), dtype=np.int64).reshape(-1, 2)
    graph = coo_matrix(
        (np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])), shape=(n, n)
    )
    _, labels = connected_components(graph, directed=False)
    groups: dict[int, list[int]] = {}
    for index, label in enumerate(labels.tolist()):
        groups.setdefault(label, []).append(index)
    return sorted(groups.values())
