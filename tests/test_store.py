"""The persistent index, one suite run against both backends (SQLite file, real redis-server)."""

from __future__ import annotations

import gc
import io
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from dedup.cli import cli
from dedup.cli_index import arrived
from dedup.config import Config
from dedup.engine import run
from dedup.read import Document, read_documents
from dedup.store import FORMAT, Busy, IncompatibleIndex, Index, keyfilter, stored_config
from dedup.store import sqlite as sqlite_store
from dedup.store.sqlite import CHECKPOINT_PAGES, SLICES, SQLiteBackend

ROOT = Path(__file__).resolve().parents[1]
CONFIG = Config()


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty index location of each backend."""
    if request.param == "sqlite":
        return str(tmp_path / "index.db")
    url = request.getfixturevalue("redis_url")
    return f"{url}?prefix=t{uuid.uuid4().hex[:12]}"


def _seeds() -> list[Document]:
    return list(read_documents([str(ROOT / "seeds")]))


def _words() -> list[str]:
    return " ".join(d.text for d in _seeds()).split()


def synthetic(n: int, seed: int, prefix: str = "s") -> list[Document]:
    """Unrelated documents: 12 sentences of random seed words each."""
    rng, words = random.Random(seed), _words()
    docs = []
    for i in range(n):
        sents = [" ".join(rng.choices(words, k=rng.randint(10, 20))).capitalize() + "."
                 for _ in range(12)]
        docs.append(Document(f"{prefix}{i}", "\n".join(sents)))
    return docs


def _pairs_of(verdicts: list) -> set[tuple[str, str, str]]:
    return {(ev.a, ev.b, ev.relation) for v in verdicts for ev in v.matches}


def test_incremental_equals_engine_on_seeds(target: str) -> None:
    docs = _seeds()
    expected = {(ev.a, ev.b, ev.relation) for ev in run(docs, CONFIG).evidence}
    assert {(a[:3], b[:3]) for a, b, _ in expected} == {("001", "003")}
    with Index.open(target, CONFIG) as index:
        verdicts = [index.check_and_add(doc) for doc in docs]
    assert _pairs_of(verdicts) == expected
    third = verdicts[3]
    assert third.relation == "reuse" and third.earliest.startswith("001")
    assert third.matches[0].to_dict().keys() >= {"a", "b", "relation", "jaccard", "passages"}


def test_stored_document_ranks_by_date_not_arrival(target: str) -> None:
    """A copy dated earlier than the stored article becomes ``a`` and the earliest."""
    seeds = {d.id[:3]: d for d in _seeds()}
    later = Document("original-later", seeds["001"].text, "2024-05-02")
    earlier = Document("rewrite-earlier", seeds["003"].text, "2024-05-01")
    expected = {(ev.a, ev.b, ev.relation) for ev in run([later, earlier], CONFIG).evidence}
    with Index.open(target, CONFIG) as index:
        index.add(later)
        verdict = index.check(earlier)
    assert _pairs_of([verdict]) == expected
    assert verdict.matches[0].a == "rewrite-earlier"
    assert verdict.earliest == "rewrite-earlier"


def test_batch_sees_earlier_documents_of_the_batch(target: str) -> None:
    docs = _seeds()
    with Index.open(target, CONFIG) as index:
        verdicts = index.check_and_add_many(docs)
        assert sorted(index.ids()) == sorted(d.id for d in docs)
    assert {(a[:3], b[:3]) for a, b, _ in _pairs_of(verdicts)} == {("001", "003")}
    assert all(v.added for v in verdicts)


def test_exact_copy_is_duplicate_and_repeated_id_is_not_added(target: str) -> None:
    doc = _seeds()[0]
    with Index.open(target, CONFIG) as index:
        assert index.add(doc) is True
        assert index.add(doc) is False
        copy = index.check_and_add(Document("copy", doc.text))
        again = index.check_and_add(Document(doc.id, doc.text))
        assert index.stats()["documents"] == 2
    assert copy.relation == "duplicate" and copy.earliest == doc.id and copy.added
    # A re-sent id keeps its place: it is the original of its copy, not a copy of it.
    assert not again.added and again.earliest == doc.id
    assert [(m.a, m.b) for m in again.matches] == [(doc.id, "copy")]


@pytest.mark.parametrize("batch", [False, True])
def test_full_buckets_are_not_searched_and_stop_growing(target: str, batch: bool) -> None:
    """A bucket keeps ``max_bucket + 1`` members, enough to know it is full.

    Copies share every key: the second is verified against the first, the third finds its
    buckets at the cap (not searched, still filed) and the fourth finds them full (not filed):
    once the first two are removed, a fifth copy meets the third alone.
    """
    config = Config(max_bucket=2)
    copies = [Document(f"c{i}", _seeds()[0].text) for i in range(5)]
    with Index.open(target, config) as index:
        index.add(copies[0])
        verdicts = (index.check_and_add_many(copies[1:4]) if batch
                    else [index.check_and_add(doc) for doc in copies[1:4]])
        assert index.remove_many(["c0", "c1"]) == 2
        last = index.check(copies[4])
        assert index.audit() == []
    assert [v.relation for v in verdicts] == ["duplicate", None, None]
    assert all(v.added for v in verdicts)
    assert [(m.a, m.b, m.relation) for m in last.matches] == [("c2", "c4", "duplicate")]


def test_restart_gives_the_same_verdicts(target: str) -> None:
    docs = _seeds()
    probes = [Document(f"probe-{d.id}", d.text[: len(d.text) * 2 // 3]) for d in docs]
    with Index.open(target, CONFIG) as index:
        index.add_many(docs + synthetic(30, 1))
        before = [v.to_dict() for v in index.check_many(probes)]
    with Index.open(target, CONFIG) as index:
        after = [v.to_dict() for v in index.check_many(probes)]
    assert before == after
    assert sum(1 for v in before if v["relation"]) >= len(docs)


def test_window_limits_matches_by_date(target: str) -> None:
    text = _seeds()[1].text
    with Index.open(target, CONFIG) as index:
        index.add(Document("old", text, "2024-01-01"))
        near = Document("near", text, "2024-01-05T12:00:00+00:00")
        far = Document("far", text, "2024-01-20")
        assert index.check(near, window=7 * 86400).relation == "duplicate"
        assert index.check(far, window=7 * 86400).relation is None
        assert index.check(far, window=30 * 86400).relation == "duplicate"
        assert index.check(far).relation == "duplicate"
        # Undated: arrival time, i.e. now, far from 2024.
        assert index.check(Document("undated", text), window=7 * 86400).relation is None


def test_expire_removes_old_documents_and_their_keys(target: str) -> None:
    seeds = _seeds()
    with Index.open(target, CONFIG) as index:
        index.add_many([Document(d.id, d.text, f"2024-01-0{n + 1}") for n, d in enumerate(seeds)])
        assert index.stats()["days"] == 5
        removed = index.expire(datetime(2024, 1, 3, tzinfo=timezone.utc))
        assert removed == 2
        assert sorted(index.ids()) == sorted(d.id for d in seeds[2:])
        assert index.check(Document("copy0", seeds[0].text, "2024-01-01")).relation is None
        assert index.check(Document("copy2", seeds[2].text)).relation == "duplicate"
        assert index.audit() == []
        stats = index.stats()
        assert stats["documents"] == 3 and stats["days"] == 3
        assert stats["bytes_per_document"] > 0


def test_remove(target: str) -> None:
    seeds = _seeds()
    with Index.open(target, CONFIG) as index:
        index.add_many(seeds)
        assert index.remove(seeds[1].id) is True
        assert index.remove(seeds[1].id) is False
        assert index.check(Document("x", seeds[3].text)).matches[0].a == seeds[3].id
        assert seeds[1].id not in index.ids()
        assert index.audit() == []


def test_warm_reads_every_bucket_and_changes_no_verdict(target: str) -> None:
    docs = _seeds()
    with Index.open(target, CONFIG) as index:
        index.add_many(docs[:3])
        before = [index.check(doc).to_dict() for doc in docs]
        try:
            read = index.warm()
            assert gc.get_freeze_count() > 0
        finally:
            gc.unfreeze()
        after = [index.check(doc).to_dict() for doc in docs]
        stats = index.stats()
    if target.endswith(".db"):
        assert read == stats["keys"] > 0
    else:
        assert read == 0  # Redis holds the buckets in memory
    assert after == before
    assert before[3]["relation"] == "reuse"  # 003 against the stored 001


def test_incompatible_settings_are_an_error(target: str) -> None:
    with Index.open(target, CONFIG) as index:
        index.add(_seeds()[0])
    with pytest.raises(IncompatibleIndex, match="num_perm=128"):
        Index.open(target, Config(num_perm=64))
    with pytest.raises(IncompatibleIndex, match="ngram"):
        Index.open(target, Config(ngram=4))
    # Decision thresholds are not stored in keys: texts are verified again on each check.
    with Index.open(target, Config(near_jaccard=0.8)) as index:
        assert index.stats()["documents"] == 1
    assert stored_config(target) == CONFIG


@pytest.mark.parametrize(("change", "message"), [
    ({"format": None}, "index format 1 was written by another version"),
    ({"format": 2}, "index format 2 was written by another version"),
    ({"profiler": "0" * 16}, "other profiling code"),
])
def test_index_of_another_version_is_refused(target: str, change: dict[str, str | None],
                                             message: str) -> None:
    """An index written as texts (format 1) or by other profiling code is refused on open."""
    with Index.open(target, CONFIG) as index:
        index.add(_seeds()[0])
        settings = index.backend.settings()
        assert settings is not None and settings["format"] == FORMAT
        settings.update(change)
        settings = {k: v for k, v in settings.items() if v is not None}
        with index.backend.transaction(write=True):
            index.backend.save_settings(settings)
    with pytest.raises(IncompatibleIndex, match=message):
        Index.open(target, CONFIG)


_WRITER = """
import sys
sys.path.insert(0, {tests!r})
from test_store import synthetic
from dedup.cli import cli
from dedup.config import Config
from dedup.store import Index
index = Index.open({target!r}, Config())
print("open", flush=True)
for batch in range(1000):
    index.check_and_add_many(synthetic(20, batch, prefix=f"b{{batch}}-"))
    print("ack", batch, flush=True)
