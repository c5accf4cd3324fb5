from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedup import shingle
from dedup.shingle import TOKEN_PATTERN, joined_tokens, shingle_hashes, shingle_hashes_batch, tokens

# Characters that stress normalisation, casefolding and the token rule.
TRICKY = (
    "aZ09_ -.,'’‘“”—–\u00a0\t\n"  # ASCII, curly quotes, dashes, no-break space
    "éeÉ\u0301\u0308\u0345ßẞİıſǰΐΣσς"  # accents, combining marks, multi-character folds
    "ﬁﬀ²①⑴ＡＢ１"  # compatibility characters NFKC rewrites
    "東京日本語はのカタカナー々〆・\u3099\u309a"  # CJK, kana, iteration marks, kana marks
    "\uf900\uf9ff\U00020000"  # CJK compatibility and extension ideographs
    "한국어\u1100\u1161\u11a8"  # Hangul syllables and conjoining jamo
    "हिन्दीभाषा\u093cதமிழ்"  # Devanagari and Tamil with vowel signs and viramas
    "العربيةَُ"  # Arabic with harakat
    "ไทย❤\ufe0f\U0001f600\u200d"  # Thai, emoji, variation selector, zero-width joiner
)


def test_curly_and_straight_apostrophes_give_the_same_tokens() -> None:
    assert tokens("India’s S-400") == tokens("India's S-400") == ["india", "s", "s", "400"]


def test_nfc_and_nfd_accents_give_the_same_tokens() -> None:
    nfc = unicodedata.normalize("NFC", "Café crème")
    nfd = unicodedata.normalize("NFD", "Café crème")
    assert nfc != nfd
    assert tokens(nfc) == tokens(nfd) == ["café", "crème"]


def test_casefold_dashes_and_underscores() -> None:
    assert tokens("STRASSE Straße") == ["strasse", "strasse"]
    assert tokens("well—known high–level snake_case") == [
        "well", "known", "high", "level", "snake", "case"]


def test_each_cjk_character_is_a_token() -> None:
    assert tokens("東京は日本の首都です。Tokyo") == [
        "東", "京", "は", "日", "本", "の", "首", "都", "で", "す", "tokyo"]
    assert tokens("カタカナ") == ["カ", "タ", "カ", "ナ"]


def test_combining_marks_stay_in_their_word_but_never_start_one() -> None:
    assert tokens("हिन्दी भाषा") == ["हिन्दी", "भाषा"]
    assert tokens("love ❤\ufe0f \u0301x") == ["love", "x"]


def test_tokens_use_token_pattern_on_normalised_text() -> None:
    text = "Ｆｕｌｌ-width ﬁne ①  İstanbul"
    normalised = unicodedata.normalize("NFKC", text).casefold()
    assert tokens(text) == re.findall(TOKEN_PATTERN, normalised)


def test_shingles_are_sorted_unique_uint64() -> None:
    values = shingle_hashes("a b c a b c a b c", 2, 1)
    assert values.dtype == np.uint64
    assert len(values) == 3  # "a b", "b c", "c a"
    assert np.all(np.diff(values.astype(np.float64)) > 0)


def test_short_and_empty_texts() -> None:
    assert len(shingle_hashes("", 5, 1)) == 0
    assert len(shingle_hashes(" ,.; ", 5, 1)) == 0
    short = shingle_hashes("only three words", 5, 1)
    assert len(short) == 1
    assert not np.array_equal(short, shingle_hashes("only three", 5, 1))
    assert not np.array_equal(short, shingle_hashes("three only words", 5, 1))


def test_shingles_ignore_case_punctuation_spacing_but_not_order() -> None:
    base = shingle_hashes("The cat sat on the mat today", 3, 1)
    assert np.array_equal(base, shingle_hashes("the CAT  sat, on\nthe mat — today!", 3, 1))
    assert not np.array_equal(base, shingle_hashes("The sat cat on the mat today", 3, 1))


def test_seed_changes_every_hash() -> None:
    a = shingle_hashes("one two three four five six", 2, 1)
    b = shingle_hashes("one two three four five six", 2, 2)
    assert len(np.intersect1d(a, b)) == 0


def test_pinned_values_are_stable() -> None:
    values = shingle_hashes("The quick brown fox jumps over the lazy dog", 3, 1)
    assert values.tolist()[:3] == [
        2409587069713271019, 3634454845808142180, 5341814829186633748]
    assert len(values) == 7


def test_bad_ngram() -> None:
    with pytest.raises(ValueError, match="ngram"):
        shingle_hashes("text", 0, 1)
    with pytest.raises(ValueError, match="ngram"):
        shingle_hashes_batch(["text"], 0, 1)


def test_batch_handles_empty_input() -> None:
    assert shingle_hashes_batch([], 5, 1) == []
    out = shingle_hashes_batch(["", "x", ""], 5, 1)
    assert [len(v) for v in out] == [0, 1, 0]


