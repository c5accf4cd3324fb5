"""What every storage backend of the persistent index provides: a small Protocol.

A backend stores, per document, its id, date, time (publication time, or arrival time when
undated), its serialised :class:`~dedup.verify.Profile` (what verification reads; the text
itself is not kept) and the LSH band keys it was filed under, plus buckets from band key to
documents. It knows nothing of verification: :class:`dedup.store.Index` turns
documents into keys and evidence and calls a backend inside one :meth:`Backend.transaction`
per batch, so a batch is written completely or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

__all__ = ["Backend", "Busy", "Conflict", "Entry", "IncompatibleIndex", "NewEntry"]

I64 = npt.NDArray[np.int64]


class IncompatibleIndex(ValueError):
    """The index was built with settings that give different keys than the ones asked for."""


class Busy(RuntimeError):
    """Another writer holds the index for longer than the busy timeout."""


class Conflict(RuntimeError):
    """A concurrent writer changed what a transaction read; the caller retries."""


@dataclass(frozen=True)
class Entry:
    """A stored document as the index needs it to verify a candidate.

    Attributes:
        seq: Arrival number (rank order among equal dates).
        id: Document id.
        date: ISO date as read, or None.
        ts: Publication time (or arrival time when undated), seconds since the epoch.
        profile: :meth:`dedup.verify.Profile.to_bytes` of the document.
    """

    seq: int
    id: str
    date: str | None
    ts: float
    profile: bytes


@dataclass(frozen=True)
class NewEntry:
    """A document to store: its serialised profile and the band keys (int64) to file it under."""

    id: str
    date: str | None
    ts: float
    profile: bytes
    keys: I64


class Backend(Protocol):
    """Storage of documents and band-key buckets; one instance per process and index."""

    def settings(self) -> dict[str, Any] | None:
        """Return the stored settings, or None for a new, empty index."""

    def save_settings(self, settings: dict[str, Any]) -> None:
        """Store the settings of a new index (inside a transaction)."""

    def transaction(self, write: bool) -> AbstractContextManager[None]:
        """Read consistently and, with ``write``, write atomically on success.

        Raises:
            Busy: When another writer holds the index past the busy timeout.
            Conflict: (On exit) when a concurrent writer invalidated what was read.
        """

    def lookup(self, keys: I64) -> dict[int, list[int]]:
        """Return the stored documents (seqs) filed under each of ``keys`` that has any."""

    def entries(self, seqs: Sequence[int]) -> list[Entry]:
        """Return the stored documents with these seqs (those that still exist)."""

    def known(self, ids: Sequence[str]) -> dict[str, int]:
        """Return the seq of each of ``ids`` that is stored."""

    def write(self, new: Sequence[NewEntry]) -> None:
        """Store documents (inside a write transaction; visible after it commits)."""

    def remove(self, ids: Sequence[str]) -> int:
        """Remove documents by id with their keys; return how many were stored."""

    def expire(self, before: float) -> int:
        """Remove documents whose time is before ``before`` (epoch seconds); return how many."""

    def stats(self) -> dict[str, Any]:
        """Return ``documents``, ``days``, ``size_bytes`` (and backend details)."""

    def ids(self) -> Iterator[str]:
        """Yield every stored id."""

    def audit(self) -> list[str]:
        """Return inconsistencies between documents and buckets (empty when consistent)."""

    def warm(self) -> int:
        """Read every bucket once so the OS caches them; return the entries read (0: in RAM)."""

    def close(self) -> None:
        """Release connections."""
