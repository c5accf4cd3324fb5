"""Document shingles: normalised word tokens -> word n-grams -> sorted unique uint64 hashes.

Text is NFKC-normalised and casefolded. A token is one CJK ideograph or kana, or a word: a
run of other word characters (letters and digits, no underscore) together with the combining
marks that follow them, so Devanagari vowel signs stay inside their word. Word n-grams over
CJK text are therefore character n-grams. A text with fewer than ``ngram`` tokens (but at
least one) gives one shingle of all its tokens; an empty text gives none.

Hashing is uint64 arithmetic (mod 2**64), deterministic on every platform and process: a token
hashes to a polynomial over its code points (mod 2**64) passed through the MurmurHash3
finaliser :func:`mix64` with the seed; an n-gram hashes to a weighted sum of its token hashes
(one odd weight per position) passed through :func:`mix64` again.

:func:`shingle_batches` is the fast path and makes no Python object per token. Each
character is casefolded and classified through one lookup table. The compiled core
(``dedup/_core.c``, built at install) then walks each text once, hashing tokens and n-grams
as it goes; without it, NumPy joins about 128k characters of texts into one array of code
points and finds token boundaries and polynomial hashes with prefix sums. Only texts holding
a character that NFKC or casefolding could change beyond the table (combining marks,
compatibility forms, "ß") are normalised by Python first. :func:`shingle_hashes` tokenises
with :data:`TOKEN_PATTERN` instead; the tests check that all three agree on every code point.
"""

from __future__ import annotations

import functools
import itertools
import re
import threading
import unicodedata
from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import numpy.typing as npt

try:
    from dedup import _core
except ImportError:  # built without a C compiler: the NumPy path computes the same hashes
    _core = None  # type: ignore[assignment]

__all__ = [
    "TOKEN_PATTERN",
    "joined_tokens",
    "mix64",
    "shingle_batches",
    "shingle_hashes",
    "shingle_hashes_batch",
    "splitmix64",
    "tokens",
]

U64 = npt.NDArray[np.uint64]

# Each of these characters is a token on its own (kana, CJK ideographs and their extensions).
_CJK = ("\u3041-\u3096\u309d-\u309f\u30a1-\u30fa\u30fc-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
        "\uf900-\ufaff\U00020000-\U0003ffff")
_CJK_RANGES = ((0x3041, 0x3096), (0x309D, 0x309F), (0x30A1, 0x30FA), (0x30FC, 0x30FF),
               (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3FFFF))


def _mark_ranges() -> list[tuple[int, int]]:
    """Return the ranges of combining marks (categories Mn, Mc, Me) outside the CJK ranges."""
    ranges: list[tuple[int, int]] = []
    # Planes 0-1 and the variation selectors of plane 14 hold every mark up to Unicode 15.
    for code in (*range(0x20000), *range(0xE0100, 0xE01F0)):
        if unicodedata.category(chr(code))[0] != "M" or 0x3040 <= code <= 0x30FF:
            continue
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    return ranges


_MARKS = _mark_ranges()
_MARK_CLASS = "".join(f"{chr(a)}-{chr(b)}" if a < b else chr(a) for a, b in _MARKS)

TOKEN_PATTERN: str = rf"[{_CJK}]|[^\W_{_CJK}](?:[^\W_{_CJK}]|[{_MARK_CLASS}])*"
"""One CJK character, or a word character followed by word characters and combining marks."""

_TOKEN_RE = re.compile(TOKEN_PATTERN)

_M64 = (1 << 64) - 1
_C1 = np.uint64(0xFF51AFD7ED558CCD)
_C2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)
_BASE = 0x100000001B3 * 0x9E3779B97F4A7C15 & _M64 | 1  # odd base of the token polynomial
_SEP = "\x00"  # joins documents in a batch; not a token character
_BATCH_CHARS = 1 << 17  # characters per batch: measured best at 2**17-2**19 (~30-120 articles)


def mix64(x: U64) -> U64:
    """Return the MurmurHash3 64-bit finaliser of each value (a bijection on uint64)."""
    x = x ^ (x >> _S33)
    x *= _C1
    x ^= x >> _S33
    x *= _C2
    x ^= x >> _S33
    return x


