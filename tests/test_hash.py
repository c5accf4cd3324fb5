from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xxhash
from datasketch import LeanMinHash, MinHashLSH
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup import hash as dhash
from dedup import signatures
from dedup.hash import (
    Method,
    estimate_jaccard,
    from_lean_minhash,
    hash_tokens,
    minhash,
    minhash_packed,
    to_lean_minhash,
)
from dedup.shingle import shingle_hashes

MAX = np.uint64(2**64 - 1)
FOX = ["The quick brown fox jumps over the lazy dog while the cat sleeps."]


def _texts(seeds_dir: Path) -> list[str]:
    seeds = [p.read_text(encoding="utf-8") for p in sorted(seeds_dir.glob("*.txt"))]
    return [*seeds, seeds[0][:300], "", "short text", "東京は日本の首都です", seeds[1].upper()]


def _pair(size: int, jaccard: float, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Two sets of ``size`` random hashes whose Jaccard similarity is close to ``jaccard``."""
    common = min(size, max(0, round(2 * size * jaccard / (1 + jaccard))))
    pool = rng.integers(0, 2**63, size=2 * size - common, dtype=np.int64).astype(np.uint64)
    a, b = pool[:size], np.concatenate([pool[:common], pool[size:]])
    return a, b, np.array(common / (2 * size - common))


def test_pinned_signature_values(hashing_path: str) -> None:
    assert signatures(FOX)[0][:4].tolist() == [
        16098075119921511487, 15106605364617335160, 6272316465363156025, 498307050285926650]
    assert signatures(FOX, method="kperm")[0][:4].tolist() == [
        2197391161550052805, 402144143499135136, 209408142213093991, 184598805078365054]


@pytest.mark.parametrize("method", ["oph", "kperm"])
def test_signatures_equal_minhash_of_shingles(hashing_path: str, seeds_dir: Path,
                                             method: dhash.Method) -> None:
    texts = _texts(seeds_dir)
    sig = signatures(texts, num_perm=64, ngram=4, seed=3, method=method)
    sets = [shingle_hashes(t, 4, 3) for t in texts]
    assert sig.shape == (len(texts), 64) and sig.dtype == np.uint64
    assert np.array_equal(sig, minhash(sets, 64, 3, method))
    assert (sig[texts.index("")] == MAX).all()
    assert not (np.delete(sig, texts.index(""), axis=0) == MAX).any()


def test_processes_preserve_order_and_values(seeds_dir: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Spawned workers (fresh interpreters, other hash seeds) give the same rows in order."""
    monkeypatch.setattr(dhash, "_CHUNK", 3)
    texts = _texts(seeds_dir)
    assert np.array_equal(signatures(iter(texts), processes=2), signatures(texts))
    assert signatures([], processes=2).shape == (0, 128)


def test_forked_workers_read_lists_in_place(seeds_dir: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Lists and tuples go to forked workers as index ranges; rows come back in order."""
    if dhash._start_method() != "fork":
        pytest.skip("fork is not available or not safe here")
    monkeypatch.setattr(dhash, "_CHUNK", 3)
    calls: list[int] = []
    real = dhash._sign_forked

    def spy(texts: Sequence[str], *args: Any) -> np.ndarray:
        calls.append(len(texts))
        return real(texts, *args)

    monkeypatch.setattr(dhash, "_sign_forked", spy)
    texts = _texts(seeds_dir)
    expected = signatures(texts)
    assert np.array_equal(signatures(texts, processes=2), expected)
    assert np.array_equal(signatures(tuple(texts), processes=3, dtype=np.uint32),
                          expected.astype(np.uint32))
    assert calls == [len(texts), len(texts)]
    assert dhash._forked is None  # the parent keeps neither the texts nor the output


def test_uint32_keeps_the_low_bits(seeds_dir: Path) -> None:
    texts = _texts(seeds_dir)
    wide = signatures(texts)
    narrow = signatures(texts, dtype=np.uint32)
    assert narrow.dtype == np.uint32
    assert np.array_equal(narrow, (wide & np.uint64(0xFFFFFFFF)).astype(np.uint32))
    assert (narrow[texts.index("")] == np.uint32(2**32 - 1)).all()


def test_empty_inputs() -> None:
    assert signatures([]).shape == (0, 128)
    assert minhash([], 16, 1).shape == (0, 16)
    rows = minhash([np.array([], dtype=np.uint64), np.array([5], dtype=np.uint64)], 16, 1)
    assert (rows[0] == MAX).all()
    assert len(set(rows[1].tolist())) == 1  # one element fills every bin by densification


@pytest.mark.parametrize("method", ["oph", "kperm"])
@pytest.mark.parametrize("num_perm", [1, 7, 48, 128])
def test_compiled_minhash_equals_numpy(monkeypatch: pytest.MonkeyPatch, num_perm: int,
                                       method: dhash.Method) -> None:
    if dhash._core is None:
        pytest.fail("dedup._core is not built")
    rng = np.random.default_rng(num_perm)
    sets = [rng.integers(0, 2**63, size=n, dtype=np.int64).astype(np.uint64) * np.uint64(2)
            for n in (0, 1, 3, 50, 700, 0, 2000)]
    compiled = minhash(sets, num_perm, 5, method)
    monkeypatch.setattr(dhash, "_core", None)
    assert np.array_equal(compiled, minhash(sets, num_perm, 5, method))
    assert (compiled[0] == MAX).all() and not (compiled[4] == MAX).any()


def test_compiled_minhash_checks_its_buffers() -> None:
    if dhash._core is None:
        pytest.fail("dedup._core is not built")
    sig = np.full((2, 8), MAX, dtype=np.uint64)
    perm = np.ones(8, dtype=np.uint64)
    with pytest.raises(ValueError, match="offsets do not fit"):
        dhash._core.oph(np.arange(3, dtype=np.uint64), np.array([0, 2, 5]), 1, sig)
    with pytest.raises(ValueError, match="offsets do not fit"):
        dhash._core.oph(np.arange(3, dtype=np.uint64), np.array([0, 2, 1]), 1, sig)
    with pytest.raises(ValueError, match="do not fit values"):
        dhash._core.kperm(np.arange(3, dtype=np.uint64), np.array([0, 2, 5]), 1, perm, perm, sig)
    with pytest.raises(ValueError, match="do not fit values"):
        dhash._core.kperm(np.arange(3, dtype=np.uint64), np.array([0, 2, 3]), 1, perm, perm[:4],
                          sig)


@pytest.mark.parametrize("method", ["oph", "kperm"])
def test_minhash_is_a_set_function(method: dhash.Method) -> None:
    rng = np.random.default_rng(0)
    values = rng.integers(0, 2**63, size=300, dtype=np.int64).astype(np.uint64)
    shuffled = np.concatenate([values[::-1], values[:50]])
    rows = minhash([values, shuffled, values.astype(np.int64)], 48, 2, method)
    assert np.array_equal(rows[0], rows[1]) and np.array_equal(rows[0], rows[2])
    assert not np.array_equal(rows[0], minhash([values], 48, 3, method)[0])


@settings(derandomize=True, max_examples=60, deadline=None)
@given(
    method=st.sampled_from(["oph", "kperm"]),
    jaccard=st.floats(0.05, 0.95),
    size=st.integers(128, 1000),
    seed=st.integers(0, 2**32),
)
def test_estimate_error_within_binomial_bound(method: dhash.Method, jaccard: float,
                                              size: int, seed: int) -> None:
    a, b, exact = _pair(size, jaccard, np.random.default_rng(seed))
    j = float(exact)
    rows = minhash([a, b], 128, seed % 1000, method)
    bound = 5 * math.sqrt(j * (1 - j) / 128) + 2 / 128
    assert abs(estimate_jaccard(rows[0], rows[1]) - j) <= bound


@settings(derandomize=True, max_examples=60, deadline=None)
@given(jaccard=st.floats(0.05, 0.95), size=st.integers(4, 30), seed=st.integers(0, 2**32))
def test_kperm_is_accurate_on_tiny_sets(jaccard: float, size: int, seed: int) -> None:
    a, b, exact = _pair(size, jaccard, np.random.default_rng(seed))
    j = float(exact)
    rows = minhash([a, b], 48, seed % 1000, "kperm")
    bound = 5 * math.sqrt(j * (1 - j) / 48) + 2 / 48
    assert abs(estimate_jaccard(rows[0], rows[1]) - j) <= bound


def test_oph_error_no_worse_than_classic_minhash() -> None:
    """Mean absolute error over 400 document-sized pairs, Jaccard 0.1..0.9."""
    rng = np.random.default_rng(1234)
    pairs = [_pair(int(rng.integers(400, 800)), float(rng.uniform(0.1, 0.9)), rng)
             for _ in range(400)]
    exact = np.array([float(p[2]) for p in pairs])
    binomial = float(np.mean(np.sqrt(exact * (1 - exact) / 128))) * math.sqrt(2 / math.pi)
    errors = {}
    for method in ("oph", "kperm"):
        a = minhash([p[0] for p in pairs], 128, 5, method)
        b = minhash([p[1] for p in pairs], 128, 5, method)
        diff = (a == b).mean(axis=1) - exact
        assert abs(diff.mean()) < 0.006  # unbiased
        errors[method] = float(np.abs(diff).mean())
    assert errors["oph"] <= errors["kperm"] * 1.05
    assert errors["kperm"] <= binomial * 1.15


def test_estimate_jaccard() -> None:
    a = np.array([1, 2, 3, 4], dtype=np.uint64)
    assert estimate_jaccard(a, np.array([1, 2, 0, 0], dtype=np.uint64)) == 0.5
    with pytest.raises(ValueError, match="shape"):
        estimate_jaccard(a, a[:3])


def test_lean_minhash_round_trip_and_datasketch_lsh(seeds_dir: Path) -> None:
    texts = _texts(seeds_dir)
    sig = signatures(texts, seed=1)
    lean = [to_lean_minhash(row, 1) for row in sig]
    for row, m in zip(sig, lean, strict=True):
        assert isinstance(m, LeanMinHash)
        assert np.array_equal(from_lean_minhash(m), row)
    upper = texts.index(texts[1].upper())
    assert lean[1].jaccard(lean[upper]) == estimate_jaccard(sig[1], sig[upper]) == 1.0
    assert lean[0].jaccard(lean[1]) == estimate_jaccard(sig[0], sig[1])
    buffer = bytearray(lean[0].bytesize())
    lean[0].serialize(buffer)
    assert np.array_equal(from_lean_minhash(LeanMinHash.deserialize(buffer)), sig[0])
    lsh = MinHashLSH(threshold=0.5, num_perm=128)
    for i, m in enumerate(lean[:5]):
        lsh.insert(str(i), m)
    assert "1" in lsh.query(lean[upper])
    small = to_lean_minhash(signatures(texts[:1], dtype=np.uint32)[0], 1)
    assert small.jaccard(small) == 1.0


def test_hash_tokens_are_seeded_xxh3() -> None:
    words = ["report", "café", "東京", "report"]
    values = hash_tokens(words, 7)
    assert values.dtype == np.uint64
    assert values.tolist() == [xxhash.xxh3_64_intdigest(w.encode("utf-8"), 7) for w in words]
    assert np.array_equal(hash_tokens(words, 7), values)  # cached values are the same
    assert hash_tokens(words, 8)[0] != values[0]
    assert hash_tokens([], 7).shape == (0,)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="method"):
        minhash([np.array([1], dtype=np.uint64)], 8, 1, "lsh")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="num_perm"):
        minhash([np.array([1], dtype=np.uint64)], 0, 1)
    with pytest.raises(ValueError, match="dtype"):
        signatures(FOX, dtype=np.float64)
    with pytest.raises(ValueError, match="processes"):
        signatures(FOX, processes=0)
    with pytest.raises(ValueError, match="1-D"):
        to_lean_minhash(signatures(FOX), 1)


def _densify_reference(sig: np.ndarray, seed: int) -> np.ndarray:
    """Optimal densification bin by bin: probe attempts 1, 2, ... until a filled bin."""
    out = sig.copy()
    k = sig.shape[1]
    for r in range(len(sig)):
        filled = sig[r] != MAX
        if not filled.any():
            continue
        for i in np.flatnonzero(~filled):
            attempt = 0
            while True:
                attempt += 1
                j = int(dhash._probe(np.array([i]), np.array([attempt]), k, seed)[0])
                if filled[j]:
                    out[r, i] = sig[r, j]
                    break
    return out


@pytest.mark.parametrize("num_perm", [8, 48, 128])
def test_tabled_densification_equals_probing_bin_by_bin(num_perm: int, hashing_path: str) -> None:
    rng = np.random.default_rng(num_perm)
    sig = rng.integers(0, 2**63, size=(40, num_perm), dtype=np.int64).astype(np.uint64)
    for r, keep in enumerate(np.linspace(0, num_perm, 40).astype(int)):
        sig[r, rng.permutation(num_perm)[keep:]] = MAX  # rows from empty to full, one filled
    sig[1] = MAX
    sig[1, 3] = 99  # one filled bin: most probes run past the table
    expected = _densify_reference(sig, 11)
    dhash._densify(sig, 11)
    assert np.array_equal(sig, expected)
    assert (sig[0] == MAX).all() and (sig[1] == 99).all()


def test_densification_past_the_probe_table(monkeypatch: pytest.MonkeyPatch,
                                            hashing_path: str) -> None:
    full = dhash._probe_table(48, 11)

    def short_table(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        assert (num_perm, seed) == (48, 11)
        probes, first = full
        return probes[:, :4], np.minimum(first, 4)  # 4 attempts: most bins run past it

    monkeypatch.setattr(dhash, "_probe_table", short_table)
    rng = np.random.default_rng(3)
    sig = rng.integers(0, 2**63, size=(12, 48), dtype=np.int64).astype(np.uint64)
    for r in range(12):
        sig[r, rng.permutation(48)[r + 1:]] = MAX
    expected = _densify_reference(sig, 11)
    dhash._densify(sig, 11)
    assert np.array_equal(sig, expected)


@pytest.mark.parametrize("method", ["oph", "kperm"])
def test_minhash_packed_equals_minhash_of_the_sets(method: Method) -> None:
    rng = np.random.default_rng(3)
    sets = [rng.integers(0, 1 << 63, size=n, dtype=np.uint64) for n in (0, 1, 7, 0, 300, 2)]
    sizes = np.array([len(s) for s in sets], dtype=np.int64)
    packed = minhash_packed(np.concatenate(sets), sizes, 48, 5, method=method)
    assert np.array_equal(packed, minhash(sets, 48, 5, method=method))
    with pytest.raises(ValueError, match="add up to"):
        minhash_packed(np.concatenate(sets), sizes[:-1], 48, 5, method=method)
