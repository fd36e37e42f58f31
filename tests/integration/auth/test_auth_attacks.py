"""The attack suite: one test per attack, each through the whole chain (login handler -> FAPI test
server over HTTP -> callback handler), each failing closed with its own reason.

Every case asserts the same four things: the browser gets the generic page and no session, the
login cookie is cleared, the log says exactly the expected reason, and AuthFailures counts it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from joserfc import jwe, jws
from joserfc.jwk import ECKey, RSAKey

from pipelines.auth import crypto
from pipelines.auth.cookie import LOGIN_COOKIE, SESSION_COOKIE, LoginContext, open_sealed, seal
from pipelines.auth.runtime import get_runtime
from tests.support.fapi_server import FapiServer, IdTokenParts

pytestmark = [pytest.mark.integration]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _compact(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}.{_b64(signature)}"


# --- ID token forgeries (server side, via the hook) ------------------------------------------------


def alg_none(p: IdTokenParts) -> None:
    p.override = p.encrypt(_compact({"alg": "none", "typ": "JWT"}, p.claims))


def hs256_with_public_key(p: IdTokenParts) -> None:
    header = {"alg": "HS256", "typ": "JWT", "kid": p.signing_key.kid}
    secret = p.signing_key.as_pem(private=False)  # the classic key-confusion attack
    unsigned = _compact(header, p.claims).rsplit(".", 1)[0]
    mac = hmac.new(secret, unsigned.encode(), hashlib.sha256).digest()
    p.override = p.encrypt(f"{unsigned}.{_b64(mac)}")


def _rsa_signed(alg: str) -> Callable[[IdTokenParts], None]:
    def forge(p: IdTokenParts) -> None:
        key = RSAKey.generate_key(2048, parameters={"kid": str(p.signing_key.kid)})
        inner = jws.serialize_compact(
            {"alg": alg, "kid": key.kid}, json.dumps(p.claims), key, algorithms=[alg]
        )
        p.override = p.encrypt(inner)

    return forge


def _claims(**changes: Any) -> Callable[[IdTokenParts], None]:
    def change(p: IdTokenParts) -> None:
        now = time.time()
        for name, value in changes.items():
            p.claims[name] = value(now) if callable(value) else value

    return change


def _attacker_signed(**header: Any) -> Callable[[IdTokenParts], None]:
    """Signed with the attacker's key (header tweaks add jwk/jku/x5u, keep the provider kid)."""

    def forge(p: IdTokenParts) -> None:
        attacker = ECKey.generate_key("P-256")
        extra = {k: (v(attacker) if callable(v) else v) for k, v in header.items()}
        head = {"alg": "ES256", "typ": "JWT", "kid": p.signing_key.kid, **extra}
        p.override = p.encrypt(
            jws.serialize_compact(head, json.dumps(p.claims), attacker, algorithms=["ES256"])
        )

    return forge


def crit_header(p: IdTokenParts) -> None:
    """A critical extension we do not understand (joserfc will not even sign it: built by hand)."""
    header = {"alg": "ES256", "typ": "JWT", "kid": p.signing_key.kid, "crit": ["exp"], "exp": 0}
    p.override = p.encrypt(_compact(header, p.claims, b"\x00" * 64))


def unknown_kid(p: IdTokenParts) -> None:
    other = ECKey.generate_key("P-256", parameters={"kid": "provider-key-never-published"})
    head = {"alg": "ES256", "typ": "JWT", "kid": other.kid}
    p.override = p.encrypt(jws.serialize_compact(head, json.dumps(p.claims), other, algorithms=["ES256"]))


def _jwe(alg: str, enc: str, kid: str | None = None) -> Callable[[IdTokenParts], None]:
    def forge(p: IdTokenParts) -> None:
        header = {"alg": alg, "enc": enc, "kid": kid or p.encryption_key.kid, "cty": "JWT"}
        p.override = jwe.encrypt_compact(header, p.sign(), p.encryption_key, algorithms=[alg, enc])

    return forge


