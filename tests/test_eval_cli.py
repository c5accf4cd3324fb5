"""`dedup eval`: scores a real run against truth files; bad truth gets a file:line error."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from dedup.cli import cli


def _ids(seeds_dir: Path) -> dict[str, str]:
    return {p.name[:3]: p.stem for p in sorted(seeds_dir.glob("*.txt"))}


def test_eval_of_the_seeds_against_their_truth(seeds_dir: Path, tmp_path: Path) -> None:
    ids = _ids(seeds_dir)
    truth = tmp_path / "truth.jsonl"
    truth.write_text(json.dumps({"members": [ids["001"], ids["003"]]}) + "\n"
                     + json.dumps({"a": ids["000"], "b": ids["002"], "label": False}) + "\n")
    result = CliRunner().invoke(cli, ["eval", "--json", "--truth", str(truth), str(seeds_dir)])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.output)
    assert scores["documents"] == 5
    assert scores["clusters"]["ari"] == 1.0
    assert scores["pairs"]["precision"] == 1.0


def test_eval_reports_a_bad_truth_line(seeds_dir: Path, tmp_path: Path) -> None:
    truth = tmp_path / "truth.jsonl"
    truth.write_text('{"members": ["a", "b"]}\n{"a": "x", "b": "y", "label": "maybe"}\n')
    result = CliRunner().invoke(cli, ["eval", "--truth", str(truth), str(seeds_dir)])
    assert result.exit_code == 2
    assert f"{truth}:2:" in result.output
    assert "Traceback" not in result.output
