"""A seeded, reproducible news-like corpus at any size, with planted near-duplicates.

For the speed and scale benchmarks: documents of ~630 words (20-45 sentences in paragraphs,
with a headline), made mostly of sentences drawn from English word frequencies (wordfreq,
offline) with names, numbers and the Unicode of real news: curly quotes and apostrophes, em and
en dashes, accented names, no-break spaces, and in one document in ~30 a name with ``ß`` or
``İ`` (whose casefold is longer: such documents need Python's normalisation in dedup's
tokeniser). About 10% of the articles quote 1-4 sentences in Russian, Ukrainian, Greek, Chinese
or Japanese, and 3% are written in one of those languages or in German or French. Some sentences
are real prose read at run time from ``seeds/`` and the Clough & Stevenson corpus
(``../shared/data/clough-stevenson``, skipped when absent), through ``bench/syndication.py``'s
paths and reader; the output depends on which of them are present.

A share of the documents (``copy_share``) copy a recent earlier one; each copy is recorded as a
planted pair ``(source, copy)`` with its kind (``KINDS``), from exact copies to heavy rewrites
and excerpts, so their exact Jaccard spans 0.1-1 and LSH recall can be measured around any
threshold.

    from corpus import make, stream
    corpus = make(100_000, seed=1)   # corpus.texts, corpus.pairs (m, 2), corpus.kinds
    for doc in stream(1_000_000): ...  # CorpusDoc(index, text, source, kind), constant memory

    python bench/corpus.py --docs 100000 --seed 1 [--out corpus.jsonl]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import blingfire
import numpy as np
import wordfreq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from syndication import CLOUGH, SEEDS, _read

__all__ = ["KINDS", "Corpus", "CorpusDoc", "make", "stream"]

#: Kinds of planted copy, with their share of the copies.
KINDS = {
    "exact": 0.10,        # the same text
    "boilerplate": 0.15,  # an outlet line before and after
    "trimmed": 0.15,      # the first 45-90% of the sentences
    "edited": 0.20,       # 1-3 words changed in 15-45% of the sentences
    "rewrite": 0.25,      # 25-75% of the sentences replaced, the rest edited, some reordered
    "excerpt": 0.15,      # 15-40% of the sentences inside a new article
}
WINDOW = 2000  # a copy's source is one of the last WINDOW originals
FOREIGN = ("ru", "uk", "el", "zh", "ja", "de", "fr")
_NO_SPACE = {"zh", "ja"}
_FIRST = ("José", "Zoë", "François", "Łukasz", "Søren", "Björn", "Chloé", "Renée", "Jürgen",
          "María", "Ngozi", "Siobhán", "Zoltán", "Dmitry", "Ana", "Thomas", "Sarah",
          "David", "Emma", "James", "Olivia", "Mohammed", "Priya", "Wei", "Hiroshi", "Kwame",
          "Lucía", "Ángel", "Oğuz", "Mikael", "Anaïs", "Noël", "Rachel", "Peter", "Laura")
_LAST = ("Álvarez", "Müller", "Wróbel", "Dvořák", "Nguyễn", "Ólafsson", "Çelik", "Kovač",
         "García", "Søndergaard", "Lefèvre", "Brontë", "O’Brien", "Smith",
         "Johnson", "Brown", "Patel", "Khan", "Chen", "Tanaka", "Okafor", "Novak", "Rossi",
         "Schmidt", "Dubois", "Ivanov", "Papadopoulos", "Kowalski", "Jensen", "Walker")
# Names whose casefold is longer than the name (ß, İ): rare in English news, so rare here.
_RARE = ("Weiß", "Großmann", "İlkay Gündoğan", "Strauß", "İstanbul", "Meißner", "Roßbach")
_OUTLETS = ("Reuters", "AP", "AFP", "Bloomberg", "The Guardian", "Le Monde", "Der Spiegel",
            "El País", "Ria Novosti", "Kathimerini", "NHK", "Xinhua")
_SAID = (" said", " told reporters", " said on Tuesday", " added", " wrote in a statement")
_SLICES = 1 << 22
_END = "\x01"
_WORD_SHARE, _NAME_SHARE, _NUMBER_SHARE, _DASH_SHARE = 0.93, 0.04, 0.025, 0.005
_RARE_SHARE = 0.00005  # one document in ~30 holds one


@dataclass(frozen=True)
class CorpusDoc:
    """One generated document: its index, text, and for a copy its source's index and kind."""

    index: int
    text: str
    source: int = -1
    kind: str = ""


@dataclass(frozen=True)
class Corpus:
    """Generated texts and their planted pairs (``pairs[i] = (source, copy)``, ``kinds[i]``)."""

    texts: list[str]
    pairs: np.ndarray
    kinds: list[str]


