"""The pair decision on planted copies: verbatim, trimmed, extended, unrelated."""

from __future__ import annotations

from pathlib import Path

import pytest

from dedup.config import Config
from dedup.read import Document
from dedup.verify import decide, profiles

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
