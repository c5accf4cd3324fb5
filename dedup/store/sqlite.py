"""SQLite backend of the persistent index: one file, WAL, standard-library ``sqlite3``.

Tables: ``settings`` (one JSON row), ``docs`` (seq, id, date, time, day, serialised profile and
the document's keys as packed int64) with an index on ``day`` so expiry is a range, and the
buckets, (key, seq) pairs as WITHOUT ROWID primary keys, in two tables: ``recent`` takes every
new key and ``keys`` holds the rest, so a lookup is two B-tree probes per key. uint64 band keys
are stored as signed int64.

Keys are random, so filing one in a large B-tree rewrites a random leaf: at a million articles
a batch rewrote most of the tree. New keys go to the small ``recent`` tree (its pages stay in
the OS's cache); once it holds more than :data:`RECENT_KEYS`, a write moves one of
:data:`SLICES` key ranges of it into ``keys`` in key order, which rewrites only that range's
leaves, once for many keys. The ``merge`` row counts keys in ``recent`` and names the next
range. A move is part of the write transaction that triggers it, so it is atomic with it.

A write transaction is ``BEGIN IMMEDIATE``: many readers work while one writer writes; a
second writer waits ``busy_timeout`` seconds and then fails with
:class:`~dedup.store.base.Busy`. ``synchronous=NORMAL`` in WAL mode keeps every committed
transaction when the process is killed (not on power loss).

The WAL is copied back into the file every :data:`CHECKPOINT_PAGES` pages (SQLite's default is
1,000). Each stored article dirties about a hundred random leaves of the ``recent`` B-tree; a
rarer checkpoint writes a page once for many commits instead of once for every few. The price
is a WAL of up to ~80 MB (4 KB pages) while a writer is open; the last connection to close
folds it back and deletes it.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from dedup.store.base import I64, Busy, Entry, NewEntry

__all__ = ["CHECKPOINT_PAGES", "RECENT_KEYS", "SLICES", "SQLiteBackend"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS docs (
    seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, date TEXT, ts REAL NOT NULL,
    day INTEGER NOT NULL, profile BLOB NOT NULL, keys BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS docs_day ON docs (day);
CREATE TABLE IF NOT EXISTS keys (key INTEGER NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY (key, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS recent (key INTEGER NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY (key, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS merge (pending INTEGER NOT NULL, slice INTEGER NOT NULL);
INSERT INTO merge SELECT 0, 0 WHERE NOT EXISTS (SELECT * FROM merge);
"""
_TABLES = {"settings", "docs", "keys", "recent", "merge"}
_DAY = 86400
CHECKPOINT_PAGES = 20_000
#: Keys ``recent`` holds before writes move ranges of it into ``keys`` (~36,000 articles at
#: the ``docs`` setting; ~64 MB of B-tree).
RECENT_KEYS = 4_000_000
#: Key ranges ``recent`` is moved in: one move rewrites about 1/SLICES of ``keys``.
SLICES = 16
_BOTH = "SELECT key, seq FROM keys WHERE {0} UNION ALL SELECT key, seq FROM recent WHERE {0}"


