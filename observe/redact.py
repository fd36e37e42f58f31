"""Redaction of secrets and personal data, as a structlog processor that always runs.

Two nets. By key: a value under a sensitive key (``authorization``, ``code_verifier``,
``nric``, anything ending in ``_token`` ...) is replaced whole, whatever it is. By value: any
string anywhere (the message included, nested dicts and lists included) has NRIC/FIN numbers,
emails, JWT/JWE compact serialisations, bearer/DPoP credentials, PEM blocks and AWS access key
ids replaced by a typed marker such as ``[REDACTED:nric]``, which keeps the line useful for
triage without the secret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MASK = "[REDACTED]"

#: Keys whose values are always secret (compared lower-case, ``-`` read as ``_``).
SENSITIVE_KEYS: frozenset[str] = frozenset(
    {
        "authorization", "proxy_authorization", "cookie", "cookies", "set_cookie", "password",
        "passwd", "pwd", "secret", "client_secret", "token", "id_token", "access_token",
        "refresh_token", "code", "auth_code", "authorization_code", "code_verifier",
        "client_assertion", "assertion", "private_key", "privatekey", "private_jwk", "jwk", "d",
        "api_key", "apikey", "x_api_key", "nric", "uinfin", "fin", "nric_fin", "dpop",
        "session", "session_token", "sessionid", "x_amz_security_token", "credentials",
        "signature", "cek", "otp", "pin",
    }
)  # fmt: skip
#: Key fragments that mark a value secret wherever they appear in a key.
SENSITIVE_FRAGMENTS: tuple[str, ...] = (
    "password", "passwd", "secret", "authorization", "cookie", "private_key", "privatekey",
    "api_key", "apikey", "nric", "uinfin", "credential",
)  # fmt: skip
SENSITIVE_SUFFIXES: tuple[str, ...] = ("_token", "_secret", "_assertion", "_verifier", "_jwk")

_PATTERNS: dict[str, str] = {
    "pem": r"-----BEGIN [A-Z0-9 ]+-----.*?(?:-----END [A-Z0-9 ]+-----|\Z)",
    "jwt": r"eyJ[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*){1,4}",
    "bearer": r"(?i:\b(?:bearer|dpop|basic)\s+)[A-Za-z0-9._~+/=-]+",
    # Not inside a longer alphanumeric run: a hex id such as a UUID ("...8f7200773e1b...") is not an NRIC.
    "nric": r"(?<![A-Za-z0-9])(?i:[STFGM]\d{7}[A-Z])(?![A-Za-z0-9])",
    "email": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
    "aws_key": r"(?:AKIA|ASIA)[A-Z0-9]{16}",
}
_VALUE_RE = re.compile("|".join(f"(?P<{k}>{v})" for k, v in _PATTERNS.items()), re.DOTALL)
_MARKERS = {k: f"[REDACTED:{k}]" for k in _PATTERNS}
_key_cache: dict[str, bool] = {}


def is_sensitive_key(key: str) -> bool:
    """Whether a value under ``key`` must be masked whole."""
    cached = _key_cache.get(key)
    if cached is not None:
        return cached
    k = key.lower().replace("-", "_")
    verdict = (
        k in SENSITIVE_KEYS or any(f in k for f in SENSITIVE_FRAGMENTS) or k.endswith(SENSITIVE_SUFFIXES)
    )
    if len(_key_cache) < 4096:
        _key_cache[key] = verdict
    return verdict


def _marker(match: re.Match[str]) -> str:
    return _MARKERS[match.lastgroup or "pem"]


def redact_text(text: str) -> str:
    """``text`` with every secret-looking run replaced by a typed marker."""
    return _VALUE_RE.sub(_marker, text)


def redact_value(value: Any) -> Any:
    """A copy of ``value`` (str, mapping, list, tuple, set, scalar) with secrets masked."""
    if isinstance(value, str):
        return _VALUE_RE.sub(_marker, value)
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    if isinstance(value, Mapping):
        return {
            k: (MASK if isinstance(k, str) and is_sensitive_key(k) else redact_value(v))
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple, set, frozenset)):
        return [redact_value(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return redact_value(value.decode("utf-8", "replace"))
    return _VALUE_RE.sub(_marker, str(value))  # anything else is rendered as text anyway


def redact_processor(logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: mask by key, then by value pattern, in place."""
    for key, value in event_dict.items():
        if is_sensitive_key(key):
            event_dict[key] = MASK
        elif type(value) is str:
            event_dict[key] = _VALUE_RE.sub(_marker, value)
        elif not (value is None or type(value) in (int, float, bool)):
            event_dict[key] = redact_value(value)
    return event_dict
