"""GET /callback: finish the login the provider redirected back to.

Opens the sealed cookie, checks state (constant time) and ``iss``, claims state and code in the
replay guard, exchanges the code (client assertion + DPoP), decrypts and verifies the ID token,
optionally fetches userinfo, then issues the application's session cookie. Any failure: the
generic page, the login cookie cleared, a PII-free reason in the log and the AuthFailures metric.
"""

from __future__ import annotations

from typing import Any

from observe import get_logger, metric, observed
from pipelines.auth.apigw import cookies, query, redirect
from pipelines.auth.cookie import LOGIN_COOKIE, SESSION_COOKIE, clear_cookie, set_cookie
from pipelines.auth.flow import complete_login
from pipelines.auth.handlers import guarded
from pipelines.auth.runtime import get_runtime

log = get_logger(__name__)


def _callback(event: dict[str, Any]) -> dict[str, Any]:
    rt = get_runtime()
    result = complete_login(rt, query(event), cookies(event).get(LOGIN_COOKIE))
    metric("AuthLogins", 1)
    log.info(
        "login complete",
        mode=rt.config.mode,
        userinfo=result.userinfo is not None,
        token_exchange_ms=round(result.timings_ms.get("token_exchange_ms", 0.0), 1),
    )
    return redirect(
        rt.config.post_login_redirect,
        [
            clear_cookie(LOGIN_COOKIE),
            set_cookie(SESSION_COOKIE, result.session_token, max_age=rt.config.session_ttl_s),
        ],
    )


@observed(pipeline="auth", service="auth-callback")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """API Gateway HTTP API (payload 2.0) handler for the redirect URI."""
    return guarded("callback", lambda: _callback(event), [clear_cookie(LOGIN_COOKIE)])
