"""Tests of the Home Assistant side of the ucwa integration, against the UCWA simulator."""
