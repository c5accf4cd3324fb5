"""``make quality``: the accuracy figures of the README, measured in one run.

1. Seeds: the clusters found, and whether the Tejas/IADWS passage of 001/003 is aligned.
2. Clough & Stevenson (answers vs their task's source, defaults): related/unrelated F1 and the
   median similarity per category (similarity = ``coverage``: the weighted share of content
   words aligned, on the side where it is larger).
3. The generated syndication crawl (``bench/syndication.py``, 10,000 documents, seed 1): ARI,
   pair precision/recall, passage plagdet and recall per rewrite level, for dedup and for
   datasketch MinHashLSH on word 5-gram shingles (threshold 0.5, 128 permutations, connected
   components of the candidate pairs) in the same run.

    python bench/quality.py [--docs 10000] [--seed 1]
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import syndication

from dedup.cluster import components
from dedup.config import Config
from dedup.engine import Result, run
from dedup.evaluate import Truth, score
from dedup.read import Document, read_documents
from dedup.verify import Evidence, decide, profiles

CONFIG = Config()


def seeds() -> None:
    """Print the seed clusters and whether the Tejas/IADWS passage is aligned."""
    result = run(read_documents([str(syndication.SEEDS)]), CONFIG)
    clusters = [sorted(result.docs[i].id[:3] for i in g) for g in result.clusters if len(g) > 1]
    texts = {d.id: d.text for d in result.docs}
    tejas = any("Tejas" in texts[ev.a][p.a[0]:p.a[1]] and "IADWS" in texts[ev.a][p.a[0]:p.a[1]]
                and "Tejas" in texts[ev.b][p.b[0]:p.b[1]] for ev in result.evidence
                for p in ev.passages)
    ok = clusters == [["001", "003"]] and tejas
    print(f"seeds: clusters {clusters}, Tejas/IADWS passage aligned: {tejas} -> "
          f"{'OK' if ok else 'FAIL'}")


def clough() -> None:
    """Print F1 of answers vs their source and the median coverage per category."""
    root = syndication.CLOUGH
    if not (root / "file_information.csv").exists():
        print(f"clough: corpus not found at {root}, skipped")
        return
    docs = list(read_documents(sorted(str(p) for p in root.glob("*.txt"))))
    result = run(docs, CONFIG)
    related = {frozenset((ev.a, ev.b)) for ev in result.evidence}
    profs = {p.doc.id: p for p in profiles(docs, CONFIG)}
    tp = fp = fn = 0
    by_category: dict[str, list[float]] = {}
    missed = []
    for row in csv.DictReader((root / "file_information.csv").open(encoding="utf-8")):
        if row["Category"] == "orig":
            continue
        answer, source = row["File"].removesuffix(".txt"), f"orig_task{row['Task']}"
        found = frozenset((answer, source)) in related
        positive = row["Category"] != "non"
        tp, fp, fn = tp + (found and positive), fp + (found and not positive), fn + (
            positive and not found)
        if positive and not found:
            missed.append(answer)
        ev = decide(profs[source], profs[answer], CONFIG)
        by_category.setdefault(row["Category"], []).append(ev.coverage)
    f1 = 2 * tp / (2 * tp + fp + fn)
    medians = {c: round(statistics.median(by_category[c]), 3)
               for c in ("cut", "light", "heavy", "non")}
    ordered = medians["cut"] > medians["light"] > medians["heavy"] > medians["non"]
    print(f"clough: tp {tp} fp {fp} fn {fn} F1 {f1:.3f} (missed: {', '.join(missed) or '-'}; "
          f"{', '.join(sorted(syndication.UNREACHABLE))} copy text not in the source)")
    print(f"clough: median coverage {medians} -> {'ordered' if ordered else 'NOT ordered'}")


def _shingles(text: str, n: int = 5) -> set[bytes]:
    words = re.findall(r"\w+", text.lower())
    return {" ".join(words[i:i + n]).encode() for i in range(max(1, len(words) - n + 1))}


def _unverified(docs: list[Document], edges: list[tuple[int, int]]) -> list[Evidence]:
    """Evidence records for a peer's unverified pairs (a peer reports pairs, not passages)."""
    return [Evidence(a=docs[a].id, b=docs[b].id, relation="candidate", jaccard=0.0,
                     containment_ab=0.0, containment_ba=0.0, aligned=0, coverage=0.0,
                     weight=0.0, passages=()) for a, b in edges]


def datasketch_baseline(docs: list[Document]) -> Result:
    """MinHashLSH (threshold 0.5, 128 perms) on word 5-grams; clusters = connected components."""
    from datasketch import MinHash, MinHashLSH

    timings: dict[str, float] = {}
    start = time.perf_counter()
    lsh = MinHashLSH(threshold=0.5, num_perm=128)
    hashes = []
    for doc in docs:
        m = MinHash(num_perm=128)
        m.update_batch(list(_shingles(doc.text)))
        lsh.insert(doc.id, m)
        hashes.append(m)
    index = {d.id: n for n, d in enumerate(docs)}
    edges = set()
    for n, m in enumerate(hashes):
        for other in lsh.query(m):
            if index[other] != n:
                edges.add((min(n, index[other]), max(n, index[other])))
    timings["total"] = round(time.perf_counter() - start, 1)
    evidence = _unverified(docs, sorted(edges))
    return Result(docs=docs, evidence=evidence, clusters=components(len(docs), edges),
                  timings=timings)


