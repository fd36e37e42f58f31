"""The two halves of a login, independent of HTTP framing: :func:`begin_login` and
:func:`complete_login`. The handlers wrap them; tests and the demo can call them too.

FAPI 2.0 (``SINGPASS_MODE=fapi``): PAR with a client assertion and a DPoP proof, authorize with
``client_id`` + ``request_uri`` only, the ``iss`` on the redirect required (RFC 9207), token and
userinfo with DPoP (a ``use_dpop_nonce`` challenge is answered once). Legacy v2: the same
checks minus PAR and DPoP, and ``iss`` on the redirect checked when present.
"""

from __future__ import annotations

import hmac
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from joserfc.jwk import ECKey

from observe import get_logger, metric
from pipelines.auth import crypto
from pipelines.auth.cookie import LOGIN_TTL_S, LoginContext, open_sealed, seal
from pipelines.auth.errors import AuthFailure, Reason
from pipelines.auth.runtime import Runtime
from pipelines.auth.session import issue_session, session_claims

log = get_logger(__name__)
_ERROR_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True)
class LoginStart:
    """Where to send the browser, and the sealed login context to set as a cookie."""

    location: str
    sealed_context: str


@dataclass
class LoginResult:
    """A completed login: verified ID token claims, userinfo (if asked), the app session."""

    id_claims: dict[str, Any]
    session_token: str
    session: dict[str, Any]
    userinfo: dict[str, Any] | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)


# --- login ---------------------------------------------------------------------------------------


