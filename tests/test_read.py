"""The read stage: formats, decoding, gzip, stdin, WARC, and errors that name file and line."""

from __future__ import annotations

import gzip
import io
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from dedup.read import (
    Document,
    Fields,
    InputError,
    decode_text,
    load_line,
    parse_line,
    parse_record,
    read_documents,
)

ROOT = Path(__file__).resolve().parents[1]


def read(*paths: Path | str, **kwargs: object) -> list[Document]:
    return list(read_documents([str(p) for p in paths], **kwargs))  # type: ignore[arg-type]


def read_skip(*paths: Path | str, **kwargs: object) -> tuple[list[Document], list[str]]:
    warnings: list[InputError] = []
    docs = read(*paths, on_error="skip", warn=warnings.append, **kwargs)
    return docs, [str(w) for w in warnings]


def error_of(*paths: Path | str, **kwargs: object) -> str:
    with pytest.raises(InputError) as info:
        read(*paths, **kwargs)
    return str(info.value)


def jsonl(path: Path, *rows: object) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path


# --- formats -------------------------------------------------------------------------


def test_jsonl_ids_dates_sources(tmp_path: Path) -> None:
    f = tmp_path / "a.jsonl"
    f.write_bytes(b'{"id": 7, "text": "Seven.", "date": "2024-03-01"}\n\n   \n'
                  b'{"id": "x", "text": "Ex.", "date": "2024-03-01T10:00:00Z", "extra": 1}\n'
                  b'{"id": "y", "text": "Why.", "date": null}\n')
    assert read(f) == [
        Document("7", "Seven.", "2024-03-01", f"{f}:1"),
        Document("x", "Ex.", "2024-03-01T10:00:00+00:00", f"{f}:4"),
        Document("y", "Why.", None, f"{f}:5"),
    ]


@pytest.mark.parametrize(("given", "normalised"), [
    ("2024-03-01", "2024-03-01"),
    (" 2024-03-01 ", "2024-03-01"),
    ("2024-03-01T10:00:00", "2024-03-01T10:00:00"),
    ("2024-03-01 10:00", "2024-03-01T10:00:00"),
    ("2024-03-01T10:00:00.250Z", "2024-03-01T10:00:00.250000+00:00"),
    ("2024-03-01T01:00:00+02:00", "2024-02-29T23:00:00+00:00"),
    ("", None),
])
def test_dates_are_normalised(tmp_path: Path, given: str, normalised: str | None) -> None:
    f = jsonl(tmp_path / "a.jsonl", {"id": "a", "text": "A.", "date": given})
    assert read(f)[0].date == normalised


@pytest.mark.parametrize("suffix", [".ndjson", ".json", ".JSONL"])
def test_other_jsonl_suffixes(tmp_path: Path, suffix: str) -> None:
    f = jsonl(tmp_path / f"a{suffix}", {"id": "a", "text": "A text."})
    assert [d.id for d in read(f)] == ["a"]


def test_custom_field_names(tmp_path: Path) -> None:
    f = jsonl(tmp_path / "a.jsonl", {"url": "u1", "body": "Body.", "published": "2020-01-02"})
    c = tmp_path / "b.csv"
    c.write_text("body,url,published\nOther body.,u2,2020-01-03T04:05:06\n")
    docs = read(f, c, fields=Fields(id="url", text="body", date="published"))
    assert [(d.id, d.text, d.date) for d in docs] == [
        ("u1", "Body.", "2020-01-02"), ("u2", "Other body.", "2020-01-03T04:05:06")]


def test_csv_quoted_newlines_keep_text_and_start_lines(tmp_path: Path) -> None:
    f = tmp_path / "a.csv"
    f.write_bytes(b'id,text,date\r\n1,"Line one,\r\nline two ""quoted""",2021-05-06\r\n'
                  b'\r\n2,plain,\r\n3,"a\nb\nc",\n')
    docs = read(f)
    assert [(d.id, d.text, d.date, d.source) for d in docs] == [
        ("1", 'Line one,\r\nline two "quoted"', "2021-05-06", f"{f}:2"),
        ("2", "plain", None, f"{f}:5"),
        ("3", "a\nb\nc", None, f"{f}:6"),
    ]


