"""Segment stage: split a text into sentence spans (character offsets into the original text).

Sentence splitting itself is blingfire's; this module only decides where lines end. News text
puts one paragraph (or one sentence) per line, while plain-text corpora hard-wrap sentences at
about 70 columns. A newline is a soft wrap, joined to a space before splitting, when the line
before it does not end a sentence and the next line starts in lower case; every other newline
ends a sentence. Replacing one character by one character keeps all offsets valid.
"""

from __future__ import annotations

import ctypes
import re

import blingfire

__all__ = ["Span", "sentences"]

Span = tuple[int, int]

_TERMINAL = frozenset('.!?:;"”’)»。！？')
_LINE = re.compile(r"[^\n]+")
_NEWLINE = re.compile("\n")
_CJK_STOP = re.compile(r"(?<=[。！？])")
_TEXT_TO_SENTENCES = blingfire.blingfire.TextToSentences  # int (char*, int, char*, int)


def _unwrap(text: str) -> str:
    """Replace soft-wrap newlines by spaces, keeping the length."""
    chars: list[str] = []
    for match in _NEWLINE.finditer(text):
        i = match.start()
        if not text[i + 1 : i + 2].islower():
            continue
        end = i  # the line before, without trailing blanks, is text[:end]
        while end and text[end - 1] in " \t\r":
            end -= 1
        if end and text[end - 1] not in _TERMINAL:
            chars = chars or list(text)
            chars[i] = " "
    return "".join(chars) if chars else text


def _blingfire(line: str, out: ctypes.Array[ctypes.c_char]) -> str:
    """Run blingfire's ``text_to_sentences``, writing into a buffer the caller reuses.

    The library's wrapper makes a new ctypes buffer type per call (~20 us, a third of
    segmenting a news line); ``out`` must hold twice the line's UTF-8 length.
    """
    data = line.encode()
    size = _TEXT_TO_SENTENCES(ctypes.c_char_p(data), ctypes.c_int(len(data)), out,
                              ctypes.c_int(len(out)))
    if size < 0 or size > len(out):
        return ""  # blingfire failed; the wrapper returns "" too
    return ctypes.string_at(out, size).split(b"\0", 1)[0].decode()


def _split(line: str, out: ctypes.Array[ctypes.c_char]) -> list[Span]:
    """Sentence spans of one line; blingfire splits, ``str.find`` recovers the offsets.

    blingfire's own offset API maps UTF-8 offsets back in a Python loop over every byte,
    which cost more than the rest of profiling; finding each sentence in turn is exact
    whenever blingfire returns the sentence unchanged, and the slow API covers the rest.
    """
    spans: list[Span] = []
    cursor = 0
    for sentence in _blingfire(line, out).split("\n"):
        sentence = sentence.strip()
        if not sentence:
            continue
        at = line.find(sentence, cursor)
        if at < 0:
            return [(a, b) for a, b in blingfire.text_to_sentences_and_offsets(line)[1]]
        spans.append((at, at + len(sentence)))
        cursor = at + len(sentence)
    return spans


def sentences(text: str) -> list[Span]:
    """Return the sentence spans of ``text``, in order, stripped of surrounding space.

    Args:
        text: The original document text.

    Returns:
        ``(start, end)`` character offsets such that ``text[start:end]`` is one sentence.
    """
    spans: list[Span] = []
    # One buffer for all lines, its size a power of two: ctypes makes a new array type for
    # every new size, which cost as much as splitting a line.
    out = ctypes.create_string_buffer(1 << (2 * len(text.encode()) + 16).bit_length())
    for line in _LINE.finditer(_unwrap(text)):
        base = line.start()
        for piece in _CJK_STOP.split(line.group()) if "。" in line.group() else [line.group()]:
            if piece.strip():
                spans.extend((base + start, base + end) for start, end in _split(piece, out))
            base += len(piece)
    return spans