class _Lexicon:
    """Words to draw from, with cumulative weights, in plain and derived forms.

    ``forms[k * size + i]`` is item ``i`` in form ``k``, followed by its separator: 0 plain,
    1 capitalised (sentence start), 2 with a full stop (and ``_END``), 3 with a comma,
    4 capitalised with an opening quote.
    """

    def __init__(self, items: list[str], weights: np.ndarray) -> None:
        self.size = len(items)
        # Item of each of 2**22 equal slices of [0, 1) (searchsorted per draw is ~50x slower).
        cdf = np.cumsum(weights / weights.sum())
        self.table = np.minimum(np.searchsorted(cdf, (np.arange(_SLICES) + 0.5) / _SLICES),
                                self.size - 1).astype(np.int32)
        capital = [w[:1].upper() + w[1:] for w in items]
        self.forms = [*(w + " " for w in items), *(w + " " for w in capital),
                      *(w + "." + _END for w in items), *(w + ", " for w in items),
                      *("“" + w + " " for w in capital)]
        encoded = [f.encode("utf-8") for f in self.forms]
        self.blob = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        self.lengths = np.array([len(e) for e in encoded], dtype=np.intp)
        self.offsets = np.cumsum(self.lengths) - self.lengths

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.table[rng.integers(0, _SLICES, n)].astype(np.intp)

    def text(self, ids: np.ndarray) -> str:
        """The forms ``ids`` concatenated (a byte gather: ~20x faster than ``str.join``)."""
        lengths = self.lengths[ids]
        ends = np.cumsum(lengths)
        index = np.repeat(self.offsets[ids] - (ends - lengths), lengths)
        index += np.arange(len(index))
        return str(self.blob[index].tobytes().decode("utf-8"))


def _zipf(words: list[str]) -> np.ndarray:
    return 1.0 / (np.arange(len(words), dtype=np.float64) + 10.0)


@lru_cache(maxsize=1)
def _english() -> _Lexicon:
    words = [w.replace("'", "’") for w in wordfreq.top_n_list("en", 30000)
             if w.replace("'", "").isalpha()]
    rng = np.random.default_rng(0x4E414D45)
    names = [f"{_FIRST[a]} {_LAST[b]}" for a, b in rng.integers(0, [len(_FIRST), len(_LAST)],
                                                                 (600, 2))]
    names += [f"{_LAST[b]}’s" for b in range(len(_LAST))]
    numbers = [str(int(x)) for x in rng.integers(2, 100, 200)]
    numbers += [f"{int(x):,}" for x in rng.integers(1000, 5_000_000, 300)]
    numbers += [f"{x:.1f}%" for x in rng.random(200) * 40]
    numbers += [f"{c}{x:.1f}{u}" for c, x, u in zip(rng.choice(list("£€$"), 300),
                                                      rng.random(300) * 90 + 1,
                                                      rng.choice(["m", "bn", " million"], 300),
                                                      strict=True)]
    numbers += [f"{int(x)}\u00a0km" for x in rng.integers(2, 900, 50)]  # no-break space
    numbers += [str(y) for y in range(1950, 2026)] + [f"{d}s" for d in range(1950, 2030, 10)]
    dashes = ["—", "–", "…"]
    weights = np.concatenate([
        np.full(len(_RARE), _RARE_SHARE / len(_RARE)),
        _zipf(words) / _zipf(words).sum() * _WORD_SHARE,
        np.full(len(names), _NAME_SHARE / len(names)),
        np.full(len(numbers), _NUMBER_SHARE / len(numbers)),
        np.array([0.7, 0.2, 0.1]) * _DASH_SHARE,
    ])
    return _Lexicon([*_RARE, *words, *names, *numbers, *dashes], weights)


@cache
def _foreign(lang: str) -> _Lexicon:
    words = [w for w in wordfreq.top_n_list(lang, 20000) if w.isalpha()]
    if lang == "el":  # wordfreq casefolds the final sigma
        words = [w[:-1] + "ς" if w.endswith("σ") else w for w in words]
    return _Lexicon(words, _zipf(words))


@lru_cache(maxsize=1)
def _real_sentences() -> list[str]:
    """Real prose sentences (seeds, Clough & Stevenson) of 8-60 words; empty if none found."""
    paths = sorted(SEEDS.glob("*.txt"))
    if CLOUGH.is_dir():
        paths += sorted(CLOUGH.glob("*.txt"))
    found: dict[str, None] = {}
    for path in paths:
        text = " ".join(_read(path).split())
        for sentence in blingfire.text_to_sentences(text).split("\n"):
            if 8 <= len(sentence.split()) <= 60:
                found[sentence] = None
    return list(found)


