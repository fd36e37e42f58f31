"""The JOSE pieces of the chain, each strict and small: PKCE, client assertions, DPoP proofs,
the ID token's JWE unwrap, its JWS verification and its claim checks.

Why hand-rolled checks around joserfc: the library verifies signatures and decrypts; the
*policy* (which algorithms, which headers, which keys, what to call each failure) is ours and
must fail closed with a reason an operator can act on. So headers are parsed and checked
against allow-lists before any key is touched, and every failure is an :class:`AuthFailure`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any

from joserfc import jwe, jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, Key

from pipelines.auth.errors import AuthFailure, Reason

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: Singpass allows at most 2 minutes between iat and exp; we use one.
CLIENT_ASSERTION_LIFETIME_S = 60
ID_TOKEN_SIGNING_ALGS: frozenset[str] = frozenset({"ES256"})
ID_TOKEN_ENCRYPTION_ALGS: frozenset[str] = frozenset({"ECDH-ES+A256KW"})
ID_TOKEN_ENCRYPTION_ENCS: frozenset[str] = frozenset({"A256GCM", "A256CBC-HS512"})
#: Headers that carry or point at a key: a verifier that honoured them would trust the attacker.
EMBEDDED_KEY_HEADERS: frozenset[str] = frozenset({"jwk", "jku", "x5u", "x5c"})
#: JWE protected-header members we accept (anything else, e.g. ``zip`` or ``jku``, fails closed).
JWE_HEADERS_ALLOWED: frozenset[str] = frozenset({"alg", "enc", "kid", "typ", "cty", "epk", "apu", "apv"})


# --- encoding helpers --------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Inverse of :func:`b64url`; raises ``ValueError`` on bad input."""
    if not isinstance(text, str) or any(c in text for c in "+/= \n"):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def random_token(nbytes: int = 32) -> str:
    """A URL-safe random value (state, nonce, jti)."""
    return secrets.token_urlsafe(nbytes)


def sha256_b64url(value: str) -> str:
    """``BASE64URL(SHA-256(ascii(value)))``: the PKCE S256 challenge and the DPoP ``ath``."""
    return b64url(hashlib.sha256(value.encode("ascii")).digest())


