"""Persistent index benchmarks: build, check latency, check_and_add throughput, size per article.

    .venv/bin/pytest bench/bench_index.py -q -s            # 10k articles (DEDUP_BENCH_SIZES)
    DEDUP_BENCH_SIZES=10000,100000 .venv/bin/pytest bench/bench_index.py -q -s
    DEDUP_BENCH_BACKENDS=sqlite ...                          # leave Redis out

Articles come from ``bench/newsgen.py`` (~670 words, 15% syndicated copies). The indexes of
one size (each backend and setting) are built together, each batch of 500 profiled once and
stored with ``add_profiles`` in each (``add_per_s`` is that rate per index: profiling shared,
keys and writes not); then ``check`` latency (p50/p99 over PROBES new
articles) and sustained ``check_and_add`` throughput over fresh articles, one at a time and in
batches of BATCH with ``check_and_add_many``, are measured, and the
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
from dedup.shingle import shingle_hashes_batch
from dedup.store import Index
from dedup.verify import profiles

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from newsgen import articles

SIZES = [int(s) for s in os.environ.get("DEDUP_BENCH_SIZES", "10000").split(",")]
PROBES = int(os.environ.get("DEDUP_BENCH_PROBES", "200"))
BATCH = int(os.environ.get("DEDUP_BENCH_BATCH", "100"))
SETTINGS = {"default": Config(), "docs": Config(sentence_threshold=0.9)}
BACKENDS = os.environ.get("DEDUP_BENCH_BACKENDS", "sqlite,redis").split(",")
BACKEND_PARAMS = [pytest.param(b, marks=pytest.mark.redis) if b == "redis" else b
                  for b in BACKENDS]
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
        names = [(b, s) for b in BACKENDS for s in SETTINGS]
        indexes = {(b, s): Index.open(_target(b, request, tmp, f"{b}-{s}-{size}"), SETTINGS[s])
                   for b, s in names}
        docs = corpus[size]
        spent = dict.fromkeys(names, 0.0)
        start = time.perf_counter()
        for i in range(0, size, 500):
            profs = profiles(docs[i:i + 500], Config())  # ngram and seed as every setting
            for name, index in indexes.items():
                begin = time.perf_counter()
                index.add_profiles(profs)
                spent[name] += time.perf_counter() - begin
        profiling = time.perf_counter() - start - sum(spent.values())
        for name, index in indexes.items():
            _built[(*name, size)] = (index, size / (spent[name] + profiling), docs[size:])
    return _built[key]


def _report(benchmark: Any, **figures: Any) -> None:
    benchmark.extra_info.update(figures)
    print("\n  " + "  ".join(f"{k}={v}" for k, v in figures.items()))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("setting", list(SETTINGS))
@pytest.mark.parametrize("backend", BACKEND_PARAMS)
def test_check(benchmark: Any, backend: str, setting: str, size: int,
               request: pytest.FixtureRequest, corpus: dict[int, list[Document]],
               tmp_path_factory: pytest.TempPathFactory) -> None:
    """Check latency of new articles against an index of ``size`` articles."""
    index, add_rate, rest = _index(backend, setting, size, request, corpus,
                                   tmp_path_factory.getbasetemp())
    probes = rest[:PROBES]
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
@pytest.mark.parametrize("backend", BACKEND_PARAMS)
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


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("setting", list(SETTINGS))
@pytest.mark.parametrize("backend", BACKEND_PARAMS)
def test_check_and_add_batches(benchmark: Any, backend: str, setting: str, size: int,
                               request: pytest.FixtureRequest, corpus: dict[int, list[Document]],
                               tmp_path_factory: pytest.TempPathFactory) -> None:
    """``check_and_add_many`` over fresh articles in batches of BATCH (a consumer's poll)."""
    index, _, rest = _index(backend, setting, size, request, corpus,
                            tmp_path_factory.getbasetemp())
    fresh = rest[PROBES + 1000:PROBES + 2000]  # after the one-at-a-time test's articles
    batches = [fresh[i:i + BATCH] for i in range(0, len(fresh), BATCH)]
    seconds: list[float] = []

    def one() -> None:
        batch = batches[len(seconds)]
        start = time.perf_counter()
        index.check_and_add_many(batch)
        seconds.append(time.perf_counter() - start)

    benchmark.pedantic(one, rounds=len(batches), iterations=1)
    _report(benchmark, backend=backend, setting=setting, size=size, batch=BATCH,
            check_and_add_per_s=round(len(fresh) / sum(seconds)),
            batch_p50_ms=round(float(np.percentile(seconds, 50)) * 1000, 1))


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
    sigs: list[np.ndarray] = []
    for i in range(0, size + PROBES, 1000):
        shingles = shingle_hashes_batch([d.text for d in docs[i:i + 1000]], config.ngram,
                                        config.seed)
        sigs.extend(minhash(shingles, config.num_perm, config.seed))
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
