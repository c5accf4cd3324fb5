"""Clough & Stevenson: cut/light/heavy answers relate to their source, non answers do not."""

from __future__ import annotations

import csv
from pathlib import Path

from dedup.config import Config
from dedup.engine import run
from dedup.read import read_documents


def test_clough_stevenson_f1_at_defaults(clough_dir: Path) -> None:
    result = run(read_documents([str(clough_dir)]), Config())
    related = {frozenset((ev.a, ev.b)) for ev in result.evidence}
    rows = list(csv.DictReader((clough_dir / "file_information.csv").open()))
    tp = fp = fn = 0
    for row in rows:
        if row["Category"] == "orig":
            continue
        answer, source = row["File"].removesuffix(".txt"), f"orig_task{row['Task']}"
        found = frozenset((answer, source)) in related
        positive = row["Category"] != "non"
        tp += found and positive
        fp += found and not positive
        fn += positive and not found
    f1 = 2 * tp / (2 * tp + fp + fn)
    print(f"Clough & Stevenson answers vs source: tp={tp} fp={fp} fn={fn} F1={f1:.3f}")
    assert f1 >= 0.95
