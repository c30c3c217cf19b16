"""Prepare a configuration folder for the development stack, for the Home Assistant installed.

`scripts/develop` runs it before each start, and the end-to-end tests for their temporary copy,
with the Python of the stack that then runs Home Assistant:

    python scripts/dev_config.py CONFIG_DIR --port PORT

What it puts in CONFIG_DIR, besides the committed configuration.yaml and dashboard:

- `custom_components/ucwa`, a link to this repository's integration;
- `blueprints/automation/ucwa/`, a copy of the blueprints, where Home Assistant lists them
  without a download (and Home Assistant's own examples beside them, which it would copy itself
  only into a blueprints folder that does not exist yet);
- `automations.yaml`, which configuration.yaml includes and the automation editor writes;
- the web server on 127.0.0.1:PORT, the way the release reads it. Releases that read `http:`
  from YAML (2025.4) get it in `packages/ucwa_dev_http.yaml` (configuration.yaml includes the
  packages folder). Releases that keep it in `.storage/http` (2026.10) would take `http:` YAML
  for a trial that reverts after 5 minutes unless confirmed in the UI (and warn that the YAML
  is deprecated), so they get the store instead, as a confirmed configuration with the YAML
  migration done, and no package file.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
import importlib
import importlib.util
import json
import os
from pathlib import Path
import shutil
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
HTTP_PACKAGE = Path("packages") / "ucwa_dev_http.yaml"


def link_integration(config: Path) -> None:
    """Let Home Assistant load the repository's integration as a custom integration."""
    link, target = config / "custom_components" / "ucwa", REPO / "custom_components" / "ucwa"
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink():
        if link.resolve() == target:
            return
        link.unlink()
    elif link.exists():
        raise SystemExit(f"scripts/dev_config.py: {link} is not a link to {target}; move it away")
    link.symlink_to(target)


def install_blueprints(config: Path) -> None:
    """Copy the repository's blueprints where the automation editor lists them."""
    folder = config / "blueprints" / "automation"
    spec = importlib.util.find_spec("homeassistant.components.automation")
    if not folder.exists() and spec is not None and spec.submodule_search_locations:
        # What Home Assistant copies on its first start, unless the folder already exists.
        examples = Path(next(iter(spec.submodule_search_locations))) / "blueprints"
        if examples.is_dir():
            shutil.copytree(examples, folder / "homeassistant")
    ours = folder / "ucwa"
    ours.mkdir(parents=True, exist_ok=True)
    for blueprint in sorted((REPO / "blueprints" / "automation" / "ucwa").glob("*.yaml")):
        shutil.copyfile(blueprint, ours / blueprint.name)


def ensure_automations(config: Path) -> None:
    """Create the (empty) file that `automation: !include automations.yaml` needs."""
    automations = config / "automations.yaml"
    if not automations.exists():
        automations.write_text("[]\n", encoding="utf-8")


def http_store_module() -> ModuleType | None:
    """Return the release's HTTP settings store (2026.10's `http.config`), None before it."""
    if importlib.util.find_spec("homeassistant.components.http.config") is None:
        return None
    module = importlib.import_module("homeassistant.components.http.config")
    return module if hasattr(module, "KEY_YAML_MIGRATION_DONE") else None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def seed_http_store(config: Path, port: int, store: ModuleType) -> None:
    """Write `.storage/http` with 127.0.0.1:PORT confirmed, keeping any other stored setting."""
    path = config / ".storage" / store.STORAGE_KEY
    wanted = {"server_host": [HOST], "server_port": port}
    current = _read_json(path)
    stable: dict[str, Any] = {}
    if isinstance(current, dict) and current.get("version") == store.STORAGE_VERSION:
        stable = dict(current["data"][store.KEY_STABLE])
        data = current["data"]
        if (
            all(stable.get(key) == value for key, value in wanted.items())
            and data[store.KEY_PENDING] is None
            and data[store.KEY_YAML_MIGRATION_DONE]
        ):
            return
    meta = (store.HTTP_CONFIG_CREATED_AT, store.HTTP_CONFIG_ERROR, store.HTTP_CONFIG_ERROR_MESSAGE)
    settings = {key: value for key, value in stable.items() if key not in meta}
    stable = {
        **dict(store.HTTP_STORAGE_SCHEMA({**settings, **wanted})),
        store.HTTP_CONFIG_CREATED_AT: datetime.now(UTC).isoformat(),
        store.HTTP_CONFIG_ERROR: None,
        store.HTTP_CONFIG_ERROR_MESSAGE: None,
    }
    body = {
        "version": store.STORAGE_VERSION,
        "minor_version": store.STORAGE_MINOR_VERSION,
        "key": store.STORAGE_KEY,
        "data": {
            store.KEY_STABLE: stable,
            store.KEY_PENDING: None,
            store.KEY_YAML_MIGRATION_DONE: True,
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    path.chmod(0o600)  # Home Assistant keeps this store private


def configure_http(config: Path, port: int) -> str:
    """Put the web server on 127.0.0.1:PORT the way this release reads it; say which way."""
    package = config / HTTP_PACKAGE
    if (store := http_store_module()) is not None:
        package.unlink(missing_ok=True)
        seed_http_store(config, port, store)
        return f".storage/{store.STORAGE_KEY}"
    # This release reads YAML and saves its own .storage/http (version 1, for recovery mode);
    # one written by a newer release would stop recovery mode from reading it.
    stored = _read_json(config / ".storage" / "http")
    if isinstance(stored, dict) and stored.get("version", 1) > 1:
        (config / ".storage" / "http").unlink()
    package.parent.mkdir(parents=True, exist_ok=True)
    package.write_text(
        "# Written by scripts/dev_config.py at each start of scripts/develop: the web server's\n"
        "# address, for Home Assistant releases that read it from YAML.\n"
        f"http:\n  server_host: {HOST}\n  server_port: {port}\n",
        encoding="utf-8",
    )
    return str(HTTP_PACKAGE)


def prepare(config: Path, port: int) -> str:
    """Prepare CONFIG_DIR as described above; return where the web server's address went."""
    config.mkdir(parents=True, exist_ok=True)
    link_integration(config)
    install_blueprints(config)
    ensure_automations(config)
    return configure_http(config, port)


def main() -> None:
    """Parse the command line and prepare the folder."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("--port", type=int, default=int(os.environ.get("UCWA_HA_PORT", "8123")))
    args = parser.parse_args()
    where = prepare(args.config.resolve(), args.port)
    print(f"scripts/dev_config.py: Home Assistant on http://{HOST}:{args.port} ({where})")


if __name__ == "__main__":
    main()
