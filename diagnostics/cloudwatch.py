"""The questions CloudWatch answers itself: Logs Insights queries, metric datapoints, alarm states.

- :func:`run_insights`: ``StartQuery`` then ``GetQueryResults`` polled with backoff, a clear error
  on timeout or failure, a note when the rows reach the query's limit (the service caps a query
  at 10,000 rows, so the answer may be incomplete).
- :class:`CloudWatchMetrics`: an alarm's datapoints from ``GetMetricData`` on the alarm's own
  metric and statistic (metric math is sent too, and re-computed client-side from the component
  queries: an emulator that ignores the expression cannot make a breach disappear).
- :class:`CloudWatchAlarms`: the alarm's state now (``DescribeAlarms``) and its state changes
  over the window (``DescribeAlarmHistory``).

Each call's shape is tested against the moto server; what moto does not do (Insights ``filter``
and ``stats``, percentiles, alarm evaluation and history) is covered by the client-side re-checks
and said in docs/diagnostics.md.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from diagnostics.alarms import (
    FROM_CLOUDWATCH,
    AlarmSpec,
    AlarmStatus,
    Evaluation,
    StateChange,
    assemble,
    metric_queries,
)
from diagnostics.model import SourceError, Window, iso
from diagnostics.progress import QUIET, Progress
from diagnostics.queries import INSIGHTS_MAX_ROWS

#: GetMetricData takes at most this many queries per call.
MAX_METRIC_QUERIES = 500
#: Polling of a Logs Insights query: first wait, growth factor, longest wait (seconds).
POLL_FIRST, POLL_FACTOR, POLL_MAX = 0.25, 2.0, 5.0


def _refused(exc: Exception, what: str) -> SourceError:
    from diagnostics.sources import _aws_error

    return _aws_error(exc, what, "CloudWatch")


# --- Logs Insights -----------------------------------------------------------------------------------


def run_insights(
    client: Any,
    groups: Sequence[str],
    start: datetime,
    end: datetime,
    query: str,
    *,
    limit: int = INSIGHTS_MAX_ROWS,
    timeout: float = 120.0,
    stats: Any = None,
    progress: Progress = QUIET,
    sleep: Any = time.sleep,
) -> list[dict[str, str]]:
    """Run ``query`` over ``groups`` from ``start`` to ``end``; the rows as ``{field: value}``.

    Polls with exponential backoff (0.25 s doubling to 5 s). Raises SourceError naming the
    query's status when it fails, or when it has not finished after ``timeout`` seconds (the
    query is stopped). When the rows reach ``limit`` a note says the answer may be incomplete.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    what = f"Logs Insights on {', '.join(groups)}"
    try:
        qid = client.start_query(
            logGroupNames=list(groups),
            startTime=int(start.timestamp()),
            endTime=int(end.timestamp()) + 1,
            queryString=query,
            limit=limit,
        )["queryId"]
        if stats is not None:
            stats.requests += 1
        deadline = time.monotonic() + timeout
        delay = POLL_FIRST
        with progress.step("waiting for Logs Insights", unit="records scanned") as step:
            while True:
                got = client.get_query_results(queryId=qid)
                if stats is not None:
                    stats.requests += 1
                status = got.get("status")
                scanned = int((got.get("statistics") or {}).get("recordsScanned") or 0)
                step.advance(0, items=max(0, scanned - step.count))
                if status == "Complete":
                    break
                if status in ("Failed", "Cancelled", "Timeout", "Unknown"):
                    raise SourceError(
                        f"{what}: the query ended {status}; narrow the window (--since/--start/--end) "
                        "or use --engine filter"
                    )
                if time.monotonic() + delay > deadline:
                    with contextlib.suppress(ClientError, BotoCoreError):
                        client.stop_query(queryId=qid)
                    raise SourceError(
                        f"{what}: the query did not finish within {timeout:g}s (status {status}); "
                        "narrow the window, raise --query-timeout or use --engine filter"
                    )
                sleep(delay)
                delay = min(delay * POLL_FACTOR, POLL_MAX)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            raise SourceError(f"--log-group {', '.join(groups)}: no such log group") from None
        raise _refused(exc, what) from None
    except BotoCoreError as exc:
        raise _refused(exc, what) from None
    rows = [{c.get("field", ""): c.get("value", "") for c in row} for row in got.get("results") or []]
    if stats is not None and len(rows) >= limit:
        stats.note(
            f"Logs Insights returned {len(rows):,} rows, the limit of one query: the answer may be "
            "incomplete; narrow the window (--since/--start/--end)"
        )
    return rows


