"""The dedup CLI on bad input, its output options and its determinism (issue 2).

Most cases run in-process with click's CliRunner; the ones about the real process (exit codes,
no traceback, a broken pipe, two runs giving the same bytes) run ``.venv/bin/dedup``.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import os
import random
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner, Result

from dedup.cli import cli
from dedup.params import candidate_probability, optimal_params

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
DEDUP = Path(sys.executable).with_name("dedup")
SEED = {p.name[:3]: p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))}
NEAR_000 = SEED["000"].replace("strategic", "long-awaited", 1)  # one word changed
EXPECTED = [["a", "b"], ["c", "d"]]  # a~b near-duplicates, c~d reuse (seeds 001, 003); e alone


def invoke(*args: str, input: str | bytes | None = None) -> Result:
    """Run the CLI in-process; never let an exception escape as a traceback."""
    result = CliRunner().invoke(cli, list(args), input=input, prog_name="dedup")
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        result.exc_info)
    return result


def run(*args: str, input: bytes | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    """Run the installed ``dedup`` command in its own process."""
    if not DEDUP.exists():
        pytest.skip(f"{DEDUP} not installed (pip install -e .)")
    return subprocess.run([str(DEDUP), *args], input=input, capture_output=True, timeout=timeout,
                          check=False)


def records(stdout: str) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in stdout.splitlines()]


def members(stdout: str) -> list[list[str]]:
    return [r["members"] for r in records(stdout)]


def row(doc_id: str, text: str, date: str | None = None) -> dict[str, str]:
    return {"id": doc_id, "text": text} | ({"date": date} if date else {})


def corpus_rows() -> list[dict[str, str]]:
    return [row("a", SEED["000"]), row("b", NEAR_000), row("c", SEED["001"]),
            row("d", SEED["003"]), row("e", SEED["002"])]


def write_jsonl(path: Path, rows: Sequence[object]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path


def write_lines(path: Path, lines: Sequence[bytes]) -> Path:
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def one_error_line(result: Result) -> str:
    """Assert the run failed like a user error: exit 2, one line on stderr, nothing out."""
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("dedup: error: ")
    return lines[0]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "corpus.jsonl", corpus_rows())


def test_corpus_clusters_as_expected(corpus: Path) -> None:
    result = invoke("cluster", str(corpus))
    assert result.exit_code == 0 and result.stderr == ""
    assert members(result.stdout) == EXPECTED


def test_workers_change_nothing_but_the_time(seeds_dir: Path, clough_dir: Path) -> None:
    one = invoke("cluster", "--workers", "1", "--format", "jsonl", str(seeds_dir), str(clough_dir))
    two = invoke("cluster", "--workers", "2", "--format", "jsonl", str(seeds_dir), str(clough_dir))
    assert one.exit_code == two.exit_code == 0
    assert one.stdout == two.stdout and len(records(one.stdout)) > 5


def test_no_room_for_the_profile_file_is_one_line(seeds_dir: Path) -> None:
    """The local engine writes profiles to a temporary file; a full disk is a user error."""
    import resource
    import signal

    def small_files() -> None:  # writes past 20 KB fail with EFBIG, as on a full disk
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    if not DEDUP.exists():
        pytest.skip(f"{DEDUP} not installed (pip install -e .)")
    done = subprocess.run([str(DEDUP), "cluster", "--workers", "1", str(seeds_dir)],
                          capture_output=True, timeout=120, check=False, preexec_fn=small_files)
    assert done.returncode == 2 and done.stdout == b""
    assert done.stderr.decode().startswith("dedup: error: cannot write the profile file in ")
    assert done.stderr.decode().endswith("File too large; point TMPDIR at a disk with room\n")
    assert done.stderr.count(b"\n") == 1


def test_workers_are_refused_with_spark(corpus: Path) -> None:
    result = invoke("cluster", "--engine", "spark", "--workers", "2", str(corpus))
    assert result.exit_code == 2
    assert one_error_line(result).startswith("dedup: error: --workers is for the local engine")


# --- malformed records: file and line; fail stops, skip warns and goes on ------------------


BAD_LINES = {  # bad record -> what the message must say
    "malformed JSON": b'{"id": "zz", "text": ' + orjson.dumps(SEED["000"]),  # no closing brace
    "missing id field 'id'": orjson.dumps({"text": SEED["000"]}),
    "missing text field 'text'": orjson.dumps({"id": "zz", "body": SEED["000"]}),
    "empty text in document 'zz'": orjson.dumps({"id": "zz", "text": ""}),
    "empty text in document 'ws'": orjson.dumps({"id": "ws", "text": " \n\t  "}),
    "expected a JSON object, got array": orjson.dumps([SEED["000"]]),
    "text field 'text' is not a string": orjson.dumps({"id": "zz", "text": 42}),
    "duplicate id 'a' (first at ": orjson.dumps({"id": "a", "text": SEED["004"]}),
}


def corpus_with(tmp_path: Path, bad: bytes) -> Path:
    lines = [orjson.dumps(r) for r in corpus_rows()]
    return write_lines(tmp_path / "in.jsonl", [*lines[:3], bad, *lines[3:]])  # bad is line 4


@pytest.mark.parametrize("message", BAD_LINES)
def test_bad_record_fails_naming_file_and_line(tmp_path: Path, message: str) -> None:
    path = corpus_with(tmp_path, BAD_LINES[message])
    line = one_error_line(invoke("cluster", str(path)))
    assert line.startswith(f"dedup: error: {path}:4: {message}")


@pytest.mark.parametrize("message", BAD_LINES)
def test_bad_record_skipped_with_a_warning(tmp_path: Path, message: str) -> None:
    path = corpus_with(tmp_path, BAD_LINES[message])
    result = invoke("cluster", "--on-error", "skip", "--singletons", str(path))
    assert result.exit_code == 0
    assert result.stderr.startswith(f"dedup: warning: {path}:4: {message}")
    assert len(result.stderr.splitlines()) == 1
    # the rest is clustered as without the bad record; a repeated id keeps the first text
    assert members(result.stdout) == [*EXPECTED, ["e"]]


def test_custom_field_names_are_named_in_errors(corpus: Path) -> None:
    line = one_error_line(invoke("cluster", "--id-field", "url", str(corpus)))
    assert line == f"dedup: error: {corpus}:1: missing id field 'url'"
    line = one_error_line(invoke("cluster", "--text-field", "body", str(corpus)))
    assert line == f"dedup: error: {corpus}:1: missing text field 'body'"


def test_malformed_csv_rows_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "text"])
        for r in corpus_rows()[:2]:  # a multi-line text: rows start on lines 2 and 8
            writer.writerow([r["id"], r["text"]])
        f.write("zz,too,many,columns\n")
        for r in corpus_rows()[2:]:
            writer.writerow([r["id"], r["text"]])
    bad_line = 2 + 2 * (SEED["000"].count("\n") + 1)
    line = one_error_line(invoke("cluster", str(path)))
    assert line == f"dedup: error: {path}:{bad_line}: expected 2 columns, got 4"
    result = invoke("cluster", "--on-error", "skip", str(path))
    assert result.exit_code == 0
    assert result.stderr == f"dedup: warning: {path}:{bad_line}: expected 2 columns, got 4\n"
    assert members(result.stdout) == EXPECTED


def test_csv_unterminated_quote_and_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text('id,text\na,"fine"\nb,"never closed\n', encoding="utf-8")
    assert one_error_line(invoke("cluster", str(path))).startswith(
        f"dedup: error: {path}:3: malformed CSV")
    path.write_text("id,body\na,text\n", encoding="utf-8")
    assert one_error_line(invoke("cluster", str(path))) == (
        f"dedup: error: {path}:1: no 'text' column in header ['id', 'body']")


# --- texts that are odd but valid ----------------------------------------------------------


def test_texts_shorter_than_one_shingle(tmp_path: Path) -> None:
    """Fewer words than --ngram make one shingle of them all; no words match nothing."""
    path = write_jsonl(tmp_path / "short.jsonl", [
        row("s1", "Markets closed higher."), row("s2", "Markets closed higher!"),
        row("s3", "Markets closed lower."), row("p1", "!!! ???"), row("p2", "--- ..."),
    ])
    result = invoke("pairs", str(path))
    assert result.exit_code == 0
    assert [(p["a"], p["b"], p["relation"]) for p in records(result.stdout)] == [
        ("s1", "s2", "duplicate")]


def test_cp1252_file_reads_like_its_utf8_copy(tmp_path: Path) -> None:
    text = SEED["000"].replace("Moscow", "Moscow’s café")  # ’ and é differ in cp1252
    (tmp_path / "utf8.txt").write_bytes(text.encode("utf-8"))
    (tmp_path / "win.txt").write_bytes(text.encode("cp1252"))
    result = invoke("pairs", str(tmp_path))
    assert result.exit_code == 0 and result.stderr == ""
    [pair] = records(result.stdout)
    assert (pair["a"], pair["b"], pair["relation"]) == ("utf8", "win", "duplicate")


def test_undecodable_bytes_are_replaced_with_a_warning(tmp_path: Path) -> None:
    raw = orjson.dumps(row("x", SEED["002"])).replace(b"India", b"Ind\x81\x8dia")
    path = write_lines(tmp_path / "in.jsonl", [orjson.dumps(row("a", SEED["000"])), raw])
    result = invoke("cluster", "--singletons", str(path))
    assert result.exit_code == 0
    assert result.stderr == (f"dedup: warning: {path}:2: neither UTF-8 nor cp1252; "
                             "undecodable bytes replaced\n")
    assert members(result.stdout) == [["a"], ["x"]]


def test_long_single_line_document(tmp_path: Path) -> None:
    """A 1 MB one-line JSONL record and CSV field (beyond csv's 128 KB default) go through."""
    words = SEED["004"].split()
    rng = random.Random(4)
    big = " ".join(rng.choice(words) for _ in range(150_000))
    assert len(big) > 1_000_000 and "\n" not in big
    jsonl = write_jsonl(tmp_path / "big.jsonl", [row("big", big), row("a", SEED["000"])])
    result = invoke("cluster", "--singletons", str(jsonl))
    assert result.exit_code == 0, result.output
    assert members(result.stdout) == [["big"], ["a"]]
    table = tmp_path / "big.csv"
    with table.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([["id", "text"], ["big", big]])
    result = invoke("cluster", "--singletons", str(table))
    assert result.exit_code == 0 and members(result.stdout) == [["big"]]


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("DEDUP_SLOW"), reason="set DEDUP_SLOW=1 (~1-3 min)")
def test_50_mb_single_line_document(tmp_path: Path) -> None:
    words = SEED["004"].split()
    rng = random.Random(50)
    big = " ".join(rng.choice(words) for _ in range(7_500_000))
    assert len(big) > 50_000_000
    path = write_jsonl(tmp_path / "big.jsonl", [row("big", big), row("a", SEED["000"])])
    done = run("cluster", "--singletons", str(path), timeout=900)
    assert done.returncode == 0 and b"Traceback" not in done.stderr
    assert members(done.stdout.decode()) == [["big"], ["a"]]


