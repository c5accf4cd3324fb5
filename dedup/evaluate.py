"""Evaluate stage: score what the detector found against ground truth.

Three views, each a standard measure:

- clusters: Adjusted Rand Index (Hubert & Arabie 1985) over every document, singletons
  included, and pairwise precision, recall and F1 of "in the same cluster";
- pairs: precision, recall and F1 of the related/unrelated decision on document pairs;
- passages: character-level precision, recall, granularity and plagdet of aligned passages, as
  defined for the PAN text-alignment task (Potthast et al. 2010, "An Evaluation Framework for
  Plagiarism Detection"): a case or detection is a set of characters in both documents of a pair;
  a detection detects a case when they overlap in both documents.

Truth files are JSONL, one record a line, of two kinds (a file may mix them):

- a cluster: ``{"members": ["id1", "id2", ...]}``; documents in no cluster are singletons;
- a labelled pair: ``{"a": "id1", "b": "id2", "label": true}``, optionally with the spans
  copied, ``"passages": [{"a": [start, end], "b": [start, end]}]`` (character offsets into the
  texts of ``a`` and ``b``), and a ``"level"`` naming the kind of rewrite, for recall per level.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from dedup.engine import Result

__all__ = ["PRF", "PassageScores", "Truth", "TruthError", "cluster_scores", "pair_scores",
           "passage_scores", "read_truth", "score"]

Span = tuple[int, int]
#: Aligned spans of one pair: (span in document a, span in document b).
Case = tuple[Span, Span]


@dataclass(frozen=True)
class PRF:
    """Precision, recall and F1 (and ARI for clusterings, else None)."""

    precision: float
    recall: float
    f1: float
    ari: float | None = None


@dataclass(frozen=True)
class PassageScores:
    """PAN character-level scores of aligned passages."""

    precision: float
    recall: float
    granularity: float
    plagdet: float


@dataclass(frozen=True)
class Truth:
    """Ground truth of a crawl; any part may be empty.

    Attributes:
        clusters: Groups of document ids that belong together (singletons may be omitted).
        labels: Related (True) or unrelated (False) for named document pairs.
        passages: Aligned spans of named related pairs, keyed by ``(a, b)`` as written.
    """

    clusters: list[list[str]] = field(default_factory=list)
    labels: dict[frozenset[str], bool] = field(default_factory=dict)
    passages: dict[tuple[str, str], list[Case]] = field(default_factory=dict)


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def _ratio(num: float, den: float) -> float:
    return num / den if den else 0.0


def _labels(clusters: Iterable[Iterable[str]], ids: Sequence[str]) -> list[int]:
    label: dict[str, int] = {}
    for number, group in enumerate(clusters):
        for member in group:
            label[member] = number
    fresh = len(label)
    out = []
    for doc in ids:  # documents no cluster names are singletons
        if doc not in label:
            label[doc], fresh = fresh + 1_000_000_000, fresh + 1
        out.append(label[doc])
    return out


def cluster_scores(
    truth: Iterable[Iterable[str]], found: Iterable[Iterable[str]], ids: Sequence[str]
) -> PRF:
    """Score a clustering of ``ids`` against the true one.

    Args:
        truth: True groups; documents of ``ids`` in no group are singletons.
        found: Groups found by the detector; the same convention.
        ids: Every document scored (the crawl).

    Returns:
        Pairwise precision, recall and F1 of co-membership, and the Adjusted Rand Index.
    """
    t, f = _labels(truth, ids), _labels(found, ids)

    def pairs(counts: Iterable[int]) -> int:
        return sum(c * (c - 1) // 2 for c in counts)

    both = pairs(Counter(zip(t, f, strict=True)).values())
    true_pairs, found_pairs = pairs(Counter(t).values()), pairs(Counter(f).values())
    precision, recall = _ratio(both, found_pairs), _ratio(both, true_pairs)
    expected = true_pairs * found_pairs / pairs([len(ids)]) if len(ids) > 1 else 0.0
    best = (true_pairs + found_pairs) / 2
    ari = 1.0 if best == expected else (both - expected) / (best - expected)
    return PRF(precision, recall, _f1(precision, recall), ari)


def pair_scores(
    labels: Mapping[frozenset[str], bool],
    found: Iterable[frozenset[str]],
    same_cluster: Mapping[str, int] | None = None,
) -> PRF:
    """Score the related/unrelated decision on pairs.

    A found pair is a true positive when labelled related, a false positive when labelled
    unrelated, or, when unlabelled and ``same_cluster`` is given, when its documents are in
    different true clusters; other unlabelled found pairs are not scored. Recall is over the pairs
    labelled related.

    Args:
        labels: Truth of named pairs.
        found: Pairs the detector called related.
        same_cluster: True cluster number of each document, if a clustering is known.

    Returns:
        Precision, recall and F1.
    """
    tp = fp = 0
    for pair in set(found):
        label = labels.get(pair)
        if label is None and same_cluster is not None:
            a, b = (same_cluster.get(doc) for doc in pair)
            if a is None or a != b:  # a document in no true cluster is a singleton
                label = False
        tp += label is True
        fp += label is False
    positives = sum(labels.values())
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, positives)
    return PRF(precision, recall, _f1(precision, recall))


def _union(spans: Iterable[Span]) -> list[Span]:
    merged: list[list[int]] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def _overlap(xs: Iterable[Span], ys: Iterable[Span]) -> int:
    """Characters in both unions of spans."""
    total = 0
    for xs0, xs1 in _union(xs):
        for ys0, ys1 in _union(ys):
            total += max(0, min(xs1, ys1) - max(xs0, ys0))
    return total


def _detects(r: Case, s: Case) -> bool:
    return _overlap([r[0]], [s[0]]) > 0 and _overlap([r[1]], [s[1]]) > 0


def _size(case: Case) -> int:
    return sum(max(0, e - s) for s, e in case)


def passage_scores(
    truth: Mapping[tuple[str, str], Sequence[Case]],
    found: Mapping[tuple[str, str], Sequence[Case]],
) -> PassageScores | None:
    """PAN macro-averaged character precision, recall, granularity and plagdet.

    Only pairs named in ``truth`` are scored; detections of other pairs are ignored. Spans of both
    mappings must be oriented alike (``found[(a, b)]`` spans point into ``a`` then ``b``).

    Args:
        truth: True cases per pair.
        found: Detected passages per pair.

    Returns:
        The scores, or None when the truth names no case.
    """
    cases = [(pair, s) for pair, spans in truth.items() for s in spans if _size(s)]
    if not cases:
        return None
    detections = [(pair, r) for pair in truth for r in found.get(pair, ()) if _size(r)]
    precision = 0.0
    for pair, r in detections:
        hit = [s for s in truth[pair] if _detects(r, s)]
        covered = _overlap([r[0]], [s[0] for s in hit]) + _overlap([r[1]], [s[1] for s in hit])
        precision += covered / _size(r)
    recall, detected, granules = 0.0, 0, 0
    for pair, s in cases:
        hit = [r for r in found.get(pair, ()) if _size(r) and _detects(r, s)]
        covered = _overlap([s[0]], [r[0] for r in hit]) + _overlap([s[1]], [r[1] for r in hit])
        recall += covered / _size(s)
        detected += bool(hit)
        granules += len(hit)
    precision = _ratio(precision, len(detections))
    recall /= len(cases)
    granularity = granules / detected if detected else 1.0
    return PassageScores(precision, recall, granularity,
                         _f1(precision, recall) / math.log2(1 + granularity))


# --------------------------------------------------------------------------- truth files


class TruthError(ValueError):
    """A malformed truth record, naming its file and line."""


def _span(value: Any) -> tuple[int, int]:
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
            or not 0 <= value[0] <= value[1]):
        raise ValueError(f"a span must be [start, end] with 0 <= start <= end, got {value!r}")
    return value[0], value[1]


def _record(record: Any, truth: Truth, levels: dict[frozenset[str], str]) -> None:
    if not isinstance(record, dict):
        raise ValueError("expected a JSON object")
    if "members" in record:
        members = record["members"]
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise ValueError('"members" must be a list of document ids (strings)')
        truth.clusters.append(members)
        return
    if not {"a", "b", "label"} <= record.keys():
        raise ValueError('expected {"members": [...]} or {"a": ..., "b": ..., "label": ...}')
    a, b, label = record["a"], record["b"], record["label"]
    if not isinstance(a, str) or not isinstance(b, str) or a == b:
        raise ValueError('"a" and "b" must be two different document ids (strings)')
    if label not in (True, False, 0, 1):
        raise ValueError(f'"label" must be true or false, got {label!r}')
    pair = frozenset((a, b))
    truth.labels[pair] = bool(label)
    if isinstance(record.get("level"), str):
        levels[pair] = record["level"]
    passages = record.get("passages", [])
    if not isinstance(passages, list):
        raise ValueError('"passages" must be a list of {"a": [s, e], "b": [s, e]}')
    cases: list[Case] = []
    for p in passages:
        if not isinstance(p, dict) or not {"a", "b"} <= p.keys():
            raise ValueError('each passage must be {"a": [start, end], "b": [start, end]}')
        cases.append((_span(p["a"]), _span(p["b"])))
    if cases:
        truth.passages[(a, b)] = cases


def read_truth(paths: Sequence[str]) -> tuple[Truth, dict[frozenset[str], str]]:
    """Read truth files.

    Args:
        paths: JSONL files of cluster and labelled-pair records.

    Returns:
        The truth and the rewrite level of pairs that name one.

    Raises:
        TruthError: On a missing file or a malformed record, naming file and line.
    """
    truth, levels = Truth(), dict[frozenset[str], str]()
    for path in paths:
        try:
            lines = Path(path).read_bytes().splitlines()
        except OSError as error:
            raise TruthError(f"{path}: cannot read truth file ({error.strerror})") from None
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                _record(orjson.loads(line), truth, levels)
            except orjson.JSONDecodeError as error:
                raise TruthError(f"{path}:{number}: not valid JSON ({error})") from None
            except ValueError as error:
                raise TruthError(f"{path}:{number}: {error}") from None
    return truth, levels


def _prf(s: Any) -> dict[str, float]:
    return {k: round(v, 4) for k, v in vars(s).items() if v is not None}


def score(result: Result, truth: Truth, levels: dict[frozenset[str], str] | None = None
          ) -> dict[str, Any]:
    """Score a run against the truth: clusters, pairs, passages and recall per level.

    Args:
        result: What :func:`dedup.engine.run` found.
        truth: The ground truth.
        levels: Rewrite level of labelled pairs, for recall per level.

    Returns:
        A JSON-ready dict; parts the truth cannot score are left out.
    """
    ids = [doc.id for doc in result.docs]
    out: dict[str, Any] = {"documents": len(ids)}
    found_clusters = [[ids[i] for i in group] for group in result.clusters]
    found_pairs = {frozenset((ev.a, ev.b)) for ev in result.evidence}
    cluster_of = {m: n for n, group in enumerate(truth.clusters) for m in group}
    if truth.clusters:
        out["clusters"] = _prf(cluster_scores(truth.clusters, found_clusters, ids))
    labels = dict(truth.labels)
    if not any(labels.values()):  # no related pair named: every pair in a true cluster is
        labels = {frozenset((x, y)): True for g in truth.clusters for i, x in enumerate(g)
                  for y in g[i + 1:]} | labels
    if labels:
        pairs = _prf(pair_scores(labels, found_pairs, cluster_of if truth.clusters else None))
        out["pairs"] = {**pairs, "found": len(found_pairs),
                        "related": sum(labels.values())}
    found_passages: dict[tuple[str, str], list[Case]] = {}
    for ev in result.evidence:
        spans = [(p.a, p.b) for p in ev.passages]
        found_passages[(ev.a, ev.b)] = spans
        found_passages[(ev.b, ev.a)] = [(b, a) for a, b in spans]
    passages = passage_scores(truth.passages, found_passages)
    if passages is not None:
        out["passages"] = _prf(passages)
    if levels:
        out["levels"] = _per_level(truth, levels, found_pairs)
    return out


def _per_level(truth: Truth, levels: dict[frozenset[str], str],
               found: set[frozenset[str]]) -> dict[str, dict[str, Any]]:
    """Recall of related pairs, and false positives among unrelated ones, per level."""
    rows: dict[str, dict[str, Any]] = {}
    for pair, level in sorted(levels.items(), key=lambda item: item[1]):
        related = truth.labels.get(pair, False)
        row = rows.setdefault(level, {"related": 0, "found": 0} if related else
                              {"unrelated": 0, "false_positives": 0})
        key = "related" if "related" in row else "unrelated"
        row[key] += 1
        row["found" if key == "related" else "false_positives"] += pair in found
    for row in rows.values():
        if "related" in row:
            row["recall"] = round(row["found"] / row["related"], 4)
    return rows