# --- metrics -----------------------------------------------------------------------------------------


def _ident(prefix: str, qid: str) -> str:
    """A GetMetricData query id: starts with a lower-case letter, letters, digits and ``_`` only."""
    return f"{prefix}_{re.sub(r'[^A-Za-z0-9_]', '_', qid)}"


def _stat(name: str, namespace: str, dims: dict[str, str], period: int, stat: str) -> dict[str, Any]:
    return {
        "Metric": {
            "Namespace": namespace,
            "MetricName": name,
            "Dimensions": [{"Name": k, "Value": v} for k, v in sorted(dims.items())],
        },
        "Period": period,
        "Stat": stat,
    }


def alarm_queries(spec: AlarmSpec, namespace: str, prefix: str) -> list[dict[str, Any]]:
    """The ``MetricDataQueries`` of one (resolved) alarm: its metric and statistic, or its metric math.

    Every query returns data, so the component series are there for the client-side re-check of
    the expression. Ids are prefixed (``prefix``) so several alarms share one call.
    """
    out: list[dict[str, Any]] = []
    for qid, metric, dims, stat, ns in metric_queries(spec):
        period = next((q.period for q in spec.queries if q.id == qid and q.period), None) or spec.period
        space = namespace if not ns or ns.startswith("${") else ns
        out.append(
            {
                "Id": _ident(prefix, qid),
                "MetricStat": _stat(metric, space, dims, period, stat),
                "ReturnData": True,
            }
        )
    ret = next((q for q in spec.queries if q.return_data and q.expression), None)
    if ret is not None:
        ids = {q.id for q in spec.queries}
        expression = re.sub(
            r"\b[A-Za-z_][A-Za-z0-9_]*\b",
            lambda m: _ident(prefix, m.group(0)) if m.group(0) in ids else m.group(0),
            ret.expression or "",
        )
        out.append({"Id": _ident(prefix, ret.id), "Expression": expression, "ReturnData": True})
    return out


def _is_percentile(query: dict[str, Any]) -> bool:
    stat = str((query.get("MetricStat") or {}).get("Stat") or "")
    return stat[:1] in ("p", "t", "w") or stat[:2] in ("PR", "TC", "TM", "TS", "WM")


def _aligned(t: datetime, period: int) -> datetime:
    epoch = int(t.timestamp())
    return datetime.fromtimestamp(epoch - epoch % period, UTC)


@dataclass
class MetricSeries:
    """One query's datapoints: period start (ms) -> value."""

    values: dict[int, float]
    status: str = "Complete"


class _CloudWatch:
    """A CloudWatch client made on first use, the calls made and the notes on what it would not answer."""

    def __init__(self, *, client: Any = None, region: str | None = None):
        self.client = client
        self.region = region
        self.requests = 0
        self.notes: list[str] = []

    def _client(self) -> Any:
        if self.client is None:
            import boto3

            self.client = boto3.client("cloudwatch", region_name=self.region)
        return self.client

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


