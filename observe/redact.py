"""Redaction of secrets and personal data: one design for every carrier, in linear time, never raising.

Three nets, applied to everything a log line carries (the message, every field, keys and values of
any container, exceptions, objects, stdlib records and their arguments):

- **by key**: a value under a sensitive key (``authorization``, ``code_verifier``, ``accessToken``,
  ``X-Amz-Security-Token`` ...; names are compared normalised, so camelCase, PascalCase, kebab and
  snake are one name) is replaced whole by ``[REDACTED]``, unless the value cannot be a secret
  (see :func:`readable`);
- **by shape**: in any text, NRIC/FIN numbers, emails, JWT/JWE, bearer/DPoP/basic credentials, PEM and
  DER private keys, AWS access key ids, well-known API token formats and phone numbers (Singapore
  and E.164) become a typed marker such as ``[REDACTED:nric]``;
- **by name in text**: ``name=value`` in any separator style (``a=b&``, ``a: b``, ``"a":"b"``,
  ``'a', 'b'``, ``a%3Db``), where ``name`` is a sensitive key by the same rule as the key net: URL
  queries and fragments, form bodies, JSON text, headers and ``repr()`` of objects.

Every pattern is linear in its input (bounded or possessive repeats, anchored starts); a text longer
than :data:`MAX_FIELD_CHARS` is cut, with a marker, before it is scanned. docs/logging.md lists
exactly what is masked, what is kept, and what no net can catch.
"""

from __future__ import annotations

import contextlib
import enum
import errno
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

from observe.lazyre import compile_lazily

MASK = "[REDACTED]"
#: One text (a message, a field, a stack) longer than this is cut before it is scanned.
MAX_FIELD_CHARS = 32 * 1024
#: Characters a structured value may render to before the rest of it is cut (the event bound).
MAX_VALUE_CHARS = 200 * 1024
#: Characters of text fields one event may scan in all (four times the event limit); past it a text
#: field is cut before it is scanned.
MAX_EVENT_TEXT_CHARS = 1024 * 1024
MAX_DEPTH = 24
ENV_VAR = "OBSERVE_REDACT_ERRORS"

# --- the key net ------------------------------------------------------------------------------------

_NOT, _SECRET, _CODE, _KEYMAT, _STRICT = 0, 1, 2, 3, 4

#: Words that make a key sensitive wherever they stand in it (``db_password``, ``x_auth_token``).
SECRET_WORDS: frozenset[str] = frozenset(
    {
        "password", "passwd", "pwd", "passphrase", "passcode", "secret", "secrets", "token",
        "tokens", "authorisation", "plaintext",
        "cookie", "cookies", "authorization", "auth", "credential", "credentials", "creds", "nric",
        "uinfin", "apikey", "privatekey", "assertion", "verifier", "signature", "sig", "otp", "totp",
        "hotp", "pin", "dpop", "jwt", "jwe", "jws", "bearer", "session", "sessionid", "csrf", "xsrf",
        "csrftoken", "xsrftoken", "cek", "jwk", "saml", "ssn",
    }
)  # fmt: skip
#: Words that make a key sensitive only as its last word (``db_pass``, ``user_pw``; not ``pass_rate``).
_LAST_WORDS = frozenset({"pass", "pw"})
#: ``<word>_tokens`` that counts tokens of a model or a rate limiter (``max_tokens``, ``input_tokens``).
_TOKEN_COUNT_WORDS = frozenset(
    {"max", "min", "input", "output", "total", "prompt", "completion", "num", "remaining", "used",
     "cached", "context", "reasoning", "bucket"}
)  # fmt: skip
#: Tokens that are idempotency or request ids, not credentials (``ClientRequestToken``).
_ID_TOKENS = frozenset({"client_request_token", "idempotency_token", "client_token", "request_id_token"})
#: Words after which a number is never readable, however short (a 3-digit card code).
_STRICT_WORDS = frozenset({"cvv", "cvc", "csc", "cvv2"})
#: Whole keys that are sensitive though their last word is one that is usually not (``session_id``).
_ALWAYS = frozenset(
    {"sid", "session_id", "sessionid", "jsessionid", "phpsessid", "connect_sid", "fin", "nric_fin", "pin"}
)
#: Fragments of the key with separators removed: ``passWord``, ``accesstoken``, ``clientsecret``.
_COMPACT = (
    "password", "passwd", "passphrase", "secret", "credential", "authorization", "cookie", "apikey",
    "privatekey", "accesskey", "secretkey", "signingkey", "encryptionkey", "masterkey", "verifier",
    "assertion", "signature", "nric", "uinfin", "sessionid", "passcode", "dpop", "plaintext",
    "ssecustomerkey", "encryptioncustomerkey", "securityanswer", "cardnumber", "creditcard",
)  # fmt: skip
#: ``<qualifier>_key`` is a secret key (``private_key``, ``x_api_key``); a bare ``key`` (S3) is not.
_KEY_QUALIFIERS = frozenset(
    {
        "private", "api", "secret", "access", "signing", "sign", "encryption", "decryption", "enc",
        "master", "shared", "hmac", "aes", "session", "client", "license", "licence", "webhook",
        "account", "subscription", "ssh", "pgp", "gpg", "root", "app", "auth", "data",
    }
)  # fmt: skip
#: ``<qualifier>_code`` is a secret (``auth_code``, ``otp_code``); ``status_code`` is not.
_CODE_QUALIFIERS = frozenset(
    {
        "auth", "authorization", "authorisation", "verification", "verify", "otp", "mfa", "sms",
        "email", "reset", "activation", "confirmation", "confirm", "recovery", "backup", "security",
        "login", "access", "time", "pass", "one", "device", "user", "grant",
    }
)  # fmt: skip
#: A last word that says the value is *about* a secret, not the secret (``secret_arn``, ``token_type``).
EXEMPT_LAST_WORDS: frozenset[str] = frozenset(
    {
        "arn", "arns", "name", "names", "type", "types", "kind", "id", "ids", "kid", "length", "len",
        "size", "count", "valid", "validated", "present", "changed", "set", "exists", "enabled",
        "disabled", "required", "expiry", "expires", "expired", "expiration", "exp", "ttl", "age",
        "in", "at", "on", "time", "date", "timestamp", "policy", "policies", "consent", "version",
        "versions", "path", "param", "parameter", "endpoint", "method", "methods", "mode", "flow",
        "provider", "scheme", "format", "alg", "algorithm", "algorithms", "scope", "scopes", "status",
        "error", "errors", "reason", "source", "duration", "days", "seconds", "secs", "ms", "minutes",
        "hours", "rotation", "rotated", "rule", "rules", "strength", "score", "min", "max", "domain",
        "secure", "samesite", "site", "httponly", "only", "label", "description", "location",
        "region", "store", "backend", "lifetime", "timeout", "retries", "attempts", "used", "usage",
        "issuer", "audience", "thumbprint", "fingerprint", "checksum", "prefix", "suffix", "state",
        "rejected", "invalid", "missing", "failed", "failure", "mismatch", "revoked", "denied",
        "refused", "unavailable", "malformed", "unknown", "replayed", "reused", "verified", "issued",
        "refreshed", "received", "sent", "ok", "url", "urls", "uri", "uris", "identifier", "identifiers",
    }
)  # fmt: skip
#: ``<word>_token`` that pages through results (``next_token``, ``NextContinuationToken``).
PAGINATION_WORDS: frozenset[str] = frozenset(
    {"next", "page", "continuation", "pagination", "starting", "start", "cursor", "paging", "resume"}
)
_PAGINATION_COMPACT = tuple(PAGINATION_WORDS)
#: Private members of a JWK (RFC 7517/7518) under their bare names, outside a JWK mapping.
_KEYMAT_NAMES = frozenset({"d", "p", "q", "dp", "dq", "qi"})
#: The members of a JWK that are public; every other member of a mapping with ``kty`` is masked.
JWK_PUBLIC: frozenset[str] = frozenset(
    {"kty", "use", "key_ops", "alg", "kid", "x5u", "x5c", "x5t", "x5t#S256", "crv", "x", "y", "n", "e",
     "ext", "iat", "nbf", "exp"}
)  # fmt: skip

_CAMEL1 = compile_lazily(r"([a-z0-9])([A-Z])")
_CAMEL2 = compile_lazily(r"([A-Z]+)([A-Z][a-z])")
_NON_ALNUM = compile_lazily(r"[^a-z0-9]+")
_kind_cache: dict[str, int] = {}
_user_keys: set[str] = set()


