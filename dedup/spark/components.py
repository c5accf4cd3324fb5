"""Connected components in Spark: the large-star / small-star iteration (Kiveris et al. 2014).

Nodes are document ranks (earlier documents have smaller ranks), so each component's label,
its smallest node, is its representative. Every round is a pair of DataFrame joins; nothing is
collected to the driver except one count per round to detect convergence.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["components"]


def _large_star(edges: DataFrame) -> DataFrame:
    """Link every neighbour larger than a node to the smallest of the node's neighbourhood."""
    from pyspark.sql import functions as F

    both = edges.select("u", "v").unionByName(edges.select(F.col("v").alias("u"),
                                                           F.col("u").alias("v")))
    smallest = both.groupBy("u").agg(F.least(F.min("v"), F.col("u")).alias("m"))
    return (both.join(smallest, "u").where(F.col("v") > F.col("u"))
            .select(F.col("v").alias("u"), F.col("m").alias("v")).distinct())


def _small_star(edges: DataFrame) -> DataFrame:
    """Link a node and its smaller neighbours to the smallest of them."""
    from pyspark.sql import functions as F

    down = edges.select(F.greatest("u", "v").alias("u"), F.least("u", "v").alias("v"))
    smallest = down.groupBy("u").agg(F.min("v").alias("m"))
    linked = down.join(smallest, "u")
    out = linked.select(F.col("v").alias("u"), F.col("m").alias("v")).unionByName(
        smallest.select("u", F.col("m").alias("v")))
    return out.where(F.col("u") != F.col("v")).distinct()


def components(edges: DataFrame, max_rounds: int = 100) -> DataFrame:
    """Label every node of ``edges`` (columns a, b) with the smallest node of its component.

    Args:
        edges: Undirected edges between long node ids.
        max_rounds: Safety bound; convergence takes O(log^2 n) rounds.

    Returns:
        Rows (node, label), one per node that has an edge; ``label <= node``.

    Raises:
        RuntimeError: If the iteration has not converged after ``max_rounds``.
    """
    from pyspark.sql import functions as F

    current = (edges.select(F.greatest("a", "b").alias("u"), F.least("a", "b").alias("v"))
               .distinct().localCheckpoint())
    for _ in range(max_rounds):
        step = _small_star(_large_star(current)).localCheckpoint()
        changed = step.exceptAll(current).count() + current.exceptAll(step).count()
        current = step
        if not changed:
            break
    else:
        raise RuntimeError(f"connected components did not converge in {max_rounds} rounds")
    labels = current.select(F.col("u").alias("node"), F.col("v").alias("label"))
    roots = current.select(F.col("v").alias("node"), F.col("v").alias("label"))
    return labels.unionByName(roots).distinct()