def test_50_mb_malformed_line_is_named(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "big.jsonl", [
        orjson.dumps(row("a", SEED["000"])), b'{"id": "big", "text": "' + b"word " * 10_000_000])
    assert one_error_line(invoke("cluster", str(path))).startswith(
        f"dedup: error: {path}:2: malformed JSON")


def test_binary_files(tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8
    (tmp_path / "image.txt").write_bytes(png)
    (tmp_path / "utf16.txt").write_bytes(SEED["000"].encode("utf-16"))
    (tmp_path / "ok.txt").write_text(SEED["001"], encoding="utf-8")
    (tmp_path / "ok2.txt").write_text(SEED["003"], encoding="utf-8")
    line = one_error_line(invoke("cluster", str(tmp_path)))
    assert line == (f"dedup: error: {tmp_path / 'image.txt'}: binary file (NUL byte in the "
                    "first 8 KB); expected UTF-8 text")
    result = invoke("cluster", "--on-error", "skip", str(tmp_path))
    assert result.exit_code == 0
    assert [w.split(": ")[2] for w in result.stderr.splitlines()] == [
        str(tmp_path / "image.txt"), str(tmp_path / "utf16.txt")]
    assert members(result.stdout) == [["ok", "ok2"]]


# --- empty input, missing paths -------------------------------------------------------------


@pytest.mark.parametrize(("name", "content"), [
    ("empty.jsonl", b""), ("blank.jsonl", b"\n  \n\n"), ("header.csv", b"id,text\n"),
    ("empty.jsonl.gz", gzip.compress(b"")), ("folder", None),
])
@pytest.mark.parametrize("fmt", ["jsonl", "table"])
def test_empty_input_warns_and_writes_nothing(tmp_path: Path, name: str,
                                              content: bytes | None, fmt: str) -> None:
    path = tmp_path / name
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    result = invoke("cluster", "--format", fmt, str(path))
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == "dedup: warning: no documents in the input\n"


def test_empty_input_in_csv_is_just_the_header(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    result = invoke("pairs", "--format", "csv", str(path))
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "a,b,relation,jaccard,containment_ab,containment_ba,aligned,coverage,weight,passages"]


def test_empty_text_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "blank.txt").write_text("  \n", encoding="utf-8")
    assert one_error_line(invoke("cluster", str(tmp_path))) == (
        f"dedup: error: {tmp_path / 'blank.txt'}: empty text in document 'blank'")