def begin_login(rt: Runtime, *, now: float | None = None) -> LoginStart:
    """State, nonce, PKCE and (FAPI) a fresh DPoP key; PAR (FAPI) or a full authorize URL (legacy)."""
    cfg = rt.config
    keys = rt.keys()
    now = time.time() if now is None else now
    state, nonce = crypto.random_token(), crypto.random_token()
    verifier, challenge = crypto.pkce_pair()
    authorize = rt.provider.endpoint("authorization_endpoint")
    params = {
        "response_type": "code",
        "scope": cfg.scope,
        "client_id": cfg.client_id,
        "redirect_uri": cfg.redirect_uri,
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    dpop_jwk: dict[str, Any] | None = None
    if cfg.fapi:
        dpop_key = crypto.new_dpop_key()
        dpop_jwk = dict(dpop_key.as_dict(private=True))
        if cfg.authentication_context_type:
            params["authentication_context_type"] = cfg.authentication_context_type
        request_uri = _pushed_authorization_request(rt, params, dpop_key)
        location = f"{authorize}?{urlencode({'client_id': cfg.client_id, 'request_uri': request_uri})}"
    else:
        location = f"{authorize}?{urlencode(params)}"
    ctx = LoginContext(
        state=state,
        nonce=nonce,
        code_verifier=verifier,
        mode=cfg.mode,
        issuer=cfg.issuer,
        issued_at=now,
        expires_at=now + LOGIN_TTL_S,
        dpop_jwk=dpop_jwk,
    )
    return LoginStart(location=location, sealed_context=seal(ctx, keys.active_cookie))


def _pushed_authorization_request(rt: Runtime, params: dict[str, str], dpop_key: ECKey) -> str:
    url = rt.provider.endpoint("pushed_authorization_request_endpoint")
    resp = _post_with_dpop(rt, url, params, dpop_key, failure=Reason.PAR_REJECTED)
    try:
        body = resp.json()
        request_uri = body["request_uri"]
    except (ValueError, KeyError, TypeError):
        raise AuthFailure(Reason.PAR_REJECTED, "PAR response has no request_uri") from None
    if not isinstance(request_uri, str) or not request_uri:
        raise AuthFailure(Reason.PAR_REJECTED, "PAR response has no request_uri")
    return request_uri


# --- callback --------------------------------------------------------------------------------------


def complete_login(
    rt: Runtime, params: dict[str, str], sealed_context: str | None, *, now: float | None = None
) -> LoginResult:
    """Every check of the callback, in order; any failure raises :class:`AuthFailure`."""
    cfg = rt.config
    keys = rt.keys()
    if not sealed_context:
        raise AuthFailure(Reason.COOKIE_MISSING, "no login cookie on the callback")
    ctx = open_sealed(sealed_context, keys.cookie_by_kid(), now=now)
    if ctx.issuer != cfg.issuer or ctx.mode != cfg.mode:
        raise AuthFailure(Reason.COOKIE_INVALID, "cookie made for another issuer or mode")
    if "error" in params:
        code = params["error"] if _ERROR_CODE.match(params["error"]) else "unparseable"
        raise AuthFailure(Reason.PROVIDER_ERROR, f"redirect error={code}")
    state = params.get("state", "")
    if not state or not hmac.compare_digest(state.encode(), ctx.state.encode()):
        raise AuthFailure(Reason.STATE_MISMATCH, "state differs from the login's")
    iss = params.get("iss")
    if iss is None:
        if cfg.fapi:
            raise AuthFailure(Reason.ISS_MISSING, "FAPI redirect without iss (RFC 9207)")
    elif iss != cfg.issuer:
        raise AuthFailure(Reason.ISS_MISMATCH, "redirect iss is not our issuer (mix-up attack?)")
    code = params.get("code", "")
    if not code:
        raise AuthFailure(Reason.CODE_MISSING, "redirect without code")
    rt.replay.claim("state", ctx.state, LOGIN_TTL_S)
    rt.replay.claim("code", code, LOGIN_TTL_S)

    dpop_key = ECKey.import_key(ctx.dpop_jwk) if ctx.dpop_jwk else None
    if cfg.fapi and dpop_key is None:
        raise AuthFailure(Reason.COOKIE_INVALID, "FAPI login context without a DPoP key")
    timings: dict[str, float] = {}
    started = time.perf_counter()
    tokens = _token_exchange(rt, code, ctx.code_verifier, dpop_key)
    timings["token_exchange_ms"] = (time.perf_counter() - started) * 1000.0
    metric("TokenExchangeLatency", timings["token_exchange_ms"], "Milliseconds")

    access_token = tokens["access_token"]
    id_claims = verify_id_token(rt, tokens["id_token"], nonce=ctx.nonce, access_token=access_token, now=now)
    userinfo = None
    if cfg.userinfo and dpop_key is not None:
        userinfo = fetch_userinfo(rt, access_token, dpop_key, expected_sub=str(id_claims["sub"]), now=now)
    claims = session_claims(id_claims, userinfo, mode=cfg.mode, extra=cfg.session_claims)
    token = issue_session(claims, keys, audience=cfg.session_audience, ttl_s=cfg.session_ttl_s, now=now)
    return LoginResult(
        id_claims=id_claims, session_token=token, session=claims, userinfo=userinfo, timings_ms=timings
    )


def _token_exchange(rt: Runtime, code: str, verifier: str, dpop_key: ECKey | None) -> dict[str, str]:
    cfg = rt.config
    url = rt.provider.endpoint("token_endpoint")
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": cfg.redirect_uri,
        "client_id": cfg.client_id,
        "code_verifier": verifier,
    }
    resp = _post_with_dpop(rt, url, form, dpop_key, failure=Reason.TOKEN_REJECTED)
    try:
        body = resp.json()
    except ValueError:
        raise AuthFailure(Reason.TOKEN_RESPONSE_INVALID, "token response is not JSON") from None
    if not isinstance(body, dict):
        raise AuthFailure(Reason.TOKEN_RESPONSE_INVALID, "token response is not an object")
    for name in ("access_token", "id_token", "token_type"):
        if not isinstance(body.get(name), str) or not body[name]:
            raise AuthFailure(Reason.TOKEN_RESPONSE_INVALID, f"token response lacks {name}")
    expected = "dpop" if cfg.fapi else "bearer"
    if body["token_type"].lower() != expected:
        raise AuthFailure(Reason.TOKEN_RESPONSE_INVALID, f"token_type is not {expected}")
    return body


def _post_with_dpop(
    rt: Runtime, url: str, form: dict[str, str], dpop_key: ECKey | None, *, failure: Reason
) -> httpx.Response:
    """POST a form with a fresh client assertion (and DPoP proof); answer one DPoP-Nonce challenge."""
    cfg = rt.config
    nonce: str | None = None
    for attempt in (1, 2):
        body = {
            **form,
            "client_id": cfg.client_id,
            "client_assertion_type": crypto.CLIENT_ASSERTION_TYPE,
            "client_assertion": crypto.client_assertion(rt.keys().active_signing, cfg.client_id, cfg.issuer),
        }
        headers = {"Accept": "application/json"}
        if dpop_key is not None:
            headers["DPoP"] = crypto.dpop_proof(dpop_key, "POST", url, nonce=nonce)
        try:
            resp = rt.http.post(url, data=body, headers=headers)
        except httpx.HTTPError as exc:
            raise AuthFailure(Reason.PROVIDER_UNAVAILABLE, f"{failure.value}: {type(exc).__name__}") from None
        if resp.status_code in (200, 201):
            return resp
        error = _oauth_error(resp)
        challenge = resp.headers.get("DPoP-Nonce")
        if error == "use_dpop_nonce" and challenge and dpop_key is not None and attempt == 1:
            nonce = challenge
            continue
        if resp.status_code >= 500:
            raise AuthFailure(Reason.PROVIDER_UNAVAILABLE, f"{failure.value}: HTTP {resp.status_code}")
        if error in {"invalid_dpop_proof", "use_dpop_nonce"}:
            raise AuthFailure(Reason.DPOP_REJECTED, f"HTTP {resp.status_code} error={error}")
        raise AuthFailure(failure, f"HTTP {resp.status_code} error={error}")
    raise AuthFailure(Reason.DPOP_REJECTED, "DPoP nonce challenge repeated")  # pragma: no cover


