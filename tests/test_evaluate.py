"""Scoring against hand-computed values (no library as the oracle)."""

from __future__ import annotations

import math

import pytest

from dedup.evaluate import cluster_scores, pair_scores, passage_scores

IDS = list("abcdef")


def test_ari_and_pairwise_scores_of_a_hand_example() -> None:
    # truth {abc}{def}, found {ab}{cd}{ef}: 2 shared pairs of 6 true and 3 found; 15 pairs in all.
    # expected index 6*3/15 = 1.2, max index (6+3)/2 = 4.5 -> ARI = 0.8/3.3.
    s = cluster_scores([["a", "b", "c"], ["d", "e", "f"]], [["a", "b"], ["c", "d"], ["e", "f"]],
                       IDS)
    assert s.ari == pytest.approx(0.8 / 3.3)
    assert s.precision == pytest.approx(2 / 3)
    assert s.recall == pytest.approx(1 / 3)
    assert s.f1 == pytest.approx(4 / 9)


def test_identical_clusterings_score_one_even_with_singletons() -> None:
    s = cluster_scores([["a", "b"]], [["b", "a"], ["c"]], IDS)
    assert (s.ari, s.precision, s.recall, s.f1) == (1.0, 1.0, 1.0, 1.0)
    assert cluster_scores([], [], IDS).ari == 1.0


def test_finding_nothing_scores_zero_ari() -> None:
    # 1 true pair, 0 found: expected 0, max 0.5, index 0.
    s = cluster_scores([["a", "b"]], [], IDS)
    assert s.ari == 0.0
    assert (s.precision, s.recall) == (0.0, 0.0)


def test_merging_everything_is_penalised() -> None:
    # truth {ab}{cd}{ef}: 3 pairs; found one cluster: 15 pairs, 3 shared.
    # expected 3*15/15 = 3 = index -> ARI 0.
    s = cluster_scores([["a", "b"], ["c", "d"], ["e", "f"]], [IDS], IDS)
    assert s.ari == pytest.approx(0.0)
    assert s.precision == pytest.approx(3 / 15)
    assert s.recall == 1.0


def test_pair_scores_count_only_labelled_pairs_without_clusters() -> None:
    labels = {frozenset("ab"): True, frozenset("ac"): True, frozenset("ad"): False}
    s = pair_scores(labels, [frozenset("ab"), frozenset("ad"), frozenset("ae")])
    assert (s.precision, s.recall, s.f1) == (0.5, 0.5, 0.5)


def test_pair_scores_use_true_clusters_for_unlabelled_pairs() -> None:
    labels = {frozenset("ab"): True, frozenset("ac"): True}
    clusters = {"a": 0, "b": 0, "c": 0, "d": 1}
    found = [frozenset("ab"), frozenset("bc"), frozenset("ad"), frozenset("ae")]
    s = pair_scores(labels, found, clusters)
    # ab tp; bc unlabelled, same cluster: not scored; ad and ae (e in no cluster) fp.
    assert s.precision == pytest.approx(1 / 3)
    assert s.recall == 0.5


def test_passage_scores_of_a_hand_example() -> None:
    truth = {("x", "y"): [((0, 100), (0, 100))]}
    found = {("x", "y"): [((0, 50), (0, 50)), ((50, 100), (60, 100)), ((200, 300), (200, 300))],
             ("x", "z"): [((0, 10), (0, 10))]}  # a pair the truth does not name: ignored
    s = passage_scores(truth, found)
    assert s is not None
    # precision: 100/100, 90/90, 0/200 -> 2/3; recall (100 + 90) / 200; 2 detections of 1 case.
    assert s.precision == pytest.approx(2 / 3)
    assert s.recall == pytest.approx(0.95)
    assert s.granularity == 2.0
    f1 = 2 * (2 / 3) * 0.95 / (2 / 3 + 0.95)
    assert s.plagdet == pytest.approx(f1 / math.log2(3))


def test_detection_overlapping_one_side_only_does_not_count() -> None:
    truth = {("x", "y"): [((0, 100), (0, 100))]}
    s = passage_scores(truth, {("x", "y"): [((0, 100), (500, 600))]})
    assert s is not None
    assert (s.precision, s.recall, s.plagdet) == (0.0, 0.0, 0.0)
    assert s.granularity == 1.0


def test_exact_detection_scores_one_and_no_cases_score_none() -> None:
    truth = {("x", "y"): [((10, 20), (30, 40)), ((50, 60), (70, 90))]}
    s = passage_scores(truth, truth)
    assert s is not None
    assert (s.precision, s.recall, s.granularity, s.plagdet) == (1.0, 1.0, 1.0, 1.0)
    assert passage_scores({}, truth) is None
