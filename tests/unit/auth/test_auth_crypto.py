"""Units of the JOSE layer: RFC test vectors, what the client signs, the claim checks."""

from __future__ import annotations

import json
import time

import pytest
from joserfc import jws
from joserfc.jwk import ECKey

from pipelines.auth import crypto
from pipelines.auth.errors import AuthFailure, Reason


def _payload(token: str) -> dict:
    return json.loads(crypto.b64url_decode(token.split(".")[1]))


def _header(token: str) -> dict:
    return crypto.decode_header(token.split(".")[0])


def test_pkce_s256_matches_rfc7636_appendix_b():
    assert crypto.sha256_b64url("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == (
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


def test_pkce_pair_is_fresh_and_within_the_rfc_limits():
    verifier, challenge = crypto.pkce_pair()
    other, _ = crypto.pkce_pair()
    assert 43 <= len(verifier) <= 128 and verifier != other
    assert set(verifier) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert challenge == crypto.sha256_b64url(verifier) and len(challenge) == 43


def test_at_hash_matches_the_oidc_core_example():
    # OpenID Connect Core 1.0, appendix A.3 (RS256 -> SHA-256, same half-hash rule as ES256)
    assert crypto.token_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y") == "77QmUPtjPfzWtF2AnpK9RQ"


def test_jwk_thumbprint_agrees_with_joserfc():
    key = ECKey.generate_key("P-256")
    assert crypto.jwk_thumbprint(key.as_dict(private=False)) == key.thumbprint()


def test_client_assertion_claims_and_header():
    key = ECKey.generate_key("P-256", parameters={"kid": "sig-1"})
    now = 1_800_000_000
    one = crypto.client_assertion(key, "client-a", "https://idp.example", now=now)
    two = crypto.client_assertion(key, "client-a", "https://idp.example", now=now)
    claims = _payload(one)
    assert _header(one) == {"alg": "ES256", "typ": "JWT", "kid": "sig-1"}
    assert claims["iss"] == claims["sub"] == "client-a"
    assert claims["aud"] == "https://idp.example"  # a string: Singpass wants exactly the issuer
    assert claims["iat"] == now and 0 < claims["exp"] - claims["iat"] <= 120
    assert claims["jti"] != _payload(two)["jti"]
    jws.deserialize_compact(one, ECKey.import_key(key.as_dict(private=False)), algorithms=["ES256"])


def test_dpop_proof_shape():
    key = crypto.new_dpop_key()
    proof = crypto.dpop_proof(
        key, "post", "https://idp.example/token?x=1#frag", nonce="n-1", access_token="at"
    )
    header, claims = _header(proof), _payload(proof)
    assert header["typ"] == "dpop+jwt" and header["alg"] == "ES256"
    assert set(header["jwk"]) == {"kty", "crv", "x", "y"}  # public only
    assert claims["htm"] == "POST" and claims["htu"] == "https://idp.example/token"
    assert claims["nonce"] == "n-1" and claims["ath"] == crypto.sha256_b64url("at")
    assert abs(claims["iat"] - time.time()) < 5 and len(claims["jti"]) >= 22
    jws.deserialize_compact(proof, ECKey.import_key(header["jwk"]), algorithms=["ES256"])


def test_b64url_decode_rejects_padding_and_standard_alphabet():
    for bad in ("ab+c", "ab/c", "abc=", "a b"):
        with pytest.raises(ValueError):
            crypto.b64url_decode(bad)


# --- claim checks ------------------------------------------------------------------------------------

NOW = 1_800_000_000.0
BASE = {
    "iss": "https://idp",
    "aud": "cid",
    "sub": "s=S1234567D,u=u1",
    "iat": NOW,
    "exp": NOW + 600,
    "nonce": "n",
}


def _check(claims: dict, *, access_token: str | None = None, now: float = NOW) -> None:
    crypto.check_id_token_claims(
        claims, issuer="https://idp", client_id="cid", nonce="n", access_token=access_token, now=now
    )


def test_valid_claims_pass_with_fractional_iat_and_a_small_clock_skew():
    _check({**BASE, "iat": NOW + 12.345})
    _check(BASE, now=NOW + 600 + 20)  # 20 s past exp, inside the 30 s leeway


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"iss": "https://other"}, Reason.ID_TOKEN_ISS),
        ({"aud": "other"}, Reason.ID_TOKEN_AUD),
        ({"aud": ["cid", "other"]}, Reason.ID_TOKEN_AUD),  # several audiences need azp = us
        ({"exp": NOW - 31}, Reason.ID_TOKEN_EXPIRED),
        ({"iat": NOW + 31}, Reason.ID_TOKEN_IAT_FUTURE),
        ({"nonce": "m"}, Reason.ID_TOKEN_NONCE),
        ({"nonce": None}, Reason.ID_TOKEN_NONCE),
        ({"exp": "later"}, Reason.ID_TOKEN_CLAIMS_INVALID),
        ({"exp": True}, Reason.ID_TOKEN_CLAIMS_INVALID),
        ({"sub": ""}, Reason.ID_TOKEN_CLAIMS_INVALID),
        ({"at_hash": "AAAAAAAAAAAAAAAAAAAAAA"}, Reason.ID_TOKEN_AT_HASH),
    ],
)
def test_each_bad_claim_has_its_reason(change, reason):
    with pytest.raises(AuthFailure) as err:
        _check({**BASE, **change}, access_token="token")
    assert err.value.reason is reason


def test_several_audiences_with_azp_and_a_matching_at_hash_pass():
    _check(
        {**BASE, "aud": ["cid", "other"], "azp": "cid", "at_hash": crypto.token_hash("tok")},
        access_token="tok",
    )


def test_at_hash_without_an_access_token_fails():
    with pytest.raises(AuthFailure) as err:
        _check({**BASE, "at_hash": crypto.token_hash("tok")})
    assert err.value.reason is Reason.ID_TOKEN_AT_HASH


def test_malformed_tokens_are_named():
    with pytest.raises(AuthFailure) as err:
        crypto.verify_jws("not-a-jwt", lambda kid: None)
    assert err.value.reason is Reason.JWS_MALFORMED
    with pytest.raises(AuthFailure) as err:
        crypto.decrypt_jwe("a.b.c.d", {})
    assert err.value.reason is Reason.JWE_MALFORMED


def test_a_provider_key_of_the_wrong_type_is_not_used():
    rsa_like = ECKey.generate_key("P-384", parameters={"kid": "k"})
    signer = ECKey.generate_key("P-256", parameters={"kid": "k"})
    token = jws.serialize_compact({"alg": "ES256", "kid": "k"}, "{}", signer)
    with pytest.raises(AuthFailure) as err:
        crypto.verify_jws(token, lambda kid: rsa_like)
    assert err.value.reason is Reason.JWS_KID_UNKNOWN


def test_failure_details_never_echo_long_header_values():
    token = f"{crypto.b64url(json.dumps({'alg': 'X' * 500}).encode())}.e30.AA"
    with pytest.raises(AuthFailure) as err:
        crypto.verify_jws(token, lambda kid: None)
    assert len(err.value.detail) < 120
