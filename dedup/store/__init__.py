"""The persistent, incremental index: is this article a copy or rewrite of one seen before?

:class:`Index` files each added document under the same LSH band keys as the local engine
(:func:`dedup.engine.level_keys`, both levels, ``max_bucket`` cap) and verifies candidates
with :func:`dedup.verify.decide`, so adding documents one by one and checking each against
the earlier ones finds the pairs that :func:`dedup.engine.run` finds on all of them. Each
document is stored as its serialised :class:`~dedup.verify.Profile` (shingle hashes, sentence
table, digest; no text), so a candidate is never profiled again: :func:`dedup.verify.screen`
rules out, from arrays read in place, the candidates that provably cannot be related, and
only the others are rebuilt (with an LRU cache) and decided.

Backends: SQLite (a file path; :mod:`dedup.store.sqlite`) and Redis (``redis://host:port/db
?prefix=name``; :mod:`dedup.store.redis`). The settings that decide keys are stored in the
index and checked on open, with the index format and a fingerprint of the profiling code:
an index written by another version is refused with :class:`IncompatibleIndex`.
"""

from __future__ import annotations

import functools
import gc
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np
import xxhash

from dedup.config import Config
from dedup.engine import level_keys
from dedup.read import Document
from dedup.shingle import mix64
from dedup.store.base import Backend, Busy, Conflict, Entry, IncompatibleIndex, NewEntry
from dedup.verify import Evidence, Profile, ProfileView, decide, profile, profiles, screen

__all__ = ["Busy", "IncompatibleIndex", "Index", "Verdict", "open", "stored_config"]

#: Settings that decide which keys a document is filed under; an index opened with other
#: values would silently miss candidates, so they must match. The decision thresholds may
#: differ: stored profiles do not depend on them, and pairs are decided again on every check.
KEY_SETTINGS = ("ngram", "num_perm", "seed", "threshold", "sentence_num_perm",
                "sentence_threshold", "min_sentence_words", "max_bucket")
_STRENGTH = {"duplicate": 3, "near-duplicate": 2, "reuse": 1}
_RETRIES = 20
_CACHE = 1024
#: Version of the index layout (4: SQLite keeps recent keys in the documents' rows only; 3:
#: in a ``recent`` table; 2: a document is a serialised profile; 1: compressed text).
FORMAT = 4
#: Text profiled to fingerprint the profiling code (segmentation, normalisation, weights,
#: hashing): stored profiles are only comparable with profiles made the same way.
_PROBE = ("The Ministry of Defence approved five S-400 divisions on 12 March 2024, "
          "officials said.\nPresident Putin's press secretary, Dmitry Peskov, called the deal\n"
          "a cornerstone of trust. \u201cWe\u2019re running late,\u201d he added! Why? "
          "Nobody knows.\n\n\u65e5\u672c\u8a9e\u306e\u6587\u7ae0\u3067\u3059\u3002"
          "\u4e8c\u6587\u76ee\u3002 Caf\u00e9 na\u00efve co-operation 3.5% IADWS.")


