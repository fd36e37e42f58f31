"""GET /jwks: the client's public keys, as the provider fetches them.

One signing key (client assertions) and one encryption key (ID tokens) are active; keys kept
for rotation are published next to them so tokens in flight still verify and decrypt. Only
public members leave: the JWKS is built from scratch, never by stripping a private JWK blindly.
"""

from __future__ import annotations

import json
from typing import Any

from observe import observed
from pipelines.auth.apigw import json_response
from pipelines.auth.handlers import guarded
from pipelines.auth.runtime import get_runtime


def _jwks() -> dict[str, Any]:
    body = json.dumps(get_runtime().keys().public_jwks(), separators=(",", ":"))
    return json_response(200, body, {"Cache-Control": "public, max-age=300"})


@observed(pipeline="auth", service="auth-jwks")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """API Gateway HTTP API (payload 2.0) handler for the JWKS route."""
    return guarded("jwks", _jwks)
