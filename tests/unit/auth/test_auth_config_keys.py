"""Configuration and key material: every bad setting fails at load with a message naming it."""

from __future__ import annotations

import json
import os
import stat

import pytest

from pipelines.auth import keys as auth_keys
from pipelines.auth.config import REQUIRED, load_config
from pipelines.auth.errors import AuthConfigError

ENV = {
    "SINGPASS_MODE": "fapi",
    "SINGPASS_ISSUER": "https://id.singpass.gov.sg/fapi",
    "CLIENT_ID": "cid",
    "REDIRECT_URI": "https://app.example.sg/callback",
    "SIGNING_KEY_PARAM": "/auth/prd/signing-key",
    "ENCRYPTION_KEY_PARAM": "/auth/prd/encryption-key",
    "COOKIE_KEY_PARAM": "/auth/prd/cookie-key",
}


def test_a_complete_environment_loads_with_defaults():
    cfg = load_config(ENV)
    assert cfg.fapi and cfg.scope == "openid" and cfg.jwks_cache_s >= 3600
    assert cfg.session_audience == "https://app.example.sg" and cfg.replay_table is None


def test_every_missing_variable_is_named_at_once():
    with pytest.raises(AuthConfigError) as err:
        load_config({})
    for name in REQUIRED:
        assert name in str(err.value)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"SINGPASS_MODE": "oauth"}, "SINGPASS_MODE"),
        ({"SINGPASS_ISSUER": "id.singpass.gov.sg"}, "SINGPASS_ISSUER"),
        ({"SINGPASS_ISSUER": "http://id.singpass.gov.sg"}, "https"),
        ({"REDIRECT_URI": "https://app/cb?x=1"}, "REDIRECT_URI"),
        ({"POST_LOGIN_REDIRECT": "https://evil.example"}, "POST_LOGIN_REDIRECT"),
        ({"POST_LOGIN_REDIRECT": "//evil.example"}, "POST_LOGIN_REDIRECT"),
        ({"SESSION_CLAIMS": "name,nric"}, "SESSION_CLAIMS"),
        ({"JWKS_CACHE_SECONDS": "60"}, "JWKS_CACHE_SECONDS"),
        ({"SINGPASS_SCOPE": "profile"}, "SINGPASS_SCOPE"),
        ({"SINGPASS_MODE": "legacy", "SINGPASS_USERINFO": "true"}, "SINGPASS_USERINFO"),
        ({"REPLAY_GUARD": "maybe"}, "REPLAY_GUARD"),
    ],
)
def test_bad_settings_are_named(change, named):
    with pytest.raises(AuthConfigError) as err:
        load_config({**ENV, **change})
    assert named in str(err.value)


def test_the_replay_guard_is_on_by_default_in_stg_and_prd():
    for environment in ("stg", "prd"):
        with pytest.raises(AuthConfigError) as err:
            load_config({**ENV, "ENVIRONMENT": environment})
        assert "REPLAY_TABLE" in str(err.value)
        assert load_config({**ENV, "ENVIRONMENT": environment, "REPLAY_TABLE": "t"}).replay_table == "t"
        assert load_config({**ENV, "ENVIRONMENT": environment, "REPLAY_GUARD": "false"}).replay_table is None
    assert load_config({**ENV, "ENVIRONMENT": "dev"}).replay_table is None


def test_plain_http_is_only_for_localhost_in_dev():
    local = {
        **ENV,
        "SINGPASS_ISSUER": "http://127.0.0.1:5156/singpass/v2",
        "REDIRECT_URI": "http://localhost/cb",
    }
    assert load_config(local).issuer.startswith("http://127.0.0.1")
    with pytest.raises(AuthConfigError):
        load_config({**local, "ENVIRONMENT": "stg", "REPLAY_TABLE": "t"})


# --- keys ----------------------------------------------------------------------------------------


def test_generated_keys_parse_and_publish_only_public_members():
    values = auth_keys.generate_all()
    keys = auth_keys.parse_keys(values["signing"], values["encryption"], values["cookie"])
    jwks = keys.public_jwks()
    assert [k["use"] for k in jwks["keys"]] == ["sig", "enc"]
    assert [k["alg"] for k in jwks["keys"]] == ["ES256", "ECDH-ES+A256KW"]
    for key in jwks["keys"]:
        assert key["kty"] == "EC" and key["crv"] == "P-256" and "d" not in key
    assert str(keys.active_cookie.kid) not in json.dumps(jwks)  # the cookie key is never published