@dataclass(frozen=True)
class Verdict:
    """What the index knows about one document.

    Attributes:
        id: Id of the document checked.
        relation: The strongest relation to any stored document (``duplicate``,
            ``near-duplicate``, ``reuse``), or None.
        earliest: Id of the earliest document (rank order) among it and its matches; itself
            when it is the original, None when nothing matched.
        matches: Evidence of every related stored document, earliest first (``a`` is the
            earlier document of each pair, as in ``dedup pairs``).
        candidates: Stored documents verified.
        added: Whether the document was stored by this call.
    """

    id: str
    relation: str | None
    earliest: str | None
    matches: tuple[Evidence, ...]
    candidates: int = 0
    added: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form; each match is an :meth:`Evidence.to_dict` record."""
        return {"id": self.id, "relation": self.relation, "earliest": self.earliest,
                "matches": [ev.to_dict() for ev in self.matches], "candidates": self.candidates,
                "added": self.added}


def epoch(date: str | None, arrival: float) -> float:
    """Return the time of a document: its ISO date (naive = UTC), else its arrival time."""
    if date is None:
        return arrival
    when = datetime.fromisoformat(date)
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()


@functools.lru_cache(maxsize=16)
def _salts(level: int, bands: int) -> np.ndarray:
    salts = mix64(np.arange(bands, dtype=np.uint64)
                  + np.uint64(0x9E3779B97F4A7C15 * (level + 1) % (1 << 64)))
    salts.flags.writeable = False  # cached: shared by every call
    return salts


def documents_keys(profs: Sequence[Profile], config: Config) -> list[np.ndarray]:
    """Return the unique band keys of each profile at both levels, as signed int64.

    Each key of :func:`dedup.engine.level_keys` (one pass per level for all profiles) is mixed
    with its level and band position, so one table of keys serves every band of both levels.
    """
    keys, owners = [], []
    for number, level in enumerate(level_keys(profs, config)):
        keys.append(mix64(level.keys.astype(np.uint64) ^ _salts(number, level.bands)).ravel())
        owners.append(np.repeat(level.owners.astype(np.int64), level.bands))
    flat, owner = np.concatenate(keys), np.concatenate(owners)
    order = np.lexsort((flat, owner))
    flat, owner = flat[order], owner[order]
    keep = np.ones(len(flat), dtype=bool)
    keep[1:] = (flat[1:] != flat[:-1]) | (owner[1:] != owner[:-1])
    flat, owner = flat[keep], owner[keep]
    cuts = np.searchsorted(owner, np.arange(1, len(profs)))
    return [part.view(np.int64) for part in np.split(flat, cuts)]


@dataclass
class _Candidate:
    rank: tuple[bool, str, int]
    id: str
    ts: float
    entry: Entry | None = None
    prof: Profile | None = None
    view: ProfileView | None = None


class Index:
    """A persistent index of documents; open with :meth:`open`, close with :meth:`close`."""

    def __init__(self, backend: Backend, config: Config) -> None:
        self.backend = backend
        self.config = config
        self._cache: OrderedDict[tuple[int, str], Profile] = OrderedDict()

    @classmethod
    def open(cls, target: str, config: Config, *, busy_timeout: float = 10.0) -> Index:
        """Open (or create) the index at a file path or ``redis://`` URL.

        Args:
            target: SQLite file path, or ``redis://host:port/db?prefix=name``.
            config: Settings; those in :data:`KEY_SETTINGS` must equal the stored ones.
            busy_timeout: Seconds a writer waits for another writer before :class:`Busy`.

        Raises:
            IncompatibleIndex: When the index was built with other key settings.
        """
        backend = _backend(target, busy_timeout)
        index = cls(backend, config)
        try:
            with backend.transaction(write=False):
                stored = backend.settings()
            if stored is None:  # a new index: store the settings unless a writer just did
                for _ in range(_RETRIES):
                    try:
                        with backend.transaction(write=True):
                            stored = backend.settings()
                            if stored is None:
                                backend.save_settings(_settings(config))
                        break
                    except Conflict:
                        continue
            if stored is not None:
                _compatible(stored, config, target)
        except BaseException:
            backend.close()
            raise
        return index

    def close(self) -> None:
        """Close the backend's connections."""
        self.backend.close()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- public operations ---------------------------------------------------------------

    def check(self, doc: Document, *, window: float | None = None) -> Verdict:
        """Check one document against the stored ones without storing it.

        Args:
            doc: The document.
            window: Only match stored documents whose time is within this many seconds of
                the document's (None: any time).
        """
        return self.check_many([doc], window=window)[0]

    def check_many(self, docs: Sequence[Document], *,
                   window: float | None = None) -> list[Verdict]:
        """Check documents against the stored ones (not against each other)."""
        return self._run(profiles(docs, self.config), window, store=False, verify=True)

    def add(self, doc: Document) -> bool:
        """Store one document; False if its id was already stored."""
        return self.add_many([doc])[0]

    def add_many(self, docs: Sequence[Document]) -> list[bool]:
        """Store documents in one atomic step; False for ids already stored."""
        return self.add_profiles(profiles(docs, self.config))

    def add_profiles(self, profs: Sequence[Profile]) -> list[bool]:
        """Store documents already profiled, in one atomic step; False for ids already stored.

        The profiles must come from :func:`dedup.verify.profiles` with the index's ``ngram``
        and ``seed`` (nothing checks it); one profiling pass can so fill several indexes.
        """
        return [v.added for v in self._run(profs, None, store=True, verify=False)]

    def check_and_add(self, doc: Document, *, window: float | None = None) -> Verdict:
        """Check a document and store it, as one atomic step."""
        return self.check_and_add_many([doc], window=window)[0]

    def check_and_add_many(self, docs: Sequence[Document], *,
                           window: float | None = None) -> list[Verdict]:
        """Check and store documents as one atomic step.

        Each is checked against the stored documents and the earlier ones of the batch. An
        id already stored is checked (against the others, in its stored place) but not stored
        again.
        """
        return self._run(profiles(docs, self.config), window, store=True, verify=True)

    def remove(self, doc_id: str) -> bool:
        """Remove a document and its keys; False if it was not stored."""
        return self.remove_many([doc_id]) == 1

    def remove_many(self, ids: Sequence[str]) -> int:
        """Remove documents by id in one atomic step; return how many were stored."""
        with self.backend.transaction(write=True):
            return self.backend.remove(list(ids))

    def expire(self, before: datetime) -> int:
        """Remove every document whose time (date, or arrival when undated) is before this."""
        if before.tzinfo is None:
            before = before.replace(tzinfo=timezone.utc)
        with self.backend.transaction(write=True):
            return self.backend.expire(before.timestamp())

    def stats(self) -> dict[str, Any]:
        """Return documents, days, size in bytes and bytes per document."""
        with self.backend.transaction(write=False):
            stats = self.backend.stats()
        stats["bytes_per_document"] = (round(stats["size_bytes"] / stats["documents"])
                                       if stats["documents"] else None)
        return stats

    def warm(self) -> int:
        """Prepare a long-running process (``dedup filter``, a queue consumer) to check fast.

        Reads every bucket once, so that the first checks do not wait on the disk (the key
        B-tree of an SQLite index, whose recent keys are in memory; Redis holds them in RAM),
        and freezes the objects loaded so far (word frequency lists, the term caches) out of
        the garbage collector's full passes, which otherwise traverse them: profiling 6,000
        generated articles paused for 17-74 ms three times, and 6-10 ms twice once frozen. The
        freeze lasts for the life of the process.

        Returns:
            The bucket entries read (0 for Redis).
        """
        with self.backend.transaction(write=False):
            read = self.backend.warm()
        gc.freeze()
        return read

    def ids(self) -> list[str]:
        """Return every stored id."""
        with self.backend.transaction(write=False):
            return list(self.backend.ids())

    def audit(self) -> list[str]:
        """Return inconsistencies between documents and buckets (empty when consistent)."""
        with self.backend.transaction(write=False):
            return self.backend.audit()

    # -- the one loop behind every check and add ------------------------------------------

    def _run(self, profs: Sequence[Profile], window: float | None, *, store: bool,
             verify: bool) -> list[Verdict]:
        profs = list(profs)
        if not profs:
            return []
        keys = documents_keys(profs, self.config)
        arrival = time.time()
        for attempt in range(_RETRIES):
            try:
                with self.backend.transaction(write=store):
                    verdicts, new = self._batch(profs, keys, arrival, window, store, verify)
                    if new:
                        self.backend.write(new)
                return verdicts
            except Conflict:
                time.sleep(0.001 * (attempt + 1))
        raise Busy(f"gave up after {_RETRIES} conflicts with concurrent writers")

    def _batch(self, profs: list[Profile], keys: list[np.ndarray], arrival: float,
               window: float | None, store: bool,
               verify: bool) -> tuple[list[Verdict], list[NewEntry]]:
        backend, cap = self.backend, self.config.max_bucket
        found = backend.lookup(np.unique(np.concatenate(keys)))
        known = backend.known([p.doc.id for p in profs])
        stored: dict[int, _Candidate] = {}
        pending: dict[int, list[int]] = {}  # key -> numbers of batch documents filed under it
        batch: list[_Candidate] = []
        new: list[NewEntry] = []
        verdicts = []
        for number, (prof, doc_keys) in enumerate(zip(profs, keys, strict=True)):
            doc = prof.doc
            # A new document arrives after every stored one; a stored id keeps its place.
            seq = known.get(doc.id, (1 << 62) + number)
            me = _Candidate((doc.date is None, doc.date or "", seq), doc.id,
                            epoch(doc.date, arrival), prof=prof)
            members: set[tuple[str, int]] = set()
            insert = doc_keys.tolist()
            full = set()
            for key in found.keys() & insert | pending.keys() & insert:  # most keys are new
                seqs, mine = found.get(key, []), pending.get(key, [])
                size = len(seqs) + len(mine)
                if verify and size + 1 <= cap:  # storing alone needs only the bucket sizes
                    members.update(("s", s) for s in seqs)
                    members.update(("b", b) for b in mine)
                if size > cap:  # a bucket keeps cap + 1 members: enough to know it is full
                    full.add(key)
            if full:
                insert = [key for key in insert if key not in full]
            matches: list[tuple[_Candidate, Evidence]] = []
            checked = 0
            if verify:
                cands = self._candidates(members, stored, batch)
                cands = [c for c in cands if c.id != doc.id
                         and (window is None or abs(c.ts - me.ts) <= window)]
                checked = len(cands)
                views = [_view(c) for c in cands]
                cands = [c for c, ok in zip(cands, screen(prof, views, self.config), strict=True)
                         if ok]  # the others provably decide to no relation
                self._profile(cands)
                for cand in cands:
                    assert cand.prof is not None
                    ev = (decide(cand.prof, prof, self.config) if cand.rank < me.rank
                          else decide(prof, cand.prof, self.config))
                    if ev.relation is not None:
                        matches.append((cand, ev))
            added = store and doc.id not in known
            if added:
                known[doc.id] = seq
                batch.append(me)
                if number + 1 < len(profs):  # later documents of the batch look it up
                    for key in insert:
                        pending.setdefault(key, []).append(len(batch) - 1)
                new.append(NewEntry(doc.id, doc.date, me.ts, prof.to_bytes(),
                                    np.array(insert, dtype=np.int64)))
            verdicts.append(_verdict(me, matches, checked, added))
        return verdicts, new

    def _candidates(self, members: set[tuple[str, int]], stored: dict[int, _Candidate],
                    batch: list[_Candidate]) -> list[_Candidate]:
        missing = sorted(s for kind, s in members if kind == "s" and s not in stored)
        for entry in self.backend.entries(missing):
            stored[entry.seq] = _Candidate((entry.date is None, entry.date or "", entry.seq),
                                           entry.id, entry.ts, entry=entry)
        out = [stored[s] for kind, s in members if kind == "s" and s in stored]
        out += [batch[b] for kind, b in members if kind == "b"]
        return sorted(out, key=lambda c: c.rank)

    def _profile(self, cands: list[_Candidate]) -> None:
        for cand in cands:
            if cand.prof is not None:
                continue
            assert cand.entry is not None
            key = (cand.entry.seq, cand.id)
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                cand.prof = cached
                continue
            cand.prof = Profile.from_bytes(Document(cand.id, "", cand.entry.date),
                                           cand.entry.profile)
            self._cache[key] = cand.prof
            if len(self._cache) > _CACHE:
                self._cache.popitem(last=False)


