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
import json
import os
import re

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
# A credential header's value, however a library quotes it in a message: `Bearer sk-...`,
# `'x-api-key': 'sk-...'`, `authorization=...`. Never echoed, known key or not.
_HEADER_VALUE = re.compile(
    r"(?i)(\bbearer\s+"
    r"|\b(?:x-api-key|api[-_]key|authorization)['\"]?\s*[:=,]\s*(?:b?['\"])?(?:bearer\s+)?)"
    r"[^\s'\",;}]+"
)


def _check_key(value: str, source: str) -> str:
    """`value` stripped; a key with a control character (a pasted newline) is refused here,
    since HTTP libraries would echo it, escaped, in their errors."""
    value = value.strip()
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise EIBenchError(
            f"{source}: the API key contains a control character (a line break?); "
            "set it again without one"
        )
    return value


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
        value = _check_key(value, f"{path}: keys.{provider}")
        if value:
            out[provider] = value
    return out


def api_key(provider: str) -> str | None:
    """The API key for `provider` ("openai", "anthropic"): its environment variable, else the
    config file; None when neither has one."""
    var = ENV_VARS.get(provider)
    if var:
        value = _check_key(os.environ.get(var, ""), f"${var}")
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
    """`text` with every known key value (as it is, or escaped the way Python and JSON write
    it) and every credential header value replaced by `***`. Redact before cutting a message:
    a cut key is no longer found."""
    for secret in known_secrets():
        for form in dict.fromkeys((secret, repr(secret)[1:-1], json.dumps(secret)[1:-1])):
            if form in text:
                text = text.replace(form, MASK)
    return _HEADER_VALUE.sub(lambda m: m.group(1) + MASK, text)