def test_csv_without_date_column_and_long_field(tmp_path: Path) -> None:
    f = tmp_path / "a.csv"
    long = "word " * 300_000  # 1.5 MB, above the csv module's default 128 KB field limit
    f.write_text(f"text,id\n{long},big\n")
    [doc] = read(f)
    assert (doc.id, doc.text, doc.date) == ("big", long, None)


def test_txt_file_is_one_document_kept_verbatim(tmp_path: Path) -> None:
    f = tmp_path / "story.txt"
    f.write_bytes(b"\xef\xbb\xbfHeadline\r\n\r\n  Body with  spaces.\n")
    assert read(f) == [Document("story", "Headline\r\n\r\n  Body with  spaces.\n", None, str(f))]


def test_directory_recursive_sorted_mixed(tmp_path: Path) -> None:
    # created in reverse order, so a listing in creation order would differ from sorted order
    (tmp_path / "z").mkdir()
    (tmp_path / "z" / "b.txt").write_text("Zb text.")
    (tmp_path / "m.txt").write_text("M text.")
    (tmp_path / "b" / "inner").mkdir(parents=True)
    (tmp_path / "b" / "inner" / "c.txt").write_text("Deep text.")
    jsonl(tmp_path / "b" / "rows.jsonl", {"id": "j1", "text": "From JSONL."})
    (tmp_path / "b" / "rows.csv").write_text("id,text\nc1,From CSV.\n")
    (tmp_path / "a.txt").write_text("A text.")
    (tmp_path / "notes.md").write_text("not read")
    (tmp_path / "image.png").write_bytes(b"\x89PNG\0\0")
    (tmp_path / ".hidden.txt").write_text("not read")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.txt").write_text("not read")
    docs = read(tmp_path)
    assert [d.id for d in docs] == ["a", "b/inner/c", "c1", "j1", "m", "z/b"]
    assert docs[1].text == "Deep text."