def _view(cand: _Candidate) -> ProfileView:
    if cand.view is None:
        if cand.prof is not None:
            cand.view = ProfileView.of(cand.prof)
        else:
            assert cand.entry is not None
            cand.view = ProfileView.from_bytes(cand.entry.profile)
    return cand.view


@functools.lru_cache(maxsize=16)
def _fingerprint(ngram: int, seed: int) -> str:
    """Hash of the serialised profile of :data:`_PROBE` under these settings."""
    config = Config(ngram=ngram, seed=seed)
    return xxhash.xxh3_64_hexdigest(profile(Document("probe", _PROBE), config).to_bytes())


def _settings(config: Config) -> dict[str, Any]:
    return {**config.to_dict(), "format": FORMAT,
            "profiler": _fingerprint(config.ngram, config.seed)}


def _verdict(me: _Candidate, matches: list[tuple[_Candidate, Evidence]], checked: int,
             added: bool) -> Verdict:
    if not matches:
        return Verdict(me.id, None, None, (), checked, added)
    relation = max((ev.relation or "" for _, ev in matches), key=lambda r: _STRENGTH.get(r, 0))
    earliest = min([me, *(c for c, _ in matches)], key=lambda c: c.rank).id
    return Verdict(me.id, relation, earliest, tuple(ev for _, ev in matches), checked, added)


