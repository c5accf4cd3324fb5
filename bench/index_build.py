"""Bulk build rate of the SQLite index: articles stored per minute, profiling excluded.

    python bench/index_build.py --docs 10000 [--batch 500] [--sentence-threshold 0.9]

Profiles ``--docs`` articles of ``bench/newsgen.py`` once, then stores them with
``Index.add_profiles`` in batches into a new SQLite index in a temporary folder, and prints the
rate over the whole build, over its first and last 2,000 articles (the index grows), and the
bytes per article on disk.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from newsgen import articles

from dedup.config import Config
from dedup.read import Document
from dedup.store import Index
from dedup.verify import profiles


def main() -> int:
    """Build one index and print its rates."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--sentence-threshold", type=float, default=Config().sentence_threshold)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    config = Config(sentence_threshold=args.sentence_threshold)
    docs = [Document(a["id"], a["text"], a["date"]) for a in articles(args.docs, args.seed)]
    profs = profiles(docs, config)
    rates = []
    with tempfile.TemporaryDirectory() as folder, Index.open(f"{folder}/index.db", config) as idx:
        started = time.perf_counter()
        for lo in range(0, len(profs), args.batch):
            batch_start = time.perf_counter()
            idx.add_profiles(profs[lo:lo + args.batch])
            rates.append(len(profs[lo:lo + args.batch]) / (time.perf_counter() - batch_start))
        total = time.perf_counter() - started
        edge = max(1, 2000 // args.batch)
        print(f"{len(profs):,} articles stored in {total:.1f} s: "
              f"{len(profs) / total * 60:,.0f}/min; first 2,000 "
              f"{sum(rates[:edge]) / len(rates[:edge]) * 60:,.0f}/min, last 2,000 "
              f"{sum(rates[-edge:]) / len(rates[-edge:]) * 60:,.0f}/min; "
              f"{idx.stats()['bytes_per_document']:,} bytes/article; "
              f"load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
