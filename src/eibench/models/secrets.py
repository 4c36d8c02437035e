"""API keys: where they come from, and keeping them out of messages.

A key is read from the provider's standard environment variable, else from the `[keys]` table
of the eibench config file (`$EIBENCH_CONFIG`, or `config.toml` in the user config folder):

    [keys]
    openai = "sk-..."
    anthropic = "sk-ant-..."

Backends pass every error message through `redact`, so a key never reaches the store, the
logs or an exception.
"""

from __future__ import annotations

import contextlib
import os

from eibench.config import config_path, load_config
from eibench.errors import EIBenchError

ENV_VARS: dict[str, str] = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
}
# Other variables that hold credentials: never used to call a model, but redacted all the same.
_OTHER_SECRET_VARS = ("OPENAI_ADMIN_KEY", "ANTHROPIC_AUTH_TOKEN")
# Shorter values are no real secret, and replacing them would garble messages.
_MIN_SECRET_LEN = 4
MASK = "***"


def config_keys() -> dict[str, str]:
    """The `[keys]` table of the config file; empty when there is no file.

    Raises `EIBenchError` naming the file when it cannot be read or is malformed."""
    keys = load_config().get("keys", {})
    path = config_path()
    if not isinstance(keys, dict):
        raise EIBenchError(f"{path}: 'keys' must be a table, e.g. [keys] openai = \"sk-...\"")
    out: dict[str, str] = {}
    for provider, value in keys.items():
        if not isinstance(value, str):
            raise EIBenchError(f"{path}: keys.{provider} must be a string")
        if value.strip():
            out[provider] = value.strip()
    return out


def api_key(provider: str) -> str | None:
    """The API key for `provider` ("openai", "anthropic"): its environment variable, else the
    config file; None when neither has one."""
    var = ENV_VARS.get(provider)
    if var:
        value = os.environ.get(var, "").strip()
        if value:
            return value
    return config_keys().get(provider)


def known_secrets() -> list[str]:
    """Every key value this process could use, longest first. Never raises: a malformed config
    file is reported where keys are read, not while hiding them."""
    values: set[str] = set()
    for var in (*ENV_VARS.values(), *_OTHER_SECRET_VARS):
        value = os.environ.get(var, "").strip()
        if value:
            values.add(value)
    with contextlib.suppress(EIBenchError):
        values.update(config_keys().values())
    return sorted((v for v in values if len(v) >= _MIN_SECRET_LEN), key=len, reverse=True)


def redact(text: str) -> str:
    """`text` with every known key value replaced by `***`."""
    for secret in known_secrets():
        if secret in text:
            text = text.replace(secret, MASK)
    return text
