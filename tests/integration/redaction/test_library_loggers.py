"""The libraries' own loggers, driven by real requests: httpx and urllib3 against a local HTTP server,
botocore at DEBUG against moto over HTTP. Their lines go through observe's chain: URLs redacted at
every level, bodies shown as their size, headers and signing material masked. stdout and stderr are
captured at the file descriptors."""

from __future__ import annotations

import json
import logging
import re
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.httpserver import LocalServer
from emulator.moto_server import FAKE_ENV, moto_server
from observe import logging as olog

pytestmark = pytest.mark.integration


class _Echo(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"access_token": self.headers.get("X-Echo", ""), "ok": True}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Set-Cookie", f"sid={self.headers.get('X-Echo', '')}; HttpOnly")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def echo_server() -> Iterator[str]:
    server = LocalServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def chain() -> Iterator[None]:
    """observe on the real stdout at DEBUG, the libraries' loggers at DEBUG too (as the docs allow)."""
    olog.configure(level="DEBUG")
    for name in ("httpx", "httpcore", "urllib3", "botocore", "boto3"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield
    olog.reset()


def _fragments(secret: str) -> list[str]:
    return [secret[i : i + 6] for i in range(len(secret) - 5)]


opaque = st.builds(lambda n: secrets.token_urlsafe(n), st.integers(12, 40))
shaped = st.sampled_from(["S1234567D", "jane.doe@example.gov.sg", "+65 9123 4567"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(secret=opaque, name=st.sampled_from(["code", "access_token", "client_secret", "api_key", "sig"]))
def test_httpx_and_urllib3_lines_carry_no_secret(capfd, chain, echo_server, secret, name) -> None:
    import httpx
    import urllib3

    capfd.readouterr()
    url = f"{echo_server}/cb?state=ok&{name}={secret}"
    with httpx.Client() as client:
        assert (
            client.get(url, headers={"X-Echo": secret, "Authorization": f"Bearer {secret}"}).status_code
            == 200
        )
    pool = urllib3.PoolManager()
    assert pool.request("GET", url, headers={"X-Echo": secret}).status == 200
    out, err = capfd.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    loggers = {line["logger"].split(".")[0] for line in lines}
    assert {"httpx", "urllib3"} <= loggers, loggers  # the libraries did log, through the chain
    info = [line for line in lines if line["logger"] == "httpx" and line["level"] == "info"]
    # masked by its name, or by its shape first (a random 40-character token may read as an AWS secret)
    assert info and re.search(rf"{name}=\[REDACTED(:[a-z_]+)?\]", info[0]["message"]), info[0]["message"]
    assert "state=ok" in info[0]["message"]
    for frag in _fragments(secret):
        assert frag not in out and frag not in err, (frag, out)


@pytest.mark.parametrize("secret", ["S1234567D", "jane.doe@example.gov.sg", "+65 9123 4567"])
def test_shaped_secrets_in_a_url_path(capfd, chain, echo_server, secret) -> None:
    import httpx

    capfd.readouterr()
    with httpx.Client() as client:
        client.get(f"{echo_server}/users/{secret}/profile")
    out, err = capfd.readouterr()
    assert "/users/[REDACTED:" in out and secret not in out + err


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with moto_server(set_env=False) as url:
        yield url


def test_botocore_debug_shows_the_calls_but_no_secret(capfd, chain, moto_url, monkeypatch) -> None:
    import boto3

    for k, v in FAKE_ENV.items():
        monkeypatch.setenv(k, v)
    value = secrets.token_urlsafe(24)
    session_token = "IQoJb3JpZ2luX2Vj" + secrets.token_urlsafe(60)
    secret_key = secrets.token_urlsafe(30)
    ssm = boto3.client(
        "ssm",
        endpoint_url=moto_url,
        region_name="ap-southeast-1",
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key=secret_key,
        aws_session_token=session_token,
    )
    capfd.readouterr()
    ssm.put_parameter(Name="/app/db/password", Value=value, Type="SecureString", Overwrite=True)
    got = ssm.get_parameter(Name="/app/db/password", WithDecryption=True)
    assert got["Parameter"]["Value"] == value
    out, err = capfd.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    boto = [line for line in lines if line["logger"].startswith("botocore")]
    text = "\n".join(line["message"] for line in boto)
    # what botocore's DEBUG still shows: the operations, the endpoint, the retry and signing steps ...
    assert "OperationModel(name=GetParameter)" in text and moto_url in text
    assert "[REDACTED:body" in text  # ... with request and response bodies as their size
    for secret in (value, session_token, secret_key):
        for frag in _fragments(secret):
            assert frag not in out and frag not in err, (frag, [ln for ln in out.splitlines() if frag in ln])
    assert "AKIAIOSFODNN7EXAMPLE" not in out