def test_nonexistent_path_in_a_real_process(tmp_path: Path, corpus: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    done = run("cluster", str(corpus), str(missing))
    assert done.returncode == 2 and done.stdout == b""
    assert done.stderr.decode() == f"dedup: error: {missing}: no such file or directory\n"


def test_unknown_file_type(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text("text", encoding="utf-8")
    assert one_error_line(invoke("cluster", str(path))).startswith(
        f"dedup: error: {path}: unknown file type (expected .jsonl")


# --- input and output options ---------------------------------------------------------------


def test_gzip_input_by_suffix_and_by_magic(tmp_path: Path, corpus: Path) -> None:
    plain = invoke("cluster", str(corpus)).stdout
    packed = gzip.compress(corpus.read_bytes())
    (tmp_path / "c.jsonl.gz").write_bytes(packed)
    (tmp_path / "d.jsonl").write_bytes(packed)  # gzip without the .gz suffix
    for name in ("c.jsonl.gz", "d.jsonl"):
        result = invoke("cluster", str(tmp_path / name))
        assert result.exit_code == 0 and result.stdout == plain


def test_truncated_gzip_is_an_error(tmp_path: Path, corpus: Path) -> None:
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(gzip.compress(corpus.read_bytes())[:-100])
    assert one_error_line(invoke("cluster", str(path))).startswith(
        f"dedup: error: {path}: cannot read: ")


def test_stdin(corpus: Path) -> None:
    plain = invoke("cluster", str(corpus)).stdout
    assert members(plain) == EXPECTED
    result = invoke("cluster", "-", input=corpus.read_bytes())
    assert result.exit_code == 0 and result.stdout == plain
    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerow(["id", "text"])
    writer.writerows([r["id"], r["text"]] for r in corpus_rows())
    result = invoke("cluster", "--stdin-format", "csv", "-", input=table.getvalue())
    assert result.exit_code == 0 and result.stdout == plain
    result = invoke("cluster", "-", input=b"{oops\n")
    assert one_error_line(result).startswith("dedup: error: <stdin>:1: malformed JSON")


def test_output_file(tmp_path: Path, corpus: Path) -> None:
    out = tmp_path / "out.jsonl"
    result = invoke("cluster", "-o", str(out), str(corpus))
    assert (result.exit_code, result.stdout) == (0, "")
    assert members(out.read_text(encoding="utf-8")) == EXPECTED


def test_bad_input_leaves_the_output_file_alone(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text("precious\n", encoding="utf-8")
    bad = write_lines(tmp_path / "bad.jsonl", [b"{"])
    one_error_line(invoke("cluster", "-o", str(out), str(bad)))
    assert out.read_text(encoding="utf-8") == "precious\n"


def test_unwritable_output_is_a_user_error(tmp_path: Path, corpus: Path) -> None:
    for target in (tmp_path, tmp_path / "no" / "such" / "dir.jsonl"):
        line = one_error_line(invoke("cluster", "-o", str(target), str(corpus)))
        assert line.startswith(f"dedup: error: cannot write {target}: ")


def test_format_csv(corpus: Path) -> None:
    result = invoke("cluster", "--format", "csv", str(corpus))
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["cluster"], r["representative"], r["size"], r["members"]) for r in rows] == [
        ("0", "a", "2", "a b"), ("1", "c", "2", "c d")]
    result = invoke("pairs", "--format", "csv", str(corpus))
    pairs = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(p["a"], p["b"], p["relation"]) for p in pairs] == [
        ("a", "b", "near-duplicate"), ("c", "d", "reuse")]
    assert all(span.count("-") == 2 for span in pairs[1]["passages"].split())


