"""The chain's configuration, read once from the environment and checked with errors that name the fix.

Contract (outside checks rely on these names): ``SINGPASS_MODE`` (fapi | legacy),
``SINGPASS_ISSUER``, ``CLIENT_ID``, ``REDIRECT_URI``, ``SIGNING_KEY_PARAM``,
``ENCRYPTION_KEY_PARAM``, ``COOKIE_KEY_PARAM``, optional ``REPLAY_TABLE``. AWS endpoints come
from the standard ``AWS_ENDPOINT_URL``. The optional knobs are listed on :class:`AuthConfig`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from observe.config import number
from pipelines.auth.errors import AuthConfigError

REQUIRED = (
    "SINGPASS_MODE",
    "SINGPASS_ISSUER",
    "CLIENT_ID",
    "REDIRECT_URI",
    "SIGNING_KEY_PARAM",
    "ENCRYPTION_KEY_PARAM",
    "COOKIE_KEY_PARAM",
)
#: claims that identify a person and so never go into the browser-readable session token
_NEVER_IN_SESSION = frozenset({"nric", "uinfin", "identity_number", "s", "sub_attributes", "sub"})
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


@dataclass(frozen=True)
class AuthConfig:
    """Settings of one deployment of the chain (one per environment)."""

    mode: Literal["fapi", "legacy"]
    issuer: str
    client_id: str
    redirect_uri: str
    signing_key_param: str
    encryption_key_param: str
    cookie_key_param: str
    replay_table: str | None = None
    #: ``SINGPASS_SCOPE``: space-separated scopes; Login apps use ``openid``
    scope: str = "openid"
    #: ``SINGPASS_USERINFO``: call userinfo (Myinfo v5) after the token exchange (fapi only)
    userinfo: bool = False
    #: ``SINGPASS_AUTH_CONTEXT_TYPE``: Singpass' ``authentication_context_type`` PAR parameter
    authentication_context_type: str | None = None
    #: ``POST_LOGIN_REDIRECT``: where the browser goes with its new session (a path on our site)
    post_login_redirect: str = "/"
    #: ``SESSION_TTL_SECONDS``: lifetime of the application session
    session_ttl_s: int = 900
    #: ``SESSION_CLAIMS``: extra userinfo/ID-token claims copied into the session (comma list)
    session_claims: tuple[str, ...] = ()
    #: ``JWKS_CACHE_SECONDS``: how long the provider's JWKS and discovery are cached (>= 3600)
    jwks_cache_s: int = 3600
    #: ``CLOCK_LEEWAY_SECONDS``: tolerance on exp / iat
    leeway_s: float = 30.0
    #: ``HTTP_TIMEOUT_SECONDS``: per request to the provider
    http_timeout_s: float = 5.0

    @property
    def fapi(self) -> bool:
        """True for FAPI 2.0 (PAR + DPoP), False for the legacy v2 flow."""
        return self.mode == "fapi"

    @property
    def session_audience(self) -> str:
        """``iss``/``aud`` of the application session: the origin of the redirect URI."""
        parts = urlsplit(self.redirect_uri)
        return f"{parts.scheme}://{parts.netloc}"


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise AuthConfigError(f"{name}={raw!r} is not a boolean; use true or false")


def _number(env: Mapping[str, str], name: str, default: float, minimum: float) -> float:
    return float(number(env, name, default, minimum=minimum, error=AuthConfigError))


def _url(name: str, value: str, *, secure: bool) -> str:
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise AuthConfigError(f"{name}={value!r} is not an absolute http(s) URL")
    if parts.scheme != "https" and (secure or parts.hostname not in _LOCAL_HOSTS):
        raise AuthConfigError(f"{name}={value!r} must use https (plain http only for localhost in dev)")
    if parts.query or parts.fragment:
        raise AuthConfigError(f"{name}={value!r} must not carry a query or fragment")
    return value


def load_config(env: Mapping[str, str] | None = None) -> AuthConfig:
    """Read and check the environment; one error lists every missing variable."""
    env = os.environ if env is None else env
    missing = [n for n in REQUIRED if not env.get(n)]
    if missing:
        raise AuthConfigError(
            f"missing required environment variable(s): {', '.join(missing)} "
            "(see docs/auth.md; the key parameters are created by `python -m pipelines.auth.keys`)"
        )
    mode = env["SINGPASS_MODE"].strip().lower()
    if mode not in {"fapi", "legacy"}:
        raise AuthConfigError(f"SINGPASS_MODE={env['SINGPASS_MODE']!r} must be 'fapi' or 'legacy'")
    environment = env.get("ENVIRONMENT", "dev") or "dev"
    hardened = environment in {"stg", "prd"}
    issuer = _url("SINGPASS_ISSUER", env["SINGPASS_ISSUER"], secure=hardened)
    redirect_uri = _url("REDIRECT_URI", env["REDIRECT_URI"], secure=hardened)
    replay_table = env.get("REPLAY_TABLE") or None
    if _flag(env, "REPLAY_GUARD", hardened) and replay_table is None:
        raise AuthConfigError(
            f"the replay guard is on (default in stg/prd; ENVIRONMENT={environment}) but REPLAY_TABLE is "
            "not set: give the DynamoDB table name, or REPLAY_GUARD=false to accept replays"
        )
    claims = tuple(c.strip() for c in env.get("SESSION_CLAIMS", "").split(",") if c.strip())
    refused = sorted(set(claims) & _NEVER_IN_SESSION)
    if refused:
        raise AuthConfigError(
            f"SESSION_CLAIMS may not include {refused}: the session carries the Singpass UUID as sub "
            "and a masked NRIC; keep identifiers server-side"
        )
    post_login = env.get("POST_LOGIN_REDIRECT", "/") or "/"
    if not post_login.startswith("/") or post_login.startswith("//"):
        raise AuthConfigError(f"POST_LOGIN_REDIRECT={post_login!r} must be a path on this site, e.g. /home")
    scope = env.get("SINGPASS_SCOPE", "openid") or "openid"
    if "openid" not in scope.split():
        raise AuthConfigError(f"SINGPASS_SCOPE={scope!r} must include 'openid'")
    userinfo = _flag(env, "SINGPASS_USERINFO", False)
    if userinfo and mode != "fapi":
        raise AuthConfigError(
            "SINGPASS_USERINFO=true needs SINGPASS_MODE=fapi (Myinfo v5 userinfo uses DPoP)"
        )
    return AuthConfig(
        mode=mode,  # type: ignore[arg-type]
        issuer=issuer,
        client_id=env["CLIENT_ID"],
        redirect_uri=redirect_uri,
        signing_key_param=env["SIGNING_KEY_PARAM"],
        encryption_key_param=env["ENCRYPTION_KEY_PARAM"],
        cookie_key_param=env["COOKIE_KEY_PARAM"],
        replay_table=replay_table if _flag(env, "REPLAY_GUARD", True) else None,
        scope=scope,
        userinfo=userinfo,
        authentication_context_type=env.get("SINGPASS_AUTH_CONTEXT_TYPE") or None,
        post_login_redirect=post_login,
        session_ttl_s=int(_number(env, "SESSION_TTL_SECONDS", 900, 60)),
        session_claims=claims,
        jwks_cache_s=int(_number(env, "JWKS_CACHE_SECONDS", 3600, 3600)),
        leeway_s=_number(env, "CLOCK_LEEWAY_SECONDS", 30.0, 0),
        http_timeout_s=_number(env, "HTTP_TIMEOUT_SECONDS", 5.0, 0.5),
    )
