"""Real parts for the login chain: moto (SSM, DynamoDB) over HTTP, the jwks handler served on
127.0.0.1, MockPass under its restart wrapper, and the FAPI 2.0 test authorization server.

A ``Browser`` drives the chain the way a person's browser would: it calls the login handler with
an API Gateway payload 2.0 event, follows the redirect to the provider over real HTTP (picking
the person with ``X-Custom-NRIC``/``X-Custom-UUID``), and brings the ``code``/``state``/``iss``
back to the callback handler with the sealed cookie. ``Spy`` records every secret that crossed
the wire (client assertions, DPoP proofs, codes, tokens) so the log test can search for them.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from emulator.mockpass import MockPass, mockpass
from emulator.moto_server import moto_server
from observe.testing import FakeLambdaContext
from pipelines.auth import keys as auth_keys
from pipelines.auth import local
from pipelines.auth.cookie import LOGIN_COOKIE, SESSION_COOKIE
from pipelines.auth.handlers import callback, jwks, login
from pipelines.auth.keys import ClientKeys
from pipelines.auth.replay import create_table
from pipelines.auth.runtime import get_runtime, reset_runtime
from tests.support.fapi_server import FapiServer, fapi_server

CLIENT_ID = "it-client"
REDIRECT_URI = "https://app.example.test/auth/callback"
NRIC = "S9912370B"
UUID = "5b1f8a9e-0000-4c1e-9d7a-1234567890ab"


@dataclass
class KeyMaterial:
    """The three SSM parameters of the test client: names, raw values, parsed keys."""

    names: dict[str, str]
    values: dict[str, str]
    keys: ClientKeys

    def private_parts(self) -> list[str]:
        """Every private member (EC ``d``, oct ``k``) of every key: must never be logged."""
        out: list[str] = []
        for raw in self.values.values():
            for item in json.loads(raw)["keys"]:
                out.extend(str(item[m]) for m in ("d", "k") if m in item)
        return out


@pytest.fixture(scope="session")
def aws() -> Iterator[str]:
    """moto in server mode for the whole session (SSM + DynamoDB)."""
    with moto_server() as url:
        yield url


@pytest.fixture(scope="session")
def key_material(aws: str) -> KeyMaterial:
    """Fresh client keys, written to SSM as SecureString by the package's own tool."""
    values = auth_keys.generate_all()
    names, written = auth_keys.write_to_ssm(f"/auth/it-{secrets.token_hex(3)}", values)
    return KeyMaterial(
        names, written, auth_keys.parse_keys(written["signing"], written["encryption"], written["cookie"])
    )


@pytest.fixture(scope="session")
def replay_table(aws: str) -> str:
    """The replay-guard table (pk + TTL), created in moto."""
    name = f"auth-replay-{secrets.token_hex(3)}"
    create_table(name)
    return name


@pytest.fixture(scope="session")
def jwks_url(aws: str) -> Iterator[str]:
    """The project's jwks handler behind a local HTTP wrapper (what MockPass and the FAPI server fetch)."""
    with local.serve({"/jwks": jwks.handler}) as base:
        yield f"{base}/jwks"


@pytest.fixture(scope="session")
def mockpass_server(jwks_url: str) -> Iterator[MockPass]:
    """MockPass with SHOW_LOGIN_PAGE=false and SP_RP_JWKS_ENDPOINT at our jwks handler."""
    with mockpass(rp_jwks_endpoint=jwks_url) as mp:
        yield mp


