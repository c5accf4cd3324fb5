"""The local engine: the pipeline as a list of timed verbs over documents held in memory.

read -> profile (normalize, segment, shingle) -> sign (hash) -> candidates (index) ->
verify (+ align) -> cluster. :func:`run` returns a :class:`Result` that the report stage turns
into records; every intermediate is an attribute you can inspect.
"""

from __future__ import annotations

import functools
import gc
import itertools
import os
import tempfile
import time
from array import array
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple, Protocol

import numpy as np

from dedup.cluster import components
from dedup.config import Config
from dedup.hash import minhash, minhash_packed
from dedup.index import LSHIndex, band_keys, unique_pairs
from dedup.params import optimal_params
from dedup.read import Document
from dedup.verify import Evidence, Profile, ProfileView, decide, profiles, screen
from dedup.workers import CAN_FORK, batches, process_map

__all__ = [
    "Blobs", "LevelKeys", "ProfileFile", "Result", "candidate_pairs", "decided", "level_keys",
    "order", "profiled", "run",
]

Progress = Callable[[Iterable[Any], str, int], Iterable[Any]]
_PROFILE_CHUNK = 2000  # documents profiled at once before their profiles are serialised
_VERIFY_CHUNK = 20_000  # candidate pairs decided per task when several processes verify
_VIEWS = 1 << 16  # screening views kept by decided(), ~15 KB each for a ~600-word article


def _no_progress(items: Iterable[Any], _label: str, _total: int) -> Iterable[Any]:
    return items