def jwe_with_zip(p: IdTokenParts) -> None:
    p.jwe_header["zip"] = "DEF"
    p.override = jwe.encrypt_compact(
        p.jwe_header, p.sign(), p.encryption_key, algorithms=[p.jwe_header["alg"], p.jwe_header["enc"], "DEF"]
    )


def not_encrypted(p: IdTokenParts) -> None:
    p.override = p.sign()


# --- browser-side tampering ------------------------------------------------------------------------


@dataclass
class Ctx:
    """What a tamper step may use: the server, the browser, monkeypatch, earlier logins."""

    server: FapiServer
    browser: Any
    monkeypatch: pytest.MonkeyPatch
    earlier: dict[str, Any] = field(default_factory=dict)


Tamper = Callable[[dict[str, str], str, Ctx], tuple[dict[str, str], str | None]]


def _open(cookie: str) -> LoginContext:
    return open_sealed(cookie, get_runtime().keys().cookie_by_kid())


def tampered_cookie(params: dict[str, str], cookie: str, ctx: Ctx) -> tuple[dict[str, str], str | None]:
    head, ek, iv, ct, tag = cookie.split(".")
    flipped = ("A" if ct[5] != "A" else "B").join((ct[:5], ct[6:]))
    return params, ".".join((head, ek, iv, flipped, tag))


def expired_cookie(params: dict[str, str], cookie: str, ctx: Ctx) -> tuple[dict[str, str], str | None]:
    old = _open(cookie)
    stale = LoginContext(**{**old.__dict__, "issued_at": time.time() - 1200, "expires_at": time.time() - 600})
    return params, seal(stale, get_runtime().keys().active_cookie)


def no_cookie(params: dict[str, str], cookie: str, ctx: Ctx) -> tuple[dict[str, str], str | None]:
    return params, None


def _params(**changes: str | None) -> Tamper:
    def change(params: dict[str, str], cookie: str, ctx: Ctx) -> tuple[dict[str, str], str | None]:
        out = dict(params)
        for name, value in changes.items():
            if value is None:
                out.pop(name, None)
            else:
                out[name] = value
        return out, cookie

    return change


def warm_up(ctx: Ctx) -> None:
    """A successful login first (warm caches; remember its cookie and redirect)."""
    resp, cookie = ctx.browser.login()
    params = ctx.browser.authorize(resp["headers"]["Location"])
    assert ctx.browser.callback(params, cookie)["statusCode"] == 302
    ctx.earlier.update(params=params, cookie=cookie, jwks_fetches=get_runtime().provider.fetches["jwks"])


def replay_everything(params: dict[str, str], cookie: str, ctx: Ctx) -> tuple[dict[str, str], str | None]:
    return ctx.earlier["params"], ctx.earlier["cookie"]


def replay_code(params: dict[str, str], cookie: str, ctx: Ctx) -> tuple[dict[str, str], str | None]:
    return {**params, "code": ctx.earlier["params"]["code"]}, cookie


def inject_attacker_code(params: dict[str, str], cookie: str, ctx: Ctx) -> tuple[dict[str, str], str | None]:
    """Code injection: the attacker's own (unused) code pasted into the victim's callback."""
    return {**params, "code": ctx.earlier["attacker_code"]}, cookie


def attacker_session(ctx: Ctx) -> None:
    resp, _ = ctx.browser.login()
    ctx.earlier["attacker_code"] = ctx.browser.authorize(resp["headers"]["Location"])["code"]


def dpop_wrong_htu(params: dict[str, str], cookie: str, ctx: Ctx) -> tuple[dict[str, str], str | None]:
    real = crypto.dpop_proof
    ctx.monkeypatch.setattr(
        crypto, "dpop_proof", lambda key, m, url, **kw: real(key, m, url + "/elsewhere", **kw)
    )
    return params, cookie


