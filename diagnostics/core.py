"""One object for a triage session: the sources, and the questions asked of them.

    from diagnostics import Diagnostics

    diag = Diagnostics.load(logs="out/demo/ingest.jsonl", quarantine_dir="out/demo/s3")
    # the alarms: the project's observe.toml (found from the working directory, or config=...)
    t = diag.from_alarm("ingest-worker-RecordsQuarantined-dev")
    diag.trace(t.correlation_ids[0])

Nothing is read up front. Each question asks the sources for what it needs and no more: a trace
the lines of one id, an alarm its datapoints (``GetMetricData``, or a replay of the EMF documents
of local files), then the lines of the invocations behind the breach, then the quarantine
documents they name. Local files are streamed; the CLI, the HTML report and the notebooks all go
through this class. What was read, what was not and what that means is kept in
:meth:`Diagnostics.sources_read` and said by :meth:`Diagnostics.describe`.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from diagnostics import analysis
from diagnostics.alarms import (
    AlarmSpec,
    Evaluation,
    Replay,
    find_alarm,
    fixed_environment,
    from_config,
    load_alarms,
)
from diagnostics.lambda_view import LambdaView, PlatformJoin, enrich
from diagnostics.lambda_view import build as build_lambda_view
from diagnostics.model import DLQMessage, QuarantineDoc, SourceError, Window, doc_time
from diagnostics.progress import QUIET, Progress
from diagnostics.queries import Clause, Selection, is_emf
from diagnostics.sources import (
    CloudWatchLogSource,
    DirQuarantineSource,
    DLQSource,
    FileDLQSource,
    FileLogSource,
    LogSource,
    MemoryDLQSource,
    MemoryLogSource,
    MemoryQuarantineSource,
    QuarantineSource,
    ReadStats,
    S3QuarantineSource,
    SQSDLQSource,
)
from observe.catalogue import LOG_FIELDS, SUMMARY_MESSAGES, TIMEOUT_WARNING

if TYPE_CHECKING:
    import pandas as pd

    from diagnostics.cloudwatch import CloudWatchAlarms, CloudWatchMetrics
    from diagnostics.triage import AlarmTriage

#: The invocations behind a breach whose lines are fetched (largest contribution first).
DEFAULT_MAX_INVOCATIONS = 50
#: Ids looked up one by one in CloudWatch (the DLQ's message ids) before the rest are left out.
DEFAULT_MAX_LOOKUPS = 50

#: What each kind of source is for, and what to pass when it was not given.
NOT_READ = {
    "logs": "logs not read: pass --logs PATH or --log-group NAME (no traces, failures or invocations)",
    "quarantine": "quarantine not read: pass --bucket or --quarantine-dir (failing records cannot be listed)",
    "dlq": "DLQ not read: pass --dlq-url or --dlq-file (messages that gave up are not shown)",
    "alarms": "alarm specs not read: no observe.toml found; pass --config FILE or --alarms-dir DIR "
    "(no alarm can be evaluated)",
}


def _check_choices(
    alarms: Sequence[AlarmSpec], pipelines: Sequence[str] | None, environment: str | None
) -> None:
    """``--pipeline`` and ``--environment`` name what the alarm specs hold, or fail saying what does."""
    if not alarms:
        if pipelines:
            raise SourceError(f"--pipeline {pipelines[0]}: no alarm specs loaded to choose from")
        return
    known = sorted({a.pipeline for a in alarms})
    for name in pipelines or ():
        if name not in known:
            raise SourceError(
                f"--pipeline {name}: no alarm spec of that pipeline (known: {', '.join(known)})"
            )
    envs = sorted({e for a in alarms if (e := fixed_environment(a)) is not None})
    templates = any("${environment}" in a.name for a in alarms)
    if environment is not None and not templates and environment not in envs:
        raise SourceError(
            f"--environment {environment}: no alarm spec of that environment (known: {', '.join(envs)})"
        )


def _shown_path(path: Path) -> str:
    """``path`` relative to the working directory when it is under it (shorter, as the user typed it)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@dataclass
class SourceInfo:
    """One kind of source: whether it was given, what it is, what was read from it."""

    role: str  # logs | quarantine | dlq | alarms | metrics | alarm states
    given: bool
    description: str
    detail: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass
