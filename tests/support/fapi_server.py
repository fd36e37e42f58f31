"""A FAPI 2.0 authorization server for tests, written from the Singpass FAPI documentation and the
RFCs it cites, independently of the client code it tests (its JOSE helpers are its own).

Provider side, on real HTTP at 127.0.0.1:
- discovery (``/.well-known/openid-configuration``) and its JWKS (``/jwks``);
- PAR (RFC 9126, ``/par``): client authentication, a DPoP proof (RFC 9449) whose key is bound
  to the request (``jkt``), PKCE S256 parameters; answers 201 with a single-use ``request_uri``;
- authorize (``/authorize``): only ``client_id`` + ``request_uri``; a silent login (the person
  chosen by ``X-Custom-NRIC``/``X-Custom-UUID`` like MockPass); redirects with
  ``code``, ``state`` and ``iss`` (RFC 9207);
- token (``/token``): client authentication, DPoP proof bound to the PAR key, single-use codes,
  PKCE verification, redirect_uri match; an ID token that is an ES256 JWS inside an
  ECDH-ES+A256KW JWE (A256GCM or A256CBC-HS512) encrypted to the client's key;
- userinfo (``/userinfo``): ``Authorization: DPoP``, proof with ``ath``, bound to the token's key.

Client assertions are checked as Singpass does: ES256/384/512 with a kid from the client's JWKS
(fetched from its URL or given), typ present, iss = sub = client_id, aud = the issuer, exp after
now and at most 2 minutes after iat, a jti never seen before. DPoP proofs: typ dpop+jwt, ES256,
a public jwk, htm/htu of this request, iat within a minute, a fresh jti, the server nonce when
``require_dpop_nonce``.

Tests reach behind the spec through ``id_token_hook`` (change claims or headers, or replace the
token outright), ``rotate_signing_key`` and the ``events`` log.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
from joserfc import jwe, jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, Key, KeySet

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGS = ("ES256", "ES384", "ES512")
DEFAULT_PERSON = {"nric": "S8979373D", "uuid": "a9865837-7bd7-46ac-bef4-42a76a946424"}
_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")
_VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _s256(value: str) -> str:
    return _b64(hashlib.sha256(value.encode("ascii")).digest())


def _thumbprint(jwk: dict[str, Any]) -> str:
    members = {k: jwk[k] for k in ("crv", "kty", "x", "y")}
    return _b64(hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode()).digest())


def _header(token: str) -> dict[str, Any]:
    header = json.loads(_unb64(token.split(".")[0]))
    if not isinstance(header, dict):
        raise ValueError("header")
    return header


class OAuthError(Exception):
    """An error answer: status, OAuth ``error`` code, description, extra headers."""

    def __init__(
        self, status: int, error: str, description: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{error}: {description}")
        self.status, self.error, self.description = status, error, description
        self.headers = headers or {}


@dataclass
class IdTokenParts:
    """What the token endpoint is about to sign and encrypt; a hook may change any of it, or
    set ``override`` to a complete token string to send instead."""

    claims: dict[str, Any]
    jws_header: dict[str, Any]
    jwe_header: dict[str, Any]
    signing_key: ECKey
    encryption_key: Key
    access_token: str
    override: str | None = None

    def sign(self) -> str:
        """The inner JWS as the server would make it from the current parts."""
        return jws.serialize_compact(
            self.jws_header, json.dumps(self.claims), self.signing_key, algorithms=[self.jws_header["alg"]]
        )

    def encrypt(self, inner: str) -> str:
        """Wrap ``inner`` in the JWE as the server would."""
        algs = [self.jwe_header["alg"], self.jwe_header["enc"]]
        return jwe.encrypt_compact(self.jwe_header, inner, self.encryption_key, algorithms=algs)


@dataclass
class FapiServer:
    """The server and its state. Use :func:`fapi_server` to run one."""

    client_id: str
    redirect_uris: tuple[str, ...]
    client_jwks: dict[str, Any] | None = None
    client_jwks_uri: str | None = None
    require_dpop_nonce: bool = False
    id_token_enc: str = "A256GCM"
    fractional_iat: bool = True
    code_ttl_s: float = 60.0
    request_uri_ttl_s: float = 60.0
    proof_window_s: float = 60.0
    id_token_hook: Callable[[IdTokenParts], None] | None = None
    userinfo_claims: dict[str, Any] = field(default_factory=lambda: {"name": "TAN XIAO HUI"})
    issuer: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)
    authorize_queries: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.signing_keys: list[ECKey] = [self._new_signing_key()]
        self.dpop_nonce = secrets.token_urlsafe(16)
        self._lock = threading.Lock()
        self._assertion_jtis: dict[str, float] = {}
        self._proof_jtis: dict[str, float] = {}
        self._requests: dict[str, dict[str, Any]] = {}
        self._codes: dict[str, dict[str, Any]] = {}
        self._used_codes: set[str] = set()
        self._tokens: dict[str, dict[str, Any]] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._http = httpx.Client(timeout=5.0)

    # --- keys ------------------------------------------------------------------------------------

    @staticmethod
    def _new_signing_key() -> ECKey:
        kid = f"fapi-sig-{secrets.token_hex(4)}"
        return ECKey.generate_key("P-256", parameters={"kid": kid, "use": "sig", "alg": "ES256"})

    def rotate_signing_key(self, *, publish_old: bool = True) -> ECKey:
        """Sign with a new key from now on; keep the old one published unless told otherwise."""
        new = self._new_signing_key()
        self.signing_keys = [new, *self.signing_keys] if publish_old else [new]
        return new

    def public_jwks(self) -> dict[str, Any]:
        """The server's published JWKS."""
        return {"keys": [dict(k.as_dict(private=False)) for k in self.signing_keys]}

    def _client_keys(self) -> KeySet:
        if self.client_jwks is not None:
            data = self.client_jwks
        elif self.client_jwks_uri:
            resp = self._http.get(self.client_jwks_uri)
            if resp.status_code != 200:
                raise OAuthError(401, "invalid_client", f"client JWKS fetch failed: HTTP {resp.status_code}")
            data = resp.json()
        else:  # pragma: no cover - configuration error of the test
            raise OAuthError(500, "server_error", "no client JWKS configured")
        return KeySet.import_key_set(data)  # type: ignore[arg-type]

    # --- endpoint URLs ---------------------------------------------------------------------------

    def url(self, path: str) -> str:
        """Absolute URL of one of the endpoints."""
        return f"{self.issuer}{path}"

    def discovery(self) -> dict[str, Any]:
        """The OpenID Provider / OAuth AS metadata."""
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.url("/authorize"),
            "pushed_authorization_request_endpoint": self.url("/par"),
            "require_pushed_authorization_requests": True,
            "token_endpoint": self.url("/token"),
            "userinfo_endpoint": self.url("/userinfo"),
            "jwks_uri": self.url("/jwks"),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "scopes_supported": ["openid", "name", "email"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGS),
            "dpop_signing_alg_values_supported": ["ES256"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "id_token_encryption_alg_values_supported": ["ECDH-ES+A256KW"],
            "id_token_encryption_enc_values_supported": ["A256GCM", "A256CBC-HS512"],
            "authorization_response_iss_parameter_supported": True,
            "subject_types_supported": ["public"],
        }

    # --- checks ----------------------------------------------------------------------------------

    def _check_client_assertion(self, form: dict[str, str]) -> None:
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise OAuthError(401, "invalid_client", "client_assertion_type must be jwt-bearer")
        assertion = form.get("client_assertion", "")
        try:
            header = _header(assertion)
        except Exception:
            raise OAuthError(401, "invalid_client", "client_assertion is not a JWT") from None
        if header.get("alg") not in ASSERTION_ALGS:
            raise OAuthError(401, "invalid_client", f"client_assertion alg {header.get('alg')} not allowed")
        if not header.get("typ"):
            raise OAuthError(401, "invalid_client", "client_assertion typ missing")
        keys = self._client_keys()
        try:
            key = keys.get_by_kid(header.get("kid"), {"use": "sig"})
        except Exception:
            raise OAuthError(401, "invalid_client", "client_assertion kid not in the client JWKS") from None
        try:
            claims = json.loads(jws.deserialize_compact(assertion, key, algorithms=[header["alg"]]).payload)
        except (JoseError, ValueError):
            raise OAuthError(401, "invalid_client", "client_assertion signature invalid") from None
        now = time.time()
        cid = form.get("client_id") or claims.get("sub")
        if (
            claims.get("iss") != self.client_id
            or claims.get("sub") != self.client_id
            or cid != self.client_id
        ):
            raise OAuthError(401, "invalid_client", "iss/sub/client_id mismatch")
        if claims.get("aud") != self.issuer:
            raise OAuthError(401, "invalid_client", "client_assertion aud is not the issuer")
        iat, exp, jti = claims.get("iat"), claims.get("exp"), claims.get("jti")
        if not isinstance(iat, (int, float)) or not isinstance(exp, (int, float)):
            raise OAuthError(401, "invalid_client", "client_assertion iat/exp missing")
        if exp <= now:
            raise OAuthError(401, "invalid_client", "client_assertion expired")
        if exp - iat > 120:
            raise OAuthError(401, "invalid_client", "client_assertion lifetime over 2 minutes")
        if iat > now + 10:
            raise OAuthError(401, "invalid_client", "client_assertion iat in the future")
        if not isinstance(jti, str) or not jti:
            raise OAuthError(401, "invalid_client", "client_assertion jti missing")
        with self._lock:
            if jti in self._assertion_jtis:
                raise OAuthError(401, "invalid_client", "client_assertion jti reused")
            self._assertion_jtis[jti] = exp

    def _check_dpop(
        self,
        proof: str | None,
        method: str,
        url: str,
        *,
        access_token: str | None = None,
        resource: bool = False,
    ) -> str:
        """Verify a DPoP proof for this request; returns the key's thumbprint (jkt)."""
        status, error_header = (401, True) if resource else (400, False)

        def bad(description: str) -> OAuthError:
            headers = {"WWW-Authenticate": 'DPoP error="invalid_dpop_proof"'} if error_header else {}
            return OAuthError(status, "invalid_dpop_proof", description, headers)

        if not proof:
            raise bad("DPoP header missing")
        try:
            header = _header(proof)
        except Exception:
            raise bad("DPoP proof is not a JWT") from None
        if header.get("typ") != "dpop+jwt":
            raise bad("DPoP typ must be dpop+jwt")
        if header.get("alg") != "ES256":
            raise bad("DPoP alg must be ES256")
        jwk = header.get("jwk")
        if not isinstance(jwk, dict) or "d" in jwk or jwk.get("kty") != "EC":
            raise bad("DPoP jwk must be a public EC key")
        try:
            key = ECKey.import_key(jwk)
            claims = json.loads(jws.deserialize_compact(proof, key, algorithms=["ES256"]).payload)
        except (JoseError, ValueError):
            raise bad("DPoP signature invalid") from None
        now = time.time()
        if claims.get("htm") != method:
            raise bad("DPoP htm does not match the request method")
        if claims.get("htu") != url:
            raise bad("DPoP htu does not match the request URL")
        iat = claims.get("iat")
        if not isinstance(iat, (int, float)) or abs(now - iat) > self.proof_window_s:
            raise bad("DPoP iat outside the acceptable window")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise bad("DPoP jti missing")
        if access_token is not None and claims.get("ath") != _s256(access_token):
            raise bad("DPoP ath does not match the access token")
        if self.require_dpop_nonce and claims.get("nonce") != self.dpop_nonce:
            headers = {"DPoP-Nonce": self.dpop_nonce}
            if error_header:
                headers["WWW-Authenticate"] = 'DPoP error="use_dpop_nonce"'
            raise OAuthError(status, "use_dpop_nonce", "DPoP nonce required", headers)
        with self._lock:
            if jti in self._proof_jtis:
                raise bad("DPoP jti reused")
            self._proof_jtis[jti] = now
        return _thumbprint(jwk)

    # --- endpoints -------------------------------------------------------------------------------

    def par(self, form: dict[str, str], dpop: str | None) -> tuple[int, dict[str, Any]]:
        """RFC 9126 pushed authorization request."""
        jkt = self._check_dpop(dpop, "POST", self.url("/par"))
        self._check_client_assertion(form)
        if "request_uri" in form:
            raise OAuthError(400, "invalid_request", "request_uri is not allowed in a PAR")
        if form.get("dpop_jkt") and form["dpop_jkt"] != jkt:
            raise OAuthError(400, "invalid_dpop_proof", "dpop_jkt does not match the DPoP proof key")
        if form.get("response_type") != "code":
            raise OAuthError(400, "unsupported_response_type", "response_type must be code")
        if "openid" not in form.get("scope", "").split():
            raise OAuthError(400, "invalid_scope", "scope must include openid")
        if form.get("redirect_uri") not in self.redirect_uris:
            raise OAuthError(400, "invalid_request", "redirect_uri is not registered")
        for name in ("state", "nonce"):
            if not form.get(name):
                raise OAuthError(400, "invalid_request", f"{name} missing")
        if form.get("code_challenge_method") != "S256" or not _CHALLENGE.match(
            form.get("code_challenge", "")
        ):
            raise OAuthError(400, "invalid_request", "PKCE S256 code_challenge required")
        request_uri = f"urn:ietf:params:oauth:request_uri:{secrets.token_urlsafe(24)}"
        with self._lock:
            self._requests[request_uri] = {
                **form,
                "jkt": jkt,
                "expires": time.time() + self.request_uri_ttl_s,
            }
        return 201, {"request_uri": request_uri, "expires_in": int(self.request_uri_ttl_s)}

    def authorize(self, query: dict[str, str], headers: dict[str, str]) -> str:
        """The browser's visit: returns the redirect Location (code, state, iss)."""
        self.authorize_queries.append(dict(query))
        extra = set(query) - {"client_id", "request_uri"}
        if extra:
            raise OAuthError(
                400, "invalid_request", f"only client_id and request_uri may be sent, got {sorted(extra)}"
            )
        with self._lock:
            req = self._requests.pop(query.get("request_uri", ""), None)
        if req is None or req["expires"] < time.time():
            raise OAuthError(400, "invalid_request_uri", "request_uri unknown, used or expired")
        if query.get("client_id") != req["client_id"]:
            raise OAuthError(400, "invalid_request", "client_id differs from the pushed request")
        nric, uuid = headers.get("x-custom-nric"), headers.get("x-custom-uuid")
        person = {"nric": nric, "uuid": uuid} if nric and uuid else dict(DEFAULT_PERSON)
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._codes[code] = {**req, "person": person, "expires": time.time() + self.code_ttl_s}
        params = {"code": code, "state": req["state"], "iss": self.issuer}
        return f"{req['redirect_uri']}?{urlencode(params)}"

    def token(self, form: dict[str, str], dpop: str | None) -> dict[str, Any]:
        """The token endpoint (authorization_code grant only)."""
        jkt = self._check_dpop(dpop, "POST", self.url("/token"))
        self._check_client_assertion(form)
        if form.get("grant_type") != "authorization_code":
            raise OAuthError(400, "unsupported_grant_type", "grant_type must be authorization_code")
        code = form.get("code", "")
        with self._lock:
            grant = self._codes.pop(code, None)
            reused = code in self._used_codes
            self._used_codes.add(code)
        if grant is None:
            raise OAuthError(400, "invalid_grant", "code already used" if reused else "code unknown")
        if grant["expires"] < time.time():
            raise OAuthError(400, "invalid_grant", "code expired")
        if form.get("client_id") != grant["client_id"] or form.get("redirect_uri") != grant["redirect_uri"]:
            raise OAuthError(
                400, "invalid_grant", "client_id or redirect_uri differs from the authorization request"
            )
        verifier = form.get("code_verifier", "")
        if not _VERIFIER.match(verifier) or _s256(verifier) != grant["code_challenge"]:
            raise OAuthError(400, "invalid_grant", "PKCE verification failed")
        if jkt != grant["jkt"]:
            raise OAuthError(400, "invalid_grant", "DPoP key differs from the one bound at PAR")
        access_token = secrets.token_urlsafe(32)
        person = grant["person"]
        with self._lock:
            self._tokens[access_token] = {"jkt": jkt, "person": person, "expires": time.time() + 600}
        return {
            "access_token": access_token,
            "token_type": "DPoP",
            "expires_in": 600,
            "scope": grant["scope"],
            "id_token": self._id_token(person, grant["nonce"], access_token),
        }

    def _client_encryption_key(self) -> Key:
        for key in self._client_keys().keys:
            if key.get("use") == "enc" and key.key_type == "EC":
                return key
        raise OAuthError(400, "invalid_client", "client JWKS has no EC encryption key")

    def _id_token(self, person: dict[str, str], nonce: str, access_token: str) -> str:
        now = time.time()
        iat: float = round(now, 3) if self.fractional_iat else int(now)
        claims = {
            "iss": self.issuer,
            "aud": self.client_id,
            "sub": f"s={person['nric']},u={person['uuid']}",
            "iat": iat,
            "exp": int(now) + 600,
            "nonce": nonce,
            "at_hash": _b64(hashlib.sha256(access_token.encode()).digest()[:16]),
            "amr": ["pwd"],
            "acr": "urn:singpass:authentication:loa:1",
        }
        signing = self.signing_keys[0]
        enc_key = self._client_encryption_key()
        parts = IdTokenParts(
            claims=claims,
            jws_header={"alg": "ES256", "typ": "JWT", "kid": signing.kid},
            jwe_header={"alg": "ECDH-ES+A256KW", "enc": self.id_token_enc, "kid": enc_key.kid, "cty": "JWT"},
            signing_key=signing,
            encryption_key=enc_key,
            access_token=access_token,
        )
        if self.id_token_hook is not None:
            self.id_token_hook(parts)
        if parts.override is not None:
            return parts.override
        return parts.encrypt(parts.sign())

    def userinfo(self, headers: dict[str, str]) -> str:
        """Myinfo v5-style userinfo: a JWE-wrapped ES256 JWS."""
        auth = headers.get("authorization", "")
        scheme, _, access_token = auth.partition(" ")
        if scheme != "DPoP" or not access_token:
            raise OAuthError(401, "invalid_token", "DPoP access token required", {"WWW-Authenticate": "DPoP"})
        with self._lock:
            grant = self._tokens.get(access_token)
        if grant is None or grant["expires"] < time.time():
            raise OAuthError(
                401, "invalid_token", "access token unknown or expired", {"WWW-Authenticate": "DPoP"}
            )
        jkt = self._check_dpop(
            headers.get("dpop"), "GET", self.url("/userinfo"), access_token=access_token, resource=True
        )
        if jkt != grant["jkt"]:
            raise OAuthError(
                401, "invalid_token", "DPoP key differs from the token's", {"WWW-Authenticate": "DPoP"}
            )
        person = grant["person"]
        claims = {
            "iss": self.issuer,
            "aud": self.client_id,
            "sub": f"s={person['nric']},u={person['uuid']}",
            "iat": int(time.time()),
            **self.userinfo_claims,
        }
        signing = self.signing_keys[0]
        inner = jws.serialize_compact(
            {"alg": "ES256", "typ": "JWT", "kid": signing.kid}, json.dumps(claims), signing
        )
        enc_key = self._client_encryption_key()
        header = {"alg": "ECDH-ES+A256KW", "enc": self.id_token_enc, "kid": enc_key.kid, "cty": "JWT"}
        return jwe.encrypt_compact(header, inner, enc_key, algorithms=["ECDH-ES+A256KW", self.id_token_enc])

    # --- HTTP plumbing ---------------------------------------------------------------------------

    def start(self) -> FapiServer:
        """Listen on a free port of 127.0.0.1; the issuer is the base URL."""
        server = self

        class _Handler(BaseHTTPRequestHandler):
            def _send(
                self, status: int, body: str, ctype: str, headers: dict[str, str] | None = None
            ) -> None:
                raw = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Cache-Control", "no-store")
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _route(self, method: str) -> None:
                parts = urlsplit(self.path)
                headers = {k.lower(): v for k, v in self.headers.items()}
                query = dict(parse_qsl(parts.query, keep_blank_values=True))
                form: dict[str, str] = {}
                if method == "POST":
                    if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
                        self._send(400, json.dumps({"error": "invalid_request"}), "application/json")
                        return
                    length = int(headers.get("content-length") or 0)
                    form = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
                endpoint = parts.path
                try:
                    # The reply is computed and the event recorded before anything is sent, so a
                    # client that has its answer always finds the event in the trail.
                    reply: tuple[int, str, str, dict[str, str] | None]
                    if method == "GET" and endpoint == "/.well-known/openid-configuration":
                        reply = (200, json.dumps(server.discovery()), "application/json", None)
                    elif method == "GET" and endpoint == "/jwks":
                        reply = (200, json.dumps(server.public_jwks()), "application/json", None)
                    elif method == "POST" and endpoint == "/par":
                        status, pushed = server.par(form, headers.get("dpop"))
                        reply = (status, json.dumps(pushed), "application/json", None)
                    elif method == "GET" and endpoint == "/authorize":
                        reply = (302, "", "text/plain", {"Location": server.authorize(query, headers)})
                    elif method == "POST" and endpoint == "/token":
                        reply = (
                            200,
                            json.dumps(server.token(form, headers.get("dpop"))),
                            "application/json",
                            None,
                        )
                    elif method == "GET" and endpoint == "/userinfo":
                        reply = (200, server.userinfo(headers), "application/jwt", None)
                    else:
                        raise OAuthError(404, "not_found", endpoint)
                    server.events.append({"endpoint": endpoint, "status": "ok"})
                    self._send(*reply)
                except OAuthError as err:
                    server.events.append(
                        {
                            "endpoint": endpoint,
                            "status": err.status,
                            "error": err.error,
                            "description": err.description,
                        }
                    )
                    answer = json.dumps({"error": err.error, "error_description": err.description})
                    self._send(err.status, answer, "application/json", err.headers)

            def do_GET(self) -> None:
                self._route("GET")

            def do_POST(self) -> None:
                self._route("POST")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self.issuer = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fapi-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Shut the listener down."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._http.close()

    def errors(self, endpoint: str | None = None) -> list[dict[str, Any]]:
        """The error answers given so far (optionally for one endpoint)."""
        return [
            e for e in self.events if e["status"] != "ok" and (endpoint is None or e["endpoint"] == endpoint)
        ]


@contextmanager
def fapi_server(**kwargs: Any) -> Iterator[FapiServer]:
    """Run a :class:`FapiServer` for the duration of the block."""
    server = FapiServer(**kwargs).start()
    try:
        yield server
    finally:
        server.stop()