_TEXT_DEDUP = """
import json, pickle, subprocess, sys
import datasets
src, work = sys.argv[1], sys.argv[2]
datasets.load_dataset("json", data_files=src, split="train",
                      cache_dir=work + "/cache").save_to_disk(work + "/in")
subprocess.run([sys.executable, "-m", "text_dedup.minhash", "--path", work + "/in", "--local",
                "--output", work + "/out", "--column", "text", "--ngram", "5", "--num_perm",
                "128", "--threshold", "0.5", "--debug", "--num_proc", "1"], check=True,
               capture_output=True)
uf = pickle.load(open(work + "/out/uf.pkl", "rb"))
print(json.dumps({int(i): int(uf.find(i)) for i in uf.parent}))
"""


def text_dedup_baseline(docs: list[Document], python: str) -> Result | None:
    """text-dedup's MinHash (threshold 0.5, 128 perms, 5-grams) run by another interpreter.

    text-dedup pulls in datasets, huggingface_hub and onnxruntime, so it is never a dependency:
    set ``TEXT_DEDUP_PYTHON`` to a Python that has it installed.
    """
    import json
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as work:
        with open(f"{work}/crawl.jsonl", "w", encoding="utf-8") as fh:
            for doc in docs:
                fh.write(json.dumps({"id": doc.id, "text": doc.text}) + "\n")
        env = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}
        done = subprocess.run([python, "-c", _TEXT_DEDUP, f"{work}/crawl.jsonl", work],
                              capture_output=True, text=True, env=env, check=False)
    if done.returncode:
        print(f"text-dedup failed: {done.stderr.strip().splitlines()[-1:]}")
        return None
    roots = {int(k): v for k, v in json.loads(done.stdout).items()}
    edges = [(i, r) for i, r in roots.items() if i != r]
    evidence = _unverified(docs, edges)
    return Result(docs=docs, evidence=evidence, clusters=components(len(docs), edges))


def _row(name: str, scores: dict[str, Any], seconds: float) -> str:
    c, p = scores["clusters"], scores["pairs"]
    plagdet = scores.get("passages", {}).get("plagdet")
    return (f"{name:<22} {c['ari']:>6.4f} {c['f1']:>6.4f} {p['precision']:>7.4f} "
            f"{p['recall']:>7.4f} {p['f1']:>6.4f} "
            f"{'   -  ' if plagdet is None else f'{plagdet:6.4f}'} {seconds:>7.1f}")


def crawl(n_docs: int, seed: int) -> None:
    """Generate the crawl, run dedup and the peers, print one table and recall per level."""
    raw, truth_raw = syndication.generate(n_docs, seed)
    docs = [Document(d["id"], d["text"], d["date"]) for d in raw]
    truth = Truth(clusters=[c["members"] for c in truth_raw["clusters"]])
    levels: dict[frozenset[str], str] = {}
    for p in truth_raw["pairs"]:
        pair = frozenset((p["a"], p["b"]))
        truth.labels[pair] = p["label"]
        levels[pair] = p["level"]
        if p.get("passages"):
            truth.passages[(p["a"], p["b"])] = [(tuple(x["a"]), tuple(x["b"]))
                                                for x in p["passages"]]
    print(f"\ncrawl: {len(docs)} documents (seed {seed}), {len(truth.clusters)} true clusters, "
          f"{sum(truth.labels.values())} related and "
          f"{len(truth.labels) - sum(truth.labels.values())} unrelated labelled pairs")
    print(f"{'detector':<22} {'ARI':>6} {'cl-F1':>6} {'pair-P':>7} {'pair-R':>7} {'pair-F1':>6} "
          f"{'plagdet':>6} {'seconds':>7}")
    start = time.perf_counter()
    result = run(docs, CONFIG)
    ours = score(result, truth, levels)
    print(_row("dedup (defaults)", ours, time.perf_counter() - start))
    start = time.perf_counter()
    peer = score(datasketch_baseline(docs), truth, levels)
    print(_row("datasketch MinHashLSH", peer, time.perf_counter() - start))
    python = os.environ.get("TEXT_DEDUP_PYTHON")
    if python:
        start = time.perf_counter()
        found = text_dedup_baseline(docs, python)
        if found is not None:
            print(_row("text-dedup MinHash", score(found, truth, levels),
                       time.perf_counter() - start) + "  (pairs = union-find edges)")
    else:
        print("text-dedup MinHash: skipped (set TEXT_DEDUP_PYTHON to a Python that has it; it "
              "pulls datasets, huggingface_hub and onnxruntime, so it is not a dependency)")
    print("recall per rewrite level (dedup / datasketch); false positives for unrelated levels:")
    for level, row in ours["levels"].items():
        other = peer["levels"][level]
        if "recall" in row:
            print(f"  {level:<14} n={row['related']:<5} {row['recall']:.3f} / "
                  f"{other['recall']:.3f}")
        else:
            print(f"  {level:<14} n={row['unrelated']:<5} fp {row['false_positives']} / "
                  f"{other['false_positives']}")
    print(f"dedup timings: {result.timings}; verified candidate pairs {len(result.candidates)}")


def main() -> int:
    """Run every check and print the figures."""
    parser = argparse.ArgumentParser(description="Accuracy figures of the README.")
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-crawl", action="store_true")
    args = parser.parse_args()
    seeds()
    clough()
    if not args.skip_crawl:
        crawl(args.docs, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
