"""The ``dedup`` command line: cluster, pairs, compare, params."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import click

from dedup.config import Config
from dedup.engine import Result, run
from dedup.params import candidate_probability, optimal_params
from dedup.read import Document, Fields, InputError, read_documents
from dedup.report import side_by_side, write
from dedup.spark.command import engine_options, spark_dispatch
from dedup.verify import decide, profiles

__all__ = ["main"]

F = TypeVar("F", bound=Callable[..., Any])
_DEFAULT = Config()


class UserError(click.ClickException):
    """A problem with the user's input or options: one line on stderr, exit code 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        """Print ``dedup: error: message`` to stderr."""
        click.echo(f"dedup: error: {self.format_message()}", err=True)


def _input_options(func: F) -> F:
    options = [
        click.option("--id-field", default="id", show_default=True,
                     help="JSONL/CSV field holding the document id."),
        click.option("--text-field", default="text", show_default=True,
                     help="JSONL/CSV field holding the text."),
        click.option("--date-field", default="date", show_default=True,
                     help="JSONL/CSV field holding the publication date (ISO 8601)."),
        click.option("--stdin-format", type=click.Choice(["jsonl", "csv", "txt", "warc"]),
                     default="jsonl", show_default=True, help="Format of '-' (standard input)."),
        click.option("--on-error", type=click.Choice(["fail", "skip"]), default="fail",
                     show_default=True,
                     help="On a malformed record: stop (exit 2) or warn and skip it."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _config_options(func: F) -> F:
    options = [
        click.option("--ngram", type=click.IntRange(1), default=_DEFAULT.ngram, show_default=True,
                     help="Word n-gram size of document shingles (characters for CJK)."),
        click.option("--num-perm", type=click.IntRange(1), default=_DEFAULT.num_perm,
                     show_default=True, help="MinHash values per document."),
        click.option("--threshold", type=click.FloatRange(0, 1), default=_DEFAULT.threshold,
                     show_default=True, help="Jaccard the document-level LSH is tuned for."),
        click.option("--near-jaccard", type=click.FloatRange(0, 1),
                     default=_DEFAULT.near_jaccard, show_default=True,
                     help="Verified Jaccard that makes a near-duplicate."),
        click.option("--align-threshold", type=click.FloatRange(0, 1),
                     default=_DEFAULT.align_threshold, show_default=True,
                     help="Weighted content-word Jaccard for two sentences to align."),
        click.option("--min-aligned", type=click.IntRange(1), default=_DEFAULT.min_aligned,
                     show_default=True, help="Aligned sentences that make a pair 'reuse'."),
        click.option("--seed", type=int, default=_DEFAULT.seed, show_default=True,
                     help="Hash seed."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _output_options(func: F) -> F:
    func = click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "table", "parquet"]),
                        default=None, help="Output format [default: table on a terminal, "
                        "else jsonl; parquet: -o is a folder, --engine spark only].")(func)
    func = click.option("-o", "--output", type=click.File("w", encoding="utf-8"), default="-",
                        help="Write here instead of standard output.")(func)
    return click.option("-q", "--quiet", is_flag=True, help="No progress bar.")(func)


def _config(options: dict[str, Any]) -> Config:
    names = ("ngram", "num_perm", "threshold", "near_jaccard", "align_threshold", "min_aligned",
             "seed")
    return Config(**{name: options.pop(name) for name in names})


def _read(paths: tuple[str, ...], options: dict[str, Any]) -> list[Document]:
    fields = Fields(id=options.pop("id_field"), text=options.pop("text_field"),
                    date=options.pop("date_field"))

    def warn(error: InputError) -> None:
        click.echo(f"dedup: warning: {error}", err=True)

    try:
        return list(read_documents(sorted(paths), fields=fields, on_error=options.pop("on_error"),
                                   warn=warn, stdin_format=options.pop("stdin_format")))
    except InputError as error:
        raise UserError(str(error)) from None


def _progress(quiet: bool) -> Callable[[Iterable[Any], str, int], Iterable[Any]]:
    if quiet or not sys.stderr.isatty():
        return lambda items, _label, _total: items
    from tqdm import tqdm

    return lambda items, label, total: tqdm(items, desc=label, total=total, unit="pair",
                                            file=sys.stderr, leave=False)


def _run(paths: tuple[str, ...], options: dict[str, Any]) -> Result:
    config = _config(options)
    docs = _read(paths, options)
    if not docs:
        click.echo("dedup: warning: no documents in the input", err=True)
    result = run(docs, config, _progress(options.pop("quiet")))
    for level in sorted({level for level, _, _ in result.oversized}):  # one line per level
        sizes = [size for lvl, _, size in result.oversized if lvl == level]
        click.echo(f"dedup: warning: {len(sizes)} {level} LSH bucket(s) of more than "
                   f"{config.max_bucket} entries capped (largest {max(sizes)}; boilerplate?)",
                   err=True)
    return result


def _fmt(fmt: str | None, output: Any) -> Any:
    try:  # -o opens lazily, after the input was read: a bad input never truncates it
        tty = output.isatty()
    except click.FileError as error:
        raise UserError(f"cannot write {error.ui_filename}: {error.message}") from None
    return fmt or ("table" if tty else "jsonl")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dedup")
def cli() -> None:
    """Find copies, near-copies and rewrites of news articles."""


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--singletons", is_flag=True, help="Also list documents that match nothing.")
@_input_options
@_config_options
@_output_options
@engine_options
def cluster(paths: tuple[str, ...], singletons: bool, output: Any, fmt: str | None,
            **options: Any) -> None:
    """Group related articles; one JSON object per cluster of two or more.

    PATHS are JSONL, CSV, WARC or text files, folders of them, or '-' for standard input.
    """
    if spark_dispatch("cluster", paths, options, output, fmt, singletons):
        return
    result = _run(paths, options)
    write(result.cluster_records(singletons), "cluster", _fmt(fmt, output), output)


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@_input_options
@_config_options
@_output_options
@engine_options
def pairs(paths: tuple[str, ...], output: Any, fmt: str | None, **options: Any) -> None:
    """List every verified related pair with its evidence (aligned passages)."""
    if spark_dispatch("pair", paths, options, output, fmt):
        return
    result = _run(paths, options)
    write(result.pair_records(), "pair", _fmt(fmt, output), output)


@cli.command()
@click.argument("file_a")
@click.argument("file_b")
@click.option("--json", "as_json", is_flag=True, help="Print the evidence as one JSON object.")
@_config_options
def compare(file_a: str, file_b: str, as_json: bool, **options: Any) -> None:
    """Compare two text files; exit 0 if related, 1 if not, 2 on error (like grep)."""
    config = _config(options)
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


from dedup.cli_index import filter_command, index_group  # noqa: E402 - needs cli above

cli.add_command(index_group)
cli.add_command(filter_command)
from dedup.cli_eval import eval_command  # noqa: E402

cli.add_command(eval_command)


def main() -> None:
    """Entry point of the ``dedup`` command."""
    cli(prog_name="dedup")
