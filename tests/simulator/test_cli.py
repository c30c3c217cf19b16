"""`python -m simulator`, as scripts/develop and the end-to-end test run it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
import re
import signal
import sys

import aiohttp
import pytest

REPO = Path(__file__).resolve().parents[2]


async def _run(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulator", *args,
        cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def test_serves_the_demo_account_until_terminated(
    socket_enabled: None, tmp_path: Path
) -> None:
    """It prints where it listens and what to sign in with, serves, and stops cleanly on SIGTERM."""
    seed = {
        "user": {
            "sign_in_address": "carol@fabrikam.com",
            "password": "Seed-pass-1",
            "phone_number": "+442071234567",
        },
        "logs": [{"minutes_ago": 3, "direction": "Incoming", "status": "Missed"}],
    }
    seed_file = tmp_path / "seed.json"
    seed_file.write_text(json.dumps(seed))
    proc = await _run("--host", "127.0.0.1", "--port", "0", "--seed", str(seed_file))
    try:
        assert proc.stdout is not None
        async with asyncio.timeout(30):
            first = (await proc.stdout.readline()).decode()
            rest = [(await proc.stdout.readline()).decode() for _ in range(5)]
        match = re.fullmatch(r"UCWA simulator on (http://127\.0\.0\.1:\d+)\n", first)
        assert match, first
        base = match.group(1)
        printed = "".join(rest)
        assert "carol@fabrikam.com" in printed
        assert "Seed-pass-1" in printed
        assert f"{base}/autodiscover/autodiscoverservice.svc/root" in printed
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{base}/_sim/state") as resp,
        ):
            state = await resp.json()
        assert state["user"]["sign_in_address"] == "carol@fabrikam.com"
        assert [log["status"] for log in state["logs"]] == ["Missed"]
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
    async with asyncio.timeout(30):
        assert await proc.wait() == 0


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com"])  # noqa: S104
async def test_refuses_to_listen_beyond_loopback(host: str) -> None:
    """Binding anything but loopback is refused before a socket is opened."""
    proc = await _run("--host", host, "--port", "0")
    async with asyncio.timeout(30):
        _, stderr = await proc.communicate()
    assert proc.returncode == 2
    assert f"refusing to listen on {host}" in stderr.decode()


async def test_profile_option(socket_enabled: None) -> None:
    """`--profile` picks a named shape; the control API shows it; an unknown name is refused."""
    proc = await _run("--port", "0", "--profile", "no_history")
    try:
        assert proc.stdout is not None
        async with asyncio.timeout(30):
            lines = [(await proc.stdout.readline()).decode() for _ in range(7)]
        base = lines[0].removeprefix("UCWA simulator on ").strip()
        assert "  profile:         no_history\n" in lines
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{base}/_sim/config") as resp,
        ):
            knobs = await resp.json()
        assert (knobs["profile"], knobs["conversation_history"]) == ("trace", "absent")
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
    async with asyncio.timeout(30):
        assert await proc.wait() == 0
    refused = await _run("--port", "0", "--profile", "strict")
    async with asyncio.timeout(30):
        _, stderr = await refused.communicate()
    assert refused.returncode == 2
    assert "invalid choice: 'strict'" in stderr.decode()
