"""Optional raw capture: every HTTP response of a run kept as WARC records (warcio), beside the tables.

One ``WarcRecorder`` per DoFn instance, fed by ``HttpClient``'s ``on_response`` hook from any
number of fetch threads. Records go to ``<dir>/_tmp/<name>.warc.gz`` and the file is renamed to
``<dir>/<name>.warc.gz`` when the DoFn's bundle ends, so readers of ``<dir>/*.warc.gz`` only ever
see complete files. Bodies are stored as received after content decoding (gzip/deflate undone),
with ``Content-Encoding`` dropped and ``Content-Length`` set to match, so any WARC tool can replay
them; the original transfer encoding is not kept.
"""

from __future__ import annotations

import http
import io
import threading
import uuid
from datetime import datetime, timezone
from typing import IO, Any

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from transforms.http import HttpResponse

__all__ = ["WarcRecorder", "warc_record_headers"]

_DROPPED_HEADERS = {"content-encoding", "content-length", "transfer-encoding"}


def warc_record_headers(response: HttpResponse) -> StatusAndHeaders:
    """The HTTP status line and headers stored for ``response`` (matching the decoded body)."""
    try:
        reason = http.HTTPStatus(response.status).phrase
    except ValueError:
        reason = ""
    headers = [(k, v) for k, v in response.headers.items() if k not in _DROPPED_HEADERS]
    headers.append(("content-length", str(len(response.content))))
    return StatusAndHeaders(f"{response.status} {reason}".strip(), headers, protocol=response.http_version)


class WarcRecorder:
    """Appends WARC response records to one file at a time; ``commit`` publishes the current file.

    Args:
        directory: where the finished ``.warc.gz`` files go (any Beam filesystem path).
        software: the ``software`` field of the file's warcinfo record.
    """

    def __init__(self, directory: str, *, software: str = "newsingest") -> None:
        self._directory = directory.rstrip("/")
        self._software = software
        self._lock = threading.Lock()
        self._handle: IO[bytes] | None = None
        self._writer: WARCWriter | None = None
        self._name = ""
        self.records = 0

    def _open(self) -> WARCWriter:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        self._name = f"newsingest-{stamp}-{uuid.uuid4().hex[:12]}.warc.gz"
        temp = FileSystems.join(self._directory, "_tmp", self._name)
        # UNCOMPRESSED: warcio gzips each record itself; Beam would otherwise gzip the file again.
        self._handle = FileSystems.create(temp, mime_type="application/warc",
                                          compression_type=CompressionTypes.UNCOMPRESSED)
        writer = WARCWriter(self._handle, gzip=True)
        info: dict[str, Any] = {"software": self._software, "format": "WARC File Format 1.1"}
        writer.write_record(writer.create_warcinfo_record(self._name, info))
        return writer

    def record(self, response: HttpResponse) -> None:
        """Append one response record (thread-safe)."""
        with self._lock:
            if self._writer is None:
                self._writer = self._open()
            date = response.fetched_at.strftime("%Y-%m-%dT%H:%M:%SZ")
            record = self._writer.create_warc_record(
                response.url, "response", payload=io.BytesIO(response.content), length=len(response.content),
                http_headers=warc_record_headers(response), warc_headers_dict={"WARC-Date": date},
            )
            self._writer.write_record(record)
            self.records += 1

    def commit(self) -> str | None:
        """Close the current file and rename it into place; returns its final path, if any."""
        with self._lock:
            if self._handle is None:
                return None
            self._handle.close()
            temp = FileSystems.join(self._directory, "_tmp", self._name)
            final = FileSystems.join(self._directory, self._name)
            FileSystems.rename([temp], [final])
            self._handle, self._writer = None, None
            return final
