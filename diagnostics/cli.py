"""``observe diag`` (alias ``observe-diag``): triage from the terminal.

    observe diag alarm ingest-worker-RecordsQuarantined-dev --log-group /aws/lambda/ingest-worker \\
        --since 1h --bucket ingest-backup-dev --dlq-url https://sqs.../ingest-tasks-dlq
    observe diag trace run-20261126-0400 --logs out/demo/ingest.jsonl
    observe diag failures | lambda | throttles | quarantine | dlq | report --out report.html

Exit codes: 0 done (something to show); 1 nothing found (the alarm did not breach in the window,
no line carries the id); 2 bad usage or a source that cannot be read (the message names it).

Progress goes to stderr for anything that takes over a second (``--quiet`` turns it off);
stdout holds the answer only, so ``--json`` output can be piped; with ``--json`` what was and was
not read goes to stderr (after the tables otherwise).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from diagnostics import text
from diagnostics.analysis import shown
from diagnostics.model import DiagnosticsError, Window, iso

EXIT_OK, EXIT_NOT_FOUND, EXIT_ERROR = 0, 1, 2
DEFAULT_SINCE_FOR_LOG_GROUPS = "1h"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be more than 0")
    return value


def _sources() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("where the evidence is")
    g.add_argument(
        "--logs", action="append", metavar="PATH", help="JSONL file or directory of log lines (repeatable)"
    )
    g.add_argument(
        "--log-group", dest="log_groups", nargs="+", action="extend", metavar="NAME",
        help="CloudWatch Logs group(s), e.g. /aws/lambda/ingest-worker",
    )  # fmt: skip
    g.add_argument(
        "--since", metavar="DURATION", help="window ending now (or at --end): 30m, 1h, 2d (log groups: 1h)"
    )
    g.add_argument("--start", metavar="TIME", help="window start, ISO-8601 (UTC unless an offset is given)")
    g.add_argument("--end", metavar="TIME", help="window end, ISO-8601")
    g.add_argument("--bucket", metavar="NAME", help="backup bucket holding quarantine/ objects")
    g.add_argument(
        "--quarantine-dir", metavar="PATH", help="local mirror of the bucket (holding quarantine/)"
    )
    g.add_argument("--dlq-url", metavar="URL", help="dead-letter queue URL (peeked, never deleted)")
    g.add_argument("--dlq-file", metavar="PATH", help="JSONL dump of DLQ messages")
    g.add_argument(
        "--config",
        metavar="FILE",
        help="the project's observe.toml, whose alarms are triaged (default: OBSERVE_CONFIG, else the "
        "nearest observe.toml from here)",
    )
    g.add_argument(
        "--alarms-dir",
        metavar="DIR",
        help="instead of --config: a directory of built <pipeline>.<env>.alarms.json files",
    )
    g.add_argument("--region", metavar="REGION", help="AWS region (default: the standard AWS settings)")
    c = p.add_argument_group("how CloudWatch is asked")
    c.add_argument(
        "--engine", choices=["auto", "filter", "insights"], default="auto",
        help="log groups: filter_log_events with a pattern per id, or Logs Insights "
        "(auto: Insights for windows over a day)",
    )  # fmt: skip
    c.add_argument(
        "--query-timeout", type=_positive_float, default=120.0, metavar="SECONDS",
        help="give up on a Logs Insights query after this long (default 120)",
    )  # fmt: skip
    c.add_argument(
        "--namespace",
        metavar="NS",
        help="metrics namespace for GetMetricData (default observe's, DataPipelines)",
    )
    c.add_argument(
        "--replay", action="store_true",
        help="log groups: replay the alarms from the EMF documents in the logs instead of CloudWatch metrics",
    )  # fmt: skip
    c.add_argument(
        "--environment",
        metavar="ENV",
        help="with log groups: the environment whose alarms to list (dev, prd ...)",
    )
    c.add_argument(
        "--resource-prefix",
        metavar="PREFIX",
        help="what comes before a function's or queue's deployed name in the AWS/Lambda and AWS/SQS "
        "alarms (default as Terraform names them: <project>-<env>- for an alarm named "
        "<project>-...-<env>, else none)",
    )
    c.add_argument(
        "--pipeline", dest="pipelines", action="append", metavar="NAME",
        help="only the alarms of this pipeline (repeatable; default: the pipelines whose data was read)",
    )  # fmt: skip
    c.add_argument(
        "--max-invocations", type=_positive_int, default=50, metavar="N",
        help="alarm: read the lines of at most N invocations behind the breach, largest first (default 50)",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="machine-readable JSON instead of tables")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return p


def build_parser() -> argparse.ArgumentParser:
    parent = _sources()
    parser = argparse.ArgumentParser(
        prog="observe-diag",
        description="From an alarm to the failing record and its cause: logs, EMF metrics, quarantine, DLQ.",
        epilog="Exit codes: 0 found, 1 nothing found, 2 bad usage or unreadable source.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    a = sub.add_parser(
        "alarm", parents=[parent], help="an alarm -> breaching datapoints -> invocations -> records"
    )
    a.add_argument(
        "name", nargs="?", help="alarm name, e.g. ingest-worker-RecordsQuarantined-dev; none: list all"
    )
    t = sub.add_parser("trace", parents=[parent], help="every line of one correlation id, in time order")
    t.add_argument("correlation_id")
    t.add_argument(
        "--max-lines", type=_positive_int, default=300, help="lines to print at most (default 300)"
    )
    t.add_argument(
        "--level",
        choices=["debug", "info", "warning", "error"],
        default="debug",
        help="leave quieter lines out",
    )
    sub.add_parser(
        "failures",
        parents=[parent],
        help="invocations Lambda ended (timeout, out of memory, init, exit), then failed invocations "
        "and records, grouped",
    )
    sub.add_parser(
        "lambda",
        parents=[parent],
        help="the platform's REPORT lines: cold starts, init and billed duration, memory right-sizing",
    )
    sub.add_parser("throttles", parents=[parent], help="throttles met: source, retry-after, when")
    sub.add_parser(
        "quarantine", parents=[parent], help="quarantined records: reasons, fields, examples (masked)"
    )
    sub.add_parser("dlq", parents=[parent], help="messages on the DLQ and their last errors")
    sub.add_parser("anomalies", parents=[parent], help="input anomalies and failed expectations")
    r = sub.add_parser("report", parents=[parent], help="one self-contained HTML report")
    r.add_argument(
        "--out", default="report.html", metavar="FILE", help="where to write it (default report.html)"
    )
    r.add_argument("--title", default=None)
    return parser


def _window(args: argparse.Namespace) -> Window:
    since = args.since
    if since is None and args.start is None and args.log_groups:
        since = DEFAULT_SINCE_FOR_LOG_GROUPS
    try:
        return Window.build(since=since, start=args.start, end=args.end)
    except ValueError as exc:
        raise DiagnosticsError(f"--since/--start/--end: {exc}") from None


def _load(args: argparse.Namespace, *, need_logs: bool = True) -> Any:
    from diagnostics.core import Diagnostics
    from diagnostics.progress import Progress

    if args.config and args.alarms_dir:
        raise DiagnosticsError("give --config or --alarms-dir, not both")
    if need_logs and not (args.logs or args.log_groups):
        raise DiagnosticsError(
            f"{args.command}: give --logs PATH or --log-group NAME (where the log lines are)"
        )
    return Diagnostics.load(
        logs=args.logs,
        log_groups=args.log_groups,
        window=_window(args),
        bucket=args.bucket,
        quarantine_dir=args.quarantine_dir,
        dlq_url=args.dlq_url,
        dlq_file=args.dlq_file,
        alarms_dir=args.alarms_dir,
        config=args.config,
        region=args.region,
        allow_no_logs=not need_logs,
        engine=args.engine,
        query_timeout=args.query_timeout,
        namespace=args.namespace,
        replay=args.replay,
        pipelines=args.pipelines,
        environment=args.environment,
        max_invocations=args.max_invocations,
        progress=Progress(enabled=not args.quiet),
        resource_prefix=args.resource_prefix,
    )


def _jsonable(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.name != "lines"}
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, datetime):
        return iso(obj)
    return obj


def _print_json(obj: Any, diag: Any = None, command: str = "") -> None:
    """``obj`` as JSON on stdout (unchanged, for pipes); what was and was not read on stderr."""
    print(json.dumps(_jsonable(obj), indent=2, default=str))
    if diag is not None:
        print(text.render_sources(diag, ROLES.get(command)), file=sys.stderr)


def triage_json(t: Any) -> dict[str, Any]:
    """The essentials of an :class:`~diagnostics.triage.AlarmTriage` as plain JSON."""
    q = t.quarantine_summary
    return {
        "alarm": t.alarm.name,
        "metric": t.alarm.metric,
        "service": t.alarm.service,
        "rule": t.alarm.rule,
        "state": t.evaluation.state,
        "breaching": [{"start": iso(d.start), "value": d.value, "in_alarm": d.in_alarm} for d in t.breaching],
        "invocations": [
            {
                "request_id": b.request_id,
                "time": iso(b.time),
                "function_name": b.function_name,
                "value": b.value,
                "outcome": b.outcome,
                "correlation_id": b.correlation_id,
            }
            for b in t.invocations
        ],
        "correlation_ids": t.correlation_ids,
        "record_keys": t.record_keys,
        "records_quarantined": q.records,
        "reasons": dict(q.reasons.most_common()),
        "fields": dict(q.fields.most_common()),
        "examples": q.examples,
        "dlq": [{**_jsonable(m.row), "matched_by": m.matched_by} for m in t.dlq],
        "throttles": _jsonable(t.throttles),
        "failures": _jsonable(t.failures),
        "causes": t.causes,
    }


def lambda_json(view: Any) -> dict[str, Any]:
    """The telemetry view as plain JSON (rates and the recommendation's difference included)."""
    rows = []
    for t in view.telemetry:
        row = _jsonable(t)
        row["cold_start_rate"] = t.cold_start_rate
        if t.recommendation is not None:
            row["recommendation"]["difference_gb_seconds"] = t.recommendation.difference_gb_seconds
        rows.append(row)
    return {
        "reports": view.reports,
        "unreported": view.unreported,
        "failures": view.counts,
        "functions": rows,
    }


#: The kinds of source each command reads (the footer says what was and was not read of these).
ROLES = {
    "alarm": ("logs", "metrics", "alarm states", "alarms", "quarantine", "dlq"),
    "alarms": ("logs", "metrics", "alarm states", "alarms"),
    "trace": ("logs",),
    "failures": ("logs",),
    "lambda": ("logs",),
    "throttles": ("logs",),
    "anomalies": ("logs",),
    "quarantine": ("quarantine",),
    "dlq": ("dlq", "logs"),
    "report": ("logs", "metrics", "alarm states", "alarms", "quarantine", "dlq"),
}


def _footer(diag: Any, command: str) -> None:
    """What was read and not read, after the answer."""
    print(text.render_sources(diag, ROLES.get(command)))


def _text(diag: Any, body: str, command: str) -> None:
    print(body)
    _footer(diag, command)


def run(args: argparse.Namespace) -> int:
    """Execute one parsed command; returns the exit code."""
    cmd = args.command
    if cmd == "quarantine" and not (args.bucket or args.quarantine_dir):
        raise DiagnosticsError("quarantine: give --bucket NAME or --quarantine-dir PATH")
    if cmd == "dlq" and not (args.dlq_url or args.dlq_file):
        raise DiagnosticsError("dlq: give --dlq-url URL or --dlq-file PATH")
    diag = _load(args, need_logs=cmd not in ("quarantine", "dlq"))
    if cmd == "alarm":
        if not args.name:
            states = diag.alarm_states()
            if args.json:
                _print_json(
                    [
                        {"alarm": e.alarm.name, "state": e.state, "breaching": len(e.breaching)}
                        for e in states
                    ],
                    diag,
                    "alarms",
                )
            else:
                print(text.render_alarm_states(states))
                _footer(diag, "alarms")
            return EXIT_OK
        t = diag.from_alarm(args.name)
        if args.json:
            _print_json(triage_json(t), diag, "alarm")
        else:
            print(text.render_triage(t, broken=text.broken_emf(diag)))
            _footer(diag, "alarm")
        return EXIT_OK if t.breaching else EXIT_NOT_FOUND
    if cmd == "trace":
        tr = diag.trace(args.correlation_id)
        if args.json:
            _print_json(
                {"correlation_id": tr.correlation_id, "lines": [shown(x) for x in tr.lines]}, diag, "trace"
            )
        elif tr.found:
            print(text.render_trace(tr, max_lines=args.max_lines, min_level=args.level))
            _footer(diag, "trace")
        else:
            print(f"no line carries correlation id {args.correlation_id!r}", file=sys.stderr)
            print(text.render_sources(diag, ROLES["trace"]), file=sys.stderr)
        return EXIT_OK if tr.found else EXIT_NOT_FOUND
    if cmd == "failures":
        view = diag.lambda_view()
        groups = diag.failures()
        if args.json:
            _print_json({"invocations": view.failures, "counts": view.counts, "groups": groups}, diag, cmd)
        else:
            body = text.render_invocation_failures(view) + "\n" + text.render_failures(groups)
            _text(diag, body, "failures")
        return EXIT_OK
    if cmd == "lambda":
        view = diag.lambda_view()
        if args.json:
            _print_json(lambda_json(view), diag, cmd)
        else:
            _text(diag, text.render_lambda(view), cmd)
        return EXIT_OK if view.reports else EXIT_NOT_FOUND
    if cmd == "throttles":
        events = diag.throttles()
        _print_json(events, diag, cmd) if args.json else _text(
            diag, text.render_throttles(events), "throttles"
        )
        return EXIT_OK
    if cmd == "quarantine":
        q = diag.quarantine_summary()
        _print_json(q, diag, cmd) if args.json else _text(diag, text.render_quarantine(q), "quarantine")
        return EXIT_OK
    if cmd == "dlq":
        d = diag.dlq_summary()
        _print_json(d, diag, cmd) if args.json else _text(diag, text.render_dlq(d), "dlq")
        return EXIT_OK
    if cmd == "anomalies":
        a = diag.anomalies()
        _print_json(a, diag, cmd) if args.json else _text(diag, text.render_anomalies(a), "anomalies")
        return EXIT_OK
    if cmd == "report":
        from diagnostics.report import write_report

        try:
            path = write_report(diag, Path(args.out), title=args.title)
        except OSError as exc:
            raise DiagnosticsError(f"--out {args.out}: cannot write it ({exc.strerror})") from None
        print(f"report written to {path} ({path.stat().st_size // 1024} KiB)")
        _footer(diag, "report")
        return EXIT_OK
    raise DiagnosticsError(f"unknown command {cmd!r}")  # argparse stops this earlier


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``observe-diag``; returns (and, as a script, exits with) the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return run(args)
    except DiagnosticsError as exc:
        print(f"observe-diag: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:  # `observe-diag ... | head`
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
