"""Read documents from JSONL, CSV, text files, WARC archives, folders and stdin.

Bytes are decoded as UTF-8, falling back to cp1252 and then to UTF-8 with replacement
characters (with a warning). Text is otherwise left exactly as read, since later stages
report offsets into it. Files ending in ``.gz`` or starting with the gzip magic bytes are
decompressed transparently. Large files are streamed; only one record is held at a time.
:func:`parse_line` and :func:`parse_record` make one Document from one record (a message from
a queue, say) with the same decoding and checks.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import sys
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, BinaryIO, Literal

import orjson

from dedup.read_warc import WarcError, warc_texts

__all__ = ["Document", "Fields", "InputError", "OnError", "decode_text", "load_line",
           "parse_line", "parse_record", "read_documents"]

OnError = Literal["fail", "skip"]
FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv",
           ".txt": "txt", ".warc": "warc", ".arc": "warc"}
_STDIN = "<stdin>"
_BOM = b"\xef\xbb\xbf"
_MISSING = object()
_JSON_TYPES = {dict: "object", list: "array", str: "string", int: "number", float: "number",
               bool: "boolean", type(None): "null"}


@dataclass(frozen=True)
class Document:
    """One input text; ``source`` is ``path:line`` (or ``path``) for messages."""

    id: str
    text: str
    date: str | None = None
    source: str = ""


@dataclass(frozen=True)
class Fields:
    """Names of the id, text and date fields of JSONL objects and CSV columns."""

    id: str = "id"
    text: str = "text"
    date: str = "date"


class InputError(Exception):
    """Bad input, naming the file and, where there is one, the line."""

    def __init__(self, path: str, line: int | None, message: str) -> None:
        super().__init__(path, line, message)
        self.path = path
        self.line = line
        self.message = message

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.message}"


def _warn_stderr(err: InputError) -> None:
    print(f"warning: {err}", file=sys.stderr)


Warn = Callable[[InputError], None]
_Item = InputError | tuple[Document, str, int | None]  # a record, its file and its line


def read_documents(paths: Sequence[str], *, fields: Fields = Fields(),
                   on_error: OnError = "fail", warn: Warn = _warn_stderr,
                   stdin_format: str = "jsonl") -> Iterator[Document]:
    """Yield the documents of every path in order; ``-`` reads stdin as ``stdin_format``.

    A directory yields every supported file under it (hidden entries skipped), sorted by
    relative path; a ``.txt`` file is one document whose id is its path relative to the
    given directory without extensions (the file name for top-level files). A WARC yields
    one document per 2xx HTML response (main text by trafilatura), HTML or plain-text
    resource and text conversion record; its id is the WARC-Target-URI (the
    WARC-Record-ID if there is none), its date the WARC-Date. Errors are raised lazily
    while iterating.

    Args:
        paths: Files, directories, or ``-``.
        fields: Field names for JSONL and CSV.
        on_error: ``fail`` raises the first :class:`InputError`; ``skip`` passes it to
            ``warn`` and drops the record (or the rest of the file, for file-level errors
            such as a binary or corrupt file). A repeated id keeps the first document.
        warn: Receives skipped errors and warnings (undecodable bytes, WARC pages with no
            main text), whatever ``on_error`` is.
        stdin_format: ``jsonl``, ``csv``, ``txt`` or ``warc``.

    Raises:
        InputError: On bad input when ``on_error`` is ``fail``.
        ValueError: If ``stdin_format`` or ``on_error`` is not a known value.

    """
    if stdin_format not in set(FORMATS.values()):
        raise ValueError(f"unknown stdin format {stdin_format!r}")
    if on_error not in ("fail", "skip"):
        raise ValueError(f"on_error must be 'fail' or 'skip', got {on_error!r}")
    seen: dict[str, str] = {}
    for path in paths:
        for found in _expand(path, stdin_format):
            items = [found] if isinstance(found, InputError) else _read_file(*found, fields, warn)
            for item in items:
                if not isinstance(item, InputError) and item[0].id in seen:
                    doc, where, line = item
                    item = InputError(where, line, f"duplicate id {doc.id!r} "
                                                   f"(first at {seen[doc.id]})")
                if isinstance(item, InputError):
                    if on_error == "fail":
                        raise item
                    warn(item)
                    continue
                seen[item[0].id] = item[0].source
                yield item[0]


def parse_record(record: Mapping[str, object], fields: Fields = Fields(), *,
                 source: str = "<record>", line: int | None = None) -> Document:
    """Turn one record (a parsed JSON object, say) into a Document, as the file reader does.

    The id must be a non-blank string or integer, the text a non-blank string; a date, if
    any, is normalised as ISO-8601 (times with an offset become UTC). The Document's
    ``source`` is ``source:line`` (or ``source``).

    Args:
        record: The record's fields.
        fields: Names of its id, text and date fields.
        source: Where the record came from, for the Document and for messages.
        line: Its line (or offset) there, if any.

    Raises:
        InputError: If the record is not a valid document; it names ``source`` and ``line``.
    """
    item = _record(source, line, record.get(fields.id, _MISSING),
                   record.get(fields.text, _MISSING), record.get(fields.date), fields)
    if isinstance(item, InputError):
        raise item
    return item[0]


def load_line(data: bytes | str, *, source: str = "<line>", line: int | None = None,
              warn: Warn = _warn_stderr) -> dict[str, Any]:
    """Decode one JSONL line (see :func:`decode_text`) and parse it into its JSON object.

    For callers that keep the record's other fields; :func:`parse_line` also makes the
    Document. A leading byte-order mark is not removed.

    Args:
        data: The line, as bytes or text; a trailing newline is allowed.
        source: Where the line came from, for messages.
        line: Its line number (or offset) there, if any.
        warn: Receives a warning when bytes are neither UTF-8 nor cp1252 (default: print
            it to stderr).

    Raises:
        InputError: For malformed JSON (a blank line included) or a JSON value that is not
            an object; it names ``source`` and ``line``.
    """
    text = data if isinstance(data, str) else decode_text(data, source=source, line=line,
                                                          warn=warn)
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError as err:
        raise InputError(source, line, f"malformed JSON: {err}") from None
    if not isinstance(obj, dict):
        raise InputError(source, line, f"expected a JSON object, got {_json_type(obj)}")
    return obj


def parse_line(data: bytes | str, fields: Fields = Fields(), *, source: str = "<line>",
               line: int | None = None, warn: Warn = _warn_stderr) -> Document:
    """Turn one JSONL line (a Kafka message, say) into a Document, as the file reader does.

    :func:`load_line` followed by :func:`parse_record`.

    Args:
        data: The line, as bytes or text; a trailing newline is allowed.
        fields: Names of the id, text and date fields.
        source: Where the line came from, for the Document and for messages.
        line: Its line number (or offset) there, if any.
        warn: Receives a warning when bytes are neither UTF-8 nor cp1252 (default: print
            it to stderr).

    Raises:
        InputError: For a malformed or invalid record; it names ``source`` and ``line``.
    """
    return parse_record(load_line(data, source=source, line=line, warn=warn), fields,
                        source=source, line=line)


def decode_text(data: bytes, *, source: str = "<bytes>", line: int | None = None,
                warn: Warn = _warn_stderr) -> str:
    """Decode bytes as the reader does: UTF-8, else cp1252, else UTF-8 with replacement.

    Args:
        data: The bytes.
        source: Where they came from, for the warning.
        line: Their line there, if any.
        warn: Receives a warning when the bytes are neither UTF-8 nor cp1252 and undecodable
            bytes were replaced (default: print it to stderr).
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        warn(InputError(source, line, "neither UTF-8 nor cp1252; undecodable bytes replaced"))
        return data.decode("utf-8", errors="replace")


