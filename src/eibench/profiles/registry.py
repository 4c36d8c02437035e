"""The generation profiles by name: the TOML files shipped beside this module, registered when
it is imported (a directory listing, nothing parsed), and any a plug-in registers. A profile is
read and validated when it is used; a bad file is a one-line error naming the file."""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from eibench.errors import DataError
from eibench.profiles.schema import Profile
from eibench.registry import Registry
from eibench.validation import describe

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

PROFILES: Registry[Path] = Registry("generation profile")


def register_profile(name: str, path: Path, *, replace: bool = False) -> Path:
    """Make `--profile name` read the profile file at `path`."""
    return PROFILES.register(name, path, replace=replace)


def profile_names() -> tuple[str, ...]:
    """The registered profiles, in registration order (the bundled ones alphabetically)."""
    return PROFILES.names()


def read_profile(path: Path, name: str | None = None) -> Profile:
    """The profile in the TOML file at `path`, whose `name` must be `name` when given."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(path, "no such profile file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(path, f"cannot read the profile ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise DataError(path, f"not valid TOML ({' '.join(str(exc).split())})") from None
    try:
        profile = Profile.model_validate(raw)
    except ValidationError as exc:
        raise DataError(path, describe(exc, Profile)) from None
    if name is not None and profile.name != name:
        raise DataError(path, f"the profile is named {profile.name!r}, registered as {name!r}")
    return profile


def load_profile(name: str) -> Profile:
    """The registered profile `name`; an unknown name is a one-line error listing the known."""
    return read_profile(PROFILES.get(name), name)


def _register_bundled() -> None:
    folder = Path(str(resources.files("eibench").joinpath("profiles")))
    for path in sorted(folder.glob("*.toml")):
        register_profile(path.stem, path)


_register_bundled()
