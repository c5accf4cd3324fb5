"""Redis backend of the persistent index, for an index shared by processes or hosts.

``redis://host:port/db?prefix=news`` selects it; every key starts with the prefix
(default ``dedup``): ``P:settings``, ``P:seq`` (arrival counter), ``P:id:<id>`` -> seq,
``P:d:<seq>`` (hash: id, date, ts, profile, keys), ``P:t`` (sorted set of seqs by time, for
expiry) and ``P:k:<8-byte key>`` (set of seqs filed under a band key).

A write transaction is optimistic: it WATCHes ``P:ver``, reads, queues its writes and sends
them as one MULTI/EXEC that also increments ``P:ver``. If another writer committed in between,
EXEC fails and :class:`~dedup.store.base.Conflict` makes the index redo the batch, so a batch
is stored completely or not at all and never on a stale check. (One version key rather than a
WATCH per bucket read: Redis 7.0 checks each new WATCH against the client's list, quadratic
in the ~500 keys per article.)
"""

from __future__ import annotations

import functools
import json
import struct
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import numpy as np
import redis as redis_py

from dedup.store.base import I64, Conflict, Entry, NewEntry

__all__ = ["RedisBackend"]

_DAY = 86400
Op = Callable[[Any], None]  # queued on a redis-py Pipeline after MULTI