def _split(name: str) -> tuple[str, str | None]:
    """Return a file name without its extensions, and its format (None if unsupported)."""
    stem, ext = os.path.splitext(name[:-3] if name.lower().endswith(".gz") else name)
    return stem, FORMATS.get(ext.lower())


def _expand(path: str, stdin_format: str) -> Iterator[tuple[str, str, str, bool] | InputError]:
    """Yield ``(file, format, id if txt, found in a directory)`` for one argument."""
    if path == "-":
        yield _STDIN, stdin_format, "stdin", False
    elif os.path.isdir(path):
        found = []
        for top, dirs, files in os.walk(path):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in files:
                rel = os.path.relpath(os.path.join(top, name), path).split(os.sep)
                stem, fmt = _split("/".join(rel))
                if fmt is not None and not name.startswith("."):
                    found.append((rel, os.path.join(top, name), fmt, stem))
        for _, file, fmt, stem in sorted(found):
            yield file, fmt, stem, True
    elif not os.path.exists(path):
        yield InputError(path, None, "no such file or directory")
    elif (split := _split(os.path.basename(path)))[1] is None:
        yield InputError(path, None, f"unknown file type (expected {', '.join(FORMATS)}, "
                                     "optionally .gz)")
    else:
        yield path, str(split[1]), split[0], False