class SQLiteBackend:
    """Documents and buckets in one SQLite file."""

    def __init__(self, path: str, busy_timeout: float) -> None:
        self.path = path
        try:
            self.db = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None,
                                      check_same_thread=False)
        except sqlite3.Error as err:
            raise OSError(f"{path}: cannot open index: {err}") from None
        self._depth = 0
        try:
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute(f"PRAGMA wal_autocheckpoint={CHECKPOINT_PAGES}")
            tables = {row[0] for row in self.db.execute(
                "SELECT name FROM sqlite_master WHERE type='table'")}
            if not tables >= _TABLES:
                with self._locked("BEGIN IMMEDIATE"):
                    self.db.execute("PRAGMA journal_mode=WAL")
                    self.db.executescript("BEGIN IMMEDIATE;" + _SCHEMA + "COMMIT;")
        except sqlite3.DatabaseError as err:
            self.db.close()
            if isinstance(err, sqlite3.OperationalError) and "locked" in str(err):
                raise Busy(f"{path}: index is locked by another writer") from None
            raise OSError(f"{path}: not an index ({err})") from None

    @contextmanager
    def _locked(self, _what: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as err:
            if "locked" in str(err) or "busy" in str(err):
                raise Busy(f"{self.path}: another writer holds the index") from None
            raise

    @contextmanager
    def transaction(self, write: bool) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` (write) or ``BEGIN`` (read); commit on success, else roll back."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        with self._locked("begin"):
            self.db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            self.db.execute("ROLLBACK")
            raise
        self._depth = 0
        with self._locked("commit"):
            self.db.execute("COMMIT")

    def settings(self) -> dict[str, Any] | None:
        """Return the stored settings, or None."""
        row = self.db.execute("SELECT value FROM settings WHERE name='config'").fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def save_settings(self, settings: dict[str, Any]) -> None:
        """Store the settings."""
        self.db.execute("INSERT OR REPLACE INTO settings VALUES ('config', ?)",
                        (json.dumps(settings, sort_keys=True),))

    def lookup(self, keys: I64) -> dict[int, list[int]]:
        """Return the seqs filed under each key that has any."""
        found: dict[int, list[int]] = {}
        rows = self.db.execute(_BOTH.format("key IN (SELECT value FROM json_each(?1))"),
                               (json.dumps(keys.tolist()),))
        for key, seq in rows:
            found.setdefault(key, []).append(seq)
        return found

    def entries(self, seqs: Sequence[int]) -> list[Entry]:
        """Return stored documents by seq."""
        if not seqs:
            return []
        rows = self.db.execute("SELECT seq, id, date, ts, profile FROM docs WHERE seq IN "
                               "(SELECT value FROM json_each(?))", (json.dumps(list(seqs)),))
        return [Entry(*row) for row in rows]

    def known(self, ids: Sequence[str]) -> dict[str, int]:
        """Return the seq of each stored id."""
        rows = self.db.execute("SELECT id, seq FROM docs WHERE id IN "
                               "(SELECT value FROM json_each(?))", (json.dumps(list(ids)),))
        return dict(rows.fetchall())

    def write(self, new: Sequence[NewEntry]) -> None:
        """Insert documents and file their keys in ``recent`` (the whole batch in key order)."""
        keys, seqs = [], []
        for entry in new:
            cursor = self.db.execute(
                "INSERT INTO docs (id, date, ts, day, profile, keys) VALUES (?, ?, ?, ?, ?, ?)",
                (entry.id, entry.date, entry.ts, int(entry.ts // _DAY), entry.profile,
                 entry.keys.astype("<i8").tobytes()))
            keys.append(entry.keys.astype(np.int64))
            seqs.append(np.full(len(entry.keys), cursor.lastrowid, dtype=np.int64))
        if keys:
            key_column, seq_column = np.concatenate(keys), np.concatenate(seqs)
            order = np.lexsort((seq_column, key_column))
            self.db.executemany("INSERT INTO recent VALUES (?, ?)",
                                zip(key_column[order].tolist(), seq_column[order].tolist(),
                                    strict=True))
            self.db.execute("UPDATE merge SET pending = pending + ?", (len(key_column),))
            for _ in range(SLICES):
                if not self._merge_step():
                    break

    def _merge_step(self) -> bool:
        """Move the next key range of ``recent`` into ``keys`` if ``recent`` is over its limit."""
        pending, part = self.db.execute("SELECT pending, slice FROM merge").fetchone()
        if pending <= RECENT_KEYS:
            return False
        width = (1 << 64) // SLICES
        low = -(1 << 63) + part * width
        span = (low, (1 << 63) - 1 if part == SLICES - 1 else low + width - 1)
        self.db.execute("INSERT INTO keys SELECT key, seq FROM recent WHERE key BETWEEN ? AND ? "
                        "ORDER BY key, seq", span)
        moved = self.db.execute("DELETE FROM recent WHERE key BETWEEN ? AND ?", span).rowcount
        self.db.execute("UPDATE merge SET pending = ?, slice = ?",
                        (pending - moved, (part + 1) % SLICES))
        return True

    def _delete(self, rows: list[tuple[int, bytes]]) -> int:
        gone = 0
        for seq, blob in rows:
            keys = np.frombuffer(blob, dtype="<i8").tolist()
            self.db.executemany("DELETE FROM keys WHERE key = ? AND seq = ?",
                                ((key, seq) for key in keys))
            gone += self.db.executemany("DELETE FROM recent WHERE key = ? AND seq = ?",
                                        ((key, seq) for key in keys)).rowcount
        self.db.execute("UPDATE merge SET pending = pending - ?", (gone,))
        self.db.executemany("DELETE FROM docs WHERE seq = ?", ((seq,) for seq, _ in rows))
        return len(rows)

    def remove(self, ids: Sequence[str]) -> int:
        """Remove documents by id."""
        rows = self.db.execute("SELECT seq, keys FROM docs WHERE id IN "
                               "(SELECT value FROM json_each(?))", (json.dumps(list(ids)),))
        return self._delete(rows.fetchall())

    def expire(self, before: float) -> int:
        """Remove documents older than ``before``: a range of days, then a time filter."""
        rows = self.db.execute("SELECT seq, keys FROM docs WHERE day <= ? AND ts < ?",
                               (int(before // _DAY), before))
        return self._delete(rows.fetchall())

    def stats(self) -> dict[str, Any]:
        """Return documents, days, the database's bytes and, apart, the WAL file's.

        ``size_bytes`` is the committed database (pages times page size), what the file holds
        once the WAL is folded back; the WAL (up to :data:`CHECKPOINT_PAGES` pages) is transient.
        """
        documents, days = self.db.execute("SELECT COUNT(*), COUNT(DISTINCT day) FROM docs"
                                          ).fetchone()
        pages = self.db.execute("PRAGMA page_count").fetchone()[0]
        page_size = self.db.execute("PRAGMA page_size").fetchone()[0]
        wal = self.path + "-wal"
        keys, recent = self.db.execute("SELECT (SELECT COUNT(*) FROM keys), "
                                       "(SELECT COUNT(*) FROM recent)").fetchone()
        return {"backend": "sqlite", "documents": documents, "days": days,
                "keys": keys + recent, "recent_keys": recent,
                "size_bytes": pages * page_size,
                "wal_bytes": os.path.getsize(wal) if os.path.exists(wal) else 0}

    def ids(self) -> Iterator[str]:
        """Yield stored ids in arrival order."""
        for (doc_id,) in self.db.execute("SELECT id FROM docs ORDER BY seq"):
            yield doc_id

    def audit(self) -> list[str]:
        """Check SQLite's integrity and that buckets and documents agree."""
        problems = [row[0] for row in self.db.execute("PRAGMA quick_check") if row[0] != "ok"]
        dangling = self.db.execute(f"SELECT COUNT(*) FROM ({_BOTH.format('true')}) "
                                   "WHERE seq NOT IN (SELECT seq FROM docs)").fetchone()[0]
        if dangling:
            problems.append(f"{dangling} keys of missing documents")
        pending, recent = self.db.execute("SELECT pending, (SELECT COUNT(*) FROM recent) "
                                          "FROM merge").fetchone()
        if pending != recent:
            problems.append(f"merge counts {pending} recent keys, recent holds {recent}")
        filed = dict(self.db.execute(f"SELECT seq, COUNT(*) FROM ({_BOTH.format('true')}) "
                                     "GROUP BY seq").fetchall())
        for seq, doc_id, blob in self.db.execute("SELECT seq, id, keys FROM docs"):
            if filed.get(seq, 0) != len(blob) // 8:
                problems.append(f"document {doc_id!r}: {filed.get(seq, 0)} of "
                                f"{len(blob) // 8} keys filed")
        return problems

    def warm(self) -> int:
        """Count both key tables, which reads every page of their B-trees once.

        A lookup reads one random leaf per key; until the leaves are in the OS's page cache
        each is a disk read. Warming a million-article index from a dropped page cache put
        ~5 GB in it, in 5-13 s on this machine.
        """
        return int(self.db.execute("SELECT (SELECT COUNT(*) FROM keys) + "
                                   "(SELECT COUNT(*) FROM recent)").fetchone()[0])

    def close(self) -> None:
        """Close the connection."""
        self.db.close()
