"""The Spark engine: the same clustering as :mod:`dedup.engine`, as DataFrame stages.

read (executors) -> rank -> band keys (executors, the package's own hashing) -> candidate pairs
(grouped buckets, capped) -> verify + align (executors, :func:`dedup.verify.decide`) ->
connected components (large-star / small-star in Spark) -> records. Output is byte-identical to
the local engine's. pyspark is imported lazily: importing this package needs no JVM.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from dedup.config import Config
from dedup.read import Fields, InputError, OnError
from dedup.spark.source import InputFile, list_inputs, path_key, read_parsed

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["SparkResult", "run", "session"]

Warn = Callable[[str], None]
_MAX_REPORTED = 1000  # bad records listed one by one; the rest are only counted
_DOCS_PER_PARTITION = 10_000  # shuffle partitions wanted: at least one per this many records


def _local_heap() -> str:
    """A local run's JVM heap: a quarter of physical memory, at least 1 GiB (Spark's default).

    In ``local[N]`` the executors live in the driver, and Spark's 1 GiB default ran out of heap
    caching a 100,000-article crawl on a 24 GiB machine.
    """
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # no sysconf (Windows): keep the default
        return "1g"
    return f"{max(1, total // 4 // 2**30)}g"


def session(master: str | None = None, app: str = "dedup",
            conf: dict[str, str] | None = None) -> SparkSession:
    """Start (or join) a SparkSession; ``local[N]`` with N cores unless a master is given.

    Under ``spark-submit`` (or with ``--master``) the usual Spark settings apply. A local master
    gets ``2N`` shuffle partitions, no UI, and a JVM heap of a quarter of physical memory
    unless ``SPARK_DRIVER_MEMORY`` is set.

    Args:
        master: Spark master URL.
        app: Application name.
        conf: Further Spark settings, applied last (a new session only).
    """
    from pyspark.sql import SparkSession

    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    os.environ.setdefault("PYTHONWARNINGS", "ignore::FutureWarning")  # the same, in workers
    builder = SparkSession.builder.appName(app)
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ  # launched by spark-submit
    if master is not None:
        builder = builder.master(master)
    elif not submitted:
        master = f"local[{os.cpu_count() or 2}]"
        builder = builder.master(master)
    if master is not None and master.startswith("local"):
        cores = os.cpu_count() or 2
        builder = (builder.config("spark.sql.shuffle.partitions", str(2 * cores))
                   .config("spark.ui.enabled", "false")
                   .config("spark.ui.showConsoleProgress", "false"))
        if "SPARK_DRIVER_MEMORY" not in os.environ:
            builder = builder.config("spark.driver.memory", _local_heap())
        if "PYSPARK_PYTHON" not in os.environ:
            os.environ["PYSPARK_PYTHON"] = sys.executable  # workers run in this environment
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


class RecordError(Exception):
    """A bad record (or a record the executors failed on), with where and which document."""


@dataclass
class SparkResult:
    """What one Spark run produced; DataFrames stay on the cluster until written.

    Attributes:
        docs: Documents as (rank, id, text); ``rank`` grows with the local engine's order.
        evidence: Related pairs as (a, b, evidence JSON), ranks ``a < b``.
        labels: (node, label): each paired document and its component's first document.
        oversized: Capped LSH buckets as (level, band, size).
        skipped: Records skipped with ``on_error="skip"``.
    """

    spark: SparkSession
    docs: DataFrame
    evidence: DataFrame
    labels: DataFrame
    oversized: list[tuple[str, int, int]] = field(default_factory=list)
    skipped: int = 0

    def _clusters(self, singletons: bool) -> DataFrame:
        from pyspark.sql import functions as F

        docs = self.docs.select("rank", "id")
        if singletons:
            members = docs.join(self.labels, docs["rank"] == self.labels["node"], "left").select(
                "rank", "id", F.coalesce("label", "rank").alias("label"))
        else:
            members = docs.join(self.labels, docs["rank"] == self.labels["node"]).select(
                "rank", "id", "label")
        grouped = members.groupBy("label").agg(
            F.sort_array(F.collect_list(F.struct("rank", "id"))).alias("members"))
        pairs = (self.evidence.join(self.labels, self.evidence["a"] == self.labels["node"])
                 .groupBy("label")
                 .agg(F.sort_array(F.collect_list(F.struct("a", "b", "evidence"))).alias("pairs")))
        return grouped.join(pairs, "label", "left")

    def cluster_records(self, singletons: bool = False) -> Iterator[dict[str, Any]]:
        """Yield ``dedup cluster`` records in the local engine's order, streamed to the driver."""
        rows = self._clusters(singletons).orderBy("label").toLocalIterator(prefetchPartitions=True)
        for number, row in enumerate(rows):
            ids = [m["id"] for m in row["members"]]
            yield {"cluster": number, "representative": ids[0], "members": ids,
                   "pairs": [orjson.loads(p["evidence"]) for p in row["pairs"] or []]}

    def pair_records(self) -> Iterator[dict[str, Any]]:
        """Yield ``dedup pairs`` records in the local engine's order."""
        rows = self.evidence.orderBy("a", "b").select("evidence").toLocalIterator(
            prefetchPartitions=True)
        for row in rows:
            yield orjson.loads(row["evidence"])

    def write_parquet(self, kind: str, path: str, singletons: bool = False) -> None:
        """Write cluster or pair records as Parquet from the executors (same fields as JSON)."""
        from pyspark.sql import functions as F

        evidence = F.from_json("evidence", _EVIDENCE_DDL)
        if kind == "pair":
            (self.evidence.orderBy("a", "b").select(evidence.alias("e")).select("e.*")
             .write.mode("overwrite").parquet(path))
            return
        clusters = self._clusters(singletons)
        numbers = self.spark.createDataFrame(
            clusters.select("label").orderBy("label").rdd.map(lambda r: r[0]).zipWithIndex(),
            "label long, cluster long")
        (clusters.join(numbers, "label").orderBy("label").select(
            "cluster",
            F.col("members")[0]["id"].alias("representative"),
            F.col("members.id").alias("members"),
            F.coalesce(F.transform("pairs", lambda p: F.from_json(p["evidence"], _EVIDENCE_DDL)),
                       F.array().cast(f"array<{_EVIDENCE_DDL}>")).alias("pairs"))
         .write.mode("overwrite").parquet(path))


