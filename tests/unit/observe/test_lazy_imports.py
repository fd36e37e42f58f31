"""`import observe` (and a whole observed invocation) must not load heavy packages."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = [
    "boto3",
    "botocore",
    "pandas",
    "numpy",
    "great_expectations",
    "opentelemetry.sdk",
    "opentelemetry",
    "scipy",
]

SCRIPT = """
import json, sys
import observe
after_import = sorted(m for m in %(heavy)r if m in sys.modules)
from observe import observed, get_logger, metric
@observed(pipeline="p")
def handler(event, context):
    get_logger("x").info("hi")
    metric("RecordsFetched", 1)
handler({"version": "2.0", "headers": {}, "requestContext": {"requestId": "r", "http": {}}}, None)
after_call = sorted(m for m in %(heavy)r if m in sys.modules)
result = {"import": after_import, "call": after_call, "structlog": "structlog" in sys.modules}
sys.stderr.write(json.dumps(result))
"""


def test_import_and_invocation_load_nothing_heavy() -> None:
    env = {"PATH": "/usr/bin:/bin", "ENVIRONMENT": "dev"}
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT % {"heavy": HEAVY}], capture_output=True, text=True, env=env, check=True
    )
    result = json.loads(proc.stderr.strip().splitlines()[-1])
    assert result["import"] == []
    assert result["call"] == []
    assert result["structlog"] is True  # the logs did go through structlog
    assert '"message":"hi"' in proc.stdout
