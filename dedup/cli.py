"""The ``dedup`` command line: cluster, pairs, compare, params."""

from __future__ import annotations

import shutil
import sys
from typing import Any

import click

from dedup.cli_eval import eval_command
from dedup.cli_index import filter_command, index_group
from dedup.config import Config
from dedup.options import (
    UserError,
    config_from,
    config_options,
    input_options,
    output_format,
    output_options,
    run_local,
)
from dedup.params import candidate_probability, optimal_params
from dedup.read import Fields, InputError, read_documents
from dedup.report import side_by_side, write
from dedup.spark.command import engine_options, spark_dispatch
from dedup.verify import decide, profiles

__all__ = ["cli", "main"]

_DEFAULT = Config()

@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dedup")
def cli() -> None:
    """Find copies, near-copies and rewrites of news articles."""


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--singletons", is_flag=True, help="Also list documents that match nothing.")
@input_options
@config_options
@output_options
@engine_options
def cluster(paths: tuple[str, ...], singletons: bool, output: Any, fmt: str | None,
            **options: Any) -> None:
    """Group related articles; one JSON object per cluster of two or more.

    PATHS are JSONL, CSV, WARC or text files, folders of them, or '-' for standard input.
    """
    if spark_dispatch("cluster", paths, options, output, fmt, singletons):
        return
    result = run_local(paths, options)
    write(result.cluster_records(singletons), "cluster", output_format(fmt, output), output)


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@input_options
@config_options
@output_options
@engine_options
def pairs(paths: tuple[str, ...], output: Any, fmt: str | None, **options: Any) -> None:
    """List every verified related pair with its evidence (aligned passages)."""
    if spark_dispatch("pair", paths, options, output, fmt):
        return
    result = run_local(paths, options)
    write(result.pair_records(), "pair", output_format(fmt, output), output)


@cli.command()
@click.argument("file_a")
@click.argument("file_b")
@click.option("--json", "as_json", is_flag=True, help="Print the evidence as one JSON object.")
@config_options
def compare(file_a: str, file_b: str, as_json: bool, **options: Any) -> None:
    """Compare two text files; exit 0 if related, 1 if not, 2 on error (like grep)."""
    config = config_from(options)
    docs = []
    for path in (file_a, file_b):
        try:
            found = list(read_documents([path], fields=Fields(), stdin_format="txt"))
        except InputError as error:
            raise UserError(str(error)) from None
        if len(found) != 1:
            raise UserError(f"{path}: expected one document, found {len(found)}")
        docs.append(found[0])
    a, b = profiles(docs, config)
    evidence = decide(a, b, config).to_dict()
    if as_json:
        import orjson

        click.echo(orjson.dumps(evidence).decode())
    else:
        click.echo(side_by_side(docs[0].text, docs[1].text, evidence,
                                shutil.get_terminal_size().columns), nl=False)
    sys.exit(0 if evidence["relation"] else 1)


@cli.command()
@click.option("--threshold", type=click.FloatRange(0, 1), default=_DEFAULT.threshold,
              show_default=True, help="Jaccard the LSH bands are tuned for.")
@click.option("--num-perm", type=click.IntRange(1), default=_DEFAULT.num_perm, show_default=True,
              help="MinHash values per document.")
def params(threshold: float, num_perm: int) -> None:
    """Show the bands x rows chosen and the S-curve of candidate probability."""
    bands, rows = optimal_params(threshold, num_perm)
    click.echo(f"threshold {threshold}, num_perm {num_perm}: {bands} bands x {rows} rows "
               f"({bands * rows} values used)")
    click.echo("jaccard  P(candidate)")
    for tenth in range(1, 11):
        s = tenth / 10
        bar = "#" * round(40 * candidate_probability(s, bands, rows))
        click.echo(f"  {s:.1f}    {candidate_probability(s, bands, rows):.4f}  {bar}")


cli.add_command(index_group)
cli.add_command(filter_command)
cli.add_command(eval_command)


def main() -> None:
    """Entry point of the ``dedup`` command."""
    cli(prog_name="dedup")