_EVIDENCE_DDL = ("struct<a:string,b:string,relation:string,jaccard:double,"
                 "containment_ab:double,containment_ba:double,aligned:int,coverage:double,"
                 "passages:array<struct<a:array<int>,b:array<int>,score:double>>>")


def _jsonl_lines(spark: SparkSession, files: list[InputFile]) -> dict[tuple[int, int], int]:
    """First line number and first ``pos`` of each JSONL split, keyed by (file, block)."""
    from pyspark.sql import functions as F

    uris = [f.uri for f in files if f.fmt == "jsonl"]
    if not uris:
        return {}
    rank = {path_key(f.uri): f.rank for f in files}
    stats = (spark.read.text(uris).select(
        F.col("_metadata.file_path").alias("path"),
        F.col("_metadata.file_block_start").alias("block"),
        F.monotonically_increasing_id().alias("pos"))
        .groupBy("path", "block").agg(F.min("pos").alias("first"), F.count("*").alias("n"))
        .collect())
    out: dict[tuple[int, int], int] = {}
    seen: dict[int, int] = {}
    for row in sorted(stats, key=lambda r: (rank[path_key(r["path"])], r["block"])):
        file = rank[path_key(row["path"])]
        out[(file, row["block"])] = seen.get(file, 0) + 1 - row["first"]
        seen[file] = seen.get(file, 0) + row["n"]
    return out


def _problems(spark: SparkSession, parsed: DataFrame, docs: DataFrame, files: list[InputFile],
              listing: list[tuple[int, InputError]]) -> tuple[list[tuple[Any, ...]], int,
                                                              DataFrame]:
    """Collect bad records and duplicate ids in arrival order, their count, and the good docs."""
    from pyspark.sql import functions as F

    count = len(listing) + parsed.where("error is not null").count()
    bad: list[tuple[Any, ...]] = [(r["file"], r["block"], r["pos"], r["line"], r["error"], None)
           for r in parsed.where("error is not null").orderBy("file", "block", "pos")
           .limit(_MAX_REPORTED).collect()]
    dups = (docs.groupBy("id").agg(F.count("*").alias("n"),
                                   F.min(F.struct("file", "block", "pos", "line")).alias("first"))
            .where("n > 1"))
    if dups.limit(1).count():
        later = (docs.join(dups, "id")
                 .where(F.struct("file", "block", "pos", "line") != F.col("first"))
                 .select("id", "file", "block", "pos", "line", "first"))
        for r in later.orderBy("file", "block", "pos").limit(_MAX_REPORTED).collect():
            bad.append((r["file"], r["block"], r["pos"], r["line"], None, (r["id"], r["first"])))
        count += later.count()
        docs = docs.join(later.select("file", "block", "pos"), ["file", "block", "pos"],
                         "left_anti")
    lines = _jsonl_lines(spark, files) if any(r[3] is None for r in bad) else {}

    def where(file: int, block: int, pos: int, line: int | None) -> str:
        if line is None and (file, block) in lines:
            line = lines[(file, block)] + pos
        return files[file].path if line is None else f"{files[file].path}:{line}"

    out: list[tuple[Any, ...]] = [(rank, -1, -1, str(err)) for rank, err in listing]
    for file, block, pos, line, error, dup in bad:
        if dup is not None:
            first = dup[1]
            error = (f"duplicate id {dup[0]!r} (first at "
                     f"{where(first['file'], first['block'], first['pos'], first['line'])})")
        out.append((file, block, pos, f"{where(file, block, pos, line)}: {error}"))
    out.sort(key=lambda p: p[:3])
    return out, count, docs


