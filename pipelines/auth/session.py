"""The application's session: a short-lived HS256 JWT with only the claims the app needs.

Signed with a key derived (HKDF) from the active cookie key, so no extra secret is needed and
the session key is never the key that seals the login cookie. The app verifies it with
:func:`verify_session`. It carries the Singpass UUID as ``sub`` and a masked NRIC for display,
never the NRIC itself.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from pipelines.auth.crypto import decode_header, random_token, split_compact
from pipelines.auth.keys import ClientKeys, derive_key

_PURPOSE = b"app-session/v1"
_NRIC = re.compile(r"^[STFGM]\d{7}[A-Z]$")


class InvalidSession(Exception):
    """The session token is missing, forged, expired or not for this app."""


def _session_key(cookie_key: OctKey) -> OctKey:
    return OctKey.import_key(derive_key(cookie_key, _PURPOSE), parameters={"kid": str(cookie_key.kid)})


def parse_sub(sub: str) -> dict[str, str]:
    """Singpass ``sub`` (``s=S1234567D,u=<uuid>``, foreign accounts add fid/coi) as a dict;
    a bare value (no ``=``) is taken as the UUID."""
    if "=" not in sub:
        return {"u": sub}
    out: dict[str, str] = {}
    for part in sub.split(","):
        key, sep, value = part.partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


def mask_nric(nric: str | None) -> str | None:
    """``S1234567D`` -> ``S****567D`` (first letter, last three digits and the check letter)."""
    if not nric or not _NRIC.match(nric):
        return None
    return f"{nric[0]}****{nric[5:]}"


def session_claims(
    id_claims: Mapping[str, Any],
    userinfo: Mapping[str, Any] | None,
    *,
    mode: str,
    extra: Iterable[str] = (),
) -> dict[str, Any]:
    """What goes into the session: UUID as sub, masked NRIC, amr/acr, mode and any ``extra``
    claims named in ``SESSION_CLAIMS`` (taken from userinfo first, then the ID token)."""
    ident = parse_sub(str(id_claims["sub"]))
    attrs = id_claims.get("sub_attributes")
    nric = ident.get("s") or (attrs.get("identity_number") if isinstance(attrs, Mapping) else None)
    out: dict[str, Any] = {"sub": ident.get("u") or str(id_claims["sub"]), "mode": mode}
    masked = mask_nric(nric)
    if masked:
        out["nric_masked"] = masked
    if "coi" in ident:
        out["foreign_account"] = True
    for name in ("amr", "acr"):
        if name in id_claims:
            out[name] = id_claims[name]
    for name in extra:
        source = userinfo if userinfo and name in userinfo else id_claims
        if name in source:
            out[name] = source[name]
    return out


def issue_session(
    claims: Mapping[str, Any], keys: ClientKeys, *, audience: str, ttl_s: int, now: float | None = None
) -> str:
    """Sign ``claims`` into a session JWT for ``audience`` lasting ``ttl_s``."""
    iat = int(time.time() if now is None else now)
    key = _session_key(keys.active_cookie)
    body = {
        **claims,
        "iss": audience,
        "aud": audience,
        "iat": iat,
        "exp": iat + ttl_s,
        "jti": random_token(16),
    }
    header = {"alg": "HS256", "typ": "JWT", "kid": key.kid}
    return jws.serialize_compact(header, json.dumps(body, separators=(",", ":")), key, algorithms=["HS256"])


def verify_session(
    token: str, keys: ClientKeys, *, audience: str, now: float | None = None
) -> dict[str, Any]:
    """The claims of a valid session for ``audience``; :class:`InvalidSession` otherwise."""
    try:
        header = decode_header(split_compact(token, 3)[0])
    except (ValueError, UnicodeDecodeError):
        raise InvalidSession("not a JWT") from None
    if header.get("alg") != "HS256":
        raise InvalidSession("unexpected alg")
    cookie_key = keys.cookie_by_kid().get(str(header.get("kid")))
    if cookie_key is None:
        raise InvalidSession("unknown kid")
    try:
        obj = jws.deserialize_compact(token, _session_key(cookie_key), algorithms=["HS256"])
        claims = json.loads(obj.payload)
    except (JoseError, ValueError):
        raise InvalidSession("bad signature") from None
    now = time.time() if now is None else now
    if claims.get("aud") != audience or claims.get("iss") != audience:
        raise InvalidSession("not for this application")
    if not isinstance(claims.get("exp"), int) or now >= claims["exp"]:
        raise InvalidSession("expired")
    return dict(claims)