def test_directory_skips_csv_that_is_not_a_document_table(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("A text.")
    (tmp_path / "info.csv").write_text("File,Task\na.txt,x\n")
    docs, warnings = read_skip(tmp_path)
    assert [d.id for d in docs] == ["a"]
    assert warnings == [f"{tmp_path / 'info.csv'}:1: no 'id' column in header "
                        "['File', 'Task']; not a document table, passed over"]
    assert [d.id for d in read(tmp_path, warn=lambda e: None)] == ["a"]  # not an error
    assert error_of(tmp_path / "info.csv") == (
        f"{tmp_path / 'info.csv'}:1: no 'id' column in header ['File', 'Task']")


def test_empty_inputs_yield_nothing(tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_bytes(b"")
    (tmp_path / "header.csv").write_text("id,text\n")
    (tmp_path / "blank.csv").write_bytes(b"")
    (tmp_path / "dir").mkdir()
    assert read(tmp_path / "empty.jsonl", tmp_path / "header.csv", tmp_path / "blank.csv",
                tmp_path / "dir") == []


# --- gzip ------------------------------------------------------------------------------


def test_gzip_by_suffix_and_by_magic(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(b'{"id": "a", "text": "A."}\n'))
    (tmp_path / "b.jsonl").write_bytes(gzip.compress(b'{"id": "b", "text": "B."}\n'))
    (tmp_path / "c.csv.gz").write_bytes(gzip.compress(b'id,text\nc,"C,\nsee."\n'))
    (tmp_path / "d.txt.gz").write_bytes(gzip.compress("Caf\u00e9.".encode()))
    docs = read(tmp_path)
    assert [(d.id, d.text) for d in docs] == [
        ("a", "A."), ("b", "B."), ("c", "C,\nsee."), ("d", "Caf\u00e9.")]
    assert docs[2].source == f"{tmp_path / 'c.csv.gz'}:2"


def test_corrupt_gzip_names_the_file(tmp_path: Path) -> None:
    data = gzip.compress(b"".join(b'{"id": %d, "text": "A."}\n' % i for i in range(5000)))
    truncated = tmp_path / "t.jsonl.gz"
    truncated.write_bytes(data[: len(data) // 2])
    assert error_of(truncated).startswith(f"{truncated}: cannot read: ")
    fake = tmp_path / "f.jsonl.gz"
    fake.write_bytes(b'{"id": "a", "text": "not gzip"}\n')
    assert error_of(fake).startswith(f"{fake}: cannot read: ")


# --- stdin -----------------------------------------------------------------------------


def read_stdin(data: bytes, fmt: str | None) -> list[list[str | None]]:
    arg = "" if fmt is None else f", stdin_format={fmt!r}"
    code = ("import sys, orjson; from dedup.read import read_documents\n"
            f"docs = read_documents(['-']{arg})\n"
            "sys.stdout.buffer.write(orjson.dumps([[d.id, d.text, d.source] for d in docs]))")
    out = subprocess.run([sys.executable, "-c", code], input=data, cwd=ROOT,
                         capture_output=True, check=True).stdout
    return orjson.loads(out)  # type: ignore[no-any-return]


def test_stdin_defaults_to_jsonl_and_takes_other_formats() -> None:
    assert read_stdin(b'{"id": 1, "text": "One."}\n', None) == [["1", "One.", "<stdin>:1"]]
    assert read_stdin(b'id,text\n2,"Two,\nlines"\n', "csv") == [["2", "Two,\nlines", "<stdin>:2"]]
    assert read_stdin(b"Just text.\n", "txt") == [["stdin", "Just text.\n", "<stdin>"]]
    assert read_stdin(gzip.compress(b'{"id": 3, "text": "Zipped."}\n'), "jsonl") == [
        ["3", "Zipped.", "<stdin>:1"]]


def test_unknown_stdin_format_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="stdin format"):
        read("-", stdin_format="xml")


# --- decoding --------------------------------------------------------------------------


def test_cp1252_fallback(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"It\x92s \x93quoted\x94 \x85")
    (tmp_path / "b.jsonl").write_bytes(b'{"id": "b", "text": "caf\xe9"}\n'
                                       b'{"id": "c", "text": "caf\xc3\xa9"}\n')
    docs, warnings = read_skip(tmp_path)
    assert [d.text for d in docs] == ["It\u2019s \u201cquoted\u201d \u2026", "caf\u00e9",
                                      "caf\u00e9"]
    assert warnings == []


def test_undecodable_bytes_are_replaced_with_a_warning(tmp_path: Path) -> None:
    # 0x81 is invalid UTF-8 and undefined in cp1252
    (tmp_path / "a.txt").write_bytes(b"bad \x81 byte")
    (tmp_path / "b.jsonl").write_bytes(b'{"id": "b", "text": "ok"}\n'
                                       b'{"id": "c", "text": "bad \x81"}\n')
    warnings: list[InputError] = []
    docs = read(tmp_path, warn=warnings.append)  # a warning, not an error, even under fail
    assert [d.text for d in docs] == ["bad \ufffd byte", "ok", "bad \ufffd"]
    assert [str(w) for w in warnings] == [
        f"{tmp_path / 'a.txt'}: neither UTF-8 nor cp1252; undecodable bytes replaced",
        f"{tmp_path / 'b.jsonl'}:2: neither UTF-8 nor cp1252; undecodable bytes replaced"]


def test_clough_stevenson_windows_1252_answers(clough_dir: Path) -> None:
    docs, warnings = read_skip(clough_dir)
    assert len(docs) == 100
    assert not any("\ufffd" in d.text for d in docs)
    by_id = {d.id: d for d in docs}
    assert "\u2019" in by_id["g1pB_taska"].text  # 0x92 in the file
    assert all("not a document table" in w for w in warnings)  # the two metadata CSVs


# --- size and binary ------------------------------------------------------------------


def test_fifty_megabyte_single_line_document(tmp_path: Path) -> None:
    text = "syndicated " * 5_000_000
    f = tmp_path / "big.jsonl"
    with f.open("wb") as out:
        out.write(orjson.dumps({"id": "small", "text": "Before."}) + b"\n")
        out.write(orjson.dumps({"id": "big", "text": text}) + b"\n")
        out.write(orjson.dumps({"id": "after", "text": "After."}) + b"\n")
    assert f.stat().st_size > 50_000_000
    docs = read(f)
    assert [d.id for d in docs] == ["small", "big", "after"]
    assert docs[1].text == text
    assert docs[2].source == f"{f}:3"


@pytest.mark.parametrize("name", ["a.txt", "a.jsonl", "a.csv", "a.jsonl.gz"])
def test_binary_file_is_an_error_naming_it(tmp_path: Path, name: str) -> None:
    f = tmp_path / name
    data = b'{"id": "a", "text": "x"}\n' + b"\0\x01\x02" * 100
    f.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    assert error_of(f) == (f"{f}: binary file (NUL byte in the first 8 KB); "
                           "expected UTF-8 text")


def test_binary_file_under_skip_leaves_the_others(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"\xff\xfeU\0T\0F\0-\x001\x006\0")  # UTF-16
    (tmp_path / "b.txt").write_text("Fine.")
    docs, warnings = read_skip(tmp_path)
    assert [d.id for d in docs] == ["b"]
    assert len(warnings) == 1 and warnings[0].startswith(f"{tmp_path / 'a.txt'}: binary file")


# --- errors ----------------------------------------------------------------------------

GOOD = b'{"id": "ok", "text": "Fine."}\n'
#: A bad JSONL line and the start of its message (after ``file:line: ``).
BAD_LINES = [
    (b'{"id": "a", "text": "unterminated}', "malformed JSON: "),
    (b'[{"id": "a", "text": "in an array"}]', "expected a JSON object, got array"),
    (b'"just a string"', "expected a JSON object, got string"),
    (b'{"text": "no id"}', "missing id field 'id'"),
    (b'{"id": null, "text": "null id"}', "missing id field 'id'"),
    (b'{"id": true, "text": "bool id"}', "id must be a string or integer, got boolean"),
    (b'{"id": 1.5, "text": "float id"}', "id must be a string or integer, got number"),
    (b'{"id": " ", "text": "blank id"}', "empty id"),
    (b'{"id": "a"}', "missing text field 'text'"),
    (b'{"id": "a", "text": 12}', "text field 'text' is not a string (got number)"),
    (b'{"id": "a", "text": null}', "text field 'text' is not a string (got null)"),
    (b'{"id": "a", "text": ""}', "empty text in document 'a'"),
    (b'{"id": "a", "text": " \\n\\t "}', "empty text in document 'a'"),
    (b'{"id": "a", "text": "x", "date": "yesterday"}',
     "document 'a': unparsable date 'yesterday' (expected ISO-8601)"),
    (b'{"id": "a", "text": "x", "date": "2024-02-30"}',
     "document 'a': unparsable date '2024-02-30' (expected ISO-8601)"),
    (b'{"id": "a", "text": "x", "date": 20240101}',
     "document 'a': date must be an ISO-8601 string, got number"),
]


@pytest.mark.parametrize(("line", "message"), BAD_LINES)
def test_jsonl_errors_name_file_and_line(tmp_path: Path, line: bytes, message: str) -> None:
    f = tmp_path / "in.jsonl"
    f.write_bytes(GOOD + b"\n" + line + b"\n" + GOOD.replace(b"ok", b"ok2"))
    err = error_of(f)
    assert err.startswith(f"{f}:3: {message}")
    docs, warnings = read_skip(f)
    assert [d.id for d in docs] == ["ok", "ok2"]
    assert len(warnings) == 1 and warnings[0].startswith(f"{f}:3: {message}")


@pytest.mark.parametrize(("row", "message"), [
    (b"a,too,many,columns", "expected 2 columns, got 4"),
    (b"lonely", "expected 2 columns, got 1"),
    (b'a,"x"y', "malformed CSV: "),
    (b"a,   ", "empty text in document 'a'"),
    (b",text without id", "empty id"),
])
def test_csv_errors_name_file_and_line(tmp_path: Path, row: bytes, message: str) -> None:
    f = tmp_path / "in.csv"
    f.write_bytes(b'id,text\nok,"Two\nlines."\n' + row + b"\nok2,Fine.\n")
    assert error_of(f).startswith(f"{f}:4: {message}")
    docs, warnings = read_skip(f)
    assert [d.id for d in docs] == ["ok", "ok2"]
    assert len(warnings) == 1 and warnings[0].startswith(f"{f}:4: {message}")


def test_csv_unterminated_quote_is_an_error_not_a_swallowed_file(tmp_path: Path) -> None:
    f = tmp_path / "in.csv"
    f.write_bytes(b'id,text\nok,Fine.\nbad,"never closed\nok2,Lost?\n')
    assert error_of(f) == f"{f}:3: malformed CSV: unexpected end of data"


def test_csv_missing_text_column(tmp_path: Path) -> None:
    f = tmp_path / "in.csv"
    f.write_text("id,body\n1,x\n")
    assert error_of(f) == f"{f}:1: no 'text' column in header ['id', 'body']"


def test_duplicate_ids_across_inputs(tmp_path: Path) -> None:
    a = jsonl(tmp_path / "a.jsonl", {"id": 1, "text": "First."}, {"id": 2, "text": "Two."})
    b = tmp_path / "b.csv"
    b.write_text("id,text\n3,Three.\n1,Again.\n")
    assert error_of(a, b) == f"{b}:3: duplicate id '1' (first at {a}:1)"
    docs, warnings = read_skip(a, b)
    assert [(d.id, d.text) for d in docs] == [("1", "First."), ("2", "Two."), ("3", "Three.")]
    assert warnings == [f"{b}:3: duplicate id '1' (first at {a}:1)"]


def test_nonexistent_and_unknown_paths(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    assert error_of(missing) == f"{missing}: no such file or directory"
    with pytest.raises(InputError) as info:
        read(missing)
    assert (info.value.path, info.value.line) == (str(missing), None)
    odd = tmp_path / "notes.md"
    odd.write_text("hello")
    assert error_of(odd).startswith(f"{odd}: unknown file type (expected .jsonl")
    good = jsonl(tmp_path / "good.jsonl", {"id": "g", "text": "Good."})
    docs, warnings = read_skip(missing, odd, good)
    assert [d.id for d in docs] == ["g"] and len(warnings) == 2


def test_empty_txt_file_is_an_error(tmp_path: Path) -> None:
    f = tmp_path / "blank.txt"
    f.write_text(" \n\n")
    assert error_of(f) == f"{f}: empty text in document 'blank'"
    assert read_skip(f) == ([], [f"{f}: empty text in document 'blank'"])


def test_input_error_format_and_attributes() -> None:
    err = InputError("x.jsonl", 4, "bad")
    assert (str(err), err.path, err.line, err.message) == ("x.jsonl:4: bad", "x.jsonl", 4, "bad")
    assert str(InputError("x.txt", None, "bad")) == "x.txt: bad"


def test_bad_on_error_value() -> None:
    with pytest.raises(ValueError, match="on_error"):
        read("x.jsonl", on_error="ignore")


def test_jsonl_bom_at_the_start_of_any_line_is_removed(tmp_path: Path) -> None:
    """``cat a.jsonl b.jsonl`` leaves b's byte-order mark mid-file; it is not malformed JSON."""
    f = tmp_path / "cat.jsonl"
    f.write_bytes(b'\xef\xbb\xbf{"id": "a", "text": "First file."}\n'
                  b'\xef\xbb\xbf{"id": "b", "text": "Second file."}\n'
                  b'\xef\xbb\xbf\n'  # a third file holding only its BOM: a blank line
                  b'{"id": "c", "text": "Mid-line \xef\xbb\xbf kept."}\n')
    assert [(d.id, d.text, d.source) for d in read(f)] == [
        ("a", "First file.", f"{f}:1"), ("b", "Second file.", f"{f}:2"),
        ("c", "Mid-line \ufeff kept.", f"{f}:4")]
    g = tmp_path / "twice.jsonl"  # only one BOM is a byte-order mark
    g.write_bytes(b'{"id": "a", "text": "A."}\n\xef\xbb\xbf\xef\xbb\xbf{"id": "b"}\n')
    assert error_of(g).startswith(f"{g}:2: malformed JSON: ")


# --- WARC ------------------------------------------------------------------------------

ARTICLE = (
    "<html><head><title>Council approves budget</title></head><body>"
    "<nav><a href='/'>Home</a> | <a href='/sport'>Sport</a> | <a href='/weather'>Weather</a></nav>"
    "<article><h1>Council approves budget</h1>"
    "<p>The city council on Tuesday approved a budget of 2.4 billion dollars for the coming "
    "fiscal year, after a debate that lasted well into the night and drew dozens of residents.</p>"
    "<p>Mayor Jane Doe said the plan would fund new bus routes, repair ageing bridges and hire "
    "forty more teachers, while keeping property taxes at their current level.</p>"
    "<p>Opposition members argued that the spending on consultants was too high and proposed "
    "amendments, all of which were rejected by a vote of seven to four.</p>"
    "</article><footer>Copyright 2024 Example News. All rights reserved.</footer></body></html>"
)


def write_warc(path: Path, compress: bool) -> None:
    with path.open("wb") as out:
        writer = WARCWriter(out, gzip=compress)

        def response(uri: str, status: str, ctype: str, body: bytes, when: str) -> None:
            http = StatusAndHeaders(status, [("Content-Type", ctype)], protocol="HTTP/1.1")
            record = writer.create_warc_record(uri, "response", payload=io.BytesIO(body),
                                               http_headers=http,
                                               warc_headers_dict={"WARC-Date": when})
            writer.write_record(record)

        writer.write_record(writer.create_warc_record(
            "http://news.example/budget", "request", payload=io.BytesIO(b"GET /budget\r\n\r\n")))
        response("http://news.example/budget", "200 OK", "text/html; charset=utf-8",
                 ARTICLE.encode(), "2024-03-05T08:30:00Z")
        response("http://news.example/missing", "404 Not Found", "text/html", b"<p>gone</p>",
                 "2024-03-05T08:31:00Z")
        response("http://news.example/logo.png", "200 OK", "image/png", b"\x89PNG\0\0",
                 "2024-03-05T08:32:00Z")
        response("http://news.example/empty", "200 OK", "text/html", b"<html><body></body></html>",
                 "2024-03-05T08:33:00Z")
        response("http://news.example/wire.txt", "200 OK", "text/plain",
                 b"Wire copy, in cp1252: it\x92s here.", "2024-03-05T08:34:00Z")


@pytest.mark.parametrize("name", ["crawl.warc.gz", "crawl.warc"])
def test_warc_html_main_text(tmp_path: Path, name: str) -> None:
    f = tmp_path / name
    write_warc(f, compress=name.endswith(".gz"))
    warnings: list[InputError] = []
    docs = read(f, warn=warnings.append)
    assert [(d.id, d.date, d.source) for d in docs] == [
        ("http://news.example/budget", "2024-03-05T08:30:00+00:00", str(f)),
        ("http://news.example/wire.txt", "2024-03-05T08:34:00+00:00", str(f)),
    ]
    article = docs[0].text
    assert "approved a budget of 2.4 billion dollars" in article
    assert "hire forty more teachers" in article
    assert "Weather" not in article and "All rights reserved" not in article
    assert docs[1].text == "Wire copy, in cp1252: it\u2019s here."
    assert [str(w) for w in warnings] == [f"{f}: 1 page(s) without text passed over"]


def test_warc_whitespace_only_pages_passed_over_and_counted(tmp_path: Path) -> None:
    f = tmp_path / "blank.warc.gz"
    with f.open("wb") as out:
        writer = WARCWriter(out, gzip=True)
        for uri, body in [("http://news.example/spaces", b" \r\n\t \n"),
                          ("http://news.example/nothing", b""),
                          ("http://news.example/wire", b"Wire copy.")]:
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/plain")],
                                    protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(uri, "response",
                                                          payload=io.BytesIO(body),
                                                          http_headers=http))
    for on_error in ("fail", "skip"):
        warnings: list[InputError] = []
        docs = read(f, on_error=on_error, warn=warnings.append)
        assert [(d.id, d.text) for d in docs] == [("http://news.example/wire", "Wire copy.")]
        assert [str(w) for w in warnings] == [f"{f}: 2 page(s) without text passed over"]


def test_warc_in_directory_and_invalid_warc(tmp_path: Path) -> None:
    write_warc(tmp_path / "a.warc.gz", compress=True)
    jsonl(tmp_path / "b.jsonl", {"id": "http://news.example/budget", "text": "Same URL."})
    assert error_of(tmp_path, warn=lambda e: None) == (
        f"{tmp_path / 'b.jsonl'}:1: duplicate id 'http://news.example/budget' "
        f"(first at {tmp_path / 'a.warc.gz'})")
    bad = tmp_path / "bad.warc"
    bad.write_text("this is not an archive\n")
    assert error_of(bad).startswith(f"{bad}: not a valid WARC/ARC archive")


def test_arc_file(tmp_path: Path) -> None:
    def arc_record(url: str, ctype: str, body: bytes) -> bytes:
        return f"{url} 192.0.2.1 20240305083000 {ctype} {len(body)}\n".encode() + body + b"\n"

    desc = b"1 0 Example\nURL IP-address Archive-date Content-type Archive-length\n"
    page = b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n" + ARTICLE.encode()
    f = tmp_path / "old.arc"
    f.write_bytes(arc_record("filedesc://old.arc", "text/plain", desc)
                  + arc_record("http://news.example/budget", "text/html", page))
    [doc] = read(f)
    assert (doc.id, doc.date) == ("http://news.example/budget", "2024-03-05T08:30:00+00:00")
    assert "hire forty more teachers" in doc.text


# --- per-record parsers (one record from a queue, not a file) -----------------------------


def test_parse_record_ids_dates_and_source() -> None:
    assert parse_record({"id": 7, "text": "Seven.", "date": "2024-03-01T01:00:00+02:00"}) == \
        Document("7", "Seven.", "2024-02-29T23:00:00+00:00", "<record>")
    assert parse_record({"id": "x", "text": "Ex.", "date": None, "url": "u"},
                        source="news/3", line=41) == Document("x", "Ex.", None, "news/3:41")
    assert parse_record({"url": "u1", "body": "B.", "published": " 2020-01-02 "},
                        Fields(id="url", text="body", date="published")) == \
        Document("u1", "B.", "2020-01-02", "<record>")


def test_parse_line_bytes_or_text_with_newline() -> None:
    line = '{"id": 12, "text": "Caf\u00e9 news.", "date": "2024-03-01T10:00:00Z"}\n'
    want = Document("12", "Caf\u00e9 news.", "2024-03-01T10:00:00+00:00", "news/0:5")
    assert parse_line(line, source="news/0", line=5) == want
    assert parse_line(line.encode(), source="news/0", line=5) == want
    assert parse_line(line.encode()).source == "<line>"


@pytest.mark.parametrize(("line", "message"), BAD_LINES)
def test_parse_line_and_record_raise_naming_source_and_line(line: bytes, message: str) -> None:
    with pytest.raises(InputError) as info:
        parse_line(line, source="news/2", line=17)
    assert str(info.value).startswith(f"news/2:17: {message}")
    assert (info.value.path, info.value.line) == ("news/2", 17)
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        return
    if isinstance(record, dict):  # the same record, already parsed, fails the same way
        with pytest.raises(InputError) as info:
            parse_record(record, source="news/2", line=17)
        assert str(info.value).startswith(f"news/2:17: {message}")


def test_parse_line_blank_is_malformed_and_load_line_keeps_other_fields() -> None:
    with pytest.raises(InputError, match=r"^<line>: malformed JSON: "):
        parse_line(b"  \n")
    assert load_line(b'{"id": "a", "url": "u", "n": [1]}') == {"id": "a", "url": "u", "n": [1]}


def test_parse_line_cp1252_and_undecodable_bytes() -> None:
    cp1252 = b'{"id": "w", "text": "It\x92s caf\xe9 \x93news\x94"}'
    warnings: list[InputError] = []
    doc = parse_line(cp1252, source="wire", line=3, warn=warnings.append)
    assert doc.text == "It\u2019s caf\u00e9 \u201cnews\u201d" and warnings == []
    doc = parse_line(b'{"id": "b", "text": "bad \x81 byte"}', source="wire", line=4,
                     warn=warnings.append)
    assert doc.text == "bad \ufffd byte"
    assert [str(w) for w in warnings] == [
        "wire:4: neither UTF-8 nor cp1252; undecodable bytes replaced"]
    assert decode_text(b"caf\xe9") == "caf\u00e9"


def test_read_documents_equals_parse_line_per_line(tmp_path: Path) -> None:
    fields = Fields(id="url", text="body", date="published")
    lines = [orjson.dumps({"url": 1, "body": "One.", "published": "2024-03-01T01:00:00+02:00"}),
             orjson.dumps({"url": "two", "body": "Two.", "x": [1]}),
             b'{"url": "three", "body": "Caf\xe9 \x93three\x94.", "published": "2024-03-02"}',
             orjson.dumps({"url": "four", "body": "Four.", "published": " 2024-03-03 10:00 "})]
    f = tmp_path / "a.jsonl"
    f.write_bytes(b"\n".join(lines) + b"\n")
    per_line = [parse_line(line, fields, source=str(f), line=n) for n, line in enumerate(lines, 1)]
    assert read(f, fields=fields) == per_line
    assert [d.date for d in per_line] == ["2024-02-29T23:00:00+00:00", None, "2024-03-02",
                                          "2024-03-03T10:00:00"]
    assert per_line[2].text == "Caf\u00e9 \u201cthree\u201d."