class Activity:
    """Per EMF document with the standard dimensions: (time, service, invocations, errors, throttles)."""

    rows: list[tuple[datetime, str, float, float, float]] = field(default_factory=list)


@dataclass
class Overview:
    """Everything the report shows about the whole window, gathered in as few reads as possible."""

    evaluations: list[Evaluation]
    failures: list[analysis.FailureGroup]
    throttles: list[analysis.ThrottleEvent]
    anomalies: analysis.AnomalySummary
    activity: Activity
    totals: dict[tuple[str, str], float]  # (service, metric) -> sum over the window
    units: dict[str, str]  # metric -> unit
    durations: dict[str, list[float]]  # service -> invocation durations (ms), local sources only
    duration_stats: dict[str, dict[str, float]] = field(
        default_factory=dict
    )  # CloudWatch: service -> stat -> ms


class _OverviewCollector:
    """Feeds every aggregator of the overview from one stream of documents."""

    def __init__(self, replay: Replay):
        self.replay = replay
        self.failures = analysis.FailureAggregator()
        self.throttles = analysis.ThrottleCollector()
        self.anomalies = analysis.AnomalyAggregator()
        self.activity = Activity()
        self.totals: defaultdict[tuple[str, str], float] = defaultdict(float)
        self.units: dict[str, str] = {}
        self.durations: dict[str, list[float]] = {}

    def add(self, doc: dict[str, Any]) -> None:
        if not is_emf(doc):
            self.failures.add(doc)
            self.throttles.add(doc)
            self.anomalies.add(doc)
            return
        self.replay.add(doc)
        self.anomalies.add(doc)
        service = str(doc.get(LOG_FIELDS.service) or "-")
        inv = err = thr = 0.0
        is_total = False
        for name, unit, values, extra in analysis.emf_values(doc):
            if extra:
                continue
            is_total = True
            self.totals[(service, name)] += sum(values)
            self.units.setdefault(name, unit)
            if name == analysis.DURATION:
                inv += len(values)
                self.durations.setdefault(service, []).extend(values)
            elif name == analysis.ERRORS:
                err += sum(values)
            elif name == analysis.THROTTLES:
                thr += sum(values)
        t = doc_time(doc)
        if is_total and t is not None:
            self.activity.rows.append((t, service, inv, err, thr))

    def result(self) -> Overview:
        return Overview(
            evaluations=self.replay.evaluations(),
            failures=self.failures.result(),
            throttles=self.throttles.result(),
            anomalies=self.anomalies.result(),
            activity=self.activity,
            totals=dict(self.totals),
            units=self.units,
            durations=self.durations,
        )


def _window_or_default(window: Window | None) -> Window:
    return window or Window()


