"""The heart of the product: 001 and 003 are a paraphrased syndicated pair, the rest apart."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from dedup.cli import cli


def _clusters(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_seeds_cluster_exactly_001_003(seeds_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["cluster", "--format", "jsonl", str(seeds_dir)])
    assert result.exit_code == 0, result.output
    clusters = _clusters(result.output)
    assert [sorted(m[:3] for m in c["members"]) for c in clusters] == [["001", "003"]]
    assert clusters[0]["representative"].startswith("001")


def test_seeds_tejas_iadws_passage_aligned(seeds_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["pairs", "--format", "jsonl", str(seeds_dir)])
    assert result.exit_code == 0, result.output
    (pair,) = _clusters(result.output)
    assert pair["relation"] == "reuse"
    text_a = (seeds_dir / f"{pair['a']}.txt").read_text(encoding="utf-8")
    text_b = (seeds_dir / f"{pair['b']}.txt").read_text(encoding="utf-8")
    spans = [(text_a[p["a"][0]:p["a"][1]], text_b[p["b"][0]:p["b"][1]]) for p in pair["passages"]]
    assert any("Tejas" in a and "IADWS" in a and "Tejas" in b and "IADWS" in b for a, b in spans)
    assert any("Peskov" in a and "Peskov" in b for a, b in spans)
    for p in pair["passages"]:
        assert 0 <= p["a"][0] < p["a"][1] <= len(text_a)
        assert 0 <= p["b"][0] < p["b"][1] <= len(text_b)
        assert 0 < p["score"] <= 1


def test_seeds_installed_command(seeds_dir: Path) -> None:
    """The console script, as `make demo` runs it, through a real process."""
    exe = Path(sys.executable).with_name("dedup")
    out = subprocess.run([str(exe), "cluster", str(seeds_dir)], capture_output=True, text=True,
                         check=True)
    assert [sorted(m[:3] for m in c["members"]) for c in _clusters(out.stdout)] == [["001", "003"]]
