"""The `multipart/batching` format of the batch resource (BatchingRequests.md).

A batch is one POST whose body holds several ordinary HTTP/1.1 requests, one per MIME part; the
answer holds one HTTP/1.1 response per part, in request order. Real servers start each JSON part
body with a UTF-8 byte order mark, which is removed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
import re
from typing import Any
import uuid

from multidict import CIMultiDict
from yarl import URL

from .bounds import loads_json

MAX_BATCH_PARTS = 100
"""The server counts at most 100 outstanding requests per user (BatchingRequests.md)."""

_BOUNDARY_RE = re.compile(r'boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))', re.IGNORECASE)
_BLANK_LINE_RE = re.compile(rb"\r?\n\r?\n")
_STATUS_RE = re.compile(r"^HTTP/\d(?:\.\d)?\s+(\d{3})(?:\s+(.*))?$")


@dataclass(frozen=True, slots=True)
class BatchPart:
    """One response inside a batch answer."""

    status: int
    headers: CIMultiDict[str]
    body: bytes = field(repr=False)  # server text: kept out of logs and tracebacks

    @property
    def content_type(self) -> str:
        """The part's own Content-Type (empty when absent)."""
        return self.headers.get("Content-Type", "")

    def json(self) -> Any:
        """Decode the part body as JSON, without the BOM real servers put in front.

        Within the same size and depth limits as a whole response; raises
        UcwaMalformedResponseError only.
        """
        return loads_json(decode_body(self.body), "a batch part")


def decode_body(body: bytes) -> str:
    """Decode a part body, dropping the UTF-8 BOM.

    The reference renders the BOM as a lone `?` line in front of the JSON; that artifact is
    dropped too so the reference samples parse as a real server's bytes would.
    """
    text = body.decode("utf-8-sig", errors="replace").lstrip("\ufeff").strip()
    if text.startswith("?") and text[1:].lstrip().startswith(("{", "[")):
        text = text[1:].lstrip()
    return text


def build_batch_request(requests: Sequence[URL], boundary: str | None = None) -> tuple[str, bytes]:
    """Build a batch of GET requests; return the Content-Type header and the body."""
    boundary = boundary or str(uuid.uuid4())
    lines: list[str] = []
    for url in requests:
        target = url.raw_path_qs
        lines += [
            f"--{boundary}",
            "Content-Type: application/http; msgtype=request",
            "",
            f"GET {target} HTTP/1.1",
            f"Host: {url.raw_authority}",
            "Accept: application/json",
            "",
            "",
        ]
    lines.append(f"--{boundary}--")
    lines.append("")
    return f"multipart/batching;boundary={boundary}", "\r\n".join(lines).encode()


def _split_head(block: bytes) -> tuple[list[str], bytes]:
    """Split `headers CRLF CRLF body` into header lines and body."""
    match = _BLANK_LINE_RE.search(block)
    if match is None:
        head, body = block, b""
    else:
        head, body = block[: match.start()], block[match.end() :]
    lines = head.decode("utf-8", errors="replace").splitlines()
    return [line for line in lines if line.strip()], body


def _headers(lines: Sequence[str]) -> CIMultiDict[str]:
    headers: CIMultiDict[str] = CIMultiDict()
    for line in lines:
        name, sep, value = line.partition(":")
        if sep:
            headers.add(name.strip(), value.strip())
    return headers


def parse_batch_response(content_type: str, body: bytes) -> list[BatchPart]:
    """Parse a `multipart/batching` answer into its parts, in the order the server sent them.

    Raises ValueError when the answer is not a multipart body this module understands.
    """
    match = _BOUNDARY_RE.search(content_type)
    if match is None:
        raise ValueError("batch response without a multipart boundary")
    delimiter = b"--" + (match.group(1) or match.group(2)).encode()
    parts: list[BatchPart] = []
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        block = chunk.removeprefix(b"\r\n").removeprefix(b"\n")
        block = block.removesuffix(b"\n").removesuffix(b"\r")
        _outer, inner = _split_head(block)
        head_lines, part_body = _split_head(inner)
        if not head_lines or (status := _STATUS_RE.match(head_lines[0].strip())) is None:
            raise ValueError("batch part without an HTTP status line")
        parts.append(
            BatchPart(status=int(status.group(1)), headers=_headers(head_lines[1:]), body=part_body)
        )
    return parts
