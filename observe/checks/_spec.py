"""Parse and check a Great Expectations 1.x suite dict, without importing great_expectations or pandas.

Every supported expectation type is described here once: its family (column map, multicolumn map,
column aggregate, table) and its kwargs with the coercion GE's pydantic models apply (``min_value``
of a "Comparable" field becomes a float, a row count bound an int, and so on), so that the
evaluator compares against exactly the values GE would. Anything outside this table fails at load
time with a message naming the file, the expectation and the field.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from observe.checks.errors import SuiteError, UnsupportedExpectationError

_MISSING: Any = object()

SEVERITIES = ("critical", "warning", "info")
# GE's FailureSeverity ordering: critical > warning > info.
SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}

MAP, MULTIMAP, AGGREGATE, TABLE = "column_map", "multicolumn_map", "column_aggregate", "table"


@dataclass(frozen=True)
class _Field:
    kind: str
    required: bool = False
    default: Any = _MISSING


# Fields shared by the families (GE's ColumnMapExpectation / MulticolumnMapExpectation / ...).
_COLUMN = {"column": _Field("column", required=True)}
_CONDITION = {
    "row_condition": _Field("row_condition", default=None),
    "condition_parser": _Field("any", default=None),
}
_MAPPY = {"mostly": _Field("mostly", default=1.0)}
# What GE 1.x writes into the kwargs of every expectation type (when set): how to report it and
# whether to catch its errors. GE ignores both when it validates a suite (the validation's own
# result_format applies, and errors are always caught into exception_info), so observe.checks
# accepts them, checks them as GE's models do, keeps them in to_json_dict() and ignores them too.
_VALIDATION_OPTIONS = {
    "catch_exceptions": _Field("pydantic_bool", default=True),
    "result_format": _Field("result_format", default=None),
}
RESULT_FORMATS = ("BOOLEAN_ONLY", "BASIC", "SUMMARY", "COMPLETE")
_TRUTHY = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSY = frozenset({"0", "off", "f", "false", "n", "no"})
_BETWEEN = {
    "min_value": _Field("comparable", default=None),
    "max_value": _Field("comparable", default=None),
    "strict_min": _Field("bool", default=False),
    "strict_max": _Field("bool", default=False),
}
_BETWEEN_FLOAT = {
    "min_value": _Field("float_or_none", default=None),
    "max_value": _Field("float_or_none", default=None),
    "strict_min": _Field("bool", default=False),
    "strict_max": _Field("bool", default=False),
}
_BETWEEN_INT = {
    "min_value": _Field("int_or_none", default=None),
    "max_value": _Field("int_or_none", default=None),
    "strict_min": _Field("bool", default=False),
    "strict_max": _Field("bool", default=False),
}


def _map(**extra: _Field) -> tuple[str, dict[str, _Field]]:
    return MAP, {**_COLUMN, **_CONDITION, **_MAPPY, **extra}


def _agg(between: dict[str, _Field]) -> tuple[str, dict[str, _Field]]:
    return AGGREGATE, {**_COLUMN, **_CONDITION, **between}


#: type -> (family, kwargs schema). The support list of the issue, nothing implied.
_TYPES: dict[str, tuple[str, dict[str, _Field]]] = {
    "expect_column_to_exist": (
        TABLE,
        {**_COLUMN, "column_index": _Field("int_or_none", default=None)},
    ),
    "expect_column_values_to_not_be_null": _map(),
    "expect_column_values_to_be_null": _map(),
    "expect_column_values_to_be_unique": _map(),
    "expect_column_values_to_be_between": _map(**_BETWEEN),
    "expect_column_values_to_be_in_set": _map(value_set=_Field("value_set", required=True)),
    "expect_column_values_to_not_be_in_set": _map(value_set=_Field("value_set", required=True)),
    "expect_column_values_to_match_regex": _map(regex=_Field("regex", default="(?s).*")),
    "expect_column_values_to_not_match_regex": _map(regex=_Field("regex", required=True)),
    "expect_column_values_to_match_regex_list": _map(
        regex_list=_Field("regex_list", required=True), match_on=_Field("match_on", default="any")
    ),
    "expect_column_values_to_be_of_type": _map(type_=_Field("str", required=True)),
    "expect_column_values_to_be_in_type_list": _map(type_list=_Field("str_list_or_none", required=True)),
    "expect_column_value_lengths_to_be_between": _map(**_BETWEEN_INT),
    "expect_column_values_to_match_strftime_format": _map(strftime_format=_Field("strftime", required=True)),
    "expect_column_mean_to_be_between": _agg(_BETWEEN),
    "expect_column_median_to_be_between": _agg(_BETWEEN),
    "expect_column_min_to_be_between": _agg(_BETWEEN),
    "expect_column_max_to_be_between": _agg(_BETWEEN),
    "expect_column_sum_to_be_between": _agg(_BETWEEN),
    "expect_column_stdev_to_be_between": _agg(_BETWEEN_FLOAT),
    "expect_column_proportion_of_unique_values_to_be_between": _agg(_BETWEEN_FLOAT),
    "expect_compound_columns_to_be_unique": (
        MULTIMAP,
        {
            "column_list": _Field("column_list", required=True),
            **_CONDITION,
            **_MAPPY,
            "ignore_row_if": _Field("ignore_row_if", default="all_values_are_missing"),
        },
    ),
    "expect_table_row_count_to_be_between": (TABLE, {**_CONDITION, **_BETWEEN_INT}),
    "expect_table_columns_to_match_set": (
        TABLE,
        {
            "column_set": _Field("list_or_none", required=True),
            "exact_match": _Field("bool_or_none", default=True),
        },
    ),
    "expect_table_columns_to_match_ordered_list": (
        TABLE,
        {"column_list": _Field("list_or_none", required=True), **_CONDITION},
    ),
}

EXPECTATION_TYPES: dict[str, tuple[str, dict[str, _Field]]] = {
    etype: (family, {**schema, **_VALIDATION_OPTIONS}) for etype, (family, schema) in _TYPES.items()
}

# Top-level keys of an expectation in GE's ``to_json_dict()`` form that carry no semantics here.
_INERT_KEYS = {"type", "kwargs", "meta", "id", "severity", "description", "notes", "rendered_content"}
_INERT_KWARGS = {"batch_id"}  # GE adds it when it echoes a config; meaningless in a suite file


@dataclass
class ExpectationSpec:
    """One checked expectation: its type, family, coerced kwargs (with GE's defaults) and metadata."""

    index: int
    type: str
    family: str
    kwargs: dict[str, Any]
    raw_kwargs: dict[str, Any]
    meta: dict[str, Any]
    id: str | None
    severity: str
    description: str | None = None
    notes: Any = None

    @property
    def label(self) -> str:
        """Short stable name used in quarantine reasons, logs and metrics: ``type:column``."""
        if "column" in self.kwargs and self.family in (MAP, AGGREGATE):
            return f"{self.type}:{self.kwargs['column']}"
        if self.family == MULTIMAP:
            return f"{self.type}:{','.join(self.kwargs['column_list'])}"
        return self.type

    def to_json_dict(self) -> dict[str, Any]:
        """The GE ``ExpectationConfiguration.to_json_dict()`` shape (kwargs as given, after coercion)."""
        out: dict[str, Any] = {
            "type": self.type,
            "kwargs": _jsonable(self.raw_kwargs),
            "meta": self.meta,
            "id": self.id,
            "severity": self.severity,
        }
        if self.description is not None:
            out["description"] = self.description
        if self.notes is not None:
            out["notes"] = self.notes
        return out


@dataclass
class SuiteSpec:
    """A parsed suite: its name, expectations, meta and where it came from."""

    name: str
    expectations: list[ExpectationSpec]
    meta: dict[str, Any] = field(default_factory=dict)
    id: str | None = None
    notes: Any = None
    source: str = "<dict>"

    def to_json_dict(self) -> dict[str, Any]:
        """The GE ``ExpectationSuite.to_json_dict()`` shape."""
        return {
            "name": self.name,
            "id": self.id,
            "expectations": [e.to_json_dict() for e in self.expectations],
            "meta": self.meta,
            "notes": self.notes,
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, _dt.date | _dt.datetime):
        return value.isoformat()
    return value


def read_suite_source(path_or_dict: str | Path | Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """Return the suite dict and a human name for where it came from (the path, or ``<dict>``)."""
    if isinstance(path_or_dict, Mapping):
        return dict(path_or_dict), "<dict>"
    path = Path(path_or_dict)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SuiteError(f"cannot read the file ({exc.strerror or exc})", source=source) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SuiteError(
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", source=source
        ) from exc
    if not isinstance(data, dict):
        raise SuiteError(
            "the top level must be a JSON object (GE ExpectationSuite.to_json_dict())", source=source
        )
    return data, source


def parse_suite(data: Mapping[str, Any], source: str = "<dict>") -> SuiteSpec:
    """Check a suite dict and return a :class:`SuiteSpec`; raise :class:`SuiteError` naming what is wrong."""
    if "expectations" not in data:
        legacy = (
            " (a GE 0.x suite uses 'expectation_suite_name'; re-save it with GE 1.x)"
            if ("expectation_suite_name" in data)
            else ""
        )
        raise SuiteError(f"missing the 'expectations' list{legacy}", source=source, field="expectations")
    name = data.get("name", data.get("expectation_suite_name"))
    if not isinstance(name, str) or not name:
        raise SuiteError("missing a non-empty string 'name'", source=source, field="name")
    raw = data["expectations"]
    if not isinstance(raw, list):
        raise SuiteError("'expectations' must be a list", source=source, field="expectations")
    params = data.get("suite_parameters")
    if params:
        raise UnsupportedExpectationError(
            "suite_parameters are not supported; write the values into the kwargs",
            source=source,
            field="suite_parameters",
        )
    expectations = [_parse_expectation(i, e, source) for i, e in enumerate(raw)]
    meta = data.get("meta") or {}
    if not isinstance(meta, dict):
        raise SuiteError("'meta' must be an object", source=source, field="meta")
    return SuiteSpec(
        name=name,
        expectations=expectations,
        meta=meta,
        id=data.get("id"),
        notes=data.get("notes"),
        source=source,
    )


def _parse_expectation(index: int, raw: Any, source: str) -> ExpectationSpec:
    if not isinstance(raw, dict):
        raise SuiteError("each expectation must be an object", source=source, index=index)
    etype = raw.get("type", raw.get("expectation_type"))
    eid = raw.get("id")
    ctx: dict[str, Any] = {"source": source, "index": index, "expectation_type": etype, "expectation_id": eid}
    if not isinstance(etype, str) or not etype:
        raise SuiteError("missing the expectation 'type'", field="type", **ctx)
    if etype not in EXPECTATION_TYPES:
        supported = ", ".join(sorted(EXPECTATION_TYPES))
        raise UnsupportedExpectationError(
            f"expectation type {etype!r} is not supported by observe.checks; supported types: {supported}. "
            "Remove it from the suite or validate it outside the Lambda with Great Expectations.",
            field="type",
            **ctx,
        )
    for key, value in raw.items():
        if key not in _INERT_KEYS and key != "expectation_type" and value not in (None, {}, []):
            raise UnsupportedExpectationError(
                f"top-level key {key!r} is not supported (it would change what GE checks)", field=key, **ctx
            )
    severity = raw.get("severity", "critical") or "critical"
    if severity not in SEVERITIES:
        raise SuiteError(
            f"severity must be one of {', '.join(SEVERITIES)}, got {severity!r}", field="severity", **ctx
        )
    meta = raw.get("meta") or {}
    if not isinstance(meta, dict):
        raise SuiteError("'meta' must be an object", field="meta", **ctx)
    kwargs_in = raw.get("kwargs")
    if not isinstance(kwargs_in, dict):
        raise SuiteError("missing the 'kwargs' object", field="kwargs", **ctx)
    family, schema = EXPECTATION_TYPES[etype]
    kwargs: dict[str, Any] = {}
    raw_kwargs: dict[str, Any] = {}
    for key, value in kwargs_in.items():
        if key in _INERT_KWARGS:
            continue
        if key not in schema:
            allowed = ", ".join(sorted(schema))
            raise SuiteError(f"unknown kwarg {key!r}; {etype} takes: {allowed}", field=key, **ctx)
        if isinstance(value, dict) and "$PARAMETER" in value:
            raise UnsupportedExpectationError(
                "suite parameters ($PARAMETER) are not supported; write the value into the suite",
                field=key,
                **ctx,
            )
        kwargs[key] = raw_kwargs[key] = _coerce(schema[key].kind, value, key, ctx)
    for key, spec in schema.items():
        if key in kwargs:
            continue
        if spec.required:
            raise SuiteError(f"missing required kwarg {key!r}", field=key, **ctx)
        kwargs[key] = spec.default
    if kwargs.get("row_condition"):
        raise UnsupportedExpectationError(
            "row_condition is not supported; filter the DataFrame before validating, or split the suite",
            field="row_condition",
            **ctx,
        )
    _check_semantics(etype, kwargs, ctx)
    return ExpectationSpec(
        index=index,
        type=etype,
        family=family,
        kwargs=kwargs,
        raw_kwargs=raw_kwargs,
        meta=meta,
        id=eid,
        severity=severity,
        description=raw.get("description"),
        notes=raw.get("notes"),
    )


_DATE_RE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


def _as_float(value: Any) -> float:
    # pydantic v1 float: float(v) for numbers, bools and numeric strings.
    if isinstance(value, bool | int | float):
        return float(value)
    if isinstance(value, str):
        return float(value)
    raise TypeError


def _as_int(value: Any) -> int:
    # pydantic v1 int: int(v) (truncates floats), numeric strings allowed.
    if isinstance(value, bool | int | float):
        return int(value)
    if isinstance(value, str):
        return int(value)
    raise TypeError


def _as_comparable(value: Any) -> Any:
    """GE's ``Comparable = Union[float, SuiteParameterDict, date, datetime]`` with pydantic v1 order."""
    try:
        return _as_float(value)
    except (TypeError, ValueError):
        pass
    if isinstance(value, _dt.datetime | _dt.date):
        return value
    if isinstance(value, str):
        m = _DATE_RE.fullmatch(value)
        if m:
            return _dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        try:
            return _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
    raise TypeError


def _coerce(kind: str, value: Any, key: str, ctx: dict[str, Any]) -> Any:
    def bad(msg: str) -> SuiteError:
        return SuiteError(msg, field=key, **ctx)

    if kind == "any":
        return value
    if kind == "column":
        if not isinstance(value, str) or not value:
            raise bad("must be a non-empty column name string")
        return value
    if kind in ("str", "strftime", "regex"):
        if not isinstance(value, str):
            raise bad(f"must be a string, got {type(value).__name__}")
        if kind == "regex":
            try:
                re.compile(value)
            except re.error as exc:
                raise bad(f"invalid regular expression: {exc}") from exc
        if kind == "strftime":
            try:
                now = _dt.datetime.now(tz=_dt.UTC)
                _dt.datetime.strptime(_dt.datetime.strftime(now, value), value)
            except ValueError as exc:
                raise bad(f"unable to use this strftime_format: {exc}") from exc
        return value
    if kind in ("bool", "bool_or_none"):
        if value is None and kind == "bool_or_none":
            return None
        if not isinstance(value, bool):
            raise bad(f"must be true or false, got {value!r}")
        return value
    if kind == "mostly":
        try:
            mostly = _as_float(value)
        except (TypeError, ValueError):
            raise bad(f"must be a number between 0 and 1, got {value!r}") from None
        if not 0.0 <= mostly <= 1.0:
            raise bad(f"must be between 0 and 1, got {mostly}")
        return mostly
    if kind in ("float_or_none", "int_or_none", "comparable"):
        if value is None:
            return None
        conv = {"float_or_none": _as_float, "int_or_none": _as_int, "comparable": _as_comparable}[kind]
        try:
            return conv(value)
        except (TypeError, ValueError):
            what = {
                "float_or_none": "a number",
                "int_or_none": "an integer",
                "comparable": "a number or a date",
            }
            raise bad(f"must be {what[kind]} (or null), got {value!r}") from None
    if kind == "value_set":
        if not isinstance(value, list | tuple | set):
            raise bad("must be a list of values")
        return list(value)
    if kind in ("list_or_none", "str_list_or_none"):
        if value is None:
            return None
        if not isinstance(value, list | tuple | set):
            raise bad("must be a list (or null)")
        if kind == "str_list_or_none" and not all(isinstance(v, str) for v in value):
            raise bad("must be a list of type-name strings")
        return list(value)
    if kind == "regex_list":
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise bad("must be a non-empty list of regular expression strings")
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise bad(f"invalid regular expression {pattern!r}: {exc}") from exc
        return list(value)
    if kind == "match_on":
        if value not in ("any", "all"):
            raise bad(f"must be 'any' or 'all', got {value!r}")
        return value
    if kind == "column_list":
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise bad("must be a list of column name strings")
        if len(value) < 2:
            raise bad("must contain at least two columns")
        return list(value)
    if kind == "ignore_row_if":
        if value not in ("all_values_are_missing", "any_value_is_missing", "never"):
            raise bad(f"must be all_values_are_missing, any_value_is_missing or never, got {value!r}")
        return value
    if kind == "row_condition":
        return value
    if kind == "result_format":
        # GE's ResultFormatUnion: a format name, or a dict that has a result_format key
        if isinstance(value, dict) and "result_format" in value:
            return value
        if isinstance(value, str) and value in RESULT_FORMATS:
            return value
        raise bad(f"must be one of {', '.join(RESULT_FORMATS)} or a dict with result_format, got {value!r}")
    if kind == "pydantic_bool":
        # pydantic v1's bool, as GE's model reads catch_exceptions: also 0/1 and yes/no style strings
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.lower() in _TRUTHY | _FALSY:
            return value.lower() in _TRUTHY
        raise bad(f"must be true or false, got {value!r}")
    raise AssertionError(f"unknown field kind {kind}")  # pragma: no cover - table bug


def _check_semantics(etype: str, kwargs: dict[str, Any], ctx: dict[str, Any]) -> None:
    """The cross-field rules GE's models enforce (and a few it only hits at run time)."""
    lo, hi = kwargs.get("min_value"), kwargs.get("max_value")
    both_null = lo is None and hi is None
    if both_null and etype in (
        "expect_column_values_to_be_between",
        "expect_column_value_lengths_to_be_between",
    ):
        raise SuiteError("min_value and max_value cannot both be null", field="min_value", **ctx)
    if lo is not None and hi is not None and "min_value" in kwargs:
        try:
            inverted = lo > hi
        except TypeError:
            inverted = False  # a date against a datetime: GE loads it too and fails it at run time
        if inverted:
            raise SuiteError(f"min_value ({lo}) must be <= max_value ({hi})", field="min_value", **ctx)
