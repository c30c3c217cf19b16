"""Tests of the UCWA client package (custom_components/ucwa/api)."""