@settings(derandomize=True, max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # one path per test
@given(
    texts=st.lists(st.text(alphabet=st.sampled_from(TRICKY) | st.characters(), max_size=60),
                   max_size=8),
    ngram=st.integers(1, 6),
    seed=st.integers(0, 2**32),
)
def test_batch_equals_single(hashing_path: str, texts: list[str], ngram: int,
                             seed: int) -> None:
    batch = shingle_hashes_batch(texts, ngram, seed)
    assert len(batch) == len(texts)
    for text, values in zip(texts, batch, strict=True):
        assert np.array_equal(values, shingle_hashes(text, ngram, seed)), text


def test_lookup_table_agrees_with_python_for_every_code_point(hashing_path: str) -> None:
    """Each character next to letters, alone and before letters: table path == regex path.

    Every code point of planes 0-1 and of the variation selectors; a sample of the rest.
    """
    table = shingle._table()
    codes = [c for c in (*range(0x20000), *range(0x20000, 0x110000, 97), *range(0xE0000, 0xE0200))
             if not 0xD800 <= c < 0xE000]
    # Characters the table handles alone and those that send their text through Python,
    # kept apart so that every character of the first kind is checked on the fast path.
    python = (table[codes] & np.uint64(shingle._PYTHON_BIT)) != 0
    texts = []
    for group in ([c for c, p in zip(codes, python, strict=True) if not p],
                  [c for c, p in zip(codes, python, strict=True) if p]):
        for start in range(0, len(group), 32):
            chars = [chr(c) for c in group[start:start + 32]]
            texts.append(" ".join(f"a{c}b {c} {c}z" for c in chars))
    batch = shingle_hashes_batch(texts, 1, 7)
    for text, values in zip(texts, batch, strict=True):
        assert np.array_equal(values, shingle_hashes(text, 1, 7)), [hex(ord(c)) for c in text]


@settings(derandomize=True, max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(TRICKY) | st.characters(), max_size=60))
def test_joined_tokens_equal_the_tokens_joined(text: str) -> None:
    assert joined_tokens(text) == "\x1f".join(tokens(text)).encode()


def test_joined_tokens_equal_the_tokens_joined_for_every_code_point() -> None:
    """One text per code point of planes 0-1, so each one meets the shortcut on its own."""
    for code in range(0x20000):
        if not 0xD800 <= code < 0xE000:
            text = "a{0}b_{0} {0}z. {0}".format(chr(code))
            assert joined_tokens(text) == "\x1f".join(tokens(text)).encode(), hex(code)


@pytest.mark.parametrize("text", [
    "\u1100\u1161\u11a8 \u1100\u1161",  # conjoining jamo compose into syllables
    "cafe\u0301 e\u0301te\u0301",  # combining acute composes with its letter
    "\u0b47\u0b3e \u0dd9\u0dcf",  # Oriya and Sinhala vowel signs compose
    "x\u0345 \u03b1\u0345",  # ypogegrammeni casefolds to iota
    "Straße İstanbul ǰ",  # multi-character casefolds only
    "Straße cafe\u0301 ﬁn İ\u0301",  # ... and characters NFKC changes
])
def test_batch_composes_like_nfkc(hashing_path: str, text: str) -> None:
    assert np.array_equal(shingle_hashes_batch([text, "plain"], 1, 3)[0],
                          shingle_hashes(text, 1, 3))
    assert tokens(text) == re.findall(TOKEN_PATTERN, unicodedata.normalize("NFKC", text).casefold())


def test_batches_split_by_characters_without_changing_results(
        hashing_path: str, seeds_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [p.read_text(encoding="utf-8") for p in sorted(seeds_dir.glob("*.txt"))]
    texts += ["", "tiny", "東京は日本の首都です", texts[0][:500]]
    whole = shingle_hashes_batch(texts, 5, 1)
    monkeypatch.setattr(shingle, "_BATCH_CHARS", 600)
    batches = list(shingle.shingle_batches(texts, 5, 1))
    assert 5 < len(batches) < len(texts)
    assert sum(len(offsets) - 1 for _, offsets in batches) == len(texts)
    split = shingle_hashes_batch(texts, 5, 1)
    for text, a, b in zip(texts, whole, split, strict=True):
        assert np.array_equal(a, b)
        assert np.array_equal(a, shingle_hashes(text, 5, 1))


def test_compiled_core_rejects_what_it_cannot_read() -> None:
    if shingle._core is None:
        pytest.fail("dedup._core is not built")
    with pytest.raises(TypeError, match="text 1 is bytes"):
        shingle._core_ngram_hashes(["ok", b"raw"], np.zeros(2, np.uint8), 5, 1)  # type: ignore[list-item]
    with pytest.raises(ValueError, match="values holds"):
        shingle._core.shingles(["some words"], np.zeros(1, np.uint8), shingle._table(),
                               shingle._weights(5), 3, 1, 2, np.empty(1, np.uint64),
                               np.empty(2, np.intp), np.empty(1, np.uint8))
