"""The client's keys: what they are, where they live (SSM SecureString), how they rotate.

Three parameters, each a private JWK or a JWK Set whose *first* key is the active one and the
rest are kept for rotation:

- ``SIGNING_KEY_PARAM``: EC P-256, ES256. Signs client assertions; published in the JWKS.
- ``ENCRYPTION_KEY_PARAM``: EC P-256, ECDH-ES+A256KW. The provider encrypts ID tokens to it;
  published in the JWKS; old keys still decrypt tokens encrypted just before a rotation.
- ``COOKIE_KEY_PARAM``: a 256-bit symmetric key (``oct``). Seals the login cookie (A256GCM) and,
  through HKDF, signs the application's session. Never published.

Run ``python -m pipelines.auth.keys --help`` to generate keys, write them to SSM, or rotate.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import secrets
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from joserfc.jwk import ECKey, Key, OctKey

from pipelines.auth.errors import AuthConfigError

SIGNING_ALG = "ES256"
ENCRYPTION_ALG = "ECDH-ES+A256KW"
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


@dataclass(frozen=True)
class ClientKeys:
    """The parsed key material: active key first in each list."""

    signing: tuple[ECKey, ...]
    encryption: tuple[ECKey, ...]
    cookie: tuple[OctKey, ...]

    @property
    def active_signing(self) -> ECKey:
        """The key that signs new client assertions."""
        return self.signing[0]

    @property
    def active_cookie(self) -> OctKey:
        """The key that seals new cookies and signs new sessions."""
        return self.cookie[0]

    def encryption_by_kid(self) -> dict[str, Key]:
        """kid -> private encryption key, every one we still hold (rotation)."""
        return {str(k.kid): k for k in self.encryption}

    def cookie_by_kid(self) -> dict[str, OctKey]:
        """kid -> cookie key, every one we still accept."""
        return {str(k.kid): k for k in self.cookie}

    def public_jwks(self) -> dict[str, Any]:
        """The JWKS the provider reads: every signing and encryption key, public parts only."""
        keys: list[dict[str, Any]] = []
        for key in self.signing:
            keys.append(_public(key, use="sig", alg=SIGNING_ALG))
        for key in self.encryption:
            keys.append(_public(key, use="enc", alg=ENCRYPTION_ALG))
        kids = [k["kid"] for k in keys]
        if len(set(kids)) != len(kids):  # parse_keys checks this too; a JWKS must never repeat
            raise AuthConfigError(f"duplicate kid in the public JWKS: {sorted(kids)}")
        return {"keys": keys}


def _public(key: Key, *, use: str, alg: str) -> dict[str, Any]:
    data = key.as_dict(private=False)
    out: dict[str, Any] = {k: v for k, v in data.items() if k not in _PRIVATE_MEMBERS}
    out["use"] = use
    out["alg"] = alg
    out["kid"] = key.kid
    return out


# --- parsing --------------------------------------------------------------------------------------


def _key_dicts(raw: str, where: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(raw)
    except (TypeError, ValueError):
        raise AuthConfigError(f"{where}: not JSON; expected a private JWK or a JWK Set") from None
    if isinstance(data, dict) and isinstance(data.get("keys"), list):
        items = data["keys"]
    elif isinstance(data, dict) and "kty" in data:
        items = [data]
    else:
        raise AuthConfigError(f"{where}: expected a private JWK (with 'kty') or a JWK Set (with 'keys')")
    if not items or not all(isinstance(i, dict) for i in items):
        raise AuthConfigError(f"{where}: the JWK Set is empty or has non-object entries")
    return items


def parse_ec_keys(raw: str, where: str, *, use: str) -> tuple[ECKey, ...]:
    """Private EC P-256 keys from a JWK / JWK Set string; errors name ``where`` and the fix."""
    out: list[ECKey] = []
    for i, item in enumerate(_key_dicts(raw, where)):
        if item.get("kty") != "EC" or item.get("crv") != "P-256":
            raise AuthConfigError(
                f"{where}: key #{i} must be kty=EC crv=P-256 (got {item.get('kty')}/{item.get('crv')})"
            )
        if "d" not in item:
            raise AuthConfigError(f"{where}: key #{i} is public; the parameter must hold the private key")
        if not item.get("kid"):
            raise AuthConfigError(f"{where}: key #{i} has no 'kid'; every key needs a unique kid")
        if item.get("use", use) != use:
            raise AuthConfigError(f"{where}: key #{i} has use={item.get('use')!r}, expected {use!r}")
        try:
            out.append(ECKey.import_key(item))
        except Exception as exc:
            raise AuthConfigError(f"{where}: key #{i} is not a valid EC JWK ({type(exc).__name__})") from None
    _unique_kids(out, where)
    return tuple(out)


def parse_cookie_keys(raw: str, where: str) -> tuple[OctKey, ...]:
    """Symmetric 256-bit keys (``kty=oct``) from a JWK / JWK Set string."""
    out: list[OctKey] = []
    for i, item in enumerate(_key_dicts(raw, where)):
        if item.get("kty") != "oct":
            raise AuthConfigError(f"{where}: key #{i} must be kty=oct (a 256-bit symmetric key)")
        if not item.get("kid"):
            raise AuthConfigError(f"{where}: key #{i} has no 'kid'")
        try:
            size = len(
                base64.urlsafe_b64decode(str(item.get("k", "")) + "=" * (-len(str(item.get("k", ""))) % 4))
            )
        except ValueError:
            size = 0
        if size != 32:
            raise AuthConfigError(f"{where}: key #{i} is {size * 8} bits; A256GCM needs a 256-bit 'k'")
        try:
            key = OctKey.import_key(item)
        except Exception as exc:
            raise AuthConfigError(
                f"{where}: key #{i} is not a valid oct JWK ({type(exc).__name__})"
            ) from None
        out.append(key)
    _unique_kids(out, where)
    return tuple(out)


def _unique_kids(keys: Sequence[Key], where: str) -> None:
    kids = [k.kid for k in keys]
    if len(set(kids)) != len(kids):
        raise AuthConfigError(f"{where}: duplicate kid; each key in the set needs its own")


def parse_keys(
    signing: str, encryption: str, cookie: str, *, names: Sequence[str] | None = None
) -> ClientKeys:
    """All three parameters parsed and cross-checked (no kid shared between signing and encryption)."""
    n = list(names or ["SIGNING_KEY_PARAM", "ENCRYPTION_KEY_PARAM", "COOKIE_KEY_PARAM"])
    keys = ClientKeys(
        signing=parse_ec_keys(signing, n[0], use="sig"),
        encryption=parse_ec_keys(encryption, n[1], use="enc"),
        cookie=parse_cookie_keys(cookie, n[2]),
    )
    shared = {k.kid for k in keys.signing} & {k.kid for k in keys.encryption}
    if shared:
        raise AuthConfigError(
            f"{n[0]} and {n[1]} share kid(s) {sorted(map(str, shared))}; kids must be unique"
        )
    return keys


def load_keys(
    signing_param: str, encryption_param: str, cookie_param: str, *, max_age_s: int = 300
) -> ClientKeys:
    """Read the three SecureString parameters through Powertools Parameters (cached ``max_age_s``)."""
    from aws_lambda_powertools.utilities import parameters

    raws: list[str] = []
    for env_name, name in (
        ("SIGNING_KEY_PARAM", signing_param),
        ("ENCRYPTION_KEY_PARAM", encryption_param),
        ("COOKIE_KEY_PARAM", cookie_param),
    ):
        try:
            value = parameters.get_parameter(name, decrypt=True, max_age=max_age_s)
        except parameters.exceptions.GetParameterError as exc:
            cause = type(exc.__cause__).__name__ if exc.__cause__ else "GetParameterError"
            raise AuthConfigError(
                f"{env_name}={name!r}: cannot read the SSM parameter ({cause}); create it with "
                "`python -m pipelines.auth.keys --ssm-prefix ...` and grant ssm:GetParameter + kms:Decrypt"
            ) from None
        raws.append(str(value))
    return parse_keys(
        raws[0],
        raws[1],
        raws[2],
        names=[
            f"SIGNING_KEY_PARAM={signing_param}",
            f"ENCRYPTION_KEY_PARAM={encryption_param}",
            f"COOKIE_KEY_PARAM={cookie_param}",
        ],
    )


# --- generation and rotation ----------------------------------------------------------------------


def _kid(prefix: str) -> str:
    return f"{prefix}-{time.strftime('%Y%m%d', time.gmtime())}-{secrets.token_hex(3)}"


def generate_signing_key() -> dict[str, Any]:
    """A new private EC P-256 signing JWK (use sig, alg ES256, a dated unique kid)."""
    key = ECKey.generate_key("P-256", parameters={"use": "sig", "alg": SIGNING_ALG, "kid": _kid("sig")})
    return dict(key.as_dict(private=True))


def generate_encryption_key() -> dict[str, Any]:
    """A new private EC P-256 encryption JWK (use enc, alg ECDH-ES+A256KW)."""
    key = ECKey.generate_key("P-256", parameters={"use": "enc", "alg": ENCRYPTION_ALG, "kid": _kid("enc")})
    return dict(key.as_dict(private=True))


def generate_cookie_key() -> dict[str, Any]:
    """A new 256-bit symmetric JWK for the cookie and the session."""
    key = OctKey.generate_key(256, parameters={"kid": _kid("cookie")})
    return dict(key.as_dict(private=True))


def rotate(existing: str | None, new_key: dict[str, Any], *, keep: int = 1) -> str:
    """A JWK Set with ``new_key`` first (active) and up to ``keep`` previous keys after it."""
    previous = _key_dicts(existing, "existing value") if existing else []
    return json.dumps({"keys": [new_key, *previous[:keep]]})


def generate_all() -> dict[str, str]:
    """Fresh values for the three parameters (each a one-key JWK Set)."""
    return {
        "signing": json.dumps({"keys": [generate_signing_key()]}),
        "encryption": json.dumps({"keys": [generate_encryption_key()]}),
        "cookie": json.dumps({"keys": [generate_cookie_key()]}),
    }


def derive_key(cookie_key: OctKey, purpose: bytes) -> bytes:
    """HKDF-SHA256 (RFC 5869, one block) of the cookie key for a separate ``purpose``."""
    prk = hmac.new(b"pipelines.auth", cookie_key.raw_value, hashlib.sha256).digest()
    return hmac.new(prk, purpose + b"\x01", hashlib.sha256).digest()


def write_to_ssm(
    prefix: str, values: dict[str, str], *, rotate_existing: bool = False, keep: int = 1
) -> tuple[dict[str, str], dict[str, str]]:
    """Write (or rotate) ``{prefix}/signing-key``, ``/encryption-key``, ``/cookie-key`` as
    SecureString; returns (purpose -> parameter name, purpose -> value written)."""
    import boto3

    ssm = boto3.client("ssm")
    names = {p: f"{prefix.rstrip('/')}/{p}-key" for p in ("signing", "encryption", "cookie")}
    written: dict[str, str] = {}
    for purpose, name in names.items():
        value = values[purpose]
        if rotate_existing:
            try:
                current = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
            except ssm.exceptions.ParameterNotFound:
                current = None
            value = rotate(current, json.loads(value)["keys"][0], keep=keep)
        ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
        written[purpose] = value
    return names, written


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: generate the client's keys into SSM (or files), rotate them, print the public JWKS.

    Private keys are never printed: they go to SSM or to files created with mode 0600.
    """
    ap = argparse.ArgumentParser(prog="python -m pipelines.auth.keys", description=main.__doc__)
    ap.add_argument("--ssm-prefix", help="write SecureString parameters under this path, e.g. /auth/dev")
    ap.add_argument("--out-dir", help="write signing.json, encryption.json, cookie.json here (mode 0600)")
    ap.add_argument("--rotate", action="store_true", help="prepend new keys to the existing SSM values")
    ap.add_argument("--keep", type=int, default=1, help="old keys to keep when rotating (default 1)")
    args = ap.parse_args(argv)
    if not args.ssm_prefix and not args.out_dir:
        ap.error("choose --ssm-prefix and/or --out-dir")
    if args.rotate and not args.ssm_prefix:
        ap.error("--rotate works on SSM values; give --ssm-prefix")
    values = generate_all()
    if args.out_dir:
        import os
        from pathlib import Path

        out = Path(args.out_dir)
        out.mkdir(parents=True, exist_ok=True)
        for purpose, value in values.items():
            path = out / f"{purpose}.json"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(value)
            print(f"wrote {path}", file=sys.stderr)
    if args.ssm_prefix:
        names, values = write_to_ssm(args.ssm_prefix, values, rotate_existing=args.rotate, keep=args.keep)
        for purpose, name in names.items():
            print(f"{'rotated' if args.rotate else 'wrote'} {purpose}: {name}", file=sys.stderr)
        print(
            f"set SIGNING_KEY_PARAM={names['signing']} ENCRYPTION_KEY_PARAM={names['encryption']} "
            f"COOKIE_KEY_PARAM={names['cookie']}",
            file=sys.stderr,
        )
    keys = parse_keys(values["signing"], values["encryption"], values["cookie"])
    print(json.dumps(keys.public_jwks(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
