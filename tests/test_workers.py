"""Worker processes: lazy batches, results in order whatever the number of processes."""

from __future__ import annotations

import os
from collections.abc import Iterator

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


@pytest.mark.skipif(not CAN_FORK, reason="processes cannot fork here")
def test_forked_workers_inherit_what_is_shared() -> None:
    results = list(process_map(_with_inherited, batches(range(100), 10), 2,
                               share=(1, 2, 3), setup=_remember))
    assert [r[0] for r in results] == [sum(range(n, n + 10)) for n in range(0, 100, 10)]
    assert {r[1] for r in results} == {6}  # set up in each worker
    assert os.getpid() not in {r[2] for r in results}
    assert _inherited == []  # never in this process
