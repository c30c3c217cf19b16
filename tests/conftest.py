"""Fixtures shared by every test.

`custom_components` is imported first on purpose: the test plugin puts its own `custom_components`
package on sys.path, and Home Assistant must find ours instead.
"""

from __future__ import annotations

import custom_components  # noqa: F401  # isort: skip
