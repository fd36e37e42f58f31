"""What ``observe init`` writes into a team's repository: a starter configuration and a handler."""

from __future__ import annotations

CONFIG = """\
# observe configuration of this project: metrics, pipelines, alarms, notifications, redaction.
# Read by the functions at run time (ship this file in the Lambda package, next to the handler or
# at its root, or point OBSERVE_CONFIG at it), by `observe check` in CI, and by
# `observe dashboards build` for Terraform. Reference: docs/adopting.md of observe-pipelines.

namespace = "{namespace}"

[metrics.ItemsProcessed]
unit = "Count"
description = "Items the handler processed."

[pipelines.{pipeline}]
title = "{title}"
services = ["{service}"]   # the SERVICE_NAME of each function

[pipelines.{pipeline}.emits]
{service} = ["ItemsProcessed"]

[[pipelines.{pipeline}.alarms]]
metric = "ErrorRate"       # percent of invocations that raised
threshold = 5
severity = "critical"
environments.dev = {{ enabled = false }}

# [notifications.prd]
# critical = ["oncall@example.com"]

# [redaction]
# keys = ["customer_ref"]                       # values under these keys are always masked
# patterns = {{ order_token = "ord_[A-Za-z0-9]{{24}}" }}
"""

HANDLER = '''\
"""A sample handler (written by `observe init`): logs, a custom metric, and the standard ones."""

from __future__ import annotations

from typing import Any

from observe import get_logger, metric, observed

log = get_logger(__name__)


@observed(pipeline="{pipeline}", service="{service}")
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    items = event.get("items", [])
    log.info("processing items", items=len(items))
    metric("ItemsProcessed", len(items))
    return {{"processed": len(items)}}
'''
