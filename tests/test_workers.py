"""Worker processes: lazy batches, results in order whatever the number of processes."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dedup.workers import CAN_FORK, batches, process_map

_inherited: list[int] = []


def _remember(*values: int) -> None:
    _inherited[:] = values


def _with_inherited(chunk: list[int]) -> tuple[int, int, int]:
    return sum(chunk), sum(_inherited), os.getpid()


def test_batches_are_lazy_and_keep_every_item() -> None:
    taken: list[int] = []

    def numbers() -> Iterator[int]:
        for n in range(23):
            taken.append(n)
            yield n

    chunks = batches(numbers(), 5)
    assert next(chunks) == [0, 1, 2, 3, 4] and len(taken) == 5
    assert list(chunks) == [[5, 6, 7, 8, 9], [10, 11, 12, 13, 14], [15, 16, 17, 18, 19],
                            [20, 21, 22]]


@pytest.mark.parametrize("workers", [1, 2])
def test_process_map_keeps_the_order(workers: int) -> None:
    chunks = list(batches(range(1000), 7))
    assert list(process_map(sum, chunks, workers)) == [sum(c) for c in chunks]


def _pid(_chunk: list[int]) -> int:
    return os.getpid()


def test_no_more_processes_than_chunks() -> None:
    assert list(process_map(_pid, [[1]], 2)) == [os.getpid()]  # one chunk: this process
    assert os.getpid() not in set(process_map(_pid, [[1], [2], [3]], 2))


def _sleep_then_mark(chunk: tuple[float, str]) -> int:
    seconds, mark = chunk
    time.sleep(seconds)
    Path(mark).touch()
    return os.getpid()


def test_closing_early_stops_the_workers_at_once(tmp_path: Path) -> None:
    """Ctrl-C or a caller that stops reading: queued chunks are not run to the end."""
    chunks = [(0.0, str(tmp_path / "0"))] + [(5.0, str(tmp_path / str(n))) for n in range(1, 9)]
    results = process_map(_sleep_then_mark, chunks, 2)
    first = next(results)
    results.close()  # what leaving a `with closing(...)` block on Ctrl-C does
    with pytest.raises(ProcessLookupError):
        os.kill(first, 0)  # the worker is gone (and reaped)
    assert [p.name for p in tmp_path.iterdir()] == ["0"]  # and no queued chunk ran to its end


@pytest.mark.skipif(not CAN_FORK, reason="processes cannot fork here")
def test_forked_workers_inherit_what_is_shared() -> None:
    results = list(process_map(_with_inherited, batches(range(100), 10), 2,
                               share=(1, 2, 3), setup=_remember))
    assert [r[0] for r in results] == [sum(range(n, n + 10)) for n in range(0, 100, 10)]
    assert {r[1] for r in results} == {6}  # set up in each worker
    assert os.getpid() not in {r[2] for r in results}
    assert _inherited == []  # never in this process
