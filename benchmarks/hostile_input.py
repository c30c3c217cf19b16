"""What hostile input costs the UCWA client: memory, batch POSTs and requests off the pool (issue 9).

Run from the repository root: `python benchmarks/hostile_input.py`. Each case runs in its own
process (peak memory is a process-wide figure) against a scripted pool on 127.0.0.1 and prints:

- gzip bomb: a ~1 MB gzip discovery root that expands to 1 GiB. Limit: peak memory growth under
  400 MB, and the client refuses it (UcwaMalformedResponseError) before any credential is sent.
- 100,000 links: a conversationLogs list of 100,000 links read with limit=50. Limits: one batch
  POST (of at most 50 parts) and peak memory growth under 400 MB.
- foreign links: makeMeAvailable on another host, then the log list on the metadata address. Limit: zero requests off the signed-in origins.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
import subprocess
import sys
import time
from typing import Any

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from custom_components.ucwa.api import UcwaClient, UcwaConfig, UcwaError
from tests.api.hostile.bodies import bomb_size, many_links, peak_rss_mb, serve_bomb
from tests.api.hostile.pool import (
    PASSWORD,
    SIGN_IN,
    HostilePool,
    guarded_session,
)

MB = 1024 * 1024


async def _run(case: str) -> dict[str, Any]:
    pool = HostilePool()
    await pool.start()
    result: dict[str, Any] = {"case": case}
    try:
        async with guarded_session() as (session, guard):
            if case == "bomb":
                pool.routes["GET", "/root"] = serve_bomb
                result["compressed_mb"] = round(bomb_size() / MB, 2)
            elif case == "links":
                listed = many_links(100_000)

                async def logs(_request: web.Request) -> web.StreamResponse:
                    return web.Response(body=listed, content_type="application/json")

                pool.routes["GET", "/apps/1/logs"] = logs
            else:
                foreign = f"http://evil.example.org:{pool.port}"
                pool.application["_embedded"]["me"]["_links"]["makeMeAvailable"] = {
                    "href": f"{foreign}/mma"
                }
            config = UcwaConfig(
                sign_in_address=SIGN_IN, password=PASSWORD, discovery_url=pool.url()
            )
            client = UcwaClient(config, session=session, request_timeout=30.0)
            before = peak_rss_mb()
            started = time.perf_counter()
            try:
                if case == "bomb":
                    await client.sign_in()
                elif case == "links":
                    result["logs"] = len(await client.get_conversation_logs(limit=50))
                else:
                    result["refused"] = await _foreign(client, pool)
            except UcwaError as err:
                result["error"] = type(err).__name__
            result["seconds"] = round(time.perf_counter() - started, 2)
            result["peak_growth_mb"] = round(peak_rss_mb() - before, 1)
            result["batch_posts"] = pool.count("POST", "/apps/1/batch")
            batch = [seen.body for seen in pool.seen if seen.path == "/apps/1/batch"]
            result["batch_parts"] = [body.count(b"GET ") for body in batch]
            result["password_posts"] = pool.count("POST", "/token")
            origin = f"http://lyncdiscover.contoso.com:{pool.port}"
            result["requests_off_origin"] = len(guard.off(origin))
            await client.close()
    finally:
        await pool.stop()
    return result


async def _foreign(client: UcwaClient, pool: HostilePool) -> list[str]:
    """Follow each foreign link in turn; return what each attempt raised (refused, not sent)."""
    errors = []
    for attempt in ("start", "logs"):
        if attempt == "logs":
            communication = pool.application["_embedded"]["communication"]["_links"]
            communication["conversationLogs"] = {"href": "http://169.254.169.254/latest"}
            pool.application["_embedded"]["me"]["_links"].clear()
        try:
            if attempt == "start":
                await client.start()
            else:
                await client.get_conversation_logs(limit=5)
        except UcwaError as err:
            errors.append(type(err).__name__)
    return errors


def main() -> None:
    """Run each case in a fresh process and print its figures."""
    if len(sys.argv) == 3 and sys.argv[1] == "--case":
        print(json.dumps(asyncio.run(_run(sys.argv[2]))))
        return
    print(f"{'case':<14} {'figure':<58} limit")
    for case in ("bomb", "links", "foreign"):
        out = subprocess.run(  # noqa: S603  # this very script, a fixed case name
            [sys.executable, __file__, "--case", case],
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        if case == "bomb":
            figure = (
                f"{result['compressed_mb']} MB gzip -> 1 GiB: {result.get('error')}, peak +"
                f"{result['peak_growth_mb']} MB, {result['password_posts']} password POSTs"
            )
            limit = "< 400 MB, 0 password POSTs"
        elif case == "links":
            figure = (
                f"100,000 links, limit=50: {result['batch_posts']} batch POST "
                f"{result['batch_parts']} parts, {result['logs']} logs, peak +"
                f"{result['peak_growth_mb']} MB, {result['seconds']} s"
            )
            limit = "1 POST of <= 50, < 400 MB"
        else:
            figure = (
                f"makeMeAvailable, log list elsewhere: {result['refused']}, "
                f"{result['requests_off_origin']} requests off the signed-in origin"
            )
            limit = "0"
        print(f"{case:<14} {figure:<58} {limit}")


if __name__ == "__main__":
    main()
