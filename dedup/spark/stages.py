"""Spark stages: band keys, candidate pairs and verification, with the package's own core.

- :func:`band_rows` (executors, batched): profile each document with :func:`dedup.verify.profiles`,
  sign its shingle set and its sentences with :func:`dedup.hash.minhash` exactly as
  :func:`dedup.engine.candidate_pairs` does, and explode one row per (level, band, key).
- :func:`candidates` (DataFrame): group rows by bucket; a bucket with more than
  ``config.max_bucket`` entries pairs nothing and is reported; the others are self-joined into
  deduplicated document pairs ``a < b`` in rank order.
- :func:`verified` (executors, batched): join both documents' profiles in (serialised once by
  :func:`band_rows`), drop the pairs :func:`dedup.verify.screen` proves unrelated (as the local
  engine does) and call :func:`dedup.verify.decide` on the rest; keep related pairs as their
  ``Evidence.to_dict()`` JSON.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from dedup.config import Config
from dedup.engine import level_keys
from dedup.read import Document
from dedup.verify import Profile, ProfileView, decide, profiles, screen

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame

__all__ = ["DOCUMENT", "SENTENCE", "band_rows", "candidates", "lsh_keys", "verified"]

DOCUMENT, SENTENCE = 0, 1
LEVELS = ("document", "sentence")
_KEY_SCHEMA = "rank long, level byte, band int, key long, profile binary, error string"
_EVIDENCE_SCHEMA = "a long, b long, evidence string, error string"


_ID_LENGTH = struct.Struct("<I")


def _pack(prof: Profile) -> bytes:
    """Serialise what :func:`decide` reads of a profile: its id and :meth:`Profile.to_bytes`."""
    name = prof.doc.id.encode()
    return _ID_LENGTH.pack(len(name)) + name + prof.to_bytes()


def _body(data: bytes) -> bytes:
    """The :meth:`Profile.to_bytes` part of :func:`_pack` output."""
    (size,) = _ID_LENGTH.unpack_from(data)
    return data[_ID_LENGTH.size + size:]


def _unpack(data: bytes) -> Profile:
    """Rebuild a profile packed by :func:`_pack` (the text is not needed, only the id)."""
    (size,) = _ID_LENGTH.unpack_from(data)
    name = data[_ID_LENGTH.size:_ID_LENGTH.size + size].decode()
    return Profile.from_bytes(Document(name, ""), _body(data))


def _decide_group(a: int, bs: list[int], pa: bytes, pbs: list[bytes],
                  config: Config) -> list[tuple[int, int, str | None, str | None]]:
    """Decide the pairs of one document ``a``: screen them all, then decide the survivors.

    :func:`dedup.verify.screen` only drops pairs :func:`decide` would call unrelated, as in the
    local engine. Returns rows (a, b, evidence JSON, error) of related and failed pairs.
    """
    first = _unpack(pa)
    rows: list[tuple[int, int, str | None, str | None]] = []
    try:
        keep = screen(first, [ProfileView.from_bytes(_body(pb)) for pb in pbs], config)
    except Exception:  # decide every pair below, so a failure names its pair
        keep = np.ones(len(bs), dtype=bool)
    for b, pb, kept in zip(bs, pbs, keep.tolist(), strict=True):
        if not kept:
            continue
        second = _unpack(pb)
        try:
            evidence = decide(first, second, config)
        except Exception as err:  # reported with both ids, never a lost job
            rows.append((a, b, None, f"pair {first.doc.id!r} ~ {second.doc.id!r}: "
                                     f"{type(err).__name__}: {err}"))
            continue
        if evidence.relation is not None:
            rows.append((a, b, orjson.dumps(evidence.to_dict()).decode(), None))
    return rows


def lsh_keys(profs: Sequence[Profile], config: Config) -> list[tuple[int, np.ndarray,
                                                                     np.ndarray]]:
    """Band keys of both LSH levels, from :func:`dedup.engine.level_keys` (the local engine's).

    Returns:
        Per level (``DOCUMENT``, ``SENTENCE``): the owner of each signed entry (index into
        ``profs``) and its ``(entries, bands)`` uint64 band keys.
    """
    return [(LEVELS.index(level.level), level.owners, level.keys)
            for level in level_keys(profs, config)]


def _docs(ids: Any, texts: Any) -> list[Document]:
    return [Document(str(i), str(t)) for i, t in zip(ids, texts, strict=True)]


def _profiles_safely(docs: list[Document], config: Config) -> tuple[list[Profile],
                                                                    dict[int, str]]:
    """Profile a batch; on failure, profile one by one and name each failing document."""
    try:
        return profiles(docs, config), {}
    except Exception:  # a bad record must not kill the batch; find it below
        good: list[Profile] = []
        failed: dict[int, str] = {}
        for number, doc in enumerate(docs):
            try:
                good.append(profiles([doc], config)[0])
            except Exception as err:
                failed[number] = f"{type(err).__name__}: {err}"
        return good, failed


def band_rows(docs: DataFrame, config: Config) -> DataFrame:
    """Explode every document (rank, id, text) into its band-key rows; failures as errors.

    Each document also gets one row of level -1 holding its serialised profile (for
    :func:`verified`, so a document is profiled once however many pairs it is in).
    """

    def keys(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        import pandas as pd

        for batch in batches:
            ranks = batch["rank"].to_numpy(dtype=np.int64)
            good, failed = _profiles_safely(_docs(batch["id"], batch["text"]), config)
            kept = np.array([r for n, r in enumerate(ranks) if n not in failed], dtype=np.int64)
            if failed:
                yield pd.DataFrame({"rank": [ranks[n] for n in failed], "level": 0, "band": 0,
                                    "key": 0, "profile": None, "error": list(failed.values())})
            if not good:
                continue
            yield pd.DataFrame({"rank": kept, "level": np.int8(-1), "band": -1, "key": 0,
                                "profile": [_pack(p) for p in good], "error": None})
            for level, owners, table in lsh_keys(good, config):
                n, bands = table.shape
                yield pd.DataFrame({
                    "rank": np.repeat(kept[owners], bands),
                    "level": np.int8(level),
                    "band": np.tile(np.arange(bands, dtype=np.int32), n),
                    "key": table.reshape(-1).view(np.int64),
                    "profile": None,
                    "error": None,
                })

    return docs.select("rank", "id", "text").mapInPandas(keys, _KEY_SCHEMA)


def candidates(keys: DataFrame, max_bucket: int) -> tuple[DataFrame, DataFrame]:
    """Pair the documents that share a bucket.

    Args:
        keys: Rows (rank, level, band, key) from :func:`band_rows`, errors removed.
        max_bucket: Largest bucket (in entries, as the local index counts) that pairs.

    Returns:
        Deduplicated pairs (a, b) with ``a < b``, and the oversized buckets (level, band, size).
    """
    from pyspark.sql import functions as F

    bucket = ["level", "band", "key"]
    sizes = keys.groupBy(*bucket).agg(F.count("*").alias("size")).where("size > 1")
    oversized = sizes.where(F.col("size") > max_bucket).select("level", "band", "size")
    pairing = keys.join(sizes.where(F.col("size") <= max_bucket), bucket).select(*bucket, "rank")
    left = pairing.withColumnRenamed("rank", "a")
    right = pairing.withColumnRenamed("rank", "b")
    pairs = left.join(right, bucket).where("a < b").select("a", "b").distinct()
    return pairs, oversized


def verified(pairs: DataFrame, profiles: DataFrame, config: Config) -> DataFrame:
    """Decide every candidate pair on the executors, both profiles joined in.

    Args:
        pairs: Candidate pairs (a, b).
        profiles: (rank, profile) rows of :func:`band_rows`.
        config: Thresholds of the decision.

    Returns:
        Rows (a, b, evidence JSON, error) of related pairs and of pairs that failed.
    """
    left = profiles.select(profiles["rank"].alias("a"), profiles["profile"].alias("pa"))
    right = profiles.select(profiles["rank"].alias("b"), profiles["profile"].alias("pb"))
    joined = (pairs.join(left, "a").join(right, "b").select("a", "b", "pa", "pb")
              .sortWithinPartitions("a"))

    def decide_batch(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        import pandas as pd

        for batch in batches:
            rows: list[tuple[int, int, str | None, str | None]] = []
            for a, group in batch.groupby("a", sort=False):
                rows.extend(_decide_group(int(a), group["b"].tolist(), group["pa"].iloc[0],
                                          group["pb"].tolist(), config))
            yield pd.DataFrame(rows, columns=["a", "b", "evidence", "error"])

    return joined.mapInPandas(decide_batch, _EVIDENCE_SCHEMA)
