"""Tests of the UCWA simulator, driven with plain aiohttp over 127.0.0.1."""
