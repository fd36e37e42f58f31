"""A module whose init fails: it raises at import, as a handler with a bad setting would."""

raise RuntimeError("cannot load the suite at /nonexistent/suite.json")


def handler(event, context):  # pragma: no cover - never reached
    return None
