"""Real parts for the end-to-end runs: moto as its own server process, reached over HTTP.

A separate process (not the in-process ThreadedMotoServer) so moto's CPU work runs beside the
worker's on a 2-core machine: the no-loss run makes ~15,000 conditional writes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest

from emulator.moto_server import FAKE_ENV, free_port


@pytest.fixture(scope="session")
def moto_process_url() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto server did not start on {url}") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def e2e_aws(moto_process_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """AWS variables pointing at the moto process for this test only."""
    for k, v in FAKE_ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_process_url)
    for k in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SQS"):
        monkeypatch.delenv(k, raising=False)
    assert os.environ["AWS_ENDPOINT_URL"] == moto_process_url
    return moto_process_url
