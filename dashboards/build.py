"""``observe dashboards build --out DIR``: the dashboard and alarm JSON Terraform deploys.

For every pipeline of the project's configuration and every environment it writes
``<pipeline>.<environment>.dashboard.json`` (a CloudWatch dashboard body) and
``<pipeline>.<environment>.alarms.json`` (the alarm specs the ``observability`` module reads): one
file per environment because alarms may be tuned or switched off per environment, and the
dashboard draws the thresholds that apply there. ``${region}``, ``${namespace}`` and
``${resource_prefix}`` (what comes before a deployed function's or queue's name) stay
placeholders that Terraform fills in. ``observe.json`` beside them tells Terraform the rest: the
namespace, the files per environment and pipeline, and the e-mail endpoints per severity.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dashboards.config import specs
from dashboards.monitoring import build_alarms, build_dashboard
from observe.config import ENVIRONMENTS
from observe.project import ProjectConfig

MANIFEST = "observe.json"


def _text(payload: Any, environment: str) -> str:
    return json.dumps(payload, indent=2).replace("${environment}", environment) + "\n"


def render(config: ProjectConfig, environment: str) -> dict[str, tuple[str, str]]:
    """pipeline -> (dashboard JSON text, alarms JSON text) for ``environment``."""
    out = {}
    for name, spec in specs(config, environment).items():
        out[name] = (_text(build_dashboard(spec), environment), _text(build_alarms(spec), environment))
    return out


def alarm_specs(config: ProjectConfig, environment: str) -> dict[str, list[dict[str, Any]]]:
    """pipeline -> the alarm specs of ``environment``, as written to the alarms files."""
    return {name: json.loads(alarms) for name, (_, alarms) in render(config, environment).items()}


def manifest(config: ProjectConfig) -> dict[str, Any]:
    """What Terraform reads from ``observe.json`` (see docs/adopting.md for the HCL)."""
    return {
        "source": list(config.files),
        "namespace": config.effective_namespace,
        "pipelines": {name: list(p.services) for name, p in config.pipelines.items()},
        # per pipeline and service, the function the dashboards draw: its name without the
        # deployment's prefix and the timeout Terraform deploys (the Duration widget's line)
        "functions": {
            name: {s: {"name": f.name, "timeout": f.timeout} for s, f in p.functions.items()}
            for name, p in config.pipelines.items()
        },
        "environments": {
            env: {
                "files": {
                    name: {
                        "dashboard_file": f"{name}.{env}.dashboard.json",
                        "alarms_file": f"{name}.{env}.alarms.json",
                    }
                    for name in config.pipelines
                },
                "notification_emails": {
                    sev: list(emails) for sev, emails in config.notifications.get(env, {}).items()
                },
            }
            for env in ENVIRONMENTS
        },
    }


def build(out: Path, config: ProjectConfig | None = None) -> list[Path]:
    """Write every pipeline's files for every environment, and the manifest; returns the paths.

    ``config`` defaults to the one found from the working directory (:func:`dashboards.config.load`).
    Dashboard and alarm files in ``out`` that no pipeline wrote (a pipeline removed or renamed) are
    deleted, so Terraform cannot deploy a stale one.
    """
    if config is None:
        from dashboards.config import load

        config = load()
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for env in ENVIRONMENTS:
        for name, (dashboard, alarms) in render(config, env).items():
            for suffix, text in (("dashboard", dashboard), ("alarms", alarms)):
                path = out / f"{name}.{env}.{suffix}.json"
                path.write_text(text, encoding="utf-8")
                written.append(path)
    path = out / MANIFEST
    path.write_text(json.dumps(manifest(config), indent=2) + "\n", encoding="utf-8")
    written.append(path)
    keep = set(written)
    for stale in [*out.glob("*.dashboard.json"), *out.glob("*.alarms.json")]:
        if stale not in keep:
            stale.unlink()
    return written
