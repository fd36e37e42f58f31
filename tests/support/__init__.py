"""Real local servers the tests start and stop themselves (moto, source API, MockPass, ...)."""
