"""Verify stage: the one function that decides a candidate pair, and the profile it reads.

Every engine (local, persistent index, Spark) builds a :class:`Profile` per document with
:func:`profile` and calls :func:`decide` on candidate pairs, so they cannot disagree. A pair is
never reported on an LSH collision alone: :func:`decide` measures the exact shingle Jaccard and
containment, aligns the sentences, and names the relation:

- ``duplicate``: the same normalised token sequence;
- ``near-duplicate``: shingle Jaccard >= ``near_jaccard``, or containment either way >=
  ``near_containment`` (trimmed copies, copies with an added paragraph);
- ``reuse``: at least ``min_aligned`` aligned sentences whose shared content words weigh at
  least ``min_aligned_weight`` (syndicated rewrites that share passages). The weight is an
  absolute amount of rare shared wording, so a topic (a few common words) never reaches it and
  a reused passage does whatever the length of the rest of the articles.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xxhash

from dedup.align import Passage, Sentence, SentenceTable, TableView, align
from dedup.config import Config
from dedup.normalize import sentence_terms
from dedup.read import Document
from dedup.segment import sentences
from dedup.shingle import joined_tokens, shingle_hashes_batch

__all__ = ["Evidence", "Profile", "ProfileView", "decide", "profile", "profiles", "screen"]


@dataclass(frozen=True, eq=False)
class Profile:
    """What verification needs of one document, computed once.

    Attributes:
        doc: The document as read.
        shingles: Sorted unique uint64 hashes of its word n-grams.
        table: Its sentences with weighted content terms, indexed for alignment.
    """

    doc: Document
    shingles: np.ndarray
    table: SentenceTable

    @property
    def sentences(self) -> tuple[Sentence, ...]:
        """Its sentences with weighted content terms."""
        return self.table.sentences

    @functools.cached_property
    def digest(self) -> int:
        """Hash of the normalised token sequence, equal for exact duplicates.

        Computed on first use: only pairs with identical shingle sets ever need it.
        """
        return xxhash.xxh3_64_intdigest(joined_tokens(self.doc.text))

    def to_bytes(self) -> bytes:
        """Serialise what :func:`decide` reads: shingles, digest and sentence table.

        The document itself (id, text, date) is not included; :meth:`from_bytes` takes it.
        """
        head = _PROFILE_HEAD.pack(len(self.shingles), self.digest)
        return head + self.shingles.astype("<u8").tobytes() + self.table.to_bytes()

    @classmethod
    def from_bytes(cls, doc: Document, data: bytes) -> Profile:
        """Rebuild a profile from :meth:`to_bytes` output without profiling the text again.

        ``doc`` supplies the id and date; its text is not read (it may be empty). The
        sentences of the table carry no terms (see :meth:`SentenceTable.from_bytes`).
        """
        count, digest = _PROFILE_HEAD.unpack_from(data)
        shingles = np.frombuffer(data, dtype="<u8", count=count, offset=_PROFILE_HEAD.size)
        table = SentenceTable.from_bytes(data, _PROFILE_HEAD.size + shingles.nbytes)
        prof = cls(doc=doc, shingles=shingles, table=table)
        prof.__dict__["digest"] = digest  # the cached_property's slot
        return prof


_PROFILE_HEAD = struct.Struct("<QQ")  # shingles, digest


@dataclass(frozen=True, eq=False)
class ProfileView:
    """The arrays :func:`screen` reads of one profile, without building its sentence table.

    Attributes:
        shingles: Sorted unique shingle hashes.
        sizes: Content terms per sentence.
        mass: Total term weight per sentence.
        entry_term: Term hash of each (sentence, term) entry, in sentence order.
        entry_weight: Term weight of each entry.
        exact_units: Whether set membership bounds shared weight exactly (no unit holds a
            term hash twice).
    """

    shingles: np.ndarray
    sizes: np.ndarray
    mass: np.ndarray
    entry_term: np.ndarray
    entry_weight: np.ndarray
    exact_units: bool

    @classmethod
    def of(cls, prof: Profile) -> ProfileView:
        """The view of a profile in memory."""
        table = prof.table
        return cls(prof.shingles, table.sizes, table.mass[: len(table.sizes)], table.entry_term,
                   table.entry_weight, table.exact_units)

    @classmethod
    def from_bytes(cls, data: bytes) -> ProfileView:
        """The view of :meth:`Profile.to_bytes` output, read in place."""
        count, _ = _PROFILE_HEAD.unpack_from(data)
        shingles = np.frombuffer(data, dtype="<u8", count=count, offset=_PROFILE_HEAD.size)
        table = TableView.from_bytes(data, _PROFILE_HEAD.size + shingles.nbytes)
        return cls(shingles, table.sizes, table.mass[: len(table.sizes)], table.entry_term,
                   table.entry_weight, table.exact_units)


@dataclass(frozen=True)
class Evidence:
    """Why two documents are (or are not) related; ``a`` is the earlier one.

    Attributes:
        a: Id of the first document.
        b: Id of the second document.
        relation: ``duplicate``, ``near-duplicate``, ``reuse``, or None when unrelated.
        jaccard: Exact Jaccard similarity of the shingle sets.
        containment_ab: Share of ``a``'s shingles found in ``b``.
        containment_ba: Share of ``b``'s shingles found in ``a``.
        aligned: Aligned sentences (on the side with more of them).
        coverage: Weighted share of content aligned (on the side where it is larger).
        weight: Rarity weight of the content words the aligned sentences share.
        passages: Aligned passages as character offsets into both original texts.
    """

    a: str
    b: str
    relation: str | None
    jaccard: float
    containment_ab: float
    containment_ba: float
    aligned: int
    coverage: float
    weight: float
    passages: tuple[Passage, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form shared by ``dedup pairs``, ``compare`` and index verdicts."""
        return {
            "a": self.a,
            "b": self.b,
            "relation": self.relation,
            "jaccard": self.jaccard,
            "containment_ab": self.containment_ab,
            "containment_ba": self.containment_ba,
            "aligned": self.aligned,
            "coverage": self.coverage,
            "weight": self.weight,
            "passages": [{"a": list(p.a), "b": list(p.b), "score": p.score} for p in self.passages],
        }


