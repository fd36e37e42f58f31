"""The Singpass login chain: stateless Lambdas for FAPI 2.0 (and the legacy v2 flow).

Three handlers behind an API Gateway HTTP API (payload 2.0):

- ``pipelines.auth.handlers.login``: PAR (FAPI) or a plain authorize URL (legacy), with PKCE,
  a fresh DPoP key, state and nonce; the login context travels in an encrypted cookie.
- ``pipelines.auth.handlers.callback``: checks the redirect, exchanges the code, decrypts and
  verifies the ID token and issues the application's short-lived session.
- ``pipelines.auth.handlers.jwks``: the client's public JWKS (signing + encryption keys).

Nothing is kept between invocations except an optional replay guard (a DynamoDB table of used
states and codes with a TTL). See docs/auth.md.
"""
