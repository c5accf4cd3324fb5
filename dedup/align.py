"""Align stage: match sentences of two documents and merge the matches into passages.

Each sentence of one side is compared with every sentence of the other side and with every pair
of adjacent sentences there (a rewrite often splits or joins sentences). Two units align when
their weighted Jaccard similarity of content terms reaches ``align_threshold`` and they share at
least ``min_shared_words`` terms. Matches found in either direction whose sentences are adjacent
on both sides merge into one passage, scored by the mean similarity of its matches.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dedup.config import Config

try:
    from dedup import _align
except ImportError:  # built without a C compiler: _units computes the same arrays
    _align = None  # type: ignore[assignment]

__all__ = ["Alignment", "Passage", "Sentence", "SentenceTable", "TableView", "align"]


@dataclass(frozen=True)
class Sentence:
    """A sentence span: character offsets into the original text."""

    start: int
    end: int


@dataclass(frozen=True)
class Passage:
    """Aligned passages: character spans into the original texts of both documents."""

    a: tuple[int, int]
    b: tuple[int, int]
    score: float


@dataclass(frozen=True)
class Alignment:
    """The outcome of aligning two documents.

    Attributes:
        passages: Merged aligned passages, in order of their position in ``a``.
        aligned: Sentences aligned, counted on the side where fewer of them aligned (a
            sentence matched twice on the other side, or split in two, counts once).
        coverage: Weighted share of content aligned, on the side where it is larger.
        weight: Rarity weight of the terms the aligned sentences share, on the side where it
            is larger: about 4 to 7 per rare word, so 55 is a dozen rare shared words.
    """

    passages: tuple[Passage, ...]
    aligned: int
    coverage: float
    weight: float


@dataclass(frozen=True, eq=False)
class SentenceTable:
    """A document's sentences as arrays, built once so that aligning a pair is a NumPy join.

    Units are the sentences (numbered ``0..n-1``) followed by each adjacent pair of sentences
    (unit ``n + j`` spans sentences ``j`` and ``j + 1``: the terms of ``j``, then those of
    ``j + 1`` not in ``j``; a term in both weighs as in ``j + 1``, as ``{**a, **b}`` of their
    term dicts would). Terms are identified by their hash: xxh3 hashes with the
    configured seed, stable across processes, so tables built on different machines can be
    compared, and the sentence-level LSH signs the same hashes
    (:func:`dedup.engine.level_keys`).

    Attributes:
        sentences: The sentences.
        sizes: Content terms per sentence.
        mass: Total term weight per unit.
        spans: ``(first sentence, end sentence)`` per unit.
        entry_sentence: Sentence of each (sentence, term) entry.
        entry_term: Term hash of each entry.
        entry_weight: Term weight of each entry.
        unit_term: Term hashes of every unit's terms, sorted.
        unit_of: The unit of each ``unit_term``.
    """

    sentences: tuple[Sentence, ...]
    sizes: np.ndarray
    mass: np.ndarray
    spans: np.ndarray
    entry_sentence: np.ndarray
    entry_term: np.ndarray
    entry_weight: np.ndarray
    unit_term: np.ndarray
    unit_of: np.ndarray

    @classmethod
    def build(cls, spans: Sequence[tuple[int, int]], entry_term: np.ndarray,
              entry_weight: np.ndarray, sizes: np.ndarray) -> SentenceTable:
        """Index the sentences of one document from their hashed content terms.

        Args:
            spans: ``(start, end)`` of each sentence.
            entry_term: Term hashes of all sentences, one sentence after the other
                (:func:`dedup.normalize.sentence_terms`).
            entry_weight: The weight of each term.
            sizes: Terms per sentence (int64).

        The mass and unit index come from ``dedup/_align.c`` when it is built, else from
        :func:`_units`; both give equal arrays.
        """
        n = len(sizes)
        if _align is None:
            mass, unit_term, unit_of = _units(entry_term, entry_weight, sizes)
        else:
            entry_term = np.ascontiguousarray(entry_term, dtype=np.uint64)
            entry_weight = np.ascontiguousarray(entry_weight, dtype=np.float64)
            sizes = np.ascontiguousarray(sizes, dtype=np.int64)
            mass = np.empty(n + max(n - 1, 0), dtype=np.float64)
            unit_term = np.empty(3 * len(entry_term), dtype=np.uint64)
            unit_of = np.empty(3 * len(entry_term), dtype=np.int64)
            count = _align.units(entry_term, entry_weight, sizes, mass, unit_term, unit_of)
            unit_term, unit_of = unit_term[:count], unit_of[:count]
        return cls(
            sentences=tuple(Sentence(start, end) for start, end in spans),
            sizes=sizes,
            mass=mass,
            spans=_unit_spans(n),
            entry_sentence=np.repeat(np.arange(n, dtype=np.int64), sizes),
            entry_term=entry_term,
            entry_weight=entry_weight,
            unit_term=unit_term,
            unit_of=unit_of,
        )

    @property
    def exact_units(self) -> bool:
        """Whether no unit holds one term hash twice (two terms of a unit colliding in xxh3).

        :func:`dedup.verify.screen` bounds shared weight by set membership, which is exact
        only then; a table where it fails is always aligned in full.
        """
        same = (self.unit_term[1:] == self.unit_term[:-1]) & (self.unit_of[1:] == self.unit_of[:-1])
        return not bool(same.any())

    def to_bytes(self) -> bytes:
        """Serialise the table compactly; :meth:`from_bytes` rebuilds an equal one.

        Stored: a 16-byte header, then the entry terms (uint64) and weights (float64), the
        mass of every unit (float64), the terms per sentence and the sentence spans (uint32,
        or int64 past 4 GiB). The unit index (``unit_term``, ``unit_of``) and unit spans are
        derived again on load, as :meth:`build` derives them.

        Raises:
            ValueError: When the table is not laid out as :meth:`build` lays it out.
        """
        n = len(self.sizes)
        sizes = self.sizes.astype(np.int64)
        if (not np.array_equal(self.entry_sentence, np.repeat(np.arange(n), sizes))
                or not np.array_equal(self.spans, _unit_spans(n))
                or len(self.sentences) != n or len(self.unit_term) != len(self.unit_of)):
            raise ValueError("not a SentenceTable laid out by SentenceTable.build")
        spans = np.array([(s.start, s.end) for s in self.sentences], dtype=np.int64).ravel()
        wide = bool(len(spans)) and int(spans.max()) >= 1 << 32
        flags = (_WIDE if wide else 0) | (_EXACT if self.exact_units else 0)
        return b"".join([
            _TABLE_HEAD.pack(n, len(self.entry_term), len(self.unit_term), flags),
            self.entry_term.astype("<u8").tobytes(),
            self.entry_weight.astype("<f8").tobytes(),
            self.mass.astype("<f8").tobytes(),
            sizes.astype("<u4").tobytes(),
            spans.astype("<i8" if wide else "<u4").tobytes(),
        ])

    @classmethod
    def from_bytes(cls, data: bytes | memoryview, offset: int = 0) -> SentenceTable:
        """Rebuild a table from :meth:`to_bytes` output starting at ``offset``."""
        view = TableView.from_bytes(data, offset)
        bounds = view.sentence_spans.tolist()
        spans = [(bounds[2 * i], bounds[2 * i + 1]) for i in range(len(view.sizes))]
        return cls.build(spans, view.entry_term, view.entry_weight, view.sizes)


_TABLE_HEAD = struct.Struct("<IIII")  # sentences, entries, unit index entries, flags
_OLD_UNITS, _WIDE, _EXACT = 1, 2, 4  # _OLD_UNITS: a unit index stored by dedup before 2026-12-03


@dataclass(frozen=True, eq=False)
class TableView:
    """The arrays of a serialised :class:`SentenceTable`, read in place without rebuilding it.

    Attributes:
        sizes: Content terms per sentence (int64).
        mass: Total term weight per unit.
        entry_term: Term hash of each (sentence, term) entry.
        entry_weight: Term weight of each entry.
        exact_units: :attr:`SentenceTable.exact_units` of the table.
        sentence_spans: ``start, end`` of each sentence, flattened.
        nbytes: Length of the serialised table.
    """

    sizes: np.ndarray
    mass: np.ndarray
    entry_term: np.ndarray
    entry_weight: np.ndarray
    exact_units: bool
    sentence_spans: np.ndarray
    nbytes: int

    @classmethod
    def from_bytes(cls, data: bytes | memoryview, offset: int = 0) -> TableView:
        """Read the arrays of :meth:`SentenceTable.to_bytes` output at ``offset``.

        Raises:
            ValueError: For a table that stored its unit index, as dedup did before 2026-12-03
                when two terms of adjacent sentences shared a hash; it is not read.
        """
        n, entries, _, flags = _TABLE_HEAD.unpack_from(data, offset)
        if flags & _OLD_UNITS:
            raise ValueError("a sentence table with a stored unit index (an older layout)")
        at = offset + _TABLE_HEAD.size

        def take(dtype: str, count: int) -> np.ndarray:
            nonlocal at
            arr = np.frombuffer(data, dtype=dtype, count=count, offset=at)
            at += arr.nbytes
            return arr

        entry_term = take("<u8", entries)
        entry_weight = take("<f8", entries)
        mass = take("<f8", n + max(n - 1, 0))
        sizes = take("<u4", n).astype(np.int64)
        spans = take("<i8" if flags & _WIDE else "<u4", 2 * n)
        return cls(sizes, mass, entry_term, entry_weight, bool(flags & _EXACT), spans,
                   at - offset)


@functools.lru_cache(maxsize=256)
def _unit_spans(n: int) -> np.ndarray:
    """``(first sentence, end sentence)`` of the units of ``n`` sentences, as :meth:`build`.

    Cached and shared by every table of ``n`` sentences, so read-only.
    """
    first = np.concatenate([np.arange(n), np.arange(max(n - 1, 0))]).astype(np.int64)
    width = np.concatenate([np.ones(n, dtype=np.int64), np.full(max(n - 1, 0), 2, np.int64)])
    spans = np.stack([first, first + width], axis=1).reshape(-1, 2)
    spans.flags.writeable = False
    return spans


def _units(entry_term: np.ndarray, entry_weight: np.ndarray,
           sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the mass of every unit and the unit index (terms sorted stably, their units).

    The NumPy path of ``dedup/_align.c``, which computes the same arrays.
    """
    n = len(sizes)
    sent = np.repeat(np.arange(n, dtype=np.int64), sizes)
    pair_unit, pair_entry, pair_weight = _pair_entries(entry_term, sizes)
    terms = np.concatenate([entry_term, entry_term[pair_entry]])
    units = np.concatenate([sent, pair_unit])
    order = np.argsort(terms, kind="stable")
    # bincount adds each unit's weights in order from zero, as sum() over a dict does.
    mass = np.concatenate([
        np.bincount(sent, weights=entry_weight, minlength=n),
        np.bincount(pair_unit - n, weights=entry_weight[pair_weight], minlength=max(n - 1, 0)),
    ]).astype(np.float64, copy=False)
    return mass, terms[order], units[order]


