"""The batch resource: its multipart/batching envelope (BatchingRequests.md, batch_ref.md) and its handler.

Each part runs through the ordinary dispatch, so it is recorded, counted and faulted like a
request on its own connection.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import parse_qsl, urlsplit
import uuid

from multidict import CIMultiDict

from simulator.config import SimulatorConfig
from simulator.state import Application
from simulator.wire import BOM, Call, Reply, UcwaReplyError


class BatchFormatError(ValueError):
    """The batch body is not the multipart/batching the reference describes."""


@dataclass(slots=True)
class BatchPart:
    """One `application/http; msgtype=request` part."""

    method: str
    target: str
    headers: CIMultiDict[str]
    body: bytes


def boundary_of(content_type: str) -> str:
    """Return the boundary parameter of a multipart/batching Content-Type, quoted or not."""
    kind, _, params = content_type.partition(";")
    if kind.strip().lower() != "multipart/batching":
        raise BatchFormatError("the batch Content-Type must be multipart/batching")
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "boundary" and value.strip().strip('"'):
            return value.strip().strip('"')
    raise BatchFormatError("multipart/batching needs a boundary")


def _split_headers(block: str) -> CIMultiDict[str]:
    headers: CIMultiDict[str] = CIMultiDict()
    for line in block.split("\n"):
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise BatchFormatError(f"not a header line: {line!r}")
        headers.add(name.strip(), value.strip())
    return headers


def parse_batch(body: bytes, boundary: str) -> list[BatchPart]:
    """Split the body into its requests, in order; line ends may be CRLF or LF."""
    text = body.decode("utf-8-sig").replace("\r\n", "\n")
    delimiter = f"--{boundary}"
    chunks = text.split(delimiter)
    parts: list[BatchPart] = []
    for chunk in chunks[1:]:
        if chunk.startswith("--"):
            break
        mime_block, sep, message = chunk.removeprefix("\n").partition("\n\n")
        if not sep:
            raise BatchFormatError("a batch part needs MIME headers and a message")
        mime = _split_headers(mime_block)
        part_type = mime.get("Content-Type", "").replace(" ", "").lower()
        if not part_type.startswith("application/http") or "msgtype=request" not in part_type:
            raise BatchFormatError("each part must be application/http; msgtype=request")
        head, _, payload = message.partition("\n\n")
        request_line, _, header_block = head.partition("\n")
        words = request_line.split()
        if len(words) < 2:
            raise BatchFormatError(f"not a request line: {request_line!r}")
        payload = payload.removesuffix("\n")
        parts.append(
            BatchPart(words[0].upper(), words[1], _split_headers(header_block), payload.encode())
        )
    return parts


def format_batch(replies: list[Reply]) -> tuple[bytes, str]:
    """Return the multipart/batching response body and its Content-Type, one part per reply in order.

    JSON bodies start with a UTF-8 byte order mark, as the reference's samples show.
    """
    boundary = str(uuid.uuid4())
    out: list[bytes] = []
    for reply in replies:
        reason = HTTPStatus(reply.status).phrase if reply.status in HTTPStatus else ""
        lines = [
            f"--{boundary}",
            "Content-Type: application/http; msgtype=response",
            "",
            f"HTTP/1.1 {reply.status} {reason}",
            "Cache-Control: no-cache",
        ]
        if reply.content_type is not None:
            lines.append(f"Content-Type: {reply.content_type}")
        lines.extend(f"{name}: {value}" for name, value in reply.headers)
        head = ("\r\n".join(lines) + "\r\n\r\n").encode()
        payload = reply.body
        if payload and reply.content_type and "json" in reply.content_type:
            payload = BOM.encode() + payload
        out.append(head + payload + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), f'multipart/batching; boundary="{boundary}"'


class BatchHandlers:
    """The batch handler; `dispatch` is the one every request goes through."""

    def __init__(
        self, config: SimulatorConfig, dispatch: Callable[[Call], Awaitable[Reply]]
    ) -> None:
        """Parts go back to `dispatch`, which is how they are recorded and faulted."""
        self.config = config
        self.dispatch = dispatch

    async def post_batch(self, call: Call, app: Application | None, _: dict[str, str]) -> Reply:
        """Run each part through the ordinary dispatch; answer the parts in request order."""
        assert app is not None
        try:
            boundary = boundary_of(call.headers.get("Content-Type", ""))
        except BatchFormatError as err:
            raise UcwaReplyError(415, "UnsupportedMediaType", message=str(err)) from None
        try:
            parts = parse_batch(call.body, boundary)
        except (BatchFormatError, UnicodeDecodeError) as err:
            raise UcwaReplyError(400, "BadRequest", "DeserializationFailure", str(err)) from None
        if len(parts) > self.config.batch_limit:
            raise UcwaReplyError(429, "TooManyRequests")
        replies = [await self.dispatch(_inner_call(call, part)) for part in parts]
        body, content_type = format_batch(replies)
        return Reply(200, body, content_type)


def _inner_call(call: Call, part: BatchPart) -> Call:
    """Return a part as a call of its own; it inherits the batch's Authorization unless it has one."""
    target = urlsplit(part.target)
    headers = CIMultiDict(part.headers)
    if "Authorization" not in headers and "Authorization" in call.headers:
        headers["Authorization"] = call.headers["Authorization"]
    return Call(
        method=part.method,
        path=target.path,
        query=dict(parse_qsl(target.query, keep_blank_values=True)),
        headers=headers,
        body=part.body,
        origin=call.origin,
        in_batch=True,
    )
