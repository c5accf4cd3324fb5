"""A seeded stream of ~600-word news-like articles, some of them syndicated copies.

``bench/syndication.py`` makes a labelled crawl from real prose (short stories, ~130 words);
this makes the long, cheap, unlimited stream the index benchmarks need: articles of 20-40
sentences drawn from English word frequencies (wordfreq, offline) with names and numbers,
dated over consecutive days. A share of the articles copy an article of the last few days:
verbatim with an outlet line, trimmed, or with a few sentences reworded.

    from newsgen import articles
    for doc in articles(10_000, seed=1): ...   # dicts with id, text, date

    python bench/newsgen.py --docs 100000 --out crawl.jsonl   # the same stream as a JSONL crawl
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
from collections import deque
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

import wordfreq

__all__ = ["articles"]

PER_DAY = 2000
COPY_SHARE = 0.15


@lru_cache(maxsize=1)
def _vocabulary() -> tuple[list[str], list[float]]:
    words = [w for w in wordfreq.top_n_list("en", 30000) if w.isalpha()]
    return words, list(itertools.accumulate(1.0 / (rank + 10) for rank in range(len(words))))


def _sentence(rng: random.Random, names: list[str]) -> str:
    words, cumulative = _vocabulary()
    out = rng.choices(words, cum_weights=cumulative, k=rng.randint(12, 28))
    for _ in range(rng.randint(1, 3)):
        out.insert(rng.randrange(len(out)), rng.choice(names))
    if rng.random() < 0.4:
        out.insert(rng.randrange(len(out)), str(rng.randint(2, 99_999)))
    return " ".join(out).capitalize() + "."


def _article(rng: random.Random) -> list[str]:
    names = ["".join(rng.choices("bcdfghjklmnprstvwz", k=2) + rng.choices("aeiou", k=1)
                     + rng.choices("bcdfghklmnprstvz", k=2)).capitalize() for _ in range(6)]
    return [_sentence(rng, names) for _ in range(rng.randint(20, 40))]


def articles(n: int, seed: int = 1) -> Iterator[dict[str, Any]]:
    """Yield ``n`` articles in arrival order (``PER_DAY`` a day from 2024-01-01)."""
    rng = random.Random(seed)
    recent: deque[list[str]] = deque(maxlen=3 * PER_DAY)
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    for i in range(n):
        when = start + timedelta(seconds=i * 86400 / PER_DAY)
        if recent and rng.random() < COPY_SHARE:
            sents = list(rng.choice(recent))
            kind = rng.random()
            if kind < 0.3:
                sents = [f"({rng.choice(['AP', 'Reuters', 'AFP'])}) —", *sents]
            elif kind < 0.6:
                sents = sents[: max(3, len(sents) * 2 // 3)]
            else:
                for j in rng.sample(range(len(sents)), k=max(1, len(sents) // 5)):
                    sents[j] = _sentence(rng, ["Someone"])
        else:
            sents = _article(rng)
        recent.append(sents)
        yield {"id": f"n{seed}-{i}", "text": "\n".join(sents), "date": when.isoformat()}


def main() -> None:
    parser = argparse.ArgumentParser(description="Write a seeded news-like crawl as JSONL.")
    parser.add_argument("--docs", type=int, required=True, help="articles to write")
    parser.add_argument("--seed", type=int, default=1, help="random seed")
    parser.add_argument("--out", type=Path, required=True, help="JSONL file to write")
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    partial = args.out.with_name(args.out.name + ".partial")
    with partial.open("w", encoding="utf-8") as f:
        for doc in articles(args.docs, args.seed):
            f.write(json.dumps(doc, ensure_ascii=False) + "\n")
    partial.replace(args.out)


if __name__ == "__main__":
    main()
