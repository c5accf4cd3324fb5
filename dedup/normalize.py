"""Normalize stage: turn a sentence into weighted content terms that survive rewording.

Rewrites keep the content words of a passage (names, numbers, nouns, verbs) while changing
function words, inflection, order and punctuation. A sentence is therefore reduced to the set of
its content-word stems: text is NFKC-normalised and case-folded, function words are dropped,
English words are Snowball-stemmed, numbers and names are kept as anchors. CJK text, which has no
spaces, contributes character bigrams.

Each term carries a weight from its background rarity (``wordfreq``): common words count for
little and rare names for much. The weight depends on the word alone, never on the corpus, so
the local engine, the persistent index and Spark weigh every pair identically.

:func:`sentence_terms` gives the terms of every sentence of a document hashed, as the sentence
table reads them. Its loop over words is compiled (``dedup/_normalize.c``) for ASCII sentences;
the rules themselves (stop words, stems, weights) stay here, applied once per distinct word.
"""

from __future__ import annotations

import functools
import math
import re
import sys
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import Stemmer
import wordfreq
from wordfreq.numbers import digit_freq, smash_numbers

from dedup.hash import hash_token, hash_tokens

try:
    from dedup import _normalize
except ImportError:  # built without a C compiler: the Python path computes the same entries
    _normalize = None  # type: ignore[assignment]

__all__ = ["STOPWORDS", "content_terms", "rarity", "sentence_terms"]

_STOPWORDS_TEXT = """
a about above after again against all almost also although am among an and another any
are around as at be became because become been before being below between both but by
can could did do does doing done down during each either even ever every few for from
further had has have having he her here hers herself him himself his how however i if in
into is it its itself just least less made make makes many may me might more most much
must my myself no nor not now of off often on once one only or other others our ours
ourselves out over own per perhaps rather said same say says several shall she should
since so some such than that the their theirs them themselves then there these they this
those though through thus to too under until up upon us very via was we were what
whatever when where whether which while who whom whose why will with within without
would yet you your yours yourself yourselves
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())

_WORD = re.compile(r"\w+(?:[-'’]\w+)*")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_POSSESSIVE = re.compile(r"['’]s$")
_stem = Stemmer.Stemmer("english").stemWord

#: Weight of a word as frequent as "the"; every term weighs at least this much.
MIN_WEIGHT = 0.5
#: Zipf frequency above which a word weighs ``MIN_WEIGHT`` (wordfreq's scale tops out near 8).
_ZIPF_CEILING = 7.0


@lru_cache(maxsize=1)
def _frequencies() -> dict[str, float]:
    return wordfreq.get_frequency_dict("en", wordlist="large")


def _zipf(word: str) -> float:
    """Return ``wordfreq.zipf_frequency(word, "en", wordlist="large")``, faster.

    Plain lowercase ASCII words are their own single token, so they skip wordfreq's tokenizer
    and are looked up in its list directly (whose frequencies are already rounded). The
    tokenizer was a quarter of profiling an article in a fresh process, where every word is new
    (``dedup index check``, Spark workers, the first minutes of ``dedup filter``).
    """
    if word.isascii() and word.isdigit():
        return _number_zipf(word)
    if not (word.isascii() and word.isalpha() and word.islower()):
        return wordfreq.zipf_frequency(word, "en", wordlist="large")
    freq = max(_frequencies().get(word, 0.0), wordfreq.zipf_to_freq(0.0))
    return round(wordfreq.freq_to_zipf(freq), 2)


def _number_zipf(digits: str) -> float:
    """Return ``_zipf`` of a string of ASCII digits, as wordfreq 3.1 computes it for one token.

    News numbers are mostly new words (a fresh article brings ~10), and the tokenizer was two
    thirds of wordfreq's 19 us per number. Below are the steps of wordfreq's
    ``_word_frequency`` for one token, with its own ``smash_numbers`` and ``digit_freq``;
    tests/test_normalize.py compares the result with ``zipf_frequency`` on 0-99999 and more.
    """
    minimum = wordfreq.zipf_to_freq(0.0)
    smashed = smash_numbers(digits)
    freq = _frequencies().get(smashed)
    if freq is None:
        return round(wordfreq.freq_to_zipf(minimum), 2)
    if smashed != digits:
        freq *= digit_freq(digits)
    freq = max(freq, minimum)
    freq = round(freq, math.floor(-math.log(freq, 10)) + 3)  # 3 significant digits
    return round(wordfreq.freq_to_zipf(freq), 2)


@lru_cache(maxsize=1 << 18)
def rarity(word: str) -> float:
    """Return the background rarity weight of a (case-folded) word: ``7 - zipf``, at least 0.5."""
    return max(MIN_WEIGHT, _ZIPF_CEILING - _zipf(word))


@lru_cache(maxsize=1 << 18)
def _term(word: str) -> tuple[str, float] | None:
    """Return a word's term and weight; the weight is the rarity of the word, not the stem."""
    word = _POSSESSIVE.sub("", word.replace("’", "'"))
    if len(word) < 2 and not word.isdigit():
        return None
    if word in STOPWORDS:
        return None
    if word.isascii() and word.isalpha():
        return str(_stem(word)), rarity(word)
    return word, rarity(word)


