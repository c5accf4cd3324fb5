"""A persistent index at scale: build N articles, then check latency and check_and_add rate.

    python bench/index_scale.py --docs 1000000 --sentence-threshold 0.9 --path /big/disk/ix.db

``bench/bench_index.py`` holds its corpus and profiles in one process, which is fine at 10k
and 100k; this script streams: ``bench/newsgen.py`` articles are profiled in chunks by
``--workers`` processes (at most two chunks in flight per worker, so memory stays flat) and
stored by this process with ``Index.add_profiles`` in batches of ``--batch``. Then, in order:

1. ``check`` over ``--probes`` new articles: the first checks of a fresh process, against
   pages the OS may not hold yet (drop the page cache first to see a cold start);
2. :meth:`~dedup.store.Index.warm`, timed, as ``dedup filter`` does on start (the key B-tree
   read once, the loaded objects frozen out of the garbage collector), after the term caches
   are warmed on 2,000 other articles;
3. ``check`` over ``--warm-probes`` more articles;
4. ``check_and_add`` one at a time over 1,000 more and in batches of 100
   (``check_and_add_many``, as ``dedup filter`` decides a backlog) over 1,000 more;
5. profiling alone over the ``--warm-probes`` articles, ms per article: a reference from the
   same run, since this VM's speed drifts by up to 2x within a day;

and bytes per article on disk. A ``--path`` that exists is reused (its build is skipped, and
the articles ``check_and_add`` stored are removed again at the end), so the measurements can
be repeated.

``--peer`` runs the peer instead, on the same articles: datasketch ``MinHashLSH`` (threshold
0.5, our 128-permutation signatures) with its Redis storage, on a throw-away redis-server.
It reports the insert rate (signatures and inserts timed, article generation not), the LSH
query latency over the same probes (query only: no profiling, no verification) and the
server's ``used_memory`` per article.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from pathlib import Path
from typing import TypeVar

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from newsgen import articles

from dedup.config import Config
from dedup.hash import minhash, to_lean_minhash
from dedup.read import Document
from dedup.shingle import shingle_hashes_batch
from dedup.store import Index
from dedup.verify import profiles
from dedup.workers import profile_batches

_CHUNK = 2000
T = TypeVar("T")


def _documents(n: int, seed: int) -> Iterator[Document]:
    return (Document(a["id"], a["text"], a["date"]) for a in articles(n, seed))


def _build(index: Index, docs: Iterator[Document], config: Config, workers: int,
           batch: int) -> None:
    started = last = time.perf_counter()
    stored = 0
    profs = itertools.chain.from_iterable(profile_batches(docs, config, _CHUNK, workers))
    while chunk := list(itertools.islice(profs, batch)):
        index.add_profiles(chunk)
        stored += len(chunk)
        if stored % 50_000 < batch:
            now = time.perf_counter()
            print(f"  {stored:,} stored, {now - started:,.0f} s, {50_000 / (now - last):,.0f}/s "
                  f"lately, load {os.getloadavg()[0]:.1f}", flush=True)
            last = now
    print(f"built {stored:,} in {time.perf_counter() - started:,.0f} s "
          f"({stored / (time.perf_counter() - started):,.0f}/s, profiling included)", flush=True)


def _latencies(call: Callable[[T], object], items: Sequence[T]) -> np.ndarray:
    """Milliseconds of each call."""
    out = []
    for item in items:
        start = time.perf_counter()
        call(item)
        out.append(time.perf_counter() - start)
    return np.array(out) * 1000


def _peer(args: argparse.Namespace, config: Config) -> None:
    """Insert the articles into datasketch's MinHashLSH on Redis; time inserts and queries."""
    import redis
    from datasketch import MinHashLSH
    from redis_server import redis_server

    def signed(docs: list[Document]) -> list[object]:
        shingles = shingle_hashes_batch([d.text for d in docs], config.ngram, config.seed)
        return [to_lean_minhash(sig, config.seed)
                for sig in minhash(shingles, config.num_perm, config.seed)]

    stream = _documents(args.docs + args.probes, args.seed)
    with tempfile.TemporaryDirectory() as tmp, redis_server(Path(tmp)) as url:
        host, port = url.split("//")[1].split("/")[0].split(":")
        lsh = MinHashLSH(threshold=0.5, num_perm=config.num_perm, storage_config={
            "type": "redis", "basename": b"peer", "redis": {"host": host, "port": int(port)}})
        busy, stored = 0.0, 0
        with lsh.insertion_session(buffer_size=5000) as session:
            while chunk := list(itertools.islice(stream, min(_CHUNK, args.docs - stored))):
                start = time.perf_counter()
                for doc, sig in zip(chunk, signed(chunk), strict=True):
                    session.insert(doc.id, sig)
                busy += time.perf_counter() - start
                stored += len(chunk)
                if stored % 50_000 < _CHUNK:
                    print(f"  {stored:,} inserted, {busy:,.0f} s busy, load "
                          f"{os.getloadavg()[0]:.1f}", flush=True)
            start = time.perf_counter()
        busy += time.perf_counter() - start  # the last buffer, flushed on leaving the session
        probes = signed(list(stream))
        query = _latencies(lsh.query, probes)
        memory = redis.Redis.from_url(url).info("memory")["used_memory"]
    print(f"{args.docs:,} articles, datasketch MinHashLSH on Redis: {stored / busy:,.0f} "
          f"inserts/s (signatures included); query p50 {np.percentile(query, 50):.2f} ms, p99 "
          f"{np.percentile(query, 99):.2f} ms; used_memory {memory / stored:,.0f} bytes/article; "
          f"load {os.getloadavg()[0]:.1f}")