@pytest.fixture
def fapi(jwks_url: str) -> Iterator[FapiServer]:
    """A fresh FAPI 2.0 test authorization server per test, reading our JWKS over HTTP."""
    with fapi_server(client_id=CLIENT_ID, redirect_uris=(REDIRECT_URI,), client_jwks_uri=jwks_url) as srv:
        yield srv


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch, key_material: KeyMaterial) -> Iterator[Callable[..., None]]:
    """Set the chain's environment (the contract names) and start from a cold runtime."""

    def _configure(mode: str, issuer: str, **extra: str) -> None:
        env = {
            "SINGPASS_MODE": mode,
            "SINGPASS_ISSUER": issuer,
            "CLIENT_ID": CLIENT_ID,
            "REDIRECT_URI": REDIRECT_URI,
            "SIGNING_KEY_PARAM": key_material.names["signing"],
            "ENCRYPTION_KEY_PARAM": key_material.names["encryption"],
            "COOKIE_KEY_PARAM": key_material.names["cookie"],
            "POST_LOGIN_REDIRECT": "/home",
            **extra,
        }
        for name in ("REPLAY_TABLE", "REPLAY_GUARD", "SINGPASS_USERINFO", "SESSION_CLAIMS"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        reset_runtime()

    yield _configure
    reset_runtime()


@dataclass
class Spy:
    """Secrets seen on the wire by the chain's HTTP client (requests and responses)."""

    secrets: set[str] = field(default_factory=set)

    def on_request(self, request: httpx.Request) -> None:
        if request.headers.get("DPoP"):
            self.secrets.add(request.headers["DPoP"])
        auth = request.headers.get("Authorization", "")
        if auth:
            self.secrets.add(auth.split(" ", 1)[-1])
        body = request.content.decode() if request.content else ""
        for name, value in parse_qsl(body):
            if name in {"client_assertion", "code", "code_verifier"}:
                self.secrets.add(value)

    def on_response(self, response: httpx.Response) -> None:
        response.read()
        try:
            body = response.json()
        except ValueError:
            if response.headers.get("content-type", "").startswith("application/jwt"):
                self.secrets.add(response.text.strip())
            return
        if isinstance(body, dict):
            for name in ("access_token", "id_token", "refresh_token"):
                if isinstance(body.get(name), str):
                    self.secrets.add(body[name])


@dataclass
class Browser:
    """A scripted browser walking login -> provider -> callback."""

    nric: str = NRIC
    uuid: str = UUID
    client_id: str = CLIENT_ID
    redirect_uri: str = REDIRECT_URI
    spy: Spy = field(default_factory=Spy)
    seen: set[str] = field(default_factory=set)

    def attach_spy(self) -> None:
        """Hook the spy into the (cold-built) runtime's HTTP client."""
        client = get_runtime().http
        if self.spy.on_request not in client.event_hooks["request"]:
            client.event_hooks["request"].append(self.spy.on_request)
            client.event_hooks["response"].append(self.spy.on_response)

    def login(self) -> tuple[dict[str, Any], str]:
        """Call the login handler; returns (response, sealed cookie value)."""
        self.attach_spy()
        resp = login.handler(self.event("/login"), FakeLambdaContext(function_name="auth-login"))
        assert resp["statusCode"] == 302, resp
        cookie = next(c for c in resp["cookies"] if c.startswith(LOGIN_COOKIE + "="))
        value = cookie.split(";", 1)[0].split("=", 1)[1]
        self.seen.add(value)
        return resp, value

    def authorize(self, location: str) -> dict[str, str]:
        """Visit the provider's authorize URL; return the redirect's query (code, state, iss)."""
        headers = {"X-Custom-NRIC": self.nric, "X-Custom-UUID": self.uuid}
        resp = httpx.get(location, headers=headers, follow_redirects=False, timeout=10)
        assert resp.status_code == 302, (resp.status_code, resp.text)
        target = urlsplit(resp.headers["location"])
        assert f"{target.scheme}://{target.netloc}{target.path}" == REDIRECT_URI
        params = dict(parse_qsl(target.query))
        if "code" in params:
            self.seen.add(params["code"])
        return params

    def callback(self, params: dict[str, str], cookie: str | None) -> dict[str, Any]:
        """Bring the redirect back to the callback handler with the login cookie."""
        self.attach_spy()
        ev = self.event("/callback", params)
        if cookie is not None:
            ev["cookies"] = [f"{LOGIN_COOKIE}={cookie}"]
        resp = callback.handler(ev, FakeLambdaContext(function_name="auth-callback"))
        for c in resp.get("cookies", []):
            if c.startswith(SESSION_COOKIE + "="):
                self.seen.add(c.split(";", 1)[0].split("=", 1)[1])
        return resp

    def full_login(self) -> dict[str, Any]:
        """login -> authorize -> callback; the callback's response."""
        resp, cookie = self.login()
        return self.callback(self.authorize(resp["headers"]["Location"]), cookie)

    @staticmethod
    def event(path: str, query: dict[str, str] | None = None) -> dict[str, Any]:
        """A minimal API Gateway HTTP API payload 2.0 GET event."""
        ev: dict[str, Any] = {
            "version": "2.0",
            "routeKey": f"GET {path}",
            "rawPath": path,
            "rawQueryString": "",
            "headers": {"host": "app.example.test", "user-agent": "pytest"},
            "requestContext": {
                "http": {"method": "GET", "path": path, "sourceIp": "127.0.0.1"},
                "stage": "$default",
            },
            "isBase64Encoded": False,
        }
        if query:
            ev["queryStringParameters"] = dict(query)
        return ev

    @staticmethod
    def session_cookie(resp: dict[str, Any]) -> str:
        """The session token a successful callback set."""
        cookie = next(c for c in resp["cookies"] if c.startswith(SESSION_COOKIE + "="))
        return cookie.split(";", 1)[0].split("=", 1)[1]

    @staticmethod
    def failure_reasons(logs: list[dict[str, Any]]) -> list[str]:
        """The ``reason`` of every 'login failed' line."""
        return [line["reason"] for line in logs if line.get("message") == "login failed"]

    def all_secrets(self) -> set[str]:
        """Everything secret this browser and its spy saw (minus trivially short values)."""
        return {s for s in self.spy.secrets | self.seen if len(s) >= 8}


@pytest.fixture
def browser() -> Browser:
    """A fresh scripted browser (person: NRIC/UUID above)."""
    return Browser()
