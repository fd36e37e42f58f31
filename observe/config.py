"""Configuration read from the environment, checked once with errors that name the fix."""

from __future__ import annotations

import os

ENVIRONMENTS: tuple[str, ...] = ("dev", "stg", "prd")
_DEFAULT_LEVEL = {"dev": "DEBUG", "stg": "INFO", "prd": "INFO"}
LEVELS: tuple[str, ...] = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(ValueError):
    """A missing or malformed setting; the message names the variable and what it should be."""


def environment() -> str:
    """``ENVIRONMENT`` (dev / stg / prd); ``dev`` when unset."""
    env = os.environ.get("ENVIRONMENT", "dev") or "dev"
    if env not in ENVIRONMENTS:
        raise ConfigError(f"ENVIRONMENT={env!r} is not one of {', '.join(ENVIRONMENTS)}")
    return env


def log_level() -> str:
    """``LOG_LEVEL`` if set, else DEBUG in dev and INFO in stg and prd."""
    level = os.environ.get("LOG_LEVEL", "").upper()
    if not level:
        return _DEFAULT_LEVEL[environment()]
    if level == "WARN":
        level = "WARNING"
    if level not in LEVELS:
        raise ConfigError(f"LOG_LEVEL={level!r} is not one of {', '.join(LEVELS)}")
    return level


def require(*names: str) -> dict[str, str]:
    """The named environment variables, or one error listing every missing one."""
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        raise ConfigError(
            f"missing required environment variable(s): {', '.join(missing)} "
            "(set them on the function, e.g. in terraform's `environment` block)"
        )
    return {n: os.environ[n] for n in names}