def _pair_entries(entry_term: np.ndarray,
                  sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the entries of the pair units, in unit order, as :meth:`SentenceTable.build`.

    Pair unit ``n + j`` holds the entries of sentence ``j``, then those of ``j + 1`` whose
    term (hash) is not in ``j``.

    Returns:
        The unit of each, the entry it is, and the entry whose weight it takes: for a term of
        ``j`` also in ``j + 1``, that of ``j + 1``; else itself.
    """
    n = len(sizes)
    sent = np.repeat(np.arange(n, dtype=np.int64), sizes)
    # Entries are in sentence order, so a stable sort by hash orders them by (hash, sentence)
    # and a term of sentence s that is also in s + 1 sits right before it.
    by_term = np.argsort(entry_term, kind="stable")
    term_sorted, sent_sorted = entry_term[by_term], sent[by_term]
    link = (term_sorted[1:] == term_sorted[:-1]) & (sent_sorted[1:] == sent_sorted[:-1] + 1)
    earlier, later = by_term[:-1][link], by_term[1:][link]
    in_next = np.arange(len(sent))
    in_next[earlier] = later
    seen = np.zeros(len(sent), dtype=bool)
    seen[later] = True
    left = np.flatnonzero(sent < n - 1)
    right = np.flatnonzero((sent > 0) & ~seen)
    unit = np.concatenate([n + sent[left], n + sent[right] - 1])
    in_unit = np.argsort(unit, kind="stable")  # sentence j's entries first, as in the dict
    return (unit[in_unit], np.concatenate([left, right])[in_unit],
            np.concatenate([in_next[left], right])[in_unit])


def _one_way(
    xs: SentenceTable, ys: SentenceTable, config: Config
) -> tuple[list[tuple[int, int, int, float]], float, float]:
    """Match each eligible sentence of ``xs`` to its best unit of ``ys``.

    Only units sharing at least ``min_shared_words`` terms are scored. A term's weight depends
    on the term alone, so the weighted Jaccard of a sentence ``x`` and a unit ``u`` is
    ``s / (w(x) + w(u) - s)`` where ``s`` is the weight of the terms they share. Ties go to
    the earliest unit (single sentences before pairs).

    Returns:
        The matches as (sentence, unit start, unit end, similarity), the weighted share of
        ``xs`` matched, and the weight of the terms the matches share.
    """
    eligible = xs.sizes >= config.min_sentence_words
    total = float(xs.mass[: len(xs.sizes)][eligible].sum())
    lo = np.searchsorted(ys.unit_term, xs.entry_term, side="left")
    count = np.searchsorted(ys.unit_term, xs.entry_term, side="right") - lo
    joined = int(count.sum())
    if not joined or not total:
        return [], 0.0, 0.0
    first = np.repeat(lo - (np.cumsum(count) - count), count) + np.arange(joined)
    n_units = len(ys.mass)
    keys, inverse = np.unique(
        np.repeat(xs.entry_sentence, count) * n_units + ys.unit_of[first], return_inverse=True
    )
    shared = np.bincount(inverse, weights=np.repeat(xs.entry_weight, count))
    number = np.bincount(inverse)
    rows, units = keys // n_units, keys % n_units
    score = shared / (xs.mass[rows] + ys.mass[units] - shared)
    keep = ((number >= config.min_shared_words) & eligible[rows]
            & (score >= config.align_threshold))
    rows, units, score, shared = rows[keep], units[keep], score[keep], shared[keep]
    order = np.lexsort((units, -score, rows))
    rows, units, score, shared = rows[order], units[order], score[order], shared[order]
    best = np.ones(len(rows), dtype=bool)
    best[1:] = rows[1:] != rows[:-1]
    matches = [
        (int(i), int(ys.spans[u, 0]), int(ys.spans[u, 1]), float(s))
        for i, u, s in zip(rows[best], units[best], score[best], strict=True)
    ]
    hit = float(xs.mass[rows[best]].sum())
    return matches, hit / total, float(shared[best].sum())


def _merge(
    pairs: list[tuple[tuple[int, int], tuple[int, int], float]],
    a: Sequence[Sentence],
    b: Sequence[Sentence],
) -> tuple[Passage, ...]:
    """Merge matches that touch or overlap on both sides (one sentence of gap allowed)."""
    groups: list[tuple[list[int], list[int], list[float]]] = []
    for (a0, a1), (b0, b1), score in sorted(pairs):
        if groups:
            ga, gb, scores = groups[-1]
            if a0 <= ga[1] + 1 and gb[0] - 1 <= b0 <= gb[1] + 1:
                ga[1], gb[0], gb[1] = max(ga[1], a1), min(gb[0], b0), max(gb[1], b1)
                scores.append(score)
                continue
        groups.append(([a0, a1], [b0, b1], [score]))
    return tuple(
        Passage(
            a=(a[ga[0]].start, a[ga[1] - 1].end),
            b=(b[gb[0]].start, b[gb[1] - 1].end),
            score=round(sum(scores) / len(scores), 4),
        )
        for ga, gb, scores in groups
    )


def align(a: SentenceTable, b: SentenceTable, config: Config) -> Alignment:
    """Align the sentences of two documents.

    Args:
        a: Sentence table of the first document.
        b: Sentence table of the second document.
        config: Thresholds (``align_threshold``, ``min_shared_words``, ``min_sentence_words``).

    Returns:
        The aligned passages with the count and coverage the pair decision weighs.
    """
    ab, cov_a, shared_a = _one_way(a, b, config)
    ba, cov_b, shared_b = _one_way(b, a, config)
    pairs = [((i, i + 1), (j0, j1), s) for i, j0, j1, s in ab]
    pairs += [((i0, i1), (j, j + 1), s) for j, i0, i1, s in ba]
    return Alignment(
        passages=_merge(pairs, a.sentences, b.sentences),
        aligned=min(len(ab), len(ba)),
        coverage=round(max(cov_a, cov_b), 4),
        weight=round(max(shared_a, shared_b), 2),
    )
