"""Normalize stage: turn a sentence into weighted content terms that survive rewording.

Rewrites keep the content words of a passage (names, numbers, nouns, verbs) while changing
function words, inflection, order and punctuation. A sentence is therefore reduced to the set of
its content-word stems: text is NFKC-normalised and case-folded, function words are dropped,
English words are Snowball-stemmed, numbers and names are kept as anchors. CJK text, which has no
spaces, contributes character bigrams.

Each term carries a weight from its background rarity (``wordfreq``): common words count for
little and rare names for much. The weight depends on the word alone, never on the corpus, so
the local engine, the persistent index and Spark weigh every pair identically.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer
import wordfreq

__all__ = ["STOPWORDS", "content_terms", "rarity"]

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
    if not (word.isascii() and word.isalpha() and word.islower()):
        return wordfreq.zipf_frequency(word, "en", wordlist="large")
    freq = max(_frequencies().get(word, 0.0), wordfreq.zipf_to_freq(0.0))
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