class _Writer:
    """Writes English articles a batch at a time (one NumPy pass and one join per batch)."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.en = _english()
        self.real = _real_sentences()
        self._ready: list[list[str]] = []

    def _batch(self, n_articles: int) -> list[list[str]]:
        """The sentences of ``n_articles`` English articles of ~630 words."""
        rng, size = self.rng, self.en.size
        targets = np.cumsum(np.clip(rng.normal(630, 110, n_articles), 300, 1100).astype(np.intp))
        lengths = rng.integers(6, 36, int(targets[-1]) // 6 + 1)
        ends = np.cumsum(lengths)
        cuts = np.searchsorted(ends, targets) + 1  # sentences up to each article's end
        ends = ends[:cuts[-1]]
        starts = ends - lengths[:cuts[-1]]
        ids = self.en.draw(rng, int(ends[-1]))
        flags = rng.random(len(ids) + 2 * len(ends))
        ids[flags[:len(ids)] < 0.05] += 3 * size  # a comma
        ids[starts] %= size
        ids[starts] += size  # capitalised
        quoted = flags[len(ids):len(ids) + len(ends)] < 0.08
        ids[starts[quoted]] += 3 * size  # an opening quote
        ids[ends - 1] %= size
        ids[ends - 1] += 2 * size  # a full stop
        # Every form ends with its separator: one join and one split make the sentences.
        out = self.en.text(ids).split(_END)[:-1]
        for i in np.flatnonzero(quoted).tolist():
            first, last = rng.integers(0, [len(_FIRST), len(_LAST)])
            out[i] = f"{out[i][:-1]},” {_FIRST[first]} {_LAST[last]}{_SAID[i % len(_SAID)]}."
        if self.real:
            real = np.flatnonzero(flags[len(ids) + len(ends):] < 0.05)
            for i, pick in zip(real.tolist(), rng.integers(len(self.real), size=len(real)).tolist(),
                               strict=True):
                out[i] = self.real[pick]
        bounds = [0, *cuts.tolist()]
        return [out[lo:hi] for lo, hi in itertools.pairwise(bounds)]

    def english(self) -> list[str]:
        """The sentences of a new English article (~630 words)."""
        if not self._ready:
            self._ready = self._batch(256)[::-1]
        return self._ready.pop()

    def foreign(self, lang: str, n_sentences: int) -> list[str]:
        """``n_sentences`` sentences in ``lang``."""
        lexicon = _foreign(lang)
        lengths = self.rng.integers(5, 25, n_sentences)
        ends = np.cumsum(lengths)
        ids = lexicon.draw(self.rng, int(ends[-1]))
        ids[ends - lengths] += lexicon.size  # capitalised
        ids[ends - 1] += 2 * lexicon.size  # a full stop
        text = lexicon.text(ids)
        if lang in _NO_SPACE:
            text = text.replace(" ", "").replace("." + _END, "。" + _END)
        return text.split(_END)[:-1]

    def article(self) -> list[str]:
        """The sentences of a new article (~630 words)."""
        rng = self.rng
        kind = rng.random()
        if kind < 0.03:
            lang = FOREIGN[int(rng.integers(len(FOREIGN)))]
            n_words = int(np.clip(rng.normal(630, 110), 300, 1100))
            return self.foreign(lang, max(8, n_words // (30 if lang in _NO_SPACE else 15)))
        sents = self.english()
        if kind < 0.13:  # a quote from the foreign press
            lang = FOREIGN[int(rng.integers(5))]
            at = int(rng.integers(len(sents)))
            quote = self.foreign(lang, int(rng.integers(1, 5)))
            quote[0], quote[-1] = "“" + quote[0], quote[-1] + "”"
            sents[at:at] = quote
        return sents

    def edit(self, sentence: str, changes: int) -> str:
        if not changes:
            return sentence
        words = sentence.split(" ")
        new = self.en.draw(self.rng, changes).tolist()
        for at, word in zip(self.rng.integers(len(words), size=changes).tolist(), new,
                            strict=True):
            words[at] = self.en.forms[word][:-1]  # the plain form without its separator
        return " ".join(words)

    def copy(self, source: list[str], kind: str) -> list[str]:
        """A copy of the sentences of ``source``, made the way ``kind`` says."""
        rng, n = self.rng, len(source)
        if kind == "exact":
            return source
        if kind == "boilerplate":
            outlet = _OUTLETS[int(rng.integers(len(_OUTLETS)))]
            return [f"{outlet} —", *source, f"© 2024 {outlet}. All rights reserved."]
        if kind == "trimmed":
            return source[:max(1, int(n * rng.uniform(0.45, 0.9)))]
        if kind == "edited":
            out = list(source)
            for i in np.flatnonzero(rng.random(n) < rng.uniform(0.15, 0.45)).tolist():
                out[i] = self.edit(out[i], int(rng.integers(1, 4)))
            return out
        if kind == "rewrite":
            out = list(source)
            replaced = rng.random(n) < rng.uniform(0.25, 0.75)
            fresh = iter(self.english())
            for i in range(n):
                out[i] = (next(fresh, out[i]) if replaced[i]
                          else self.edit(out[i], int(rng.integers(0, 3))))
            for _ in range(int(rng.integers(0, 3))):  # move a sentence
                out.insert(int(rng.integers(n)), out.pop(int(rng.integers(n))))
            return out
        if kind == "excerpt":
            take = max(2, int(n * rng.uniform(0.15, 0.4)))
            start = int(rng.integers(max(1, n - take + 1)))
            host = self.english()
            host = host[:int(len(host) * rng.uniform(0.4, 0.9))]
            at = int(rng.integers(len(host) + 1))
            return host[:at] + source[start:start + take] + host[at:]
        raise ValueError(f"unknown copy kind {kind!r}")


def _render(sentences: list[str], rng: np.random.Generator) -> str:
    """A headline, then paragraphs of 1-5 sentences."""
    headline = " ".join(sentences[0].split(" ")[:int(rng.integers(5, 11))]).rstrip(",.;:")
    marked = [headline + _END, *sentences]
    for at in np.cumsum(rng.integers(1, 6, len(sentences) // 2 + 1)).tolist():
        if at >= len(sentences):
            break
        marked[at] += _END  # the last sentence of a paragraph
    return " ".join(marked).replace(_END + " ", "\n\n").removesuffix(_END)


def stream(n_docs: int, seed: int = 1, *, copy_share: float = 0.12) -> Iterator[CorpusDoc]:
    """Yield ``n_docs`` documents; the same arguments (and sources present) give the same texts.

    Args:
        n_docs: Documents to make.
        seed: Random seed.
        copy_share: Share of the documents that copy a recent earlier one.
    """
    writer = _Writer(seed)
    rng = writer.rng
    kinds = list(KINDS)
    cdf = np.cumsum(list(KINDS.values()))
    recent: list[tuple[int, list[str]]] = []
    for index in range(n_docs):
        if recent and rng.random() < copy_share:
            kind = kinds[min(int(np.searchsorted(cdf, rng.random() * cdf[-1])), len(kinds) - 1)]
            source, sents = recent[int(rng.integers(len(recent)))]
            yield CorpusDoc(index, _render(writer.copy(sents, kind), rng), source, kind)
            continue
        sents = writer.article()
        recent.append((index, sents))
        if len(recent) > WINDOW:
            recent.pop(0)
        yield CorpusDoc(index, _render(sents, rng))


def make(n_docs: int, seed: int = 1, *, copy_share: float = 0.12) -> Corpus:
    """Return ``n_docs`` documents with their planted pairs (see :func:`stream`)."""
    texts: list[str] = []
    pairs: list[tuple[int, int]] = []
    kinds: list[str] = []
    for doc in stream(n_docs, seed, copy_share=copy_share):
        texts.append(doc.text)
        if doc.source >= 0:
            pairs.append((doc.source, doc.index))
            kinds.append(doc.kind)
    return Corpus(texts, np.array(pairs, dtype=np.int64).reshape(-1, 2), kinds)


def main(argv: list[str] | None = None) -> int:
    """Command line: make a corpus, print its statistics, optionally write it as JSONL."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=10_000, help="documents to make")
    parser.add_argument("--seed", type=int, default=1, help="random seed")
    parser.add_argument("--out", type=Path, help="write {id, text, source, kind} JSONL here")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    words = chars = copies = 0
    out = args.out.open("w", encoding="utf-8") if args.out else None
    try:
        for doc in stream(args.docs, args.seed):
            words += len(doc.text.split())
            chars += len(doc.text)
            copies += doc.source >= 0
            if out:
                record = {"id": str(doc.index), "text": doc.text}
                if doc.source >= 0:
                    record.update(source=str(doc.source), kind=doc.kind)
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
    finally:
        if out:
            out.close()
    seconds = time.perf_counter() - started
    print(f"{args.docs} documents in {seconds:.1f} s ({args.docs / seconds:,.0f} docs/s): "
          f"{words / max(args.docs, 1):.0f} words and {chars / max(args.docs, 1):.0f} characters "
          f"per document, {copies} planted copies; {len(_real_sentences())} real sentences "
          "available", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
