"""``dedup index add|check|stats|expire`` and ``dedup filter``: the persistent index at the CLI.

INDEX is an SQLite file path or ``redis://host:port/db?prefix=name``. A new index takes the
settings given on the command line (or the defaults); an existing one keeps its own, and
options that contradict them are an error.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import re
import select
import sys
import time
from collections import deque
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime, timedelta, timezone
from typing import IO, Any

import click
import orjson

from dedup import options as base
from dedup.config import Config
from dedup.read import Document, Fields, InputError, load_line, parse_record
from dedup.store import Busy, IncompatibleIndex, Index, stored_config
from dedup.workers import profile_batches

__all__ = ["filter_command", "index_group", "parse_duration"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
#: Articles per transaction of ``dedup index add``. Measured with the one-table key layout
#: (format 2), where each batch rewrote the B-tree leaves its keys fell in: storing 60,000
#: profiled articles ran at 906 and 1,045/s in batches of 5,000 against 581 and 745/s in
#: batches of 500. Not measured again since new keys are appended with their row (format 4).
_BATCH = 5000
#: Most waiting lines ``dedup filter`` decides in one transaction: a line alone is decided at
#: once; a backlog is decided in batches, which share one lookup and one commit.
_GROUP = 100


def parse_duration(text: str) -> float:
    """Return the seconds of ``30d``, ``12h``, ``90m``, ``45s`` or ``2w``.

    Raises:
        ValueError: For anything else.
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text)
    if not match:
        raise ValueError(f"bad duration {text!r} (expected e.g. 7d, 12h, 90m)")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _duration(_ctx: click.Context, _param: click.Parameter, value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as err:
        raise click.BadParameter(str(err)) from None


def _open(target: str, ctx: click.Context, options: dict[str, Any], create: bool) -> Index:
    """Open INDEX with its stored settings, overridden by options given explicitly."""
    names = ("ngram", "num_perm", "threshold", "near_jaccard", "align_threshold", "min_aligned",
             "seed")
    given = {n: options.pop(n) for n in names if n in options}
    explicit = {n: v for n, v in given.items()
                if ctx.get_parameter_source(n) != click.core.ParameterSource.DEFAULT}
    try:
        stored = stored_config(target) if create or _exists(target) else None
        if stored is None and not create:
            raise base.UserError(f"{target}: no such index")
        config = dataclasses.replace(stored or Config(), **explicit)
        return Index.open(target, config)
    except (IncompatibleIndex, Busy, OSError, ValueError) as err:
        raise base.UserError(str(err)) from None


def _exists(target: str) -> bool:
    return target.startswith(("redis://", "rediss://", "unix://")) or os.path.exists(target)


def _dump(record: dict[str, Any], out: IO[str]) -> None:
    out.write(orjson.dumps(record).decode() + "\n")
    out.flush()


@click.group("index")
def index_group() -> None:
    """A persistent index of articles (SQLite file or redis:// URL): add, check, stats, expire."""


@index_group.command("add")
@click.argument("index")
@click.argument("paths", nargs=-1, required=True)
@click.option("--workers", type=click.IntRange(1), default=None,
              help="Processes that profile the articles [default: the CPUs this process may "
              "use].")
@base.input_options
@base.config_options
@click.pass_context
def add(ctx: click.Context, /, index: str, paths: tuple[str, ...], workers: int | None,
        **options: Any) -> None:
    """Add the articles of PATHS to INDEX (created if missing); ids already there are kept."""
    idx = _open(index, ctx, options, create=True)
    with idx:
        docs = list(base.read_inputs(paths, options))
        added = 0
        batches = profile_batches(docs, idx.config, _BATCH, workers or base.cpus())
        with closing(batches):  # on Ctrl-C, the workers stop now, not at exit
            for profs in batches:
                added += sum(idx.add_profiles(profs))
    click.echo(f"dedup: added {added} documents, {len(docs) - added} already indexed", err=True)


@index_group.command("check")
@click.argument("index")
@click.argument("paths", nargs=-1, required=True)
@click.option("--window", callback=_duration, help="Only match articles within this time "
              "of each one (e.g. 7d).")
@base.input_options
@base.config_options
@click.pass_context
def check(ctx: click.Context, /, index: str, paths: tuple[str, ...], window: float | None,
          **options: Any) -> None:
    """Check the articles of PATHS against INDEX (without adding them); one verdict per line."""
    idx = _open(index, ctx, options, create=False)
    with idx:
        docs = list(base.read_inputs(paths, options))
        for start in range(0, len(docs), _BATCH):
            for verdict in idx.check_many(docs[start:start + _BATCH], window=window):
                _dump(verdict.to_dict(), sys.stdout)


@index_group.command("stats")
@click.argument("index")
def stats(index: str) -> None:
    """Show documents, days, size on disk and bytes per document of INDEX (JSON)."""
    if not _exists(index):
        raise base.UserError(f"{index}: no such index")
    config = stored_config(index)
    if config is None:
        raise base.UserError(f"{index}: not an index (no settings stored)")
    with Index.open(index, config) as idx:
        _dump(idx.stats(), sys.stdout)


@index_group.command("expire")
@click.argument("index")
@click.option("--older-than", required=True, callback=_duration,
              help="Remove articles older than this (e.g. 30d): by date, or arrival if undated.")
def expire(index: str, older_than: float) -> None:
    """Remove old articles from INDEX."""
    config = stored_config(index) if _exists(index) else None
    if config is None:
        raise base.UserError(f"{index}: no such index")
    before = datetime.now(timezone.utc) - timedelta(seconds=older_than)
    try:
        with Index.open(index, config) as idx:
            removed = idx.expire(before)
    except Busy as err:
        raise base.UserError(str(err)) from None
    click.echo(f"dedup: removed {removed} documents older than {before.isoformat()}", err=True)


@click.command("filter")
@click.argument("index")
@click.option("--window", callback=_duration, help="Only match articles within this time "
              "of each one (e.g. 7d).")
@click.option("--max-batch", type=click.IntRange(1), default=_GROUP, show_default=True,
              help="Most lines, of those already waiting, checked and added in one "
              "transaction.")
@click.option("--id-field", default="id", show_default=True, help="Field holding the id.")
@click.option("--text-field", default="text", show_default=True, help="Field holding the text.")
@click.option("--date-field", default="date", show_default=True,
              help="Field holding the publication date (ISO 8601).")
@click.option("--verdict-field", default="verdict", show_default=True,
              help="Field added to each article for its verdict.")
@click.option("--warm/--no-warm", default=True, show_default=True,
              help="Read the index's buckets once before the first line (seconds for a "
              "million articles), so early checks do not wait on the disk.")
@base.config_options
@click.pass_context
def filter_command(ctx: click.Context, /, index: str, window: float | None, max_batch: int,
                   id_field: str, text_field: str, date_field: str, verdict_field: str,
                   warm: bool, **options: Any) -> None:
    """Check and add each JSONL article of stdin; write it to stdout with its verdict.

    One line out per line in, flushed as soon as it is decided. Lines that have already
    arrived when one is read are decided together, in one transaction (at most
    --max-batch); a line alone never waits for more. A bad line gives
    {"error": ..., "line": n} and the stream goes on.
    """
    idx = _open(index, ctx, options, create=True)
    fields = Fields(id_field, text_field, date_field)
    number = 0
    with idx:
        if warm:
            idx.warm()
        for group in arrived(sys.stdin.buffer, max_batch):
            numbered = []
            for raw in group:
                number += 1
                if raw.strip():
                    numbered.append((number, raw))
            for record in _filter_group(idx, numbered, fields, window, verdict_field):
                _dump(record, sys.stdout)


def arrived(stream: IO[bytes], limit: int) -> Iterator[list[bytes]]:
    """Yield the lines of ``stream`` in groups of those that have already arrived.

    Waits only while no line is waiting: each group is every complete line read so far
    (at most ``limit``), so a busy stream is decided in batches and a quiet one line by line.
    A stream without a file descriptor (in memory) has arrived whole.
    """
    try:
        fd = stream.fileno()
    except (OSError, ValueError):
        lines = iter(stream)
        while group := list(itertools.islice(lines, limit)):
            yield group
        return
    waiting: deque[bytes] = deque()
    tail, eof = bytearray(), False  # the line being read: appended to, never copied whole
    while waiting or not eof:
        while not eof and len(waiting) < limit and (
                not waiting or select.select([fd], [], [], 0)[0]):
            chunk = os.read(fd, 1 << 16)
            eof = not chunk
            parts = chunk.split(b"\n")
            tail += parts[0]
            if len(parts) > 1:
                waiting.append(bytes(tail) + b"\n")
                waiting.extend(part + b"\n" for part in parts[1:-1])
                tail = bytearray(parts[-1])
            if eof and tail:
                waiting.append(bytes(tail))
        if waiting:
            yield [waiting.popleft() for _ in range(min(limit, len(waiting)))]


def _filter_group(idx: Index, numbered: list[tuple[int, bytes]], fields: Fields,
                  window: float | None, verdict_field: str) -> list[dict[str, Any]]:
    """Return the record of each line, deciding a run of distinct ids in one transaction.

    An id met again starts a new run, so it is checked against its first copy, stored.
    """
    records: list[dict[str, Any]] = []
    run: list[tuple[int, int, Document]] = []  # (position in records, line, document)
    ids: set[str] = set()
    for number, raw in numbered:
        try:  # the record itself is written back, so it is loaded first, then parsed
            obj = load_line(raw, source="<stdin>", line=number)
            doc = parse_record(obj, fields, source="<stdin>", line=number)
        except InputError as err:
            records.append({"error": str(err), "line": number})
            continue
        if doc.id in ids:
            _decide_run(idx, run, records, window, verdict_field)
            run, ids = [], set()
        ids.add(doc.id)
        run.append((len(records), number, doc))
        records.append(obj)
    _decide_run(idx, run, records, window, verdict_field)
    return records


def _decide_run(idx: Index, run: list[tuple[int, int, Document]], records: list[dict[str, Any]],
                window: float | None, verdict_field: str) -> None:
    """Check and add a run of documents; set each one's verdict (or error) in ``records``."""
    if not run:
        return
    for attempt in range(3):
        try:
            verdicts = idx.check_and_add_many([doc for _, _, doc in run], window=window)
            break
        except Busy as err:
            if attempt == 2:
                for position, number, _ in run:
                    records[position] = {"error": f"<stdin>:{number}: {err}", "line": number}
                return
            time.sleep(1)
    for (position, _, _), verdict in zip(run, verdicts, strict=True):
        records[position][verdict_field] = verdict.to_dict()
