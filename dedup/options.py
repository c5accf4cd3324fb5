"""Options and helpers the ``dedup`` commands share: inputs, settings, output, user errors."""

from __future__ import annotations

import errno
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import click

from dedup.config import Config
from dedup.engine import Result, run
from dedup.read import Document, Fields, InputError, read_documents

__all__ = ["UserError", "config_from", "config_options", "cpus", "input_options",
           "output_format", "output_options", "progress", "read_inputs", "run_local"]

F = TypeVar("F", bound=Callable[..., Any])
_NO_ROOM = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}  # the local engine's profile file is full
_DEFAULT = Config()


class UserError(click.ClickException):
    """A problem with the user's input or options: one line on stderr, exit code 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        """Print ``dedup: error: message`` to stderr."""
        click.echo(f"dedup: error: {self.format_message()}", err=True)


def input_options(func: F) -> F:
    """Add the input options (fields, stdin format, on-error) to a command."""
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


def config_options(func: F) -> F:
    """Add the detector settings that users tune most to a command."""
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
        click.option("--sentence-threshold", type=click.FloatRange(0, 1),
                     default=_DEFAULT.sentence_threshold, show_default=True,
                     help="Jaccard the sentence-level LSH is tuned for; higher finds fewer "
                     "rewrites and costs less."),
        click.option("--seed", type=int, default=_DEFAULT.seed, show_default=True,
                     help="Hash seed."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def output_options(func: F) -> F:
    """Add -o, --format and --quiet to a command."""
    func = click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "table", "parquet"]),
                        default=None, help="Output format [default: table on a terminal, "
                        "else jsonl; parquet: -o is a folder, --engine spark only].")(func)
    func = click.option("-o", "--output", type=click.File("w", encoding="utf-8"), default="-",
                        help="Write here instead of standard output.")(func)
    return click.option("-q", "--quiet", is_flag=True, help="No progress bar.")(func)


def config_from(options: dict[str, Any]) -> Config:
    """Pop the settings of :func:`config_options` into a :class:`Config`."""
    names = ("ngram", "num_perm", "threshold", "near_jaccard", "align_threshold", "min_aligned",
             "sentence_threshold", "seed")
    return Config(**{name: options.pop(name) for name in names})


def read_inputs(paths: tuple[str, ...], options: dict[str, Any]) -> Iterator[Document]:
    """Read the documents of ``paths`` (sorted) lazily with the input options; warn on stderr.

    The options are taken at once; a bad input raises :class:`UserError` where it is read.
    """
    fields = Fields(id=options.pop("id_field"), text=options.pop("text_field"),
                    date=options.pop("date_field"))

    def warn(error: InputError) -> None:
        click.echo(f"dedup: warning: {error}", err=True)

    return _user_errors(read_documents(sorted(paths), fields=fields,
                                       on_error=options.pop("on_error"), warn=warn,
                                       stdin_format=options.pop("stdin_format")))


def _user_errors(docs: Iterator[Document]) -> Iterator[Document]:
    try:
        yield from docs
    except InputError as error:
        raise UserError(str(error)) from None


def progress(quiet: bool) -> Callable[[Iterable[Any], str, int], Iterable[Any]]:
    """A tqdm progress bar on stderr when it is a terminal and not ``quiet``."""
    if quiet or not sys.stderr.isatty():
        return lambda items, _label, _total: items
    from tqdm import tqdm

    units = {"profile": "doc", "verify": "pair"}
    return lambda items, label, total: tqdm(items, desc=label, total=total, unit=units[label],
                                            file=sys.stderr, leave=False)


def cpus() -> int:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):  # not on macOS
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def run_local(paths: tuple[str, ...], options: dict[str, Any]) -> Result:
    """Read ``paths`` and run the local engine, reporting capped LSH buckets."""
    config = config_from(options)
    workers = options.pop("workers", None) or cpus()
    try:  # the input streams into the engine, which alone holds the texts and drops them
        result = run(read_inputs(paths, options), config, progress(options.pop("quiet")), workers)
    except OSError as error:
        if error.errno not in _NO_ROOM:
            raise
        raise UserError(f"cannot write the profile file in {tempfile.gettempdir()}: "
                        f"{error.strerror}; point TMPDIR at a disk with room") from None
    if not result.docs:
        click.echo("dedup: warning: no documents in the input", err=True)
    for level in sorted({level for level, _, _ in result.oversized}):  # one line per level
        sizes = [size for lvl, _, size in result.oversized if lvl == level]
        click.echo(f"dedup: warning: {len(sizes)} {level} LSH bucket(s) of more than "
                   f"{config.max_bucket} entries capped (largest {max(sizes)}; boilerplate?)",
                   err=True)
    return result


def output_format(fmt: str | None, output: Any) -> Any:
    """The output format: as given, else a table on a terminal and JSON lines elsewhere."""
    try:  # -o opens lazily, after the input was read: a bad input never truncates it
        tty = output.isatty()
    except click.FileError as error:
        raise UserError(f"cannot write {error.ui_filename}: {error.message}") from None
    return fmt or ("table" if tty else "jsonl")