@pytest.mark.parametrize(
    ("which", "value", "message"),
    [
        ("signing", "not json", "SIGNING_KEY_PARAM: not JSON"),
        ("signing", json.dumps({"kty": "EC"}), "key #0"),
        ("signing", json.dumps({"keys": []}), "empty"),
        ("encryption", "PUBLIC", "public"),
        ("signing", "P384", "crv=P-256"),
        ("signing", "NOKID", "kid"),
        ("signing", "ENCUSE", "use"),
        ("cookie", json.dumps({"kty": "oct", "k": "c2hvcnQ", "kid": "c"}), "bits"),
        ("cookie", "ECCOOKIE", "kty=oct"),
        ("signing", "DUPKIDS", "duplicate kid"),
    ],
)
def test_bad_key_material_is_named(which, value, message):
    from joserfc.jwk import ECKey

    values = auth_keys.generate_all()
    sig = json.loads(values["signing"])["keys"][0]
    special = {
        "PUBLIC": lambda: json.dumps(
            {k: v for k, v in json.loads(values["encryption"])["keys"][0].items() if k != "d"}
        ),
        "P384": lambda: json.dumps({**ECKey.generate_key("P-384").as_dict(private=True), "kid": "x"}),
        "NOKID": lambda: json.dumps({k: v for k, v in sig.items() if k != "kid"}),
        "ENCUSE": lambda: json.dumps({**sig, "use": "enc"}),
        "ECCOOKIE": lambda: json.dumps(sig),
        "DUPKIDS": lambda: json.dumps(
            {"keys": [sig, {**auth_keys.generate_signing_key(), "kid": sig["kid"]}]}
        ),
    }
    values[which] = special[value]() if value in special else value
    with pytest.raises(AuthConfigError) as err:
        auth_keys.parse_keys(values["signing"], values["encryption"], values["cookie"])
    assert message in str(err.value)
    assert '"d"' not in str(err.value) and sig["d"] not in str(err.value)


def test_signing_and_encryption_may_not_share_a_kid():
    values = auth_keys.generate_all()
    enc = json.loads(values["encryption"])["keys"][0]
    sig = {**json.loads(values["signing"])["keys"][0], "kid": enc["kid"]}
    with pytest.raises(AuthConfigError, match="share kid"):
        auth_keys.parse_keys(json.dumps(sig), values["encryption"], values["cookie"])


def test_rotation_puts_the_new_key_first_and_keeps_the_requested_number():
    k1, k2, k3 = (auth_keys.generate_signing_key() for _ in range(3))
    once = auth_keys.rotate(json.dumps({"keys": [k1]}), k2)
    twice = auth_keys.rotate(once, k3, keep=1)
    assert [k["kid"] for k in json.loads(once)["keys"]] == [k2["kid"], k1["kid"]]
    assert [k["kid"] for k in json.loads(twice)["keys"]] == [k3["kid"], k2["kid"]]
    assert [k["kid"] for k in json.loads(auth_keys.rotate(None, k1))["keys"]] == [k1["kid"]]


def test_cli_writes_private_keys_to_0600_files_and_prints_only_the_public_jwks(tmp_path, capsys):
    assert auth_keys.main(["--out-dir", str(tmp_path / "keys")]) == 0
    out = capsys.readouterr().out
    printed = json.loads(out)
    assert len(printed["keys"]) == 2 and all("d" not in k for k in printed["keys"])
    for purpose in ("signing", "encryption", "cookie"):
        path = tmp_path / "keys" / f"{purpose}.json"
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        secret = json.loads(path.read_text())["keys"][0]
        assert (secret.get("d") or secret.get("k")) not in out


def test_cli_requires_a_destination():
    with pytest.raises(SystemExit):
        auth_keys.main([])
    with pytest.raises(SystemExit):
        auth_keys.main(["--out-dir", "/tmp/x", "--rotate"])
