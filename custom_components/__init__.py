"""Home Assistant custom integrations of this repository; the package lets tests import ours."""