def _split_url(url: str) -> tuple[str, str]:
    """Return the URL without ``prefix`` and the prefix."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    prefix = query.pop("prefix", ["dedup"])[0]
    if not prefix:
        raise ValueError(f"{url}: empty key prefix")
    return urlunsplit(parts._replace(query=urlencode(query, doseq=True))), prefix


class RedisBackend:
    """Documents and buckets under one key prefix of a Redis database."""

    def __init__(self, url: str) -> None:
        plain, prefix = _split_url(url)
        self.url = url
        self.r: Any = redis_py.Redis.from_url(plain)  # redis-py types: str | bytes unions
        try:
            self.r.ping()
        except redis_py.RedisError as err:
            raise OSError(f"{url}: cannot reach Redis: {err}") from None
        self.p = prefix.encode() + b":"
        self._pipe: Any = None
        self._ops: list[Op] = []

    # -- key names -------------------------------------------------------------------------

    def _k(self, key: int) -> bytes:
        return self.p + b"k:" + struct.pack("<q", key)

    def _d(self, seq: int) -> bytes:
        return self.p + b"d:" + str(seq).encode()

    def _id(self, doc_id: str) -> bytes:
        return self.p + b"id:" + doc_id.encode("utf-8", "surrogatepass")

    # -- transactions ----------------------------------------------------------------------

    @contextmanager
    def transaction(self, write: bool) -> Iterator[None]:
        """Reads go straight to Redis; with ``write``, reads WATCH and writes wait for EXEC."""
        if not write or self._pipe is not None:
            yield
            return
        self._pipe, self._ops = self.r.pipeline(transaction=True), []
        try:
            self._pipe.watch(self.p + b"ver")
            yield
            if self._ops:
                self._pipe.multi()
                for op in self._ops:
                    op(self._pipe)
                self._pipe.incr(self.p + b"ver")
                self._pipe.execute()
        except redis_py.WatchError:
            raise Conflict("a concurrent writer changed the index") from None
        finally:
            self._pipe.reset()
            self._pipe, self._ops = None, []

    # -- reads -----------------------------------------------------------------------------

    def settings(self) -> dict[str, Any] | None:
        """Return the stored settings, or None."""
        value = self.r.get(self.p + b"settings")
        return None if value is None else dict(json.loads(value))

    def save_settings(self, settings: dict[str, Any]) -> None:
        """Store the settings (at EXEC)."""
        value = json.dumps(settings, sort_keys=True)
        self._ops.append(functools.partial(self._set, name=self.p + b"settings", value=value))

    @staticmethod
    def _set(pipe: Any, *, name: bytes, value: str) -> None:
        pipe.set(name, value)

    def lookup(self, keys: I64) -> dict[int, list[int]]:
        """Return the seqs filed under each key that has any."""
        values = keys.tolist()
        names = [self._k(k) for k in values]
        pipe = self.r.pipeline(transaction=False)
        for name in names:
            pipe.smembers(name)
        return {k: sorted(int(s) for s in members)
                for k, members in zip(values, pipe.execute(), strict=True) if members}

    def entries(self, seqs: Sequence[int]) -> list[Entry]:
        """Return stored documents by seq."""
        pipe = self.r.pipeline(transaction=False)
        for seq in seqs:
            pipe.hmget(self._d(seq), "id", "date", "ts", "profile")
        out = []
        for seq, (doc_id, date, ts, profile) in zip(seqs, pipe.execute(), strict=True):
            if doc_id is not None:
                out.append(Entry(seq, doc_id.decode("utf-8", "surrogatepass"),
                                 date.decode() or None, float(ts), profile))
        return out

    def known(self, ids: Sequence[str]) -> dict[str, int]:
        """Return the seq of each stored id."""
        names = [self._id(i) for i in ids]
        values = self.r.mget(names) if names else []
        return {i: int(v) for i, v in zip(ids, values, strict=True) if v is not None}

    # -- writes ----------------------------------------------------------------------------

    def write(self, new: Sequence[NewEntry]) -> None:
        """Reserve seqs now and queue the documents and their keys for EXEC."""
        last = int(self.r.incrby(self.p + b"seq", len(new)))
        for seq, entry in enumerate(new, start=last - len(new) + 1):
            record = {"id": entry.id.encode("utf-8", "surrogatepass"),
                      "date": entry.date or "", "ts": repr(entry.ts), "profile": entry.profile,
                      "keys": entry.keys.astype("<i8").tobytes()}
            names = [self._k(k) for k in entry.keys.tolist()]
            self._ops.append(functools.partial(self._put, seq=seq, record=record, names=names,
                                               id_name=self._id(entry.id), ts=entry.ts))

    def _put(self, pipe: Any, *, seq: int, record: dict[str, Any], names: list[bytes],
             id_name: bytes, ts: float) -> None:
        pipe.hset(self._d(seq), mapping=record)
        pipe.set(id_name, seq)
        pipe.zadd(self.p + b"t", {str(seq): ts})
        for name in names:
            pipe.sadd(name, seq)

    def _drop(self, pipe: Any, *, seq: int, names: list[bytes], id_name: bytes) -> None:
        for name in names:
            pipe.srem(name, seq)
        pipe.delete(self._d(seq), id_name)
        pipe.zrem(self.p + b"t", str(seq))

    def _delete(self, seqs: Sequence[int]) -> int:
        pipe = self.r.pipeline(transaction=False)
        for seq in seqs:
            pipe.hmget(self._d(seq), "id", "keys")
        count = 0
        for seq, (doc_id, blob) in zip(seqs, pipe.execute(), strict=True):
            if doc_id is None:
                continue
            count += 1
            names = [self._k(k) for k in np.frombuffer(blob, dtype="<i8").tolist()]
            self._ops.append(functools.partial(self._drop, seq=seq, names=names,
                                               id_name=self.p + b"id:" + doc_id))
        return count

    def remove(self, ids: Sequence[str]) -> int:
        """Remove documents by id (at EXEC)."""
        names = [self._id(i) for i in ids]
        values = self.r.mget(names) if names else []
        seqs = [int(v) for v in values if v is not None]
        return self._delete(seqs)

    def expire(self, before: float) -> int:
        """Remove documents whose time is before ``before`` (at EXEC)."""
        seqs = [int(s) for s in self.r.zrangebyscore(self.p + b"t", "-inf", f"({before!r}")]
        return self._delete(seqs)

    # -- inspection ------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Return documents, days, and the memory of the whole Redis server."""
        times = self.r.zrange(self.p + b"t", 0, -1, withscores=True)
        memory = self.r.info("memory")
        return {"backend": "redis", "documents": len(times),
                "days": len({int(ts // _DAY) for _, ts in times}),
                "size_bytes": int(memory["used_memory"]),
                "size_note": "used_memory of the whole Redis server"}

    def ids(self) -> Iterator[str]:
        """Yield stored ids in arrival order."""
        seqs = [int(s) for s in self.r.zrange(self.p + b"t", 0, -1)]
        for entry in sorted(self.entries(seqs), key=lambda e: e.seq):
            yield entry.id

    def audit(self) -> list[str]:
        """Check that every document's keys hold it and every bucket member exists."""
        problems = []
        seqs = {int(s) for s in self.r.zrange(self.p + b"t", 0, -1)}
        for seq in sorted(seqs):
            doc_id, blob = self.r.hmget(self._d(seq), "id", "keys")
            if doc_id is None:
                problems.append(f"seq {seq} listed by time but has no document")
                continue
            if self.r.get(self.p + b"id:" + doc_id) != str(seq).encode():
                problems.append(f"document {doc_id!r}: id key does not point to it")
            pipe = self.r.pipeline(transaction=False)
            for key in np.frombuffer(blob, dtype="<i8").tolist():
                pipe.sismember(self._k(key), seq)
            missing = pipe.execute().count(False)
            if missing:
                problems.append(f"document {doc_id!r}: {missing} keys not filed")
        for name in self.r.scan_iter(match=self.p + b"k:*", count=1000):
            stray = {int(s) for s in self.r.smembers(name)} - seqs
            if stray:
                problems.append(f"bucket {name!r} holds missing documents {sorted(stray)}")
        return problems

    def warm(self) -> int:
        """Nothing to read: Redis holds every bucket in memory."""
        return 0

    def close(self) -> None:
        """Close the connection pool."""
        self.r.close()
