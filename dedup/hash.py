"""MinHash signatures of uint64 hash sets, and the public ``signatures`` of raw texts.

Two ways to sketch a set into ``k`` values sit behind :func:`minhash` (``method``):

- ``"oph"`` (default; for documents): one-permutation hashing with optimal densification
  (Shrivastava 2017). Each element is mixed once and falls into one of ``k`` bins by the
  top bits of its mixed value; a bin keeps its minimum. An empty bin copies the first
  filled bin among its probes, a fixed hash of (bin, attempt) shared by every set, so equal
  values still mean "same minimum element". One hash per element instead of ``k``.
- ``"kperm"`` (for sentences and other tiny sets): classic MinHash with ``k`` affine
  permutations ``a*h+b mod 2**64`` of the mixed value (datasketch's ``affine64`` scheme).

Measured trade-off (mean |estimate - J| over 2,000-5,000 pairs of random sets with known
Jaccard 0.1-0.9; binomial expectation in brackets): 500-700 elements, k=128: oph 0.0296,
kperm 0.0305 [0.0309]; 100-200 elements, k=128: oph 0.0277, kperm 0.0310; 20-60 elements,
k=48: oph 0.0485, kperm 0.0500; 5-20 elements, k=48: oph 0.0543, kperm 0.0494 [0.0499].
OPH samples bins without replacement, so it beats kperm once most bins are filled; on tiny
sets the densified copies repeat the few filled bins (and make LSH bands dependent).
Speed, one core of the shared 2-core dev machine, same process and documents for all
(``bench/bench_signatures.py``, 2026-12-01): raw ~665-word news text to 128 values, oph with
the compiled core 52 us per document (19,050 docs/s; 32.7-34.9x datasketch ``update_batch``
and 10.0-10.4x rensa ``RMinHash`` fed Python-made 5-grams, within interleaved rounds); with the
NumPy path 40-69 us on an idle machine on 2026-11-23 (17.9-24.3x and 4.7-5.6x); kperm 472 us
with NumPy, 94 us with the compiled core (2026-12-03, 10,618 docs/s; 48-value sentence
signatures: compiled 2.8x the NumPy path in the same run).

Every hash is deterministic: integer arithmetic mod 2**64 and xxh3 with fixed seeds, never
Python's ``hash()``. An empty set gives a row of the maximum value (the datasketch
convention), which compares equal to other empty rows.
"""

from __future__ import annotations

import functools
import itertools
import mmap
import multiprocessing
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt
import xxhash

from dedup.shingle import mix64, shingle_batches, splitmix64

try:
    from dedup import _core
except ImportError:  # built without a C compiler: the NumPy path computes the same values
    _core = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from datasketch import LeanMinHash

__all__ = [
    "estimate_jaccard",
    "from_lean_minhash",
    "hash_token",
    "hash_tokens",
    "minhash",
    "minhash_packed",
    "signatures",
    "to_lean_minhash",
]

U64 = npt.NDArray[np.uint64]
Method = Literal["oph", "kperm"]

_MAX = np.uint64((1 << 64) - 1)
_CHUNK = 4096  # documents per task when signatures() runs in several processes
_CACHE_LIMIT = 1 << 20  # tokens kept per seed by hash_tokens()
_token_cache: dict[int, dict[str, int]] = {}


def hash_tokens(items: Sequence[str], seed: int) -> U64:
    """Return the xxh3_64 hash (UTF-8, seeded) of each string, as uint64.

    Args:
        items: Strings to hash, e.g. the content-word stems of a sentence.
        seed: xxh3 seed.
    """
    cache = _token_cache.setdefault(seed, {})
    if len(cache) > _CACHE_LIMIT:
        cache.clear()
    values = list(map(cache.get, items))  # C-level passes: 300 against 470 ns per item
    if None in values:
        for i, item in enumerate(items):
            if values[i] is None:
                cache[item] = values[i] = hash_token(item, seed)
    return np.fromiter(values, dtype=np.uint64, count=len(values))


def hash_token(item: str, seed: int) -> int:
    """Return the xxh3_64 hash (UTF-8, seeded) of one string, as :func:`hash_tokens` does."""
    return xxhash.xxh3_64_intdigest(item.encode("utf-8", "surrogatepass"),
                                    seed & 0xFFFFFFFFFFFFFFFF)


