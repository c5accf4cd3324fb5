"""Align stage: match sentences of two documents and merge the matches into passages.

Each sentence of one side is compared with every sentence of the other side and with every pair
of adjacent sentences there (a rewrite often splits or joins sentences). Two units align when
their weighted Jaccard similarity of content terms reaches ``align_threshold`` and they share at
least ``min_shared_words`` terms. Matches found in either direction whose sentences are adjacent
on both sides merge into one passage, scored by the mean similarity of its matches.
"""

from __future__ import annotations

from dataclasses import dataclass

from dedup.config import Config

__all__ = ["Alignment", "Passage", "Sentence", "align"]


@dataclass(frozen=True)
class Sentence:
    """A sentence span with its weighted content terms."""

    start: int
    end: int
    terms: dict[str, float]


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


Shared = dict[int, dict[int, list[str]]]


def _shared(a: list[Sentence], b: list[Sentence]) -> tuple[Shared, Shared]:
    """The terms each sentence pair shares, indexed by ``a``'s sentence and by ``b``'s.

    One pass over an inverted index of ``b`` serves both directions of the alignment.
    """
    postings: dict[str, list[int]] = {}
    for j, y in enumerate(b):
        for term in y.terms:
            postings.setdefault(term, []).append(j)
    by_a: Shared = {}
    by_b: Shared = {}
    for i, x in enumerate(a):
        for term in x.terms:
            for j in postings.get(term, ()):
                by_a.setdefault(i, {}).setdefault(j, []).append(term)
                by_b.setdefault(j, {}).setdefault(i, []).append(term)
    return by_a, by_b


def _masses(sents: list[Sentence]) -> tuple[list[float], list[float]]:
    """Total weight of each sentence and of each adjacent pair of sentences."""
    mass = [sum(s.terms.values()) for s in sents]
    pair = [
        mass[j] + mass[j + 1] - sum(w for t, w in sents[j].terms.items() if t in sents[j + 1].terms)
        for j in range(len(sents) - 1)
    ]
    return mass, pair


def _one_way(
    xs: list[Sentence], ys: list[Sentence], shared: Shared, config: Config
) -> tuple[list[tuple[int, int, int, float]], float, float]:
    """Match each eligible sentence of ``xs`` to its best unit of ``ys``.

    A unit is one sentence of ``ys`` or two adjacent ones; only units sharing at least
    ``min_shared_words`` terms are scored. A term's weight depends on the term alone, so the
    weighted Jaccard of a sentence ``x`` and a unit ``u`` is ``s / (w(x) + w(u) - s)`` where
    ``s`` is the weight of the terms they share.

    Returns:
        The matches as (sentence, unit start, unit end, similarity), the weighted share of
        ``xs`` matched, and the weight of the terms the matches share.
    """
    mass_y, pair_y = _masses(ys)
    matches: list[tuple[int, int, int, float]] = []
    total = hit = shared_weight = 0.0
    for i, x in enumerate(xs):
        if len(x.terms) < config.min_sentence_words:
            continue
        mass = sum(x.terms.values())
        total += mass
        hits = shared.get(i, {})
        units = [(j, j + 1, hits[j]) for j in sorted(hits)
                 if len(hits[j]) >= config.min_shared_words]
        starts = {k for h in hits for k in (h - 1, h) if 0 <= k < len(ys) - 1}
        for j in sorted(starts):
            terms = list(dict.fromkeys(hits.get(j, []) + hits.get(j + 1, [])))
            if len(terms) >= config.min_shared_words:
                units.append((j, j + 2, terms))
        best, best_unit, best_shared = 0.0, (0, 0), 0.0
        for start, end, terms in units:
            inter = sum(x.terms[t] for t in terms)
            unit_mass = mass_y[start] if end == start + 1 else pair_y[start]
            score = inter / (mass + unit_mass - inter)
            if score > best:
                best, best_unit, best_shared = score, (start, end), inter
        if best >= config.align_threshold:
            hit += mass
            shared_weight += best_shared
            matches.append((i, *best_unit, best))
    return matches, (hit / total if total else 0.0), shared_weight


def _merge(
    pairs: list[tuple[tuple[int, int], tuple[int, int], float]],
    a: list[Sentence],
    b: list[Sentence],
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


def align(a: list[Sentence], b: list[Sentence], config: Config) -> Alignment:
    """Align the sentences of two documents.

    Args:
        a: Sentences of the first document.
        b: Sentences of the second document.
        config: Thresholds (``align_threshold``, ``min_shared_words``, ``min_sentence_words``).

    Returns:
        The aligned passages with the count and coverage the pair decision weighs.
    """
    by_a, by_b = _shared(a, b)
    ab, cov_a, shared_a = _one_way(a, b, by_a, config)
    ba, cov_b, shared_b = _one_way(b, a, by_b, config)
    pairs = [((i, i + 1), (j0, j1), s) for i, j0, j1, s in ab]
    pairs += [((i0, i1), (j, j + 1), s) for j, i0, i1, s in ba]
    return Alignment(
        passages=_merge(pairs, a, b),
        aligned=min(len(ab), len(ba)),
        coverage=round(max(cov_a, cov_b), 4),
        weight=round(max(shared_a, shared_b), 2),
    )
