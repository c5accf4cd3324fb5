"""The unit index of a sentence table: the compiled builder against the NumPy one."""

from __future__ import annotations

import numpy as np
import pytest

from dedup import align
from dedup.align import SentenceTable


def _table(compiled: bool, monkeypatch: pytest.MonkeyPatch, terms: list[list[int]],
           weights: list[list[float]]) -> SentenceTable:
    if not compiled:
        monkeypatch.setattr(align, "_align", None)
    elif align._align is None:
        pytest.fail("dedup._align is not built: `pip install -e .` needs a C compiler")
    sizes = np.array([len(t) for t in terms], dtype=np.int64)
    flat = np.array([t for sentence in terms for t in sentence], dtype=np.uint64)
    flat_weights = np.array([w for sentence in weights for w in sentence], dtype=np.float64)
    spans = [(10 * i, 10 * i + 5) for i in range(len(terms))]
    table = SentenceTable.build(spans, flat, flat_weights, sizes)
    monkeypatch.undo()
    return table


@pytest.mark.parametrize("compiled", [True, False])
def test_pair_units_hold_both_sentences_weighed_as_the_later(
        compiled: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    # sentence 0: a b; sentence 1: b c; sentence 2: c a. b weighs 2 in 0 and 5 in 1.
    a, b, c = 30, 10, 20
    table = _table(compiled, monkeypatch, [[a, b], [b, c], [c, a]],
                   [[1.0, 2.0], [5.0, 3.0], [4.0, 0.5]])
    # units 0-2: the sentences; 3: sentences 0+1 = a, b (as in 1), c; 4: 1+2 = b, c (as in 2), a
    assert table.mass.tolist() == [3.0, 8.0, 4.5, 1.0 + 5.0 + 3.0, 5.0 + 4.0 + 0.5]
    assert table.unit_term.tolist() == [b, b, b, b, c, c, c, c, a, a, a, a]
    assert table.unit_of.tolist() == [0, 1, 3, 4, 1, 2, 3, 4, 0, 2, 3, 4]
    assert table.spans.tolist() == [[0, 1], [1, 2], [2, 3], [0, 2], [1, 3]]


@pytest.mark.parametrize("seed", range(6))
def test_compiled_units_equal_numpy_units(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Random tables from a small pool of terms: repeats within and across sentences."""
    rng = np.random.default_rng(seed)
    for _ in range(40):
        n = int(rng.integers(0, 30))
        terms = [rng.integers(0, 12, size=int(rng.integers(0, 14))).tolist() for _ in range(n)]
        weights = [rng.uniform(0.5, 9.0, size=len(t)).tolist() for t in terms]
        compiled = _table(True, monkeypatch, terms, weights)
        numpy = _table(False, monkeypatch, terms, weights)
        for name in ("mass", "unit_term", "unit_of"):
            mine, theirs = getattr(compiled, name), getattr(numpy, name)
            assert mine.dtype == theirs.dtype and np.array_equal(mine, theirs), name
        assert compiled.exact_units == numpy.exact_units
        assert compiled.to_bytes() == numpy.to_bytes()


def test_compiled_units_refuse_bad_buffers() -> None:
    if align._align is None:
        pytest.fail("dedup._align is not built")
    term, weight = np.arange(3, dtype=np.uint64), np.ones(3)
    mass, out_term, out_of = np.empty(3), np.empty(9, dtype=np.uint64), np.empty(9, np.int64)
    with pytest.raises(ValueError, match="negative"):
        align._align.units(term, weight, np.array([4, -1], dtype=np.int64), mass, out_term,
                           out_of)
    with pytest.raises(ValueError, match="entry_weight"):
        align._align.units(term, weight[:2], np.array([1, 2], dtype=np.int64), mass, out_term,
                           out_of)
    with pytest.raises(ValueError, match="unit_of"):
        align._align.units(term, weight, np.array([1, 2], dtype=np.int64), mass, out_term,
                           out_of[:8])