def main() -> int:
    """Build (or reuse) one SQLite index and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--path", help="index file (kept; reused if present)")
    parser.add_argument("--peer", action="store_true",
                        help="measure datasketch MinHashLSH on Redis instead")
    parser.add_argument("--sentence-threshold", type=float, default=Config().sentence_threshold)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--probes", type=int, default=200)
    parser.add_argument("--warm-probes", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    config = Config(sentence_threshold=args.sentence_threshold)
    if args.peer:
        _peer(args, config)
        return 0
    if args.path is None:
        parser.error("--path is required (or --peer)")
    stream = _documents(args.docs + args.probes + 2000 + args.warm_probes, args.seed)
    with Index.open(args.path, config) as index:
        with closing(sqlite3.connect(args.path)) as db:  # not stats(): it would read every key
            have = db.execute("SELECT COUNT(*) FROM docs").fetchone()[0]
        if have == 0:
            _build(index, itertools.islice(stream, args.docs), config, args.workers, args.batch)
        elif have != args.docs:
            print(f"{args.path} holds {have:,} articles, not {args.docs:,}", file=sys.stderr)
            return 2
        else:
            for _ in itertools.islice(stream, args.docs):
                pass
        rest = list(stream)
        probes, warm_probes = rest[:args.probes], rest[args.probes:-2000]
        added_docs, batched_docs = rest[-2000:-1000], rest[-1000:]
        check = _latencies(index.check, probes)
        profiles(list(_documents(2000, args.seed + 1)), config)  # warms the term caches
        start = time.perf_counter()
        index.warm()
        warmed = time.perf_counter() - start
        warm = _latencies(index.check, warm_probes)
        added = _latencies(index.check_and_add, added_docs)
        batched = _latencies(index.check_and_add_many,
                             [batched_docs[i:i + 100] for i in range(0, 1000, 100)])
        start = time.perf_counter()
        profiles(warm_probes, config)
        profiling = (time.perf_counter() - start) / len(warm_probes) * 1000
        stats = index.stats()
        index.remove_many([doc.id for doc in added_docs + batched_docs])
    print(f"{args.docs:,} articles, sentence threshold {args.sentence_threshold}: first check "
          f"p50 {np.percentile(check, 50):.2f} ms, p99 {np.percentile(check, 99):.2f} ms; "
          f"warm() {warmed:.1f} s, then check p50 {np.percentile(warm, 50):.2f} ms, p99 "
          f"{np.percentile(warm, 99):.2f} ms, max {warm.max():.2f} ms over {len(warm):,}; "
          f"check_and_add {len(added) / added.sum() * 1000:.0f}/s (p50 "
          f"{np.percentile(added, 50):.2f} ms, p99 {np.percentile(added, 99):.2f} ms), in "
          f"batches of 100 {len(batched_docs) / batched.sum() * 1000:.0f}/s; profiling alone "
          f"{profiling:.2f} ms/article; {stats['bytes_per_document']:,} bytes/article, "
          f"{stats['keys']:,} keys; load {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
