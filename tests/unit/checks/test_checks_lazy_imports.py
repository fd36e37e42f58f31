"""The Lambda never carries GE: validating in a fresh process imports neither great_expectations nor scipy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

CODE = """
import json, sys
import observe.checks
light = sorted(m for m in ("pandas", "numpy", "boto3", "great_expectations", "scipy") if m in sys.modules)
import pandas as pd
from observe.checks import load_suite, DriftDetector, InMemoryBaselineStore
suite = load_suite("tests/fixtures/suites/orders.json")
df = pd.DataFrame({"order_id": [1, 2], "customer": ["a", "b"], "amount": [10.0, -1.0],
                   "currency": ["SGD", "JPY"], "email": ["a@x.io", "b@x.io"],
                   "created": ["2024-01-01", "2024-02-30"]})
result = suite.validate(df, result_format="COMPLETE")
passing, failing = suite.split(df)
DriftDetector("p", "s", store=InMemoryBaselineStore()).observe(df, result)
heavy = sorted(m for m in sys.modules
               if m.split(".")[0] in ("great_expectations", "scipy", "boto3", "sklearn"))
print(json.dumps({"light": light, "heavy": heavy, "failed": len(failing), "success": result["success"]}))
"""


def test_validation_never_imports_great_expectations_or_scipy() -> None:
    out = subprocess.run(
        [sys.executable, "-c", CODE], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["light"] == []  # `import observe.checks` pulls in nothing heavy, not even pandas
    assert report["heavy"] == []
    assert report["failed"] == 1 and report["success"] is False  # it did validate something
