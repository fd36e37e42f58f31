"""A moto server on 127.0.0.1, reached over real HTTP through ``AWS_ENDPOINT_URL``.

The code under test never knows it is not AWS: it builds ordinary boto3 clients, and boto3
picks the endpoint up from the standard environment variable.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

from emulator.env import scoped_env

FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "ap-southeast-1",
    "AWS_REGION": "ap-southeast-1",
}


def free_port() -> int:
    """An unused TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def moto_server(port: int | None = None, *, set_env: bool = True) -> Iterator[str]:
    """Start ``ThreadedMotoServer``, yield its URL, stop it.

    With ``set_env`` (the default) ``AWS_ENDPOINT_URL`` and fake credentials point at it until it
    stops; without, the environment is left alone and tests opt in (e.g. with monkeypatch).
    """
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one INFO line per request otherwise
    port = port or free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    env = {**FAKE_ENV, "AWS_ENDPOINT_URL": url} if set_env else {}
    try:
        with scoped_env(env):
            yield url
    finally:
        server.stop()
