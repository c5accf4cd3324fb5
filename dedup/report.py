"""Report stage: clusters and pairs as JSON lines, CSV or a table for people."""

from __future__ import annotations

import csv
import textwrap
from collections.abc import Iterable, Sequence
from typing import Any, Literal, TextIO

import orjson

__all__ = ["Format", "side_by_side", "write"]

Format = Literal["jsonl", "csv", "table"]

_CSV_COLUMNS = {
    "cluster": ["cluster", "representative", "size", "members"],
    "pair": ["a", "b", "relation", "jaccard", "containment_ab", "containment_ba", "aligned",
             "coverage", "weight", "passages"],
}


def _flat(record: dict[str, Any], kind: str) -> dict[str, Any]:
    if kind == "cluster":
        return {
            "cluster": record["cluster"],
            "representative": record["representative"],
            "size": len(record["members"]),
            "members": " ".join(record["members"]),
        }
    row = dict(record)
    row["passages"] = " ".join(f"{p['a'][0]}-{p['a'][1]}:{p['b'][0]}-{p['b'][1]}"
                               for p in record["passages"])
    return row


def _table(records: Sequence[dict[str, Any]], kind: str, out: TextIO) -> None:
    if kind == "cluster":
        for r in records:
            out.write(f"cluster {r['cluster']}: {len(r['members'])} documents, "
                      f"representative {r['representative']}\n")
            for pair in r["pairs"]:
                _pair_line(pair, out, indent="  ")
        return
    for r in records:
        _pair_line(r, out, indent="")


def _pair_line(p: dict[str, Any], out: TextIO, indent: str) -> None:
    out.write(
        f"{indent}{p['a']} ~ {p['b']}  {p['relation'] or 'unrelated'}  "
        f"jaccard={p['jaccard']:.3f} containment={p['containment_ab']:.3f}/"
        f"{p['containment_ba']:.3f} aligned={p['aligned']} passages={len(p['passages'])}\n"
    )


def write(records: Iterable[dict[str, Any]], kind: Literal["cluster", "pair"], fmt: Format,
          out: TextIO) -> None:
    """Write cluster or pair records to ``out``, one at a time (a table reads them all first).

    Args:
        records: Dicts in the JSON schema of ``dedup cluster`` or ``dedup pairs``.
        kind: Which schema the records follow.
        fmt: ``jsonl`` (one object a line), ``csv`` (flattened), or ``table``.
        out: A text stream.
    """
    if fmt == "jsonl":
        for record in records:
            out.write(orjson.dumps(record).decode() + "\n")
    elif fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=_CSV_COLUMNS[kind], lineterminator="\n")
        writer.writeheader()
        for record in records:
            writer.writerow(_flat(record, kind))
    else:
        _table(list(records), kind, out)


def side_by_side(text_a: str, text_b: str, evidence: dict[str, Any], width: int) -> str:
    """Render a pair's aligned passages in two columns for a terminal."""
    column = max(20, (width - 3) // 2)
    lines = [
        f"{evidence['a']} ~ {evidence['b']}: {evidence['relation'] or 'not related'} "
        f"(jaccard {evidence['jaccard']:.3f}, containment {evidence['containment_ab']:.3f} / "
        f"{evidence['containment_ba']:.3f}, {evidence['aligned']} sentences aligned)"
    ]
    for number, passage in enumerate(evidence["passages"], 1):
        (a0, a1), (b0, b1) = passage["a"], passage["b"]
        lines.append("")
        lines.append(f"passage {number}  score {passage['score']:.2f}  "
                     f"a[{a0}:{a1}]  b[{b0}:{b1}]")
        left = textwrap.wrap(" ".join(text_a[a0:a1].split()), column) or [""]
        right = textwrap.wrap(" ".join(text_b[b0:b1].split()), column) or [""]
        for i in range(max(len(left), len(right))):
            l_part = left[i] if i < len(left) else ""
            r_part = right[i] if i < len(right) else ""
            lines.append(f"{l_part:<{column}} | {r_part}")
    return "\n".join(lines) + "\n"