def capture_token_proof(ctx: Ctx) -> None:
    """Log in once, keeping the DPoP proof our client sent to the token endpoint."""
    real = crypto.dpop_proof
    captured: list[str] = []

    def keep(key: ECKey, method: str, url: str, **kw: Any) -> str:
        proof = real(key, method, url, **kw)
        if url.endswith("/token"):
            captured.append(proof)
        return proof

    ctx.monkeypatch.setattr(crypto, "dpop_proof", keep)
    warm_up(ctx)
    ctx.monkeypatch.setattr(crypto, "dpop_proof", real)
    ctx.earlier["proof"] = captured[0]


def dpop_replayed_proof(params: dict[str, str], cookie: str, ctx: Ctx) -> tuple[dict[str, str], str | None]:
    real = crypto.dpop_proof
    replay = ctx.earlier["proof"]
    ctx.monkeypatch.setattr(
        crypto,
        "dpop_proof",
        lambda key, m, url, **kw: replay if url.endswith("/token") else real(key, m, url, **kw),
    )
    return params, cookie


# --- the table ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attack:
    name: str
    reason: str
    hook: Callable[[IdTokenParts], None] | None = None
    tamper: Tamper | None = None
    prepare: Callable[[Ctx], None] | None = None
    env: dict[str, str] = field(default_factory=dict)
    provider_says: str | None = None  # the test server's error description, when it is the one refusing
    status: int = 400


REPLAY = {"REPLAY_TABLE": "__replay__"}  # filled with the session's table name