@functools.lru_cache(maxsize=64)
def _mix_key(seed: int) -> np.uint64:
    """Return the key xored into every element before mixing, for ``seed``."""
    return np.uint64(splitmix64(seed ^ 0x4D494E48415348, 1)[0])  # "MINHASH"


@functools.lru_cache(maxsize=64)
def _permutations(num_perm: int, seed: int) -> tuple[U64, U64]:
    """Return the odd multipliers and the offsets of ``num_perm`` affine permutations."""
    values = splitmix64(seed ^ 0x4B5045524D, 2 * num_perm)  # "KPERM"
    a = np.array([v | 1 for v in values[:num_perm]], dtype=np.uint64)
    return a, np.array(values[num_perm:], dtype=np.uint64)


def _bins(mixed: U64, num_perm: int) -> npt.NDArray[np.intp]:
    """Return the bin of each mixed value: monotone in the value, uniform over ``num_perm``."""
    return (((mixed >> np.uint64(32)) * np.uint64(num_perm)) >> np.uint64(32)).astype(np.intp)


def _probe(bins: npt.NDArray[np.intp], attempt: npt.NDArray[np.intp], num_perm: int,
           seed: int) -> npt.NDArray[np.intp]:
    """Return the bin that empty bin ``bins`` probes at ``attempt`` (1, 2, ...)."""
    mixed = bins.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + attempt.astype(np.uint64)
    return _bins(mix64(mixed ^ _dense_key(seed)), num_perm)


@functools.lru_cache(maxsize=64)
def _dense_key(seed: int) -> np.uint64:
    """Return the key of the densification probes for ``seed``."""
    return np.uint64(splitmix64(seed ^ 0x44454E5345, 1)[0])  # "DENSE"