def _oauth_error(resp: httpx.Response) -> str:
    """The ``error`` code of an OAuth error response (or of a DPoP WWW-Authenticate), sanitised."""
    code = ""
    try:
        body = resp.json()
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            code = body["error"]
    except ValueError:
        pass
    if not code:
        match = re.search(r'error="([^"]+)"', resp.headers.get("WWW-Authenticate", ""))
        code = match.group(1) if match else ""
    return code if _ERROR_CODE.match(code) else "unspecified"


# --- ID token and userinfo -------------------------------------------------------------------------


def verify_id_token(
    rt: Runtime, id_token: str, *, nonce: str | None, access_token: str | None, now: float | None = None
) -> dict[str, Any]:
    """JWE (our encryption keys, allow-listed alg/enc/kid) -> JWS (provider JWKS, ES256) -> claims."""
    cfg = rt.config
    inner = crypto.decrypt_jwe(id_token, rt.keys().encryption_by_kid())
    try:
        inner_text = inner.decode("ascii")
    except UnicodeDecodeError:
        raise AuthFailure(Reason.JWS_MALFORMED, "decrypted payload is not a compact JWS") from None
    claims = crypto.verify_jws(inner_text, rt.provider.signing_key)
    crypto.check_id_token_claims(
        claims,
        issuer=cfg.issuer,
        client_id=cfg.client_id,
        nonce=nonce,
        access_token=access_token,
        leeway_s=cfg.leeway_s,
        now=now,
    )
    return claims


def fetch_userinfo(
    rt: Runtime, access_token: str, dpop_key: ECKey, *, expected_sub: str, now: float | None = None
) -> dict[str, Any]:
    """Myinfo v5 userinfo: GET with ``Authorization: DPoP`` and a proof carrying ``ath``; the
    answer is a JWE-wrapped JWS checked like the ID token (iss, aud, same sub)."""
    cfg = rt.config
    url = rt.provider.endpoint("userinfo_endpoint")
    nonce: str | None = None
    for attempt in (1, 2):
        headers = {
            "Authorization": f"DPoP {access_token}",
            "DPoP": crypto.dpop_proof(dpop_key, "GET", url, nonce=nonce, access_token=access_token),
            "Accept": "application/jwt",
        }
        try:
            resp = rt.http.get(url, headers=headers)
        except httpx.HTTPError as exc:
            raise AuthFailure(Reason.PROVIDER_UNAVAILABLE, f"userinfo: {type(exc).__name__}") from None
        if resp.status_code == 200:
            break
        error = _oauth_error(resp)
        if error == "use_dpop_nonce" and resp.headers.get("DPoP-Nonce") and attempt == 1:
            nonce = resp.headers["DPoP-Nonce"]
            continue
        if resp.status_code >= 500:
            raise AuthFailure(Reason.PROVIDER_UNAVAILABLE, f"userinfo: HTTP {resp.status_code}")
        raise AuthFailure(Reason.USERINFO_REJECTED, f"HTTP {resp.status_code} error={error}")
    inner = crypto.decrypt_jwe(resp.text.strip(), rt.keys().encryption_by_kid())
    claims = crypto.verify_jws(inner.decode("ascii", errors="replace"), rt.provider.signing_key)
    if claims.get("iss") != cfg.issuer:
        raise AuthFailure(Reason.USERINFO_INVALID, "userinfo iss is not our issuer")
    aud = claims.get("aud")
    if aud is not None and cfg.client_id not in ([aud] if isinstance(aud, str) else aud):
        raise AuthFailure(Reason.USERINFO_INVALID, "userinfo aud is not our client_id")
    if claims.get("sub") != expected_sub:
        raise AuthFailure(Reason.USERINFO_INVALID, "userinfo sub differs from the ID token's")
    return claims
