"""The three redaction nets one by one: keys, shapes, names in text; what must stay; the rules API."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import NamedTuple

import pytest

from observe import redact
from observe.redact import MASK, RedactionRuleError, add_rules, is_sensitive_key, redact_text, redact_value

# --- the key net ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "accessToken", "AccessToken", "access-token", "ACCESS_TOKEN", "SessionToken", "codeVerifier",
        "clientAssertion", "passphrase", "session_id", "sid", "csrftoken", "X-Amz-Security-Token",
        "SecretAccessKey", "aws_secret_access_key", "client_secret", "refresh_token", "id_token",
        "Authorization", "Proxy-Authorization", "Set-Cookie", "cookie", "password", "passWord",
        "db_password", "x-api-key", "apiKey", "APIKey", "private_key", "signing_jwk", "nric", "uinfin",
        "NRIC_FIN", "otp", "pin", "cvv", "code", "auth_code", "authorization_code", "SecretString",
        "credentials", "Credentials", "jsessionid", "x_auth_token", "dpop", "signature", "sig",
    ],
)  # fmt: skip
def test_sensitive_keys_in_every_naming_style(key) -> None:
    assert is_sensitive_key(key), key


@pytest.mark.parametrize(
    "key",
    [
        "status_code", "error_code", "country_code", "code_challenge", "code_challenge_method",
        "next_token", "NextToken", "continuation_token", "NextContinuationToken", "nextPageToken",
        "page_token", "secret_arn", "SecretArn", "secret_name", "SecretId", "api_key_id",
        "access_key_id", "AccessKeyId", "private_key_id", "kid", "token_type", "expires_in",
        "refresh_token_expires_in", "cookie_consent", "cookie_domain", "nric_valid", "password_changed",
        "password_policy", "token_endpoint", "client_id", "key", "Key", "s3_key", "partition_key",
        "idempotency_key", "state", "nonce", "count", "records", "message", "pipeline", "partition",
    ],
)  # fmt: skip
def test_keys_about_secrets_are_not_secrets(key) -> None:
    assert not is_sensitive_key(key), key


def test_values_that_cannot_be_secrets_stay_under_sensitive_keys() -> None:
    doc = {
        "code": 404, "token": None, "password": True, "secret": False, "pin": 12, "otp": 0.5,
        "code_str": "ThrottlingException", "auth_code": "invalid_grant", "Code": "NoSuchKey",
        "client_secret": "arn:aws:secretsmanager:ap-southeast-1:123456789012:secret:prod/db-AbCdEf",
        "session": "", "token_b": "[REDACTED]",
    }  # fmt: skip
    assert redact_value(doc) == doc
    masked = [
        ("code", 4321), ("pin", 1234), ("otp", 123456), ("cvv", 123), ("auth_code", "SplxlOBeZQQYbYS6WxSbIA"),
        ("password", "hunter2"), ("code", 1234.0), ("token", {"a": 1}), ("cookies", ["a"]),
        ("code", "abc-cause"),
    ]  # fmt: skip
    for key, value in masked:
        assert redact_value({key: value}) == {key: MASK}, (key, value)


def test_the_over_redaction_list_of_the_issue() -> None:
    fields = {
        "code": 404, "next_token": "AAMA-EFRSURBSGl2", "continuation_token": "1ueGcxLPRx1Tr",
        "secret_arn": "arn:aws:secretsmanager:ap-southeast-1:123456789012:secret:x-Ab12Cd",
        "secret_name": "prod/db", "nric_valid": True, "password_changed": False,
        "cookie_consent": "accepted", "api_key_id": "k-12345",
    }  # fmt: skip
    assert redact_value(fields) == fields
    for text in (
        "basic validation of the input",
        "the bearer of this letter",
        "logo@2x.png and icon@3x.webp",
        "git@github.com:opengovsg/mockpass.git",
        "code=404 next_token=AAMA-EFRSURBSGl2&continuation_token=1ueGcxLPRx1Tr",
        "token_rejected: HTTP 502, password_changed=False, secret_missing: prod/db",
    ):
        assert redact_text(text) == text
    cert = _certificate_pem()
    assert redact_text(cert) == cert
    assert redact_text(f"cert: {json.dumps(cert)}") == f"cert: {json.dumps(cert)}"


def test_jwk_keeps_only_its_public_members() -> None:
    from joserfc.jwk import ECKey, OctKey, RSAKey

    for key in (RSAKey.generate_key(2048), ECKey.generate_key("P-256"), OctKey.generate_key(256)):
        private = key.as_dict(private=True)
        out = redact_value({"jwk": private, "nested": {"keys": [private]}})
        for jwk in (out["jwk"], out["nested"]["keys"][0]):
            assert set(jwk) == set(private)
            for member, value in private.items():
                if member in redact.JWK_PUBLIC:
                    assert jwk[member] == value, member
                else:
                    assert jwk[member] == MASK, member
        assert {m for m in private if m not in redact.JWK_PUBLIC} >= (
            {"k"} if private["kty"] == "oct" else {"d"}
        )
    # outside a JWK, the bare private members are masked when they look like key material
    assert redact_value({"d": "9kWm2b1zLwqv0aQ3xYpT7s-R_Jc4nE8hFuDiVgKoBlM"}) == {"d": MASK}
    assert redact_value({"d": "2026-11-26", "q": "search terms"}) == {"d": "2026-11-26", "q": "search terms"}


# --- the shape net --------------------------------------------------------------------------------


def _certificate_pem() -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _private_keys() -> list[bytes]:
    from cryptography.hazmat.primitives import serialization as s
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ed_key = ed25519.Ed25519PrivateKey.generate()
    der = s.Encoding.DER
    return [
        rsa_key.private_bytes(der, s.PrivateFormat.PKCS8, s.NoEncryption()),
        rsa_key.private_bytes(der, s.PrivateFormat.TraditionalOpenSSL, s.NoEncryption()),
        ec_key.private_bytes(der, s.PrivateFormat.PKCS8, s.NoEncryption()),
        ec_key.private_bytes(der, s.PrivateFormat.TraditionalOpenSSL, s.NoEncryption()),
        ed_key.private_bytes(der, s.PrivateFormat.PKCS8, s.NoEncryption()),
    ]


def test_private_keys_armoured_or_not_and_public_ones_kept() -> None:
    from cryptography.hazmat.primitives import serialization as s
    from cryptography.hazmat.primitives.serialization import load_der_private_key

    for der in _private_keys():
        b64 = base64.b64encode(der).decode()
        assert redact_text(f"key={b64[:0]}x {b64} end") == "key=x [REDACTED:private_key] end"
        pem = load_der_private_key(der, None).private_bytes(
            s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()
        )
        assert redact_text(f"k: {pem.decode()}") == "k: [REDACTED:pem]\n"
        public = load_der_private_key(der, None).public_key()
        spki = base64.b64encode(public.public_bytes(s.Encoding.DER, s.PublicFormat.SubjectPublicKeyInfo))
        assert redact_text(spki.decode()) == spki.decode()
        public_pem = public.public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo).decode()
        assert redact_text(public_pem) == public_pem


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call +65 9123 4567 today", "call [REDACTED:phone] today"),
        ("+6591234567", "[REDACTED:phone]"),
        ("mobile 91234567, office 6123-4567", "mobile [REDACTED:phone], office [REDACTED:phone]"),
        ("+1-415-555-2671 or +44 20 7946 0958", "[REDACTED:phone] or [REDACTED:phone]"),
        ("order 1-91234567-x and 12.91234567 and 9123456789",) * 2,
        ("utc+08:00 2026-11-26T04:05:06+0800", "utc+08:00 2026-11-26T04:05:06+0800"),
        ("a ghp_" + "a1" * 18 + " b", "a [REDACTED:token] b"),
        ("xoxb-1234567890-abcdefghij", "[REDACTED:token]"),
        ("sk_live_" + "a" * 24, "[REDACTED:token]"),
        ("AKIAIOSFODNN7EXAMPLE and ASIAIOSFODNN7EXAMPLE", "[REDACTED:aws_key] and [REDACTED:aws_key]"),
        ("Basic dXNlcjpwYXNz", "[REDACTED:bearer]"),
        ("Bearer abcdefghijklmnop and bearer Kqzxwvbnmlptrs", "[REDACTED:bearer] and [REDACTED:bearer]"),
        ("Basic Auth, a DPoP proof, the bearer token, basic authentication",) * 2,
        ('Bearer realm="api", error="invalid_token"',) * 2,
        ("authorization: DPoP Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO", "authorization: [REDACTED:bearer]"),
        ("key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY end", "key [REDACTED:aws_secret] end"),
        ("sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709",) * 2,
        ("call 6591234567 or 65 9123 4567", "call [REDACTED:phone] or [REDACTED:phone]"),
        ("glpat-abcdefghijklmnopqrstu GOCSPX-abcdefghijklmnopqrstuvwx", "[REDACTED:token] [REDACTED:token]"),
        ("mailto:jane.doe@example.com.sg", "mailto:[REDACTED:email]"),
        ("jane%40example.com", "[REDACTED:email]"),
        ("ssh://git@github.com/org/repo", "ssh://git@github.com/org/repo"),
        ("pkg@1.2.3 and @opengovsg/mockpass and user@localhost",) * 2,
    ],
)  # fmt: skip
def test_shapes(text, expected) -> None:
    assert redact_text(text) == expected


@pytest.mark.parametrize("escape", ["\n", "\t", "\r", "\x0b", "\x00"])
def test_an_nric_after_an_escape_as_repr_and_json_write_it(escape) -> None:
    for rendered in (
        repr(escape + "S1234567D"),
        repr([escape + "S1234567D"]),
        json.dumps(escape + "S1234567D"),
    ):
        assert "S1234567D" not in redact_text(rendered), rendered
    assert "S1234567D" not in redact_text(repr(KeyError(escape + "S1234567D")))
    assert "S1234567D" not in redact_text("%0AS1234567D")


# --- the name-in-text net -------------------------------------------------------------------------

SECRET = "Zm9yZ2VkLWNvZGUtdmFsdWU"


@pytest.mark.parametrize(
    "template",
    [
        "https://app.example/cb?code={s}&state=abc",
        "https://app.example/cb#access_token={s}&token_type=Bearer",
        "grant_type=authorization_code&code={s}&code_verifier={s}",
        '{{"client_secret": "{s}", "n": 1}}',
        '{{"accessToken":"{s}"}}',
        '{{\\"refresh_token\\":\\"{s}\\"}}',
        "password: {s}",
        "Authorization: Bearer {s}\r\nHost: api",
        "Cookie: theme=dark; session={s}\r\n",
        "Set-Cookie: sid={s}; Path=/; HttpOnly",
        "X-Api-Key: {s}",
        "[('authorization', 'Basic {s}'), ('accept', 'json')]",
        "[(b'x-amz-security-token', b'{s}')]",
        "{{'SessionToken': '{s}'}}",
        "Credentials(access_key='AKIAIOSFODNN7EXAMPLE', secret_key='{s}', token='{s}')",
        "postgres://admin:{s}@db.internal:5432/app",
        "redis://:{s}@cache:6379/0",
        "api_key => '{s}'",
        "next=https%3A%2F%2Fapp%2Fcb%3Fcode%3D{s}%26state%3Dx",
        "user[password]={s}",
        "csrftoken={s}; sessionid={s}",
        "X-Amz-Signature={s}&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261126",
        "codeVerifier={s} clientAssertion={s} passphrase={s}",
        "'\\ncode={s}'",
        "aws configure --aws-secret-access-key {s} --region ap-southeast-1",
        "pass={s} pw: {s}",
        '<soap:Header><wsse:Password Type="PasswordText">{s}</wsse:Password></soap:Header>',
        "<creds><client_secret>{s}</client_secret><region>sg</region></creds>",
        '{{"kty":"oct","k":"{s}","alg":"A128KW"}}',
        '{{"kty":"RSA","n":"0vx7","e":"AQAB","d":"{s}","p":"{s}","q":"{s}","dp":"{s}","dq":"{s}","qi":"{s}"}}',
    ],
)
def test_names_in_text_in_every_separator_style(template) -> None:
    text = template.format(s=SECRET)
    out = redact_text(text)
    assert SECRET not in out and SECRET[:8] not in out, out


def test_text_pairs_leave_the_rest_alone() -> None:
    text = "https://h/p?page=2&code=abc123XYZ&state=ok#frag"
    assert redact_text(text) == "https://h/p?page=2&code=[REDACTED]&state=ok#frag"
    assert redact_text("a == b and password == x") == "a == b and password == x"
    assert redact_text("error code: 0, exit code: 1, code=404") == "error code: 0, exit code: 1, code=404"
    assert redact_text("Code: ThrottlingException") == "Code: ThrottlingException"
    assert redact_text('{"code":404} Row(code=404) <code=404>') == '{"code":404} Row(code=404) <code=404>'
    assert redact_text("password=Xk9$mP(2vL!qR7#w|x end") == "password=[REDACTED] end"


# --- what must survive ------------------------------------------------------------------------------

CORPUS = [
    "3f1c0b8e-0000-4000-8000-000000000000",
    "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "2026-11-26T04:05:06.789Z",
    "2026-11-26T04:05:06+08:00",
    "arn:aws:lambda:ap-southeast-1:123456789012:function:ingest-worker:$LATEST",
    "arn:aws:secretsmanager:ap-southeast-1:123456789012:secret:prod/db-password-AbCdEf",
    "arn:aws:ssm:ap-southeast-1:123456789012:parameter/app/prd/client_secret",
    "s3://raw-bucket/ingest/2026/11/26/part-00001-8f7200773e1b.json.gz",
    "raw/2026/11/26/batch=42/records.parquet",
    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
    "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a8nXCZqNn7cXmqvJu+E9pKQhhdZGnVBq+hD6mXnfHk2T0qOfNo3cYm0+MY5pQ==",
    "49590338271490256608559692538361571095921575989136588898",
    "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
    '{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","kid":"k1","use":"sig"}',
    "status=200 statusCode: 404 HTTP/1.1 503 Service Unavailable",
    "NextToken=eyJ2IjoiMSIsImMiOiJhYmMifQ== next_token: AAMA-EFRSURBSGl2",
    "urn:ietf:params:oauth:token-type:jwt",
    "duration_ms=12.5 max_memory_mb=88.1 records=250 page=3",
    "GET /items?page=2&limit=50 HTTP/1.1",
]


@pytest.mark.parametrize("value", CORPUS)
def test_values_that_must_survive(value) -> None:
    assert redact_text(value) == value
    assert redact_value({"value": value, "id": value}) == {"value": value, "id": value}


# --- structures and objects -------------------------------------------------------------------------


@dataclass
class Config:
    user: str
    password: str
    port: int = 5432


class Credentials(NamedTuple):
    access_key: str
    secret_key: str
    token: str


class Model:
    def __init__(self) -> None:
        self.name = "x"
        self.api_key = SECRET

    def model_dump(self) -> dict:
        return {"name": self.name, "apiKey": self.api_key}


class Plain:
    def __init__(self) -> None:
        self.client_secret = SECRET
        self.region = "ap-southeast-1"


def test_objects_are_redacted_by_their_field_names() -> None:
    out = redact_value(
        {
            "cfg": Config("bob", SECRET),
            "boto": Credentials("AKIAIOSFODNN7EXAMPLE", SECRET, SECRET),
            "model": Model(),
            "plain": Plain(),
            "headers": [("Authorization", f"Bearer {SECRET}"), (b"cookie", SECRET.encode())],
            "har": [{"name": "X-Api-Key", "value": SECRET}, {"name": "accept", "value": "json"}],
            "ssm": {"Parameter": {"Name": "/app/db", "Type": "SecureString", "Value": SECRET, "Version": 3}},
            "S1234567D": "an NRIC as a key is",
        }
    )
    text = json.dumps(out)
    assert SECRET not in text
    assert out["cfg"] == {"user": "bob", "password": MASK, "port": 5432}
    assert out["boto"] == {"access_key": MASK, "secret_key": MASK, "token": MASK}
    assert out["model"] == {"name": "x", "apiKey": MASK}
    assert out["plain"] == {"client_secret": MASK, "region": "ap-southeast-1"}
    assert out["har"][1] == {"name": "accept", "value": "json"}
    assert out["ssm"]["Parameter"]["Value"] == MASK and out["ssm"]["Parameter"]["Version"] == 3
    assert "[REDACTED:nric]" in out


def test_exceptions_as_values() -> None:
    exc = ValueError(f"token={SECRET}")
    exc.add_note("for jane@example.com")
    out = redact_value({"err": exc})
    assert out == {
        "err": {"type": "ValueError", "message": "token=[REDACTED]", "notes": ["for [REDACTED:email]"]}
    }


# --- bounds ------------------------------------------------------------------------------------------


def test_a_long_field_is_cut_at_a_delimiter_with_a_marker() -> None:
    text = ("word " * 10_000) + "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln" * 2000
    out = redact_text(text)
    assert len(out) <= redact.MAX_FIELD_CHARS + 64
    assert re.search(r"\[TRUNCATED: \d+ chars\]$", out)
    assert "eyJ" not in out
    # a cut inside one long token drops the token: its head would not be recognised any more
    jwt = "eyJhbGciOiJIUzI1NiJ9." + "a" * 40_000
    assert redact_text("x " + jwt).startswith("x [TRUNCATED:")


# Each of these took 20-40 s at 100 kB with the previous patterns (quadratic backtracking). Linear time
# is measured in benchmarks/bench_redact.py; here a generous timeout only guards against a quadratic
# pattern coming back (300 kB quadratic would take minutes).
ADVERSARIAL = {
    "base64url": "aB3-_x9Z" * 37_500,
    "hex": "0123456789abcdef" * 18_750,
    "letters": "a" * 300_000,
    "at-runs": ("a" * 63 + "@") * 4_700,
    "at-dots": "a@b." * 75_000,
    "eyJ": "eyJ" * 100_000,
    "eyJ-dots": "eyJa." * 60_000,
    "pem-begin": "-----BEGIN PRIVATE KEY-----" * 11_000,
    "bearer": "Bearer " * 43_000,
    "pairs": "a=b&" * 75_000,
    "sensitive-pairs": "code=x&" * 43_000,
    "colons": "a:" * 150_000,
    "quotes": '"token":"' * 33_000,
    "escapes": "\\n" * 150_000,
    "digits": "9" * 300_000,
    "nric-ish": "S1234567" * 37_500,
    "percent": "%40%3D" * 50_000,
    "dsn": "://a:" * 60_000,
    "brackets": "token={[" * 37_500,
    "xml-unclosed": "<password>x " * 25_000,
    "xml-tags": "<a></b>" * 43_000,
    "closers": "password=" + ")" * 300_000,
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_adversarial_inputs_are_handled_uncut_and_cut(name) -> None:
    text = ADVERSARIAL[name]
    out = redact.scan(text)  # the engine on the whole text, no cut
    assert isinstance(out, str) and len(out) <= len(text) + 64 * (1 + len(text) // 5)
    assert "[TRUNCATED:" in redact.cut(text)
    assert len(redact_text(text)) <= 4 * redact.MAX_FIELD_CHARS  # cut first; markers may lengthen it


# --- rules added by the project ----------------------------------------------------------------------


@pytest.fixture
def rules():
    yield add_rules
    redact.reset_rules()


def test_added_keys_and_patterns(rules) -> None:
    assert redact_value({"full_name": "Tan Ah Kow"}) == {"full_name": "Tan Ah Kow"}
    rules(keys=["full_name", "customerRef"], patterns={"employee_id": r"EMP-\d{6}"})
    out = redact_value({"fullName": "Tan Ah Kow", "customer_ref": "C-9", "manager_customer_ref": "C-8"})
    assert out == {"fullName": MASK, "customer_ref": MASK, "manager_customer_ref": MASK}
    assert (
        redact_text("by EMP-123456 for full_name=Tan") == "by [REDACTED:employee_id] for full_name=[REDACTED]"
    )
    rules(keys=["full_name"])  # adding the same again is harmless
    assert redact_text("EMP-123456") == "[REDACTED:employee_id]"


@pytest.mark.parametrize(
    ("patterns", "message"),
    [
        ({"x": r"(a+)+$"}, "unbounded repeat"),
        ({"x": r"[\w.]+@corp"}, "unbounded repeat"),
        ({"x": r"(?:a{1,100}){1,100}"}, "at most 256"),
        ({"x": r"(ab)\1"}, "backreferences"),
        ({"x": r"a?"}, "empty string"),
        ({"x": r"(?=a)"}, "empty string"),
        ({"x": r"[unclosed"}, "not a valid regular expression"),
        ({"Bad-Name": r"x"}, "lower-case"),
        ({"x": 5}, "must be a regular expression"),
    ],
)
def test_unsafe_patterns_are_refused_with_a_reason(rules, patterns, message) -> None:
    with pytest.raises(RedactionRuleError, match=message) as err:
        rules(patterns=patterns)
    assert repr(next(iter(patterns))) in str(err.value) or "Bad-Name" in str(err.value)
    assert redact._custom == []


def test_bad_keys_are_refused(rules) -> None:
    with pytest.raises(RedactionRuleError, match="non-empty field name"):
        rules(keys=["ok", "--"])
    assert redact._user_keys == set()


def test_docs_list_every_rule() -> None:
    """docs/logging.md names every built-in word, qualifier, pagination word, public JWK member and marker."""
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[3] / "docs" / "logging.md").read_text(encoding="utf-8")
    groups = {
        "secret words": redact.SECRET_WORDS | redact._STRICT_WORDS,
        "whole keys": redact._ALWAYS,
        "key qualifiers": redact._KEY_QUALIFIERS,
        "code qualifiers": redact._CODE_QUALIFIERS,
        "pagination": redact.PAGINATION_WORDS,
        "JWK public members": redact.JWK_PUBLIC,
        "markers": set(redact.MARKERS.values()),
    }
    missing = {name: sorted(w for w in words if f"`{w}`" not in doc) for name, words in groups.items()}
    assert not any(missing.values()), missing