def test_format_table(corpus: Path) -> None:
    result = invoke("cluster", "--format", "table", str(corpus))
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "cluster 0: 2 documents, representative a"
    assert lines[1].startswith("  a ~ b  near-duplicate  jaccard=")
    assert lines[2] == "cluster 1: 2 documents, representative c"
    assert lines[3].startswith("  c ~ d  reuse  jaccard=")


def test_default_format_off_a_terminal_is_jsonl(corpus: Path) -> None:
    assert records(invoke("cluster", str(corpus)).stdout)[0]["members"] == ["a", "b"]


def test_singletons(corpus: Path) -> None:
    result = invoke("cluster", "--singletons", str(corpus))
    found = records(result.stdout)
    assert [r["members"] for r in found] == [*EXPECTED, ["e"]]
    assert [r["cluster"] for r in found] == [0, 1, 2]
    assert found[2]["representative"] == "e" and found[2]["pairs"] == []


# --- representative and determinism ---------------------------------------------------------


def test_representative_is_earliest_date_else_first_seen(tmp_path: Path) -> None:
    undated = write_jsonl(tmp_path / "u.jsonl", [row("late", SEED["000"]), row("x", NEAR_000)])
    result = invoke("cluster", str(undated))
    assert [r["representative"] for r in records(result.stdout)] == ["late"]
    dated = write_jsonl(tmp_path / "d.jsonl", [
        row("late", SEED["000"], "2024-06-02T11:00:00+02:00"),  # 09:00 UTC
        row("x", NEAR_000, "2024-06-02T08:30:00Z"),  # listed second, published first
    ])
    [found] = records(invoke("cluster", str(dated)).stdout)
    assert found["representative"] == "x" and found["members"] == ["x", "late"]
    assert [(p["a"], p["b"]) for p in found["pairs"]] == [("x", "late")]


