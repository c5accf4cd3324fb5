"""``--engine spark`` for ``dedup cluster`` and ``dedup pairs``: options and dispatch.

Importing this module does not import pyspark; only running with ``--engine spark`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import islice
from typing import Any, TypeVar

import click

__all__ = ["engine_options", "spark_dispatch"]

F = TypeVar("F", bound=Callable[..., Any])
_CHUNK = 10_000  # records written per call when streaming JSON lines


def engine_options(func: F) -> F:
    """Add ``--engine``, ``--master`` and ``--workers`` to a command."""
    func = click.option("--workers", type=click.IntRange(1), default=None,
                        help="Processes that profile documents in the local engine "
                        "[default: the CPUs this process may use].")(func)
    func = click.option("--master", default=None, metavar="URL",
                        help="Spark master (with --engine spark) [default: local[N], N = cores; "
                        "under spark-submit its own].")(func)
    return click.option("--engine", type=click.Choice(["local", "spark"]), default="local",
                        show_default=True, help="Run in this process, or on Apache Spark "
                        "(needs pip install 'dedup[spark]' and Java).")(func)


def _chunks(records: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    while chunk := list(islice(records, _CHUNK)):
        yield chunk


def spark_dispatch(kind: str, paths: tuple[str, ...], options: dict[str, Any], output: Any,
                   fmt: str | None, singletons: bool = False) -> bool:
    """Run the command on Spark if ``--engine spark`` was given; return whether it did.

    Pops the engine options from ``options``; raises ``UserError`` for a local run asked for
    Parquet output.
    """
    from dedup.options import UserError, config_from, output_format
    from dedup.read import Fields, InputError
    from dedup.report import write

    engine, master = options.pop("engine"), options.pop("master")
    if engine != "spark":
        if fmt == "parquet":
            raise UserError("--format parquet needs --engine spark")
        return False
    if options.pop("workers") is not None:
        raise UserError("--workers is for the local engine; Spark runs as many tasks as its "
                        "master gives it cores (--master local[N])")
    if "-" in paths:
        raise UserError("--engine spark reads files and folders (local or Hadoop URIs), "
                        "not standard input")
    if fmt == "parquet" and output.name == "-":
        raise UserError("--format parquet writes a folder: give it with -o")
    config = config_from(options)
    fields = Fields(id=options.pop("id_field"), text=options.pop("text_field"),
                    date=options.pop("date_field"))
    on_error = options.pop("on_error")

    def warn(message: str) -> None:
        click.echo(f"dedup: warning: {message}", err=True)

    try:
        from dedup.spark import RecordError, run, session
    except ImportError as err:
        raise UserError(f"--engine spark needs pyspark ({err}); "
                        "pip install 'dedup[spark]'") from None
    try:
        spark = session(master)
    except Exception as err:  # pyspark reports a missing JVM as a generic runtime error
        raise UserError(f"cannot start Spark (is Java installed?): {err}") from None
    try:
        result = run(spark, paths, config, fields, on_error=on_error, warn=warn)
    except (RecordError, InputError) as err:
        raise UserError(str(err)) from None
    for level in sorted({level for level, _, _ in result.oversized}):  # as the local engine
        sizes = [size for lvl, _, size in result.oversized if lvl == level]
        warn(f"{len(sizes)} {level} LSH bucket(s) of more than {config.max_bucket} entries "
             f"capped (largest {max(sizes)}; boilerplate?)")
    if result.skipped:
        warn(f"{result.skipped} bad record(s) skipped")
    if fmt == "parquet":
        result.write_parquet(kind, output.name, singletons)
        return True
    records = (result.cluster_records(singletons) if kind == "cluster"
               else result.pair_records())
    chosen = output_format(fmt, output)
    if chosen == "jsonl":
        for chunk in _chunks(records):
            write(chunk, "cluster" if kind == "cluster" else "pair", "jsonl", output)
    else:
        write(list(records), "cluster" if kind == "cluster" else "pair", chosen, output)
    return True
