"""The sealed login cookie and the application session: round trips, rotation, tampering, expiry."""

from __future__ import annotations

import json
import time

import pytest
from joserfc import jwe

from pipelines.auth import keys as auth_keys
from pipelines.auth.cookie import LoginContext, clear_cookie, open_sealed, seal, set_cookie
from pipelines.auth.errors import AuthFailure, Reason
from pipelines.auth.session import (
    InvalidSession,
    issue_session,
    mask_nric,
    parse_sub,
    session_claims,
    verify_session,
)


def _keys(cookie_raw: str | None = None) -> auth_keys.ClientKeys:
    values = auth_keys.generate_all()
    return auth_keys.parse_keys(values["signing"], values["encryption"], cookie_raw or values["cookie"])


def _ctx(now: float, ttl: float = 600) -> LoginContext:
    return LoginContext("st", "no", "ver" * 20, "fapi", "https://idp", now, now + ttl, {"kty": "EC"})


def test_cookie_round_trip_hides_the_verifier():
    keys = _keys()
    now = time.time()
    sealed = seal(_ctx(now), keys.active_cookie)
    assert "ver" not in sealed and "st" not in sealed.split(".")[0]
    assert open_sealed(sealed, keys.cookie_by_kid(), now=now + 1) == _ctx(now)


def test_cookie_sealed_with_a_rotated_out_key_still_opens():
    old = auth_keys.generate_cookie_key()
    rotated = auth_keys.rotate(json.dumps({"keys": [old]}), auth_keys.generate_cookie_key())
    keys = _keys(rotated)
    assert keys.active_cookie.kid != old["kid"]
    now = time.time()
    sealed = seal(_ctx(now), keys.cookie[1])
    assert open_sealed(sealed, keys.cookie_by_kid(), now=now).state == "st"


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda s, k: s[:-3] + ("AAA" if not s.endswith("AAA") else "BBB"), Reason.COOKIE_INVALID),
        (lambda s, k: "garbage", Reason.COOKIE_INVALID),
        (lambda s, k: seal(_ctx(time.time()), _keys().active_cookie), Reason.COOKIE_INVALID),  # foreign key
        (lambda s, k: seal(_ctx(time.time() - 700), k.active_cookie), Reason.COOKIE_EXPIRED),
        (
            lambda s, k: jwe.encrypt_compact(
                {"alg": "dir", "enc": "A256GCM", "kid": k.active_cookie.kid, "cty": "other"},
                "{}",
                k.active_cookie,
                algorithms=["dir", "A256GCM"],
            ),
            Reason.COOKIE_INVALID,
        ),
    ],
    ids=["tampered", "garbage", "other deployment's key", "expired", "not a login context"],
)
def test_bad_cookies_fail_with_their_reason(mutate, reason):
    keys = _keys()
    sealed = seal(_ctx(time.time()), keys.active_cookie)
    with pytest.raises(AuthFailure) as err:
        open_sealed(mutate(sealed, keys), keys.cookie_by_kid())
    assert err.value.reason is reason


def test_cookie_attributes():
    value = set_cookie("__Host-x", "v", max_age=600)
    assert value.startswith("__Host-x=v;")
    for part in ("Path=/", "Max-Age=600", "HttpOnly", "Secure", "SameSite=Lax"):
        assert part in value
    assert "Domain" not in value and "Max-Age=0" in clear_cookie("__Host-x")


# --- session ---------------------------------------------------------------------------------------


def test_sub_parsing_and_nric_masking():
    assert parse_sub("s=S1234567D,u=abc") == {"s": "S1234567D", "u": "abc"}
    assert parse_sub("s=Y4581892I,fid=G730Z-H5P96,coi=DE,u=x")["coi"] == "DE"
    assert parse_sub("plain-uuid") == {"u": "plain-uuid"}
    assert mask_nric("S1234567D") == "S****567D"
    assert mask_nric("not-an-nric") is None and mask_nric(None) is None


def test_session_claims_carry_only_what_the_app_needs():
    id_claims = {"sub": "s=S1234567D,u=uuid-1", "amr": ["pwd"], "nonce": "n", "at_hash": "h", "iss": "x"}
    claims = session_claims(
        id_claims, {"name": "TAN", "email": "t@example.com"}, mode="fapi", extra=("name",)
    )
    assert claims == {
        "sub": "uuid-1",
        "mode": "fapi",
        "nric_masked": "S****567D",
        "amr": ["pwd"],
        "name": "TAN",
    }
    nric_in_attributes = {"sub": "uuid-2", "sub_attributes": {"identity_number": "T0123456A"}}
    assert session_claims(nric_in_attributes, None, mode="fapi")["nric_masked"] == "T****456A"
    foreign = session_claims({"sub": "s=Y4581892I,fid=F,coi=DE,u=u3"}, None, mode="legacy")
    assert foreign["foreign_account"] is True and foreign["sub"] == "u3"


def test_session_round_trip_and_rejections():
    keys = _keys()
    now = time.time()
    token = issue_session({"sub": "u"}, keys, audience="https://app", ttl_s=900, now=now)
    claims = verify_session(token, keys, audience="https://app", now=now + 10)
    assert claims["sub"] == "u" and claims["exp"] - claims["iat"] == 900
    for bad_token, audience, at in [
        (token, "https://other-app", now),
        (token, "https://app", now + 901),
        (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "https://app", now),
        ("a.b", "https://app", now),
    ]:
        with pytest.raises(InvalidSession):
            verify_session(bad_token, keys, audience=audience, now=at)
    with pytest.raises(InvalidSession):
        verify_session(token, _keys(), audience="https://app", now=now)  # another deployment's key


def test_session_key_is_not_the_cookie_key():
    keys = _keys()
    derived = auth_keys.derive_key(keys.active_cookie, b"app-session/v1")
    assert derived != keys.active_cookie.raw_value and len(derived) == 32
