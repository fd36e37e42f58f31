"""Handlers that fail with secrets in their exception, run under awslambdaric by test_what_leaves.py."""

from __future__ import annotations

import logging
from typing import Any

from observe import get_logger, observed

log = get_logger("tests.secrets")


class UpstreamError(Exception):
    """An exception whose text is computed from an attribute (not from its args)."""

    def __init__(self, token: str) -> None:
        super().__init__("upstream")
        self.token = token

    def __str__(self) -> str:
        return f"upstream refused refresh_token={self.token}"


@observed(pipeline="secrets")
def fails(event: dict[str, Any], context: Any) -> Any:
    log.info("exchanging code", code=event["code"], url=f"https://idp.example/token?code={event['code']}")
    logging.getLogger("app").warning("user %s failed with %r", event["nric"], {"password": event["password"]})
    try:
        raise KeyError("\n" + event["nric"])
    except KeyError as exc:
        error = ValueError(f"token exchange failed: client_secret={event['secret']} for {event['email']}")
        error.add_note(f"code_verifier={event['verifier']}")
        raise error from exc


@observed(pipeline="secrets")
def fails_computed(event: dict[str, Any], context: Any) -> Any:
    raise UpstreamError(event["secret"])