class CloudWatchMetrics(_CloudWatch):
    """Alarm datapoints from ``GetMetricData`` (``namespace`` fills the specs' ``${namespace}``)."""

    def __init__(self, namespace: str, *, client: Any = None, region: str | None = None):
        super().__init__(client=client, region=region)
        self.namespace = namespace
        self.datapoints = 0

    def fetch(self, queries: list[dict[str, Any]], start: datetime, end: datetime) -> dict[str, MetricSeries]:
        """Run ``queries`` (in calls of at most 500), every page; id -> series.

        Percentile queries go in calls of their own: a service that refuses them (moto answers
        500) then costs those series only, with a note, not the whole answer.
        """
        plain = [q for q in queries if not _is_percentile(q)]
        pct = [q for q in queries if _is_percentile(q)]
        out: dict[str, MetricSeries] = {}
        for group, optional in ((plain, False), (pct, True)):
            for i in range(0, len(group), MAX_METRIC_QUERIES):
                try:
                    self._fetch(group[i : i + MAX_METRIC_QUERIES], start, end, out)
                except SourceError as exc:
                    if not optional:
                        raise
                    stats = sorted({q["MetricStat"]["Stat"] for q in group})
                    self.note(f"{exc}: the {', '.join(stats)} series are missing")
        return out

    def _fetch(
        self, queries: list[dict[str, Any]], start: datetime, end: datetime, out: dict[str, MetricSeries]
    ) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        kwargs: dict[str, Any] = {
            "MetricDataQueries": queries,
            "StartTime": start,
            "EndTime": end,
            "ScanBy": "TimestampAscending",
        }
        try:
            while True:
                got = self._client().get_metric_data(**kwargs)
                self.requests += 1
                for r in got.get("MetricDataResults") or []:
                    series = out.setdefault(r["Id"], MetricSeries({}))
                    series.status = r.get("StatusCode") or series.status
                    for ts, v in zip(r.get("Timestamps") or [], r.get("Values") or [], strict=False):
                        if v is None:
                            continue
                        series.values[int(ts.timestamp() * 1000)] = float(v)
                        self.datapoints += 1
                token = got.get("NextToken")
                if not token:
                    break
                kwargs["NextToken"] = token
        except (ClientError, BotoCoreError) as exc:
            raise _refused(exc, f"GetMetricData (namespace {self.namespace})") from None

    def evaluate(self, specs: Sequence[AlarmSpec], window: Window) -> list[Evaluation]:
        """Each (resolved) alarm's datapoints over ``window``, from one batch of calls."""
        if not specs:
            return []
        end = window.end or datetime.now(UTC)
        if window.start is None:
            raise SourceError("GetMetricData needs a window start: pass --since or --start")
        longest = max(s.period for s in specs)
        start = _aligned(window.start, longest)
        prefixes = {spec.name: f"a{i}" for i, spec in enumerate(specs)}
        queries = [q for spec in specs for q in alarm_queries(spec, self.namespace, prefixes[spec.name])]
        got = self.fetch(queries, start, end)
        out = []
        for spec in specs:
            prefix = prefixes[spec.name]
            per_query = {
                qid: dict(got.get(_ident(prefix, qid), MetricSeries({})).values)
                for qid, *_ in metric_queries(spec)
            }
            ret = next((q for q in spec.queries if q.return_data and q.expression), None)
            theirs = got.get(_ident(prefix, ret.id)) if ret else None
            expression_values = theirs.values if theirs is not None else None
            ev = assemble(
                spec,
                window,
                per_query,
                expression_values=expression_values,
                source=f"{FROM_CLOUDWATCH} ({self.namespace})",
            )
            if not any(per_query.values()):
                stat = spec.statistic or "its statistics"
                ev.notes.append(
                    f"CloudWatch returned no datapoints for {spec.metric} ({stat}) in {self.namespace} "
                    "over the window (wrong --namespace or --region? an emulator without percentiles?)"
                )
            elif ret is not None and not expression_values:
                ev.notes.append(
                    "CloudWatch returned nothing for the metric math: computed here from its queries"
                )
            out.append(ev)
        return out


# --- alarm states --------------------------------------------------------------------------------------


