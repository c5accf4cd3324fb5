"""Segment stage: sentence spans and the buffer-reusing blingfire call."""

from __future__ import annotations

import ctypes
import itertools
from pathlib import Path

import blingfire
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from dedup.segment import _TERMINAL, _blingfire, _unwrap, sentences

SEEDS = sorted((Path(__file__).parent.parent / "seeds").glob("*.txt"))
LINES = [
    "A long first line. It has several sentences! Does it? Mr. Peskov said so, on 12.03.2024.",
    "Short.",
    "",
    "   ",
    "Café naïve — “quoted,” he said. Ünïcödé façade: 3.5% up.",
    "日本語の文章です。二文目。",
    "x",
]


def test_reused_buffer_gives_blingfire_own_output() -> None:
    # Longest line first, so later calls find stale bytes of it in the buffer.
    out = ctypes.create_string_buffer(2 * max(len(line.encode()) for line in LINES) + 16)
    for line in [*LINES, *reversed(LINES)]:
        assert _blingfire(line, out) == blingfire.text_to_sentences(line)


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.stem)
def test_seed_spans_are_stripped_sentences_in_order(seed: Path) -> None:
    text = seed.read_text(encoding="utf-8")
    spans = sentences(text)
    assert len(spans) > 10
    assert all(a < b <= c for (a, b), (c, _) in itertools.pairwise(spans))
    for start, end in spans:
        assert text[start:end] == text[start:end].strip()
        assert "\n\n" not in text[start:end]


def test_soft_wrapped_line_joins_but_a_finished_line_ends() -> None:
    text = "The ministry approved\nthe deal on Friday.\nOfficials said so"
    assert [text[a:b] for a, b in sentences(text)] == [
        "The ministry approved\nthe deal on Friday.", "Officials said so"]


@given(st.text(alphabet=st.sampled_from(list("aB. \t\r\n?”éÉ")), max_size=60))
@example("a wrapped line \r\nwith Windows ends.\r\nnext")
def test_unwrap_joins_exactly_the_soft_wraps(text: str) -> None:
    # The rule as stated: a newline is soft when the line before it, blanks stripped, ends
    # without a sentence end and the next character is lower case.
    want = [" " if c == "\n" and text[:i].rstrip(" \t\r")
            and text[:i].rstrip(" \t\r")[-1] not in _TERMINAL and text[i + 1:i + 2].islower()
            else c for i, c in enumerate(text)]
    assert _unwrap(text) == "".join(want)