def profiles(docs: Sequence[Document], config: Config) -> list[Profile]:
    """Profile many documents, hashing their shingles in batches."""
    hashes = shingle_hashes_batch([d.text for d in docs], config.ngram, config.seed)
    out = []
    for doc, shingles in zip(docs, hashes, strict=True):
        spans = sentences(doc.text)
        table = SentenceTable.build(spans, *sentence_terms(doc.text, spans, config.seed))
        out.append(Profile(doc=doc, shingles=shingles, table=table))
    return out


def profile(doc: Document, config: Config) -> Profile:
    """Profile one document."""
    return profiles([doc], config)[0]


def decide(a: Profile, b: Profile, config: Config) -> Evidence:
    """Verify and align a candidate pair and name its relation.

    Args:
        a: Profile of the earlier document.
        b: Profile of the later document.
        config: Thresholds of the decision.

    Returns:
        The evidence; ``relation`` is None when the pair is not related.
    """
    size_a, size_b = len(a.shingles), len(b.shingles)
    inter = int(np.intersect1d(a.shingles, b.shingles, assume_unique=True).size)
    union = size_a + size_b - inter
    jaccard = inter / union if union else 0.0
    c_ab = inter / size_a if size_a else 0.0
    c_ba = inter / size_b if size_b else 0.0
    alignment = align(a.table, b.table, config)
    relation: str | None = None
    if inter == size_a == size_b and size_a and a.digest == b.digest:
        relation = "duplicate"
    elif jaccard >= config.near_jaccard or (
        min(size_a, size_b) >= config.min_shingles and max(c_ab, c_ba) >= config.near_containment
    ):
        relation = "near-duplicate"
    elif (
        alignment.aligned >= config.min_aligned
        and alignment.weight >= config.min_aligned_weight
    ):
        relation = "reuse"
    return Evidence(
        a=a.doc.id,
        b=b.doc.id,
        relation=relation,
        jaccard=round(jaccard, 4),
        containment_ab=round(c_ab, 4),
        containment_ba=round(c_ba, 4),
        aligned=alignment.aligned,
        coverage=alignment.coverage,
        weight=alignment.weight,
        passages=alignment.passages,
    )


#: Relative slack on float comparisons in :func:`screen`: its sums add the same weights in
#: another order than :func:`dedup.align.align`, so they may differ in the last bits.
_SLACK = 1e-6


def screen(query: Profile, cands: Sequence[ProfileView], config: Config) -> np.ndarray:
    """Tell which candidates :func:`decide` could relate to ``query``; the rest cannot be.

    A cheap, exact upper bound, computed for all candidates at once: ``False`` proves that
    ``decide`` (either way round) returns ``relation=None``, so a caller that keeps only
    related pairs may skip them. ``True`` proves nothing; ``decide`` must run.

    Duplicates and near-duplicates are decided from the shingle intersection, computed
    exactly. For ``reuse``, a sentence ``x`` can only align to a unit ``u`` of the other side
    if it is eligible, shares ``min_shared_words`` terms with that side and the weight ``s``
    it shares is at most ``P(x)``, the weight of its terms found anywhere on the other side.
    Its score ``s / (w(x) + w(u) - s)`` reaches ``t = align_threshold`` only if
    ``s (1 + t) >= t w(x)`` (as ``w(u) >= 0``), so only if ``P(x) (1 + t) >= t w(x)``.
    Summing ``P`` over such sentences bounds the aligned weight from above and counting
    them bounds the sentences aligned, on each side.

    Args:
        query: The profile checked.
        cands: Views of the candidates.
        config: Thresholds of the decision.

    Returns:
        One bool per candidate.
    """
    count = len(cands)
    if not count:
        return np.zeros(0, dtype=bool)
    if not query.table.exact_units:
        return np.ones(count, dtype=bool)
    # Exact shingle intersections, as decide computes them.
    lengths = np.array([len(c.shingles) for c in cands], dtype=np.int64)
    owner = np.repeat(np.arange(count), lengths)
    found = _member(query.shingles, np.concatenate([c.shingles for c in cands]))
    inter = np.bincount(owner[found >= 0], minlength=count).astype(np.float64)
    size_a, size_b = lengths.astype(np.float64), float(len(query.shingles))
    union = size_a + size_b - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        jaccard = np.where(union > 0, inter / union, 0.0)
        c_ab = np.where(size_a > 0, inter / size_a, 0.0)
        c_ba = inter / size_b if size_b else np.zeros(count)
    near = (jaccard >= config.near_jaccard) | (
        (np.minimum(size_a, size_b) >= config.min_shingles)
        & (np.maximum(c_ab, c_ba) >= config.near_containment))
    near |= (inter == size_a) & (inter == size_b)  # duplicates (jaccard 1 when non-empty)
    reuse = _reuse_bound(query, cands, config)
    exact = np.array([c.exact_units for c in cands], dtype=bool)
    return np.asarray(near | reuse | ~exact)


