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
        aligned: Sentences aligned, counted on the side where more of them aligned.
        coverage: Weighted share of content aligned, on the side where it is larger.
        weight: Rarity weight of the terms the aligned sentences share, on the side where it
            is larger: about 4 to 7 per rare word, so 55 is a dozen rare shared words.
    """

    passages: tuple[Passage, ...]
    aligned: int
    coverage: float
    weight: float


def _similarity(x: dict[str, float], y: dict[str, float], min_shared: int) -> float:
    shared = x.keys() & y.keys()
    if len(shared) < min_shared:
        return 0.0
    inter = sum((x[t] + y[t]) / 2 for t in shared)
    union = inter + sum(w for t, w in x.items() if t not in y) + sum(
        w for t, w in y.items() if t not in x
    )
    return inter / union


def _units(sents: list[Sentence]) -> list[tuple[int, int, dict[str, float]]]:
    units = [(i, i + 1, s.terms) for i, s in enumerate(sents)]
    for i in range(len(sents) - 1):
        units.append((i, i + 2, {**sents[i + 1].terms, **sents[i].terms}))
    return units


def _one_way(
    xs: list[Sentence], ys: list[Sentence], config: Config
) -> tuple[list[tuple[int, int, int, float]], float, float]:
    """Match each eligible sentence of ``xs`` to its best unit of ``ys``.

    Returns:
        The matches as (sentence, unit start, unit end, similarity), the weighted share of
        ``xs`` matched, and the weight of the terms the matches share.
    """
    units = _units(ys)
    matches: list[tuple[int, int, int, float]] = []
    total = hit = shared = 0.0
    for i, x in enumerate(xs):
        if len(x.terms) < config.min_sentence_words:
            continue
        mass = sum(x.terms.values())
        total += mass
        best, best_unit, best_terms = 0.0, (0, 0), x.terms
        for start, end, terms in units:
            score = _similarity(x.terms, terms, config.min_shared_words)
            if score > best:
                best, best_unit, best_terms = score, (start, end), terms
        if best >= config.align_threshold:
            hit += mass
            shared += sum(w for t, w in x.terms.items() if t in best_terms)
            matches.append((i, *best_unit, best))
    return matches, (hit / total if total else 0.0), shared


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
    ab, cov_a, shared_a = _one_way(a, b, config)
    ba, cov_b, shared_b = _one_way(b, a, config)
    pairs = [((i, i + 1), (j0, j1), s) for i, j0, j1, s in ab]
    pairs += [((i0, i1), (j, j + 1), s) for j, i0, i1, s in ba]
    return Alignment(
        passages=_merge(pairs, a, b),
        aligned=max(len(ab), len(ba)),
        coverage=round(max(cov_a, cov_b), 4),
        weight=round(max(shared_a, shared_b), 2),
    )
