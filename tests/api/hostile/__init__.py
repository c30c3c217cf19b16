"""Hostile and broken servers (issue 9): small aiohttp pools on 127.0.0.1 that misbehave on purpose."""
