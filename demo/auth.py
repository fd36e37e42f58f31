"""Demo of the Singpass login chain: a scripted login against MockPass, then one with FAPI 2.0.

Starts what it needs on 127.0.0.1: moto (SSM for the keys, DynamoDB for the replay guard), the
three functions (login, callback, jwks), each in its own process under ``awslambdaric``, behind a
local HTTP wrapper (as API Gateway would call them), MockPass under its restart wrapper, and the
FAPI 2.0 test authorization server. Generates the client's keys with
``python -m pipelines.auth``'s own tool, logs a person in, shows the (masked) claims of the
session, replays the callback to show the replay guard, and prints the logs and metrics the
handlers wrote. Secrets (codes, verifiers, tokens, keys, the NRIC) are never printed.
"""

from __future__ import annotations

import io
import json
import secrets
import time
from contextlib import ExitStack
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

from demo.show import heading, platform_line, render
from emulator.env import scoped_env
from observe import logging as olog

PERSON = {"X-Custom-NRIC": "S9912370B", "X-Custom-UUID": "0d5c2a3e-5b1f-4c1e-9d7a-8e6f4a2b1c00"}
SECRET_PARAMS = {"code", "state", "nonce", "code_challenge", "request_uri"}


def _mask_url(url: str) -> str:
    """A URL with its one-time values replaced by their length."""
    parts = urlsplit(url)
    query = [(k, f"<{len(v)} chars>" if k in SECRET_PARAMS else v) for k, v in parse_qsl(parts.query)]
    shown = f"{parts.scheme}://{parts.netloc}{parts.path}"
    return f"{shown}?{urlencode(query, safe='<> ')}" if query else shown


def _step(n: int, text: str) -> None:
    print(f"  {n}. {text}")


def _walk(http: httpx.Client, base: str, *, expect_iss: bool) -> tuple[httpx.Response, str, str]:
    """login -> provider -> callback through real HTTP, printing each hop; returns the final
    response, the callback URL and the login cookie (kept to show a replay). The cookie is
    carried by hand: it is ``Secure`` and this demo speaks plain HTTP on 127.0.0.1."""
    resp = http.get(f"{base}/login")
    login_cookie = resp.headers["set-cookie"].split(";", 1)[0]
    _step(1, f"GET /login -> {resp.status_code}, Set-Cookie __Host-sp-login (sealed, HttpOnly, Secure, Lax)")
    _step(2, f"browser -> {_mask_url(resp.headers['location'])}")
    at_idp = http.get(resp.headers["location"], headers=PERSON)
    callback_url = at_idp.headers["location"]
    _step(3, f"provider logs the person in -> {at_idp.status_code} {_mask_url(callback_url)}")
    if expect_iss:
        assert "iss=" in callback_url, "FAPI redirects carry iss (RFC 9207)"
    local_callback = callback_url.replace("https://app.example.test", base)
    done = http.get(local_callback, headers={"Cookie": login_cookie})
    cookies = [c.split("=", 1)[0] for c in done.headers.get_list("set-cookie")]
    _step(4, f"GET /callback -> {done.status_code} Location={done.headers.get('location')} cookies={cookies}")
    return done, local_callback, login_cookie


def _session_claims(resp: httpx.Response) -> dict[str, Any]:
    from pipelines.auth.runtime import get_runtime
    from pipelines.auth.session import verify_session

    raw = next(c for c in resp.headers.get_list("set-cookie") if c.startswith("__Host-session="))
    token = raw.split(";", 1)[0].split("=", 1)[1]
    claims = verify_session(token, get_runtime().keys(), audience="https://app.example.test")
    return {k: v for k, v in claims.items() if k not in {"jti"}}


#: the chain's functions and handlers, as the auth_chain module deploys them (512 MB, 15 s)
FUNCTIONS = {
    "/login": "pipelines.auth.handlers.login.handler",
    "/callback": "pipelines.auth.handlers.callback.handler",
    "/jwks": "pipelines.auth.handlers.jwks.handler",
}


def _via_runtime(fn: Any) -> Any:
    """What API Gateway does with a function's answer: its response, or a 500 if it failed."""

    def call(event: dict[str, Any], _context: Any) -> dict[str, Any]:
        result = fn.invoke(event)
        if result.ok:
            return result.payload
        return {"statusCode": 500, "body": '{"message":"Internal Server Error"}'}

    return call


