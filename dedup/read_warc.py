"""Pull article texts out of WARC and ARC archives (helper of :mod:`dedup.read`).

warcio parses the records (and their gzip members); trafilatura extracts the main text of
HTML pages, leaving out navigation, comments and other boilerplate.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

__all__ = ["WarcError", "warc_texts"]

_HTML = ("text/html", "application/xhtml+xml")


class WarcError(Exception):
    """The archive cannot be parsed."""


def warc_texts(stream: BinaryIO) -> Iterator[tuple[str, str | bytes | None, str | None]]:
    """Yield ``(id, text, date)`` for each record that carries a page's text.

    Records taken: 2xx HTTP responses and resources that are HTML (main text extracted)
    or plain text, and ``conversion`` records (WET text). Others (requests, metadata,
    revisits, redirects, images) are passed over. The id is the WARC-Target-URI, or the
    WARC-Record-ID when there is none (the URL for ARC records); the date is the
    WARC-Date (the archive date for ARC). ``text`` is the extracted main text of HTML
    (None if there is none) and the undecoded bytes of plain text.

    Raises:
        WarcError: If the stream is not a WARC or ARC archive.

    """
    try:
        for n, record in enumerate(ArchiveIterator(stream)):
            if n == 0 and record.format != "warc" and record.rec_type != "arc_header":
                raise WarcError("does not start with a WARC record or an ARC file header")
            body = _body(record)
            if body is None:
                continue
            content, is_html = body
            headers = record.rec_headers
            if record.format == "arc":
                doc_id, when = headers.get_header("uri"), _arc_date(headers)
            else:
                doc_id = (headers.get_header("WARC-Target-URI")
                          or headers.get_header("WARC-Record-ID"))
                when = headers.get_header("WARC-Date")
            text = _main_text(content, doc_id) if is_html else content
            yield str(doc_id), text, when
    except ArchiveLoadFailed as err:
        raise WarcError(str(err).strip()) from None


def _arc_date(headers: Any) -> str | None:
    """Turn an ARC archive date (``YYYYMMDDhhmmss``, UTC) into ISO-8601."""
    d = str(headers.get_header("archive-date") or "")
    if len(d) != 14 or not d.isdigit():
        return d or None
    return f"{d[:4]}-{d[4:6]}-{d[6:8]}T{d[8:10]}:{d[10:12]}:{d[12:]}Z"


def _body(record: Any) -> tuple[bytes, bool] | None:
    """Return a record's decoded payload and whether it is HTML, or None to pass it over."""
    if record.rec_type == "response":
        http = record.http_headers
        if http is None or not str(http.get_statuscode()).startswith("2"):
            return None
        ctype = http.get_header("Content-Type") or ""
    elif record.rec_type in ("resource", "conversion"):
        ctype = record.content_type or ""
    else:
        return None
    ctype = ctype.split(";")[0].strip().lower()
    if ctype not in (*_HTML, "text/plain"):
        return None
    content: bytes = record.content_stream().read()
    return content, ctype in _HTML


def _main_text(html: bytes, url: str | None) -> str | None:
    import trafilatura  # half a second to import; only WARC input needs it

    text: str | None = trafilatura.extract(html, url=url, include_comments=False)
    return text