def dated_rows() -> list[dict[str, str]]:
    days = ["2024-03-05", "2024-03-01", "2024-03-04", "2024-03-02", "2024-03-03"]
    return [r | {"date": day} for r, day in zip(corpus_rows(), days, strict=True)]


def test_same_bytes_whatever_the_order_of_files(tmp_path: Path) -> None:
    rows = corpus_rows()
    paths = [str(write_jsonl(tmp_path / f"part{i}.jsonl", rows[i::3])) for i in range(3)]
    outputs = {invoke("pairs", *order).stdout for order in itertools.permutations(paths)}
    assert len(outputs) == 1
    # undated: first seen in the order of the sorted paths (part0 holds a and d, part2 c)
    assert [(p["a"], p["b"]) for p in records(outputs.pop())] == [("a", "b"), ("d", "c")]


def test_same_bytes_whatever_the_order_of_dated_lines(tmp_path: Path) -> None:
    rows = dated_rows()
    rng = random.Random(7)
    outputs = set()
    for n in range(6):
        shuffled = rng.sample(rows, len(rows))
        path = write_jsonl(tmp_path / f"s{n}.jsonl", shuffled)
        outputs.add(invoke("cluster", "--singletons", str(path)).stdout)
    assert len(outputs) == 1
    assert members(outputs.pop()) == [["b", "a"], ["d", "c"], ["e"]]


def test_two_processes_give_identical_bytes(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "in.jsonl", dated_rows())
    first, second = (run("pairs", str(path), str(SEEDS)) for _ in range(2))
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout and len(first.stdout.splitlines()) >= 3


# --- compare and params ---------------------------------------------------------------------


def seed_path(number: str) -> str:
    return str(next(SEEDS.glob(f"{number}_*.txt")))


def test_compare_exit_codes(tmp_path: Path) -> None:
    assert run("compare", "--json", seed_path("001"), seed_path("003")).returncode == 0
    assert invoke("compare", "--json", seed_path("000"), seed_path("002")).exit_code == 1
    missing = tmp_path / "missing.txt"
    done = run("compare", seed_path("000"), str(missing))
    assert done.returncode == 2 and done.stdout == b""
    assert done.stderr.decode() == f"dedup: error: {missing}: no such file or directory\n"


