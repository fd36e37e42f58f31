"""Settings from the environment: errors name the variable, the value and the fix."""

from __future__ import annotations

import pytest

from observe import config
from observe.config import ConfigError, number


def test_number_defaults_parses_and_bounds() -> None:
    env = {"A": "3", "B": "", "F": "0.5"}
    assert number(env, "A", 1, minimum=1, integer=True) == 3
    assert number(env, "B", 7, minimum=1, integer=True) == 7
    assert number(env, "MISSING", 2.5, minimum=0) == 2.5
    assert number(env, "F", 1.0, minimum=0, exclusive=True, unit="seconds") == 0.5


@pytest.mark.parametrize(
    ("raw", "kwargs", "message"),
    [
        ("zero", {"integer": True, "minimum": 1}, "N='zero' must be an integer >= 1"),
        ("1.5", {"integer": True, "minimum": 1}, "N='1.5' must be an integer >= 1"),
        ("0", {"minimum": 0, "exclusive": True, "unit": "seconds"}, "N='0' must be a number of seconds > 0"),
        ("nan", {"minimum": 0}, "N='nan' must be a number >= 0"),
        ("59", {"minimum": 60}, "N='59' must be a number >= 60"),
    ],
)
def test_number_errors_name_variable_value_and_rule(raw: str, kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        number({"N": raw}, "N", 1, **kwargs)
    assert str(info.value) == message


def test_number_raises_the_callers_error_type() -> None:
    class AppConfigError(ConfigError):
        pass

    with pytest.raises(AppConfigError):
        number({"N": "x"}, "N", 1, minimum=0, error=AppConfigError)


def test_require_lists_every_missing_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRESENT", "1")
    monkeypatch.delenv("ABSENT_1", raising=False)
    monkeypatch.delenv("ABSENT_2", raising=False)
    with pytest.raises(ConfigError, match="ABSENT_1, ABSENT_2"):
        config.require("PRESENT", "ABSENT_1", "ABSENT_2")
    assert config.require("PRESENT") == {"PRESENT": "1"}
