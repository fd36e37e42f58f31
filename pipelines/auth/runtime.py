"""What a warm container keeps between invocations: config, keys, HTTP client, provider caches.

None of it is per-user state: the login context lives in the browser's sealed cookie. Built on
first use (the cold start), so a bad setting fails the first invocation with a message that
names it. Tests and the local server call :func:`reset_runtime` to start from cold.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import httpx

from pipelines.auth.config import AuthConfig, load_config
from pipelines.auth.keys import ClientKeys, load_keys
from pipelines.auth.provider import Provider
from pipelines.auth.replay import DynamoReplayGuard, NoReplayGuard, ReplayGuard

#: SSM values are re-read (through Powertools' cache) at most this often, to pick up rotations
KEYS_MAX_AGE_S = 300


@dataclass
class Runtime:
    """Per-container singletons of the chain."""

    config: AuthConfig
    http: httpx.Client
    provider: Provider
    replay: ReplayGuard
    _keys: ClientKeys | None = field(default=None, repr=False)
    _keys_at: float = 0.0
    #: keys given directly (tests, tools): never reloaded from SSM
    pinned_keys: ClientKeys | None = field(default=None, repr=False)

    def keys(self) -> ClientKeys:
        """The client's keys, loaded once per cold start and refreshed every few minutes."""
        if self.pinned_keys is not None:
            return self.pinned_keys
        now = time.monotonic()
        if self._keys is None or now - self._keys_at >= KEYS_MAX_AGE_S:
            cfg = self.config
            self._keys = load_keys(
                cfg.signing_key_param,
                cfg.encryption_key_param,
                cfg.cookie_key_param,
                max_age_s=KEYS_MAX_AGE_S,
            )
            self._keys_at = now
        return self._keys


_lock = threading.Lock()
_runtime: Runtime | None = None


def build_runtime(config: AuthConfig | None = None, *, keys: ClientKeys | None = None) -> Runtime:
    """A fresh runtime from ``config`` (default: the environment); ``keys`` pins the key material."""
    cfg = config or load_config()
    http = httpx.Client(
        timeout=httpx.Timeout(cfg.http_timeout_s, connect=min(3.0, cfg.http_timeout_s)),
        follow_redirects=False,
        headers={"User-Agent": "pipelines-auth/1"},
    )
    provider = Provider(cfg.issuer, http, fapi=cfg.fapi, ttl_s=cfg.jwks_cache_s)
    replay: ReplayGuard = DynamoReplayGuard(cfg.replay_table) if cfg.replay_table else NoReplayGuard()
    return Runtime(config=cfg, http=http, provider=provider, replay=replay, pinned_keys=keys)


def get_runtime() -> Runtime:
    """The container's runtime, built on first use."""
    global _runtime
    if _runtime is None:
        with _lock:
            if _runtime is None:
                _runtime = build_runtime()
    return _runtime


def reset_runtime() -> None:
    """Forget everything cached (config, keys, discovery, JWKS, SSM values): back to cold."""
    global _runtime
    with _lock:
        if _runtime is not None:
            _runtime.http.close()
        _runtime = None
    try:
        from aws_lambda_powertools.utilities import parameters

        parameters.clear_caches()
    except ImportError:  # pragma: no cover - powertools is part of the auth extra
        pass