def _configure(functions: dict[str, Any], env: dict[str, str]) -> None:
    """Give every function ``env`` (a new configuration: new environments) and run their inits
    side by side before the login, so no provider call waits on a cold start."""
    import threading

    for fn in functions.values():
        fn.update(env=env)
    threads = [threading.Thread(target=fn.warm) for fn in functions.values()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _logged_in(done: httpx.Response, callback: Any) -> httpx.Response:
    """``done`` if the callback set a session; else stop, with what the platform said about it."""
    if any(c.startswith("__Host-session=") for c in done.headers.get_list("set-cookie")):
        return done
    reports = [line.strip() for line in callback.lines() if line.startswith("REPORT ")]
    raise SystemExit(f"the login did not complete (callback answered {done.status_code}); {reports[-1:]}")


def _metrics(text: str) -> dict[str, Any]:
    """AuthLogins, AuthFailures by reason and token-exchange latency from the EMF documents."""
    out: dict[str, Any] = {"AuthLogins": 0, "AuthFailures": {}, "TokenExchangeLatency_ms": []}
    for line in text.splitlines():
        doc = json.loads(line)
        if "_aws" not in doc:
            continue
        names = {m["Name"] for m in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
        if "AuthLogins" in names:
            out["AuthLogins"] += int(doc["AuthLogins"])
        if "AuthFailures" in names and "reason" in doc:  # the per-reason breakdown, not the total
            out["AuthFailures"][doc["reason"]] = out["AuthFailures"].get(doc["reason"], 0) + 1
        if "TokenExchangeLatency" in names:
            out["TokenExchangeLatency_ms"].append(round(float(doc["TokenExchangeLatency"]), 1))
    return out


def main() -> None:
    """Run both scripted logins and show what the chain did and wrote."""
    from emulator.lambda_function import FunctionConfig, LambdaFunction
    from emulator.mockpass import mockpass
    from emulator.moto_server import moto_server
    from pipelines.auth import keys as auth_keys
    from pipelines.auth import local
    from pipelines.auth.replay import create_table
    from pipelines.auth.runtime import reset_runtime
    from tests.support.fapi_server import fapi_server

    heading("auth: Singpass login chain (stateless Lambdas) against MockPass and a FAPI 2.0 server")
    started = time.perf_counter()
    olog.configure(level="WARNING", stream=io.StringIO())  # this harness's own boto3 lines stay out
    functions: dict[str, LambdaFunction] = {}
    with ExitStack() as stack:
        stack.enter_context(moto_server())
        names, _ = auth_keys.write_to_ssm(f"/auth/demo-{secrets.token_hex(2)}", auth_keys.generate_all())
        table = f"auth-replay-demo-{secrets.token_hex(2)}"
        create_table(table)
        print(f"  keys generated and written to SSM as SecureString: {', '.join(names.values())}")
        print(f"  replay-guard table: {table} (pk + TTL)")
        for path, handler in FUNCTIONS.items():
            config = FunctionConfig(f"auth-{path.strip('/')}", handler, timeout=15, memory_mb=512)
            functions[path] = stack.enter_context(LambdaFunction(config))
        base = stack.enter_context(local.serve({p: _via_runtime(fn) for p, fn in functions.items()}))
        mp = stack.enter_context(mockpass(rp_jwks_endpoint=f"{base}/jwks"))
        print(f"  handlers on {base} (login, callback, jwks); MockPass on {mp.base_url} reading {base}/jwks")
        common = {
            "ENVIRONMENT": "dev",
            "LOG_LEVEL": "INFO",
            "CLIENT_ID": "demo-client",
            "REDIRECT_URI": "https://app.example.test/callback",
            "SIGNING_KEY_PARAM": names["signing"],
            "ENCRYPTION_KEY_PARAM": names["encryption"],
            "COOKIE_KEY_PARAM": names["cookie"],
            "REPLAY_TABLE": table,
            "POST_LOGIN_REDIRECT": "/home",
        }
        http = stack.enter_context(httpx.Client(timeout=15, follow_redirects=False))

        print("\n-- legacy Singpass v2 against MockPass (no PAR, no DPoP; PKCE, JWE ID token)")
        legacy = {"SINGPASS_MODE": "legacy", "SINGPASS_ISSUER": mp.issuer, **common}
        with scoped_env(legacy):  # this process verifies the session cookie with the same settings
            reset_runtime()
            _configure(functions, legacy)
            done, callback_url, login_cookie = _walk(http, base, expect_iss=False)
            _logged_in(done, functions["/callback"])
            print(f"     session claims (masked): {json.dumps(_session_claims(done))}")
            replay = http.get(callback_url, headers={"Cookie": login_cookie})
            _step(
                5,
                f"the same callback and cookie again -> {replay.status_code} (generic page; reason logged)",
            )

        print("\n-- FAPI 2.0 against the test authorization server (PAR, DPoP with nonce, userinfo)")
        fapi = stack.enter_context(
            fapi_server(
                client_id="demo-client",
                redirect_uris=("https://app.example.test/callback",),
                client_jwks_uri=f"{base}/jwks",
                require_dpop_nonce=True,
            )
        )
        fapi_env = {**common, "SINGPASS_USERINFO": "true", "SESSION_CLAIMS": "name"}
        fapi_settings = {"SINGPASS_MODE": "fapi", "SINGPASS_ISSUER": fapi.issuer, **fapi_env}
        with scoped_env(fapi_settings):
            reset_runtime()
            _configure(functions, fapi_settings)
            done, _, _ = _walk(http, base, expect_iss=True)
            _logged_in(done, functions["/callback"])
            print(f"     session claims (masked): {json.dumps(_session_claims(done))}")
            trail = [
                f"{e['endpoint']}:{e.get('error', 'ok')}" for e in fapi.events if e["endpoint"] != "/jwks"
            ]
            print(f"     provider saw: {' -> '.join(trail)}")
        reset_runtime()
    olog.reset()

    events = sorted((e for fn in functions.values() for e in fn.events), key=lambda e: e.timestamp)
    written = "\n".join(e.message for e in events if e.message.startswith("{"))
    heading("what the handlers wrote (INFO and up; summaries and EMF)")
    lines = [
        line
        for line in written.splitlines()
        if not json.loads(line).get("logger", "").startswith(("werkzeug", "botocore", "httpx"))
    ]
    render("\n".join(lines))
    heading("the platform's REPORT lines (under awslambdaric; new environments per mode)")
    for path, fn in functions.items():
        for line in fn.lines():
            if line.startswith("REPORT "):
                platform_line(path, line)
    heading("auth metrics")
    for name, value in _metrics(written).items():
        print(f"  {name}: {value}")
    print(f"\n  done in {time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    main()
