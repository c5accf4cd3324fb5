"""Memory and LSH throughput for 100,000 documents: dedup ``LSHIndex`` against datasketch.

One corpus of 100,000 generated documents (``corpus.make``, ~12% planted copies) is signed once
with ``dedup.signatures``; both indexes get the same signatures (datasketch through
``to_lean_minhash``) and the same (bands, rows) for threshold 0.5 with 128 values.

- Bytes per document: signatures (uint64, uint32) and each index after inserting every document
  (tracemalloc, which NumPy reports to), plus dedup's sorted columns once grouped.
- Insert and query throughput (one document at a time, and ``query_many`` on the same
  queries and on all documents), and candidate recall on the planted pairs whose exact Jaccard
  of 5-gram shingle sets is at least the threshold.
- ``gc.freeze()``: datasketch insertion with the collector as is and with the objects alive
  before insertion frozen.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from conftest import Report, median
from corpus import Corpus, make
from datasketch import MinHashLSH

from dedup.hash import signatures, to_lean_minhash
from dedup.index import LSHIndex, band_keys
from dedup.params import optimal_params
from dedup.shingle import shingle_hashes_batch

N_DOCS = 100_000
NUM_PERM = 128
THRESHOLD = 0.5
SEED = 1
MAX_BUCKET = 200
SECTION = f"LSH, {N_DOCS:,} docs, threshold {THRESHOLD}, {NUM_PERM} values"


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return make(N_DOCS, seed=2)


@pytest.fixture(scope="module")
def sigs(corpus: Corpus) -> np.ndarray:
    return signatures(corpus.texts, num_perm=NUM_PERM, seed=SEED)


@pytest.fixture(scope="module")
def params() -> tuple[int, int]:
    return optimal_params(THRESHOLD, NUM_PERM)


@pytest.fixture(scope="module")
def leans(sigs: np.ndarray) -> list[Any]:
    return [to_lean_minhash(row, SEED) for row in sigs]


@pytest.fixture(scope="module")
def truth(corpus: Corpus) -> tuple[np.ndarray, np.ndarray]:
    """The planted pairs and the exact Jaccard of their shingle sets."""
    docs = np.unique(corpus.pairs)
    sets = dict(zip(docs.tolist(), shingle_hashes_batch([corpus.texts[i] for i in docs], 5, SEED),
                    strict=True))
    exact = [len(np.intersect1d(sets[a], sets[b], assume_unique=True))
             / max(len(np.union1d(sets[a], sets[b])), 1) for a, b in corpus.pairs.tolist()]
    return corpus.pairs, np.array(exact)


def _dedup_build(sigs: np.ndarray, params: tuple[int, int]) -> LSHIndex:
    bands, rows = params
    index = LSHIndex(bands, rows, MAX_BUCKET)
    index.add_many(np.arange(len(sigs)), band_keys(sigs, bands, rows))
    return index


def _datasketch_build(leans: list[Any], params: tuple[int, int]) -> MinHashLSH:
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM, params=params)
    with lsh.insertion_session() as session:
        for i, m in enumerate(leans):
            session.insert(i, m, check_duplication=False)
    return lsh


def _allocated(build: Callable[[], Any]) -> tuple[Any, int]:
    """Build under tracemalloc; return the result and the bytes it still holds."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    built = build()
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return built, held


def test_memory(bench_report: Report, corpus: Corpus, sigs: np.ndarray,
                params: tuple[int, int], leans: list[Any]) -> None:
    n = len(sigs)
    sig32 = sigs.astype(np.uint32)
    bench_report.add(f"memory per document, {n:,} docs", "signatures uint64 / uint32",
                     f"{sigs.nbytes / n:,.0f} / {sig32.nbytes / n:,.0f} bytes")
    index, held = _allocated(lambda: _dedup_build(sigs, params))
    bench_report.add(f"memory per document, {n:,} docs", f"dedup LSHIndex, {params[0]} bands",
                     f"{held / n:,.0f} bytes")
    _, grouped = _allocated(index.candidate_pairs)
    bench_report.add(f"memory per document, {n:,} docs",
                     "  + its sorted band columns (after candidate_pairs)",
                     f"{grouped / n:,.0f} bytes")
    lsh, held_ds = _allocated(lambda: _datasketch_build(leans, params))
    bench_report.add(f"memory per document, {n:,} docs", "datasketch MinHashLSH",
                     f"{held_ds / n:,.0f} bytes ({held_ds / held:.0f}x dedup)")
    assert len(index) == n and lsh.keys is not None


