"""Frozen settings for every stage; one object travels through the pipeline."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["Config"]


@dataclass(frozen=True)
class Config:
    """All tunable settings, with the defaults measured on the seeds and Clough & Stevenson.

    Attributes:
        ngram: Word n-gram size of document shingles (character n-grams for CJK text).
        num_perm: MinHash values per document signature.
        seed: Seed of the hash functions; signatures are only comparable for equal seeds.
        dtype: Storage type of signature values.
        threshold: Jaccard threshold the document-level LSH bands are tuned for.
        near_jaccard: Verified shingle Jaccard at or above which a pair is a near-duplicate.
        near_containment: Verified containment (either direction) that also makes one,
            when the smaller side has at least ``min_shingles`` shingles.
        min_shingles: Shingles the smaller side needs before containment alone counts.
        sentence_num_perm: MinHash values per sentence signature.
        sentence_threshold: Jaccard threshold the sentence-level LSH bands are tuned for.
        min_sentence_words: Content words a sentence needs to take part in reuse matching.
        align_threshold: Weighted Jaccard of content words for two sentences to align.
        min_shared_words: Content words two aligned sentences must share.
        min_aligned: Aligned sentences a ``reuse`` pair needs (one shared quote is not reuse).
        min_aligned_weight: Rarity weight of the terms its aligned sentences must share
            (see ``dedup.normalize.rarity``; 50 is about ten rare words).
        max_bucket: Documents a single LSH bucket may pair; larger buckets (boilerplate) are
            capped and reported.
    """

    ngram: int = 5
    num_perm: int = 128
    seed: int = 1
    dtype: Literal["uint32", "uint64"] = "uint64"
    threshold: float = 0.5
    near_jaccard: float = 0.7
    near_containment: float = 0.9
    min_shingles: int = 10
    sentence_num_perm: int = 48
    sentence_threshold: float = 0.3
    min_sentence_words: int = 4
    align_threshold: float = 0.35
    min_shared_words: int = 4
    min_aligned: int = 2
    min_aligned_weight: float = 50.0
    max_bucket: int = 200

    def __post_init__(self) -> None:
        if self.ngram < 1:
            raise ValueError("ngram must be at least 1")
        if self.num_perm < 1 or self.sentence_num_perm < 1:
            raise ValueError("num_perm must be at least 1")
        for name in ("threshold", "near_jaccard", "near_containment", "sentence_threshold",
                     "align_threshold"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as a plain dict (stored in indexes, sent to Spark)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Config:
        """Build a Config from :meth:`to_dict` output, ignoring unknown keys."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})
