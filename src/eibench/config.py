"""The user's config file: API keys (`[keys]`) and token prices (`[prices]`).

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


def load_config() -> dict[str, Any]:
    """The parsed config file, or {} when there is none."""
    path = config_path()
    try:
        with path.open("rb") as fh:
            data: dict[str, Any] = tomllib.load(fh)
            return data
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise EIBenchError(f"{path}: cannot read the config file ({exc})") from None


def prices() -> dict[str, Any]:
    """The `[prices]` table as `Price` records keyed by model spec."""
    from eibench.runner.cost import price_table

    return dict(price_table(load_config().get("prices", {}), origin=str(config_path())))