def test_compare_json_and_text() -> None:
    result = invoke("compare", "--json", seed_path("001"), seed_path("003"))
    assert result.exit_code == 0
    evidence = orjson.loads(result.stdout)
    assert (evidence["a"], evidence["b"], evidence["relation"]) == (
        "001_30404dca0ae5a948", "003_ac5e6907902fcfd7", "reuse")
    assert {"jaccard", "containment_ab", "containment_ba", "passages"} <= set(evidence)
    text_a = SEED["001"]
    assert any("IADWS" in text_a[p["a"][0]:p["a"][1]] for p in evidence["passages"])
    human = invoke("compare", seed_path("001"), seed_path("003"))
    assert human.exit_code == 0 and "passage 1  score" in human.stdout
    unrelated = invoke("compare", "--json", seed_path("000"), seed_path("002"))
    assert unrelated.exit_code == 1 and orjson.loads(unrelated.stdout)["relation"] is None


def test_compare_bad_inputs(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    assert one_error_line(invoke("compare", seed_path("000"), str(empty))) == (
        f"dedup: error: {empty}: empty text in document 'empty'")
    many = write_jsonl(tmp_path / "many.jsonl", corpus_rows())
    assert one_error_line(invoke("compare", str(many), seed_path("000"))) == (
        f"dedup: error: {many}: expected one document, found 5")


def test_params_prints_bands_rows_and_the_s_curve() -> None:
    result = invoke("params", "--threshold", "0.5", "--num-perm", "128")
    assert result.exit_code == 0
    bands, rows = optimal_params(0.5, 128)
    lines = result.stdout.splitlines()
    assert f"{bands} bands x {rows} rows" in lines[0] and bands * rows <= 128
    curve = [line.split() for line in lines[2:]]
    assert [c[0] for c in curve] == [f"{t / 10:.1f}" for t in range(1, 11)]
    probs = [float(c[1]) for c in curve]
    assert probs == [round(candidate_probability(t / 10, bands, rows), 4) for t in range(1, 11)]
    assert probs == sorted(probs) and probs[0] < 0.01 and probs[-1] == 1.0


# --- the process itself ---------------------------------------------------------------------


def test_broken_pipe_prints_no_traceback(tmp_path: Path) -> None:
    if not DEDUP.exists():
        pytest.skip(f"{DEDUP} not installed")
    rng = random.Random(3)
    vocabulary = SEED["004"].split()
    path = write_jsonl(tmp_path / "many.jsonl", [
        row(f"doc{n:05d}", " ".join(rng.choice(vocabulary) for _ in range(12)))
        for n in range(1500)])  # about 100 KB of output with --singletons, beyond a pipe buffer
    with subprocess.Popen([str(DEDUP), "cluster", "-q", "--singletons", str(path)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline()
        proc.stdout.close()  # like `| head -1`
        stderr = proc.stderr.read().decode()
        code = proc.wait(timeout=120)
    assert orjson.loads(first)["members"] == ["doc00000"]
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr
    assert code in (0, 1, 141, -13)


def test_capped_buckets_are_one_warning_line_per_level(tmp_path: Path) -> None:
    rng = random.Random(5)
    vocabulary = sorted(set(SEED["002"].split()))
    boilerplate = "Subscribe to our defence newsletter for analysis delivered every morning."
    path = write_jsonl(tmp_path / "boiler.jsonl", [
        row(f"n{n}", " ".join(rng.sample(vocabulary, 40)) + ".\n" + boilerplate)
        for n in range(260)])
    result = invoke("cluster", str(path))
    assert result.exit_code == 0
    [line] = result.stderr.splitlines()
    assert line.startswith("dedup: warning: ") and line.endswith("; boilerplate?)")
    assert "sentence LSH bucket(s) of more than 200 entries capped (largest 260" in line


def test_sentence_threshold_trades_rewrites_for_speed(seeds_dir: Path) -> None:
    default = invoke("cluster", "--format", "jsonl", str(seeds_dir))
    assert [c["members"] for c in map(orjson.loads, default.output.splitlines())] == [
        ["001_30404dca0ae5a948", "003_ac5e6907902fcfd7"]]
    strict = invoke("cluster", "--format", "jsonl", "--sentence-threshold", "0.9", str(seeds_dir))
    assert strict.exit_code == 0 and strict.output == ""  # the paraphrased pair is not a candidate