def test_dedup_insert(benchmark: Any, bench_report: Report, sigs: np.ndarray,
                      params: tuple[int, int]) -> None:
    index = benchmark.pedantic(_dedup_build, (sigs, params), rounds=5)
    assert len(index) == N_DOCS
    bench_report.values["dedup-insert"] = median(benchmark)
    bench_report.add(SECTION, "dedup insert (band_keys + add_many)",
                     f"{N_DOCS / median(benchmark):>12,.0f} docs/s")


_BUILT: dict[str, MinHashLSH] = {}


def test_datasketch_insert(benchmark: Any, bench_report: Report, leans: list[Any],
                           params: tuple[int, int]) -> None:
    lsh = benchmark.pedantic(_datasketch_build, (leans, params), rounds=2)
    _BUILT["lsh"] = lsh
    assert len(lsh.keys) == N_DOCS
    ours = bench_report.values.get("dedup-insert")
    ratio = f" (dedup {median(benchmark) / ours:,.0f}x faster)" if ours else ""
    bench_report.values["datasketch-insert"] = median(benchmark)
    bench_report.add(SECTION, "datasketch insert (insertion_session)",
                     f"{N_DOCS / median(benchmark):>12,.0f} docs/s{ratio}")


def test_datasketch_insert_gc_freeze(bench_report: Report, leans: list[Any],
                                     params: tuple[int, int]) -> None:
    """Insertion timed with every object alive beforehand frozen out of the collector."""
    gc.collect()
    gc.freeze()
    try:
        started = time.perf_counter()
        lsh = _datasketch_build(leans, params)
        seconds = time.perf_counter() - started
    finally:
        gc.unfreeze()
    assert len(lsh.keys) == N_DOCS
    before = bench_report.values.get("datasketch-insert")
    change = f" ({before / seconds:.2f}x the median without freeze)" if before else ""
    bench_report.add(SECTION, "datasketch insert after gc.freeze() (one run)",
                     f"{N_DOCS / seconds:>12,.0f} docs/s{change}")


def test_dedup_all_pairs(benchmark: Any, bench_report: Report, sigs: np.ndarray,
                         params: tuple[int, int], truth: tuple[np.ndarray, np.ndarray]) -> None:
    def run() -> np.ndarray:
        return _dedup_build(sigs, params).candidate_pairs()

    pairs = benchmark.pedantic(run, rounds=3)
    bench_report.values["dedup-all-pairs"] = median(benchmark)
    planted, exact = truth
    found = set(map(tuple, pairs.tolist()))
    hit = np.array([(min(a, b), max(a, b)) in found for a, b in planted.tolist()])
    above = exact >= THRESHOLD
    bench_report.values["dedup-recall"] = float(hit[above].mean())
    bench_report.add(SECTION, "dedup all pairs (build + candidate_pairs)",
                     f"{N_DOCS / median(benchmark):>12,.0f} docs/s, {len(pairs):,} candidate pairs")
    bench_report.add(SECTION, f"dedup recall, {above.sum():,} planted pairs with J >= "
                     f"{THRESHOLD}", f"{hit[above].mean():.4f} (below: {hit[~above].mean():.3f} "
                     f"of {(~above).sum():,})")
    assert hit[above].mean() > 0.9