@dataclass
class Result:
    """Everything one run produced.

    Attributes:
        docs: Documents in rank order (earliest date first, then first seen).
        candidates: Candidate pairs (indices into ``docs``) from both LSH levels, as rows
            ``(i, j)``, ``i < j``, sorted and unique (int64, shape ``(pairs, 2)``).
        evidence: Evidence of every related pair, ``a`` earlier than ``b``.
        clusters: Connected components of related pairs, singletons included.
        oversized: LSH buckets too large to pair, as (level, band, size).
        timings: Seconds spent in each verb.
    """

    docs: list[Document]
    candidates: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))
    evidence: list[Evidence] = field(default_factory=list)
    clusters: list[list[int]] = field(default_factory=list)
    oversized: list[tuple[str, int, int]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def cluster_records(self, singletons: bool = False) -> Iterator[dict[str, Any]]:
        """Yield ``dedup cluster`` records: one per cluster of two or more documents.

        Records are made one at a time as they are written: on a 100k crawl with clusters of
        ~130 copies, building them all first lifted the resident size from 6.6 GB (late in
        verification) to a peak of 20.5 GB (2026-11-23).
        """
        by_doc: dict[str, list[Evidence]] = {}
        for ev in self.evidence:
            by_doc.setdefault(ev.a, []).append(ev)
        number = 0
        for group in self.clusters:
            if len(group) < 2 and not singletons:
                continue
            ids = [self.docs[i].id for i in group]
            pairs = [ev.to_dict() for i in ids for ev in by_doc.get(i, [])]
            yield {"cluster": number, "representative": ids[0], "members": ids, "pairs": pairs}
            number += 1

    def pair_records(self) -> Iterator[dict[str, Any]]:
        """Yield ``dedup pairs`` records: one per verified pair."""
        return (ev.to_dict() for ev in self.evidence)


@contextmanager
def _timed(timings: dict[str, float], verb: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    timings[verb] = round(timings.get(verb, 0.0) + time.perf_counter() - start, 4)


def order(docs: Iterable[Document]) -> list[Document]:
    """Sort documents into rank order: earliest date first, undated last, ties by arrival."""
    indexed = list(enumerate(docs))
    indexed.sort(key=lambda item: (item[1].date is None, item[1].date or "", item[0]))
    return [doc for _, doc in indexed]


class LevelKeys(NamedTuple):
    """LSH band keys of one level: row ``i`` of ``keys`` belongs to document ``owners[i]``."""

    level: str
    keys: np.ndarray
    owners: np.ndarray
    bands: int
    rows: int


def level_keys(profs: Sequence[Profile], config: Config) -> list[LevelKeys]:
    """Band keys at both LSH levels: document shingle sets, then content-word sentences.

    The local engine and the persistent index (:mod:`dedup.store`) both file documents under
    these keys, so they find the same candidates. A sentence takes part when it has at least
    ``config.min_sentence_words`` content terms; the sentence level is left out when none does.
    A document without a single token has no shingles and takes no part at the document level
    (its all-maximum signature would collide with every other empty one).
    """
    signed = np.array([n for n, p in enumerate(profs) if len(p.shingles)], dtype=np.int64)
    doc_sigs = minhash([profs[n].shingles for n in signed], config.num_perm, config.seed)
    bands, rows = optimal_params(config.threshold, config.num_perm)
    levels = [LevelKeys("document", band_keys(doc_sigs, bands, rows), signed, bands, rows)]
    terms, sizes, owners = [], [], []  # of the sentences taking part
    for number, prof in enumerate(profs):
        table = prof.table  # terms hashed with config.seed by profiles()
        keep = table.sizes >= config.min_sentence_words
        terms.append(table.entry_term[np.repeat(keep, table.sizes)])
        sizes.append(table.sizes[keep])
        owners.append(np.full(len(sizes[-1]), number, dtype=np.int64))
    if profs and len(kept := np.concatenate(sizes)):
        sent_sigs = minhash_packed(np.concatenate(terms), kept, config.sentence_num_perm,
                                   config.seed, method="kperm")
        bands, rows = optimal_params(config.sentence_threshold, sent_sigs.shape[1])
        levels.append(LevelKeys("sentence", band_keys(sent_sigs, bands, rows),
                                np.concatenate(owners), bands, rows))
    return levels


class Blobs(Protocol):
    """Serialised profiles by document number: a ``list[bytes]`` or a :class:`ProfileFile`."""

    def __len__(self) -> int: ...

    def __getitem__(self, number: int, /) -> bytes: ...

    def extend(self, blobs: Iterable[bytes], /) -> None:
        """Append the profiles of the next documents."""


class ProfileFile:
    """Serialised profiles in an unlinked temporary file, read back one at a time.

    Profiles of ~600-word articles take ~13 KB each serialised; held in memory they were most
    of the local engine's ~30 KB per article (3 GB at 100,000, 2026-12-01). Here each costs 8
    bytes of memory and the OS page cache keeps what fits. The file is made in ``TMPDIR``
    (see :mod:`tempfile`) and disappears when closed or when the process ends.
    """

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()  # noqa: SIM115  # closed by __exit__
        self._ends = array("q", [0])  # end offset of each profile, after a leading 0

    def __enter__(self) -> ProfileFile:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._file.close()

    def __len__(self) -> int:
        return len(self._ends) - 1

    def __getitem__(self, number: int, /) -> bytes:
        start, end = self._ends[number], self._ends[number + 1]
        return os.pread(self._file.fileno(), end - start, start)

    def extend(self, blobs: Iterable[bytes], /) -> None:
        """Append profiles; they are readable at once."""
        blobs = list(blobs)
        self._file.write(b"".join(blobs))
        self._file.flush()
        self._ends.extend(itertools.accumulate(map(len, blobs), initial=self._ends[-1]))
        del self._ends[-len(blobs) - 1]  # the initial value, already the last end


def _profile_chunk(docs: list[Document], config: Config) -> tuple[list[bytes], list[LevelKeys]]:
    profs = profiles(docs, config)
    return [prof.to_bytes() for prof in profs], level_keys(profs, config)


def profiled(docs: list[Document], config: Config, blobs: Blobs, workers: int = 1,
             progress: Progress = _no_progress) -> list[LevelKeys]:
    """Profile documents a chunk at a time into ``blobs``; return the band keys.

    A profile in memory (arrays, sentence objects, term dicts) takes several times its
    :meth:`~dedup.verify.Profile.to_bytes` form: the engine keeps the bytes and rebuilds a
    profile only for the pairs it decides. Once profiled, a document's text is dropped from
    ``docs`` (it keeps its id, date and source): nothing reads it again, and at a million
    articles the texts are gigabytes. Signatures and band keys are computed per document, so
    the keys of chunks concatenated equal the keys of all documents at once, whichever
    process made them.
    """
    parts: dict[str, list[LevelKeys]] = {}
    bar = iter(progress(range(len(docs)), "profile", len(docs)))
    lo = 0
    made = process_map(functools.partial(_profile_chunk, config=config),
                       batches(docs, _PROFILE_CHUNK), workers)
    with closing(made):  # on Ctrl-C, the workers stop now, not at exit
        for chunk_blobs, levels in made:
            for level in levels:
                parts.setdefault(level.level, []).append(level._replace(owners=level.owners + lo))
            blobs.extend(chunk_blobs)
            hi = lo + len(chunk_blobs)
            docs[lo:hi] = [replace(doc, text="") for doc in docs[lo:hi]]
            deque(itertools.islice(bar, hi - lo), maxlen=0)  # moves the progress bar on
            lo = hi
    deque(bar, maxlen=0)
    return [LevelKeys(name, np.concatenate([part.keys for part in chunks]),
                      np.concatenate([part.owners for part in chunks]).astype(np.int64),
                      chunks[0].bands, chunks[0].rows) for name, chunks in parts.items()]


def candidate_pairs(levels: Sequence[LevelKeys], config: Config,
                    oversized: list[tuple[str, int, int]]) -> np.ndarray:
    """Candidate document pairs from document-level and sentence-level MinHash-LSH.

    Args:
        levels: Band keys of each level, from :func:`level_keys` or :func:`profiled`.
        config: Settings (``max_bucket``).
        oversized: Receives ``(level, band, size)`` of every bucket too large to pair.

    Returns:
        Rows ``(i, j)`` of document numbers, ``i < j``, sorted and unique: an int64 array,
        16 bytes a pair (the 10k crawl has 861,874 candidate pairs).
    """
    found = [np.zeros((0, 2), dtype=np.int64)]
    for level in levels:
        index = LSHIndex(level.bands, level.rows, config.max_bucket)
        index.add_many(np.arange(len(level.keys)), level.keys)
        pairs = np.asarray(level.owners, dtype=np.int64)[index.candidate_pairs()]
        found.append(pairs[pairs[:, 0] != pairs[:, 1]])
        oversized.extend((level.level, band, size) for band, size in index.oversized)
    pairs = np.concatenate(found)
    return unique_pairs(pairs.min(axis=1), pairs.max(axis=1))


class _Decider:
    """Decides slices of the candidate pairs; one per process, so its view cache persists."""

    def __init__(self, docs: Sequence[Document], blobs: Blobs, config: Config) -> None:
        self.docs, self.blobs, self.config = docs, blobs, config
        self.view = functools.lru_cache(maxsize=_VIEWS)(
            lambda j: ProfileView.from_bytes(self.blobs[j]))

    def decided(self, pairs: np.ndarray) -> Iterator[Evidence | None]:
        starts = np.flatnonzero(np.diff(pairs[:, 0], prepend=-1)).tolist() if len(pairs) else []
        for lo, hi in itertools.pairwise([*starts, len(pairs)]):
            i, js = int(pairs[lo, 0]), pairs[lo:hi, 1].tolist()
            first = Profile.from_bytes(self.docs[i], self.blobs[i])
            keeps = screen(first, list(map(self.view, js)), self.config).tolist()
            for j, keep in zip(js, keeps, strict=True):
                yield (decide(first, Profile.from_bytes(self.docs[j], self.blobs[j]), self.config)
                       if keep else None)


_decider: _Decider | None = None  # the worker process's own, set by _share()


def _share(docs: Sequence[Document], blobs: Blobs, config: Config) -> None:
    global _decider
    _decider = _Decider(docs, blobs, config)


def _decide_slice(pairs: np.ndarray) -> list[Evidence | None]:
    assert _decider is not None, "_share() sets up every worker"
    return list(_decider.decided(pairs))


def decided(docs: Sequence[Document], blobs: Blobs, pairs: np.ndarray, config: Config,
            workers: int = 1) -> Generator[Evidence | None, None, None]:
    """Decide every candidate pair in order; None for a pair the screen drops.

    Each document's candidates go through :func:`dedup.verify.screen` at once, an exact bound:
    a pair it drops is one :func:`decide` would call unrelated, so the evidence equals deciding
    every pair. Dropped pairs still yield (None), so that a progress bar counts them. Profiles
    are rebuilt from ``blobs`` only for the pairs that survive; the views the screen reads are
    kept for the ``_VIEWS`` documents used last.

    With ``workers`` > 1, slices of about ``_VERIFY_CHUNK`` pairs (ending where a document's
    pairs end) are decided by that many forked processes, which inherit ``docs`` and
    ``blobs`` (an open file) instead of receiving copies; where processes cannot fork, or
    there are few pairs, this one decides them all.
    """
    if workers == 1 or len(pairs) <= _VERIFY_CHUNK or not CAN_FORK:
        yield from _Decider(docs, blobs, config).decided(pairs)
        return
    starts = np.flatnonzero(np.diff(pairs[:, 0])) + 1  # rows where a document's pairs begin
    at = np.searchsorted(starts, np.arange(_VERIFY_CHUNK, len(pairs), _VERIFY_CHUNK))
    cuts = np.unique(starts[at[at < len(starts)]]).tolist()  # each a document's first pair
    bounds = itertools.pairwise([0, *cuts, len(pairs)])
    slices = (pairs[lo:hi] for lo, hi in bounds)
    for decisions in process_map(_decide_slice, slices, workers, share=(docs, blobs, config),
                                 setup=_share):
        yield from decisions


def run(docs: Iterable[Document], config: Config, progress: Progress = _no_progress,
        workers: int = 1) -> Result:
    """Run the whole pipeline on documents held in memory.

    Args:
        docs: Documents as read.
        config: Settings of every stage.
        progress: Wraps an iterable to show progress (label, total); identity by default.
        workers: Processes that profile the documents and decide the pairs (1: this one).

    Returns:
        The :class:`Result` of every verb.
    """
    timings: dict[str, float] = {}
    with _timed(timings, "order"):
        ranked = order(docs)
    result = Result(docs=ranked, timings=timings)
    with ProfileFile() as blobs:
        with _timed(timings, "profile"):
            levels = profiled(ranked, config, blobs, workers, progress)
            gc.freeze()
        with _timed(timings, "candidates"):
            result.candidates = candidate_pairs(levels, config, result.oversized)
            del levels
        with _timed(timings, "verify"):
            decisions = decided(ranked, blobs, result.candidates, config, workers)
            with closing(decisions):  # as in profiled()
                for evidence in progress(decisions, "verify", len(result.candidates)):
                    if evidence is not None and evidence.relation is not None:
                        result.evidence.append(evidence)
    with _timed(timings, "cluster"):
        index_of = {doc.id: n for n, doc in enumerate(ranked)}
        edges = [(index_of[ev.a], index_of[ev.b]) for ev in result.evidence]
        result.clusters = components(len(ranked), edges)
    gc.unfreeze()
    return result
