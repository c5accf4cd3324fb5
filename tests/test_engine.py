"""The local engine's verbs: candidates from both LSH levels, ranks, timings."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dedup.config import Config
from dedup.engine import ProfileFile, candidate_pairs, level_keys, order, profiled, run
from dedup.read import Document, read_documents
from dedup.verify import profiles


def test_documents_without_tokens_are_never_candidates() -> None:
    docs = [Document("a", "!!! ... ???"), Document("b", "--- *** ---"), Document("c", "«»")]
    profs = profiles(docs, Config())
    assert candidate_pairs(level_keys(profs, Config()), Config(), []).shape == (0, 2)
    (document_level,) = [lk for lk in level_keys(profs, Config()) if lk.level == "document"]
    assert len(document_level.owners) == 0


def test_order_is_by_date_then_arrival() -> None:
    docs = [Document("x", "t"), Document("y", "t", date="2024-05-02"),
            Document("z", "t", date="2024-05-01"), Document("w", "t")]
    assert [d.id for d in order(docs)] == ["z", "y", "x", "w"]


def test_run_records_every_verb_and_finds_the_seed_pair(seeds_dir: Path) -> None:
    result = run(read_documents([str(seeds_dir)]), Config())
    assert set(result.timings) == {"order", "profile", "candidates", "verify", "cluster"}
    assert [1, 3] in result.candidates.tolist()
    assert [(ev.a[:3], ev.b[:3]) for ev in result.evidence] == [("001", "003")]
    assert len(result.clusters) == 4


def test_screening_keeps_every_related_pair(seeds_dir: Path, clough_dir: Path) -> None:
    """The engine screens candidates before deciding; the evidence must equal deciding all."""
    from dedup.engine import decided
    from dedup.verify import decide

    config = Config()
    docs = order(read_documents([str(seeds_dir), str(clough_dir)]))
    result = run(docs, config)
    profs = profiles(docs, config)
    every = [decide(profs[i], profs[j], config) for i, j in result.candidates]
    related = [ev for ev in every if ev.relation is not None]
    blobs = [prof.to_bytes() for prof in profs]
    dropped = sum(ev is None for ev in decided(result.docs, blobs, result.candidates, config))
    assert dropped > len(related) > 0  # the screen had pairs to drop, and dropped many
    assert result.evidence == related


@pytest.mark.parametrize("workers", [1, 2])
def test_profiling_in_chunks_gives_the_keys_of_one_pass(seeds_dir: Path, clough_dir: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        workers: int) -> None:
    """The engine profiles a chunk at a time, in one process or several; its keys and profiles
    equal one pass over all."""
    import dedup.engine

    config = Config()
    docs = order(read_documents([str(seeds_dir), str(clough_dir)]))
    profs = profiles(docs, config)
    monkeypatch.setattr(dedup.engine, "_PROFILE_CHUNK", 7)
    blobs: list[bytes] = []
    labels: list[tuple[str, int]] = []

    def progress(items: Iterable[Any], label: str, total: int) -> Iterable[Any]:
        labels.append((label, total))
        return items

    levels = profiled(list(docs), config, blobs, workers, progress)
    assert labels == [("profile", len(docs))]
    whole = level_keys(profs, config)
    assert [lk.level for lk in levels] == [lk.level for lk in whole] == ["document", "sentence"]
    for chunked, one in zip(levels, whole, strict=True):
        assert np.array_equal(chunked.keys, one.keys)
        assert np.array_equal(chunked.owners, one.owners)
    assert blobs == [prof.to_bytes() for prof in profs]


def test_forked_workers_decide_as_this_process(seeds_dir: Path, clough_dir: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Several processes decide slices of the pairs; what they yield, in order, is the same."""
    import dedup.engine
    from dedup.engine import decided

    config = Config()
    docs = order(read_documents([str(seeds_dir), str(clough_dir)]))
    pairs = run(docs, config).candidates
    blobs = [prof.to_bytes() for prof in profiles(docs, config)]
    alone = list(decided(docs, blobs, pairs, config))
    monkeypatch.setattr(dedup.engine, "_VERIFY_CHUNK", 40)
    assert len(pairs) > 10 * 40  # many slices, most cut at a document's first pair
    assert list(decided(docs, blobs, pairs, config, workers=2)) == alone
    assert sum(ev is not None and ev.relation is not None for ev in alone) > 10


def test_profiling_drops_each_text_and_files_the_profiles(seeds_dir: Path) -> None:
    """Once profiled, only ids and dates stay in memory; the profiles go to a temporary file."""
    config = Config()
    docs = order(read_documents([str(seeds_dir)]))
    ranked = list(docs)
    with ProfileFile() as blobs:
        profiled(ranked, config, blobs)
        assert [blobs[n] for n in range(len(blobs))] == [p.to_bytes() for p in profiles(docs,
                                                                                      config)]
    assert [(d.id, d.date, d.source, d.text) for d in ranked] == [(d.id, d.date, d.source, "")
                                                                  for d in docs]
    assert all(doc.text == "" for doc in run(docs, config).docs)


def test_profile_file_reads_back_what_was_appended() -> None:
    with ProfileFile() as blobs:
        blobs.extend([])
        blobs.extend([b"abc", b"", b"\x00" * 70_000])
        blobs.extend([b"z"])
        assert len(blobs) == 4
        assert [blobs[n] for n in range(4)] == [b"abc", b"", b"\x00" * 70_000, b"z"]


def test_records_are_made_one_at_a_time_as_they_are_written(
        seeds_dir: Path, clough_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Cluster records stream into the writer: a cluster's pairs become dicts only after the
    clusters before it are written (building all records first took 20.5 GB at 100k)."""
    import io

    from dedup.report import write
    from dedup.verify import Evidence

    result = run(read_documents([str(seeds_dir), str(clough_dir)]), Config())
    out = io.StringIO()
    written_before: list[int] = []
    to_dict = Evidence.to_dict

    def watched(ev: Evidence) -> dict[str, Any]:
        written_before.append(out.getvalue().count("\n"))
        return to_dict(ev)

    monkeypatch.setattr(Evidence, "to_dict", watched)
    write(result.cluster_records(), "cluster", "jsonl", out)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(records) > 2
    assert len(written_before) == len(result.evidence)
    assert max(written_before) == len(records) - 1  # the last cluster's pairs came last
