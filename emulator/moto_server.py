"""A moto server on 127.0.0.1, reached over real HTTP through ``AWS_ENDPOINT_URL``.

The code under test never knows it is not AWS: it builds ordinary boto3 clients, and boto3
picks the endpoint up from the standard environment variable.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

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


def fix_fifo_redelivery_order() -> None:
    """Make moto's SQS hand a FIFO group's messages out again in order after a visibility timeout.

    moto (5.2) forgets an in-flight message only when its receive loop reaches it, so when several
    messages of one group become visible again, the earlier ones are skipped (the group still
    looks in flight because of the later ones) and a later message is delivered first. SQS
    releases them together and redelivers in order; this releases every expired in-flight message
    before each receive. Idempotent; patches the moto running in this process.
    """
    from moto.sqs.models import SQSBackend

    original = SQSBackend.receive_message
    if getattr(original, "_releases_expired", False):
        return

    def receive_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        queue = self.get_queue(queue_name)
        for message in [m for m in queue.pending_messages if m.visible]:
            queue.pending_messages.discard(message)
        return original(self, queue_name, *args, **kwargs)

    receive_message._releases_expired = True  # type: ignore[attr-defined]
    SQSBackend.receive_message = receive_message  # type: ignore[method-assign]


@contextmanager
def moto_server(port: int | None = None, *, set_env: bool = True) -> Iterator[str]:
    """Start ``ThreadedMotoServer``, yield its URL, stop it.

    With ``set_env`` (the default) ``AWS_ENDPOINT_URL`` and fake credentials point at it until it
    stops; without, the environment is left alone and tests opt in (e.g. with monkeypatch).
    """
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one INFO line per request otherwise
    fix_fifo_redelivery_order()
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
