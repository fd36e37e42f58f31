"""``observe``: the command line of observe-pipelines, for a team's repository and its CI.

    observe init [--pipeline orders] [--service orders-api]  starter observe.toml + sample handler
    observe check [PATH ...]              the configuration is valid, every emitted metric declared
    observe metrics [--out docs/metrics.md]          the metric reference, as markdown
    observe dashboards build --out DIR               dashboard and alarm JSON for Terraform
    observe dashboards preview --pipeline P [--out DIR]   the dashboard as a picture, from real data
    observe diag alarm NAME --logs PATH ...          triage (see `observe diag --help`)

Every command takes ``--config FILE``; without it the configuration is ``OBSERVE_CONFIG``, else the
nearest ``observe.toml`` from the working directory up to the project root.

Exit codes: 0 fine; 1 the check found problems (each printed as ``file:line: ...``); 2 bad usage
or a configuration that cannot be read.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from observe.project import FILENAME, ConfigFileError

if TYPE_CHECKING:
    from observe.project import ProjectConfig

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def _config_option() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--config",
        type=Path,
        default=argparse.SUPPRESS,
        metavar="FILE",
        help=f"the {FILENAME} (default: OBSERVE_CONFIG, else the nearest {FILENAME} from here)",
    )
    return parent


def build_parser() -> argparse.ArgumentParser:
    """The ``observe`` argument parser (``diag`` hands its arguments to the triage CLI untouched)."""
    common = _config_option()
    parser = argparse.ArgumentParser(
        prog="observe",
        description="Observability for Lambda data pipelines: configuration, checks, dashboards, triage.",
        epilog="Exit codes: 0 fine, 1 problems found, 2 bad usage or unreadable configuration.",
        parents=[common],
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    i = sub.add_parser("init", parents=[common], help=f"write a starter {FILENAME} and a sample handler")
    i.add_argument("--dir", type=Path, default=Path("."), help="where to write them (default: here)")
    i.add_argument("--pipeline", help="pipeline name (default: from the directory name)")
    i.add_argument("--service", help="SERVICE_NAME of the sample function (default: <pipeline>-handler)")
    i.add_argument("--namespace", help="CloudWatch namespace (default: from the pipeline name)")
    i.add_argument("--handler", default="handler.py", help="file name of the sample handler")

    c = sub.add_parser(
        "check", parents=[common], help="validate the configuration and every metric the code emits"
    )
    c.add_argument("paths", nargs="*", type=Path, help=f"what to scan (default: the {FILENAME}'s directory)")
    c.add_argument("--notes", action="store_true", help="also list calls that could not be checked")

    m = sub.add_parser("metrics", parents=[common], help="the metric reference as markdown")
    m.add_argument("--out", type=Path, help="write it to this file (default: print it)")

    d = sub.add_parser("dashboards", parents=[common], help="dashboards and alarms of the pipelines")
    dsub = d.add_subparsers(dest="dashboards_command", required=True, metavar="SUBCOMMAND")
    b = dsub.add_parser("build", parents=[common], help="write <pipeline>.<env>.{dashboard,alarms}.json")
    b.add_argument("--out", type=Path, required=True, metavar="DIR")
    pv = dsub.add_parser(
        "preview", parents=[common], help="draw a pipeline's dashboard from GetMetricData (PNG + HTML)"
    )
    pv.add_argument("--pipeline", required=True)
    pv.add_argument("--out", type=Path, default=Path("preview"), metavar="DIR")
    pv.add_argument("--environment", default=None, help="dev, stg or prd (default: ENVIRONMENT, else dev)")
    pv.add_argument("--since", default="3h", help="how far back: 30m, 3h, 1d (default 3h)")
    pv.add_argument("--region", default=None, help="AWS region (default: the standard AWS settings)")
    pv.add_argument(
        "--resource-prefix",
        default="",
        metavar="PREFIX",
        help="what comes before each function's and queue's name where deployed, e.g. myproj-dev- "
        "(Terraform's <project>-<env>-; default none, as on the emulator)",
    )
    pv.add_argument(
        "--emf",
        type=Path,
        metavar="FILE",
        help="first put the EMF documents of these log lines into the local emulator (AWS_ENDPOINT_URL)",
    )
    pv.add_argument(
        "--aws-image",
        action="store_true",
        help="also fetch CloudWatch's own rendering of each widget (GetMetricWidgetImage; real AWS only)",
    )

    g = sub.add_parser("diag", parents=[common], add_help=False, help="triage: alarm, trace, failures ...")
    g.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def _load(args: argparse.Namespace) -> ProjectConfig:
    from dashboards.config import load

    return load(getattr(args, "config", None))


def _print_problems(exc: ConfigFileError) -> None:
    for line in exc.problems:
        print(line, file=sys.stderr)


def cmd_init(args: argparse.Namespace) -> int:
    from observe_cli import templates

    directory: Path = args.dir
    base = re.sub(r"[^a-z0-9]+", "-", (args.pipeline or directory.resolve().name).lower()).strip("-")
    pipeline = base if re.match(r"^[a-z][a-z0-9_-]*$", base) else "pipeline"
    service = args.service or f"{pipeline}-handler"
    namespace = args.namespace or "".join(p.capitalize() for p in re.split(r"[-_]", pipeline)) or "Pipelines"
    files = {
        directory / FILENAME: templates.CONFIG.format(
            namespace=namespace, pipeline=pipeline, service=service, title=pipeline.replace("-", " ").title()
        ),
        directory / args.handler: templates.HANDLER.format(pipeline=pipeline, service=service),
    }
    existing = [p for p in files if p.exists()]
    if existing:
        for p in existing:
            print(
                f"observe init: {p} exists; not overwriting anything (move it away or edit it)",
                file=sys.stderr,
            )
        return EXIT_USAGE
    directory.mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    print(
        f"next: edit {FILENAME}, then `observe check` (in CI too) and "
        "`observe dashboards build --out terraform/generated` (docs/adopting.md)"
    )
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from observe_cli.scan import scan

    config = _load(args)
    root = Path(config.files[0]).resolve().parent
    result = scan(args.paths or [root], config)
    assert result.problems is not None and result.notes is not None
    for finding in result.problems:
        print(finding)
    if args.notes:
        for finding in result.notes:
            print(f"note: {finding}")
    alarms = sum(len(p.alarms) for p in config.pipelines.values())
    status = "FAILED" if result.problems else "ok"
    unchecked = f"{len(result.notes)} not checkable"
    if result.notes and not args.notes:
        unchecked += " (--notes lists them)"
    print(
        f"observe check: {status}: {', '.join(config.files)} valid ({len(config.metrics)} metrics, "
        f"{len(config.pipelines)} pipelines, {alarms} alarms); {result.calls} metric calls in "
        f"{result.files} files, {len(result.problems)} problem(s), {unchecked}",
        file=sys.stderr if result.problems else sys.stdout,
    )
    return EXIT_PROBLEMS if result.problems else EXIT_OK


def cmd_metrics(args: argparse.Namespace) -> int:
    from observe_cli.docs import metrics_markdown

    config = _load(args)
    text = metrics_markdown(config)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        print(text, end="")
    return EXIT_OK


def cmd_dashboards(args: argparse.Namespace) -> int:
    config = _load(args)
    if args.dashboards_command == "build":
        from dashboards.build import build

        for path in build(args.out, config):
            print(path)
        return EXIT_OK
    from observe_cli.preview import PreviewError, preview

    if args.pipeline not in config.pipelines:
        print(
            f"observe dashboards preview: no pipeline {args.pipeline!r} in {config.files[0]} "
            f"(pipelines: {', '.join(config.pipelines) or 'none'})",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        result = preview(
            config,
            args.pipeline,
            args.out,
            environment=args.environment or os.environ.get("ENVIRONMENT") or "dev",
            since=args.since,
            region=args.region,
            aws_image=args.aws_image,
            emf=args.emf,
            resource_prefix=args.resource_prefix,
        )
    except PreviewError as exc:
        print(f"observe dashboards preview: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for path in result:
        print(path)
    return EXIT_OK


def diag(argv: Sequence[str], config_path: Path | None = None) -> int:
    """``observe diag ...``: the triage CLI, reading the alarms of the project's configuration.

    The triage CLI builds the alarm specs from the configuration itself (``--config``, else found
    as every command finds it), for every environment, so triage always sees the thresholds that
    were deployed from the same file; ``--alarms-dir`` reads built files instead.
    """
    from diagnostics.cli import main as diag_main

    args = list(argv)
    if config_path is not None and args and args[0] not in ("-h", "--help"):
        args = [args[0], "--config", str(config_path), *args[1:]]
    return diag_main(args)


def diag_alias() -> None:
    """``observe-diag``: the same as ``observe diag``."""
    sys.exit(diag(sys.argv[1:]))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``observe``; returns the exit code (and exits with it as a script)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args, rest = parser.parse_known_args(args_list)
    if args.command == "diag":
        return diag([*args.args, *rest], getattr(args, "config", None))
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        handler = {
            "init": cmd_init,
            "check": cmd_check,
            "metrics": cmd_metrics,
            "dashboards": cmd_dashboards,
        }[args.command]
        return handler(args)
    except ConfigFileError as exc:
        _print_problems(exc)
        return EXIT_PROBLEMS if args.command == "check" else EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK


def _script() -> None:
    sys.exit(main())


if __name__ == "__main__":
    _script()