def _history_item(item: dict[str, Any]) -> StateChange | None:
    """One ``StateUpdate`` of ``DescribeAlarmHistory``: the JSON in HistoryData, else the summary text."""
    when = item.get("Timestamp")
    if not isinstance(when, datetime):
        return None
    try:
        data = json.loads(item.get("HistoryData") or "{}")
        old = data["oldState"]["stateValue"]
        new = data["newState"]["stateValue"]
        reason = str(data["newState"].get("stateReason") or "")
    except (ValueError, KeyError, TypeError):
        m = re.search(r"from (\w+) to (\w+)", str(item.get("HistorySummary") or ""))
        if not m:
            return None
        old, new, reason = m.group(1), m.group(2), ""
    return StateChange(when.astimezone(UTC), str(old), str(new), reason)


class CloudWatchAlarms(_CloudWatch):
    """Alarm states from CloudWatch: now (``DescribeAlarms``) and over a window (``DescribeAlarmHistory``)."""

    def status(self, names: Iterable[str]) -> dict[str, AlarmStatus]:
        """The alarms CloudWatch knows among ``names`` (an alarm not deployed is absent)."""
        from botocore.exceptions import BotoCoreError, ClientError

        wanted = list(dict.fromkeys(names))
        out: dict[str, AlarmStatus] = {}
        client = self._client()
        for i in range(0, len(wanted), 100):
            kwargs: dict[str, Any] = {"AlarmNames": wanted[i : i + 100], "MaxRecords": 100}
            try:
                while True:
                    got = client.describe_alarms(**kwargs)
                    self.requests += 1
                    for a in [*(got.get("MetricAlarms") or []), *(got.get("CompositeAlarms") or [])]:
                        since = a.get("StateUpdatedTimestamp")
                        out[a["AlarmName"]] = AlarmStatus(
                            str(a.get("StateValue")),
                            since.astimezone(UTC) if isinstance(since, datetime) else None,
                            str(a.get("StateReason") or ""),
                        )
                    if not got.get("NextToken"):
                        break
                    kwargs["NextToken"] = got["NextToken"]
            except (ClientError, BotoCoreError) as exc:
                raise _refused(exc, "DescribeAlarms") from None
        return out

    def deployed(self, specs: Sequence[AlarmSpec], resource_prefix: str | None = None) -> list[AlarmSpec]:
        """The alarms CloudWatch has that the specs stand for, resolved under their deployed names.

        ``resource_prefix`` fills ``${resource_prefix}`` (see :meth:`AlarmSpec.resolve`).
        """
        from botocore.exceptions import BotoCoreError, ClientError

        out: list[AlarmSpec] = []
        kwargs: dict[str, Any] = {"AlarmTypes": ["MetricAlarm"], "MaxRecords": 100}
        names: list[str] = []
        try:
            while True:
                got = self._client().describe_alarms(**kwargs)
                self.requests += 1
                names += [a["AlarmName"] for a in got.get("MetricAlarms") or []]
                if not got.get("NextToken"):
                    break
                kwargs["NextToken"] = got["NextToken"]
        except (ClientError, BotoCoreError) as exc:
            raise _refused(exc, "DescribeAlarms") from None
        for name in names:
            for prefixed in (False, True):
                match = next(
                    (
                        r
                        for r in (
                            s.resolve(name, prefixed=prefixed, resource_prefix=resource_prefix) for s in specs
                        )
                        if r is not None
                    ),
                    None,
                )
                if match is not None:
                    out.append(match)
                    break
        return out

    def history(self, name: str, window: Window) -> list[StateChange] | None:
        """State changes of ``name`` in ``window``, oldest first; None (with a note) if unavailable."""
        from botocore.exceptions import BotoCoreError, ClientError

        kwargs: dict[str, Any] = {
            "AlarmName": name,
            "HistoryItemType": "StateUpdate",
            "ScanBy": "TimestampAscending",
            "MaxRecords": 100,
        }
        if window.start is not None:
            kwargs["StartDate"] = window.start
        kwargs["EndDate"] = window.end or datetime.now(UTC)
        out: list[StateChange] = []
        try:
            while True:
                got = self._client().describe_alarm_history(**kwargs)
                self.requests += 1
                out += [c for c in map(_history_item, got.get("AlarmHistoryItems") or []) if c is not None]
                if not got.get("NextToken"):
                    break
                kwargs["NextToken"] = got["NextToken"]
        except (ClientError, BotoCoreError) as exc:
            code = (
                exc.response.get("Error", {}).get("Code")
                if isinstance(exc, ClientError)
                else type(exc).__name__
            )
            note = (
                f"CloudWatch did not give the alarm history ({code}): when it entered ALARM is the time "
                "of its current state; whether it recovered in between is not known"
            )
            self.note(note)
            return None
        return sorted(out, key=lambda c: c.time)

    def attach(
        self, evaluations: Sequence[Evaluation], window: Window, *, history_for: Iterable[str] = ()
    ) -> None:
        """Set each evaluation's CloudWatch status, and its history for the names in ``history_for``.

        Where CloudWatch's state and the datapoints disagree (an emulator never evaluates alarms;
        a deployed alarm may differ from the shipped spec) the evaluation notes it.
        """
        found = self.status(e.alarm.name for e in evaluations)
        wanted = set(history_for)
        for ev in evaluations:
            st = found.get(ev.alarm.name)
            if st is None:
                ev.notes.append(
                    "not found in CloudWatch (not deployed here?): its state is replayed from the datapoints"
                )
                continue
            ev.status = st
            if ev.alarm.name in wanted:
                ev.history = self.history(ev.alarm.name, window)
                if ev.history is None:
                    ev.notes += [n for n in self.notes if n not in ev.notes]
            held = [d for d in ev.datapoints if d.in_alarm]
            if held and st.state != "ALARM":
                fired_at = held[0].start + timedelta(seconds=ev.alarm.period)
                seen_alarm = bool(ev.history and any(c.new == "ALARM" for c in ev.history))
                said = (
                    f"CloudWatch says {st.state} (since {iso(st.since)}), "
                    "but its datapoints breach the rule from "
                )
                if st.since is None or st.since <= fired_at:  # in this state since before the breach
                    ev.notes.append(
                        f"{said}{iso(fired_at)}: it never fired for them (an emulator never evaluates "
                        "alarms; or the deployed alarm differs from the spec)"
                    )
                elif not seen_alarm and ev.history is None:
                    ev.notes.append(
                        f"{said}{iso(fired_at)}: it may have fired and recovered since, or never have been "
                        "evaluated (an emulator); without its history this cannot be told"
                    )
            if st.state == "ALARM" and not held:
                ev.notes.append(
                    "CloudWatch says ALARM, but no datapoint in the window breaches the rule as shipped "
                    "(widen the window, or the deployed alarm differs from terraform/generated)"
                )


