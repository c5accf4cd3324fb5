"""Persistent index benchmarks: build, check latency, check_and_add throughput, size per article.

    .venv/bin/pytest bench/bench_index.py -q -s            # 10k articles (DEDUP_BENCH_SIZES)
    DEDUP_BENCH_SIZES=10000,100000 .venv/bin/pytest bench/bench_index.py -q -s

Articles come from ``bench/newsgen.py`` (~670 words, 15% syndicated copies). Each index is
built with ``add_many`` (batches of 500); then ``check`` latency (p50/p99 over PROBES new
articles) and sustained ``check_and_add`` throughput over fresh articles are measured, and the
size on disk (SQLite file + WAL; Redis ``used_memory``) divided by the articles stored.
Two settings: the defaults (sentence-level LSH at 0.3, as ``dedup cluster``), and ``docs``, a
document-level pre-filter (sentence-level threshold 0.9, so only near-copies of sentences are
candidates). The peer is datasketch ``MinHashLSH`` (threshold 0.5, 128 perms) with its Redis
storage, fed our signatures: insert throughput and query latency (LSH only, no verification).
Redis runs skip when redis-server is not installed.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dedup.config import Config
from dedup.hash import minhash, to_lean_minhash
from dedup.read import Document
from dedup.store import Index
from dedup.verify import profiles

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from newsgen import articles

SIZES = [int(s) for s in os.environ.get("DEDUP_BENCH_SIZES", "10000").split(",")]
PROBES = int(os.environ.get("DEDUP_BENCH_PROBES", "200"))
SETTINGS = {"default": Config(), "docs": Config(sentence_threshold=0.9)}
_built: dict[tuple[str, str, int], tuple[Index, float, list[Document]]] = {}


def _docs(n: int, seed: int) -> list[Document]:
    return [Document(a["id"], a["text"], a["date"]) for a in articles(n, seed)]


@pytest.fixture(scope="session")
def corpus() -> dict[int, list[Document]]:
    top = max(SIZES)
    docs = _docs(top + PROBES + 2000, seed=7)
    return {n: docs for n in SIZES}


def _target(backend: str, request: pytest.FixtureRequest, tmp: Path, name: str) -> str:
    if backend == "sqlite":
        return str(tmp / f"{name}.db")
    return f"{request.getfixturevalue('redis_url')}?prefix={name}"


def _index(backend: str, setting: str, size: int, request: pytest.FixtureRequest,
           corpus: dict[int, list[Document]], tmp: Path) -> tuple[Index, float, list[Document]]:
    key = (backend, setting, size)
    if key not in _built:
        index = Index.open(_target(backend, request, tmp, f"{backend}-{setting}-{size}"),
                           SETTINGS[setting])
        docs = corpus[size]
        start = time.perf_counter()
        for i in range(0, size, 500):
            index.add_many(docs[i:i + 500])
        _built[key] = (index, size / (time.perf_counter() - start), docs[size:])
    return _built[key]


def _report(benchmark: Any, **figures: Any) -> None:
    benchmark.extra_info.update(figures)
    print("\n  " + "  ".join(f"{k}={v}" for k, v in figures.items()))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("setting", list(SETTINGS))
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def test_check(benchmark: Any, backend: str, setting: str, size: int,
               request: pytest.FixtureRequest, corpus: dict[int, list[Document]],
               tmp_path_factory: pytest.TempPathFactory) -> None:
    """Check latency of new articles against an index of ``size`` articles."""
    index, add_rate, rest = _index(backend, setting, size, request, corpus,
                                   tmp_path_factory.getbasetemp())
    probes = rest[:PROBES if setting == "docs" else min(PROBES, 20)]
    latencies: list[float] = []

    def one() -> None:
        doc = probes[len(latencies) % len(probes)]
        start = time.perf_counter()
        index.check(doc)
        latencies.append(time.perf_counter() - start)

    benchmark.pedantic(one, rounds=len(probes), iterations=1)
    stats = index.stats()
    ms = np.percentile(np.array(latencies) * 1000, [50, 99])
    _report(benchmark, backend=backend, setting=setting, size=size,
            add_per_s=round(add_rate), check_p50_ms=round(float(ms[0]), 2),
            check_p99_ms=round(float(ms[1]), 2), bytes_per_doc=stats["bytes_per_document"],
            keys=stats.get("keys"))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def test_check_and_add_throughput(benchmark: Any, backend: str, size: int,
                                  request: pytest.FixtureRequest,
                                  corpus: dict[int, list[Document]],
                                  tmp_path_factory: pytest.TempPathFactory) -> None:
    """Sustained check_and_add of fresh articles, one at a time (the ``dedup filter`` loop)."""
    index, _, rest = _index(backend, "docs", size, request, corpus,
                            tmp_path_factory.getbasetemp())
    fresh = rest[PROBES:PROBES + 1000]
    latencies: list[float] = []

    def one() -> None:
        doc = fresh[len(latencies)]
        start = time.perf_counter()
        index.check_and_add(doc)
        latencies.append(time.perf_counter() - start)

    benchmark.pedantic(one, rounds=len(fresh), iterations=1)
    ms = np.percentile(np.array(latencies) * 1000, [50, 99])
    _report(benchmark, backend=backend, setting="docs", size=size,
            check_and_add_per_s=round(len(latencies) / sum(latencies)),
            p50_ms=round(float(ms[0]), 2), p99_ms=round(float(ms[1]), 2))


@pytest.mark.redis
@pytest.mark.parametrize("size", SIZES)
def test_datasketch_redis_peer(benchmark: Any, size: int, redis_url: str,
                               corpus: dict[int, list[Document]]) -> None:
    """datasketch MinHashLSH on Redis: insert rate and query latency (LSH only)."""
    from datasketch import MinHashLSH

    host, port = redis_url.split("//")[1].split("/")[0].split(":")
    lsh = MinHashLSH(threshold=0.5, num_perm=128, storage_config={
        "type": "redis", "basename": f"peer{size}".encode(),
        "redis": {"host": host, "port": int(port)}})
    docs = corpus[size]
    config = Config()
    sigs = []
    for i in range(0, size + PROBES, 1000):
        profs = profiles(docs[i:i + 1000], config)
        sigs.extend(minhash([p.shingles for p in profs], config.num_perm, config.seed))
    start = time.perf_counter()
    with lsh.insertion_session(buffer_size=5000) as session:
        for doc, sig in zip(docs[:size], sigs[:size], strict=True):
            session.insert(doc.id, to_lean_minhash(sig, config.seed))
    insert_rate = size / (time.perf_counter() - start)
    probes = [to_lean_minhash(s, config.seed) for s in sigs[size:size + PROBES]]
    latencies: list[float] = []

    def one() -> None:
        start = time.perf_counter()
        lsh.query(probes[len(latencies) % len(probes)])
        latencies.append(time.perf_counter() - start)

    benchmark.pedantic(one, rounds=len(probes), iterations=1)
    ms = np.percentile(np.array(latencies) * 1000, [50, 99])
    _report(benchmark, backend="datasketch-redis", size=size, insert_per_s=round(insert_rate),
            query_p50_ms=round(float(ms[0]), 2), query_p99_ms=round(float(ms[1]), 2))