"""


def test_kill_9_mid_batch_keeps_whole_acknowledged_batches(target: str) -> None:
    code = _WRITER.format(tests=str(Path(__file__).parent), target=target)
    for delay in (0.0, 0.13, 0.29):
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        acked = []
        for line in proc.stdout:
            if line.startswith("ack"):
                acked.append(int(line.split()[1]))
                if len(acked) >= 3:
                    break
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        with Index.open(target, CONFIG) as index:
            ids = set(index.ids())
            assert index.audit() == []
        per_batch: dict[int, int] = {}
        for doc_id in ids:
            batch = int(doc_id[1:doc_id.index("-")])
            per_batch[batch] = per_batch.get(batch, 0) + 1
        assert all(count == 20 for count in per_batch.values()), per_batch
        assert set(acked) <= set(per_batch)
        # The next writer re-sends from the start: nothing is added twice.
        target_ids = len(ids)
        with Index.open(target, CONFIG) as index:
            assert index.add_many(synthetic(20, 0, prefix="b0-")) == [False] * 20
            assert index.stats()["documents"] == target_ids


def test_sqlite_second_writer_waits_then_fails_clearly(tmp_path: Path) -> None:
    path = str(tmp_path / "index.db")
    Index.open(path, CONFIG).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with Index.open(path, CONFIG, busy_timeout=0.2) as index:
            assert index.check(_seeds()[0]).relation is None  # readers still work
            with pytest.raises(Busy, match="another writer"):
                index.add(_seeds()[0])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with Index.open(path, CONFIG) as index:
        assert index.add(_seeds()[0]) is True


def test_sqlite_wal_is_checkpointed_rarely_and_folded_back_on_close(tmp_path: Path) -> None:
    path = tmp_path / "index.db"
    with Index.open(str(path), CONFIG) as index:
        for doc in synthetic(300, 3):
            index.add(doc)  # one commit each, as `dedup filter` stores
        before = index.stats()  # most committed pages are still only in the WAL
        assert before["wal_bytes"] > 1000 * 4096
        assert before["size_bytes"] > path.stat().st_size
        assert isinstance(index.backend, SQLiteBackend)
        _, frames, _ = index.backend.db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        assert 1000 < frames < CHECKPOINT_PAGES  # SQLite's default would have reset it by 1,000
    assert not Path(f"{path}-wal").exists()
    with Index.open(str(path), CONFIG) as index:
        after = index.stats()
        assert after["documents"] == 300 and index.audit() == []
    # The size counts the committed database, whether or not the WAL was folded back yet.
    assert after["size_bytes"] == before["size_bytes"] == path.stat().st_size


def _ranges(keys: list[int]) -> set[int]:
    return {(key + (1 << 63)) // ((1 << 64) // SLICES) for key in keys}


def test_sqlite_moves_recent_keys_in_ranges_without_changing_answers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs, probes = synthetic(40, 5), [Document(f"x{d.id}", d.text) for d in _seeds()]
    with Index.open(str(tmp_path / "plain.db"), CONFIG) as plain:
        plain.add_many(docs[:20] + _seeds() + docs[20:])
        total = plain.stats()["keys"]
        assert plain.stats()["recent_keys"] == total  # below the limit, nothing moves
        expected = [plain.check(doc) for doc in probes]
    monkeypatch.setattr(sqlite_store, "RECENT_KEYS", total // 2)
    path = str(tmp_path / "moved.db")
    with Index.open(path, CONFIG) as moved, Index.open(path, CONFIG) as other:
        moved.add_many(docs[:20] + _seeds() + docs[20:])
        stats = moved.stats()
        assert stats["keys"] == total and 0 < stats["recent_keys"] <= total // 2
        assert isinstance(moved.backend, SQLiteBackend)
        filed = [row[0] for row in moved.backend.db.execute("SELECT key FROM keys")]
        ranges = _ranges(filed)
        assert ranges == set(range(len(ranges)))  # whole ranges, in order, until under the limit
        assert not ranges & _ranges(moved.backend._recent.arrays()[0].tolist())
        assert [moved.check(doc) for doc in probes] == expected
        assert [other.check(doc) for doc in probes] == expected  # another connection reads both
        assert moved.remove(_seeds()[2].id) and moved.remove(docs[30].id)
        assert [other.check(doc) for doc in probes] == [moved.check(doc) for doc in probes]
        assert moved.audit() == [] and other.audit() == []
        monkeypatch.setattr(sqlite_store, "RECENT_KEYS", 0)
        moved.add(docs[0])  # already stored: nothing written, nothing moved
        moved.add(Document("empty", ""))  # no keys of its own: moves the recent ones
        assert moved.stats()["recent_keys"] == 0 and moved.audit() == []
        moved.add(Document("last", docs[0].text + " And one more sentence here."))
        assert moved.stats()["recent_keys"] == 0 and moved.audit() == []
        assert other.stats() == moved.stats() and other.audit() == []


def _moved_index(path: str, monkeypatch: pytest.MonkeyPatch) -> list[Document]:
    """Fill an index whose writes move about half of the keys into ``keys``."""
    docs = synthetic(40, 5) + _seeds()
    with Index.open(path, CONFIG) as index:
        index.add_many(docs)
        total = index.stats()["keys"]
    os.remove(path)
    monkeypatch.setattr(sqlite_store, "RECENT_KEYS", total // 2)
    with Index.open(path, CONFIG) as index:
        index.add_many(docs)
    return docs


def test_sqlite_filters_of_moved_ranges_decide_which_keys_are_probed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(tmp_path / "index.db")
    _moved_index(path, monkeypatch)
    probes = [Document(f"x{d.id}", d.text) for d in _seeds()]
    key = np.array([-(1 << 63) + 12345], dtype=np.int64)  # in range 0, in no document
    backend = SQLiteBackend(path, 1.0)
    try:
        moved = dict(backend.db.execute("SELECT part, upto FROM moved WHERE upto > 0"))
        rows = {part: (upto, count) for part, upto, count in
                backend.db.execute("SELECT part, upto, count FROM filters")}
        assert moved and {part: upto for part, (upto, _) in rows.items()} == moved
        filed = dict(backend.db.execute(
            "SELECT (key >> 60) + 8, COUNT(*) FROM keys GROUP BY 1"))
        assert {part: count for part, (_, count) in rows.items()} == filed
        with backend.transaction(write=False):
            assert backend.lookup(key) == {} and backend._filters.nbytes > 0
        # A key filed behind the filter's back (range 0 was moved) is not probed...
        backend.db.execute("INSERT INTO keys VALUES (?, 1)", (int(key[0]),))
        with backend.transaction(write=False):
            assert backend.lookup(key) == {}
            assert "key range 0: 1 filed keys not in its filter" in backend.audit()
        # ...until the filter is stale, as a move by a writer that keeps no filters leaves it.
        backend.db.execute("UPDATE filters SET upto = upto - 1 WHERE part = 0")
    finally:
        backend.close()
    with Index.open(path, CONFIG) as index:
        assert isinstance(index.backend, SQLiteBackend)
        with index.backend.transaction(write=False):
            assert index.backend.lookup(key) == {int(key[0]): [1]}
        monkeypatch.setattr(sqlite_store, "RECENT_KEYS", 0)
        index.add(synthetic(1, 99, prefix="new")[0])  # moves range 0: rebuilds its filter
        with index.backend.transaction(write=False):
            assert index.backend.lookup(key) == {int(key[0]): [1]}
        index.backend.db.execute("DELETE FROM keys WHERE seq = 1 AND key = ?", (int(key[0]),))
        assert index.audit() == []
        assert [v.relation for v in map(index.check, probes)] == ["duplicate"] * len(probes)


def test_sqlite_filters_are_rebuilt_as_their_ranges_outgrow_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_store, "RECENT_KEYS", 0)  # every write files every key
    monkeypatch.setattr(keyfilter, "_MIN_CAPACITY", 1)
    with Index.open(str(tmp_path / "index.db"), CONFIG) as index:
        assert isinstance(index.backend, SQLiteBackend)
        db, rebuilt = index.backend.db, 0
        capacities: dict[int, int] = {}
        for doc in synthetic(12, 6):
            index.add(doc)
            filed = dict(db.execute("SELECT (key >> 60) + 8, COUNT(*) FROM keys GROUP BY 1"))
            for part, count, capacity in db.execute("SELECT part, count, capacity FROM filters"):
                assert count == filed.get(part, 0) and count <= capacity
                rebuilt += capacities.get(part, capacity) != capacity
                capacities[part] = capacity
            assert index.audit() == []
        assert rebuilt >= SLICES  # each range outgrew its first filter at least once


def test_sqlite_index_without_filters_answers_and_gains_them_as_ranges_move(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An index written before filters (no table) probes every key, then gets one per move."""
    path = str(tmp_path / "index.db")
    docs = _moved_index(path, monkeypatch)
    probes = [Document(f"x{d.id}", d.text) for d in docs[::4]]
    with Index.open(path, CONFIG) as index:
        expected = [index.check(doc) for doc in probes]
        index.backend.db.execute("DROP TABLE filters")

    def matches(index: Index) -> list[tuple[str | None, list[str]]]:
        return [(v.relation, [m.a for m in v.matches]) for v in map(index.check, probes)]

    with Index.open(path, CONFIG) as old:
        assert isinstance(old.backend, SQLiteBackend)
        assert [old.check(doc) for doc in probes] == expected
        assert old.backend._filters.nbytes == 0 and old.audit() == []
        monkeypatch.setattr(sqlite_store, "RECENT_KEYS", 0)
        old.add(synthetic(1, 99, prefix="new")[0])  # a write that moves every range
        assert old.stats()["recent_keys"] == 0 and old.audit() == []
        assert old.backend._filters.nbytes > 0
        assert matches(old) == [(v.relation, [m.a for m in v.matches]) for v in expected]


