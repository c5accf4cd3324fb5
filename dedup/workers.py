"""Running a stage in worker processes: lazy batches, mapped in order, two in flight each.

The local engine profiles and verifies with these, ``dedup index add`` profiles with them;
the results never depend on the number of processes.
"""

from __future__ import annotations

import functools
import itertools
import multiprocessing
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, TypeVar

from dedup.config import Config
from dedup.read import Document
from dedup.verify import Profile, profiles

__all__ = ["CAN_FORK", "batches", "process_map", "profile_batches"]

T = TypeVar("T")
C = TypeVar("C")
R = TypeVar("R")
#: Whether worker processes can be forked, inheriting data instead of receiving copies.
CAN_FORK = "fork" in multiprocessing.get_all_start_methods()


def batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Yield lists of ``size`` items (the last one shorter), reading ``items`` lazily."""
    it = iter(items)
    while batch := list(itertools.islice(it, size)):
        yield batch


def process_map(func: Callable[[C], R], chunks: Iterable[C], workers: int, *,
                share: tuple[Any, ...] = (), setup: Callable[..., None] | None = None,
                ) -> Generator[R, None, None]:
    """Yield ``func`` of each chunk, in order.

    The chunks go to ``workers`` processes, never more than there are chunks (this one if
    that is 1), at most two in flight per process so that memory stays flat; ``func``, the
    chunks and the results must pickle. With ``setup``, the processes are forked
    (:data:`CAN_FORK` must hold) and each first calls ``setup(*share)``: ``share`` is
    inherited, not copied through a pipe.
    """
    chunks = iter(chunks)
    head = list(itertools.islice(chunks, workers))
    workers = min(workers, len(head))
    chunks = itertools.chain(head, chunks)
    if workers <= 1:
        if setup is not None:
            setup(*share)
        yield from map(func, chunks)
        return
    context = multiprocessing.get_context("fork") if setup else None
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=setup, initargs=share)
    try:
        pending: deque[Future[R]] = deque()
        for chunk in chunks:
            pending.append(pool.submit(func, chunk))
            if len(pending) == 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    except BaseException:  # Ctrl-C, an error, or the caller closing early
        _stop(pool)
        raise
    pool.shutdown()


def _stop(pool: ProcessPoolExecutor) -> None:
    """Stop the workers now, not after the chunks queued for them.

    A worker that catches Ctrl-C goes on with its queued chunks, which nobody will read: 7 s
    of them on a 20,000-article crawl. Before Python 3.14 there is no public way to stop it.
    """
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14
    if terminate is not None:
        terminate()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()
    pool.shutdown(cancel_futures=True)


def _profile_bytes(docs: list[Document], config: Config) -> list[bytes]:
    return [prof.to_bytes() for prof in profiles(docs, config)]


def profile_batches(docs: Iterable[Document], config: Config, size: int,
                    workers: int) -> Generator[list[Profile], None, None]:
    """Profiles of ``docs`` in batches of ``size``, made by ``workers`` processes.

    Profiles travel between processes serialised (for a short article 2.8 KB against 9.3 KB
    pickled) and come back rebuilt by :meth:`~dedup.verify.Profile.from_bytes`: what
    :meth:`dedup.store.Index.add_profiles` stores and keys is the same.
    """
    mine, theirs = itertools.tee(batches(docs, size))
    done = process_map(functools.partial(_profile_bytes, config=config), theirs, workers)
    for batch, blobs in zip(mine, done, strict=True):
        yield [Profile.from_bytes(doc, blob) for doc, blob in zip(batch, blobs, strict=True)]