ATTACKS = [
    Attack("alg none", "jws_alg_none", hook=alg_none),
    Attack("HS256 with the public key as secret", "jws_alg_not_allowed", hook=hs256_with_public_key),
    Attack("RS256", "jws_alg_not_allowed", hook=_rsa_signed("RS256")),
    Attack("PS256", "jws_alg_not_allowed", hook=_rsa_signed("PS256")),
    Attack("wrong aud", "id_token_aud", hook=_claims(aud="another-client")),
    Attack("aud list without our client", "id_token_aud", hook=_claims(aud=["a", "b"])),
    Attack("wrong iss", "id_token_iss", hook=_claims(iss="https://idp.attacker.example")),
    Attack(
        "expired",
        "id_token_expired",
        hook=_claims(exp=lambda now: int(now) - 3600, iat=lambda now: now - 4200),
    ),
    Attack("iat in the future", "id_token_iat_future", hook=_claims(iat=lambda now: now + 3600)),
    Attack("nonce mismatch", "id_token_nonce", hook=_claims(nonce="a-nonce-from-another-login")),
    Attack("at_hash mismatch", "id_token_at_hash", hook=_claims(at_hash="AAAAAAAAAAAAAAAAAAAAAA")),
    Attack(
        "embedded jwk header",
        "jws_embedded_key",
        hook=_attacker_signed(jwk=lambda k: k.as_dict(private=False)),
    ),
    Attack("jku header", "jws_embedded_key", hook=_attacker_signed(jku="https://attacker.example/jwks")),
    Attack("x5u header", "jws_embedded_key", hook=_attacker_signed(x5u="https://attacker.example/cert.pem")),
    Attack("signed by another key under the provider's kid", "jws_bad_signature", hook=_attacker_signed()),
    Attack("crit header", "jws_crit_unsupported", hook=crit_header),
    Attack("unknown kid (after one re-fetch)", "jws_kid_unknown", hook=unknown_kid, prepare=warm_up),
    Attack("JWE alg ECDH-ES (direct)", "jwe_alg_not_allowed", hook=_jwe("ECDH-ES", "A256GCM")),
    Attack("JWE alg ECDH-ES+A128KW", "jwe_alg_not_allowed", hook=_jwe("ECDH-ES+A128KW", "A256GCM")),
    Attack("JWE enc A128GCM", "jwe_enc_not_allowed", hook=_jwe("ECDH-ES+A256KW", "A128GCM")),
    Attack("JWE enc A128CBC-HS256", "jwe_enc_not_allowed", hook=_jwe("ECDH-ES+A256KW", "A128CBC-HS256")),
    Attack("JWE kid not ours", "jwe_kid_unknown", hook=_jwe("ECDH-ES+A256KW", "A256GCM", kid="enc-not-ours")),
    Attack("JWE with zip", "jwe_header_not_allowed", hook=jwe_with_zip),
    Attack("ID token not encrypted", "id_token_not_encrypted", hook=not_encrypted),
    Attack("tampered cookie", "cookie_invalid", tamper=tampered_cookie),
    Attack("expired cookie", "cookie_expired", tamper=expired_cookie),
    Attack("no cookie", "cookie_missing", tamper=no_cookie),
    Attack("state mismatch", "state_mismatch", tamper=_params(state="forged-state")),
    Attack("redirect with a foreign iss", "iss_mismatch", tamper=_params(iss="https://idp.attacker.example")),
    Attack("FAPI redirect without iss", "iss_missing", tamper=_params(iss=None)),
    Attack("redirect without a code", "code_missing", tamper=_params(code=None)),
    Attack("replayed state", "state_replayed", prepare=warm_up, tamper=replay_everything, env=REPLAY),
    Attack("replayed code", "code_replayed", prepare=warm_up, tamper=replay_code, env=REPLAY),
    Attack(
        "code injection (no replay table: PKCE + DPoP binding stop it)",
        "token_rejected",
        prepare=attacker_session,
        tamper=inject_attacker_code,
        provider_says="PKCE verification failed",
    ),
    Attack(
        "DPoP proof for the wrong htu",
        "dpop_rejected",
        tamper=dpop_wrong_htu,
        provider_says="DPoP htu does not match the request URL",
    ),
    Attack(
        "DPoP proof with a reused jti",
        "dpop_rejected",
        prepare=capture_token_proof,
        tamper=dpop_replayed_proof,
        provider_says="DPoP jti reused",
    ),
    Attack(
        "provider error on the redirect", "provider_error", tamper=_params(error="access_denied", code=None)
    ),
]


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_attack_fails_closed(attack, configure, fapi, browser, replay_table, monkeypatch, observe_capture):
    env = {k: (replay_table if v == "__replay__" else v) for k, v in attack.env.items()}
    configure("fapi", fapi.issuer, **env)
    ctx = Ctx(server=fapi, browser=browser, monkeypatch=monkeypatch)
    if attack.prepare is not None:
        attack.prepare(ctx)
    logins_before = len(observe_capture.metric_values("AuthLogins"))
    fapi.id_token_hook = attack.hook

    resp, cookie = browser.login()
    params = browser.authorize(resp["headers"]["Location"])
    sent_cookie: str | None = cookie
    if attack.tamper is not None:
        params, sent_cookie = attack.tamper(params, cookie, ctx)
    out = browser.callback(params, sent_cookie)

    assert out["statusCode"] == attack.status
    assert "Sign-in failed" in out["body"] and attack.reason not in out["body"]
    assert not any(c.startswith(SESSION_COOKIE) for c in out["cookies"])
    assert any(c.startswith(f"{LOGIN_COOKIE}=;") and "Max-Age=0" in c for c in out["cookies"])
    assert browser.failure_reasons(observe_capture.logs) == [attack.reason]
    assert observe_capture.metric_values("AuthFailures", reason=attack.reason) == [1]
    assert len(observe_capture.metric_values("AuthLogins")) == logins_before
    if attack.provider_says is not None:
        assert fapi.errors("/token")[-1]["description"] == attack.provider_says
    if attack.name.startswith("unknown kid"):
        # the warm cache missed, the JWKS was fetched exactly once more, then we failed closed
        assert get_runtime().provider.fetches["jwks"] == ctx.earlier["jwks_fetches"] + 1


def test_every_attack_has_its_own_case_and_the_reasons_are_catalogued_values():
    from pipelines.auth.errors import Reason

    assert len({a.name for a in ATTACKS}) == len(ATTACKS)
    assert {a.reason for a in ATTACKS} <= {r.value for r in Reason}
