"""``dedup eval``: run the detector on a crawl and score it against ground truth.

Truth files are JSONL, one record a line, of two kinds (a file may mix them):

- a cluster: ``{"members": ["id1", "id2", ...]}``; documents in no cluster are singletons;
- a labelled pair: ``{"a": "id1", "b": "id2", "label": true}``, optionally with the spans
  copied, ``"passages": [{"a": [start, end], "b": [start, end]}]`` (character offsets into the
  texts of ``a`` and ``b``), and a ``"level"`` (any name, e.g. ``light``) to report recall per
  kind of rewrite.
"""

from __future__ import annotations

from typing import Any

import click
import orjson

from dedup import options as base
from dedup.evaluate import TruthError, read_truth, score

__all__ = ["eval_command"]


def _table(scores: dict[str, Any]) -> str:
    lines = [f"documents  {scores['documents']}"]
    for part in ("clusters", "pairs", "passages"):
        if part in scores:
            cells = "  ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                              for k, v in scores[part].items())
            lines.append(f"{part:<10} {cells}")
    for level, row in scores.get("levels", {}).items():
        cells = "  ".join(f"{k} {v}" for k, v in row.items())
        lines.append(f"  {level:<14} {cells}")
    return "\n".join(lines) + "\n"


@click.command("eval")
@click.argument("paths", nargs=-1, required=True)
@click.option("--truth", "truth_paths", multiple=True, required=True,
              help="Truth JSONL (clusters and/or labelled pairs); repeat for several files.")
@click.option("--json", "as_json", is_flag=True, help="Print the scores as one JSON object.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@base.input_options
@base.config_options
def eval_command(paths: tuple[str, ...], truth_paths: tuple[str, ...], as_json: bool,
                 **options: Any) -> None:
    """Run the detector on PATHS and score it against --truth.

    Prints cluster ARI and pairwise precision/recall/F1, pair precision/recall/F1, PAN passage
    precision/recall/granularity/plagdet, and recall per rewrite level.
    """
    try:
        truth, levels = read_truth(truth_paths)
    except TruthError as error:
        raise base.UserError(str(error)) from None
    result = base.run_local(paths, options)
    scores = score(result, truth, levels)
    if as_json:
        click.echo(orjson.dumps(scores).decode())
    else:
        click.echo(_table(scores), nl=False)
