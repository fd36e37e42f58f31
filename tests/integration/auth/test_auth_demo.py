"""`make demo`'s auth part runs end to end and prints no secret."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def test_demo_logs_in_twice_and_prints_only_masked_claims(capsys, monkeypatch):
    from demo import auth as demo_auth

    demo_auth.main()
    out = capsys.readouterr().out
    assert "AuthLogins: 2" in out and "'state_replayed': 1" in out
    assert '"nric_masked": "S****370B"' in out and "TAN XIAO HUI" in out
    assert demo_auth.PERSON["X-Custom-NRIC"] not in out
    assert "code=<" in out and "eyJ" not in out  # one-time values masked, no JOSE object printed
