"""Wall time, peak memory and shuffle size of the local and Spark engines on generated crawls.

    python bench/bench_spark.py --docs 10000 [--docs 100000] [--engines local spark]
    python bench/bench_spark.py --newsgen 100000   # ~600-word articles, 15% copies (newsgen.py)
    python bench/bench_spark.py --input /tmp/crawl10k/crawl.jsonl   # any JSONL crawl

Each run is a child process; peak memory is the largest sum of the resident memory of the
child and all its descendants (driver, JVM, Python workers), sampled every 0.2 s from /proc,
and (``peak_pss_mib``) the largest sum of their proportional set sizes, which counts the
pages forked workers share once.
Shuffle bytes are the sum of the shuffle writes of every Spark stage (from the UI's REST API).
Generated crawls come from ``bench/syndication.py`` (real prose with labelled syndicated copies,
as in ``make quality``) and are cached in ``bench/.cache``. Not from ``bench/corpus.py``: its
documents draw their real sentences from the same ~1,000 (seeds, Clough & Stevenson), so nearly
every document shares sentences with dozens of others. On 2,000 of them 154,224 pairs (7.7% of
all) became sentence-level candidates and the local engine took 86 s, against 12.6 s for a
2,000-document syndication crawl (2026-11-23). The syndication crawl has ~1,000 stories in
all, so at 100,000 documents each has ~130 copies and verified pairs grow with the square of the
crawl (7.3 million at 100k); ``--newsgen`` crawls (``bench/newsgen.py``) have fresh text for
every original and grow linearly, the shape of a real crawl at scale.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / ".cache"


def _tree_memory(pid: int) -> tuple[int, int]:
    """Resident and proportional set size (bytes) of a process and all its descendants.

    The resident sizes of forked processes count the pages they share once in each; the
    proportional size (PSS) divides a shared page among its sharers, so its sum is the tree's
    real footprint.
    """
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    resident = proportional = 0
    todo = [pid]
    while todo:
        current = todo.pop()
        resident += rss.get(current, 0)
        proportional += _pss(current)
        todo.extend(children.get(current, []))
    return resident, proportional


def _pss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def measure(cmd: list[str], out: Path) -> dict[str, float]:
    start = time.perf_counter()
    log = out.with_suffix(".stderr")
    with out.open("w") as sink, log.open("w") as err:
        # stderr goes to a file: a pipe read only at the end fills and stalls a chatty JVM.
        proc = subprocess.Popen(cmd, stdout=sink, stderr=err, text=True,
                                env={**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"})
        peak = peak_pss = 0
        while proc.poll() is None:
            resident, proportional = _tree_memory(proc.pid)
            peak, peak_pss = max(peak, resident), max(peak_pss, proportional)
            time.sleep(0.2)
    stderr = log.read_text(errors="replace")
    if proc.returncode:
        raise SystemExit(f"{cmd} failed (whole log: {log}):\n{stderr[-3000:]}")
    info = {"wall_s": round(time.perf_counter() - start, 1), "peak_mib": round(peak / 2**20),
            "peak_pss_mib": round(peak_pss / 2**20)}
    for line in stderr.splitlines():
        if line.startswith("BENCH "):
            info.update(json.loads(line[6:]))
    return info


def inner_spark(path: str, sentence_threshold: float) -> None:
    """Run the Spark engine in this process with the UI on, and report its shuffle bytes."""
    from dedup.config import Config
    from dedup.read import Fields
    from dedup.spark import run, session

    spark = session("local[2]", conf={"spark.ui.enabled": "true",
                                      "spark.sql.shuffle.partitions": "8"})
    result = run(spark, (path,), Config(sentence_threshold=sentence_threshold), Fields())
    from dedup.report import write

    records = list(result.cluster_records())
    clusters = len(records)
    write(records, "cluster", "jsonl", sys.stdout)  # as the CLI writes them
    ui = spark.sparkContext.uiWebUrl
    app = spark.sparkContext.applicationId
    with urllib.request.urlopen(f"{ui}/api/v1/applications/{app}/stages") as response:
        stages = json.load(response)
    shuffle = sum(s.get("shuffleWriteBytes", 0) for s in stages)
    print("BENCH " + json.dumps({"shuffle_bytes": shuffle, "clusters": clusters}),
          file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, action="append", help="crawl sizes (repeatable)")
    parser.add_argument("--input", type=Path, action="append",
                        help="a JSONL crawl to run instead of generated corpora (repeatable)")
    parser.add_argument("--newsgen", type=int, action="append",
                        help="sizes of newsgen crawls to run (repeatable)")
    parser.add_argument("--engines", nargs="+", default=["local", "spark"])
    parser.add_argument("--sentence-threshold", type=float, default=0.3,
                        help="sentence-level LSH threshold of both engines (dedup's default 0.3)")
    parser.add_argument("--inner-spark", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner_spark:
        inner_spark(args.inner_spark, args.sentence_threshold)
        return
    CACHE.mkdir(parents=True, exist_ok=True)
    crawls = []
    for path in args.input or []:
        with path.open("rb") as f:
            crawls.append((path, sum(1 for line in f if line.strip())))
    for n in args.newsgen or []:
        crawl = CACHE / f"newsgen-{n}" / "crawl.jsonl"
        if not crawl.exists():
            subprocess.run([sys.executable, str(ROOT / "bench" / "newsgen.py"), "--docs", str(n),
                            "--seed", "1", "--out", str(crawl)], check=True)
        crawls.append((crawl, n))
    for n in args.docs or ([] if args.input or args.newsgen else [10_000]):
        crawl = CACHE / f"crawl-{n}" / "crawl.jsonl"
        if not crawl.exists():
            subprocess.run([sys.executable, str(ROOT / "bench" / "syndication.py"), "--docs",
                            str(n), "--seed", "1", "--out", str(crawl.parent)], check=True)
        crawls.append((crawl, n))
    for crawl, n in crawls:
        outputs = []
        for engine in args.engines:
            threshold = ["--sentence-threshold", str(args.sentence_threshold)]
            cmd = ([str(Path(sys.executable).with_name("dedup")), "cluster", "-q", "--format",
                    "jsonl", *threshold, str(crawl)] if engine == "local"
                   else [sys.executable, __file__, "--inner-spark", str(crawl), *threshold])
            out = CACHE / (f"out-{engine}-{crawl.parent.name}-{crawl.stem}-{n}"
                           f"-s{args.sentence_threshold}.jsonl")
            info = measure(cmd, out)
            outputs.append(out.read_bytes())
            if "shuffle_bytes" in info:
                info["shuffle_bytes_per_doc"] = round(info["shuffle_bytes"] / n)
            print(json.dumps({"input": str(crawl), "docs": n, "engine": engine,
                              "sentence_threshold": args.sentence_threshold, **info}),
                  flush=True)
        if len(outputs) > 1:
            print(json.dumps({"input": crawl.name, "identical": len(set(outputs)) == 1}),
                  flush=True)


if __name__ == "__main__":
    main()
