"""The AWS side against moto over HTTP: the key tool writing SecureStrings, key loading through
Powertools Parameters, and the DynamoDB replay guard."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from pipelines.auth.errors import AuthConfigError, AuthFailure, Reason
from pipelines.auth.keys import load_keys
from pipelines.auth.replay import DynamoReplayGuard

pytestmark = [pytest.mark.integration]
ROOT = Path(__file__).resolve().parents[3]


def _tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipelines.auth.keys", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def test_key_tool_writes_secure_strings_and_rotates(aws):
    prefix = f"/auth/tool-{secrets.token_hex(3)}"
    first = _tool("--ssm-prefix", prefix)
    ssm = boto3.client("ssm")
    names = {p: f"{prefix}/{p}-key" for p in ("signing", "encryption", "cookie")}
    for name in names.values():
        param = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
        assert (
            ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [name]}])["Parameters"][0][
                "Type"
            ]
            == "SecureString"
        )
        secret = json.loads(param["Value"])["keys"][0]
        assert (secret.get("d") or secret.get("k")) not in first.stdout + first.stderr
    published = json.loads(first.stdout)["keys"]
    assert [k["use"] for k in published] == ["sig", "enc"]

    second = _tool("--ssm-prefix", prefix, "--rotate")
    rotated = json.loads(second.stdout)["keys"]
    assert len(rotated) == 4 and rotated[0]["kid"] != published[0]["kid"]
    assert published[0]["kid"] in {k["kid"] for k in rotated}  # the old key stays published

    keys = load_keys(names["signing"], names["encryption"], names["cookie"])
    assert keys.active_signing.kid == rotated[0]["kid"] and len(keys.signing) == 2 and len(keys.cookie) == 2


def test_a_missing_parameter_names_the_variable_and_the_fix(aws):
    with pytest.raises(AuthConfigError) as err:
        load_keys("/auth/nope/signing-key", "/auth/nope/enc", "/auth/nope/cookie")
    assert "SIGNING_KEY_PARAM='/auth/nope/signing-key'" in str(err.value)
    assert "pipelines.auth.keys" in str(err.value)


def test_replay_guard_claims_once_stores_digests_and_expires(aws, replay_table):
    guard = DynamoReplayGuard(replay_table)
    value = f"state-{secrets.token_hex(8)}"
    guard.claim("state", value, 600)
    with pytest.raises(AuthFailure) as err:
        guard.claim("state", value, 600)
    assert err.value.reason is Reason.STATE_REPLAYED
    guard.claim("code", value, 600)  # a code and a state are separate namespaces
    with pytest.raises(AuthFailure) as err:
        guard.claim("code", value, 600)
    assert err.value.reason is Reason.CODE_REPLAYED

    items = boto3.client("dynamodb").scan(TableName=replay_table)["Items"]
    assert items and not any(value in json.dumps(item) for item in items)  # only digests
    assert all(int(item["expires_at"]["N"]) > time.time() for item in items)

    # an expired item DynamoDB has not deleted yet does not block a new claim
    expired = f"state-{secrets.token_hex(8)}"
    guard.claim("state", expired, -10)
    guard.claim("state", expired, 600)


def test_replay_guard_fails_closed_without_its_table(aws):
    with pytest.raises(AuthFailure) as err:
        DynamoReplayGuard("no-such-table").claim("state", "x", 60)
    assert err.value.reason is Reason.REPLAY_GUARD_UNAVAILABLE