@functools.lru_cache(maxsize=16)
def _probe_table(num_perm: int, seed: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Return the probe table of every bin and the first attempt that reaches each target.

    ``probes[i, t]`` is the bin that bin ``i`` probes at attempt ``t + 1``; ``first[i, j]`` is
    the smallest ``t`` with ``probes[i, t] == j``, or the table's width if there is none.
    """
    attempts = max(64, min(8 * num_perm, (1 << 21) // num_perm))
    bins = np.repeat(np.arange(num_perm, dtype=np.intp), attempts)
    tries = np.tile(np.arange(attempts, dtype=np.intp), num_perm)
    probes = _probe(bins, tries + 1, num_perm, seed)
    first = np.full((num_perm, num_perm), attempts, dtype=np.intp)
    np.minimum.at(first, (bins, probes), tries)
    return probes.reshape(num_perm, attempts), first


def _densify(sig: U64, seed: int) -> None:
    """Fill the empty bins of each non-empty row in place (optimal densification).

    Empty bin ``i`` takes the value of the first filled bin among its probes (a fixed hash of
    ``i`` and the attempt number), so equal sets densify equally. The probes are tabled: rows
    with few empty bins scan, per empty bin, the first attempt of each filled bin; rows with
    few filled bins take, per filled bin, that bin's first attempt from every bin.
    """
    num_perm = sig.shape[1]
    if _core is not None:  # the same, bin by bin in C
        probes = np.ascontiguousarray(_probe_table(num_perm, seed)[0], dtype=np.intp)
        _core.densify(sig, probes, int(_dense_key(seed)))
        return
    empty = sig == _MAX
    counts = empty.sum(axis=1)
    rows = np.flatnonzero((counts > 0) & (counts < num_perm))
    if not len(rows):
        return
    probes, first = _probe_table(num_perm, seed)
    attempts = probes.shape[1]
    block = max(1, (1 << 20) // num_perm)  # rows of a (rows, num_perm) temporary
    found_row, found_bin, found_try = [], [], []
    dense = rows[counts[rows] <= num_perm // 2]
    empty_row, empty_bin = np.nonzero(empty[dense])
    for lo in range(0, len(empty_row), block):
        r, b = dense[empty_row[lo:lo + block]], empty_bin[lo:lo + block]
        found_row.append(r)
        found_bin.append(b)
        found_try.append(np.where(empty[r], attempts, first[b]).min(axis=1))
    sparse = rows[counts[rows] > num_perm // 2]
    for lo in range(0, len(sparse), max(1, block // num_perm)):
        chunk = sparse[lo:lo + max(1, block // num_perm)]
        filled_row, filled_bin = np.nonzero(~empty[chunk])
        starts = np.flatnonzero(np.r_[True, filled_row[1:] != filled_row[:-1]])
        tries = np.minimum.reduceat(first[:, filled_bin].T, starts, axis=0)
        r, b = np.nonzero(empty[chunk])
        found_row.append(chunk[r])
        found_bin.append(b)
        found_try.append(tries[r, b])
    row, bin_, tried = (np.concatenate(x) for x in (found_row, found_bin, found_try))
    hit = tried < attempts
    sig[row[hit], bin_[hit]] = sig[row[hit], probes[bin_[hit], tried[hit]]]
    row, bin_ = row[~hit], bin_[~hit]
    attempt = attempts
    while len(row):  # beyond the table: rows with very few filled bins
        attempt += 1
        source = _probe(bin_, np.full(len(bin_), attempt), num_perm, seed)
        hit = ~empty[row, source]
        sig[row[hit], bin_[hit]] = sig[row[hit], source[hit]]
        row, bin_ = row[~hit], bin_[~hit]


def _oph(values: U64, offsets: npt.NDArray[np.intp], num_perm: int, seed: int) -> U64:
    rows = len(offsets) - 1
    sig = np.full((rows, num_perm), _MAX, dtype=np.uint64)
    if _core is not None:
        _core.oph(np.ascontiguousarray(values, dtype=np.uint64),
                  np.ascontiguousarray(offsets, dtype=np.intp), int(_mix_key(seed)), sig)
    else:
        mixed = mix64(values ^ _mix_key(seed))
        index = _bins(mixed, num_perm)
        index += np.repeat(np.arange(rows, dtype=np.intp) * num_perm, np.diff(offsets))
        np.minimum.at(sig.reshape(-1), index, mixed)
    _densify(sig, seed)
    return sig


def _kperm(values: U64, offsets: npt.NDArray[np.intp], num_perm: int, seed: int) -> U64:
    a, b = _permutations(num_perm, seed)
    rows = len(offsets) - 1
    sig = np.full((rows, num_perm), _MAX, dtype=np.uint64)
    if _core is not None:
        _core.kperm(np.ascontiguousarray(values, dtype=np.uint64),
                    np.ascontiguousarray(offsets, dtype=np.intp), int(_mix_key(seed)), a, b, sig)
        return sig
    filled = np.flatnonzero(np.diff(offsets) > 0)
    step = max(1, (1 << 16) // max(num_perm, 1))  # values per (values, num_perm) matrix
    mixed = mix64(values ^ _mix_key(seed))
    start = 0
    while start < len(filled):
        # Rows whose values fit one matrix of about step values (at least one row).
        stop = int(np.searchsorted(offsets[filled + 1], offsets[filled[start]] + step, "right"))
        stop = max(stop, start + 1)
        chunk = filled[start:stop]
        lo, hi = int(offsets[chunk[0]]), int(offsets[chunk[-1] + 1])
        permuted = mixed[lo:hi, None] * a + b
        sig[chunk] = np.minimum.reduceat(permuted, offsets[chunk] - lo, axis=0)
        start = stop
    return sig


def _signature_rows(values: U64, offsets: npt.NDArray[np.intp], num_perm: int, seed: int,
                    method: str) -> U64:
    if num_perm < 1:
        raise ValueError(f"num_perm must be at least 1, got {num_perm}")
    if method == "oph":
        return _oph(values, offsets, num_perm, seed)
    if method == "kperm":
        return _kperm(values, offsets, num_perm, seed)
    raise ValueError(f"method must be 'oph' or 'kperm', got {method!r}")


def minhash(sets: Sequence[npt.NDArray[Any]], num_perm: int, seed: int,
            method: Method = "oph") -> U64:
    """Return the MinHash signature of each set of uint64 hashes.

    Args:
        sets: Hash sets (repeats are harmless); any integer dtype is read as uint64.
        num_perm: Values per signature.
        seed: Seed of the permutations; signatures are only comparable for equal seeds
            and methods.
        method: ``"oph"`` (one permutation, densified) or ``"kperm"`` (classic); see the
            module docstring.

    Returns:
        Array of shape ``(len(sets), num_perm)``, dtype uint64; empty sets give rows of
        the maximum uint64.
    """
    sizes = np.fromiter((len(s) for s in sets), dtype=np.int64, count=len(sets))
    values = (np.concatenate([np.asarray(s).astype(np.uint64, copy=False) for s in sets])
              if len(sets) else np.zeros(0, dtype=np.uint64))
    return minhash_packed(values, sizes, num_perm, seed, method)


def minhash_packed(values: U64, sizes: npt.NDArray[np.int64], num_perm: int, seed: int,
                   method: Method = "oph") -> U64:
    """Return :func:`minhash` of sets given one after the other: ``sizes[i]`` values each.

    Spares splitting an array of many small sets (sentences) only to join it again.
    """
    offsets = np.zeros(len(sizes) + 1, dtype=np.intp)
    np.cumsum(sizes, out=offsets[1:])
    if offsets[-1] != len(values):
        raise ValueError(f"sizes add up to {offsets[-1]}, not to the {len(values)} values")
    return _signature_rows(np.asarray(values, dtype=np.uint64), offsets, num_perm, seed, method)


def _sign_chunk(texts: Sequence[str], num_perm: int, ngram: int, seed: int,
                method: str) -> U64:
    rows = [_signature_rows(values, offsets, num_perm, seed, method)
            for values, offsets in shingle_batches(texts, ngram, seed)]
    return np.concatenate(rows) if rows else np.zeros((0, num_perm), dtype=np.uint64)


def _sign_task(args: tuple[list[str], int, int, int, str]) -> U64:
    return _sign_chunk(*args)


_forked: tuple[Sequence[str], U64] | None = None  # texts and output of forked workers


def _sign_range(args: tuple[int, int, int, int, int, str]) -> int:
    start, stop, num_perm, ngram, seed, method = args
    assert _forked is not None, "set by _sign_forked before the fork"
    texts, out = _forked
    out[start:stop] = _sign_chunk(texts[start:stop], num_perm, ngram, seed, method)
    return stop - start


def _sign_forked(texts: Sequence[str], processes: int, num_perm: int, ngram: int, seed: int,
                 method: str) -> U64:
    """Sign ``texts`` in forked workers that read them from inherited memory.

    Only index ranges go to the workers, and they write the signatures straight into a shared
    anonymous mapping, so nothing but counts comes back. Pickling the texts cost the parent
    0.7-1.2 s of CPU per 40,000 documents (161 MB) and each worker 36 ms per 4,096 documents
    to unpickle, against about 4 s of signing (/tmp/mp/measure.py, 2026-11-23). The parent
    builds the hash tables first so that no worker builds its own.
    """
    global _forked
    _sign_chunk(texts[:1], num_perm, ngram, seed, method)
    size = min(_CHUNK, -(-len(texts) // (8 * processes)))  # ~8 tasks a worker
    tasks = [(lo, min(lo + size, len(texts)), num_perm, ngram, seed, method)
             for lo in range(0, len(texts), size)]
    shared = mmap.mmap(-1, max(1, len(texts) * num_perm * 8))  # MAP_SHARED, survives fork
    out = np.frombuffer(shared, dtype=np.uint64, count=len(texts) * num_perm)
    out = out.reshape(len(texts), num_perm)
    _forked = (texts, out)
    try:
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            done = sum(pool.imap_unordered(_sign_range, tasks))
    finally:
        _forked = None
    if done != len(texts):
        raise RuntimeError(f"forked workers signed {done} of {len(texts)} texts")
    return out.copy()


def _start_method() -> str:
    """``fork`` where it is available and safe (no other thread alive), else ``spawn``.

    A spawned worker re-imports NumPy and dedup, about a second each, which ate the whole gain
    of a second core: on 20,000 ~650-word documents with the other core busy, one process took
    4.88 s, two spawned 4.59 s, two forked 3.41 s (/tmp/mp.py, 2026-11-23).
    """
    forkable = "fork" in multiprocessing.get_all_start_methods()
    return "fork" if forkable and threading.active_count() == 1 else "spawn"


def _chunks(texts: Iterable[str], size: int) -> Iterator[list[str]]:
    iterator = iter(texts)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def signatures(texts: Iterable[str], *, num_perm: int = 128, ngram: int = 5, seed: int = 1,
               dtype: npt.DTypeLike = np.uint64, method: Method = "oph",
               processes: int = 1) -> npt.NDArray[np.unsignedinteger[Any]]:
    """Return the MinHash signatures of raw texts (word ``ngram`` shingles).

    Equal to ``minhash([shingle_hashes(t, ngram, seed) for t in texts], num_perm, seed,
    method)``, computed a batch of documents per NumPy call.

    Args:
        texts: Raw texts, consumed once, in order.
        num_perm: Values per signature.
        ngram: Tokens per shingle (characters for CJK text).
        seed: Seed of every hash; signatures are only comparable for equal seeds.
        dtype: ``uint64``, or ``uint32`` to keep the low 32 bits of each value (half the
            memory; empty rows stay at the maximum value).
        method: ``"oph"`` or ``"kperm"`` (see the module docstring).
        processes: Worker processes; above 1, chunks of texts are signed in a
            ``multiprocessing`` pool and returned in input order. A list or tuple of more
            than 4,096 texts is read by forked workers from inherited memory where
            ``fork`` is safe; other inputs are sent to the workers in pickled chunks.

    Returns:
        Array of shape ``(number of texts, num_perm)``.
    """
    out_type = np.dtype(dtype)
    if out_type not in (np.dtype(np.uint64), np.dtype(np.uint32)):
        raise ValueError(f"dtype must be uint64 or uint32, got {out_type}")
    if processes < 1:
        raise ValueError(f"processes must be at least 1, got {processes}")
    if (processes > 1 and isinstance(texts, (list, tuple)) and len(texts) > _CHUNK
            and _start_method() == "fork"):
        sig = _sign_forked(texts, processes, num_perm, ngram, seed, method)
    else:
        chunks = _chunks(texts, _CHUNK if processes > 1 else 1 << 62)
        first = next(chunks, [])
        second = next(chunks, None)
        if second is None:  # one chunk: starting workers would cost more than they save
            sig = _sign_chunk(first, num_perm, ngram, seed, method)
        else:
            tasks = ((chunk, num_perm, ngram, seed, method)
                     for chunk in itertools.chain([first, second], chunks))
            with multiprocessing.get_context(_start_method()).Pool(processes) as pool:
                sig = np.concatenate(list(pool.imap(_sign_task, tasks)))
    if out_type == np.dtype(np.uint32):
        return sig.astype(np.uint32)  # keeps the low 32 bits; the maximum stays the maximum
    return sig


def estimate_jaccard(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> float:
    """Return the share of equal values of two signatures (their Jaccard estimate)."""
    if a.shape != b.shape:
        raise ValueError(f"signatures differ in shape: {a.shape} and {b.shape}")
    if not a.size:
        raise ValueError("empty signatures have no estimate")
    return float(np.count_nonzero(a == b)) / a.size


def to_lean_minhash(sig: npt.NDArray[Any], seed: int) -> LeanMinHash:
    """Wrap one signature as a datasketch ``LeanMinHash`` (for its indexes and storage).

    The datasketch scheme is ``affine64`` for uint64 values and ``affine32`` for uint32:
    it only names the value width; never mix these with sketches datasketch computed.
    """
    from datasketch import LeanMinHash  # imported here: it takes a second to import

    values = np.asarray(sig)
    if values.ndim != 1:
        raise ValueError(f"expected one signature (1-D), got shape {values.shape}")
    if values.dtype == np.uint64:
        return LeanMinHash(seed=seed, hashvalues=values, scheme="affine64")
    if values.dtype == np.uint32:
        return LeanMinHash(seed=seed, hashvalues=values, scheme="affine32")
    raise ValueError(f"signature dtype must be uint64 or uint32, got {values.dtype}")


def from_lean_minhash(m: LeanMinHash) -> npt.NDArray[np.unsignedinteger[Any]]:
    """Return the signature values of a datasketch MinHash or LeanMinHash (a copy)."""
    return np.array(m.hashvalues, copy=True)