def _read_file(path: str, fmt: str, txt_id: str, in_dir: bool, fields: Fields,
               warn: Warn) -> Iterator[_Item]:
    """Yield one file's records and record errors; a file-level error ends the file."""
    try:
        if fmt == "warc":
            yield from _read_warc(path, fields, warn)
            return
        with _open_text(path) as stream:
            if fmt == "txt":
                data = stream.read().removeprefix(_BOM)
                text = decode_text(data, source=path, warn=warn)
                yield _record(path, None, txt_id, text, None, fields)
            elif fmt == "jsonl":
                yield from _read_jsonl(stream, path, fields, warn)
            else:
                yield from _read_csv(stream, path, fields, warn, in_dir)
    except InputError as err:
        yield err
    except (OSError, EOFError, zlib.error) as err:
        yield InputError(path, None, f"cannot read: {err}")


def _read_warc(path: str, fields: Fields, warn: Warn) -> Iterator[_Item]:
    with _open_raw(path) as stream:
        yield from _warc_items(stream, path, fields, warn)


def _warc_items(stream: BinaryIO, path: str, fields: Fields, warn: Warn) -> Iterator[_Item]:
    """Yield the documents of a WARC/ARC stream (the Spark source reads WARC with this too).

    Pages with no text, or only whitespace, are passed over and counted in one warning.
    """
    empty = 0
    try:
        for doc_id, text, when in warc_texts(stream):
            if isinstance(text, bytes):
                text = decode_text(text, source=path, warn=warn)
            if text is None or not text.strip():
                empty += 1
            else:
                yield _record(path, None, doc_id, text, when, fields)
    except WarcError as err:
        raise InputError(path, None, f"not a valid WARC/ARC archive: {err}") from None
    if empty:
        warn(InputError(path, None, f"{empty} page(s) without text passed over"))


