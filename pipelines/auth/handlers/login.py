"""GET /login: start a Singpass login and send the browser to the provider.

FAPI: PAR (client assertion + DPoP proof) then a redirect carrying only ``client_id`` and
``request_uri``. Legacy: a redirect carrying the full authorization request. Either way the
login context (state, nonce, PKCE verifier, DPoP private key, expiry) leaves in a sealed cookie.
"""

from __future__ import annotations

from typing import Any

from observe import get_logger, observed
from pipelines.auth.apigw import redirect
from pipelines.auth.cookie import LOGIN_COOKIE, LOGIN_TTL_S, clear_cookie, set_cookie
from pipelines.auth.flow import begin_login
from pipelines.auth.handlers import guarded
from pipelines.auth.runtime import get_runtime

log = get_logger(__name__)


def _login() -> dict[str, Any]:
    rt = get_runtime()
    start = begin_login(rt)
    log.info("login started", mode=rt.config.mode)
    return redirect(start.location, [set_cookie(LOGIN_COOKIE, start.sealed_context, max_age=LOGIN_TTL_S)])


@observed(pipeline="auth", service="auth-login")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """API Gateway HTTP API (payload 2.0) handler for the login route."""
    return guarded("login", _login, [clear_cookie(LOGIN_COOKIE)])
