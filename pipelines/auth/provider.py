"""The identity provider as seen from a warm Lambda: discovery and JWKS, cached.

The discovery document and the JWKS are cached for ``ttl_s`` (at least an hour). A token whose
``kid`` is not in the cached JWKS triggers one re-fetch (the provider may have rotated); if the
kid is still unknown we fail closed. Forced re-fetches are rate-limited so a stream of forged
kids cannot turn us into a load generator against the provider.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
from joserfc.jwk import Key, KeySet

from pipelines.auth.errors import AuthFailure, Reason

_REQUIRED_ENDPOINTS = ("authorization_endpoint", "token_endpoint", "jwks_uri")


class Provider:
    """Discovery + JWKS of one issuer, shared by the invocations of a warm container."""

    def __init__(
        self,
        issuer: str,
        http: httpx.Client,
        *,
        fapi: bool,
        ttl_s: float = 3600.0,
        refetch_cooldown_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self.http = http
        self.fapi = fapi
        self.ttl_s = ttl_s
        self.refetch_cooldown_s = refetch_cooldown_s
        self._clock = clock
        self._lock = threading.RLock()
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: dict[str, Key] = {}
        self._keys_at: float | None = None
        self._last_forced: float | None = None
        #: how many times each document was fetched (observable in tests and the demo)
        self.fetches = {"discovery": 0, "jwks": 0}

    # --- discovery -----------------------------------------------------------------------------

    def metadata(self) -> dict[str, Any]:
        """The discovery document, fetched at most once per ``ttl_s``; checked on fetch."""
        with self._lock:
            now = self._clock()
            if self._metadata is None or now - self._metadata_at >= self.ttl_s:
                self._metadata = self._fetch_metadata()
                self._metadata_at = now
            return self._metadata

    def endpoint(self, name: str) -> str:
        """A URL from discovery (``token_endpoint`` ...); missing -> DISCOVERY_INVALID."""
        value = self.metadata().get(name)
        if not isinstance(value, str) or not value.startswith(("https://", "http://")):
            raise AuthFailure(Reason.DISCOVERY_INVALID, f"discovery has no usable {name}")
        return value

    def _fetch_metadata(self) -> dict[str, Any]:
        url = f"{self.issuer}/.well-known/openid-configuration"
        doc = self._get_json(url, "discovery")
        self.fetches["discovery"] += 1
        if doc.get("issuer") != self.issuer:  # OIDC Discovery 4.3: must match exactly
            raise AuthFailure(Reason.DISCOVERY_INVALID, "discovery issuer differs from SINGPASS_ISSUER")
        needed = [*_REQUIRED_ENDPOINTS, *(("pushed_authorization_request_endpoint",) if self.fapi else ())]
        absent = [n for n in needed if not isinstance(doc.get(n), str)]
        if absent:
            raise AuthFailure(Reason.DISCOVERY_INVALID, f"discovery lacks {absent}")
        return doc

    # --- JWKS ----------------------------------------------------------------------------------

    def signing_key(self, kid: str) -> Key | None:
        """The provider's key for ``kid``: cached JWKS, then one re-fetch on a miss, else None."""
        with self._lock:
            now = self._clock()
            if self._keys_at is None or now - self._keys_at >= self.ttl_s:
                self._refresh_keys(now)
                return self._keys.get(kid)
            key = self._keys.get(kid)
            if key is not None:
                return key
            if self._last_forced is not None and now - self._last_forced < self.refetch_cooldown_s:
                return None
            self._last_forced = now
            self._refresh_keys(now)
            return self._keys.get(kid)

    def _refresh_keys(self, now: float) -> None:
        url = self.endpoint("jwks_uri")
        doc = self._get_json(url, "jwks")
        self.fetches["jwks"] += 1
        items = doc.get("keys")
        if not isinstance(items, list):
            raise AuthFailure(Reason.DISCOVERY_INVALID, "JWKS has no 'keys' list")
        keys: dict[str, Key] = {}
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("kid"), str):
                continue
            if any(p in item for p in ("d", "k", "p", "q")):
                continue  # a private or symmetric key in a public JWKS is never trusted
            try:
                keys[item["kid"]] = KeySet.import_key_set({"keys": [item]}).keys[0]
            except Exception:
                continue
        self._keys = keys
        self._keys_at = now

    def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            resp = self.http.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise AuthFailure(Reason.PROVIDER_UNAVAILABLE, f"{what}: {type(exc).__name__}") from None
        if resp.status_code >= 500:
            raise AuthFailure(Reason.PROVIDER_UNAVAILABLE, f"{what}: HTTP {resp.status_code}")
        if resp.status_code != 200:
            raise AuthFailure(Reason.DISCOVERY_INVALID, f"{what}: HTTP {resp.status_code}")
        try:
            doc = resp.json()
        except ValueError:
            raise AuthFailure(Reason.DISCOVERY_INVALID, f"{what}: not JSON") from None
        if not isinstance(doc, dict):
            raise AuthFailure(Reason.DISCOVERY_INVALID, f"{what}: not a JSON object")
        return doc
