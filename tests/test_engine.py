"""The local engine's verbs: candidates from both LSH levels, ranks, timings."""

from __future__ import annotations

from pathlib import Path

from dedup.config import Config
from dedup.engine import candidate_pairs, level_keys, order, run
from dedup.read import Document, read_documents
from dedup.verify import profiles


def test_documents_without_tokens_are_never_candidates() -> None:
    docs = [Document("a", "!!! ... ???"), Document("b", "--- *** ---"), Document("c", "«»")]
    profs = profiles(docs, Config())
    assert candidate_pairs(profs, Config(), []) == []
    (document_level,) = [lk for lk in level_keys(profs, Config()) if lk.level == "document"]
    assert len(document_level.owners) == 0


def test_order_is_by_date_then_arrival() -> None:
    docs = [Document("x", "t"), Document("y", "t", date="2024-05-02"),
            Document("z", "t", date="2024-05-01"), Document("w", "t")]
    assert [d.id for d in order(docs)] == ["z", "y", "x", "w"]


def test_run_records_every_verb_and_finds_the_seed_pair(seeds_dir: Path) -> None:
    result = run(read_documents([str(seeds_dir)]), Config())
    assert set(result.timings) == {"order", "profile", "candidates", "verify", "cluster"}
    assert (1, 3) in result.candidates
    assert [(ev.a[:3], ev.b[:3]) for ev in result.evidence] == [("001", "003")]
    assert len(result.clusters) == 4