def content_terms(sentence: str) -> dict[str, float]:
    """Return the content terms of a sentence with their rarity weights.

    Args:
        sentence: One sentence of original text.

    Returns:
        A mapping from term (stem, number, name or CJK bigram) to its weight.
    """
    terms: dict[str, float] = {}
    if sentence.isascii():  # NFKC leaves ASCII alone, casefold is lower, and there is no CJK
        words = _WORD.findall(sentence.lower())
    else:
        text = unicodedata.normalize("NFKC", sentence).casefold()
        for run in _CJK.findall(text):
            for i in range(max(1, len(run) - 1)):
                terms[run[i : i + 2]] = rarity(run[i : i + 2])
        words = _WORD.findall(_CJK.sub(" ", text))
    for word in words:
        found = _term(word)
        if found is not None and found[1] > terms.get(found[0], 0.0):
            terms[found[0]] = found[1]
    return terms


#: Words whose hashed terms :func:`sentence_terms` keeps per seed (56-112 bytes each).
_CACHE_LIMIT = 1 << 18
_word_cache: dict[int, _normalize.WordTable] = {}


def _hashed_term(word: str, seed: int) -> tuple[str, int, float] | None:
    """Return a word's term (interned, so equal terms are one object), its hash and weight."""
    found = _term(word)
    if found is None:
        return None
    return sys.intern(found[0]), hash_token(found[0], seed), found[1]


def _hashed_terms(sentence: str, seed: int) -> list[tuple[int, float]]:
    """Return the content terms of a sentence as (hash, weight) pairs, in order."""
    terms = content_terms(sentence)
    return list(zip(hash_tokens(list(terms), seed).tolist(), terms.values(), strict=True))


def sentence_terms(text: str, spans: Sequence[tuple[int, int]],
                   seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the content terms of the sentences ``text[start:end]``, hashed with ``seed``.

    Each sentence gives :func:`content_terms`, its terms replaced by their
    :func:`~dedup.hash.hash_tokens` hashes, in the dict's order.

    Args:
        text: The original document text.
        spans: ``(start, end)`` of each sentence.
        seed: xxh3 seed of the term hashes.

    Returns:
        The term hashes (uint64) and weights (float64) of all sentences, one sentence after
        the other, and the number of terms of each sentence (int64).
    """
    if _normalize is None:
        pairs = [_hashed_terms(text[start:end], seed) for start, end in spans]
        flat = [pair for sentence in pairs for pair in sentence]
        return (np.array([h for h, _ in flat], dtype=np.uint64),
                np.array([w for _, w in flat], dtype=np.float64),
                np.array([len(sentence) for sentence in pairs], dtype=np.int64))
    cache = _word_cache.get(seed)
    if cache is None:
        cache = _word_cache[seed] = _normalize.WordTable()
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    term, weight, sizes = _normalize.terms(text, spans, cache, _CACHE_LIMIT,
                                           functools.partial(_hashed_term, seed=seed),
                                           functools.partial(_hashed_terms, seed=seed))
    return (np.frombuffer(term, dtype=np.uint64), np.frombuffer(weight, dtype=np.float64),
            np.frombuffer(sizes, dtype=np.int64))