def series_window(window: Window, now: datetime | None = None) -> tuple[datetime, datetime]:
    """(start, end) for a GetMetricData over ``window`` (an open end is now)."""
    end = window.end or now or datetime.now(UTC)
    start = window.start or end - timedelta(hours=1)
    return start, end


# --- aggregates asked of CloudWatch ---------------------------------------------------------------------


def _cloudwatch_sources(diag: Any) -> list[Any]:
    from diagnostics.sources import CloudWatchLogSource

    return [s for s in diag.logs if isinstance(s, CloudWatchLogSource)]


def failures_via_stats(diag: Any) -> list[Any] | None:
    """Failures counted by Logs Insights (``stats``), merged client-side; None to count them here.

    None when not every log source is CloudWatch, or when the rows come back without the count
    column (an emulator that ignores ``stats``): the caller then reads the error lines and counts
    them itself, so such a run cannot pass for a counted one.
    """
    from diagnostics import analysis
    from diagnostics.queries import failures_stats_query
    from diagnostics.sources import _insights_time

    rows = _stats_rows(diag, failures_stats_query(), "n", "failures")
    if rows is None:
        return None
    merged: dict[tuple[str, str, str, str, str], analysis.FailureGroup] = {}
    for r in rows:
        pseudo = {"logger": r.get("logger"), "message": r.get("message"), "message_id": r.get("mid")}
        kind = analysis._kind(pseudo)
        what = str(r.get("message") or "")
        etype = str(r.get("etype") or "-")
        detail = str(r.get("detail") or "")
        key = (str(r.get("svc") or "-"), kind, analysis.normalise(what), etype, analysis.normalise(detail))
        g = merged.get(key)
        if g is None:
            g = merged[key] = analysis.FailureGroup(
                key[0],
                kind,
                analysis.redact_text(what),
                etype,
                analysis.redact_text(key[4]),
                analysis.redact_text(detail),
            )
        g.count += int(float(r.get("n") or 0))
        for name, pick in (("first_seen", min), ("last_seen", max)):
            ms = _insights_time(r.get(name))
            if ms is not None:
                t = datetime.fromtimestamp(ms / 1000, UTC)
                old = getattr(g, name)
                setattr(g, name, t if old is None else pick(old, t))
        for value in (r.get("cid"), r.get("cid_last")):
            analysis._add(g.correlation_ids, value)
        analysis._add(g.message_ids, r.get("mid"))
        analysis._add(g.request_ids, r.get("rid"))
    return sorted(merged.values(), key=lambda g: (-g.count, g.service, g.kind))


