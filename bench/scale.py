"""Scale run: time and peak memory of signatures + LSH at several corpus sizes.

Each size runs in a fresh process (so its peak RSS is its own): the corpus is generated in
chunks of 10,000 documents (``corpus.stream``, not timed as signing), each chunk is signed with
``dedup.signatures`` (kept, uint64) and its band keys added to one ``LSHIndex``; then every
candidate pair is found. Reports seconds per stage, documents per second, peak RSS, and how
time and memory grow from one size to the next.

    python bench/scale.py --docs 10000 100000 [1000000] [--processes 2]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import stream

from dedup.hash import signatures
from dedup.index import LSHIndex, band_keys
from dedup.params import optimal_params

CHUNK = 10_000


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def one(n_docs: int, processes: int, seed: int) -> dict[str, float]:
    """Run one size in this process; return its figures."""
    bands, rows = optimal_params(0.5, 128)
    index = LSHIndex(bands, rows, max_bucket=200)
    parts: list[np.ndarray] = []
    generate = sign = insert = 0.0
    docs = stream(n_docs, seed)
    start_rss = _rss_mb()
    done = 0
    while done < n_docs:
        t0 = time.perf_counter()
        texts = [d.text for _, d in zip(range(min(CHUNK, n_docs - done)), docs, strict=False)]
        t1 = time.perf_counter()
        sig = signatures(texts, processes=processes)
        t2 = time.perf_counter()
        index.add_many(np.arange(done, done + len(texts)), band_keys(sig, bands, rows))
        t3 = time.perf_counter()
        parts.append(sig)
        generate, sign, insert = generate + t1 - t0, sign + t2 - t1, insert + t3 - t2
        done += len(texts)
    t0 = time.perf_counter()
    pairs = index.candidate_pairs()
    query = time.perf_counter() - t0
    return {"docs": n_docs, "generate_s": generate, "sign_s": sign, "insert_s": insert,
            "pairs_s": query, "pairs": len(pairs), "sig_mb": sum(p.nbytes for p in parts) / 2**20,
            "start_rss_mb": start_rss, "peak_rss_mb": _rss_mb()}


def main(argv: list[str] | None = None) -> int:
    """Command line: run each size in a child process and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--processes", type=int, default=1, help="signing processes")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(one(args.docs[0], args.processes, args.seed)))
        return 0
    rows: list[dict[str, float]] = []
    print(f"{'docs':>10} {'sign s':>8} {'docs/s':>9} {'LSH s':>7} {'pairs s':>8} {'pairs':>10} "
          f"{'sigs MB':>8} {'peak RSS MB':>12} {'time x':>7} {'RSS x':>6}  (generate s)")
    for n in args.docs:
        out = subprocess.run([sys.executable, __file__, "--one", "--docs", str(n), "--processes",
                              str(args.processes), "--seed", str(args.seed)],
                             check=True, capture_output=True, text=True).stdout
        row = json.loads(out.strip().splitlines()[-1])
        total = row["sign_s"] + row["insert_s"] + row["pairs_s"]
        growth = ""
        if rows:
            prev = rows[-1]
            prev_total = prev["sign_s"] + prev["insert_s"] + prev["pairs_s"]
            growth = (f"{total / prev_total:>7.1f} "
                      f"{row['peak_rss_mb'] / prev['peak_rss_mb']:>6.1f}")
        rows.append(row)
        print(f"{n:>10,} {row['sign_s']:>8.1f} {n / row['sign_s']:>9,.0f} {row['insert_s']:>7.2f} "
              f"{row['pairs_s']:>8.2f} {row['pairs']:>10,} {row['sig_mb']:>8.0f} "
              f"{row['peak_rss_mb']:>12,.0f} {growth:>14}  ({row['generate_s']:.0f})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
