"""The Spark engine gives byte-identical output to the local engine (local[2], 127.0.0.1)."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from dedup.cli import cli
from dedup.config import Config
from dedup.engine import candidate_pairs, level_keys
from dedup.read import read_documents
from dedup.verify import profiles

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.spark


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java runtime: the Spark engine needs a JVM")
    if importlib.util.find_spec("pyspark") is None:
        pytest.skip("pyspark is not installed (pip install 'dedup[spark]')")
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    from dedup.spark import session

    spark = session("local[2]", app="dedup-tests")
    spark.conf.set("spark.sql.shuffle.partitions", "4")
    yield spark
    spark.stop()


def test_a_local_session_gets_a_quarter_of_memory_as_heap(spark: Any) -> None:
    """Spark's 1 GiB default heap ran out caching a 100,000-article crawl in local mode."""
    from dedup.spark import _local_heap

    if "SPARK_DRIVER_MEMORY" in os.environ:
        pytest.skip("SPARK_DRIVER_MEMORY is set: the user's heap wins")
    total_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    assert _local_heap() == f"{max(1, int(total_gib // 4))}g"
    assert spark.sparkContext.getConf().get("spark.driver.memory") == _local_heap()
    heap = spark.sparkContext._jvm.java.lang.Runtime.getRuntime().maxMemory()
    assert heap > 0.8 * int(_local_heap()[:-1]) * 2**30  # the JVM was started with it


def _both(args: list[str], paths: list[str]) -> tuple[str, str]:
    runner = CliRunner()
    local = runner.invoke(cli, [*args, "--format", "jsonl", *paths])
    assert local.exit_code == 0, local.output
    remote = runner.invoke(cli, [*args, "--engine", "spark", "--format", "jsonl", *paths])
    assert remote.exit_code == 0, remote.output
    return local.stdout, remote.stdout


def test_lsh_keys_give_the_local_engines_candidates(seeds_dir: Path) -> None:
    """The keys the executors explode pair exactly the documents the local index pairs."""
    from dedup.index import LSHIndex
    from dedup.spark.stages import lsh_keys

    config = Config()
    profs = profiles(list(read_documents([str(seeds_dir)])), config)
    expected = candidate_pairs(level_keys(profs, config), config, [])
    found: set[tuple[int, int]] = set()
    for _level, owners, table in lsh_keys(profs, config):
        index = LSHIndex(table.shape[1], 1, config.max_bucket)
        index.add_many(range(len(owners)), table)
        found |= {(min(owners[i], owners[j]), max(owners[i], owners[j]))
                  for i, j in index.candidates() if owners[i] != owners[j]}
    assert sorted(found) == [(i, j) for i, j in expected.tolist()]
    assert len(expected)


def test_seeds_cluster_and_pairs_identical(spark: Any, seeds_dir: Path) -> None:
    for command in (["cluster"], ["cluster", "--singletons"], ["pairs"]):
        local, remote = _both(command, [str(seeds_dir)])
        assert local, command
        assert remote == local, command


def test_clough_identical(spark: Any, clough_dir: Path) -> None:
    local, remote = _both(["cluster"], [str(clough_dir)])
    assert len(local.splitlines()) >= 5
    assert remote == local