def test_sqlite_reads_recent_keys_only_when_a_transaction_needs_them(tmp_path: Path) -> None:
    """Reading the settings (``stored_config``, ``Index.open``) never reads the rows' keys."""
    path = str(tmp_path / "index.db")
    with Index.open(path, CONFIG) as index:
        index.add_many(_seeds())
    assert stored_config(path) == CONFIG
    backend = SQLiteBackend(path, 1.0)
    try:
        with backend.transaction(write=False):
            assert backend.settings() is not None
        assert len(backend._recent) == 0 and backend._recent.last == 0
        with backend.transaction(write=False):
            stats = backend.stats()
        assert stats["recent_keys"] == stats["keys"] == len(backend._recent) > 0
    finally:
        backend.close()


def test_sqlite_refuses_an_index_of_the_previous_layout_untouched(tmp_path: Path) -> None:
    """A format-3 file (a ``recent`` table, no ``moved``) is refused, and not written to."""
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript("CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);"
                      "CREATE TABLE recent (key INTEGER, seq INTEGER);")
    old.execute("INSERT INTO settings VALUES ('config', ?)",
                (json.dumps({**CONFIG.to_dict(), "format": 3}),))
    old.commit()
    old.close()
    before = path.read_bytes()
    with pytest.raises(IncompatibleIndex, match="format 3"):
        Index.open(str(path), CONFIG)
    assert path.read_bytes() == before


