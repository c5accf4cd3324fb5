"""Normalize stage: content terms and their weights."""

from __future__ import annotations

import random
import string

import numpy as np
import pytest
import wordfreq
from hypothesis import given, settings
from hypothesis import strategies as st

import dedup.normalize
from dedup.hash import hash_tokens
from dedup.normalize import _frequencies, _zipf, content_terms, rarity, sentence_terms
from dedup.segment import sentences


def test_stopwords_dropped_and_words_stemmed() -> None:
    terms = content_terms("The ministry approved the deals on Friday")
    assert set(terms) == {"ministri", "approv", "deal", "friday"}


def test_weight_is_the_rarity_of_the_word_not_of_its_stem() -> None:
    # "instanc" and "variabl" are no words: weighed as stems they would count as the rarest.
    terms = content_terms("instances of variables")
    assert terms["instanc"] == rarity("instances") < 5
    assert terms["variabl"] == rarity("variables") < 5


def test_rare_names_outweigh_common_words() -> None:
    terms = content_terms("Peskov said the government")
    assert terms["peskov"] > 2 * terms["govern"]


def test_cjk_text_gives_character_bigrams() -> None:
    assert set(content_terms("印度购买")) == {"印度", "度购", "购买"}


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=80))
def test_ascii_shortcut_agrees_with_the_unicode_path(sentence: str) -> None:
    # A trailing em dash is no word, but sends the sentence down the NFKC/casefold path.
    assert content_terms(sentence) == content_terms(sentence + " \u2014")


def test_zipf_without_the_tokenizer_equals_wordfreq() -> None:
    # Every plain lowercase word of wordfreq's list, and strings it does not hold.
    rng = random.Random(5)
    words = [w for w in _frequencies() if w.isascii() and w.isalpha() and w.islower()]
    words += ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(2, 14)))
              for _ in range(5000)]
    words += ["peskov", "tejas", "Tejas", "2024", "co-op", "naïve", "l'état", "x"]
    # Numbers: every one below 100,000, leading zeros, long ones, mixed with letters.
    words += [str(i) for i in range(100_000)] + ["00", "007", "0000", "0123456", "14th", "f35"]
    words += ["".join(rng.choices(string.digits, k=rng.randint(6, 25))) for _ in range(3000)]
    assert [_zipf(w) for w in words] == [wordfreq.zipf_frequency(w, "en", wordlist="large")
                                         for w in words]


def _python_terms(text: str, spans: list[tuple[int, int]]) -> list[np.ndarray]:
    saved, dedup.normalize._normalize = dedup.normalize._normalize, None
    try:
        return list(sentence_terms(text, spans, 7))
    finally:
        dedup.normalize._normalize = saved


def test_sentence_terms_are_content_terms_hashed() -> None:
    text = "Running runs ran; the runner RUNS.\nO'Neil's co-op paid 2,024 euros — café x."
    spans = sentences(text)
    term, weight, sizes = sentence_terms(text, spans, 7)
    expect = [content_terms(text[a:b]) for a, b in spans]
    assert sizes.tolist() == [len(terms) for terms in expect] and len(spans) == 2
    assert term.tolist() == [int(h) for terms in expect for h in hash_tokens(list(terms), 7)]
    assert weight.tolist() == [w for terms in expect for w in terms.values()]
    assert expect[0]["run"] == rarity("runs") > rarity("running")  # the largest weight


_TEXT = st.text(alphabet=st.sampled_from(list(
    "aAbBzZ09_-'’‘“”«»–—…\u00a0 .,;\néÉÞþÿß×µª\u0301\u0178印度Ss")), max_size=200)