def _compatible(stored: dict[str, Any], config: Config, target: str) -> None:
    if stored.get("format", 1) != FORMAT:
        raise IncompatibleIndex(
            f"{target}: index format {stored.get('format', 1)} was written by another version "
            f"of dedup (this one reads format {FORMAT}); rebuild it with `dedup index add`")
    wanted = config.to_dict()
    diffs = [f"{name}={stored.get(name)!r} (asked for {wanted[name]!r})"
             for name in KEY_SETTINGS if stored.get(name) != wanted[name]]
    if diffs:
        raise IncompatibleIndex(f"{target}: index was built with other settings: "
                                + ", ".join(diffs))
    if stored.get("profiler") != _fingerprint(config.ngram, config.seed):
        raise IncompatibleIndex(
            f"{target}: index profiles were made by other profiling code (segmentation, "
            "normalisation or term weights changed since); rebuild it with `dedup index add`")


def _backend(target: str, busy_timeout: float) -> Backend:
    if target.startswith(("redis://", "rediss://", "unix://")):
        from dedup.store.redis import RedisBackend

        return RedisBackend(target)
    from dedup.store.sqlite import SQLiteBackend

    return SQLiteBackend(target, busy_timeout)


def stored_config(target: str) -> Config | None:
    """Return the settings an existing index was built with (None if it is new or empty)."""
    backend = _backend(target, 10.0)
    try:
        with backend.transaction(write=False):
            settings = backend.settings()
        return None if settings is None else Config.from_dict(settings)
    finally:
        backend.close()


def open(target: str, config: Config) -> Index:
    """Open (or create) the index at ``target``; see :meth:`Index.open`."""
    return Index.open(target, config)

