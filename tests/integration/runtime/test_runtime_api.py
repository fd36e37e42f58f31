"""The Runtime API's HTTP protocol, spoken by hand (the documented 2018-06-01 endpoints)."""

from __future__ import annotations

import http.client
import json
import threading
import time

from emulator.runtime_api import MAX_RESPONSE_BYTES, Invocation, RuntimeAPI

PREFIX = "/2018-06-01/runtime"


def call(api: RuntimeAPI, method: str, path: str, body: bytes | None = None, headers=None):
    conn = http.client.HTTPConnection(api.address, timeout=10)
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    out = resp.status, dict(resp.getheaders()), resp.read()
    conn.close()
    return out


def invocation(rid: str = "rid-1", **kw) -> Invocation:
    return Invocation(
        request_id=rid,
        body=b'{"hello": "world"}',
        deadline_ms=1_900_000_000_000,
        function_arn="arn:aws:lambda:ap-southeast-1:123456789012:function:f",
        trace_id="Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0",
        **kw,
    )


def test_next_blocks_until_an_invocation_then_hands_out_the_event_and_its_headers() -> None:
    with RuntimeAPI() as api:
        got: list = []
        t = threading.Thread(target=lambda: got.append(call(api, "GET", f"{PREFIX}/invocation/next")))
        t.start()
        time.sleep(0.2)
        assert not got, "next must wait for an invocation"
        assert api.ready_at is not None, "the first /next ends the init phase"
        api.submit(
            invocation(client_context='{"custom": {"a": 1}}', cognito_identity='{"cognitoIdentityId": "x"}')
        )
        t.join(5)
        status, headers, body = got[0]
        assert status == 200 and json.loads(body) == {"hello": "world"}
        assert headers["Lambda-Runtime-Aws-Request-Id"] == "rid-1"
        assert headers["Lambda-Runtime-Deadline-Ms"] == "1900000000000"
        assert headers["Lambda-Runtime-Invoked-Function-Arn"].endswith(":function:f")
        assert headers["Lambda-Runtime-Trace-Id"].startswith("Root=1-")
        assert headers["Lambda-Runtime-Client-Context"] == '{"custom": {"a": 1}}'
        assert headers["Lambda-Runtime-Cognito-Identity"] == '{"cognitoIdentityId": "x"}'


def _picked(api: RuntimeAPI, inv: Invocation) -> None:
    api.submit(inv)
    status, _, _ = call(api, "GET", f"{PREFIX}/invocation/next")
    assert status == 200


def test_response_error_and_wrong_ids() -> None:
    with RuntimeAPI() as api:
        inv = invocation("rid-ok")
        _picked(api, inv)
        status, _, body = call(api, "POST", f"{PREFIX}/invocation/other-id/response", b"{}")
        assert status == 400 and json.loads(body)["errorType"] == "InvalidRequestID"
        assert call(api, "POST", f"{PREFIX}/invocation/rid-ok/response", b'{"r": 1}')[0] == 202
        assert inv.outcome == "response" and inv.payload == b'{"r": 1}'
        assert call(api, "POST", f"{PREFIX}/invocation/rid-ok/response", b"{}")[0] == 400, "answered twice"

        err = invocation("rid-err")
        _picked(api, err)
        doc = {"errorMessage": "boom", "errorType": "ValueError", "stackTrace": []}
        status, _, _ = call(
            api,
            "POST",
            f"{PREFIX}/invocation/rid-err/error",
            json.dumps(doc).encode(),
            {"Lambda-Runtime-Function-Error-Type": "ValueError"},
        )
        assert status == 202 and err.outcome == "error" and err.error_type == "ValueError"
        assert json.loads(err.payload) == doc
        assert inv.released_at is not None, "the next /next released the previous invocation"


def test_a_response_over_6_mb_is_refused() -> None:
    with RuntimeAPI() as api:
        inv = invocation("big")
        _picked(api, inv)
        status, _, body = call(
            api, "POST", f"{PREFIX}/invocation/big/response", b"x" * (MAX_RESPONSE_BYTES + 1)
        )
        assert status == 413 and json.loads(body)["errorType"] == "RequestEntityTooLarge"
        assert inv.outcome == "too_large"


def test_init_error_and_unknown_endpoints() -> None:
    with RuntimeAPI() as api:
        doc = {"errorMessage": "Unable to import module 'x'", "errorType": "Runtime.ImportModuleError"}
        status, _, _ = call(
            api,
            "POST",
            f"{PREFIX}/init/error",
            json.dumps(doc).encode(),
            {"Lambda-Runtime-Function-Error-Type": "Runtime.ImportModuleError"},
        )
        assert status == 202
        assert api.init_error == (doc, "Runtime.ImportModuleError")
        assert call(api, "GET", f"{PREFIX}/restore/next")[0] == 404  # SnapStart is not emulated
        assert call(api, "POST", "/2020-01-01/extension/register", b"{}")[0] == 404


def test_a_new_environment_releases_a_next_of_the_old_one_without_an_invocation() -> None:
    with RuntimeAPI() as api:
        got: list = []

        def old_runtime() -> None:
            try:
                got.append(call(api, "GET", f"{PREFIX}/invocation/next"))
            except (http.client.HTTPException, OSError) as exc:
                got.append(exc)

        t = threading.Thread(target=old_runtime)
        t.start()
        time.sleep(0.2)
        api.new_environment()
        api.submit(invocation("for-the-new-one"))
        t.join(5)
        assert got and not isinstance(got[0], tuple), "the old runtime must not get the new invocation"
        assert api.ready_at is None, "the new environment has not started its init"
        status, headers, _ = call(api, "GET", f"{PREFIX}/invocation/next")
        assert status == 200 and headers["Lambda-Runtime-Aws-Request-Id"] == "for-the-new-one"