class Diagnostics:
    """A triage session over a set of sources (see the module docstring)."""

    def __init__(
        self,
        logs: Sequence[LogSource] = (),
        *,
        quarantine: QuarantineSource | None = None,
        dlq: DLQSource | None = None,
        alarms: Sequence[AlarmSpec] = (),
        alarms_from: str | None = None,
        metrics: CloudWatchMetrics | None = None,
        alarm_states: CloudWatchAlarms | None = None,
        window: Window | None = None,
        pipelines: Sequence[str] | None = None,
        environment: str | None = None,
        max_invocations: int = DEFAULT_MAX_INVOCATIONS,
        max_lookups: int = DEFAULT_MAX_LOOKUPS,
        progress: Progress = QUIET,
        resource_prefix: str | None = None,
    ):
        self.logs = list(logs)
        self.quarantine = quarantine
        self.dlq = dlq
        self.alarms = list(alarms)
        self.alarms_from = alarms_from
        self.metrics = metrics
        self.alarm_states_source = alarm_states
        self.window = _window_or_default(window)
        self.pipelines = list(pipelines) if pipelines else None
        self.environment = environment
        # before a deployed function's or queue's name (None: as Terraform names them by default)
        self.resource_prefix = resource_prefix
        self.max_invocations = max_invocations
        self.max_lookups = max_lookups
        self.progress = progress
        for s in self.logs:
            s.progress = progress
        self.notes: list[str] = []
        self._dlq_messages: list[DLQMessage] | None = None
        self._quarantine_read = False
        self._pipelines_seen: set[str] = set()
        self._overview: Overview | None = None
        self._states: list[Evaluation] | None = None
        self._lambda: LambdaView | None = None

    # --- construction ---------------------------------------------------------------------------
    @classmethod
    def load(
        cls,
        *,
        logs: str | Path | Sequence[str | Path] | None = None,
        log_groups: Sequence[str] | None = None,
        window: Window | None = None,
        bucket: str | None = None,
        quarantine_dir: str | Path | None = None,
        dlq_url: str | None = None,
        dlq_file: str | Path | None = None,
        alarms_dir: str | Path | None = None,
        config: str | Path | None = None,
        region: str | None = None,
        log_source: LogSource | None = None,
        allow_no_logs: bool = False,
        engine: str = "auto",
        query_timeout: float = 120.0,
        namespace: str | None = None,
        replay: bool = False,
        pipelines: Sequence[str] | None = None,
        environment: str | None = None,
        max_invocations: int = DEFAULT_MAX_INVOCATIONS,
        progress: Progress = QUIET,
        resource_prefix: str | None = None,
    ) -> Diagnostics:
        """Set up the sources given (nothing is read yet but the alarm specs).

        With log groups, alarm datapoints come from CloudWatch metrics (``GetMetricData`` in
        ``namespace``, default observe's) and alarm states from CloudWatch, unless ``replay``
        asks for the EMF documents in the logs instead. The alarm specs come from ``alarms_dir``
        (``*.alarms.json``) when given, else from the project's configuration: ``config``, else
        ``OBSERVE_CONFIG``, else the nearest ``observe.toml`` from the working directory (its
        namespace is then the default ``namespace``). Raises
        :class:`~diagnostics.model.SourceError` naming a source that cannot be used.
        """
        if not log_groups:
            cloudwatch_only = {
                "--replay": replay,
                f"--engine {engine}": engine != "auto",
                f"--namespace {namespace!r}": namespace is not None,
                f"--environment {environment}": environment is not None,
            }
            unused = [flag for flag, given in cloudwatch_only.items() if given]
            if unused:
                raise SourceError(
                    f"{', '.join(unused)}: only with --log-group (how CloudWatch is asked; local files "
                    "are read as they are, every environment in their EMF documents replayed)"
                )
        if namespace is not None and not namespace.strip():
            raise SourceError("--namespace: empty (the metrics namespace, e.g. DataPipelines)")
        sources: list[LogSource] = []
        if log_source is not None:
            sources.append(log_source)
        if logs is not None:
            paths = [logs] if isinstance(logs, str | Path) else list(logs)
            for p in paths:
                src = FileLogSource(p, progress=progress)
                src.files()  # fail now, naming the path, rather than halfway through a command
                sources.append(src)
        alarms: list[AlarmSpec] = []
        alarms_from = None
        if alarms_dir is not None:
            alarms, alarms_from = load_alarms(alarms_dir), str(alarms_dir)
        else:
            configured = from_config(config)
            if configured is not None:
                alarms = configured.specs
                alarms_from = f"configuration {_shown_path(configured.path)}, built for " + "/".join(
                    configured.environments
                )
                namespace = namespace or configured.namespace
        _check_choices(alarms, pipelines, environment)
        metrics = states = None
        if log_groups:
            sources.append(
                CloudWatchLogSource(
                    log_groups, region=region, engine=engine, query_timeout=query_timeout, progress=progress
                )
            )
            if not replay:
                from diagnostics.cloudwatch import CloudWatchAlarms, CloudWatchMetrics
                from observe.metrics import DEFAULT_NAMESPACE

                metrics = CloudWatchMetrics(namespace or DEFAULT_NAMESPACE, region=region)
                states = CloudWatchAlarms(region=region)
        if not sources and not allow_no_logs:
            raise SourceError("no log source: give --logs PATH or --log-group NAME")
        quarantine: QuarantineSource | None = None
        if bucket and quarantine_dir:
            raise SourceError("give --bucket or --quarantine-dir, not both")
        if bucket:
            quarantine = S3QuarantineSource(bucket, region=region)
        elif quarantine_dir:
            if not Path(quarantine_dir).is_dir():
                raise SourceError(f"--quarantine-dir {quarantine_dir}: no such directory")
            quarantine = DirQuarantineSource(quarantine_dir)
        dlq: DLQSource | None = None
        if dlq_url and dlq_file:
            raise SourceError("give --dlq-url or --dlq-file, not both")
        if dlq_url:
            dlq = SQSDLQSource(dlq_url)
        elif dlq_file:
            if not Path(dlq_file).is_file():
                raise SourceError(f"--dlq-file {dlq_file}: no such file")
            dlq = FileDLQSource(dlq_file)
        return cls(
            sources,
            quarantine=quarantine,
            dlq=dlq,
            alarms=alarms,
            alarms_from=alarms_from,
            metrics=metrics,
            alarm_states=states,
            window=window,
            pipelines=pipelines,
            environment=environment,
            max_invocations=max_invocations,
            progress=progress,
            resource_prefix=resource_prefix,
        )

    @classmethod
    def from_docs(
        cls,
        docs: Iterable[dict[str, Any]],
        *,
        quarantine: Iterable[QuarantineDoc] | None = None,
        dlq: Iterable[DLQMessage] | None = None,
        alarms: Sequence[AlarmSpec] = (),
        window: Window | None = None,
        description: str = "documents in memory",
    ) -> Diagnostics:
        """A session over documents already parsed (log lines and EMF documents together)."""
        return cls(
            [MemoryLogSource(docs, description)],
            quarantine=MemoryQuarantineSource(quarantine) if quarantine is not None else None,
            dlq=MemoryDLQSource(dlq) if dlq is not None else None,
            alarms=alarms,
            alarms_from="given" if alarms else None,
            window=window,
        )

    # --- reading ---------------------------------------------------------------------------------
    @property
    def has_logs(self) -> bool:
        return bool(self.logs)

    @property
    def local(self) -> bool:
        """Every log source is local (files, memory): several questions can share one pass."""
        return all(s.kind != "cloudwatch" for s in self.logs)

    def read(self, sel: Selection) -> Iterator[dict[str, Any]]:
        """The documents ``sel`` wants, from every log source (each re-checked client-side)."""
        if not self.logs:
            raise SourceError("no log source: give --logs PATH or --log-group NAME")
        for s in self.logs:
            yield from s.read(sel)

    def stats(self) -> ReadStats:
        total = ReadStats()
        for s in self.logs:
            total.merge(s.stats)
        return total

    # --- questions --------------------------------------------------------------------------------
    def trace(self, correlation_id: str) -> analysis.Trace:
        """Every line of ``correlation_id`` across services, in time order."""
        sel = Selection.ids(self.window, LOG_FIELDS.correlation_id, [correlation_id])
        return analysis.trace(self.read(sel), correlation_id)

    def traces(self, correlation_ids: Sequence[str], *, keep: int | None = None) -> list[analysis.Trace]:
        """:meth:`trace` for several ids, in one read (local sources: one pass).

        With ``keep``, an id with more lines than that keeps only its first ``keep`` warnings and
        errors (``Trace.total`` says how many it has): memory stays bounded whatever the ids' volume.
        """
        ids = list(dict.fromkeys(c for c in correlation_ids if c))
        if not ids:
            return []
        kept: dict[str, list[dict[str, Any]]] = {c: [] for c in ids}
        loud: dict[str, list[dict[str, Any]]] = {c: [] for c in ids}
        counts: dict[str, int] = dict.fromkeys(ids, 0)
        for doc in self.read(Selection.ids(self.window, LOG_FIELDS.correlation_id, ids)):
            cid = str(doc.get(LOG_FIELDS.correlation_id))
            if cid not in counts:
                continue
            if not is_emf(doc):
                counts[cid] += 1
            if keep is None or len(kept[cid]) < keep:
                kept[cid].append(doc)
            elif analysis.level_of(doc) >= 30 and len(loud[cid]) < keep:
                loud[cid].append(doc)
        out = []
        for cid in ids:
            if keep is not None and counts[cid] > keep:
                first_loud = [d for d in kept[cid] if is_emf(d) or analysis.level_of(d) >= 30]
                tr = analysis.trace([*first_loud, *loud[cid]][: keep + 50], cid)
                tr.total = counts[cid]
            else:
                tr = analysis.trace(kept[cid], cid)
            out.append(tr)
        return out

    def failures(self) -> list[analysis.FailureGroup]:
        """Failed invocations and records, grouped, most frequent first."""
        if not self.local and self._overview is None:
            from diagnostics.cloudwatch import failures_via_stats

            got = failures_via_stats(self)
            if got is not None:
                return got
        agg = analysis.FailureAggregator()
        for doc in self.read(Selection(self.window, (Clause(min_level=40),))):
            agg.add(doc)
        return agg.result()

    def lambda_view(self) -> LambdaView:
        """What the Lambda platform's lines say: invocations it ended (timeout, out of memory, init
        failure, runtime exited), each joined with observe's lines of its request id, and the
        REPORT telemetry per function (:mod:`diagnostics.lambda_view`).

        Two reads: the platform's lines (with observe's summary lines, for function names, when
        the sources are local), then the lines of the last ``max_invocations`` failed request ids.
        Asked once per session (the answer is kept).
        """
        if self._lambda is not None:
            return self._lambda
        join = PlatformJoin()
        clauses: tuple[Clause, ...] = (Clause(platform=True),)
        if self.local:  # CloudWatch names the function by its log group; a file does not
            names = frozenset({*SUMMARY_MESSAGES, TIMEOUT_WARNING})
            clauses += (Clause(field=LOG_FIELDS.message, values=names),)
        with self.progress.step("platform lines"):
            for doc in self.read(Selection(self.window, clauses)):
                join.add(doc)
        view, detailed = build_lambda_view(join, self.max_invocations)
        if detailed:
            ids = [f.request_id for f in detailed]
            with self.progress.step(f"lines of {len(ids)} failed invocation(s)"):
                enrich(detailed, self.read(Selection.ids(self.window, LOG_FIELDS.request_id, ids)))
        self._lambda = view
        return view

    def throttles(self) -> list[analysis.ThrottleEvent]:
        """Every throttle met, with source, retry-after and when (CloudWatch: a Logs Insights ``stats``)."""
        if not self.local and self._overview is None:
            from diagnostics.cloudwatch import throttles_via_stats

            got = throttles_via_stats(self)
            if got is not None:
                return got
        c = analysis.ThrottleCollector()
        for doc in self.read(
            Selection(self.window, (Clause(present=LOG_FIELDS.throttle_source, emf=False),))
        ):
            c.add(doc)
        return c.result()

    def anomalies(self) -> analysis.AnomalySummary:
        """Input anomalies and failed expectations."""
        agg = analysis.AnomalyAggregator()
        sel = Selection(
            self.window,
            (
                Clause(metric=analysis.ANOMALIES),
                Clause(metric=analysis.EXPECTATIONS),
                Clause(logger_prefix=analysis.CHECKS_LOGGER, min_level=30),
            ),
        )
        for doc in self.read(sel):
            agg.add(doc)
        return agg.result()

    def invocations(self) -> dict[str, analysis.Invocation]:
        """Every invocation in the window, rebuilt from its lines (reads every line: small windows)."""
        return analysis.invocations(d for d in self.read(Selection.everything(self.window)) if not is_emf(d))

    def metrics_frame(self) -> pd.DataFrame:
        """The EMF documents of the window as a DataFrame (one row per value)."""
        return analysis.metrics_frame(self.read(Selection(self.window, (Clause(emf=True),))))

    # --- quarantine and DLQ ------------------------------------------------------------------------
    def quarantine_docs(
        self,
        *,
        keys: Iterable[str] = (),
        ranges: Sequence[tuple[datetime, datetime]] = (),
        whole_window: bool = True,
    ) -> list[QuarantineDoc] | None:
        """Quarantine documents in the window (or those named / written in ``ranges``); None if not read."""
        if self.quarantine is None:
            return None
        self._quarantine_read = True
        with self.progress.step(f"reading quarantine {self.quarantine.description}", unit="documents"):
            return self.quarantine.read(
                window=self.window if whole_window else None, keys=keys, ranges=ranges
            )

    def quarantine_summary(self) -> analysis.QuarantineSummary:
        """Reasons, fields and masked examples of the quarantine documents in the window."""
        docs = self.quarantine_docs()
        if docs is None:
            raise SourceError("quarantine: give --bucket NAME or --quarantine-dir PATH")
        return analysis.quarantine_summary(docs)

    def dlq_messages(self) -> list[DLQMessage] | None:
        """The DLQ's messages (peeked once per session); None when no DLQ was given."""
        if self.dlq is None:
            return None
        if self._dlq_messages is None:
            with self.progress.step(f"peeking {self.dlq.description}", unit="messages"):
                self._dlq_messages = self.dlq.read()
        return self._dlq_messages

    def failure_lines_for(self, message_ids: Sequence[str]) -> list[dict[str, Any]] | None:
        """Warning/error lines naming these SQS message ids (None: no logs to look in).

        CloudWatch is asked one id at a time (a quoted-term pattern each), at most
        ``max_lookups`` of them; the rest are noted as not looked up.
        """
        if not self.logs:
            return None
        ids = list(dict.fromkeys(message_ids))
        if not self.local and len(ids) > self.max_lookups:
            self.notes.append(
                f"{len(ids) - self.max_lookups} DLQ message(s) not looked up in the logs (at most "
                f"{self.max_lookups} ids are asked of CloudWatch one by one)"
            )
            ids = ids[: self.max_lookups]
        if not ids:
            return []
        sel = Selection(
            self.window, (Clause(field=LOG_FIELDS.message_id, values=frozenset(ids), min_level=30),)
        )
        return list(self.read(sel))

    def dlq_summary(self) -> analysis.DLQSummary:
        """The DLQ messages, each with its last logged failure (when logs were given)."""
        msgs = self.dlq_messages()
        if msgs is None:
            raise SourceError("dlq: give --dlq-url URL or --dlq-file PATH")
        lines = self.failure_lines_for([m.message_id for m in msgs])
        return analysis.dlq_summary(msgs, lines)

    # --- alarms ---------------------------------------------------------------------------------------
    def _pipelines_of_groups(self) -> set[str] | None:
        groups = [g for s in self.logs if isinstance(s, CloudWatchLogSource) for g in s.groups]
        found = {
            a.pipeline
            for a in self.alarms
            for g in groups
            if g.rstrip("/").split("/")[-1].endswith(a.service)
        }
        return found or None

    def relevant_alarms(self, seen: set[str] | None = None) -> list[AlarmSpec]:
        """The alarm specs of the pipelines whose data was read (or those asked for with ``pipelines``)."""
        if self.pipelines:
            return [a for a in self.alarms if a.pipeline in self.pipelines]
        wanted = seen if seen else None
        if wanted is None and not self.local:
            wanted = self._pipelines_of_groups()
        if wanted is None:
            return list(self.alarms)
        return [a for a in self.alarms if a.pipeline in wanted]

    def _require_alarms(self) -> None:
        if not self.alarms:
            raise SourceError("no alarm specs loaded: give --config FILE (observe.toml) or --alarms-dir DIR")

    def _replay(self, specs: Sequence[AlarmSpec]) -> Replay:
        replay = Replay(specs, self.window)
        for doc in self.read(Selection(self.window, (Clause(emf=True),))):
            replay.add(doc)
        self._pipelines_seen |= replay.pipelines
        return replay

    def _cloudwatch_evaluations(
        self, specs: Sequence[AlarmSpec], *, history_for: Iterable[str] = ()
    ) -> list[Evaluation]:
        assert self.metrics is not None
        window = self.window
        if window.start is None:
            raise SourceError("CloudWatch metrics need a window start: pass --since or --start")
        evs = self.metrics.evaluate(specs, window)
        if self.alarm_states_source is not None:
            self.alarm_states_source.attach(evs, window, history_for=history_for)
        return evs

    def alarm_states(self) -> list[Evaluation]:
        """Every relevant alarm over the window, firing first (see :meth:`relevant_alarms`).

        Local sources: the specs replayed for every environment in the EMF documents. CloudWatch:
        the deployed alarms the specs stand for (their datapoints and states from CloudWatch), or,
        when none is deployed, the specs for ``environment`` evaluated from their metrics.
        """
        if self._states is not None:
            return self._states
        self._require_alarms()
        if self.metrics is not None:
            specs = self.relevant_alarms()
            resolved = (
                self.alarm_states_source.deployed(specs, self.resource_prefix)
                if self.alarm_states_source
                else []
            )
            if not resolved and self.environment:
                resolved = [
                    (
                        s.for_environment(self.environment) if "${environment}" in s.name else s
                    ).with_resource_prefix(self.resource_prefix or "")
                    for s in specs
                    if "${environment}" in s.name or fixed_environment(s) == self.environment
                ]
            if not resolved:
                self.notes.append(
                    "no alarm in CloudWatch matches the specs: pass --environment ENV to evaluate the specs "
                    "from their metrics"
                )
            evs = self._cloudwatch_evaluations(resolved) if resolved else []
        elif self._overview is not None:
            evs = self._overview.evaluations
        else:
            replay = self._replay(self.alarms)
            keep = {a.name for a in self.relevant_alarms(replay.pipelines)}
            evs = [e for e in replay.evaluations() if _template_name(e.alarm) in keep]
        self._states = sorted(evs, key=_firing_first)
        return self._states

    def evaluate(self, spec: AlarmSpec, *, history: bool = True) -> Evaluation:
        """One resolved alarm over the window: CloudWatch's datapoints and state, or a replay."""
        if self.metrics is not None:
            return self._cloudwatch_evaluations([spec], history_for=[spec.name] if history else [])[0]
        if self._overview is not None:  # the report's one pass already replayed it, values and all
            known = next((e for e in self._overview.evaluations if e.alarm.name == spec.name), None)
            if known is not None:
                return known
        return self._replay([spec]).evaluation(spec)

    def from_alarm(self, alarm_name: str, window: Window | None = None) -> AlarmTriage:
        """From ``alarm_name`` to the failing records and the cause (see :mod:`diagnostics.triage`)."""
        from diagnostics.triage import from_alarm

        self._require_alarms()
        spec = find_alarm(self.alarms, alarm_name, self.resource_prefix)
        if window is not None and window != self.window:
            return self.with_window(window).from_alarm(alarm_name)
        return from_alarm(self, spec)

    def with_window(self, window: Window) -> Diagnostics:
        """The same sources over another window (nothing read so far is reused)."""
        other = copy.copy(self)
        other.window = window
        other.notes = []
        other._overview = other._states = other._dlq_messages = other._lambda = None
        return other

    # --- the whole window, for the report ----------------------------------------------------------
    def overview(self) -> Overview:
        """Alarms, failures, throttles, anomalies and activity over the window.

        Local sources: one pass over the documents feeding every aggregator. CloudWatch: each
        question on its own (metrics from GetMetricData, failures from a Logs Insights stats query).
        """
        if self._overview is not None:
            return self._overview
        if self.local:
            collector = _OverviewCollector(Replay(self.alarms, self.window))
            sel = Selection(
                self.window,
                (
                    Clause(emf=True),
                    Clause(min_level=40),
                    Clause(present=LOG_FIELDS.throttle_source),
                    Clause(logger_prefix=analysis.CHECKS_LOGGER, min_level=30),
                ),
            )
            with self.progress.step("reading the window"):
                for doc in self.read(sel):
                    collector.add(doc)
            self._pipelines_seen |= collector.replay.pipelines
            ov = collector.result()
            keep = {a.name for a in self.relevant_alarms(collector.replay.pipelines)}
            ov.evaluations = sorted(
                [e for e in ov.evaluations if _template_name(e.alarm) in keep],
                key=_firing_first,
            )
        else:
            from diagnostics.cloudwatch import cloudwatch_overview

            ov = cloudwatch_overview(self)
        self._overview = ov
        self._states = ov.evaluations
        return ov

    # --- what was read ------------------------------------------------------------------------------
    def sources_read(self) -> list[SourceInfo]:
        """Each kind of source: given or not, what was read, notes (caps, skipped lines)."""
        out: list[SourceInfo] = []
        st = self.stats()
        if self.logs:
            detail = (
                f"{st.lines_fetched:,} lines fetched ({_size(st.bytes_fetched)}) in "
                f"{st.requests:,} request(s), {st.lines_parsed:,} parsed, {st.lines_matched:,} matched"
            )
            notes = list(st.notes)
            sk = st.skipped
            if sk.counts.get("platform"):
                notes.append(
                    f"{sk.counts['platform']:,} Lambda platform line(s) (START/END/REPORT ...) passed over "
                    "where not needed"
                )
            if sk.malformed:
                notes.append(f"{sk.malformed:,} line(s) skipped as malformed (listed below)")
            out.append(SourceInfo("logs", True, "; ".join(s.description for s in self.logs), detail, notes))
        else:
            out.append(SourceInfo("logs", False, NOT_READ["logs"]))
        if self.metrics is not None:
            out.append(
                SourceInfo(
                    "metrics",
                    True,
                    f"CloudWatch metrics, namespace {self.metrics.namespace}",
                    f"{self.metrics.datapoints:,} datapoint(s) in "
                    f"{self.metrics.requests} GetMetricData call(s)",
                    list(self.metrics.notes),
                )
            )
        if self.alarm_states_source is not None:
            out.append(
                SourceInfo(
                    "alarm states",
                    True,
                    "CloudWatch DescribeAlarms / DescribeAlarmHistory",
                    f"{self.alarm_states_source.requests} call(s)",
                    list(self.alarm_states_source.notes),
                )
            )
        if self.quarantine is not None:
            detail = (
                f"{self.quarantine.fetched:,} document(s) read" if self._quarantine_read else "not needed"
            )
            out.append(SourceInfo("quarantine", True, self.quarantine.description, detail))
        else:
            out.append(SourceInfo("quarantine", False, NOT_READ["quarantine"]))
        if self.dlq is not None:
            n = len(self._dlq_messages) if self._dlq_messages is not None else None
            out.append(
                SourceInfo(
                    "dlq", True, self.dlq.description, f"{n} message(s)" if n is not None else "not needed"
                )
            )
        else:
            out.append(SourceInfo("dlq", False, NOT_READ["dlq"]))
        if self.alarms:
            relevant = self.relevant_alarms(self._pipelines_seen or None)
            left = sorted({a.pipeline for a in self.alarms} - {a.pipeline for a in relevant})
            notes = (
                [f"alarms of pipeline(s) {', '.join(left)} left out: none of their data was read"]
                if left
                else []
            )
            out.append(
                SourceInfo(
                    "alarms",
                    True,
                    str(self.alarms_from),
                    f"{len(relevant)} of {len(self.alarms)} alarm spec(s)",
                    notes,
                )
            )
        else:
            out.append(SourceInfo("alarms", False, NOT_READ["alarms"]))
        if self.notes:
            out[0].notes += self.notes
        return out

    def skipped(self) -> list[Any]:
        """The malformed lines skipped, with their place (the first ``SKIP_EXAMPLES`` of them)."""
        return self.stats().skipped.examples

    def describe(self) -> str:
        """What was read and what was not, one line per kind of source."""
        lines = []
        for s in self.sources_read():
            if s.given:
                lines.append(f"{s.role}: {s.description}" + (f" ({s.detail})" if s.detail else ""))
            else:
                lines.append(s.description)
            lines += [f"  note: {n}" for n in s.notes]
        return "\n".join(lines)


def _firing_first(e: Evaluation) -> tuple[bool, bool, bool, str]:
    return (not e.fired, e.state != "ALARM", e.state == "INSUFFICIENT_DATA", e.alarm.name)


def _template_name(spec: AlarmSpec) -> str:
    """The name of the template a resolved alarm came from."""
    return spec.template or spec.name


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"


def invocation_window(
    t: datetime, duration_ms: float | None, slack: timedelta = timedelta(seconds=5)
) -> Window:
    """The time span of an invocation whose EMF document was written at ``t`` (its end).

    With its duration known the span is ``[t - duration - slack, t + slack)``; without, the
    longest a Lambda function can run (15 minutes) before ``t``.
    """
    before = timedelta(milliseconds=duration_ms) if duration_ms is not None else timedelta(minutes=15)
    return Window(t - before - slack, t + slack)


def now() -> datetime:
    return datetime.now(UTC)
