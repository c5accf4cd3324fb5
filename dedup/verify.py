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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xxhash

from dedup.align import Passage, Sentence, SentenceTable, align
from dedup.config import Config
from dedup.normalize import content_terms
from dedup.read import Document
from dedup.segment import sentences
from dedup.shingle import shingle_hashes_batch, tokens

__all__ = ["Evidence", "Profile", "decide", "profile", "profiles"]


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
        return xxhash.xxh3_64_intdigest("\x1f".join(tokens(self.doc.text)).encode())


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


def _sentences(text: str) -> tuple[Sentence, ...]:
    return tuple(
        Sentence(start, end, content_terms(text[start:end])) for start, end in sentences(text)
    )


def profiles(docs: Sequence[Document], config: Config) -> list[Profile]:
    """Profile many documents, hashing their shingles in batches."""
    hashes = shingle_hashes_batch([d.text for d in docs], config.ngram, config.seed)
    out = []
    for doc, shingles in zip(docs, hashes, strict=True):
        table = SentenceTable.build(_sentences(doc.text), config.seed)
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
