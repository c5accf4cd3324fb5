"""Benchmark collection and the summary table printed after ``make bench`` (``pytest bench``).

``bench_*.py`` files are collected as well as ``test_*.py`` (``make test`` only looks in
``tests/``). Benchmarks add lines to the session's report with the ``bench_report`` fixture;
they are printed at the end of the run, without ``-s``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ modules import each other
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from redis_server import redis_url  # noqa: F401 - the real redis-server fixture


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    # A file named on the command line is collected by pytest itself.
    if (file_path.suffix == ".py" and file_path.name.startswith("bench_")
            and not parent.session.isinitpath(file_path)):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


class Report:
    """Named results (seconds, counts) and the lines of the summary, in order."""

    def __init__(self) -> None:
        self.values: dict[str, float] = {}
        self.lines: list[tuple[str, str, str]] = []

    def add(self, section: str, label: str, value: str) -> None:
        self.lines.append((section, label, value))


_KEY = pytest.StashKey[Report]()


@pytest.fixture(scope="session")
def bench_report(request: pytest.FixtureRequest) -> Report:
    config = request.config
    if _KEY not in config.stash:
        config.stash[_KEY] = Report()
    return config.stash[_KEY]


def median(benchmark: Any) -> float:
    """Median seconds of a finished pytest-benchmark run."""
    return float(benchmark.stats.stats.median)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    report = config.stash.get(_KEY, None)
    if report is None or not report.lines:
        return
    write = terminalreporter.write_line
    terminalreporter.section("dedup benchmark summary")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    write(f"machine: {os.cpu_count()} CPUs, load average {load:.1f} at the end of the run")
    section = None
    width = max(len(label) for _, label, _ in report.lines)
    for sec, label, value in report.lines:
        if sec != section:
            write("")
            write(f"[{sec}]")
            section = sec
        write(f"  {label:<{width}}  {value}")