def run(spark: SparkSession, paths: tuple[str, ...], config: Config, fields: Fields, *,
        on_error: OnError = "fail", warn: Warn = lambda _message: None) -> SparkResult:
    """Run the whole pipeline on Spark.

    Args:
        spark: The session to run on.
        paths: Files or folders (local or any Hadoop-compatible URI).
        config: Settings of every stage.
        fields: Field names of JSONL, CSV and Parquet records.
        on_error: ``fail`` raises on the first bad record; ``skip`` warns, drops it, counts it.
        warn: Receives warnings and skipped records, one line each.

    Returns:
        The :class:`SparkResult`.

    Raises:
        RecordError: On a bad record when ``on_error`` is ``fail``.
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from dedup.spark.components import components
    from dedup.spark.stages import LEVELS, band_rows, candidates, verified

    files, listing_errors = list_inputs(spark, paths)
    listing = [(0 if not files else _rank_after(files, err), err) for err in listing_errors]
    parsed = read_parsed(spark, files, fields).persist(StorageLevel.MEMORY_AND_DISK)
    is_warning = F.col("error").startswith("warning: ")
    for row in parsed.where(is_warning).limit(_MAX_REPORTED).collect():
        warn(f"{files[row['file']].path}: {row['error'][len('warning: '):]}")
    parsed = parsed.where(~is_warning | F.col("error").isNull())
    _size_shuffles(spark, parsed.count())
    docs = parsed.where("error is null")
    problems, skipped, docs = _problems(spark, parsed, docs, files, listing)
    _handle(problems, skipped, on_error, warn)

    ranked = (docs.orderBy(F.col("date").isNull(), "date", "file", "block", "pos")
              .select(F.monotonically_increasing_id().alias("rank"), "id", "text")
              .persist(StorageLevel.MEMORY_AND_DISK))
    keys = band_rows(ranked, config).persist(StorageLevel.MEMORY_AND_DISK)
    failed = keys.where("error is not null").select("rank", "error")
    bad_docs = [(r["id"], r["error"]) for r in failed.join(ranked, "rank")
                .orderBy("rank").limit(_MAX_REPORTED).collect()]
    if bad_docs:
        count = failed.count()
        _handle([(0, 0, 0, f"document {i!r}: {e}") for i, e in bad_docs], count, on_error, warn)
        skipped += count
        ranked = ranked.join(failed.select("rank"), "rank", "left_anti")
    parsed.unpersist()
    profiles = keys.where("level = -1 and error is null").select("rank", "profile")
    pairs, big = candidates(keys.where("level >= 0 and error is null")
                            .select("rank", "level", "band", "key"), config.max_bucket)
    oversized = [(LEVELS[r["level"]], r["band"], r["size"])
                 for r in big.orderBy("level", "band", "size").collect()]
    evidence = verified(pairs, profiles, config).persist(StorageLevel.MEMORY_AND_DISK)
    failed_pairs = evidence.where("error is not null")
    bad_pairs = [r["error"] for r in failed_pairs.limit(_MAX_REPORTED).collect()]
    if bad_pairs:
        count = failed_pairs.count()
        _handle([(0, 0, 0, e) for e in bad_pairs], count, on_error, warn)
        skipped += count
    evidence = evidence.where("error is null").select("a", "b", "evidence")
    labels = components(evidence).persist(StorageLevel.MEMORY_AND_DISK)
    return SparkResult(spark, ranked, evidence, labels, oversized, skipped)


def _size_shuffles(spark: SparkSession, records: int) -> None:
    """Raise ``spark.sql.shuffle.partitions`` to one per ``_DOCS_PER_PARTITION`` records.

    A partition's profiles (~13 KB per ~600-word article) are cached as one block. With a
    local session's 2N partitions, a million articles made blocks of gigabytes, and reading
    one back failed with ``OutOfMemoryError: Java heap space`` (2026-12-02). A higher setting
    (a cluster's own) is kept; adaptive execution still merges partitions that come out small.
    """
    wanted = -(-records // _DOCS_PER_PARTITION)
    if wanted > int(spark.conf.get("spark.sql.shuffle.partitions") or 200):
        spark.conf.set("spark.sql.shuffle.partitions", str(wanted))


def _rank_after(files: list[InputFile], err: InputError) -> int:
    """The rank of the first file read after a listing error (arguments are read in order)."""
    later = [f.rank for f in files if f.path >= err.path]
    return min(later) if later else len(files)


def _handle(problems: list[tuple[Any, ...]], count: int, on_error: OnError, warn: Warn) -> None:
    if not problems:
        return
    if on_error == "fail":
        raise RecordError(problems[0][3])
    for problem in problems:
        warn(problem[3])
    if count > len(problems):
        warn(f"... and {count - len(problems)} more bad records")