def token_hash(value: str) -> str:
    """OIDC ``at_hash``: the left half of SHA-256 of the token, base64url (ES256 -> SHA-256)."""
    digest = hashlib.sha256(value.encode("ascii")).digest()
    return b64url(digest[: len(digest) // 2])


def pkce_pair() -> tuple[str, str]:
    """A PKCE code verifier (64 chars, RFC 7636 allows 43-128) and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    return verifier, sha256_b64url(verifier)


def jwk_thumbprint(public_jwk: Mapping[str, Any]) -> str:
    """RFC 7638 SHA-256 thumbprint of an EC public JWK (the DPoP ``jkt``)."""
    required = {k: public_jwk[k] for k in ("crv", "kty", "x", "y")}
    canonical = json.dumps(required, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def split_compact(token: str, parts: int) -> list[str]:
    """Split a compact JOSE serialisation into ``parts`` segments or raise ``ValueError``."""
    if not isinstance(token, str):
        raise ValueError("not a string")
    segments = token.split(".")
    if len(segments) != parts:
        raise ValueError(f"expected {parts} segments, got {len(segments)}")
    return segments


def decode_header(segment: str) -> dict[str, Any]:
    """A protected header segment as a dict; ``ValueError`` if it is not a JSON object."""
    header = json.loads(b64url_decode(segment))
    if not isinstance(header, dict):
        raise ValueError("header is not an object")
    return header


# --- things the client signs ---------------------------------------------------------------------


def client_assertion(signing_key: ECKey, client_id: str, audience: str, *, now: float | None = None) -> str:
    """A ``private_key_jwt`` client assertion (ES256): iss = sub = client_id, aud = the issuer,
    a fresh jti, exp one minute after iat (Singpass allows at most two)."""
    iat = int(now if now is not None else time.time())
    header = {"alg": "ES256", "typ": "JWT", "kid": signing_key.kid}
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": iat,
        "exp": iat + CLIENT_ASSERTION_LIFETIME_S,
        "jti": random_token(24),
    }
    return jws.serialize_compact(header, _json(claims), signing_key, algorithms=["ES256"])


def new_dpop_key() -> ECKey:
    """A fresh ephemeral P-256 key for one login (PAR, token and userinfo share it)."""
    return ECKey.generate_key("P-256", private=True)


def dpop_public_jwk(key: ECKey) -> dict[str, Any]:
    """The public part of a DPoP key as it goes into the proof header: kty, crv, x, y only."""
    full = key.as_dict(private=False)
    return {k: full[k] for k in ("kty", "crv", "x", "y")}


def dpop_proof(
    key: ECKey,
    method: str,
    url: str,
    *,
    nonce: str | None = None,
    access_token: str | None = None,
    now: float | None = None,
) -> str:
    """An RFC 9449 DPoP proof: typ dpop+jwt, ES256, the public jwk in the header; jti, htm,
    htu (the URL without query and fragment), iat, and ``nonce``/``ath`` when given."""
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": dpop_public_jwk(key)}
    claims: dict[str, Any] = {
        "jti": random_token(24),
        "htm": method.upper(),
        "htu": htu(url),
        "iat": int(now if now is not None else time.time()),
    }
    if nonce is not None:
        claims["nonce"] = nonce
    if access_token is not None:
        claims["ath"] = sha256_b64url(access_token)
    return jws.serialize_compact(header, _json(claims), key, algorithms=["ES256"])


def htu(url: str) -> str:
    """The DPoP ``htu`` form of a URL: no query, no fragment."""
    return url.split("#", 1)[0].split("?", 1)[0]


def _json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


# --- the ID token: JWE around JWS ----------------------------------------------------------------


def decrypt_jwe(
    token: str,
    keys: Mapping[str, Key],
    *,
    algs: Collection[str] = ID_TOKEN_ENCRYPTION_ALGS,
    encs: Collection[str] = ID_TOKEN_ENCRYPTION_ENCS,
) -> bytes:
    """Unwrap a compact JWE after checking alg, enc, kid and the header members against
    allow-lists; ``keys`` maps kid -> our private encryption key (active and rotated-out)."""
    if isinstance(token, str) and token.count(".") == 2:
        raise AuthFailure(Reason.ID_TOKEN_NOT_ENCRYPTED, "a bare JWS where a JWE was required")
    try:
        segments = split_compact(token, 5)
        header = decode_header(segments[0])
    except (ValueError, UnicodeDecodeError) as exc:
        raise AuthFailure(Reason.JWE_MALFORMED, f"not a compact JWE ({type(exc).__name__})") from None
    alg, enc, kid = header.get("alg"), header.get("enc"), header.get("kid")
    if not isinstance(alg, str) or alg not in algs:
        raise AuthFailure(Reason.JWE_ALG_NOT_ALLOWED, f"alg {_safe(alg)} not in {sorted(algs)}")
    if not isinstance(enc, str) or enc not in encs:
        raise AuthFailure(Reason.JWE_ENC_NOT_ALLOWED, f"enc {_safe(enc)} not in {sorted(encs)}")
    extra = set(header) - JWE_HEADERS_ALLOWED
    if extra:
        raise AuthFailure(Reason.JWE_HEADER_NOT_ALLOWED, f"header members {sorted(extra)} not allowed")
    if not isinstance(kid, str) or kid not in keys:
        raise AuthFailure(Reason.JWE_KID_UNKNOWN, f"kid {_safe(kid)} is not one of our encryption keys")
    try:
        obj = jwe.decrypt_compact(token, keys[kid], algorithms=[alg, enc])
    except (JoseError, ValueError, TypeError) as exc:
        raise AuthFailure(Reason.JWE_DECRYPT_FAILED, type(exc).__name__) from None
    if obj.plaintext is None:
        raise AuthFailure(Reason.JWE_DECRYPT_FAILED, "empty plaintext")
    return obj.plaintext


KeyLookup = Callable[[str], Key | None]


def verify_jws(
    token: str, lookup: KeyLookup, *, algs: Collection[str] = ID_TOKEN_SIGNING_ALGS
) -> dict[str, Any]:
    """Verify a compact JWS and return its JSON payload.

    Order matters: ``none`` and any algorithm outside ``algs`` (HS256 with the public key as
    the secret, RS/PS...) are refused before a key is looked up; so are headers that embed or
    point at a key (jwk, jku, x5u, x5c) and ``crit``. The key comes only from ``lookup(kid)``,
    the provider's JWKS (which re-fetches once on an unknown kid, then we fail closed).
    """
    try:
        segments = split_compact(token, 3)
        header = decode_header(segments[0])
    except (ValueError, UnicodeDecodeError) as exc:
        raise AuthFailure(Reason.JWS_MALFORMED, f"not a compact JWS ({type(exc).__name__})") from None
    alg = header.get("alg")
    if isinstance(alg, str) and alg.lower() == "none":
        raise AuthFailure(Reason.JWS_ALG_NONE, "unsigned token")
    if not isinstance(alg, str) or alg not in algs:
        raise AuthFailure(Reason.JWS_ALG_NOT_ALLOWED, f"alg {_safe(alg)} not in {sorted(algs)}")
    embedded = EMBEDDED_KEY_HEADERS & set(header)
    if embedded:
        raise AuthFailure(Reason.JWS_EMBEDDED_KEY, f"header carries key material: {sorted(embedded)}")
    if "crit" in header:
        raise AuthFailure(Reason.JWS_CRIT_UNSUPPORTED, "crit header present")
    kid = header.get("kid")
    key = lookup(kid) if isinstance(kid, str) and kid else None
    if key is None:
        raise AuthFailure(Reason.JWS_KID_UNKNOWN, f"kid {_safe(kid)} not in the provider's JWKS")
    if key.key_type != "EC" or key.get("crv") != "P-256" or key.get("use", "sig") != "sig":
        raise AuthFailure(Reason.JWS_KID_UNKNOWN, f"kid {_safe(kid)} is not a P-256 signing key")
    try:
        obj = jws.deserialize_compact(token, key, algorithms=[alg])
    except (JoseError, ValueError, TypeError) as exc:
        raise AuthFailure(Reason.JWS_BAD_SIGNATURE, type(exc).__name__) from None
    try:
        payload = json.loads(obj.payload)
    except (ValueError, UnicodeDecodeError):
        raise AuthFailure(Reason.ID_TOKEN_CLAIMS_INVALID, "payload is not JSON") from None
    if not isinstance(payload, dict):
        raise AuthFailure(Reason.ID_TOKEN_CLAIMS_INVALID, "payload is not a JSON object")
    return payload


def check_id_token_claims(
    claims: Mapping[str, Any],
    *,
    issuer: str,
    client_id: str,
    nonce: str | None,
    access_token: str | None,
    leeway_s: float = 30.0,
    now: float | None = None,
) -> None:
    """OIDC Core 3.1.3.7 checks: iss, aud (and azp with several audiences), exp, iat (a small
    leeway; fractional iat is fine), nonce in constant time, at_hash when present, sub."""
    now = time.time() if now is None else now
    if claims.get("iss") != issuer:
        raise AuthFailure(Reason.ID_TOKEN_ISS, "iss is not the configured issuer")
    aud = claims.get("aud")
    auds = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if client_id not in auds:
        raise AuthFailure(Reason.ID_TOKEN_AUD, "aud does not contain our client_id")
    if len(auds) > 1 and claims.get("azp") != client_id:
        raise AuthFailure(Reason.ID_TOKEN_AUD, "several audiences and azp is not our client_id")
    raw_exp, raw_iat = claims.get("exp"), claims.get("iat")
    if (
        not isinstance(raw_exp, (int, float))
        or not isinstance(raw_iat, (int, float))
        or _bools(raw_exp, raw_iat)
    ):
        raise AuthFailure(Reason.ID_TOKEN_CLAIMS_INVALID, "exp and iat must be numbers")
    exp, iat = float(raw_exp), float(raw_iat)  # fractional iat (some providers send ms) is fine
    if now > exp + leeway_s:
        raise AuthFailure(Reason.ID_TOKEN_EXPIRED, f"expired {int(now - exp)}s ago")
    if iat > now + leeway_s:
        raise AuthFailure(Reason.ID_TOKEN_IAT_FUTURE, f"iat {int(iat - now)}s in the future")
    if nonce is not None:
        got = claims.get("nonce")
        if not isinstance(got, str) or not hmac.compare_digest(got.encode(), nonce.encode()):
            raise AuthFailure(Reason.ID_TOKEN_NONCE, "nonce does not match the login's")
    at_hash = claims.get("at_hash")
    if at_hash is not None:
        if access_token is None or not isinstance(at_hash, str):
            raise AuthFailure(Reason.ID_TOKEN_AT_HASH, "at_hash present without a usable access token")
        if not hmac.compare_digest(at_hash.encode(), token_hash(access_token).encode()):
            raise AuthFailure(Reason.ID_TOKEN_AT_HASH, "at_hash does not match the access token")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise AuthFailure(Reason.ID_TOKEN_CLAIMS_INVALID, "sub missing")


def _bools(*values: Any) -> bool:
    return any(isinstance(v, bool) for v in values)


def _safe(value: Any) -> str:
    """A header value fit for a log detail: short, printable, never a whole blob."""
    text = repr(value) if not isinstance(value, str) else value
    text = "".join(c if c.isalnum() or c in "-_.+:" else "?" for c in text)
    return text[:40]
