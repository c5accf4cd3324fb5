"""The pair decision on planted copies: verbatim, trimmed, extended, unrelated."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dedup.align import SentenceTable
from dedup.config import Config
from dedup.hash import hash_tokens
from dedup.normalize import rarity
from dedup.read import Document, read_documents
from dedup.verify import Profile, ProfileView, decide, profiles, screen

CONFIG = Config()


def _pair(text_a: str, text_b: str) -> dict:
    a, b = profiles([Document("a", text_a), Document("b", text_b)], CONFIG)
    return decide(a, b, CONFIG).to_dict()


@pytest.fixture(scope="module")
def article(seeds_dir: Path) -> str:
    return (seeds_dir / "000_655ecb292ccac81f.txt").read_text(encoding="utf-8")


def test_verbatim_copy_is_duplicate(article: str) -> None:
    ev = _pair(article, article)
    assert ev["relation"] == "duplicate"
    assert ev["jaccard"] == 1.0


def test_copy_differing_in_case_and_quotes_is_duplicate(article: str) -> None:
    copy = article.upper().replace("’", "'")
    assert _pair(article, copy)["relation"] == "duplicate"


def test_trimmed_copy_is_near_duplicate(article: str) -> None:
    lines = article.splitlines()
    trimmed = "\n".join(lines[: len(lines) // 2])
    ev = _pair(article, trimmed)
    assert ev["relation"] == "near-duplicate"
    assert ev["containment_ba"] == 1.0
    assert ev["containment_ab"] < 0.7


def test_copy_with_added_paragraph_is_near_duplicate(article: str) -> None:
    extra = ("Our correspondent adds that the weather in the capital was unusually mild this "
             "week, and that traffic around the summit venue was diverted for two days.")
    ev = _pair(article, article + "\n" + extra)
    assert ev["relation"] == "near-duplicate"
    assert ev["containment_ab"] == 1.0


def test_passage_offsets_point_into_original_text(article: str) -> None:
    prefix = "BREAKING — «Exclusive»\n\n"
    copy = prefix + article
    ev = _pair(article, copy)
    assert ev["passages"]
    for p in ev["passages"]:
        assert article[p["a"][0]:p["a"][1]] == copy[p["b"][0]:p["b"][1]]


def test_unrelated_texts_are_not_related(article: str, seeds_dir: Path) -> None:
    other = (seeds_dir / "004_e34e4b6ac4706969.txt").read_text(encoding="utf-8")
    ev = _pair(article, other)
    assert ev["relation"] is None
    assert ev["jaccard"] < 0.05


def test_cjk_copy_uses_character_shingles() -> None:
    text = ("東京都は日本の首都であり、世界有数の大都市である。人口は約千四百万人に達する。"
            "多くの企業の本社が集まり、経済の中心地として機能している。")
    ev = _pair(text, text[:-1] + "！追加の一文です。")
    assert ev["relation"] == "near-duplicate"
    assert ev["jaccard"] > 0.7
    other = "大阪は食べ物で有名な都市で、たこ焼きやお好み焼きが人気である。"
    assert _pair(text, other)["relation"] is None


_TABLE_ARRAYS = ("sizes", "mass", "spans", "entry_sentence", "entry_term", "entry_weight",
                 "unit_term", "unit_of")


def _assert_same_table(x: SentenceTable, y: SentenceTable) -> None:
    for name in _TABLE_ARRAYS:
        a, b = getattr(x, name), getattr(y, name)
        assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b), name
    assert [(s.start, s.end) for s in x.sentences] == [(s.start, s.end) for s in y.sentences]


def _corpus(seeds_dir: Path) -> list[Document]:
    """Seeds, copies and rewrites of them, and texts at the edges of segmentation."""
    seeds = list(read_documents([str(seeds_dir)]))
    docs = list(seeds)
    for n, doc in enumerate(seeds):
        lines = doc.text.splitlines()
        docs.append(Document(f"trim{n}", "\n".join(lines[: len(lines) // 2])))
        docs.append(Document(f"half{n}", "\n".join(lines[::2])))
        docs.append(Document(f"upper{n}", doc.text.upper()))
    docs += [Document("empty", ""), Document("word", "Hello"), Document("one", "A single one."),
             Document("cjk", "日本語の文章です。これは二文目です。三文目もあります。"),
             Document("wrapped", "This sentence is hard\nwrapped across lines\nlike a book.\n"
                                 "Another line follows here.")]
    return docs


def test_profile_bytes_round_trip_decides_identically(seeds_dir: Path) -> None:
    docs = _corpus(seeds_dir)
    profs = profiles(docs, CONFIG)
    back = [Profile.from_bytes(Document(p.doc.id, "", p.doc.date), p.to_bytes()) for p in profs]
    for p, q in zip(profs, back, strict=True):
        _assert_same_table(p.table, q.table)
        assert np.array_equal(p.shingles, q.shingles) and p.digest == q.digest
    for i, a in enumerate(profs):
        for j, b in enumerate(profs):
            if i != j:
                assert decide(back[i], back[j], CONFIG) == decide(a, b, CONFIG)


def test_screen_rules_out_only_unrelated_pairs(seeds_dir: Path) -> None:
    docs = _corpus(seeds_dir)
    profs = profiles(docs, CONFIG)
    views = [ProfileView.from_bytes(p.to_bytes()) for p in profs]
    kept = dropped = related = 0
    for i, query in enumerate(profs):
        mask = screen(query, views, CONFIG)
        assert np.array_equal(mask, screen(query, [ProfileView.of(p) for p in profs], CONFIG))
        for j, other in enumerate(profs):
            if i == j:
                continue
            relation = decide(other, query, CONFIG).relation
            related += relation is not None
            if mask[j]:
                kept += 1
            else:
                dropped += 1
                assert relation is None, (docs[j].id, docs[i].id)
    assert related and kept >= related and dropped > 100  # of 600 ordered pairs


def test_terms_are_identified_by_their_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two terms hashing alike are one term across adjacent sentences, two within one."""
    lion = int(hash_tokens(["lion"], CONFIG.seed)[0])

    def colliding(terms: list[str], seed: int) -> np.ndarray:
        return hash_tokens(["lion" if t == "tiger" else t for t in terms], seed)

    monkeypatch.setattr("dedup.normalize.hash_tokens", colliding)
    monkeypatch.setattr("dedup.normalize.hash_token", lambda t, seed: int(colliding([t], seed)[0]))
    monkeypatch.setattr("dedup.normalize._word_cache", {})
    text = "The lion slept near the river bank today.\nA tiger walked along the river bank."
    across = profiles([Document("c", text)], CONFIG)[0]
    table = across.table
    assert table.entry_term.tolist().count(lion) == 2 and len(table.sizes) == 2
    assert table.unit_term[table.unit_of == 2].tolist().count(lion) == 1  # the pair unit
    assert table.exact_units
    # In the pair unit a shared term weighs as in the later sentence ("tiger" for "lion").
    shared = rarity("lion") + rarity("river") + rarity("bank")
    assert table.mass[2] == pytest.approx(table.mass[0] + table.mass[1] - shared)
    within = profiles([Document("d", "The lion and the tiger slept by the river.")], CONFIG)[0]
    assert within.table.entry_term.tolist().count(lion) == 2
    assert not within.table.exact_units  # screen cannot bound it: always aligned in full
    for prof in (across, within):
        back = Profile.from_bytes(prof.doc, prof.to_bytes())
        _assert_same_table(prof.table, back.table)
        assert screen(prof, [ProfileView.of(prof)], CONFIG).tolist() == [True]


def test_a_table_with_a_stored_unit_index_is_refused(article: str) -> None:
    prof = profiles([Document("a", article)], CONFIG)[0]
    data = bytearray(prof.to_bytes())
    flags = 16 + 8 * len(prof.shingles) + 12  # the table header's flags, after the shingles
    data[flags] |= 1
    with pytest.raises(ValueError, match="stored unit index"):
        Profile.from_bytes(prof.doc, bytes(data))
