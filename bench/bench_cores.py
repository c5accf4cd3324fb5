"""Signatures on one core against two, in one run, with the cores each run obtained.

40,000 generated documents (``corpus.make(40_000, seed=3)``, ~160 MB of text). ``ROUNDS``
times, back to back so that they see the same load:

- one process: ``signatures(texts)``;
- two processes: ``signatures(texts, processes=2)`` (a list: forked workers read index ranges
  of it from inherited memory);
- two processes, pickled: ``signatures(iter(texts), processes=2)`` (an iterator: chunks of
  texts are pickled to the workers, the path for streams);
- the ceiling: two processes forked by hand, each signing half the list, no pool and no pipe.

Each two-process figure carries its ratio to the one-process run of the same round and the
cores it obtained, (CPU time of this process and its children) / wall time. Linux autogroup
scheduling shares the CPU between sessions: while another session keeps a core busy, two
processes obtain about one core in all and cannot beat one, so read each speed-up next to the
cores obtained and the load.

    .venv/bin/pytest bench/bench_cores.py -q
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable

import numpy as np
import pytest
from conftest import Report
from corpus import make

from dedup import hash as dhash
from dedup.hash import signatures

N_DOCS = 40_000
ROUNDS = 3
SECTION = f"cores: signatures of {N_DOCS:,} docs, {ROUNDS} rounds back to back"


def _cpu() -> float:
    """CPU seconds of this process and of its reaped children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _timed(run: Callable[[], object]) -> tuple[float, float]:
    """Return the wall seconds of ``run()`` and the cores it obtained."""
    cpu, started = _cpu(), time.perf_counter()
    run()
    wall = time.perf_counter() - started
    return wall, (_cpu() - cpu) / wall


def _halves(texts: list[str]) -> None:
    """Sign each half of ``texts`` in its own forked process, nothing sent either way."""
    pids = []
    for part in (texts[:len(texts) // 2], texts[len(texts) // 2:]):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            code = 1
            try:
                signatures(part)
                code = 0
            finally:
                os._exit(code)
        pids.append(pid)
    for pid in pids:
        if os.waitpid(pid, 0)[1] != 0:
            raise RuntimeError("a forked half failed")


@pytest.mark.skipif(dhash._start_method() != "fork", reason="needs fork")
def test_one_against_two_processes(bench_report: Report) -> None:
    texts = make(N_DOCS, seed=3).texts
    expected = signatures(texts)  # also builds the hash tables before any fork
    assert np.array_equal(signatures(texts, processes=2), expected)
    runs: dict[str, list[tuple[float, float]]] = {}
    loads = []
    for _ in range(ROUNDS):
        loads.append(os.getloadavg()[0])
        for name, run in [("one process", lambda: signatures(texts)),
                          ("two processes", lambda: signatures(texts, processes=2)),
                          ("two processes, pickled chunks",
                           lambda: signatures(iter(texts), processes=2)),
                          ("ceiling: two forked halves", lambda: _halves(texts))]:
            runs.setdefault(name, []).append(_timed(run))
    one = np.array([wall for wall, _ in runs["one process"]])
    for name, timings in runs.items():
        walls = np.array([wall for wall, _ in timings])
        cores = ", ".join(f"{c:.2f}" for _, c in timings)
        value = f"{N_DOCS / np.median(walls):>8,.0f} docs/s"
        if name != "one process":
            ratios = one / walls
            value += (f", {np.median(ratios):.2f}x one process (rounds "
                      f"{', '.join(f'{r:.2f}' for r in ratios)})")
        bench_report.add(SECTION, name, f"{value}; cores obtained {cores}")
    bench_report.add(SECTION, "load average at the start of each round",
                     ", ".join(f"{load:.2f}" for load in loads))
