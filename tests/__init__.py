"""Tests for the ucwa integration, its UCWA client and the UCWA simulator."""
