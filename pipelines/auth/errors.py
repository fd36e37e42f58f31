"""Why a login failed: one closed set of reasons, used as the ``reason`` dimension of AuthFailures.

Every check in the chain fails with :class:`AuthFailure` carrying one :class:`Reason` and a short,
PII-free detail. The browser only ever sees a generic page; the reason goes to the log line and
the metric, so an operator can tell an expired cookie from a forged ID token without ever
seeing a code, token, key or NRIC.
"""

from __future__ import annotations

from enum import StrEnum

from observe.config import ConfigError


class Reason(StrEnum):
    """Failure reasons (bounded: they are a metric dimension)."""

    # the browser side: cookie, redirect parameters, replay
    COOKIE_MISSING = "cookie_missing"
    COOKIE_INVALID = "cookie_invalid"
    COOKIE_EXPIRED = "cookie_expired"
    PROVIDER_ERROR = "provider_error"
    CODE_MISSING = "code_missing"
    STATE_MISMATCH = "state_mismatch"
    ISS_MISSING = "iss_missing"
    ISS_MISMATCH = "iss_mismatch"
    STATE_REPLAYED = "state_replayed"
    CODE_REPLAYED = "code_replayed"
    REPLAY_GUARD_UNAVAILABLE = "replay_guard_unavailable"
    # talking to the provider
    PROVIDER_UNAVAILABLE = "provider_unavailable"
    DISCOVERY_INVALID = "discovery_invalid"
    PAR_REJECTED = "par_rejected"
    TOKEN_REJECTED = "token_rejected"
    DPOP_REJECTED = "dpop_rejected"
    TOKEN_RESPONSE_INVALID = "token_response_invalid"
    USERINFO_REJECTED = "userinfo_rejected"
    # the JWE wrapper of the ID token (and of userinfo)
    ID_TOKEN_NOT_ENCRYPTED = "id_token_not_encrypted"
    JWE_MALFORMED = "jwe_malformed"
    JWE_ALG_NOT_ALLOWED = "jwe_alg_not_allowed"
    JWE_ENC_NOT_ALLOWED = "jwe_enc_not_allowed"
    JWE_KID_UNKNOWN = "jwe_kid_unknown"
    JWE_HEADER_NOT_ALLOWED = "jwe_header_not_allowed"
    JWE_DECRYPT_FAILED = "jwe_decrypt_failed"
    # the inner JWS
    JWS_MALFORMED = "jws_malformed"
    JWS_ALG_NONE = "jws_alg_none"
    JWS_ALG_NOT_ALLOWED = "jws_alg_not_allowed"
    JWS_EMBEDDED_KEY = "jws_embedded_key"
    JWS_CRIT_UNSUPPORTED = "jws_crit_unsupported"
    JWS_KID_UNKNOWN = "jws_kid_unknown"
    JWS_BAD_SIGNATURE = "jws_bad_signature"
    # the claims
    ID_TOKEN_CLAIMS_INVALID = "id_token_claims_invalid"
    ID_TOKEN_ISS = "id_token_iss"
    ID_TOKEN_AUD = "id_token_aud"
    ID_TOKEN_EXPIRED = "id_token_expired"
    ID_TOKEN_IAT_FUTURE = "id_token_iat_future"
    ID_TOKEN_NONCE = "id_token_nonce"
    ID_TOKEN_AT_HASH = "id_token_at_hash"
    USERINFO_INVALID = "userinfo_invalid"
    # a deployment problem: a missing setting, an unreadable or malformed key parameter
    CONFIG_INVALID = "config_invalid"
    # anything unexpected (a bug, a crash in a library): still a generic page, never a trace
    INTERNAL_ERROR = "internal_error"


#: reasons caused by the provider or our own infrastructure rather than the browser's request
SERVER_SIDE: frozenset[Reason] = frozenset(
    {
        Reason.PROVIDER_UNAVAILABLE,
        Reason.DISCOVERY_INVALID,
        Reason.REPLAY_GUARD_UNAVAILABLE,
        Reason.CONFIG_INVALID,
        Reason.INTERNAL_ERROR,
    }
)


class AuthFailure(Exception):
    """A login step failed closed. ``detail`` must never contain a secret or personal data."""

    def __init__(self, reason: Reason, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail


class AuthConfigError(ConfigError):
    """A missing or malformed setting or key; the message names the variable/parameter and the fix."""