def normalise_key(key: str) -> str:
    """``accessToken``, ``AccessToken``, ``access-token`` and ``ACCESS_TOKEN`` all as ``access_token``."""
    k = _CAMEL2.sub(r"\1_\2", _CAMEL1.sub(r"\1_\2", key[:128]))
    return _NON_ALNUM.sub("_", k.lower()).strip("_")


#: Every sensitive key contains one of these (lower-cased): a name without any is decided at once.
_HINT = compile_lazily(
    "pass|pw|secret|token|cookie|auth|cred|nric|uinfin|key|assert|verif|sig|otp|pin|dpop|jw|bearer|sess"
    "|sid|csrf|xsrf|cek|saml|ssn|code|cvv|cvc|csc|fin|plaintext|card|answer"
)


def _kind_of(key: str) -> int:
    if not _user_keys:
        low = key[:128].lower()
        if _HINT.search(low) is None:
            return _KEYMAT if low.strip("_-. ") in _KEYMAT_NAMES else _NOT
    norm = normalise_key(key)
    if not norm:
        return _NOT
    if _user_keys and (norm in _user_keys or any(norm.endswith("_" + u) for u in _user_keys)):
        return _SECRET
    if norm in _ALWAYS:
        return _SECRET
    if norm in _KEYMAT_NAMES:
        return _KEYMAT
    words = norm.split("_")
    if len(words) > 1:
        last = words[-1]
        if last in EXEMPT_LAST_WORDS:
            return _NOT
        if last in ("token", "tokens") and (
            words[-2] in PAGINATION_WORDS or words[-2] in _TOKEN_COUNT_WORDS or norm in _ID_TOKENS
        ):
            return _NOT
    if not _STRICT_WORDS.isdisjoint(words):
        return _STRICT
    if "code" in words:
        i = words.index("code")
        if i + 1 < len(words) and words[i + 1] == "verifier":
            return _SECRET
        if norm == "code" or (i > 0 and words[i - 1] in _CODE_QUALIFIERS):
            return _CODE
    if not SECRET_WORDS.isdisjoint(words) or words[-1] in _LAST_WORDS:
        return _SECRET
    for i, w in enumerate(words):
        if w in ("key", "keys") and i > 0 and words[i - 1] in _KEY_QUALIFIERS:
            return _SECRET
    compact = norm.replace("_", "")
    if any(f in compact for f in _COMPACT):
        return _SECRET
    if compact.endswith(("token", "tokens")) and not compact.startswith(_PAGINATION_COMPACT):
        return _SECRET  # glued: accesstoken, xamzsecuritytoken, csrftoken
    return _NOT


def _kind(key: str) -> int:
    kind = _kind_cache.get(key)
    if kind is None:
        kind = _kind_of(key)
        if len(_kind_cache) >= 8192:
            _kind_cache.clear()
        _kind_cache[key] = kind
    return kind


def is_sensitive_key(key: str) -> bool:
    """Whether a value under ``key`` is masked (unless it is one that cannot be a secret)."""
    return _kind(key) != _NOT


# --- values that cannot be secrets ------------------------------------------------------------------

_PLACEHOLDERS = frozenset({"true", "false", "null", "none", "nil", "undefined", "n/a", "-", "", "{}", "[]"})
_B64URL_RUN = compile_lazily(r"[A-Za-z0-9_-]{16,}={0,2}")
#: Under a ``code`` key, error codes stay readable: AWS/botocore-style names and OAuth/OIDC error codes.
_ERROR_CODE = compile_lazily(
    r"(?:[A-Z][a-z]+){1,8}(?:Exception|Error|Fault|Failure|Failed|Exceeded|Denied|NotFound|Throttled"
    r"|Throttling|Timeout|Conflict|Unavailable|InUse|Invalid|Expired|Mismatch)|(?:NoSuch|Invalid)[A-Z][A-Za-z]{1,40}"
    r"|Throttling|AccessDenied"
)
OAUTH_ERROR_CODES: frozenset[str] = frozenset(
    {
        "invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
        "unsupported_grant_type", "invalid_scope", "access_denied", "unsupported_response_type",
        "server_error", "temporarily_unavailable", "invalid_token", "insufficient_scope",
        "invalid_dpop_proof", "use_dpop_nonce", "login_required", "consent_required",
        "interaction_required", "account_selection_required", "invalid_request_object",
        "invalid_client_metadata", "expired_token", "authorization_pending", "slow_down",
    }
)  # fmt: skip


#: Upper-case error codes: ``NOT_FOUND``, ``RESOURCE_EXHAUSTED`` (gRPC), ``ERR_TLS_CERT_ALTNAME_INVALID``.
_UPPER_CODE = compile_lazily(r"[A-Z]{2,24}(?:_[A-Z]{2,24}){1,8}")
#: errno names (``ECONNRESET``, ``ETIMEDOUT``): the ``code`` of a socket or Node.js error.
_ERRNO_NAMES = frozenset(errno.errorcode.values())


_MARKERS_ONLY = compile_lazily(r"(?:\[(?:REDACTED|TRUNCATED)[^\[\]]{0,64}\][ ,;]?)++")


def _words_value(v: str) -> bool:
    """``ThrottlingException``, ``invalid_grant``, ``NOT_FOUND``, ``ECONNRESET``: an error code, not an
    authorization code (a random code has digits or lower-case letters, and no underscores)."""
    return (
        v in OAUTH_ERROR_CODES
        or v in _ERRNO_NAMES
        or (len(v) <= 64 and (_ERROR_CODE.fullmatch(v) is not None or _UPPER_CODE.fullmatch(v) is not None))
    )


def _readable_text(v: str, kind: int) -> bool:
    if not v:
        return True
    c = v[0]
    if c == "[":  # markers only: a marker with more after it is what a net left of a secret
        return _MARKERS_ONLY.fullmatch(v) is not None
    n = len(v)
    if n <= 9 and v.lower() in _PLACEHOLDERS:
        return True
    if c == "*" and v.strip("*") == "":
        return True
    if n <= 4 and kind != _STRICT and v.lstrip("-").isdigit() and len(v.lstrip("-")) <= 3:
        return True
    if c == "a" and v.startswith("arn:"):  # an ARN names a secret, it is not one
        return True
    if kind == _CODE:
        return n > 1 and _words_value(v)
    if kind == _KEYMAT:
        return _B64URL_RUN.fullmatch(v) is None
    return False


def _readable(v: Any, kind: int) -> bool:
    """A value under a sensitive key that stays: booleans, None, numbers of fewer than 4 digits
    (a code or PIN has 4 to 8; never under cvv/cvc), non-integral floats, ARNs, placeholders,
    ``[REDACTED...]`` markers, word-like error codes under ``code``, short values of ``d``/``p``/``q``."""
    if v is None or v is True or v is False:
        return True
    t = type(v)
    if t is int:
        return kind != _STRICT and -1000 < v < 1000
    if t is float:
        if v != v or v in (float("inf"), float("-inf")):
            return True
        return kind != _STRICT and (not v.is_integer() or -1000 < v < 1000)
    if t is str:
        return _readable_text(v, kind)
    return False


readable = _readable

# --- the shape net ----------------------------------------------------------------------------------
# Every pattern starts with a literal or a character class (so the engine skips quickly to
# candidates) and checks its left boundary by a fixed-width look-behind placed after that first
# character. A boundary also holds after an escape as repr() and JSON write it (``\n``, ``\t``,
# ``\x0b``, ``\u000b``) and after a URL escape (``%0A``), so ``'\nS1234567D'`` is caught.


def _bound(notchars: str, width: int) -> str:
    """Look-behinds: the character ``width`` back from here is not one of ``notchars``, or is an escape."""
    w = "." * width
    return (
        f"(?:(?<![{notchars}]{w})|(?<=\\\\[ntrfvab0]{w})|(?<=\\\\x[0-9A-Fa-f]{{2}}{w})"
        f"|(?<=\\\\u[0-9A-Fa-f]{{4}}{w})|(?<=%[0-9A-Fa-f]{{2}}{w}))"
    )


