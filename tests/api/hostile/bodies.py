"""Hostile bodies, built cheaply: a gzip bomb streamed from one repeated block, deep JSON, many links."""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import functools
import json
import resource
import struct
import zlib

from aiohttp import web

GIB = 1 << 30
_CHUNK = 1 << 20


@functools.cache
def _bomb_parts(size: int) -> tuple[bytes, bytes, bytes]:
    """Return the first segment, the repeated one and the last (with the true CRC and length).

    After a full flush the compressor's state is reset, so compressing the same 1 MiB of zeros
    again yields the same bytes: the 1 GiB stream is one ~1 KB block sent 1,022 times.
    """
    zeros = bytes(_CHUNK)
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    first = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    last = compressor.compress(zeros) + compressor.flush()
    crc = 0
    for _ in range(size // _CHUNK):
        crc = zlib.crc32(zeros, crc)
    return first, block, last[:-8] + struct.pack("<II", crc, size & 0xFFFFFFFF)


def gzip_bomb(size: int = GIB) -> Iterator[bytes]:
    """Yield a gzip stream that expands to `size` zero bytes (about 1 MB for 1 GiB)."""
    first, block, last = _bomb_parts(size)
    yield first
    for _ in range(size // _CHUNK - 2):
        yield block
    yield last


def bomb_size(size: int = GIB) -> int:
    """Return the compressed size of the bomb, in bytes."""
    first, block, last = _bomb_parts(size)
    return len(first) + len(block) * (size // _CHUNK - 2) + len(last)


async def serve_bomb(request: web.Request) -> web.StreamResponse:
    """Stream the bomb as a gzip-encoded JSON body, chunked (no Content-Length)."""
    response = web.StreamResponse(
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}
    )
    await response.prepare(request)
    with contextlib.suppress(ConnectionError):
        for piece in gzip_bomb():
            await response.write(piece)
        await response.write_eof()
    return response


def deep_json(depth: int = 100_000) -> bytes:
    """Return an object whose `_links` nests `depth` arrays deep."""
    return b'{"_links": ' + b"[" * depth + b"]" * depth + b"}"


def many_links(count: int, prefix: str = "/apps/1/logs/") -> bytes:
    """Return a conversationLogs body listing `count` log links, newest first."""
    links = [{"href": f"{prefix}AAMkADk{index:08d}"} for index in range(count)]
    return json.dumps({"_links": {"conversationLog": links}}).encode()


def peak_rss_mb() -> float:
    """Return the process's peak resident memory so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
