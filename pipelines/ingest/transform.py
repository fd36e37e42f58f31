"""Near-source preprocessing with pandas: validate early, normalise, keep the newest per key.

:func:`prepare` turns the records of one task (a fetched page range or a push message) into:

- ``valid``: one record per key, the newest version in the batch, with the key as a string and
  the version normalised (an ``int``/``float`` number, or an ISO-8601 UTC timestamp string with
  microseconds, ``2026-01-02T03:04:05.000000Z``, so that string order is time order in DynamoDB);
- ``rejected``: every record that failed, unchanged, with its reasons (for the quarantine);
- counts for the metrics.

Structural checks (a usable key and version) always run; the suite's row-level expectations run
through a :class:`~pipelines.ingest.validation.RowValidator`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from pipelines.ingest.validation import RowValidator


@dataclass
class Rejection:
    """A record that failed validation, as it arrived, and why."""

    record: Any
    reasons: list[str]


@dataclass
class Prepared:
    """The outcome of :func:`prepare` for one batch."""

    valid: list[dict[str, Any]]
    rejected: list[Rejection]
    fetched: int
    n_valid: int
    duplicates: int
    version_kind: str | None = None
    failed_expectations: Counter[str] = field(default_factory=Counter)
    #: with ``keep_frames``: every JSON-object record of the batch as a DataFrame (None if none)
    frame: pd.DataFrame | None = None
    #: with ``keep_frames``: the rows that passed every check, before deduplication, dtypes
    #: inferred from the accepted values only (what the drift detector profiles)
    accepted: pd.DataFrame | None = None


def _key_column(df: pd.DataFrame, key_field: str) -> tuple[pd.Series, pd.Series]:
    """(key as stripped strings, ok mask): a key is a non-empty string or an integer."""
    import pandas as pd

    if key_field not in df.columns:
        empty = pd.Series([""] * len(df), index=df.index, dtype=object)
        return empty, pd.Series(False, index=df.index)
    raw = df[key_field]
    kinds = raw.map(type)
    usable = kinds.isin([str, int])
    keys = raw.where(usable, "").astype(str).str.strip()
    return keys, usable & (keys != "")


def parse_versions(raw: pd.Series, kind: str) -> tuple[pd.Series, pd.Series, str, pd.Series]:
    """(sort values, ok mask, kind used, wrong-kind mask) for a column of versions.

    ``kind`` "number" accepts JSON numbers and numeric strings; "timestamp" accepts ISO-8601
    strings (naive ones are taken as UTC); "auto" picks whichever kind most rows of the batch
    have, and marks rows of the other kind, so one table never mixes kinds for a key.
    """
    import pandas as pd

    is_bool = raw.map(lambda v: isinstance(v, bool))
    num = pd.to_numeric(raw.where(~is_bool), errors="coerce")
    num = num.where(num.abs() != float("inf"))
    is_num = num.notna()
    str_rows = raw.map(lambda v: isinstance(v, str)) & ~is_num
    ts = pd.to_datetime(raw.where(str_rows), format="ISO8601", utc=True, errors="coerce")
    is_ts = ts.notna()
    if kind == "auto":
        kind = "number" if int(is_num.sum()) >= int(is_ts.sum()) else "timestamp"
    if kind == "number":
        return num, is_num, kind, is_ts
    return ts, is_ts, kind, is_num


def prepare(
    records: list[Any],
    *,
    key_field: str,
    version_field: str,
    version_kind: str,
    validator: RowValidator | None,
    keep_frames: bool = False,
) -> Prepared:
    """Validate, normalise and deduplicate ``records`` (see the module docstring).

    ``keep_frames`` also returns the batch and its accepted rows as DataFrames (``frame``,
    ``accepted``) for the drift checks; off by default, so nothing is kept that is not used.
    """
    import pandas as pd

    rejected: list[Rejection] = []
    positions = [i for i, r in enumerate(records) if isinstance(r, dict)]
    rejected += [Rejection(r, ["not a JSON object"]) for r in records if not isinstance(r, dict)]
    if not positions:
        return Prepared([], rejected, len(records), 0, 0)

    df = pd.DataFrame.from_records([records[i] for i in positions], index=positions)
    reasons: dict[Any, list[str]] = {}

    keys, key_ok = _key_column(df, key_field)
    for idx in key_ok.index[~key_ok]:
        reasons.setdefault(idx, []).append(f"{key_field}: missing, empty or not a string/integer key")

    kind: str | None
    if version_field in df.columns:
        sort_values, version_ok, kind, wrong_kind = parse_versions(df[version_field], version_kind)
    else:
        sort_values = pd.Series([None] * len(df), index=df.index, dtype=object)
        version_ok = pd.Series(False, index=df.index)
        kind = version_kind if version_kind != "auto" else None
        wrong_kind = pd.Series(False, index=df.index)
    for idx in version_ok.index[~version_ok]:
        if wrong_kind.loc[idx]:
            why = (
                f"{version_field}: not a {kind} like the rest of the batch (set VERSION_KIND to pin the kind)"
            )
        else:
            why = f"{version_field}: missing or not a number / ISO-8601 timestamp"
        reasons.setdefault(idx, []).append(why)

    failed_expectations: Counter[str] = Counter()
    if validator is not None:
        for idx, labels in validator.failures(df).items():
            failed_expectations.update(labels)
            reasons.setdefault(idx, []).extend(labels)

    for idx in sorted(reasons):
        rejected.append(Rejection(records[idx], reasons[idx]))

    ok = pd.Series(True, index=df.index)
    if reasons:
        ok.loc[list(reasons)] = False
    n_valid = int(ok.sum())
    frames: dict[str, Any] = {}
    if keep_frames:
        # A column holding one rejected "12,50" among floats is object-typed; inferring the dtype
        # from the accepted rows alone keeps a few bad values from looking like a schema change.
        frames = {"frame": df, "accepted": df.loc[ok].infer_objects()}
    if n_valid == 0:
        return Prepared([], rejected, len(records), 0, 0, kind, failed_expectations, **frames)

    # Newest per key: stable sort by (key, version), keep the last. Equal versions keep the
    # later arrival; an exact duplicate delivery is dropped either way.
    survivors = pd.DataFrame({"k": keys[ok], "v": sort_values[ok]})
    survivors = survivors.sort_values(["k", "v"], kind="stable").drop_duplicates("k", keep="last")
    duplicates = n_valid - len(survivors)

    # Timestamps become fixed-width UTC strings: DynamoDB compares strings byte-wise.
    canonical = survivors["v"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if kind == "timestamp" else survivors["v"]
    valid: list[dict[str, Any]] = []
    for idx, key, version in zip(survivors.index, survivors["k"], canonical, strict=True):
        rec = dict(records[idx])
        rec[key_field] = key
        rec[version_field] = version if kind == "timestamp" else _number(rec[version_field], version)
        valid.append(rec)
    return Prepared(valid, rejected, len(records), n_valid, duplicates, kind, failed_expectations, **frames)


def _number(original: Any, parsed: float) -> int | float:
    """The version as an exact ``int`` where it is one (no float64 rounding of big ints)."""
    if isinstance(original, int):
        return original
    if isinstance(original, str):
        try:
            return int(original.strip())
        except ValueError:
            pass
    value = float(parsed)
    return int(value) if value.is_integer() else value