_NRIC = compile_lazily(r"[STFGMstfgm]\d{7}[A-Za-z](?![A-Za-z0-9])" + _bound("A-Za-z0-9", 9), re.A)
_E164 = compile_lazily(
    r"(?:\+"
    + _bound(r"\w+", 1)
    + r"|%2[Bb]"
    + _bound(r"\w+", 3)
    + r"|%252[Bb]"
    + _bound(r"\w+", 5)
    + r")[1-9]"
    r"(?:(?:[ -]|%20|\+|%2[Bb]|%2520)?(?:\(|%28|%2528)?\d(?:\)|%29|%2529)?){6,14}(?!\w)",
    re.A,
)
_SG_PHONE = compile_lazily(
    r"[689]\d{3}(?=(?:[ -]|%20|\+|%2[Bb])?\d{4}(?![\w-])(?![.,]\d))"
    + _bound(r"\w+./-", 4)
    + r"(?:[ -]|%20|\+|%2[Bb])?\d{4}",
    re.A,
)
_JWT = compile_lazily(r"eyJ" + _bound(r"A-Za-z0-9_-", 3) + r"[A-Za-z0-9_-]*+(?:\.[A-Za-z0-9_-]*+){1,4}+")
_PEM = compile_lazily(
    r"-----BEGIN (?:[A-Z0-9]{1,20} ){0,4}PRIVATE KEY(?: BLOCK)?-----.*?(?:-----END[A-Z0-9 ]{0,64}-----|\Z)",
    re.S,
)
# Unarmoured DER private keys in base64: PKCS#8 (RSA, EC, Ed25519), PKCS#1 RSA and SEC1 EC all open
# with SEQUENCE, INTEGER version; certificates and public keys open with SEQUENCE, SEQUENCE.
_DER = compile_lazily(
    r"M" + _bound("A-Za-z0-9+/", 1)
    + r"(?:II[A-Za-z0-9+/]{3}IBA(?:DA|AK)|IG[A-Za-z0-9+/]AgEA|C[A-Za-z0-9+/]CAQAw|H[A-Za-z0-9+/]CAQEE)"
    + r"[A-Za-z0-9+/=]*+"
)  # fmt: skip
_AWS_KEY = compile_lazily(r"(?:AKIA|ASIA)" + _bound("A-Z0-9", 4) + r"[A-Z0-9]{16}(?![A-Z0-9])")
_KNOWN_TOKEN = compile_lazily(
    r"(?:gh[pousr]_" + _bound("A-Za-z0-9", 4) + r"[A-Za-z0-9]{30,255}"
    r"|github_pat_" + _bound("A-Za-z0-9", 11) + r"[A-Za-z0-9_]{30,255}"
    r"|glpat-" + _bound("A-Za-z0-9", 6) + r"[A-Za-z0-9_-]{20,255}"
    r"|xox[abposr]-" + _bound("A-Za-z0-9", 5) + r"[A-Za-z0-9-]{10,255}"
    r"|sk_(?:live|test)_" + _bound("A-Za-z0-9", 8) + r"[A-Za-z0-9]{16,255}"
    r"|rk_(?:live|test)_" + _bound("A-Za-z0-9", 8) + r"[A-Za-z0-9]{16,255}"
    r"|whsec_" + _bound("A-Za-z0-9", 6) + r"[A-Za-z0-9]{24,255}"
    r"|sk-" + _bound("A-Za-z0-9", 3) + r"(?:proj-)?[A-Za-z0-9_-]{32,255}"
    r"|npm_" + _bound("A-Za-z0-9", 4) + r"[A-Za-z0-9]{36}"
    r"|GOCSPX-" + _bound("A-Za-z0-9", 7) + r"[A-Za-z0-9_-]{20,64}"
    r"|AIza" + _bound("A-Za-z0-9", 4) + r"[A-Za-z0-9_-]{35}(?![A-Za-z0-9_-]))"
)
# An AWS secret access key has no prefix: 40 base64 characters standing alone, with upper and lower
# case letters and digits (a SHA-1 is lower-case hex; longer runs such as receipt handles are not it).
_AWS_SECRET = compile_lazily(
    r"[A-Za-z0-9/+](?<![A-Za-z0-9/+_-].)(?<!==.)(?<![A-Za-z0-9/+=]\n.)[A-Za-z0-9/+]{39}(?![A-Za-z0-9/+=_-])"
)  # not a line of a base64 block (a certificate's last line can be 40 characters)
# The same right after an escape (``'\\nwJalr...'`` in a repr, ``%0A`` in a URL); not after a base64
# character (a line of a base64 block in JSON text). A separate pattern, run only when the text
# has a backslash or a percent sign: the common text pays one look-behind per letter, not five.
_AWS_SECRET_ESC = compile_lazily(
    r"(?<![A-Za-z0-9/+=])(\\(?:[ntrfvab0]|x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4})|%[0-9A-Fa-f]{2})"
    r"([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=_-])"
)
# An AWS session token (STS, the Lambda environment's AWS_SESSION_TOKEN) has no prefix either, but its
# base64 says "origin" (``IQoJb3JpZ2lu...``) or "er/aws" (``FwoGZXIvYXdz...``) from its 5th character.
_AWS_SESSION = compile_lazily(
    r"[A-Za-z0-9+/]"
    + _bound("A-Za-z0-9+/", 1)
    + r"[A-Za-z0-9+/]{3}(?:b3JpZ2lu|ZXIvYXdz)[A-Za-z0-9+/=%_-]{16,}+"
)
# ``<password>value</password>`` (XML and SOAP bodies, ``<wsse:Password Type="...">``).
_XML = compile_lazily(r"<([A-Za-z_][\w.:-]{0,63})(?:\s[^<>]{0,512})?>([^<]{1,8192}+)</\1\s*>", re.A)
# ``--client-secret value`` on a command line: the name, a space, the value.
_FLAG = compile_lazily(r"--([A-Za-z][A-Za-z0-9_-]{0,63})[ \t]++([^\s\"']{1,4096})", re.A)
_SG_PREFIXED = compile_lazily(
    r"65"
    + _bound(r"\w+./-", 2)
    + r"(?:[ -]|%20|\+|%2[Bb])?[689]\d{3}(?:[ -]|%20|\+|%2[Bb])?\d{4}(?![\w-])(?![.,]\d)",
    re.A,
)
_SCHEME = compile_lazily(
    r"[BbDd](?:(?<=[Bb])(?i:earer)" + _bound("A-Za-z0-9_", 6)
    + r"|(?<=[Bb])(?i:asic)" + _bound("A-Za-z0-9_", 5)
    + r"|(?<=[Dd])(?i:pop)" + _bound("A-Za-z0-9_", 4) + r")"
    + r"(?:[ \t]{1,8}+([A-Za-z0-9._~+/-]{1,8192}+=*+)(?![A-Za-z0-9._~+/=-])"
    + r"|(?:\+|%20|%2[Bb]|%2520)([A-Za-z0-9._~/%-]{1,8192}+)(?![A-Za-z0-9._~/%-]))",
    re.A,
)  # fmt: skip
_DSN = compile_lazily(r"://([^\s/?#@:\"'<>]{0,128}):([^\s/?#\"'<>]{1,256})@")
_AT_DOMAIN = compile_lazily(
    r"(?:@|%40|%2540|\\u0040|&#64;|&#[xX]40;)"
    r"((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z]{2,24}(?![A-Za-z0-9-]))",
    re.A,
)
_LOCAL_REV = compile_lazily(r"[A-Za-z0-9._%+'-]{1,128}", re.A)  # matched on the reversed text
_DENSITY = compile_lazily(r"\d+(?:\.\d+)?x\.", re.A)  # logo@2x.png
_SCP_PATH = compile_lazily(r":[\w~.-]{0,200}/", re.A)  # git@github.com:org/repo.git
_PERSONAL_LOCAL = compile_lazily(r"[.+%]")
_FILE_TLDS = frozenset({"png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "bmp", "avif", "css", "js", "map"})
_DIGITS4 = compile_lazily(r"[0-9][0-9]{3}")

MARKERS: dict[str, str] = {
    k: f"[REDACTED:{k}]"
    for k in (
        "nric",
        "email",
        "jwt",
        "bearer",
        "pem",
        "private_key",
        "aws_key",
        "aws_secret",
        "token",
        "phone",
        "aws_session",
    )
}


#: Words that follow "basic"/"bearer"/"dpop" in prose ("basic validation", "bearer token", "DPoP proof").
PROSE_AFTER_SCHEME: frozenset[str] = frozenset(
    {
        "of", "token", "tokens", "auth", "authentication", "authorization", "authorisation", "scheme",
        "header", "headers", "realm", "validation", "validations", "check", "checks", "setup", "usage",
        "information", "configuration", "credentials", "credential", "access", "proof", "proofs",
        "nonce", "binding", "bound", "requirements", "functionality", "implementation", "example",
        "examples", "understanding", "principles", "structure", "operations", "permissions",
    }
)  # fmt: skip
_DETERMINERS = frozenset(
    {"the", "a", "an", "this", "that", "its", "his", "her", "their", "our", "your", "any"}
)
_WORD_LIKE = compile_lazily(r"(?:[a-z]+|[A-Z][a-z]+)[.,]?", re.A)


def _credential_like(tok: str, before: str) -> bool:
    """Whether the word after Bearer/DPoP/Basic is a credential and not prose: prose is a plain word
    (lower-case or capitalised letters) that is short, or one of :data:`PROSE_AFTER_SCHEME`, or that
    follows a determiner ("the bearer of", "basic validation", "Basic Auth")."""
    if not _WORD_LIKE.fullmatch(tok):
        return True
    word = tok.rstrip(".,").lower()
    if len(word) <= 10 or word in PROSE_AFTER_SCHEME:
        return False
    return before.rsplit(None, 1)[-1].lower() not in _DETERMINERS if before.strip() else True


_AUTH_PARAM = compile_lazily(r"[a-z][a-z_-]{0,31}=")


def _scheme_sub(m: re.Match[str]) -> str:
    tok = m.group(1) or m.group(2)
    if m.string[m.end() : m.end() + 1] in ('"', "'") and _AUTH_PARAM.fullmatch(tok):
        return m.group(0)  # an auth-param such as realm="x", not a token68 (base64 ends in = too)
    if not _credential_like(tok, m.string[max(0, m.start() - 16) : m.start()]):
        return m.group(0)
    return MARKERS["bearer"]


def _mixed(v: str) -> bool:
    return any(c.isupper() for c in v) and any(c.islower() for c in v) and any(c.isdigit() for c in v)


def _aws_secret_sub(m: re.Match[str]) -> str:
    v = m.group(0)
    return MARKERS["aws_secret"] if _mixed(v) else v


def _aws_secret_esc_sub(m: re.Match[str]) -> str:
    return m.group(1) + MARKERS["aws_secret"] if _mixed(m.group(2)) else m.group(0)


def _xml_sub(m: re.Match[str]) -> str:
    kind = _kind(m.group(1))
    if not kind or _readable_text(m.group(2).strip(), kind):
        return m.group(0)
    a, b = m.span(2)
    return m.string[m.start() : a] + MASK + m.string[b : m.end()]


def _flag_sub(m: re.Match[str]) -> str:
    kind = _kind(m.group(1))
    if not kind or _readable_text(m.group(2), kind):
        return m.group(0)
    return f"--{m.group(1)} {MASK}"


def _dsn_sub(m: re.Match[str]) -> str:
    if m.group(2).startswith("[REDACTED"):
        return m.group(0)
    return f"://{m.group(1)}:{MASK}@"


def _emails(s: str) -> str:
    """Emails, found from each ``@`` (or ``%40``): the local part is read backwards from it, so a long
    run without ``@`` costs nothing (the pattern that scanned forwards from every letter was quadratic)."""
    spans: list[tuple[int, int]] = []
    rev = ""
    n = len(s)
    last_end = 0
    for dom in _AT_DOMAIN.finditer(s):
        a, b = dom.start(), dom.start(1)
        if a < last_end:
            continue
        if not rev:
            rev = s[::-1]
        loc = _LOCAL_REV.match(rev, n - a, n - a + 128)
        if loc is None:
            continue
        start = n - loc.end()
        while start < a and s[start] == ".":
            start += 1
        if start >= a:
            continue
        tld = dom.group(1).rsplit(".", 1)[1].lower()
        if tld in _FILE_TLDS or _DENSITY.match(s, b):
            continue
        if s[a] == "@":
            if s[start - 2 : start] == "//" and not _PERSONAL_LOCAL.search(s, start, a):
                continue  # URL userinfo (ssh://git@host), not an address; ssh://jane.tan@host is one
            if _SCP_PATH.match(s, dom.end()) and "." not in s[start:a]:  # git@github.com:org/repo
                continue
        spans.append((start, dom.end()))
        last_end = dom.end()
    if not spans:
        return s
    out: list[str] = []
    pos = 0
    for a, b in spans:
        out.append(s[pos:a])
        out.append(MARKERS["email"])
        pos = b
    out.append(s[pos:])
    return "".join(out)


# --- the name-in-text net ---------------------------------------------------------------------------
# Found from the separator backwards, on the reversed text: the search skips quickly to ``=``, ``:``,
# ``,`` or ``%3D``, and a long run of name characters with no separator costs nothing. Every search
# forward from a value (the end of its run, of its line, its closing quote) is remembered for the
# rest of the text, and a long value is judged readable from its head alone: values that overlap
# (``secret=arn:secret=arn:...``, each one readable) cost their length once, not once per name.
_PAIR_REV = compile_lazily(
    r"(=|:(?<!//:)|D3%|d3%|D352%|d352%|,)[ \t]*+([\"'\\\]]*+)([A-Za-z0-9_.\-]{1,128})([\\%:]?)", re.A
)
_WS = compile_lazily(r"[ \t]*")
_TOKEN_END = compile_lazily(r"[\s&;,\"'<>()\[\]{}|\\]")
_LINE_END = compile_lazily(r"[\r\n\"']|\\[rn]")
_BRACKETS = compile_lazily(r'["{}\[\]\\]')
_HEAD = compile_lazily(r"[ \t]*+(\r?\n[ \t]*+)?")
_QUOTE_HEAD = compile_lazily(r"[bu]?(\\{0,3}[\"'])")
_RUN = compile_lazily(r"[^\s&;,\"'\\]*+")  # the characters of an unquoted value
_PLAIN_NOT_FIRST = frozenset("&;,\"'\\=>{[")  # an unquoted value after = does not open with these
_STARS = compile_lazily(r"\*++")
_MARKER_HEADS = ("[REDACTED", "[TRUNCATED")
_SCHEMES = frozenset(
    {"bearer", "basic", "dpop", "digest", "negotiate", "ntlm", "token", "key", "sharedkey", "hmac",
     "mac", "apikey", "oauth", "sharedaccesssignature"}
)  # fmt: skip
_LINE_SCHEMES = frozenset({"aws4-hmac-sha256", "digest", "oauth", "hmac"})
_LINE_NAMES_REV = frozenset({"eikooc", "eikooc-tes", "eikooc_tes", "eikooctes", "seikooc"})
_name_cache: dict[str, int] = {}
_JWK_PRIVATE_REV = frozenset({"d", "p", "q", "pd", "qd", "iq", "k", "htn"})  # reversed: dp, dq, qi, oth


def _name_kind(raw_rev: str, lead: str, sep: str) -> int:
    """The key-net kind of a name found in text (``raw_rev`` reversed; ``lead``: what precedes it)."""
    name = raw_rev[::-1]
    if lead == ":" and sep == ":":
        return _NOT  # a part of an ARN, URN or address (arn:aws:secretsmanager:...:secret:name)
    if lead == "\\" and name[:1] in "ntrfvab0":
        name = name[1:]
    elif lead == "%" and len(name) > 2:  # %3Fcode%3D, and %253Fcode%253D encoded twice
        name = name[4:] if name[:2] == "25" and len(name) > 4 else name[2:]
    name = name.lstrip("0123456789.-")
    if not name or name == "REDACTED":
        return _NOT
    if not _user_keys and len(name) > 2 and _HINT.search(name.lower()) is None:
        return _NOT  # most names in text (and values before a comma): decided without the key cache
    return _kind(name)


def _in_pair(s: str, i: int) -> bool:
    """Whether the quoted name starting at ``i`` opens a pair in a list (``('name', ...)``,
    ``[b'name', ...``, ``[\\"name\\", ...``), not a value in JSON text (``"use":"sig","alg"``)."""
    k = i - 1
    if k < 0 or s[k] not in "\"'":
        return False
    k -= 1
    while k >= 0 and s[k] == "\\":
        k -= 1
    if k >= 0 and s[k] == "b":
        k -= 1
    while k >= 0 and s[k] in " \t":
        k -= 1
    return k >= 0 and s[k] in "(["


class _Text:
    """One text under the name net, with its forward searches remembered (see above)."""

    __slots__ = ("found", "n", "run", "s")

    def __init__(self, s: str) -> None:
        self.s = s
        self.n = len(s)
        self.run = (-1, -1)  # (searched from, end) of the last run of value characters
        self.found: dict[Any, tuple[int, int]] = {}  # what was searched -> (searched from, found at)

    def run_end(self, i: int) -> int:
        """Where the run of value characters from ``i`` ends (the same for every start inside it)."""
        a, b = self.run
        if a <= i <= b:
            return b
        e = _RUN.match(self.s, i).end()  # type: ignore[union-attr]  # a possessive * always matches
        self.run = (i, e)
        return e

    def first(self, what: Any, i: int, find: Any) -> int:
        """``find(i)``, the first occurrence of ``what`` at or after ``i``, remembered."""
        hit = self.found.get(what)
        if hit is not None and hit[0] <= i <= hit[1]:
            return hit[1]
        k = find(i)
        self.found[what] = (i, k)
        return k


def _close_quote(s: str, start: int, q: str) -> int:
    k = s.find(q, start)
    while k > start and s[k - 1] == "\\":
        j = k - 1
        while j >= start and s[j] == "\\":
            j -= 1
        if (k - 1 - j) % 2 == 0:
            break
        k = s.find(q, k + 1)
    return len(s) if k < 0 else k


def _search_start(rx: re.Pattern[str], s: str, i: int) -> int:
    m = rx.search(s, i)
    return len(s) if m is None else m.start()


def _auth_line_end(s: str, j: int) -> int:
    """The end of an ``Authorization: Digest ...`` (or OAuth, AWS4) line from ``j``: the line's end or
    the quote that closes the text around it, skipping the quoted parameters (``response="..."``)."""
    n = len(s)
    k = j
    for _ in range(64):
        m = _LINE_END.search(s, k)
        if m is None:
            return n
        e = m.start()
        if s[e] not in "\"'":
            return e
        p = e
        while p > k and s[p - 1] == "\\":
            p -= 1
        if p <= j or s[p - 1] != "=":
            return p  # the quote that ends the text holding the header
        close = s.find(s[p : e + 1], e + 1)  # the parameter's closing quote, escaped the same way
        if close < 0:
            return n
        k = close + e + 1 - p
    return _search_start(_LINE_END, s, k)


def _balanced_end(s: str, j: int) -> int:
    """The end of the JSON-like container opening at ``j`` (or of the text: past 4096 brackets and
    quotes the rest is masked rather than walked further)."""
    depth = 0
    in_str = False
    esc = False
    for seen, m in enumerate(_BRACKETS.finditer(s, j)):
        if seen > 4096:
            break
        c = m.group(0)
        if esc:
            esc = False
            continue
        if c == "\\":
            esc = m.end() < len(s) and s[m.end()] != " "
            continue
        if c == '"':
            in_str = not in_str
        elif not in_str:
            depth += 1 if c in "{[" else -1
            if depth <= 0:
                return m.end()
    return len(s)


_CLOSERS = {")": "(", "]": "[", "}": "{", ">": "<"}


def _trim_closers(s: str, j: int, end: int) -> int:
    """``end`` moved before closing brackets the value did not open: ``404`` of ``{"code":404}`` or
    ``Row(code=404)``, while a password such as ``ab(c)d`` keeps its brackets (brackets are counted
    over the value's last 256 characters)."""
    if end <= j or s[end - 1] not in _CLOSERS:
        return end
    value = s[max(j, end - 256) : end]
    tail = len(value) - len(value.rstrip(")]}>"))
    if tail > 16:  # a run of closers is no part of a secret: leave it out at once
        return end - tail
    balance = {c: value.count(c) - value.count(o) for c, o in _CLOSERS.items()}  # closers in excess
    while end > j and s[end - 1] in _CLOSERS and balance[s[end - 1]] > 0:
        balance[s[end - 1]] -= 1
        end -= 1
    return end


_LONG_VALUE = 72  # longer than any value readable for what it is (an error code, a placeholder)


def _readable_span(s: str, a: int, b: int, kind: int) -> bool:
    """:func:`_readable_text` of ``s[a:b]``, judged from its head when it is long (no copy)."""
    if b - a <= _LONG_VALUE:
        return _readable_text(s[a:b], kind)
    c = s[a]
    if c == "[":
        return _MARKERS_ONLY.fullmatch(s, a, b) is not None
    if c == "a":
        return s.startswith("arn:", a)
    if c == "*":
        return _STARS.fullmatch(s, a, b) is not None
    if kind == _KEYMAT:
        return _B64URL_RUN.fullmatch(s, a, b) is None
    return False


def _value_span(t: _Text, i: int, sep: str, name_rev: str) -> tuple[int, int]:
    """Where the value after a separator ending at ``i`` starts and ends (empty: no value)."""
    s, n = t.s, t.n
    if i < n and sep == "=":
        c = s[i]
        if c == "=":
            return i, i  # a comparison (``a == b``), not a pair
        if c == ">":
            i += 1
    m = _HEAD.match(s, i)
    if m is None or (m.group(1) is not None and sep != ":"):
        return i, i
    k = m.end()
    if k >= n:
        return k, k
    c = s[k]
    q = _QUOTE_HEAD.match(s, k) if c in "bu\\\"'" else None
    if q is not None:
        j = q.end()
        quote = q.group(1)
        if len(quote) > 1:  # an escaped quote (JSON text inside a JSON string): up to the same escape
            return j, t.first(quote, j, lambda x: n if (f := s.find(quote, x)) < 0 else f)
        return j, t.first(("q", quote), j, lambda x: _close_quote(s, x, quote))
    if c in "{[":
        if c == "[" and s.startswith(_MARKER_HEADS, k):  # a marker: the value is the marker
            e = s.find("]", k)
            return k, (n if e < 0 else e + 1)
        return k, _balanced_end(s, k)
    run = t.run_end(k)
    end = _trim_closers(s, k, run)
    if sep == ":" and name_rev.lower() in _LINE_NAMES_REV:  # Cookie: the rest of the line
        return k, t.first(_LINE_END, k, lambda x: _search_start(_LINE_END, s, x))
    if run - k <= 24:
        word = s[k:run].lower()
        if word in _SCHEMES:  # "Bearer <token>": the token too
            if word in _LINE_SCHEMES:
                return k, _auth_line_end(s, run)
            w = _WS.match(s, end).end()  # type: ignore[union-attr]  # [ \t]* always matches
            if end < w < n:
                end = t.first(_TOKEN_END, w, lambda x: _search_start(_TOKEN_END, s, x))
    return k, end


def _pairs(s: str) -> str:
    n = len(s)
    hits: list[tuple[int, str, str, int]] = []  # (end of separator, separator, name reversed, kind)
    cache = _name_cache
    jwk_text = "kty" in s  # JSON text of a JWK: its private members by their bare names
    for m in _PAIR_REV.finditer(s[::-1]):
        sep, close, raw, lead = m.groups()
        key = raw + lead + sep if lead else raw
        kind = cache.get(key)
        if kind is None:
            kind = _name_kind(raw, lead, sep)
            if len(cache) >= 8192:
                cache.clear()
            cache[key] = kind
        if jwk_text and raw in _JWK_PRIVATE_REV:
            kind = _SECRET
        if not kind:
            continue
        if lead == ":" and s.endswith("[REDACTED", 0, n - m.end()):
            continue  # the name of a marker ([REDACTED:nric]), not a key
        if sep == "," and not (close and _in_pair(s, n - m.end() + len(lead))):
            continue  # a bare comma separates words; ('name', 'value') pairs in a list
        hits.append((n - m.start(), sep, raw, kind))
    if not hits:
        return s
    t = _Text(s)
    out: list[str] = []
    pos = 0
    for after_sep, sep, raw, kind in reversed(hits):
        if after_sep < pos:
            continue  # inside a value already masked
        if sep == "=" and after_sep < n:
            c = s[after_sep]
            if c not in _PLAIN_NOT_FIRST and not c.isspace():
                ve = t.run_end(after_sep)
                if s[ve : ve + 1] not in (" ", "\t"):  # the common case (a=b&, a=b;), without the walk
                    if s[ve - 1] in _CLOSERS:
                        ve = _trim_closers(s, after_sep, ve)
                    if not _readable_span(s, after_sep, ve, kind):
                        out.append(s[pos:after_sep])
                        out.append(MASK)
                        pos = ve
                    continue
        vs, ve = _value_span(t, after_sep, sep, raw)
        if ve <= vs or _readable_span(s, vs, ve, kind):
            continue
        out.append(s[pos:vs])
        out.append(MASK)
        pos = ve
    if not out:
        return s
    out.append(s[pos:])
    return "".join(out)


# --- extensibility ----------------------------------------------------------------------------------

_custom: list[tuple[str, re.Pattern[str], str]] = []  # (name, compiled, marker)
_MAX_REPEAT = 256
_NAME_RE = compile_lazily(r"[a-z][a-z0-9_]{0,39}")


class RedactionRuleError(ValueError):
    """A redaction rule that cannot be used; the message names it and says why."""


def _check_pattern(name: str, regex: str) -> re.Pattern[str]:
    """Compile ``regex`` if it runs in linear time here, else say why not.

    Allowed: literals, classes, alternation, groups, look-arounds and bounded repeats ``{m,n}``
    (n <= 256; nested repeats whose maxima multiply to at most 256). Rejected: unbounded
    repeats (``*``, ``+``, ``{n,}``), backreferences, and patterns that match the empty string.
    """
    from re import _constants as sre_constants  # type: ignore[attr-defined]
    from re import _parser as sre_parse  # type: ignore[attr-defined]

    if not isinstance(regex, str):
        raise RedactionRuleError(f"redaction pattern {name!r}: must be a regular expression string")
    try:
        compiled = re.compile(regex)
        tree = sre_parse.parse(regex)
    except re.error as exc:
        raise RedactionRuleError(
            f"redaction pattern {name!r}: not a valid regular expression ({exc})"
        ) from None

    def walk(items: Any, outer: int) -> None:
        for op, av in items:
            if op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, sre_constants.POSSESSIVE_REPEAT):
                _lo, hi, sub = av
                if hi == sre_constants.MAXREPEAT:
                    raise RedactionRuleError(
                        f"redaction pattern {name!r}: unbounded repeat (*, + or {{n,}}) can make a long "
                        "line slow; use a bounded repeat such as {1,64}"
                    )
                if hi * outer > _MAX_REPEAT:
                    raise RedactionRuleError(
                        f"redaction pattern {name!r}: repeats allow up to {hi * outer} steps from one "
                        f"position (at most {_MAX_REPEAT}, nested repeats multiply)"
                    )
                walk(sub, outer * max(hi, 1))
            elif op in (sre_constants.GROUPREF, sre_constants.GROUPREF_EXISTS):
                raise RedactionRuleError(f"redaction pattern {name!r}: backreferences are not allowed")
            elif op is sre_constants.SUBPATTERN:
                walk(av[-1], outer)
            elif op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
                walk(av[1], outer)
            elif op is sre_constants.ATOMIC_GROUP:
                walk(av, outer)
            elif op is sre_constants.BRANCH:
                for branch in av[1]:
                    walk(branch, outer)

    walk(tree, 1)
    if compiled.fullmatch("") is not None or tree.getwidth()[0] == 0:
        raise RedactionRuleError(
            f"redaction pattern {name!r}: matches the empty string (it would mask nothing)"
        )
    return compiled


def add_rules(keys: Iterable[str] = (), patterns: Mapping[str, str] | None = None) -> None:
    """Add sensitive keys and shape patterns for this process (the project configuration calls it).

    ``keys``: field names masked like the built-in ones, compared normalised (``customerRef`` equals
    ``customer_ref``); a configured key is sensitive exactly and as the last words of a longer key
    (``name`` also masks ``full_name``), and the built-in exemptions (``*_id``, ``*_name`` ...) do
    not apply to it. ``patterns``: marker name -> regular expression; each match in any text
    becomes ``[REDACTED:<name>]``. A pattern that could take more than linear time or that matches
    the empty string is refused with :class:`RedactionRuleError` naming it; nothing is added then.
    """
    new_keys: set[str] = set()
    for key in keys:
        if not isinstance(key, str) or not normalise_key(key):
            raise RedactionRuleError(f"redaction key {key!r}: must be a non-empty field name")
        new_keys.add(normalise_key(key))
    compiled: list[tuple[str, re.Pattern[str], str]] = []
    for name, regex in (patterns or {}).items():
        if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
            raise RedactionRuleError(
                f"redaction pattern name {name!r}: lower-case letters, digits and '_' (it shows as "
                "[REDACTED:name])"
            )
        compiled.append((name, _check_pattern(name, regex), f"[REDACTED:{name}]"))
    _user_keys.update(new_keys)
    known = {n for n, _, _ in _custom}
    _custom.extend(c for c in compiled if c[0] not in known)
    _forget()


def reset_rules() -> None:
    """Drop every rule added by :func:`add_rules` (tests)."""
    _user_keys.clear()
    _custom.clear()
    _forget()


def _forget() -> None:
    _kind_cache.clear()
    _name_cache.clear()
    _clean.clear()


# --- text -------------------------------------------------------------------------------------------

_clean: dict[str, None] = {}  # short texts already found to hold nothing to mask
_MEMO_LEN = 512
_CUT_DELIMS = " \t\r\n\"',;&=:()[]{}<>|"


def cut(text: str, limit: int = MAX_FIELD_CHARS, *, keep_end: bool = False) -> str:
    """``text`` cut to about ``limit`` characters with a marker saying how much went.

    The cut backs off to a delimiter so no fragment of a token is left at the edge (a half JWT is
    not a JWT any more, so no net would see it)."""
    if len(text) <= limit:
        return text
    if keep_end:
        part = text[-limit:]
        k = min((i for i in (part.find(c) for c in _CUT_DELIMS) if i >= 0), default=len(part))
        part = part[k:]
        return f"[TRUNCATED: {len(text) - len(part)} chars] {part}"
    part = text[:limit]
    k = max(part.rfind(c) for c in _CUT_DELIMS)
    part = part[: k + 1] if k >= 0 else ""
    return f"{part}[TRUNCATED: {len(text) - len(part)} chars]"


def scan(s: str) -> str:
    """Every net over ``s``, uncut (:func:`redact_text` cuts first); linear in ``len(s)``."""
    if "-----BEGIN " in s:
        s = _PEM.sub(MARKERS["pem"], s)
    # Each net runs only where its literal start is present (the text it could match holds it, so
    # nothing is skipped that would be masked): the largest patterns then compile only for a text
    # that needs them (observe.lazyre), not on every cold start's first line.
    low = s.lower()
    if "bearer" in low or "basic" in low or "dpop" in low:  # _SCHEME: (?i) B-earer, B-asic, D-pop
        s = _SCHEME.sub(_scheme_sub, s)
    if "eyJ" in s:
        s = _JWT.sub(MARKERS["jwt"], s)
    if "AKIA" in s or "ASIA" in s:
        s = _AWS_KEY.sub(MARKERS["aws_key"], s)
    if (
        "gh" in s or "github_pat_" in s or "glpat-" in s or "xox" in s or "k_" in s or "whsec_" in s
        or "sk-" in s or "npm_" in s or "GOCSPX-" in s or "AIza" in s
    ):  # _KNOWN_TOKEN's prefixes (gh?_, sk_ and rk_ as k_)  # fmt: skip
        s = _KNOWN_TOKEN.sub(MARKERS["token"], s)
    if len(s) >= 40:
        s = _AWS_SECRET.sub(_aws_secret_sub, s)
        if "\\" in s or "%" in s:
            s = _AWS_SECRET_ESC.sub(_aws_secret_esc_sub, s)
        if "b3JpZ2lu" in s or "ZXIvYXdz" in s:
            s = _AWS_SESSION.sub(MARKERS["aws_session"], s)
    if "MI" in s or "MC" in s or "MH" in s:  # _DER: M, then II / IG / C / H
        s = _DER.sub(MARKERS["private_key"], s)
    if "://" in s:
        s = _DSN.sub(_dsn_sub, s)
    if "@" in s or "%40" in s or "%2540" in s or "u0040" in s or "&#" in s:
        s = _emails(s)
    if _DIGITS4.search(s) is not None:
        s = _NRIC.sub(MARKERS["nric"], s)
        if "+" in s or "%2" in s:
            s = _E164.sub(MARKERS["phone"], s)
        s = _SG_PREFIXED.sub(MARKERS["phone"], s)
        s = _SG_PHONE.sub(MARKERS["phone"], s)
    for _, rx, marker in _custom:
        s = rx.sub(marker, s)
    if "=" in s or ":" in s or "%3" in s or ("," in s and ("'" in s or '"' in s)):
        s = _pairs(s)
    if "--" in s:
        s = _FLAG.sub(_flag_sub, s)
    if "</" in s:
        s = _XML.sub(_xml_sub, s)
    return s


def redact_text(text: str) -> str:
    """``text`` with every secret-looking part replaced by a marker; cut first if over the bound."""
    if text in _clean:
        return text
    n = len(text)
    if n > MAX_FIELD_CHARS:
        return scan(cut(text))
    out = scan(text)
    if out is text and n <= _MEMO_LEN and type(text) is str:
        if len(_clean) >= 16384:
            _clean.clear()
        _clean[text] = None
    return out


# --- structures -------------------------------------------------------------------------------------


def safe_str(obj: Any) -> str:
    """``str(obj)``, else ``repr(obj)``, else a placeholder naming the type: never raises."""
    try:
        s = str(obj)
        if type(s) is str:
            return s
    except Exception:
        pass
    try:
        s = repr(obj)
        if type(s) is str:
            return s
    except Exception:
        pass
    return f"<unprintable {_type_name(obj)}>"


def _type_name(obj: Any) -> str:
    try:
        t = type(obj)
        mod = getattr(t, "__module__", "") or ""
        qn = getattr(t, "__qualname__", None) or getattr(t, "__name__", "object")
        return str(qn) if mod in ("builtins", "") else f"{mod}.{qn}"
    except Exception:
        return "object"


class _Walk:
    """The state of one structured redaction: what is left of the size budget, the containers on the
    current path (cycles)."""

    __slots__ = ("budget", "path")

    def __init__(self, budget: int = MAX_VALUE_CHARS) -> None:
        self.budget = budget
        self.path: set[int] = set()


_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1


def _big_int(v: int) -> str:
    try:
        return str(v)
    except ValueError:  # beyond sys.get_int_max_str_digits
        return f"[int of {v.bit_length()} bits]"


def _text(v: str, st: _Walk) -> str:
    out = redact_text(v)
    st.budget -= len(out)
    return out


def _key_text(k: Any) -> str:
    if type(k) is str:
        return k
    if isinstance(k, (bytes, bytearray)):
        return bytes(k).decode("utf-8", "replace")
    if isinstance(k, str):
        return str.__str__(k)
    return safe_str(k)


def _mask_under(v: Any, kind: int, st: _Walk, depth: int) -> Any:
    """A value under a sensitive key: kept if it cannot be a secret, a JWK filtered, else masked."""
    if _readable(v, kind):
        return _text(v, st) if type(v) is str else v
    if isinstance(v, Mapping) and _is_jwk(v):
        return _walk(v, st, depth)
    if type(v) in (dict, list, tuple) and not v:  # an empty container holds no secret
        return {} if type(v) is dict else []
    return MASK


def _is_jwk(m: Mapping[Any, Any]) -> bool:
    try:
        return isinstance(m.get("kty"), str)
    except Exception:
        return False


_VALUE_KEYS = ("value", "Value", "ParameterValue", "parameterValue", "parameter_value")
_NAME_KEYS = ("name", "Name", "key", "Key", "ParameterKey", "parameterKey", "parameter_key", "header")


def _masked_siblings(m: Mapping[Any, Any]) -> str | None:
    """The value key of ``{"name": "Authorization", "value": ...}`` (HAR headers, parameter lists) or of
    an SSM parameter ``{"Type": "SecureString", "Value": ...}``: the key whose value is masked."""
    if len(m) > 12:
        return None
    vkey = next((k for k in _VALUE_KEYS if k in m), None)
    if vkey is None:
        return None
    for k in ("Type", "type"):
        if m.get(k) == "SecureString":
            return vkey
    for k in _NAME_KEYS:
        named = m.get(k)
        if isinstance(named, str) and _kind(named) != _NOT:
            return vkey
    return None


def _mapping(m: Mapping[Any, Any], st: _Walk, depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if _is_jwk(m):
        for k, v in m.items():
            ks = _key_text(k)
            out[ks] = _walk(v, st, depth + 1) if ks in JWK_PUBLIC else MASK
        return out
    sibling = _masked_siblings(m)
    left = 0
    for i, (k, v) in enumerate(m.items()):
        st.budget -= 8
        if st.budget <= 0:
            left = len(m) - i
            break
        ks = _key_text(k)
        kind = _kind(ks)
        rk = redact_text(ks)
        if rk in out:
            rk = f"{rk}#{i}"
        if kind:
            out[rk] = _mask_under(v, kind, st, depth + 1)
        elif sibling is not None and ks == sibling and not _readable(v, _SECRET):
            out[rk] = MASK
        else:
            out[rk] = _walk(v, st, depth + 1)
    if left:
        out["[TRUNCATED]"] = f"{left} more entries"
    return out


def _sequence(seq: Iterable[Any], st: _Walk, depth: int) -> list[Any]:
    items = seq if isinstance(seq, (list, tuple)) else list(seq)
    if len(items) == 2 and isinstance(items[0], (str, bytes)):  # a header pair ("Authorization", "...")
        kind = _kind(_key_text(items[0]))
        if kind:
            return [_walk(items[0], st, depth + 1), _mask_under(items[1], kind, st, depth + 1)]
    out: list[Any] = []
    for i, v in enumerate(items):
        st.budget -= 8
        if st.budget <= 0:
            out.append(f"[TRUNCATED: {len(items) - i} more items]")
            break
        out.append(_walk(v, st, depth + 1))
    return out


def exception_fields(exc: BaseException, *, stack: bool = False) -> dict[str, Any]:
    """An exception as ``{type, message}`` (plus ``notes`` and ``stack`` text): raw, to be redacted."""
    out: dict[str, Any] = {"type": _exc_type(exc), "message": safe_str(exc)}
    notes = getattr(exc, "__notes__", None)
    if isinstance(notes, list) and notes and not stack:
        out["notes"] = [safe_str(n) for n in notes[:16]]
    if stack:
        import traceback  # only on the error path

        try:
            text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        except Exception:
            text = f"{out['type']}: <stack could not be formatted>"
        out["stack"] = cut(text, MAX_FIELD_CHARS - 64, keep_end=True)
    return out


def _exc_type(exc: BaseException) -> str:
    t = type(exc)
    return f"{t.__module__}.{t.__qualname__}".removeprefix("builtins.")


def record_fields(v: Any) -> dict[str, Any] | None:
    """The fields of a dataclass, NamedTuple or pydantic-style model as a new dict (else ``None``);
    never raises."""
    try:
        return _record_like(v)
    except Exception:
        return None


def _record_like(v: Any) -> dict[str, Any] | None:
    """The fields of a dataclass, NamedTuple or pydantic-style model, as a mapping."""
    if hasattr(type(v), "__dataclass_fields__") and not isinstance(v, type):
        import dataclasses  # only when a dataclass is logged (it imports inspect)

        return {f.name: getattr(v, f.name, None) for f in dataclasses.fields(v)}
    asdict = getattr(v, "_asdict", None)
    if callable(asdict) and isinstance(v, tuple):
        d = asdict()
        return dict(d) if isinstance(d, Mapping) else None
    dump = getattr(v, "model_dump", None)
    if callable(dump) and not isinstance(v, type):
        d = dump()
        return dict(d) if isinstance(d, Mapping) else None
    return None


def _walk(v: Any, st: _Walk, depth: int) -> Any:
    try:
        t = type(v)
        if t is str:
            return _text(v, st)
        if t is int:
            return v if _INT_MIN <= v <= _INT_MAX else _text(_big_int(v), st)
        if t is float or t is bool or v is None:
            return v
        if depth > MAX_DEPTH:
            return "[TRUNCATED: nested too deep]"
        if isinstance(v, (dict, Mapping, list, tuple, set, frozenset)) or hasattr(v, "__dict__"):
            if id(v) in st.path:
                return "[cycle]"
            st.path.add(id(v))
            try:
                return _container(v, st, depth)
            finally:
                st.path.discard(id(v))
        return _scalar(v, st)
    except Exception as exc:  # never raise: a placeholder names what could not be rendered
        return f"[unrenderable {_type_name(v)}: {type(exc).__name__}]"


def _container(v: Any, st: _Walk, depth: int) -> Any:
    if isinstance(v, Mapping):
        return _mapping(v, st, depth)
    rec = _record_like(v)
    if rec is not None:
        return _mapping(rec, st, depth)
    if isinstance(v, (list, tuple, set, frozenset)):
        return _sequence(v, st, depth)
    if isinstance(v, BaseException):
        return _mapping(exception_fields(v), st, depth)
    if isinstance(v, str):
        return _text(str.__str__(v), st)
    if isinstance(v, (int, float)):
        return _scalar(v, st)
    t = type(v)
    if t.__repr__ is object.__repr__ and t.__str__ is object.__str__ and depth <= 2:
        attrs = getattr(v, "__dict__", None)
        if isinstance(attrs, dict):
            return _mapping(attrs, st, depth)
    return _scalar(v, st)


def _scalar(v: Any, st: _Walk) -> Any:
    if isinstance(v, (bytes, bytearray, memoryview)):
        return _text(bytes(v[: MAX_FIELD_CHARS * 2]).decode("utf-8", "replace"), st)
    if isinstance(v, bool):
        return bool(v)
    if isinstance(v, int):
        i = int(v)
        return i if _INT_MIN <= i <= _INT_MAX else _text(_big_int(i), st)
    if isinstance(v, float):
        return float(v)
    if isinstance(v, BaseException):
        return _mapping(exception_fields(v), st, 0)
    mod = type(v).__module__
    if mod == "numpy" and hasattr(v, "tolist"):
        if getattr(v, "size", 1) > 10_000:
            return f"[array shape={getattr(v, 'shape', '?')} dtype={getattr(v, 'dtype', '?')}]"
        return _walk(v.tolist(), st, 1)
    iso = getattr(v, "isoformat", None)
    if callable(iso) and mod == "datetime":
        return _text(safe_str(iso()), st)
    if isinstance(v, enum.Enum):
        return _walk(v.value, st, 1)
    return _text(safe_str(v), st)


def redact_value(value: Any) -> Any:
    """A JSON-ready copy of ``value`` (any object) with secrets masked; never raises."""
    return _walk(value, _Walk(), 0)


# --- the processor ----------------------------------------------------------------------------------


def redact_processor(logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: every field (key and value) and the message through the three nets.

    Structured fields share one budget of :data:`MAX_VALUE_CHARS`, text fields one of
    :data:`MAX_EVENT_TEXT_CHARS`: a text past it is cut before it is scanned (the line is cut to the
    event limit anyway), so a call with many large fields costs what a few bounded lines cost."""
    st: _Walk | None = None
    spent = 0
    renamed: list[tuple[str, str]] | None = None
    clean = _clean
    for key, value in event_dict.items():
        kind = _kind_cache.get(key)
        if kind is None:
            kind = _kind(key)
        t = type(value)
        if kind:
            if st is None:
                st = _Walk()
            event_dict[key] = _mask_under(value, kind, st, 0)
        elif t is str:
            if value not in clean:  # a memo hit is short and clean: it costs nothing here
                if spent > MAX_EVENT_TEXT_CHARS:
                    value = cut(value, 1024)
                spent += len(value)
                event_dict[key] = redact_text(value)
        elif t is float or t is bool or value is None:
            pass
        elif t is int:
            if not _INT_MIN <= value <= _INT_MAX:
                event_dict[key] = _big_int(value)
        else:
            if st is None:
                st = _Walk()
            event_dict[key] = _walk(value, st, 0)
        if key not in clean and type(key) is str:
            rk = redact_text(key)
            if rk is not key:
                renamed = renamed or []
                renamed.append((key, rk))
    if renamed:
        for old, new in renamed:
            event_dict[new if new not in event_dict else f"{new}#{len(event_dict)}"] = event_dict.pop(old)
    return event_dict


# --- what leaves the handler ------------------------------------------------------------------------

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_EXC_TEXT_ATTRS = ("filename", "filename2", "strerror", "msg", "text", "reason", "name", "path")
_redacted_types: dict[type, type | None] = {}


def errors_redacted() -> bool:
    """Whether an exception leaving ``observed`` is redacted: ``OBSERVE_REDACT_ERRORS`` if set, else on
    in stg and prd and off in dev (where the original message helps the developer)."""
    raw = (os.environ.get(ENV_VAR) or "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    return (os.environ.get("ENVIRONMENT") or "dev") != "dev"


def redact_arg(a: Any) -> Any:
    """One positional argument of a message, redacted: text through the nets, numbers kept (a
    ``Decimal`` too, so ``%.2f`` still formats it), anything else as :func:`redact_value`."""
    t = type(a)
    if t is str:
        return redact_text(a)
    if a is None or t is int or t is float or t is bool:
        return a if t is not int or _INT_MIN <= a <= _INT_MAX else _big_int(a)
    if t.__name__ == "Decimal" and t.__module__ in ("decimal", "_decimal", "_pydecimal"):
        return a
    if isinstance(a, (bytes, bytearray)):
        return redact_text(bytes(a[: MAX_FIELD_CHARS * 2]).decode("utf-8", "replace"))
    return redact_value(a)


def redact_args(args: tuple[Any, ...], budget: int = MAX_FIELD_CHARS) -> tuple[Any, ...]:
    """:func:`redact_arg` of each argument; text past ``budget`` characters in all is cut before it
    is scanned (the formatted message is cut to :data:`MAX_FIELD_CHARS` anyway)."""
    out = []
    for a in args:
        if type(a) is str and len(a) > budget:
            a = cut(a, max(budget, 256))
        r = redact_arg(a)
        budget -= len(r) if type(r) is str else 64
        out.append(r)
    return tuple(out)


def _redacted_type(t: type) -> type | None:
    """A subclass of ``t`` with the same name whose ``str``/``repr`` are redacted (for exceptions whose
    text does not come from their args or attributes)."""
    if t in _redacted_types:
        return _redacted_types[t]
    sub: type | None
    try:

        def __str__(self: BaseException) -> str:
            try:
                text = t.__str__(self)  # type: ignore[call-arg]  # the original type's own __str__
            except Exception:
                text = f"<{t.__name__}: str() failed>"
            return redact_text(text if type(text) is str else safe_str(text))

        sub = type(t.__name__, (t,), {"__slots__": (), "__str__": __str__, "__module__": t.__module__})
        sub.__qualname__ = t.__qualname__
    except TypeError:
        sub = None
    _redacted_types[t] = sub
    return sub


def redact_exception(exc: BaseException) -> BaseException:
    """Redact ``exc`` and every exception chained to it, in place, and return it.

    What the Lambda runtime prints and returns for an unhandled exception is ``type(exc).__name__``,
    ``str(exc)`` and the frames of its traceback (file, line, function, source line); a full traceback
    printer also shows the chained causes and notes. So this rewrites what ``str()`` reads: string
    ``args``, ``__notes__`` and string attributes (the key net applies to attribute names), for the
    exception, its ``__cause__``, ``__context__`` and group members. Identity, type, traceback and
    non-string attributes (``ClientError.response`` ...) are kept. If ``str()`` would still show
    something the nets mask (a ``__str__`` computed from elsewhere), the object's class is swapped for
    a same-named subclass whose ``str()`` is redacted: ``isinstance`` and ``except`` still hold.
    """
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo and len(seen) < 64:
        e = todo.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        with contextlib.suppress(Exception):  # best effort on objects we do not control
            _redact_one(e)
        for nxt in (e.__cause__, e.__context__, *(getattr(e, "exceptions", None) or ())):
            if isinstance(nxt, BaseException):
                todo.append(nxt)
    return exc


def _redact_one(e: BaseException) -> None:
    with contextlib.suppress(Exception):  # the args of some C types are read-only
        e.args = tuple(redact_arg(a) for a in e.args)
    notes = getattr(e, "__notes__", None)
    if isinstance(notes, list):
        e.__notes__ = [redact_text(safe_str(n)) for n in notes]
    attrs = getattr(e, "__dict__", None)
    if isinstance(attrs, dict):
        for k, v in list(attrs.items()):
            if k == "__notes__":
                continue
            kind = _kind(k) if isinstance(k, str) else _NOT
            if kind and not _readable(v, kind):
                attrs[k] = MASK
            elif type(v) is str:
                attrs[k] = redact_text(v)
    for k in _EXC_TEXT_ATTRS:
        v = getattr(type(e), k, None)
        if v is not None and hasattr(v, "__get__") and not isinstance(v, property):
            cur = getattr(e, k, None)
            if type(cur) is str:
                with contextlib.suppress(Exception):  # a read-only member
                    setattr(e, k, redact_text(cur))
    text = safe_str(e)
    if redact_text(text) != text:
        sub = _redacted_type(type(e))
        if sub is not None:
            # a built-in type refuses: its text comes from args and attributes, redacted above
            with contextlib.suppress(TypeError):
                e.__class__ = sub
