"""The user's config file: API keys (`[keys]`) and token prices (`[prices]`, which
`eibench.runner.cost.prices` reads).

`$EIBENCH_CONFIG`, else `<user config dir>/eibench/config.toml`, e.g.::

    [keys]
    openai = "sk-..."
    anthropic = "sk-ant-..."

    [prices."openai:gpt-4o"]   # US dollars per million tokens
    input = 2.5
    output = 10.0
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import platformdirs

from eibench.errors import EIBenchError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

CONFIG_ENV = "EIBENCH_CONFIG"


def config_path() -> Path:
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_config_dir("eibench")) / "config.toml"


def read_toml(path: Path, what: str = "file") -> dict[str, Any]:
    """The parsed TOML file at `path`; an unreadable or invalid one is one clear error."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise EIBenchError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None
    try:
        data: dict[str, Any] = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise EIBenchError(f"{path}: the {what} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise EIBenchError(f"{path}: not valid TOML: {' '.join(str(exc).split())}") from None
    except RecursionError:
        raise EIBenchError(f"{path}: not valid TOML: the {what} is nested too deeply") from None
    return data


def load_config() -> dict[str, Any]:
    """The parsed config file, or {} when there is none; a bad file is one clear error."""
    try:
        return read_toml(config_path(), "config file")
    except FileNotFoundError:
        return {}
