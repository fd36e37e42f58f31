"""Configuration read from the environment, checked once with errors that name the fix."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

ENVIRONMENTS: tuple[str, ...] = ("dev", "stg", "prd")
_DEFAULT_LEVEL = {"dev": "DEBUG", "stg": "INFO", "prd": "INFO"}
LEVELS: tuple[str, ...] = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(ValueError):
    """A missing or malformed setting; the message names the variable and what it should be."""


def _fast_reader() -> Callable[[str], str | None] | None:
    """A reader of ``os.environ`` that skips its per-call key encoding and value decoding, or None
    where the mapping is not the CPython POSIX one this relies on.

    ``os.environ.get`` runs four Python-level steps (encode the key, look it up, decode the value)
    and costs 0.5-2 us; observe reads a few variables on every invocation (the environment, the
    namespace, the runtime's trace header). This reads the bytes mapping behind ``os.environ``
    (``os.environ._data``: what ``os.environ[...] = ...``, ``del`` and ``monkeypatch.setenv`` update
    first), so a change is seen at once, exactly as ``os.environ.get`` sees it; the encoded keys and
    the decoded values are cached (a value is decoded again only when its bytes change).
    """
    environ = os.environ
    data = getattr(environ, "_data", None)
    try:
        encode, decode = environ.encodekey, environ.decodevalue
        probe = encode("PATH")
    except Exception:  # pragma: no cover - another implementation of os.environ
        return None
    if type(data) is not dict or type(probe) is not bytes or os.name != "posix":  # pragma: no cover
        return None
    keys: dict[str, bytes] = {}
    values: dict[bytes, str] = {}

    def read(name: str) -> str | None:
        key = keys.get(name)
        if key is None:
            key = keys[name] = encode(name)
        raw = data.get(key)
        if raw is None:
            return None
        text = values.get(raw)
        if text is None:
            if len(values) >= 256:  # values that change (a trace header per invocation) stay bounded
                values.clear()
            text = values[raw] = decode(raw)
        return text

    return read


#: ``env(name)`` is ``os.environ.get(name)`` for the variables read on every invocation, a few
#: hundred ns cheaper (:func:`_fast_reader`); plain ``os.environ.get`` where that does not apply.
env: Callable[[str], str | None] = _fast_reader() or os.environ.get


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


def require(*names: str, env: Mapping[str, str] | None = None, context: str = "") -> dict[str, str]:
    """The named variables (from ``env``, default the process environment), or one error listing
    every missing one; ``context`` (e.g. ``"ingest pipeline"``) leads the message."""
    env = os.environ if env is None else env
    missing = [n for n in names if not env.get(n)]
    if missing:
        lead = f"{context}: " if context else ""
        raise ConfigError(
            f"{lead}missing required environment variable(s): {', '.join(missing)} "
            "(set them on the function, e.g. in terraform's `environment` block)"
        )
    return {n: env[n] for n in names}


def number(
    env: Mapping[str, str],
    name: str,
    default: float,
    *,
    minimum: float,
    integer: bool = False,
    exclusive: bool = False,
    unit: str = "",
    error: type[ConfigError] = ConfigError,
) -> Any:
    """A numeric setting from ``env``: ``default`` when unset or empty, else checked against ``minimum``.

    The error names the variable, the value and what it must be, e.g.
    ``UPSERT_CONCURRENCY='zero' must be an integer >= 1``.
    """
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    what = ("an integer" if integer else "a number") + (f" of {unit}" if unit else "")
    problem = error(f"{name}={raw!r} must be {what} {'>' if exclusive else '>='} {minimum:g}")
    try:
        value: float = int(raw) if integer else float(raw)
    except ValueError:
        raise problem from None
    if value != value or value < minimum or (exclusive and value == minimum):  # NaN fails too
        raise problem
    return value
