"""No import circle in the product or the simulator, whichever way an import is written.

scripts/sizes.py is the check (`--check` also limits sizes); these tests run its circle finder in
the suite, on the repository and on small trees that hide a circle the ways that once slipped
through: under `if TYPE_CHECKING:` (simulator/control.py <-> server.py, peripheral.py <->
representations.py, issue 16 item 15) and inside a function.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

REPOSITORY = Path(__file__).resolve().parent.parent


def _sizes() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sizes", REPOSITORY / "scripts" / "sizes.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sizes = _sizes()


def test_the_repository_has_no_import_circle() -> None:
    assert sizes.import_circles(REPOSITORY) == []


def _tree(base: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = base / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return base


@pytest.mark.parametrize(
    ("files", "circle"),
    [
        pytest.param(
            {
                "__init__.py": "",
                "server.py": "from pkg.control import routes\n",
                "control.py": (
                    "from typing import TYPE_CHECKING\n"
                    "if TYPE_CHECKING:\n"
                    "    from pkg.server import Server\n"
                ),
            },
            ["pkg.control", "pkg.server"],
            id="type-checking",
        ),
        pytest.param(
            {
                "__init__.py": "",
                "a.py": "def later():\n    from . import b\n    return b\n",
                "b.py": "import pkg.c as c\n",
                "c.py": "from .a import later\n",
            },
            ["pkg.a", "pkg.b", "pkg.c"],
            id="function-relative-aliased",
        ),
    ],
)
def test_a_hidden_circle_is_found(tmp_path: Path, files: dict[str, str], circle: list[str]) -> None:
    assert sizes.import_circles(_tree(tmp_path, files), ("pkg",)) == [circle]


def test_one_way_imports_are_no_circle(tmp_path: Path) -> None:
    """A module importing a lower one, in every way, is fine (and a module itself is no circle)."""
    files = {
        "__init__.py": "",
        "low.py": "import pkg.low\n",
        "high.py": (
            "from typing import TYPE_CHECKING\nfrom pkg.low import x\n"
            "if TYPE_CHECKING:\n    from pkg import low\n"
        ),
    }
    assert sizes.import_circles(_tree(tmp_path, files), ("pkg",)) == []