def _member(sorted_set: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Position of each value in a sorted array of unique values, or -1 when absent.

    A direct-address table on the low bits of the hashes (8 to 16 slots per member, small
    enough to stay in cache) answers most values in a few passes; values landing on a slot
    that two members share fall back to a binary search.
    """
    if not len(sorted_set) or not len(values):
        return np.full(len(values), -1, dtype=np.int64)
    size = 1 << max(10, (8 * len(sorted_set)).bit_length())
    mask = np.uint64(size - 1)
    slots = (sorted_set & mask).astype(np.intp)
    table: np.ndarray = np.full(size, -1, dtype=np.int64)
    table[slots] = np.arange(len(sorted_set))
    table[np.bincount(slots, minlength=size) > 1] = -2
    found = table[(values & mask).astype(np.intp)]
    out = np.where((sorted_set[np.maximum(found, 0)] == values) & (found >= 0), found, -1)
    shared = np.flatnonzero(found == -2)
    if len(shared):
        pos = np.minimum(np.searchsorted(sorted_set, values[shared]), len(sorted_set) - 1)
        out[shared] = np.where(sorted_set[pos] == values[shared], pos, -1)
    return out.astype(np.int64, copy=False)


def _segment_sums(values: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Sums of consecutive column segments of ``sizes`` lengths, per row."""
    total = np.zeros((values.shape[0], values.shape[1] + 1))
    np.cumsum(values, axis=1, out=total[:, 1:])
    ends = np.cumsum(sizes)
    return np.asarray(total[:, ends] - total[:, ends - sizes])


def _sentence_bound(weight: np.ndarray, number: np.ndarray, sizes: np.ndarray,
                    mass: np.ndarray, config: Config) -> np.ndarray:
    """Which sentences could align, given the weight and number of their terms found."""
    t = config.align_threshold
    return ((sizes >= config.min_sentence_words) & (number >= config.min_shared_words)
            & (weight * (1 + t) * (1 + _SLACK) >= t * mass))


def _reuse_bound(query: Profile, cands: Sequence[ProfileView], config: Config) -> np.ndarray:
    """Whether each candidate could reach ``min_aligned`` sentences and ``min_aligned_weight``."""
    count = len(cands)
    terms = np.unique(query.table.entry_term)
    # Candidate sentences against the query's terms.
    n_sent = np.array([len(c.sizes) for c in cands], dtype=np.int64)
    sizes = np.concatenate([c.sizes for c in cands])
    sent_owner = np.repeat(np.arange(count), n_sent)
    sent_global = np.repeat(np.arange(len(sizes)), sizes)
    pos = _member(terms, np.concatenate([c.entry_term for c in cands]))
    hit = pos >= 0
    weight = np.bincount(sent_global[hit], np.concatenate([c.entry_weight for c in cands])[hit],
                         minlength=len(sizes))
    number = np.bincount(sent_global[hit], minlength=len(sizes))
    ok = _sentence_bound(weight, number, sizes, np.concatenate([c.mass for c in cands]), config)
    cand_weight = np.bincount(sent_owner[ok], weight[ok], minlength=count)
    cand_aligned = np.bincount(sent_owner[ok], minlength=count)
    # Query sentences against each candidate's terms: which query terms each one holds.
    holds = np.zeros((count, len(terms)), dtype=bool)
    holds[np.repeat(sent_owner, sizes)[hit], pos[hit]] = True
    table = query.table
    n = len(table.sizes)
    present = holds[:, np.searchsorted(terms, table.entry_term)]
    q_weight = _segment_sums(present * table.entry_weight, table.sizes)
    q_number = _segment_sums(present.astype(np.float64), table.sizes)
    q_ok = _sentence_bound(q_weight, q_number, table.sizes, table.mass[:n], config)
    query_weight = (q_weight * q_ok).sum(axis=1)
    query_aligned = q_ok.sum(axis=1)
    most = np.maximum(cand_weight, query_weight)
    return np.asarray((np.minimum(cand_aligned, query_aligned) >= config.min_aligned)
                      & (most * (1 + _SLACK) + 0.01 >= config.min_aligned_weight))