def _stats_rows(diag: Any, query: str, column: str, what: str) -> list[dict[str, str]] | None:
    """The rows of a Logs Insights ``stats`` query over every log group, or None to count client-side:
    when a source is not CloudWatch, or when the rows lack ``column`` (the service ignored ``stats``)."""
    sources = _cloudwatch_sources(diag)
    if not sources or len(sources) != len(diag.logs) or diag.window.start is None:
        return None
    src = sources[0]
    rows = run_insights(
        src._client(),
        [g for s in sources for g in s.groups],
        diag.window.start,
        diag.window.end or datetime.now(UTC),
        query,
        limit=src.insights_limit,
        timeout=src.query_timeout,
        stats=src.stats,
        progress=diag.progress,
    )
    if rows and not all(column in r for r in rows):
        src.stats.note(
            f"Logs Insights answered the {what} query without its counts (it ignored `stats`: "
            "an emulator?); the lines were read and counted here instead"
        )
        return None
    return rows


def throttles_via_stats(diag: Any) -> list[Any] | None:
    """Throttles from a Logs Insights ``stats`` query (one row per invocation and source); None to
    read the throttle lines instead (see :func:`_stats_rows`)."""
    from diagnostics import analysis
    from diagnostics.queries import throttles_stats_query
    from diagnostics.sources import _insights_time
    from observe.catalogue import LOG_FIELDS as F

    rows = _stats_rows(diag, throttles_stats_query(), "n", "throttles")
    if rows is None:
        return None
    out = []
    for r in rows:
        ms = _insights_time(r.get("t"))
        retry = r.get("retry")
        returned = r.get("returned")
        out.append(
            analysis.ThrottleEvent(
                time=datetime.fromtimestamp(ms / 1000, UTC) if ms is not None else None,
                service=r.get(F.service),
                source=str(r.get(F.throttle_source)),
                code=r.get(F.throttle_code),
                retry_after_s=float(retry) if retry not in (None, "") else None,
                request_id=r.get(F.request_id),
                correlation_id=r.get("cid"),
                message_id=r.get("mid"),
                messages_returned=int(float(returned)) if returned not in (None, "") else None,
                message=analysis.redact_text(str(r.get("msg") or "")),
            )
        )
    return sorted(out, key=lambda e: e.time or datetime.min.replace(tzinfo=UTC))


