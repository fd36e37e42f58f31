"""observe.toml: what it declares, how each mistake is reported, and how a function finds it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from observe import catalogue, project
from observe.project import ConfigFileError, build, load

ROOT = Path(__file__).resolve().parents[3]
GOOD = """
namespace = "Orders"

[metrics.OrdersShipped]
unit = "Count"
description = "Orders handed to the carrier."
dimensions = ["carrier"]
alarm = "< 1"

[metrics.ShipLatency]
unit = "Milliseconds"
description = "Time from paid to shipped."
statistic = "p90"

[pipelines.orders]
title = "Orders"
services = ["orders-api", "orders-worker"]

[pipelines.orders.emits]
orders-worker = ["OrdersShipped", "ShipLatency", "InputAnomalies"]

[[pipelines.orders.alarms]]
metric = "ErrorRate"
threshold = 5

[[pipelines.orders.alarms]]
metric = "OrdersShipped"
severity = "warning"
environments.dev = { enabled = false }
environments.prd = { threshold = 10, evaluation_periods = 3, datapoints_to_alarm = 2 }

[notifications.prd]
critical = ["oncall@example.com"]
"""
REDACTION = """
[redaction]
keys = ["customer_ref"]
patterns = { order_token = "ord_[A-Za-z0-9]{24}" }
"""


@pytest.fixture
def isolated() -> Iterator[None]:
    """Each test starts with no configuration loaded and leaves none behind."""
    project.reset()
    yield
    project.reset()


def write(tmp_path: Path, text: str, name: str = "observe.toml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigFileError) as err:
        load(write(tmp_path, text))
    return [p.split(": ", 1)[1] for p in err.value.problems]


def test_a_good_file_declares_everything(tmp_path: Path) -> None:
    cfg = load(write(tmp_path, GOOD + REDACTION))
    assert cfg.namespace == "Orders"
    shipped = cfg.metrics["OrdersShipped"]
    assert shipped.dimensions == ("carrier",) and shipped.group == "orders"  # group: the emitting pipeline
    assert cfg.metrics["ShipLatency"].statistic == "p90"
    pipe = cfg.pipelines["orders"]
    emitted = ("OrdersShipped", "ShipLatency", "InputAnomalies")
    assert pipe.emitters == {k: ("orders-worker",) for k in emitted}
    rate, shipped_alarm = pipe.alarms
    assert (rate.statistic, rate.severity, rate.threshold) == ("rate", "critical", 5)
    # the suggested alarm "< 1" supplies comparison and threshold; prd overrides, dev switches it off
    assert shipped_alarm.comparison == "LessThanThreshold" and shipped_alarm.threshold == 1
    assert shipped_alarm.for_environment("dev") is None
    tuned = shipped_alarm.for_environment("prd")
    assert tuned is not None
    assert (tuned.threshold, tuned.evaluation_periods, tuned.datapoints_to_alarm) == (10, 3, 2)
    assert cfg.notifications == {"prd": {"critical": ("oncall@example.com",)}}
    assert cfg.redaction.keys == ("customer_ref",) and "order_token" in cfg.redaction.patterns


def test_the_issues_example_error_names_file_table_key_and_fix(tmp_path: Path) -> None:
    found = problems(tmp_path, '[metrics.OrdersShipped]\nunit = "count"\ndescription = "Shipped."\n')
    assert found == ["[metrics.OrdersShipped] unit 'count' is not an EMF unit; use 'Count'"]
    found = problems(tmp_path, '[metrics.OrdersShipped]\nunit = "Milisecond"\ndescription = "Shipped."\n')
    assert found == ["[metrics.OrdersShipped] unit 'Milisecond' is not an EMF unit; use 'Milliseconds'"]
    found = problems(tmp_path, '[metrics.OrdersShipped]\nunit = "Orders"\ndescription = "Shipped."\n')
    assert found[0].startswith("[metrics.OrdersShipped] unit 'Orders' is not an EMF unit; use one of Bits, ")


M = '[metrics.X]\nunit = "Count"\ndescription = "x."\n'  # a valid metric, to break one key at a time
P = '[pipelines.o]\nservices = ["a"]\n'
E = P + "[pipelines.o.emits]\n"
A = P + '[[pipelines.o.alarms]]\nmetric = "Errors"\nthreshold = 1\n'
R = P + '[[pipelines.o.alarms]]\nmetric = "ErrorRate"\nthreshold = 5\n'
MISTAKES = [
    ('namspace = "X"', "unknown key 'namspace'; did you mean 'namespace'?"),
    ('namespace = "AWS/Lambda"', "namespace 'AWS/Lambda' must be 1-255 letters"),
    (M.replace("X", "Duration"), "'Duration' is a standard metric of observe"),
    ('[metrics.X]\ndescription = "x."', 'unit is missing; e.g. unit = "Count"'),
    ('[metrics.X]\nunit = "Count"', "[metrics.X] description is missing"),
    (M + 'dimensions = ["service"]', "are standard dimensions"),
    (M + 'statistic = "median"', "statistic 'median' is not one"),
    (M + 'alarm = "above 3"', "must look like '>= 1'"),
    (M + 'group = "invocation"', "group 'invocation' is observe's own"),
    (M + 'units = "Count"', "unknown key 'units'; did you mean 'unit'?"),
    ("[pipelines.orders]\ntitle = 'x'", "[pipelines.orders] services is missing"),
    ('[pipelines.Orders]\nservices = ["a"]', "a pipeline name is lower-case"),
    (E + 'b = ["Errors"]', "'b' is not one of this pipeline's services"),
    (E + 'a = ["Errors"]', "a: Errors is emitted by every observed function"),
    (E + 'a = ["Shiped"]', "a: metric 'Shiped' is not declared; add [metrics.Shiped]"),
    (A.replace("Errors", "Nope"), "metric 'Nope' is not declared"),
    (P + '[[pipelines.o.alarms]]\nmetric = "Duration"', "(Duration)] threshold is missing"),
    (A.replace("Errors", "InputAnomalies"), "no service of 'o' emits InputAnomalies"),
    (R + 'severity = "urgent"', "severity 'urgent' is not one of critical, warning, info"),
    (R + 'statistic = "Sum"', "ErrorRate is metric math"),
    (A + "period = 90", "period must be seconds, a multiple of 60"),
    (A + 'comparison = "=="', "comparison '==' is not one of >=, >, <, <="),
    (A + "datapoints_to_alarm = 2", "datapoints_to_alarm (2) exceeds evaluation_periods (1)"),
    (A + "environments.prod = { threshold = 2 }", "unknown environment 'prod'; use dev, stg, prd"),
    (A + '[[pipelines.o.alarms]]\nmetric = "Errors"\nthreshold = 2', "a second alarm on Errors"),
    ('[notifications.prd]\ncritical = ["oncall"]', "'oncall' is not an e-mail address"),
    ('[notifications.prd]\nurgent = ["a@b.co"]', "unknown key 'urgent'"),
    ('[redaction]\npatterns = { bad = "([a-z" }', "bad: not a valid regular expression"),
    ('[redaction]\npatterns = { empty = "x{0,3}" }', "empty: matches the empty string"),
    ('[redaction]\npatterns = { slow = "ord_.*" }', "slow: unbounded repeat"),
    ('include = ["nowhere.toml"]', "no such file"),
    ("namespace = ", "not valid TOML"),
]


@pytest.mark.parametrize(("text", "expected"), MISTAKES)
def test_each_mistake_is_named_with_its_fix(tmp_path: Path, text: str, expected: str) -> None:
    found = problems(tmp_path, text)
    assert any(expected in p for p in found), found


def test_every_problem_is_reported_at_once_with_the_file(tmp_path: Path) -> None:
    text = 'namspace = "X"\n[metrics.A]\nunit = "count"\ndescription = "a."\n[metrics.B]\nunit = "Count"\n'
    path = write(tmp_path, text)
    with pytest.raises(ConfigFileError) as err:
        load(path)
    assert len(err.value.problems) == 3
    assert all(p.startswith(f"{path}: ") for p in err.value.problems)


def test_a_reference_to_a_broken_declaration_adds_no_noise(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        '[metrics.A]\nunit = "count"\ndescription = "a."\n[pipelines.o]\nservices = ["s"]\n'
        '[pipelines.o.emits]\ns = ["A"]\n',
    )
    assert found == ["[metrics.A] unit 'count' is not an EMF unit; use 'Count'"]


def test_includes_merge_and_clashes_name_both_files(tmp_path: Path) -> None:
    write(tmp_path, '[metrics.A]\nunit = "Count"\ndescription = "a."\n[pipelines.p]\nservices = ["s"]\n'
          '[pipelines.p.emits]\ns = ["A"]\n', "pipelines/p/observe.toml")  # fmt: skip
    write(tmp_path, '[metrics.B]\nunit = "Count"\ndescription = "b."\n', "pipelines/q/observe.toml")
    root = write(
        tmp_path,
        'namespace = "Team"\ninclude = ["pipelines/p/observe.toml", "pipelines/q/observe.toml"]\n'
        '[notifications.prd]\ncritical = ["a@b.co"]\n',
    )
    cfg = load(root)
    assert set(cfg.metrics) == {"A", "B"} and list(cfg.pipelines) == ["p"] and len(cfg.files) == 3
    assert cfg.metrics["A"].source.endswith("pipelines/p/observe.toml")
    write(tmp_path, '[metrics.A]\nunit = "Bytes"\ndescription = "a."\n', "pipelines/q/observe.toml")
    clash = r"\[metrics.A\] declared in both .*p/observe.toml and .*q/observe.toml"
    with pytest.raises(ConfigFileError, match=clash):
        load(root)
    write(tmp_path, 'include = ["../../observe.toml"]\n', "pipelines/q/observe.toml")
    with pytest.raises(ConfigFileError, match="includes itself"):
        load(root)


def test_the_projects_own_configuration_is_the_same_mechanism() -> None:
    cfg = load(ROOT / "observe.toml")
    assert set(cfg.pipelines) == {"ingest", "auth"}
    assert cfg.metrics["RecordsQuarantined"].source == "pipelines/ingest/observe.toml"
    assert cfg.metrics["AuthFailures"].dimensions == ("reason",)
    # the per-pipeline files ship in the wheel next to the handlers (package data)
    assert (ROOT / "pipelines" / "ingest" / "observe.toml").is_file()


def test_build_from_code_is_checked_the_same_way() -> None:
    with pytest.raises(ConfigFileError, match=r"<code>: \[metrics.X\] unit 'count'"):
        build({"metrics": {"X": {"unit": "count", "description": "x."}}})
    cfg = build({"metrics": {"X": {"unit": "Count", "description": "x."}}})
    assert cfg.metrics["X"].source == "<code>"


# --------------------------------------------------------------------------------- finding it


def test_find_walks_up_to_the_project_or_task_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, GOOD)
    deep = tmp_path / "src" / "orders" / "handlers"
    deep.mkdir(parents=True)
    assert project.find(deep) == tmp_path / "observe.toml"
    (tmp_path / "src" / "pyproject.toml").write_text("")  # a project root below: the walk stops there
    assert project.find(deep) is None
    (tmp_path / "src" / "pyproject.toml").unlink()
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(tmp_path / "src"))
    assert project.find(deep) is None  # never above the task root
    write(tmp_path / "src", GOOD)
    assert project.find(deep) == tmp_path / "src" / "observe.toml"


def test_loaded_once_lazily_at_the_first_miss(isolated, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("OBSERVE_CONFIG", str(write(tmp_path, GOOD)))
    assert "OrdersShipped" not in catalogue.CATALOGUE  # nothing read yet
    assert catalogue.lookup("Duration") is not None and not project.active()  # a standard hit reads nothing
    assert catalogue.lookup("OrdersShipped") is not None
    assert [c.namespace for c in project.active()] == ["Orders"]
    calls = []
    monkeypatch.setattr(project, "load", lambda path: calls.append(path))
    assert catalogue.lookup("StillUnknown") is None and catalogue.lookup("AlsoUnknown") is None
    assert calls == []  # a miss after loading costs no I/O


def test_observe_config_naming_a_missing_file_says_so(isolated, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("OBSERVE_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigFileError, match=r"OBSERVE_CONFIG=.*nope.toml: no such file"):
        catalogue.lookup("OrdersShipped")


def test_the_namespace_comes_from_the_file_unless_set(isolated, tmp_path, monkeypatch) -> None:
    from observe.metrics import namespace

    monkeypatch.setenv("OBSERVE_CONFIG", str(write(tmp_path, GOOD)))
    monkeypatch.delenv("METRICS_NAMESPACE", raising=False)
    project.ensure_loaded()
    assert namespace() == "Orders"
    monkeypatch.setenv("METRICS_NAMESPACE", "Set-By-Terraform")
    assert namespace() == "Set-By-Terraform"


def test_redaction_rules_from_the_file_mask_the_logs(isolated, tmp_path, observe_capture) -> None:
    from observe import get_logger

    project.use(load(write(tmp_path, GOOD.replace('namespace = "Orders"', "") + REDACTION)))
    token = "ord_" + "A1b2C3d4" * 3
    get_logger("t").info("paid", customer_ref="C-000123", note=f"token {token} used")
    (line,) = [x for x in observe_capture.logs if x["message"] == "paid"]
    assert line["customer_ref"] != "C-000123" and "C-000123" not in observe_capture.text
    assert token not in observe_capture.text and "[REDACTED:order_token]" in line["note"]
    project.reset()
    get_logger("t").info("again", note=f"token {token}")
    assert token in observe_capture.text  # the rules went with the configuration


SCRIPT = """
import json, sys, time
import observe
from observe import observed, metric, project, catalogue
sys.path.insert(0, %(dir)r)
import handler_mod  # decorating records where the handler lives; nothing is read yet
before = [c.source for c in project.active()]
out = handler_mod.handler({}, None)
sys.stderr.write(json.dumps({"before": before, "after": [c.namespace for c in project.active()], "out": out}))
"""


def test_a_function_finds_the_file_next_to_its_handler_without_any_setting(tmp_path: Path) -> None:
    task_root = tmp_path / "task"
    write(task_root, GOOD)
    (task_root / "handler_mod.py").write_text(
        "from observe import observed, metric\n"
        "@observed(pipeline='orders', service='orders-worker')\n"
        "def handler(event, context):\n"
        "    metric('OrdersShipped', 2, carrier='dhl')\n"
        "    return 'shipped'\n",
        encoding="utf-8",
    )
    env = {"PATH": os.environ["PATH"], "ENVIRONMENT": "prd", "LAMBDA_TASK_ROOT": str(task_root),
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT % {"dir": str(task_root)}],
        cwd=tmp_path,  # not the task root: the handler's own location is what finds the file
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    result = json.loads(proc.stderr.strip().splitlines()[-1])
    assert result == {"before": [], "after": ["Orders"], "out": "shipped"}
    docs = [json.loads(line) for line in proc.stdout.splitlines() if '"_aws"' in line]
    assert {d["_aws"]["CloudWatchMetrics"][0]["Namespace"] for d in docs} == {"Orders"}
    assert any(d.get("OrdersShipped") == 2 and d.get("carrier") == "dhl" for d in docs)
    assert "telemetry dropped" not in proc.stdout