def test_dedup_query(benchmark: Any, bench_report: Report, sigs: np.ndarray,
                     params: tuple[int, int], truth: tuple[np.ndarray, np.ndarray]) -> None:
    index = _dedup_build(sigs, params)
    sources = np.unique(truth[0][:, 0])  # every planted pair's source document
    keys = band_keys(sigs[sources], *params)
    index.query(keys[0])  # sorts the band columns once

    def run() -> int:
        return sum(len(index.query(row)) for row in keys)

    assert benchmark.pedantic(run, rounds=2) >= len(sources)
    bench_report.values["dedup-query"] = median(benchmark)
    bench_report.add(SECTION, f"dedup query, one document at a time ({len(sources):,} sources)",
                     f"{len(sources) / median(benchmark):>12,.0f} queries/s")


def _recall(hit: np.ndarray, exact: np.ndarray) -> str:
    above = exact >= THRESHOLD
    return f"{hit[above].mean():.4f} (below: {hit[~above].mean():.3f})"


def test_dedup_query_many(benchmark: Any, bench_report: Report, sigs: np.ndarray,
                          params: tuple[int, int], truth: tuple[np.ndarray, np.ndarray]) -> None:
    """``query_many`` on the planted sources (datasketch's queries) and on every document."""
    index = _dedup_build(sigs, params)
    keys = band_keys(sigs, *params)
    planted, exact = truth
    sources = np.unique(planted[:, 0])
    index.query(keys[0])  # sorts the band columns once

    results = benchmark.pedantic(index.query_many, (keys[sources],), rounds=5)
    seconds = median(benchmark)
    bench_report.values["dedup-query-many"] = seconds
    bench_report.add(SECTION, f"dedup query_many, the same {len(sources):,} sources at once",
                     f"{len(sources) / seconds:>12,.0f} queries/s")
    found = dict(zip(sources.tolist(), results, strict=True))
    hit = np.array([b in found[a] for a, b in planted.tolist()])
    bench_report.add(SECTION, "dedup query_many recall, same planted pairs",
                     _recall(hit, exact))
    assert hit[exact >= THRESHOLD].mean() > 0.9

    times = []
    for _ in range(3):
        started = time.perf_counter()
        everyone = index.query_many(keys)
        times.append(time.perf_counter() - started)
    bench_report.add(SECTION, f"dedup query_many, all {N_DOCS:,} documents at once "
                     "(median of 3)", f"{N_DOCS / float(np.median(times)):>12,.0f} queries/s, "
                     f"{sum(map(len, everyone)) - N_DOCS:,} candidates besides themselves")
    assert np.mean([i in candidates for i, candidates in enumerate(everyone)]) > 0.99


def test_datasketch_query(benchmark: Any, bench_report: Report, leans: list[Any],
                          params: tuple[int, int], truth: tuple[np.ndarray, np.ndarray]) -> None:
    lsh = _BUILT.get("lsh") or _datasketch_build(leans, params)
    sources = np.unique(truth[0][:, 0]).tolist()

    def run() -> dict[int, set[Any]]:
        return {a: set(lsh.query(leans[a])) for a in sources}

    results = benchmark.pedantic(run, rounds=2)
    values = bench_report.values
    seconds = median(benchmark)
    speedups = [f"{name} {seconds / values[key]:.1f}x" for name, key in
                [("per-doc query", "dedup-query"), ("query_many", "dedup-query-many")]
                if key in values]
    ratio = f" (dedup speed-up: {', '.join(speedups)})" if speedups else ""
    bench_report.add(SECTION, f"datasketch query, one document at a time ({len(sources):,})",
                     f"{len(sources) / seconds:>12,.0f} queries/s{ratio}")
    if "dedup-all-pairs" in values:
        theirs = values.get("datasketch-insert", 0.0) + seconds * N_DOCS / len(sources)
        bench_report.add(SECTION, "all pairs: dedup build + candidate_pairs vs datasketch "
                         "insert + query every doc",
                         f"{theirs / values['dedup-all-pairs']:>8.1f}x faster")
    planted, exact = truth
    hit = np.array([b in results[a] for a, b in planted.tolist()])
    above = exact >= THRESHOLD
    bench_report.add(SECTION, f"datasketch recall, same {above.sum():,} planted pairs",
                     _recall(hit, exact))
    assert hit[above].mean() > 0.9
