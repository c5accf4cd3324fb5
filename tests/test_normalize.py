"""Normalize stage: content terms and their weights."""

from __future__ import annotations

import random
import string

import wordfreq
from hypothesis import given
from hypothesis import strategies as st

from dedup.normalize import _frequencies, _zipf, content_terms, rarity


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
    assert [_zipf(w) for w in words] == [wordfreq.zipf_frequency(w, "en", wordlist="large")
                                         for w in words]
