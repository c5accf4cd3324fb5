"""Spark read stage: list the input files, parse their records on executors, order them.

The files of every argument are listed on the driver in exactly the order the local reader
walks them (arguments sorted, folders by relative path, hidden entries skipped), so each file
gets its rank. JSONL is read line by line with Spark's splittable text source; CSV, text and
WARC files are read whole (``binaryFile``) and parsed by :mod:`dedup.read`'s own parsers on the
executors; Parquet is read with Spark's reader (columns named by ``Fields``). Every record
carries its arrival key ``(file, block, pos)``: the file's rank, the byte offset of its split
and its position there, which sorts records exactly as the local reader yields them.
"""

from __future__ import annotations

import codecs
import gzip
import io
import os
import re
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from dedup.read import (
    FORMATS,
    Document,
    Fields,
    InputError,
    decode_text,
    load_line,
    parse_record,
)

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["PARSED_SCHEMA", "InputFile", "list_inputs", "read_parsed"]

PARSED_SCHEMA = ("id string, text string, date string, file int, block long, pos long, "
                 "line long, error string")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")
_FORMATS = {**FORMATS, ".parquet": "parquet"}
_Item = InputError | tuple[Document, str, int | None]  # as dedup.read's parsers yield them


@dataclass(frozen=True)
class InputFile:
    """One input file, in reading order.

    Attributes:
        rank: Position of the file in the local reader's order.
        path: The file as named in messages (as the local reader names it).
        uri: The file as handed to Spark.
        fmt: ``jsonl``, ``csv``, ``txt``, ``warc`` or ``parquet``.
        txt_id: Document id of a ``.txt`` file (relative path without extensions).
        in_dir: Found by walking a folder (a CSV without id/text columns is passed over).
    """

    rank: int
    path: str
    uri: str
    fmt: str
    txt_id: str
    in_dir: bool


def path_key(uri: str) -> str:
    """Normalise a path or URI as Spark or the driver writes it, for matching."""
    text = unquote(uri)
    if text.startswith("file:"):
        return "/" + text[5:].lstrip("/")
    return text if _SCHEME.match(text) else os.path.abspath(text)


def _split(name: str) -> tuple[str, str | None]:
    stem, ext = os.path.splitext(name[:-3] if name.lower().endswith(".gz") else name)
    return stem, _FORMATS.get(ext.lower())


def _walk_local(root: str) -> list[tuple[list[str], str]]:
    found = []
    for top, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if not name.startswith("."):
                path = os.path.join(top, name)
                found.append((os.path.relpath(path, root).split(os.sep), path))
    return found


