"""The Lambda handlers of the login chain, and how every one of them fails.

Each handler module exposes ``handler(event, context)`` for an API Gateway HTTP API (payload 2.0)
route: ``login`` (GET /login), ``callback`` (GET /callback), ``jwks`` (GET /jwks).
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Sequence
from typing import Any

from observe import correlation, get_logger, metric
from pipelines.auth.apigw import error_page
from pipelines.auth.errors import SERVER_SIDE, AuthConfigError, AuthFailure, Reason

log = get_logger("pipelines.auth")


def failure_response(step: str, failure: AuthFailure, set_cookies: Sequence[str] = ()) -> dict[str, Any]:
    """Log the structured reason, count it, and answer the browser with the generic page."""
    log.warning("login failed", step=step, reason=failure.reason.value, detail=failure.detail)
    metric("AuthFailures", 1, reason=failure.reason.value)
    if failure.reason is Reason.PROVIDER_UNAVAILABLE:
        status = 502  # the provider failed us
    elif failure.reason in {Reason.INTERNAL_ERROR, Reason.CONFIG_INVALID}:
        status = 500  # our bug or our deployment
    elif failure.reason in SERVER_SIDE:
        status = 503  # our dependencies (replay table, provider metadata)
    else:
        status = 400  # the request: cookie, redirect, tokens
    return error_page(status, correlation.get(), set_cookies)


def guarded(step: str, body: Callable[[], dict[str, Any]], set_cookies: Sequence[str] = ()) -> dict[str, Any]:
    """Run ``body``; any failure, expected or not, becomes the generic page and a reason.

    Unexpected exceptions are reported by type only: a traceback's text could carry a code or a
    token from a library's message, and a login failure must never print one.
    """
    try:
        return body()
    except AuthFailure as failure:
        return failure_response(step, failure, set_cookies)
    except AuthConfigError as exc:
        log.error("auth configuration error", step=step, error=str(exc))
        return failure_response(
            step, AuthFailure(Reason.CONFIG_INVALID, "see the preceding error"), set_cookies
        )
    except Exception as exc:
        frames = traceback.extract_tb(exc.__traceback__)
        where = (
            f"{frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno} in {frames[-1].name}"
            if frames
            else "?"
        )
        log.error("login step crashed", step=step, error_type=type(exc).__name__, where=where)
        return failure_response(step, AuthFailure(Reason.INTERNAL_ERROR, type(exc).__name__), set_cookies)