@pytest.mark.skipif(dedup.normalize._normalize is None, reason="built without the C core")
@settings(max_examples=300, deadline=None)
@given(_TEXT, st.lists(st.tuples(st.integers(0, 200), st.integers(0, 200)), max_size=4))
def test_compiled_sentence_terms_equal_the_python_path(
        text: str, extra: list[tuple[int, int]]) -> None:
    spans = sentences(text) + [(min(a, b, len(text)), min(max(a, b), len(text)))
                               for a, b in extra]
    compiled = sentence_terms(text, spans, 7)
    for got, want in zip(compiled, _python_terms(text, spans), strict=True):
        assert got.dtype == want.dtype and got.tolist() == want.tolist()


@pytest.mark.skipif(dedup.normalize._normalize is None, reason="built without the C core")
def test_compiled_sentence_terms_on_long_sentences_and_bad_spans() -> None:
    words = [f"w{i}x" for i in range(3000)]
    text = " ".join(words + words[::-1])  # one sentence, 3,000 terms each seen twice
    spans = [(0, len(text)), (5, 5)]
    for got, want in zip(sentence_terms(text, spans, 7), _python_terms(text, spans),
                         strict=True):
        assert got.tolist() == want.tolist()
    assert sentence_terms(text, spans, 7)[2].tolist() == [3000, 0]
    with pytest.raises(ValueError, match="outside the text"):
        sentence_terms("short", [(0, 6)], 7)


@pytest.mark.skipif(dedup.normalize._normalize is None, reason="built without the C core")
def test_compiled_sentence_terms_equal_the_python_path_for_every_character() -> None:
    """Each code point below U+3000 in words, between them and after an apostrophe."""
    texts = ["Ab{0}cd {0} x{0}'s O’{0}Neil {0}{0}.".format(chr(c)) for c in range(0x80, 0x3000)
             if not 0xD800 <= c < 0xE000]
    text = "\n".join(texts)
    spans = sentences(text)
    for got, want in zip(sentence_terms(text, spans, 7), _python_terms(text, spans),
                         strict=True):
        assert got.tolist() == want.tolist()


@pytest.mark.skipif(dedup.normalize._normalize is None, reason="built without the C core")
def test_word_cache_stops_at_its_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    # Words past the limit are read but not kept: memory stays bounded on a text of
    # novel words (a base64 blob), and their terms are still compared by identity.
    monkeypatch.setattr(dedup.normalize, "_word_cache", {})
    monkeypatch.setattr(dedup.normalize, "_CACHE_LIMIT", 50)
    words = [f"zq{i}x" for i in range(400)]
    text = " ".join([*words, "Running runs", *words[::-1], "RUNS running"])
    spans = [(0, len(text))]
    for got, want in zip(sentence_terms(text, spans, 7), _python_terms(text, spans),
                         strict=True):
        assert got.tolist() == want.tolist()
    assert len(dedup.normalize._word_cache[7]) == 50
    sentence_terms("one more word", [(0, 13)], 7)  # a full cache is emptied first
    assert len(dedup.normalize._word_cache[7]) == 3


@pytest.mark.skipif(dedup.normalize._normalize is None, reason="built without the C core")
def test_word_cache_answers_as_the_python_path_when_it_grows_and_on_long_words(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # 12,000 distinct words grow the table past its first 4,096 slots; words of 22 bytes are
    # the longest kept, longer ones ask Python every time. Each text is checked twice: on
    # misses, then on what the cache holds.
    monkeypatch.setattr(dedup.normalize, "_word_cache", {})
    long_words = ["a" * 21 + "b", "a" * 22 + "c", "Antidisestablishmentarianisms", "x" * 200]
    texts = [" ".join(f"w{i}q{j}" for j in range(12)) + "." for i in range(1000)]
    texts.append(" ".join(long_words + long_words[::-1] + ["café", "Café"]) + ".")
    text = "\n".join(texts)
    spans = sentences(text)
    want = _python_terms(text, spans)
    for _ in range(2):
        for got, expected in zip(sentence_terms(text, spans, 7), want, strict=True):
            assert got.tolist() == expected.tolist()
    assert len(dedup.normalize._word_cache[7]) == 12_000 + 2  # and a * 21 + b, café
