"""A team adopts observe-pipelines from the wheel: examples/orders, outside the packages, end to end.

The wheel is built from this repository and installed, with the example project and only the
extras it asks for, into a clean virtualenv (uv, with its cache). Everything then runs from that
virtualenv, in a copy of the example, with a minimal environment (no PYTHONPATH, nothing of this
repository on the path): the team's own tests, ``observe check`` (passing, then failing on an
undeclared metric with file:line), ``observe dashboards build`` (checked by Terraform: the
alarm_specs contract, and ``terraform validate`` of the team's root against the modules by
source), the function packaged as Lambda gets it (``pip install --target`` + observe.toml) run
under ``awslambdaric`` on the sample event, ``observe dashboards preview`` of what it emitted on
the local CloudWatch (moto), and ``observe diag`` triaging the alarm it fired.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "orders"
UV = ROOT / ".venv" / "bin" / "uv"
ALARM = "orders-shipper-OrdersRejected-dev"


@dataclass
class Adoption:
    """The built and installed team project, and how long each step took."""

    work: Path
    project: Path
    venv: Path
    wheel: Path
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def env(self, **extra: str) -> dict[str, str]:
        """A minimal environment: the virtualenv first on PATH, nothing of this repository."""
        env = {
            "PATH": f"{self.bin}:/usr/local/bin:/usr/bin:/bin",
            "HOME": os.environ.get("HOME", str(self.work)),
            "LANG": "C.UTF-8",
            "ENVIRONMENT": "dev",
        }
        env.update(extra)
        return env

    def run(
        self,
        args: Sequence[str | Path],
        *,
        check: bool = True,
        env: Mapping[str, str] | None = None,
        step: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """``args`` in the project directory with :meth:`env`; ``step`` adds its time to the timings."""
        return _run(
            args, cwd=self.project, env=env or self.env(), check=check, timings=self.timings, step=step
        )


def _run(
    args: Sequence[str | Path],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    timings: dict[str, float] | None = None,
    step: str | None = None,
) -> subprocess.CompletedProcess[str]:
    t0 = time.perf_counter()
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=dict(env) if env is not None else None,
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    if timings is not None and step:
        timings[step] = timings.get(step, 0.0) + time.perf_counter() - t0
    if check and done.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, args))} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        )
    return done


@pytest.fixture(scope="module")
def adoption(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Adoption]:
    work = tmp_path_factory.mktemp("adoption")
    project = work / "orders"  # the example as a team has it: a repository of its own
    shutil.copytree(
        EXAMPLE,
        project,
        ignore=shutil.ignore_patterns(".venv", "build", "preview", "generated", ".terraform*"),
    )
    timings: dict[str, float] = {}
    uv_env = {**os.environ, "UV_NO_PROGRESS": "1"}
    _run([UV, "build", "--wheel", "--out-dir", work / "dist", ROOT], cwd=work, env=uv_env, timings=timings,
         step="build the wheel")  # fmt: skip
    (wheel,) = (work / "dist").glob("observe_pipelines-*.whl")
    venv = work / "venv"
    _run([UV, "venv", "-q", "--python", sys.executable, venv], cwd=work, env=uv_env, timings=timings,
         step="clean venv + install")  # fmt: skip
    install = [
        UV,
        "pip",
        "install",
        "-q",
        "--python",
        venv / "bin" / "python",
        f"{wheel}[cli]",
        f"{project}[dev]",
    ]
    _run(install, cwd=work, env=uv_env, timings=timings, step="clean venv + install")
    adoption = Adoption(work=work, project=project, venv=venv, wheel=wheel, timings=timings)
    yield adoption
    print("\nadoption test timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in adoption.timings.items()))


def test_the_installed_wheel_is_what_runs_not_this_repository(adoption: Adoption) -> None:
    probe = adoption.run(
        [adoption.bin / "python", "-c",
         "import json, observe, observe_cli, orders.handler; "
         "print(json.dumps([observe.__file__, observe_cli.__file__, orders.handler.__file__]))"],
    )  # fmt: skip
    paths = json.loads(probe.stdout)
    assert all(str(adoption.venv) in p for p in paths), paths
    assert not any(str(ROOT) in p for p in paths)
    for source in (adoption.project / "src").rglob("*.py"):  # the team's code imports observe only
        text = source.read_text(encoding="utf-8")
        assert not any(
            f"from {m}" in text or f"import {m}" in text for m in ("pipelines", "emulator", "tests")
        )


def test_the_teams_own_tests_pass_with_observe_testing(adoption: Adoption) -> None:
    done = adoption.run([adoption.bin / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                        step="the team's tests")  # fmt: skip
    assert "3 passed" in done.stdout, done.stdout


def test_observe_check_passes_then_fails_on_an_undeclared_metric(adoption: Adoption) -> None:
    ok = adoption.run([adoption.bin / "observe", "check"], step="observe check")
    assert "observe check: ok: observe.toml valid (2 metrics, 1 pipelines, 1 alarms)" in ok.stdout
    careless = adoption.project / "src" / "orders" / "returns.py"
    careless.write_text(
        "from observe import metric\n\n\ndef refund(order_id: str) -> None:\n"
        "    metric('OrdersRefunded', 1)\n",
        encoding="utf-8",
    )
    try:
        bad = adoption.run([adoption.bin / "observe", "check"], check=False, step="observe check")
    finally:
        careless.unlink()
    assert bad.returncode == 1
    assert "src/orders/returns.py:5: metric 'OrdersRefunded' is not declared" in bad.stdout
    assert "FAILED" in bad.stderr


@pytest.fixture(scope="module")
def generated(adoption: Adoption) -> Path:
    adoption.run([adoption.bin / "observe", "dashboards", "build", "--out", "terraform/generated"],
                 step="dashboards build")  # fmt: skip
    return adoption.project / "terraform" / "generated"


def test_dashboards_and_alarms_per_environment_for_terraform(generated: Path) -> None:
    names = sorted(p.name for p in generated.iterdir())
    assert names == sorted(
        [f"orders.{e}.{k}.json" for e in ("dev", "stg", "prd") for k in ("dashboard", "alarms")]
        + ["observe.json"]
    )
    (dev,) = json.loads((generated / "orders.dev.alarms.json").read_text())
    (prd,) = json.loads((generated / "orders.prd.alarms.json").read_text())
    assert dev["name"] == ALARM and dev["metric_name"] == "OrdersRejected" and dev["threshold"] == 1
    assert dev["namespace"] == "${namespace}" and dev["dimensions"]["service"] == "orders-shipper"
    assert (prd["severity"], prd["evaluation_periods"], prd["datapoints_to_alarm"]) == ("critical", 3, 2)
    manifest = json.loads((generated / "observe.json").read_text())
    assert manifest["namespace"] == "Orders"
    assert manifest["environments"]["prd"]["notification_emails"]["critical"] == ["orders-oncall@example.com"]
    dashboard = (generated / "orders.prd.dashboard.json").read_text()
    assert "OrdersShipped" in dashboard and "critical: OrdersRejected >= 1" in dashboard


def test_terraform_takes_the_generated_json_and_the_modules_by_source(
    adoption: Adoption, generated: Path
) -> None:
    from tests.infra import tf
    from tests.support.release import from_local, pinned_tag, tagged_repository

    root = adoption.project / "terraform"
    work = adoption.work / "tf"
    t0 = time.perf_counter()
    # the modules by their pinned git source, fetched from a local repository tagged like the release
    main = (root / "main.tf").read_text(encoding="utf-8")
    upstream = tagged_repository(adoption.work / "upstream", pinned_tag(main))
    (root / "main.tf").write_text(from_local(main, upstream), encoding="utf-8")
    init = tf.init(root, work=work)
    assert init.returncode == 0, init.stderr
    fetched = root / ".terraform" / "modules"
    assert (fetched / "shipper" / "terraform" / "modules" / "observed_lambda" / "main.tf").is_file()
    valid, diagnostics = tf.validate_diagnostics(root, work=work)
    adoption.timings["terraform init + validate"] = time.perf_counter() - t0
    assert valid, "\n".join(tf.describe(d) for d in diagnostics)
    # the alarm file passes the alarm_specs contract the observability module applies
    wrapper = adoption.work / "specs"
    wrapper.mkdir()
    (wrapper / "main.tf").write_text(
        f'module "specs" {{\n  source = "{(ROOT / "terraform" / "modules" / "alarm_specs").as_posix()}"\n'
        f'  alarms_file = "{(generated / "orders.prd.alarms.json").as_posix()}"\n'
        f'  dashboard_file = "{(generated / "orders.prd.dashboard.json").as_posix()}"\n'
        '  environment = "prd"\n  region = "ap-southeast-1"\n'
        '  namespace = "Orders"\n  name_prefix = "orders"\n}\n'
        'output "alarms" { value = module.specs.alarms }\n',
        encoding="utf-8",
    )
    assert tf.run(["init", "-input=false", "-no-color"], wrapper, work=work).returncode == 0
    applied = tf.run(["apply", "-auto-approve", "-input=false", "-no-color"], wrapper, work=work)
    assert applied.returncode == 0, applied.stderr
    out = json.loads(tf.run(["output", "-json"], wrapper, work=work).stdout)["alarms"]["value"]
    (alarm,) = out.values()
    assert (
        alarm["alarm_name"] == "orders-orders-shipper-OrdersRejected-prd" and alarm["namespace"] == "Orders"
    )


@pytest.fixture(scope="module")
def invocation_lines(adoption: Adoption) -> Path:
    """The function packaged as Lambda gets it, run under awslambdaric on the sample event."""
    from emulator.lambda_function import FunctionConfig, LambdaFunction

    package = adoption.work / "lambda"
    uv_env = {**os.environ, "UV_NO_PROGRESS": "1"}
    _run([UV, "pip", "install", "-q", "--python", adoption.bin / "python", "--target", package,
          f"{adoption.wheel}", str(adoption.project)], cwd=adoption.work, env=uv_env,
         timings=adoption.timings, step="package + runtime")  # fmt: skip
    shutil.copy(adoption.project / "observe.toml", package / "observe.toml")
    assert not (package / "boto3").exists() and not (package / "pandas").exists()  # no extras in the function
    runtime = adoption.work / "runtime"  # the Lambda runtime: an interpreter with awslambdaric only
    _run([UV, "venv", "-q", "--python", sys.executable, runtime], cwd=adoption.work, env=uv_env)
    _run([UV, "pip", "install", "-q", "--python", runtime / "bin" / "python", "awslambdaric"],
         cwd=adoption.work, env=uv_env, timings=adoption.timings, step="package + runtime")  # fmt: skip
    config = FunctionConfig(
        "orders-dev-shipper",
        "orders.handler.handler",
        timeout=30,
        memory_mb=256,
        env={"ENVIRONMENT": "dev", "METRICS_NAMESPACE": "Orders"},
        task_root=str(package),
        python=str(runtime / "bin" / "python"),
    )
    event = json.loads((adoption.project / "events" / "orders_paid.json").read_text())
    t0 = time.perf_counter()
    with LambdaFunction(config) as fn:
        result = fn.invoke(event)
    adoption.timings["invoke under awslambdaric"] = time.perf_counter() - t0
    assert result.ok, (result.payload, result.lines)
    assert result.payload["shipped"] == 2
    lines = [line for line in result.lines if line.startswith("{")]
    path = adoption.work / "orders-dev-shipper.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_packaged_function_finds_its_configuration_and_emits_the_teams_metrics(
    invocation_lines: Path,
) -> None:
    docs = [json.loads(line) for line in invocation_lines.read_text().splitlines()]
    emf = [d for d in docs if "_aws" in d]
    assert {d["_aws"]["CloudWatchMetrics"][0]["Namespace"] for d in emf} == {"Orders"}
    assert any(d.get("OrdersRejected") == 1 and d.get("reason") == "no_address" for d in emf)
    totals = [d["OrdersShipped"] for d in emf if "OrdersShipped" in d and "carrier" not in d]
    assert totals == [[1, 1]]  # the total of both carriers, beside the per-carrier documents
    assert not [d for d in docs if "telemetry_error" in d]  # nothing dropped: every name was declared
    rejected = next(d for d in docs if d.get("message") == "order rejected")
    assert rejected["correlation_id"] and rejected["service"] == "orders-shipper"


def test_preview_draws_the_dashboard_from_what_the_function_emitted(
    adoption: Adoption, invocation_lines: Path
) -> None:
    from emulator.moto_server import FAKE_ENV, moto_server

    with moto_server(set_env=False) as url:
        env = adoption.env(AWS_ENDPOINT_URL=url, **FAKE_ENV)
        done = adoption.run(
            [adoption.bin / "observe", "dashboards", "preview", "--pipeline", "orders", "--out", "preview",
             "--emf", invocation_lines, "--since", "1h"], env=env, step="dashboards preview",
        )  # fmt: skip
    png = adoption.project / "preview" / "orders.dev.png"
    page = (adoption.project / "preview" / "orders.dev.html").read_text()
    assert str(png.name) in done.stdout and png.stat().st_size > 20_000 and png.read_bytes()[:4] == b"\x89PNG"
    assert "seeded" in page and "orders-shipper: other counts" in page
    widgets = {
        w["title"]: w for w in json.loads((adoption.project / "preview" / "orders.dev.json").read_text())
    }
    rejected = widgets["orders-shipper: OrdersRejected by reason"]
    assert rejected["series"] == {"no_address": [1.0]}  # the SEARCH found the dimension value
    alarmed = widgets["OrdersRejected (count)"]
    assert alarmed["thresholds"] == [1] and alarmed["series"] == {"orders-shipper": [1.0]}
    counts = widgets["orders: counts"]["series"]
    assert counts == {"OrdersShipped (orders-shipper)": [2.0], "OrdersRejected (orders-shipper)": [1.0]}


def test_observe_diag_triages_the_alarm_from_the_teams_configuration(
    adoption: Adoption, invocation_lines: Path
) -> None:
    done = adoption.run(
        [adoption.bin / "observe", "diag", "alarm", ALARM, "--logs", invocation_lines, "--json"],
        check=False, step="observe diag",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr  # 0: the alarm breached in the window
    triage = json.loads(done.stdout)
    assert triage["alarm"] == ALARM and triage["metric"] == "OrdersRejected"
    assert triage["breaching"] and triage["breaching"][0]["value"] == 1
    assert triage["invocations"] and triage["invocations"][0]["function_name"] == "orders-dev-shipper"