def splitmix64(seed: int, n: int) -> list[int]:
    """Return ``n`` pseudo-random 64-bit integers from SplitMix64 started at ``seed``.

    The constants of every hashing stage derive from it, so they are fixed across platforms.
    """
    out = []
    state = seed & _M64
    for _ in range(n):
        state = (state + 0x9E3779B97F4A7C15) & _M64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
        out.append(z ^ (z >> 31))
    return out


@functools.lru_cache(maxsize=64)
def _seed_keys(seed: int) -> tuple[np.uint64, np.uint64]:
    """Return the keys mixed into token and n-gram hashes for ``seed``."""
    a, b = splitmix64(seed ^ 0x5348494E474C45, 2)  # "SHINGLE"
    return np.uint64(a), np.uint64(b)


@functools.lru_cache(maxsize=16)
def _weights(ngram: int) -> U64:
    """Return one odd weight per n-gram position (seed independent)."""
    return np.array([w | 1 for w in splitmix64(0x4E4752414D, ngram)], dtype=np.uint64)


class _Powers:
    """Growing tables of powers of the polynomial base and of its inverse mod 2**64."""

    def __init__(self) -> None:
        self.tables = (np.ones(1, dtype=np.uint64), np.ones(1, dtype=np.uint64))

    def get(self, n: int) -> tuple[U64, U64]:
        powers, inverses = self.tables  # one read: other threads may replace them
        if len(powers) < n:
            size = max(n, 2 * len(powers), 1 << 16)
            base = np.full(size, _BASE, dtype=np.uint64)
            base[0] = 1
            powers = np.cumprod(base, dtype=np.uint64)
            base[1:] = pow(_BASE, -1, 1 << 64)
            inverses = np.cumprod(base, dtype=np.uint64)
            self.tables = (powers, inverses)
        return powers[:n], inverses[:n]


_POWERS = _Powers()


