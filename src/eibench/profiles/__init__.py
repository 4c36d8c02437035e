"""Generation profiles: per model, the decoding settings, prompt wording and message layout the
release's answer scripts used (`--profile NAME`). A model without one gets eibench's
deterministic defaults. Each profile is a versioned TOML file in this folder; runs record
`NAME@VERSION`."""

from eibench.profiles.registry import (
    PROFILES,
    load_profile,
    profile_names,
    read_profile,
    register_profile,
)
from eibench.profiles.schema import Profile, ProfileParams

__all__ = [
    "PROFILES",
    "Profile",
    "ProfileParams",
    "load_profile",
    "profile_names",
    "read_profile",
    "register_profile",
]