def _walk_hadoop(spark: SparkSession, root: str) -> list[tuple[list[str], str]] | None:
    """List a Hadoop-compatible folder (None if ``root`` is a file); raise if missing."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    path = jvm.org.apache.hadoop.fs.Path(root)
    fs = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    if not fs.exists(path):
        raise FileNotFoundError(root)
    if not fs.getFileStatus(path).isDirectory():
        return None
    base = path_key(fs.getFileStatus(path).getPath().toString()).rstrip("/")
    found = []
    files = fs.listFiles(path, True)
    while files.hasNext():
        uri = files.next().getPath().toString()
        rel = path_key(uri)[len(base) + 1:].split("/")
        if not any(part.startswith(".") for part in rel):
            found.append((rel, uri))
    return found


def list_inputs(spark: SparkSession, paths: tuple[str, ...]) -> tuple[list[InputFile],
                                                                      list[InputError]]:
    """List the files of ``paths`` in reading order, with errors for missing or unknown ones."""
    files: list[InputFile] = []
    errors: list[InputError] = []
    for arg in sorted(paths):
        remote = bool(_SCHEME.match(arg)) and not arg.startswith("file:")
        try:
            walked = _walk_hadoop(spark, arg) if remote else (
                _walk_local(arg) if os.path.isdir(arg) else None)
        except FileNotFoundError:
            walked = None
        if walked is None:
            if not remote and not os.path.exists(arg):
                errors.append(InputError(arg, None, "no such file or directory"))
                continue
            stem, fmt = _split(os.path.basename(arg.rstrip("/")))
            if fmt is None:
                errors.append(InputError(arg, None, "unknown file type (expected "
                                         f"{', '.join(_FORMATS)}, optionally .gz)"))
                continue
            files.append(InputFile(len(files), arg, arg if remote else os.path.abspath(arg),
                                   fmt, stem, False))
            continue
        for rel, path in sorted(walked):
            stem, fmt = _split("/".join(rel))
            if fmt is not None:
                files.append(InputFile(len(files), path, path if remote else os.path.abspath(path),
                                       fmt, stem, True))
    return files, errors


def _row(item: _Item, file: int, pos: int, line: int | None) -> dict[str, Any]:
    if isinstance(item, InputError):
        return {"id": None, "text": None, "date": None, "file": file, "block": 0, "pos": pos,
                "line": item.line if item.line is not None else line, "error": item.message}
    doc = item[0]
    return {"id": doc.id, "text": doc.text, "date": doc.date, "file": file, "block": 0,
            "pos": pos, "line": item[2], "error": None}


def _open_bytes(data: bytes, path: str) -> io.BufferedIOBase:
    if data[:2] == b"\x1f\x8b" or path.lower().endswith(".gz"):
        data = gzip.decompress(data)
    if b"\0" in data[:8192]:
        raise InputError(path, None,
                         "binary file (NUL byte in the first 8 KB); expected UTF-8 text")
    return io.BytesIO(data)


def _whole_file(data: bytes, info: InputFile, fields: Fields) -> Iterator[dict[str, Any]]:
    """Parse one CSV, text or WARC file's bytes with the local reader's parsers."""
    from dedup.read import _read_csv, _warc_items  # the local reader's (items, not raising)

    warnings: list[InputError] = []
    pos = 0
    try:
        if info.fmt == "warc":  # pages without text are passed over with a warning, as locally
            items: Iterator[Any] = _warc_items(io.BytesIO(data), info.path, fields,
                                               warnings.append)
        elif info.fmt == "txt":  # no field names in text: the default Fields
            text = decode_text(_open_bytes(data, info.path).read().removeprefix(codecs.BOM_UTF8),
                               source=info.path, warn=warnings.append)
            items = iter([_parsed({"id": info.txt_id, "text": text}, info, Fields())])
        else:
            stream: Any = _open_bytes(data, info.path)
            items = _read_csv(stream, info.path, fields, warnings.append, info.in_dir)
        for item in items:
            yield _row(item, info.rank, pos, None)
            pos += 1
    except InputError as err:
        yield _row(err, info.rank, pos, None)
    except (OSError, EOFError, zlib.error) as err:  # as the local reader: a bad file, not a crash
        yield _row(InputError(info.path, None, f"cannot read: {err}"), info.rank, pos, None)
    for warning in warnings:  # warnings are not errors: reported, never fatal
        row = _row(warning, info.rank, -1, None)
        row["error"] = "warning: " + str(row["error"])
        yield row


def _jsonl_line(raw: bytes, info: InputFile, fields: Fields, warnings: list[InputError]) -> _Item:
    """Parse one JSONL line, its BOM already removed (line number unknown: counted later)."""
    try:
        obj = load_line(raw, source=info.path, warn=warnings.append)
    except InputError as err:
        return err
    return _parsed(obj, info, fields)


def _parsed(record: Mapping[str, object], info: InputFile, fields: Fields) -> _Item:
    """Parse one record; an error names the document if its id is known (executors report by id)."""
    try:
        return parse_record(record, fields, source=info.path), info.path, None
    except InputError as err:
        doc_id = record.get(fields.id)
        if (isinstance(doc_id, str | int) and not isinstance(doc_id, bool)
                and str(doc_id).strip() and repr(str(doc_id)) not in err.message):
            return InputError(err.path, err.line, f"document {str(doc_id)!r}: {err.message}")
        return err


def read_parsed(spark: SparkSession, files: list[InputFile], fields: Fields) -> DataFrame:
    """Parse every file into rows of :data:`PARSED_SCHEMA` (records and record errors).

    A row with ``error`` set is a bad record (``line`` set when known; JSONL lines are numbered
    later, from ``block`` and ``pos``) or, if the error starts with ``warning:``, a warning.
    """
    from pyspark.sql import functions as F

    by_key = {path_key(f.uri): f for f in files}
    frames = []
    jsonl = [f.uri for f in files if f.fmt == "jsonl"]
    if jsonl:
        # Cast to binary: Spark's text source keeps each line's raw bytes, so they are decoded
        # here exactly as the local reader does (UTF-8, else cp1252), not replaced by the JVM.
        # Lines end at "\n" only, as locally; by default Spark also ends them at a lone "\r".
        lines = spark.read.option("lineSep", "\n").text(jsonl).select(
            F.col("value").cast("binary").alias("value"),
            F.col("_metadata.file_path").alias("path"),
            F.col("_metadata.file_block_start").alias("block"),
            F.monotonically_increasing_id().alias("pos"))

        def parse_jsonl(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
            import pandas as pd

            for batch in batches:
                rows = []
                for raw, path, block, pos in zip(batch["value"], batch["path"], batch["block"],
                                                 batch["pos"], strict=True):
                    line = bytes(raw).removeprefix(codecs.BOM_UTF8)  # on every line, as locally
                    if not line.strip():
                        continue
                    info = by_key[path_key(path)]
                    warnings: list[InputError] = []
                    row = _row(_jsonl_line(line, info, fields, warnings), info.rank,
                               int(pos), None)
                    row["block"] = int(block)
                    rows.append(row)
                    for warning in warnings:
                        rows.append({**row, "id": None, "text": None, "date": None,
                                     "error": f"warning: {warning.message}"})
                yield pd.DataFrame(rows, columns=_COLUMNS)

        frames.append(lines.mapInPandas(parse_jsonl, PARSED_SCHEMA))
    whole = [f.uri for f in files if f.fmt in ("csv", "txt", "warc")]
    if whole:
        blobs = spark.read.format("binaryFile").load(whole).select("path", "content")

        def parse_whole(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
            import pandas as pd

            for batch in batches:
                for path, content in zip(batch["path"], batch["content"], strict=True):
                    rows = list(_whole_file(bytes(content), by_key[path_key(path)], fields))
                    yield pd.DataFrame(rows, columns=_COLUMNS)

        frames.append(blobs.mapInPandas(parse_whole, PARSED_SCHEMA))
    parquet = [f.uri for f in files if f.fmt == "parquet"]
    if parquet:
        frames.append(_read_parquet(spark, parquet, by_key, fields))
    if not frames:
        return spark.createDataFrame([], PARSED_SCHEMA)
    out = frames[0]
    for frame in frames[1:]:
        out = out.unionByName(frame)
    return out


_COLUMNS = ["id", "text", "date", "file", "block", "pos", "line", "error"]


def _read_parquet(spark: SparkSession, uris: list[str], by_key: dict[str, InputFile],
                  fields: Fields) -> DataFrame:
    from pyspark.sql import functions as F

    table = spark.read.parquet(*uris)
    missing = [name for name in (fields.id, fields.text) if name not in table.columns]
    if missing:
        raise InputError(uris[0], None, f"no {missing[0]!r} column in {table.columns}")
    date = F.col(fields.date).cast("string") if fields.date in table.columns else F.lit(None)
    rows = table.select(
        F.col(fields.id).cast("string").alias("id"), F.col(fields.text).alias("text"),
        date.cast("string").alias("date"), F.col("_metadata.file_path").alias("path"),
        F.col("_metadata.file_block_start").alias("block"),
        F.monotonically_increasing_id().alias("pos"))

    def parse(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        import pandas as pd

        for batch in batches:
            out = []
            for doc_id, text, when, path, block, pos in batch.itertuples(index=False):
                info = by_key[path_key(path)]
                doc_id, text, when = (None if v is None or v != v else v
                                      for v in (doc_id, text, when))
                row = _row(_parsed({fields.id: doc_id, fields.text: text, fields.date: when},
                                   info, fields), info.rank, int(pos), None)
                row["block"] = int(block)
                out.append(row)
            yield pd.DataFrame(out, columns=_COLUMNS)

    return rows.mapInPandas(parse, PARSED_SCHEMA)