class _Workspace(threading.local):
    """Per-thread buffers reused across batches.

    Fresh multi-megabyte arrays for every batch cost page faults that measured slower than the
    arithmetic itself (79 vs 53 us per document).
    """

    def __init__(self) -> None:
        self.codes: U64 = np.empty(0, dtype=np.uint64)
        self.word: npt.NDArray[np.bool_] = np.empty(0, dtype=bool)
        self.begin: npt.NDArray[np.bool_] = np.empty(0, dtype=bool)

    def get(self, n: int) -> tuple[U64, npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
        if len(self.codes) < n:
            size = max(n, 2 * len(self.codes))
            self.codes = np.empty(size, dtype=np.uint64)
            self.word = np.empty(size, dtype=bool)
            self.begin = np.empty(size, dtype=bool)
        return self.codes[:n], self.word[:n], self.begin[:n]


_WORKSPACE = _Workspace()



# Bits above the 21 bits of a code point in the lookup table.
_CODE = np.uint64((1 << 21) - 1)
_CJK_BIT = 1 << 21
_MARK_BIT = 1 << 22
_PYTHON_BIT = 1 << 23
_EXPAND_BIT = 1 << 24


@functools.lru_cache(maxsize=1)
def _table() -> U64:
    """Return the lookup table of every code point.

    ``table[c]`` is 0 for characters outside tokens, the casefolded code point for word
    characters, and the code point plus ``_CJK_BIT`` or ``_MARK_BIT`` for CJK characters and
    combining marks. ``_PYTHON_BIT`` is added where the table alone could differ from
    ``unicodedata.normalize("NFKC", text).casefold()``: characters that NFKC changes into
    anything but non-token characters, or that NFKC may compose or reorder (combining marks,
    Hangul jamo). Documents holding one are normalised by Python first; the others skip that
    cost. ``_EXPAND_BIT`` marks the other characters whose casefold is longer than one
    character ("ß" -> "ss"); documents holding only those get them replaced.
    """
    fold = np.arange(0x110000, dtype=np.uint32)
    python = np.zeros(0x110000, dtype=bool)
    expand = np.zeros(0x110000, dtype=bool)
    python[0x1100:0x1200] = True  # Hangul jamo compose under NFKC
    changed = []
    # Every casefold, decomposition and combining class lies in planes 0-1 and the CJK
    # compatibility supplement; marks beyond them are in _MARKS.
    for code in (*range(0x80, 0x20000), *range(0x2F800, 0x2FA20)):
        char = chr(code)
        folded = char.casefold()
        if unicodedata.combining(char):
            python[code] = True
        if len(folded) != 1:
            expand[code] = True
        elif folded != char:
            fold[code] = ord(folded)
        if not unicodedata.is_normalized("NFKC", char):
            changed.append(code)
    for code in range(ord("A"), ord("Z") + 1):
        fold[code] = code + 32
    # Surrogates cannot be viewed as str by NumPy and are never word characters.
    word = np.zeros(0x110000, dtype=bool)
    word[:0xD800] = np.strings.isalnum(fold[:0xD800].view("U1"))
    word[0xE000:] = np.strings.isalnum(fold[0xE000:].view("U1"))
    table = np.where(word, fold, 0).astype(np.uint64)
    for a, b in _MARKS:
        python[a:b + 1] = True
        # A mark that casefolds to a letter (U+0345) is a letter in the folded text.
        marks = np.arange(a, b + 1, dtype=np.uint64) | np.uint64(_MARK_BIT)
        table[a:b + 1] = np.where(word[a:b + 1], table[a:b + 1], marks)
    for a, b in _CJK_RANGES:
        table[a:b + 1] = np.arange(a, b + 1, dtype=np.uint64) | np.uint64(_CJK_BIT)
    for code in changed:  # harmless if NFKC only swaps non-token characters (no-break space)
        target = [ord(c) for c in unicodedata.normalize("NFKC", chr(code))]
        if table[code] or table[target].any() or python[target].any():
            python[code] = True
    table[python] |= np.uint64(_PYTHON_BIT)
    table[expand & ~python] |= np.uint64(_EXPAND_BIT)
    return table


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def tokens(text: str) -> list[str]:
    """Return the normalised tokens of ``text`` (see the module docstring)."""
    return _TOKEN_RE.findall(_normalise(text))


#: Characters that make a token other than a run of word characters: CJK, combining marks.
_SPECIAL_RE = re.compile(f"[{_CJK}{_MARK_CLASS}]")
#: UTF-8 bytes to U+001F where the byte is ASCII and no letter or digit, others unchanged.
_GAP_BYTES = bytes(c if c >= 128 or chr(c).isalnum() else 0x1F for c in range(256))
_GAP_RUN = re.compile(rb"\x1f\x1f+")


def joined_tokens(text: str) -> bytes:
    """Return the UTF-8 of the tokens of ``text`` joined by U+001F, without a string per token.

    Without CJK characters and combining marks, tokens are the maximal runs of word
    characters (no underscore): characters that ``str.isalnum``, as ``re`` defines a word
    character (or the underscore). Every other character becomes U+001F, which
    ``bytes.translate`` does for ASCII and ``str.replace`` (to a space first) for the few
    others a text holds; runs of it are then made one and trimmed from the ends. Per generated
    article (2026-12-03): 18 us for that last step against 31 us splitting at the gaps and
    joining the tokens, which took 54 us in all against 208 us for a regular expression
    replacing the gaps in the ``str``.
    """
    norm = _normalise(text)
    if not norm.isascii():
        chars = set(norm)
        if any(map(_SPECIAL_RE.match, chars)):
            return "\x1f".join(_TOKEN_RE.findall(norm)).encode()
        for char in chars:
            if not char.isascii() and not char.isalnum():
                norm = norm.replace(char, " ")
    return _GAP_RUN.sub(b"\x1f", norm.encode().translate(_GAP_BYTES)).strip(b"\x1f")


def _poly_hashes(codes: U64, starts: npt.NDArray[np.intp], seed: int) -> U64:
    """Return the hash of each token; token ``i`` is the non-zero codes from ``starts[i]``.

    ``codes`` holds a 0, then the casefolded code points with 0 between tokens; it is
    overwritten with prefix sums. ``starts`` index ``codes``, so they are at least 1.
    """
    if not len(starts):
        return np.zeros(0, dtype=np.uint64)
    n = len(codes) - 1
    powers, inverses = _POWERS.get(n)
    np.multiply(codes[1:], powers, out=codes[1:])
    np.cumsum(codes, out=codes)
    # Token i spans starts[i] up to the next start: the codes between tokens are 0.
    bounds = codes[np.append(starts, n + 1) - 1]
    return mix64((np.diff(bounds) * inverses[starts - 1]) ^ _seed_keys(seed)[0])


def _ngram_hashes(token_hashes: U64, offsets: npt.NDArray[np.intp], ngram: int,
                  seed: int) -> tuple[U64, npt.NDArray[np.intp]]:
    """Return the n-gram hashes of every document and their offsets.

    Args:
        token_hashes: Token hashes of all documents, concatenated.
        offsets: Start of each document in ``token_hashes``, then its length.
        ngram: Tokens per shingle.
        seed: Hash seed.
    """
    weights = _weights(ngram)
    key = _seed_keys(seed)[1]
    counts = np.diff(offsets)
    width = max(len(token_hashes) - ngram + 1, 0)
    acc = token_hashes[:width] * weights[0]
    for j in range(1, ngram):
        acc += token_hashes[j:j + width] * weights[j]
    full = counts >= ngram
    sizes = np.where(full, counts - ngram + 1, np.minimum(counts, 1))
    out_offsets = np.zeros(len(counts) + 1, dtype=np.intp)
    np.cumsum(sizes, out=out_offsets[1:])
    if full.all():
        positions = np.arange(out_offsets[-1], dtype=np.intp)
        positions += np.repeat(offsets[:-1] - out_offsets[:-1], sizes)
        return mix64((acc[positions] + np.uint64(ngram)) ^ key), out_offsets
    out = np.empty(out_offsets[-1], dtype=np.uint64)
    for doc in range(len(counts)):
        start, count, at = int(offsets[doc]), int(counts[doc]), int(out_offsets[doc])
        if count >= ngram:
            out[at:at + count - ngram + 1] = acc[start:start + count - ngram + 1]
            out[at:at + count - ngram + 1] += np.uint64(ngram)
        elif count:  # fewer tokens than ngram: one shingle of them all
            short = token_hashes[start:start + count] * weights[:count]
            out[at] = np.sum(short, dtype=np.uint64) + np.uint64(count)
    return mix64(out ^ key), out_offsets


def _join_codes(texts: Sequence[str]) -> tuple[U64, npt.NDArray[np.intp]]:
    """Return 0 and the table values of the joined texts, and each text's offset in them."""
    lengths = np.fromiter(map(len, texts), dtype=np.intp, count=len(texts))
    starts = np.zeros(len(texts) + 1, dtype=np.intp)
    np.cumsum(lengths + 1, out=starts[1:])
    joined = _SEP.join(texts)
    if not joined:
        return np.zeros(1, dtype=np.uint64), starts
    raw = np.array(joined).reshape(1).view(np.uint32)
    codes = _WORKSPACE.get(len(raw) + 1)[0]
    codes[0] = 0  # for the prefix sums of _poly_hashes
    np.take(_table(), raw, out=codes[1:], mode="clip")  # mode="raise" would copy
    return codes, starts


def _expand_casefolds(text: str, chars: Iterable[str]) -> str:
    """Replace each of ``chars`` in ``text`` by its casefold ("ß" -> "ss").

    Casefolding works per character, so after the table's single-character folds this is all
    it adds.
    """
    for char in chars:
        text = text.replace(char, char.casefold())
    return text


def _normalised_codes(texts: Sequence[str]) -> tuple[U64, npt.NDArray[np.intp]]:
    """Return :func:`_join_codes` of the texts as if each were NFKC-normalised and casefolded.

    The table casefolds; Python steps in only for texts the table flags: NFKC for those with
    ``_PYTHON_BIT`` characters, then a replacement of each multi-character casefold.
    """
    codes, starts = _join_codes(texts)
    if codes.max() < _PYTHON_BIT:
        return codes, starts
    texts = list(texts)
    settled = np.zeros(len(texts), dtype=bool)  # NFKC applied or not needed
    while True:
        # OR of the table values of each text (and the separator after it); 0 if empty.
        first = starts[:-1] + 1
        flags = np.zeros(len(texts), dtype=np.uint64)
        filled = first < len(codes)
        flags[filled] = np.bitwise_or.reduceat(codes, first[filled])
        needs_nfkc = (flags & np.uint64(_PYTHON_BIT)).astype(bool) & ~settled
        needs_expand = (flags & np.uint64(_EXPAND_BIT)).astype(bool) & ~needs_nfkc
        if not needs_nfkc.any() and not needs_expand.any():
            codes &= ~np.uint64(_PYTHON_BIT | _EXPAND_BIT)  # what remains is normalised
            return codes, starts
        nfkc, expand = np.flatnonzero(needs_nfkc), np.flatnonzero(needs_expand)
        for doc in nfkc.tolist():
            texts[doc] = unicodedata.normalize("NFKC", texts[doc])
        for doc in expand.tolist():
            text = codes[starts[doc] + 1:starts[doc + 1]]
            flagged = np.unique(text[(text & np.uint64(_EXPAND_BIT)) != 0] & _CODE)
            texts[doc] = _expand_casefolds(texts[doc], map(chr, flagged.tolist()))
        settled[nfkc] = True
        settled[expand] = True
        codes, starts = _join_codes(texts)


def _batch_token_hashes(texts: Sequence[str], seed: int) -> tuple[U64, npt.NDArray[np.intp]]:
    """Return the token hashes of all texts, concatenated, and each text's token offsets."""
    codes, starts = _normalised_codes(texts)
    top = int(codes.max())
    if top < _CJK_BIT:  # only word characters: tokens are the runs of non-zero codes
        _, word, begin = _WORKSPACE.get(len(codes))
        np.not_equal(codes, 0, out=word)
        begin[:1] = word[:1]
        np.greater(word[1:], word[:-1], out=begin[1:])
    else:
        cjk = (codes & np.uint64(_CJK_BIT)) != 0
        mark = (codes & np.uint64(_MARK_BIT)) != 0
        codes &= _CODE
        word = (codes != 0) & ~cjk  # word characters and marks
        if (mark[1:] & ~word[:-1]).any():
            # A mark joins the token of the nearest preceding non-mark character if that is a
            # word character; otherwise (after a space, a symbol, CJK) it joins no token.
            last = np.where(mark, -1, np.arange(len(mark)))
            np.maximum.accumulate(last, out=last)
            orphan = mark & ~word[last]
            codes[orphan] = 0
            word &= ~orphan
        begin = word.copy()
        begin[1:] &= ~word[:-1]
        begin |= cjk
    token_starts = np.flatnonzero(begin)
    hashes = _poly_hashes(codes, token_starts, seed)
    return hashes, np.searchsorted(token_starts, starts + 1).astype(np.intp)


# Flags of the compiled core for a text it left to Python (the enum in _core.c).
_NEEDS_NFKC, _NEEDS_EXPAND = 1, 2


def _core_ngram_hashes(texts: list[str], settled: npt.NDArray[np.uint8], ngram: int,
                       seed: int) -> tuple[U64, npt.NDArray[np.intp], npt.NDArray[np.uint8]]:
    """Return the compiled core's n-gram hashes, offsets and flags of ``texts``."""
    values = np.empty(sum(map(len, texts)) + len(texts), dtype=np.uint64)
    offsets = np.empty(len(texts) + 1, dtype=np.intp)
    flags = np.empty(len(texts), dtype=np.uint8)
    token_key, ngram_key = _seed_keys(seed)
    count = _core.shingles(texts, settled, _table(), _weights(ngram), _BASE, int(token_key),
                           int(ngram_key), values, offsets, flags)
    return values[:count].copy(), offsets, flags


def _compiled_ngram_hashes(texts: Sequence[str], ngram: int,
                           seed: int) -> tuple[U64, npt.NDArray[np.intp]]:
    """Return what :func:`_ngram_hashes` of :func:`_batch_token_hashes` returns, compiled.

    The core skips each text holding a character the table cannot settle (``_NEEDS_NFKC``:
    NFKC may change it; ``_NEEDS_EXPAND``: a multi-character casefold). Python normalises them as
    :func:`_normalised_codes` does, and the core hashes them again.
    """
    texts = list(texts)
    settled = np.zeros(len(texts), dtype=np.uint8)
    values, offsets, flags = _core_ngram_hashes(texts, settled, ngram, seed)
    while flags.any():
        rows = np.flatnonzero(flags)
        for row in rows.tolist():
            text = texts[row]
            if flags[row] == _NEEDS_NFKC:
                texts[row] = unicodedata.normalize("NFKC", text)
            else:  # _NEEDS_EXPAND
                chars = list(set(text))
                codes = np.fromiter(map(ord, chars), dtype=np.intp, count=len(chars))
                expand = (_table()[codes] & np.uint64(_EXPAND_BIT)) != 0
                texts[row] = _expand_casefolds(text, itertools.compress(chars, expand.tolist()))
        settled[rows] = 1
        again, again_offsets, flags[rows] = _core_ngram_hashes(
            [texts[row] for row in rows.tolist()], settled[rows], ngram, seed)
        counts = np.diff(again_offsets)
        values = np.insert(values, np.repeat(offsets[rows], counts), again)  # rows had none
        sizes = np.diff(offsets)
        sizes[rows] = counts
        offsets[1:] = np.cumsum(sizes)
    return values, offsets


def _check(ngram: int) -> None:
    if ngram < 1:
        raise ValueError(f"ngram must be at least 1, got {ngram}")


def _split(values: U64, offsets: npt.NDArray[np.intp]) -> list[U64]:
    return [np.unique(values[a:b]) for a, b in itertools.pairwise(offsets.tolist())]


def shingle_hashes(text: str, ngram: int, seed: int) -> U64:
    """Return the sorted unique uint64 hashes of the word n-grams of ``text``.

    Args:
        text: Raw text; it is normalised here.
        ngram: Tokens per shingle (characters for CJK text).
        seed: Hash seed; hashes are only comparable for equal seeds.
    """
    _check(ngram)
    toks = tokens(text)
    lengths = np.fromiter(map(len, toks), dtype=np.intp, count=len(toks))
    ends = np.cumsum(lengths, dtype=np.intp)
    codes = np.zeros(int(lengths.sum()) + 1, dtype=np.uint64)
    if len(codes) > 1:
        codes[1:] = np.array("".join(toks)).reshape(1).view(np.uint32)
    hashes = _poly_hashes(codes, ends - lengths + 1, seed)
    values, offsets = _ngram_hashes(hashes, np.array([0, len(toks)], dtype=np.intp), ngram, seed)
    return _split(values, offsets)[0]


def shingle_batches(texts: Sequence[str], ngram: int,
                    seed: int) -> Iterator[tuple[U64, npt.NDArray[np.intp]]]:
    """Yield the n-gram hashes of consecutive batches of texts (about 128k characters each).

    Each item is ``(values, offsets)``: text ``i`` of the batch owns
    ``values[offsets[i]:offsets[i + 1]]``, unsorted and with repeats, which is what MinHash
    needs; ``len(offsets) - 1`` texts per batch, in order.
    """
    _check(ngram)
    start = 0
    while start < len(texts):
        stop, chars = start + 1, len(texts[start])
        while stop < len(texts) and chars + len(texts[stop]) <= _BATCH_CHARS:
            chars += len(texts[stop])
            stop += 1
        if _core is not None:
            yield _compiled_ngram_hashes(texts[start:stop], ngram, seed)
        else:
            hashes, token_offsets = _batch_token_hashes(texts[start:stop], seed)
            yield _ngram_hashes(hashes, token_offsets, ngram, seed)
        start = stop


def shingle_hashes_batch(texts: Sequence[str], ngram: int, seed: int) -> list[U64]:
    """Return :func:`shingle_hashes` of every text, computed a batch at a time."""
    _check(ngram)
    return [row for values, offsets in shingle_batches(texts, ngram, seed)
            for row in _split(values, offsets)]
