from __future__ import annotations

import itertools

import pytest
from datasketch.lsh import _optimal_param

from dedup.params import candidate_probability, optimal_params


def test_candidate_probability_formula() -> None:
    assert candidate_probability(0.5, 2, 3) == pytest.approx(1 - (1 - 0.125) ** 2)
    assert candidate_probability(0.0, 20, 5) == 0.0
    assert candidate_probability(1.0, 20, 5) == 1.0


def test_s_curve_is_monotone() -> None:
    values = [candidate_probability(s / 100, 25, 5) for s in range(101)]
    assert all(a <= b for a, b in itertools.pairwise(values))
    assert values[20] < 0.01 < 0.99 < values[80]


@pytest.mark.parametrize("num_perm", [16, 48, 128, 256])
@pytest.mark.parametrize("threshold", [0.1, 0.3, 0.5, 0.7, 0.9])
def test_params_fit_and_match_datasketch(threshold: float, num_perm: int) -> None:
    bands, rows = optimal_params(threshold, num_perm)
    assert bands >= 1 and rows >= 1
    assert bands * rows <= num_perm
    assert (bands, rows) == _optimal_param(threshold, num_perm, 0.5, 0.5)


def test_weights_move_the_curve_like_datasketch() -> None:
    recall = optimal_params(0.5, 128, 0.1, 0.9)
    precision = optimal_params(0.5, 128, 0.9, 0.1)
    assert recall == _optimal_param(0.5, 128, 0.1, 0.9)
    assert precision == _optimal_param(0.5, 128, 0.9, 0.1)
    assert candidate_probability(0.4, *recall) > candidate_probability(0.4, *precision)


def test_curve_rises_around_the_threshold() -> None:
    previous = 0.0
    for threshold in (0.2, 0.4, 0.6, 0.8):
        bands, rows = optimal_params(threshold, 128)
        midpoint = (1 / bands) ** (1 / rows)  # where the S-curve is steepest
        assert abs(midpoint - threshold) < 0.12
        assert midpoint > previous
        previous = midpoint


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="threshold"):
        optimal_params(1.5, 128)
    with pytest.raises(ValueError, match="num_perm"):
        optimal_params(0.5, 0)
    with pytest.raises(ValueError, match="weights"):
        optimal_params(0.5, 128, -1.0, 0.5)