class _Chain(io.RawIOBase):
    """A raw stream that returns ``head`` and then the rest of ``rest``."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._head:
            self._head = self._rest.read(len(buffer))
        n = min(len(buffer), len(self._head))
        buffer[:n], self._head = self._head[:n], self._head[n:]
        return n


def _open_raw(path: str) -> AbstractContextManager[BinaryIO]:
    return nullcontext(sys.stdin.buffer) if path == _STDIN else open(path, "rb")


@contextmanager
def _open_text(path: str) -> Iterator[BinaryIO]:
    """Open a text-like file as decompressed bytes, refusing binary content."""
    with _open_raw(path) as raw:
        magic = raw.read(2)
        stream: BinaryIO = io.BufferedReader(_Chain(magic, raw))
        if magic == b"\x1f\x8b" or path.lower().endswith(".gz"):
            stream = gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[assignment]
        head = stream.read(8192)
        if b"\0" in head:
            raise InputError(path, None, "binary file (NUL byte in the first 8 KB); "
                                         "expected UTF-8 text")
        yield io.BufferedReader(_Chain(head, stream), buffer_size=1 << 16)


def _read_jsonl(stream: BinaryIO, path: str, fields: Fields, warn: Warn) -> Iterator[_Item]:
    """Yield each non-blank line parsed by :func:`parse_line`, or its error.

    A byte-order mark is removed from the start of every line, not just the first:
    ``cat a.jsonl b.jsonl`` leaves b's mark mid-file.
    """
    for n, line in enumerate(stream, 1):
        line = line.removeprefix(_BOM)
        if not line.strip():
            continue
        try:
            doc = parse_line(line, fields, source=path, line=n, warn=warn)
        except InputError as err:
            yield err
            continue
        yield doc, path, n


def _json_type(value: object) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _read_csv(stream: BinaryIO, path: str, fields: Fields, warn: Warn,
              in_dir: bool) -> Iterator[_Item]:
    """Read a CSV with a header row; in a directory, pass over tables without id and text."""
    csv.field_size_limit(2**31 - 1)  # process-wide; the default 128 KB cuts long articles
    lines = (decode_text(line.removeprefix(_BOM) if n == 1 else line, source=path, line=n,
                         warn=warn)
             for n, line in enumerate(stream, 1))
    reader = csv.reader(lines, strict=True)
    header = next(reader, None)
    if header is None:
        return
    for name in (fields.id, fields.text):
        if name not in header:
            err = InputError(path, 1, f"no {name!r} column in header {header}")
            if not in_dir:
                raise err
            warn(InputError(path, 1, f"{err.message}; not a document table, passed over"))
            return
    col = {name: header.index(name) for name in (fields.id, fields.text, fields.date)
           if name in header}
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            yield InputError(path, start, f"malformed CSV: {err}")
            continue
        if not row:
            continue
        if len(row) != len(header):
            yield InputError(path, start, f"expected {len(header)} columns, got {len(row)}")
            continue
        yield _record(path, start, row[col[fields.id]], row[col[fields.text]],
                      row[col[fields.date]] if fields.date in col else None, fields)


def _record(path: str, line: int | None, doc_id: object, text: object, when: object,
            fields: Fields) -> _Item:
    """Validate one record's fields into a Document, or say what is wrong with it.

    The one validation of every reader: :func:`parse_record` raises what this returns.
    """
    if doc_id is _MISSING or doc_id is None:
        return InputError(path, line, f"missing id field {fields.id!r}")
    if isinstance(doc_id, bool) or not isinstance(doc_id, str | int):
        return InputError(path, line, f"id must be a string or integer, got {_json_type(doc_id)}")
    if not str(doc_id).strip():
        return InputError(path, line, "empty id")
    if text is _MISSING:
        return InputError(path, line, f"missing text field {fields.text!r}")
    if not isinstance(text, str):
        return InputError(path, line, f"text field {fields.text!r} is not a string "
                                      f"(got {_json_type(text)})")
    if not text.strip():
        return InputError(path, line, f"empty text in document {str(doc_id)!r}")
    try:
        iso = _iso_date(when)
    except ValueError as err:
        return InputError(path, line, f"document {str(doc_id)!r}: {err}")
    source = path if line is None else f"{path}:{line}"
    return Document(str(doc_id), text, iso, source), path, line


def _iso_date(value: object) -> str | None:
    """Normalise an ISO-8601 date or datetime; times with an offset become UTC.

    None or a blank string means no date. With every offset made UTC, the ISO strings of
    dated documents sort in time order (naive times are kept as given).
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise ValueError(f"date must be an ISO-8601 string, got {_json_type(value)}")
    text = value.strip()
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        pass
    try:
        if text[-1:] in ("Z", "z"):
            text = text[:-1] + "+00:00"
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"unparsable date {value!r} (expected ISO-8601)") from None
    return (when if when.tzinfo is None else when.astimezone(timezone.utc)).isoformat()