def test_big_inputs_get_more_shuffle_partitions_and_the_same_output(
        spark: Any, clough_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """At a million articles the local default of 2N partitions ran out of JVM heap; the
    engine now asks for one partition per ``_DOCS_PER_PARTITION`` records."""
    import dedup.spark

    monkeypatch.setattr(dedup.spark, "_DOCS_PER_PARTITION", 5)
    try:
        local, remote = _both(["cluster"], [str(clough_dir)])
        records = len(list(read_documents([str(clough_dir)])))
        assert spark.conf.get("spark.sql.shuffle.partitions") == str(-(-records // 5))
    finally:
        spark.conf.set("spark.sql.shuffle.partitions", "4")
    assert remote == local and len(local.splitlines()) >= 5


def test_generated_10k_crawl_identical(spark: Any, tmp_path: Path) -> None:
    """10,000 generated ~600-word articles (``bench/newsgen.py``, 15% copies), two shards.

    At the sentence threshold of the scale benchmark (0.9); at the default, articles drawn
    from one word list make ~160 sentence-level candidates each, which no real crawl shows.
    """
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from newsgen import articles
    finally:
        sys.path.remove(str(ROOT / "bench"))
    docs = list(articles(10_000, seed=3))
    for number in range(2):
        with (tmp_path / f"{number}.jsonl").open("w", encoding="utf-8") as out:
            out.writelines(json.dumps(doc) + "\n" for doc in docs[number::2])
    local, remote = _both(["cluster", "--sentence-threshold", "0.9"], [str(tmp_path)])
    assert len(local.splitlines()) > 1000  # ~1,100 clusters of copies
    assert remote == local


@pytest.mark.slow
def test_generated_crawl_identical(spark: Any, tmp_path: Path) -> None:
    """10,000 generated documents in three JSONL shards (one gzipped).

    Slow: the local engine alone took 876 s on this (shared, 2-core) machine.
    """
    import gzip

    spec = importlib.util.spec_from_file_location("syndication", ROOT / "bench" / "syndication.py")
    if spec is None or spec.loader is None:
        pytest.skip("bench/syndication.py not found")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("syndication", module)  # its dataclasses look their module up
    spec.loader.exec_module(module)
    docs, _truth = module.generate(10_000, seed=1)
    shards = [docs[0::3], docs[1::3], docs[2::3]]
    for number, shard in enumerate(shards):
        lines = "".join(json.dumps(doc) + "\n" for doc in shard)
        if number == 1:
            (tmp_path / "b.jsonl.gz").write_bytes(gzip.compress(lines.encode()))
        else:
            (tmp_path / f"{'ac'[number // 2]}.jsonl").write_text(lines, encoding="utf-8")
    local, remote = _both(["cluster"], [str(tmp_path)])
    assert len(local.splitlines()) > 100
    assert remote == local


def test_parquet_output_matches_jsonl(spark: Any, seeds_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "clusters.parquet"
    result = CliRunner().invoke(cli, ["cluster", "--engine", "spark", "--format", "parquet",
                                      "-o", str(out), str(seeds_dir)])
    assert result.exit_code == 0, result.output
    local = CliRunner().invoke(cli, ["cluster", "--format", "jsonl", str(seeds_dir)])
    expected = [json.loads(line) for line in local.stdout.splitlines()]
    rows = [r.asDict(recursive=True) for r in spark.read.parquet(str(out)).orderBy("cluster")
            .collect()]
    assert [(r["cluster"], r["representative"], r["members"]) for r in rows] == [
        (e["cluster"], e["representative"], e["members"]) for e in expected]
    assert [[p["relation"] for p in r["pairs"]] for r in rows] == [
        [p["relation"] for p in e["pairs"]] for e in expected]


def test_bad_record_named_then_skipped(spark: Any, seeds_dir: Path, tmp_path: Path) -> None:
    good = [{"id": p.stem, "text": p.read_text(encoding="utf-8")}
            for p in sorted(seeds_dir.glob("*.txt"))]
    lines = [json.dumps(d) for d in good[:2]]
    lines.append(json.dumps({"id": "broken-7", "text": 42}))
    lines += [json.dumps(d) for d in good[2:]]
    crawl = tmp_path / "crawl.jsonl"
    crawl.write_text("\n".join(lines) + "\n", encoding="utf-8")
    runner = CliRunner()
    failed = runner.invoke(cli, ["cluster", "--engine", "spark", str(crawl)])
    assert failed.exit_code == 2
    assert f"{crawl}:3: document 'broken-7': text field 'text' is not a string" in failed.stderr
    skipped = runner.invoke(cli, ["cluster", "--engine", "spark", "--on-error", "skip",
                                  "--format", "jsonl", str(crawl)])
    assert skipped.exit_code == 0, skipped.output
    assert "1 bad record(s) skipped" in skipped.stderr
    local = runner.invoke(cli, ["cluster", "--on-error", "skip", "--format", "jsonl", str(crawl)])
    assert skipped.stdout == local.stdout
    assert [c["members"] for c in map(json.loads, skipped.stdout.splitlines())] == [
        [good[1]["id"], good[3]["id"]]]


def test_duplicate_id_reported_with_first_place(spark: Any, tmp_path: Path) -> None:
    crawl = tmp_path / "dup.jsonl"
    crawl.write_text('{"id": "x", "text": "one two three"}\n\n'
                     '{"id": "x", "text": "four five six"}\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["cluster", "--engine", "spark", str(crawl)])
    assert result.exit_code == 2
    assert f"{crawl}:3: duplicate id 'x' (first at {crawl}:1)" in result.stderr


def test_cp1252_jsonl_decoded_as_the_local_reader_does(spark: Any, seeds_dir: Path,
                                                       tmp_path: Path) -> None:
    """Spark's text source would replace non-UTF-8 bytes; the executors decode them instead."""
    texts = [p.read_text(encoding="utf-8") for p in sorted(seeds_dir.glob("*.txt"))[1:4:2]]
    crawl = tmp_path / "latin.jsonl"
    with crawl.open("wb") as f:  # 001 and 003, the second with its quotes in cp1252
        f.write(json.dumps({"id": "a", "text": texts[0]}, ensure_ascii=False).encode() + b"\n")
        f.write(json.dumps({"id": "b", "text": texts[1]}, ensure_ascii=False)
                .encode("cp1252", errors="replace") + b"\n")
    from dedup.read import Fields
    from dedup.spark import run

    read = {r["id"]: r["text"] for r in run(spark, (str(crawl),), Config(), Fields()).docs
            .collect()}
    assert read == {"a": texts[0], "b": texts[1].encode("cp1252", "replace").decode("cp1252")}
    assert "’" in read["b"]
    local, remote = _both(["pairs"], [str(crawl)])
    assert remote == local
    assert json.loads(local)["relation"] == "reuse"


def _read_both(spark: Any, path: Path) -> tuple[tuple[list[tuple[str, str]], list[str]],
                                                tuple[list[tuple[str, str]], list[str]]]:
    """``(id, text)`` of every document and the warnings, as the local reader and Spark read."""
    from dedup.read import Fields, InputError
    from dedup.spark import run

    local_warnings: list[InputError] = []
    local = [(d.id, d.text) for d in read_documents([str(path)], warn=local_warnings.append)]
    spark_warnings: list[str] = []
    result = run(spark, (str(path),), Config(), Fields(), warn=spark_warnings.append)
    remote = sorted((r["id"], r["text"]) for r in result.docs.collect())
    return (sorted(local), [str(w) for w in local_warnings]), (remote, spark_warnings)


def test_warc_pages_without_text_passed_over_as_the_local_reader_does(
        spark: Any, seeds_dir: Path, tmp_path: Path) -> None:
    """Whitespace-only, empty and boilerplate-only pages: counted in one warning, not errors."""
    import io

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    texts = [p.read_text(encoding="utf-8") for p in sorted(seeds_dir.glob("*.txt"))[:2]]
    article = ("<html><body><nav>Home | Sport</nav><article>"
               + "".join(f"<p>{para}</p>" for para in texts[0].split("\n") if para.strip())
               + "</article></body></html>")
    crawl = tmp_path / "crawl.warc.gz"
    with crawl.open("wb") as out:
        writer = WARCWriter(out, gzip=True)
        for uri, ctype, body in [
                ("http://news.example/story", "text/html", article.encode()),
                ("http://news.example/spaces", "text/plain", b" \r\n\t \n"),
                ("http://news.example/nbsp", "text/plain", "\u00a0\u2003\n".encode()),
                ("http://news.example/nothing", "text/plain", b""),
                ("http://news.example/chrome", "text/html", b"<html><body></body></html>"),
                ("http://news.example/wire", "text/plain", texts[1].encode())]:
            http = StatusAndHeaders("200 OK", [("Content-Type", ctype)], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(uri, "response",
                                                          payload=io.BytesIO(body),
                                                          http_headers=http))
    local, remote = _read_both(spark, crawl)
    assert remote == local
    assert [doc_id for doc_id, _ in local[0]] == ["http://news.example/story",
                                                  "http://news.example/wire"]
    assert local[1] == [f"{crawl}: 4 page(s) without text passed over"]


def test_jsonl_bom_on_any_line_read_as_the_local_reader_does(spark: Any, seeds_dir: Path,
                                                             tmp_path: Path) -> None:
    """``cat a.jsonl b.jsonl`` puts b's byte-order mark mid-file: stripped on every line."""
    texts = [p.read_text(encoding="utf-8") for p in sorted(seeds_dir.glob("*.txt"))[1:4:2]]
    bom = b"\xef\xbb\xbf"
    crawl = tmp_path / "cat.jsonl"
    crawl.write_bytes(bom + json.dumps({"id": "a", "text": texts[0]}).encode() + b"\n"
                      + bom + b"\n"  # a file holding only its BOM: a blank line
                      + bom + json.dumps({"id": "b", "text": texts[1]}).encode() + b"\n")
    local, remote = _read_both(spark, crawl)
    assert remote == local
    assert local == ([("a", texts[0]), ("b", texts[1])], [])
    local_out, remote_out = _both(["pairs"], [str(crawl)])
    assert remote_out == local_out
    assert json.loads(local_out)["relation"] == "reuse"


def test_jsonl_lines_end_at_newlines_only_as_in_the_local_reader(
        spark: Any, seeds_dir: Path, tmp_path: Path) -> None:
    """Spark's text source would also end lines at a lone carriage return; the local reader
    does not (JSON never holds a raw one), so a lone CR joins two records into one bad line."""
    texts = [p.read_text(encoding="utf-8") for p in sorted(seeds_dir.glob("*.txt"))]
    records = [json.dumps({"id": seed, "text": text}).encode()
               for seed, text in zip("abcde", texts, strict=True)]
    crawl = tmp_path / "mac.jsonl"
    crawl.write_bytes(records[0] + b"\r\n" + records[1] + b"\n"
                      + records[2] + b"\r" + records[4] + b"\n"  # line 3: c and e, one bad line
                      + records[3] + b"\r\n")
    runner = CliRunner()
    options = ["--on-error", "skip", "--format", "jsonl", str(crawl)]
    local = runner.invoke(cli, ["cluster", *options])
    remote = runner.invoke(cli, ["cluster", "--engine", "spark", *options])
    assert local.exit_code == remote.exit_code == 0, remote.output
    assert f"{crawl}:3:" in local.stderr and f"{crawl}:3:" in remote.stderr
    assert "1 bad record(s) skipped" in remote.stderr
    assert remote.stdout == local.stdout
    assert [c["members"] for c in map(json.loads, local.stdout.splitlines())] == [["b", "d"]]


def test_corrupt_gzip_is_a_bad_file_as_in_the_local_reader(spark: Any, seeds_dir: Path,
                                                           tmp_path: Path) -> None:
    """A gzip that fails mid-stream (zlib.error) is one unreadable file in both engines."""
    import gzip
    import shutil

    from dedup.read import Fields, InputError
    from dedup.spark import run

    for seed in sorted(seeds_dir.glob("*.txt"))[:2]:
        shutil.copy(seed, tmp_path / seed.name)
    broken = bytearray(gzip.compress(("A story told twice. " * 500).encode()))
    broken[20:40] = b"\xff" * 20  # the deflate stream breaks: zlib.error, not OSError
    (tmp_path / "broken.txt.gz").write_bytes(bytes(broken))
    local_warnings: list[InputError] = []
    local = sorted(d.id for d in read_documents([str(tmp_path)], on_error="skip",
                                                warn=local_warnings.append))
    spark_warnings: list[str] = []
    result = run(spark, (str(tmp_path),), Config(), Fields(), on_error="skip",
                 warn=spark_warnings.append)
    assert sorted(r["id"] for r in result.docs.collect()) == local and len(local) == 2
    assert [w for w in map(str, local_warnings) if "cannot read" in w]
    assert [w for w in spark_warnings if "broken.txt.gz" in w and "cannot read" in w]
