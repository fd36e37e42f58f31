"""The login context between the two Lambdas, carried by the browser in a sealed cookie.

state, nonce, the PKCE verifier and the DPoP private key must survive from ``login`` to
``callback`` without a server-side session. They travel in a JWE (``dir`` + A256GCM, the
cookie key's kid in the header so rotated keys still open older cookies): encrypted so the
browser cannot read the verifier or the DPoP key, authenticated so it cannot change them,
and short-lived (``exp`` inside the sealed payload, Max-Age on the cookie).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from pipelines.auth.crypto import decode_header, split_compact
from pipelines.auth.errors import AuthFailure, Reason

LOGIN_COOKIE = "__Host-sp-login"
SESSION_COOKIE = "__Host-session"
LOGIN_TTL_S = 600
_PURPOSE = "singpass-login/v1"


@dataclass(frozen=True)
class LoginContext:
    """What ``callback`` needs from ``login``. Secrets: verifier and dpop_jwk (private)."""

    state: str
    nonce: str
    code_verifier: str
    mode: str
    issuer: str
    issued_at: float
    expires_at: float
    dpop_jwk: dict[str, Any] | None = None


def seal(ctx: LoginContext, key: OctKey) -> str:
    """Encrypt ``ctx`` under the active cookie key (compact JWE, dir + A256GCM)."""
    header = {"alg": "dir", "enc": "A256GCM", "kid": key.kid, "cty": _PURPOSE}
    body = json.dumps({"p": _PURPOSE, **asdict(ctx)}, separators=(",", ":"))
    return jwe.encrypt_compact(header, body, key, algorithms=["dir", "A256GCM"])


def open_sealed(value: str, keys: Mapping[str, OctKey], *, now: float | None = None) -> LoginContext:
    """Decrypt and check a login cookie: known kid, intact, our purpose, not expired."""
    try:
        header = decode_header(split_compact(value, 5)[0])
    except (ValueError, UnicodeDecodeError):
        raise AuthFailure(Reason.COOKIE_INVALID, "not a sealed cookie") from None
    if header.get("alg") != "dir" or header.get("enc") != "A256GCM" or header.get("cty") != _PURPOSE:
        raise AuthFailure(Reason.COOKIE_INVALID, "unexpected cookie header")
    key = keys.get(str(header.get("kid")))
    if key is None:
        raise AuthFailure(Reason.COOKIE_INVALID, "cookie sealed with an unknown key")
    try:
        plaintext = jwe.decrypt_compact(value, key, algorithms=["dir", "A256GCM"]).plaintext or b""
        data = json.loads(plaintext)
    except (JoseError, ValueError, TypeError):
        raise AuthFailure(Reason.COOKIE_INVALID, "cookie failed authentication") from None
    if not isinstance(data, dict) or data.pop("p", None) != _PURPOSE:
        raise AuthFailure(Reason.COOKIE_INVALID, "cookie is not a login context")
    try:
        ctx = LoginContext(**data)
    except TypeError:
        raise AuthFailure(Reason.COOKIE_INVALID, "cookie payload has the wrong shape") from None
    now = time.time() if now is None else now
    if now >= ctx.expires_at:
        raise AuthFailure(Reason.COOKIE_EXPIRED, f"login started {int(now - ctx.issued_at)}s ago")
    return ctx


def set_cookie(name: str, value: str, *, max_age: int) -> str:
    """A ``Set-Cookie`` value: HttpOnly, Secure, SameSite=Lax (the provider's redirect back is a
    top-level GET, which Lax allows), Path=/ with the ``__Host-`` prefix (no Domain)."""
    return f"{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; Secure; SameSite=Lax"


def clear_cookie(name: str) -> str:
    """A ``Set-Cookie`` value that deletes ``name``."""
    return f"{name}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax"
