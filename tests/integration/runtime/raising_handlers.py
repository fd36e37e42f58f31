"""A handler that fails with secrets in its exception in the ways real code does, run under
awslambdaric by test_exception_redaction.py (``event["case"]`` picks the way)."""

from __future__ import annotations

import subprocess
from typing import Any

from observe import observed


def _raise(case: str, e: dict[str, str]) -> None:
    if case == "nric_in_message":
        raise ValueError(f"no account for {e['nric']}")
    if case == "missing_key":
        _ = {}[e["nric"]]  # KeyError('S...'): its str() is the repr of the key
    if case == "bearer_header":
        raise RuntimeError(f"401 from upstream for request with Authorization: Bearer {e['token']}")
    if case == "password_pair":
        raise ConnectionError(f"login failed: user=app password={e['password']} host=db")
    if case == "file_name":  # FileNotFoundError: the name is a member, not an argument
        open(f"/nonexistent/{e['nric']}.json")  # noqa: SIM115
    if case == "command":  # CalledProcessError: str() is computed from a list attribute
        raise subprocess.CalledProcessError(7, ["curl", "-H", f"Authorization: Bearer {e['token']}"])
    if case == "chained":
        try:
            raise KeyError("\n" + e["nric"])
        except KeyError as inner:
            raise LookupError(f"password={e['password']} rejected for {e['email']}") from inner
    raise AssertionError(f"unknown case {case!r}")


@observed(pipeline="raising")
def fails(event: dict[str, Any], context: Any) -> Any:
    _raise(event["case"], event["secrets"])