def _period_for(span: timedelta, points: int) -> int:
    """A GetMetricData period (a multiple of 60 s) giving about ``points`` points over ``span``."""
    seconds = max(60, int(span.total_seconds() / max(1, points)))
    return (seconds + 59) // 60 * 60


def cloudwatch_overview(diag: Any) -> Any:
    """The report's overview from CloudWatch: alarms and metrics by GetMetricData, the rest from the logs."""
    from diagnostics import analysis
    from diagnostics.core import Activity, Overview
    from observe import catalogue

    evaluations = diag.alarm_states() if diag.alarms else []
    failures = diag.failures()
    throttles = diag.throttles()
    anomalies = diag.anomalies()
    activity = Activity()
    totals: dict[tuple[str, str], float] = {}
    duration_stats: dict[str, dict[str, float]] = {}
    metrics = diag.metrics
    if metrics is not None and diag.window.start is not None:
        start = diag.window.start
        end = diag.window.end or datetime.now(UTC)
        services = sorted({(a.service, a.pipeline) for a in diag.relevant_alarms()})
        env = diag.environment or next(
            (e.alarm.environment for e in evaluations if e.alarm.environment), None
        )
        whole = _period_for(end - start, 1)
        step = _period_for(end - start, 60)
        queries: list[dict[str, Any]] = []
        plan: dict[str, tuple[str, ...]] = {}
        for i, (service, pipeline) in enumerate(services):
            dims = {"service": service, "pipeline": pipeline}
            if env:
                dims["environment"] = env
            for j, d in enumerate(catalogue.CATALOGUE.values()):
                if d.unit == "Count":
                    qid = f"t{i}_{j}"
                    queries.append(
                        {
                            "Id": qid,
                            "MetricStat": _stat(d.name, metrics.namespace, dims, whole, "Sum"),
                            "ReturnData": True,
                        }
                    )
                    plan[qid] = ("total", service, d.name)
            for name, stat in (
                (analysis.DURATION, "SampleCount"),
                (analysis.ERRORS, "Sum"),
                (analysis.THROTTLES, "Sum"),
            ):
                qid = f"s{i}_{name.lower()}"
                queries.append(
                    {
                        "Id": qid,
                        "MetricStat": _stat(name, metrics.namespace, dims, step, stat),
                        "ReturnData": True,
                    }
                )
                plan[qid] = ("activity", service, name)
            for stat in ("p50", "p99"):
                qid = f"d{i}_{stat}"
                queries.append(
                    {
                        "Id": qid,
                        "MetricStat": _stat(analysis.DURATION, metrics.namespace, dims, whole, stat),
                        "ReturnData": True,
                    }
                )
                plan[qid] = ("duration", service, stat)
        got = metrics.fetch(queries, _aligned(start, 60), end) if queries else {}
        series: dict[tuple[str, int], list[float]] = {}
        for qid, (kind, service, name) in plan.items():
            values = got.get(qid, MetricSeries({})).values
            if kind == "total" and values:
                totals[(service, name)] = sum(values.values())
            elif kind == "duration" and values:
                duration_stats.setdefault(service, {})[name] = max(values.values())
            elif kind == "activity":
                col = {analysis.DURATION: 0, analysis.ERRORS: 1, analysis.THROTTLES: 2}[name]
                for t_ms, v in values.items():
                    series.setdefault((service, t_ms), [0.0, 0.0, 0.0])[col] += v
        for (service, t_ms), (inv, err, thr) in sorted(series.items(), key=lambda kv: kv[0][1]):
            activity.rows.append((datetime.fromtimestamp(t_ms / 1000, UTC), service, inv, err, thr))
    units = {d.name: d.unit for d in catalogue.CATALOGUE.values()}
    return Overview(
        evaluations=evaluations,
        failures=failures,
        throttles=throttles,
        anomalies=anomalies,
        activity=activity,
        totals=totals,
        units=units,
        durations={},
        duration_stats=duration_stats,
    )
