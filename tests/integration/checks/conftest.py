"""Real parts for the drift baselines: a moto server over HTTP, reached through AWS_ENDPOINT_URL.

The server starts once per session; the AWS variables point at it only inside the tests that ask
for ``checks_aws`` (monkeypatched), so the other suites' servers are left alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from emulator.moto_server import FAKE_ENV, moto_server
from observe.checks import DynamoBaselineStore


@pytest.fixture(scope="session")
def checks_moto() -> Iterator[str]:
    with moto_server(set_env=False) as url:  # tests opt in to it, see the fixture below
        yield url


@pytest.fixture
def checks_aws(checks_moto: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The AWS environment pointing at moto; returns the endpoint URL."""
    for k, v in FAKE_ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("AWS_ENDPOINT_URL", checks_moto)
    for k in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_MAX_ATTEMPTS", "BASELINE_TABLE"):
        monkeypatch.delenv(k, raising=False)
    return checks_moto


@pytest.fixture
def baseline_table(checks_aws: str) -> str:
    """A fresh baselines table on moto (created through the store's own helper)."""
    name = f"baselines-{uuid.uuid4().hex[:10]}"
    DynamoBaselineStore(name).create_table()
    return name