def _dedup(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("dedup")
    return subprocess.run([str(exe), *args], input=stdin, capture_output=True, text=True,
                          timeout=120)


def test_filter_streams_verdicts_and_survives_bad_lines(target: str) -> None:
    seeds = _seeds()
    lines = [json.dumps({"id": seeds[1].id, "text": seeds[1].text, "url": "u1"}),
             "{not json",
             json.dumps({"id": "no-text"}),
             json.dumps({"id": "rewrite", "text": seeds[3].text}),
             json.dumps({"id": "copy", "text": seeds[1].text})]
    out = _dedup("filter", target, stdin="\n".join(lines) + "\n")
    assert out.returncode == 0, out.stderr
    records = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(records) == 5
    assert records[0]["url"] == "u1" and records[0]["verdict"]["relation"] is None
    assert records[1]["line"] == 2 and "malformed JSON" in records[1]["error"]
    assert records[2]["line"] == 3 and "text" in records[2]["error"]
    assert records[3]["verdict"]["relation"] == "reuse"
    assert records[4]["verdict"]["relation"] == "duplicate"
    assert records[4]["verdict"]["earliest"] == seeds[1].id
    with Index.open(target, CONFIG) as index:
        assert sorted(index.ids()) == sorted([seeds[1].id, "rewrite", "copy"])


def test_filter_parses_lines_as_the_file_reader_does(tmp_path: Path) -> None:
    """cp1252 bytes are decoded, and a bad line gets the file reader's message."""
    text = _seeds()[0].text + "\nIt\u2019s a caf\u00e9 \u201cquote\u201d."
    wire = json.dumps({"id": "w", "text": text}, ensure_ascii=False)
    stdin = b"[1, 2]\n" + wire.encode("cp1252") + b"\n" + b'{"id": 5, "text": " "}\n'
    result = CliRunner().invoke(cli, ["filter", str(tmp_path / "i.db")], input=stdin)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records[0] == {"error": "<stdin>:1: expected a JSON object, got array", "line": 1}
    assert records[1]["text"] == text
    assert records[1]["verdict"]["added"] is True
    assert records[2] == {"error": "<stdin>:3: empty text in document '5'", "line": 3}


def test_filter_flushes_each_line_as_it_arrives(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("dedup")
    proc = subprocess.Popen([str(exe), "filter", str(tmp_path / "i.db")], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        for doc in _seeds()[:2]:
            proc.stdin.write(json.dumps({"id": doc.id, "text": doc.text}) + "\n")
            proc.stdin.flush()
            record = json.loads(proc.stdout.readline())  # would block without a flush
            assert record["id"] == doc.id and "verdict" in record
    finally:
        proc.stdin.close()
        proc.wait(30)


def test_filter_decides_a_backlog_as_it_decides_lines_one_by_one(target: str,
                                                                 tmp_path: Path) -> None:
    """Lines waiting together share a transaction; the verdicts are those of one at a time."""
    seeds = _seeds()
    made = synthetic(6, 11)
    docs = made[:3] + seeds + made[3:]
    lines = [json.dumps({"id": d.id, "text": d.text, "date": d.date}) for d in docs]
    lines[4:4] = ["{bad", ""]
    lines.append(json.dumps({"id": seeds[0].id, "text": seeds[2].text}))  # an id seen before
    lines.append(json.dumps({"id": "copy", "text": seeds[3].text}))
    stdin = tmp_path / "in.jsonl"
    stdin.write_text("\n".join(lines) + "\n")
    outs = []
    for number, flags in enumerate([["--max-batch", "1", "--no-warm"], ["--max-batch", "4"],
                                    ["--max-batch", "100"]]):
        where = (f"{target}{number}" if target.endswith(".db")
                 else f"{target}n{number}")  # a fresh index each time
        with stdin.open() as source:
            out = subprocess.run([str(Path(sys.executable).with_name("dedup")), "filter",
                                  where, *flags], stdin=source,
                                 capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        outs.append(out.stdout)
    assert outs[0] == outs[1] == outs[2]
    records = [json.loads(line) for line in outs[0].splitlines()]
    assert len(records) == len(lines) - 1  # the blank line has no record
    assert records[4]["line"] == 5 and "malformed JSON" in records[4]["error"]
    again, copy = records[-2]["verdict"], records[-1]["verdict"]
    assert not again["added"] and copy["relation"] == "duplicate"
    assert {ev["a"] for ev in copy["matches"]} == {seeds[1].id, seeds[3].id}  # 001 and 003
    assert copy["earliest"] == seeds[1].id  # the syndicated pair: 001 is the earlier


def test_arrived_groups_the_lines_already_waiting() -> None:
    read, write = os.pipe()
    with os.fdopen(read, "rb") as stream:
        groups = arrived(stream, 2)
        os.write(write, b"a\nb\nc\n")
        assert next(groups) == [b"a\n", b"b\n"]  # no more than the limit
        assert next(groups) == [b"c\n"]  # does not wait for a second line
        os.write(write, b"d\ne")
        assert next(groups) == [b"d\n"]
        os.write(write, b"f\n")
        assert next(groups) == [b"ef\n"]
        os.write(write, b"last")
        os.close(write)
        assert list(groups) == [[b"last"]]
    assert list(arrived(io.BytesIO(b"x\ny\nz"), 2)) == [[b"x\n", b"y\n"], [b"z"]]


def test_arrived_joins_a_line_read_in_many_pieces(tmp_path: Path) -> None:
    long = b"".join(b"%07d" % i for i in range(40_000))  # 280 KB: five reads of 64 KB
    (tmp_path / "in").write_bytes(b"a\n" + long + b"\nb\n" + long)
    with (tmp_path / "in").open("rb") as stream:
        lines = [line for group in arrived(stream, 100) for line in group]
    assert lines == [b"a\n", long + b"\n", b"b\n", long]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``dedup`` in-process (the console script is tested by the filter tests)."""
    result = CliRunner().invoke(cli, list(args))
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def test_index_commands(target: str, tmp_path: Path) -> None:
    seeds = tmp_path / "docs.jsonl"
    seeds.write_text("".join(json.dumps({"id": d.id, "text": d.text, "date": "2024-03-01"}) + "\n"
                             for d in _seeds()[:3]), encoding="utf-8")
    probe = tmp_path / "probe.jsonl"
    probe.write_text(json.dumps({"id": "p", "text": _seeds()[3].text}) + "\n", encoding="utf-8")
    assert _cli("index", "check", target, str(probe)).returncode == 2  # no index yet
    add = _cli("index", "add", target, str(seeds))
    assert add.returncode == 0 and "added 3" in add.stderr
    check = _cli("index", "check", target, str(probe))
    verdict = json.loads(check.stdout)
    assert verdict["relation"] == "reuse" and verdict["matches"][0]["a"].startswith("001")
    stats = json.loads(_cli("index", "stats", target).stdout)
    assert stats["documents"] == 3 and stats["days"] == 1 and stats["bytes_per_document"] > 0
    bad = _cli("index", "add", target, "--num-perm", "64", str(seeds))
    assert bad.returncode == 2 and bad.stderr.startswith("dedup: error:")
    assert "num_perm" in bad.stderr
    expire = _cli("index", "expire", target, "--older-than", "30d")
    assert expire.returncode == 0 and "removed 3" in expire.stderr
    assert json.loads(_cli("index", "stats", target).stdout)["documents"] == 0


def test_index_add_with_workers_stores_what_one_process_stores(
        tmp_path: Path, seeds_dir: Path, clough_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`index add` profiles batches in several processes; the index is the same."""
    import dedup.cli_index

    monkeypatch.setattr(dedup.cli_index, "_BATCH", 7)  # many batches, a short last one
    texts = [str(p) for p in sorted(clough_dir.glob("*.txt"))]
    built = {}
    for workers in ("1", "2"):
        target = str(tmp_path / f"w{workers}.db")
        add = _cli("index", "add", target, "--workers", workers, *texts[:60])
        assert add.returncode == 0 and "added 60 documents" in add.stderr
        check = _cli("index", "check", target, *texts[60:], str(seeds_dir))
        stats = json.loads(_cli("index", "stats", target).stdout)
        built[workers] = (check.stdout, stats["documents"], stats["keys"])
    assert built["1"] == built["2"]
    assert sum(json.loads(line)["relation"] is not None for line in built["1"][0].splitlines()) > 5


def test_concurrent_writers_all_land(target: str) -> None:
    """Two writers at once: SQLite makes one wait, Redis makes one redo its batch."""
    import threading

    with Index.open(target, CONFIG) as first, Index.open(target, CONFIG) as second:
        errors: list[BaseException] = []

        def write(index: Index, prefix: str) -> None:
            try:
                for batch in range(4):
                    index.check_and_add_many(synthetic(10, batch, prefix=f"{prefix}{batch}-"))
            except BaseException as err:  # reported below
                errors.append(err)

        threads = [threading.Thread(target=write, args=(ix, p))
                   for ix, p in ((first, "x"), (second, "y"))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert len(first.ids()) == 80
        assert first.audit() == []
