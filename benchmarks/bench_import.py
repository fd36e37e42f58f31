"""Cold import time: `import observe` against `from aws_lambda_powertools import Logger, Metrics`.

Each figure is the median wall time of fresh interpreter processes (the interpreter's own start,
measured with `pass`, is subtracted), plus what each import leaves in ``sys.modules`` that a
Lambda would rather not carry. A second pair measures what a handler module really pays before
its first log line: importing and creating the logger and metrics objects.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

from benchmarks._common import write

RUNS = int(os.environ.get("BENCH_IMPORT_RUNS", "21"))
HEAVY = ["boto3", "botocore", "pandas", "numpy", "great_expectations", "opentelemetry.sdk", "scipy",
         "structlog", "pydantic"]  # fmt: skip
CASES = {
    "python (baseline)": "pass",
    "import observe": "import observe",
    "from aws_lambda_powertools import Logger, Metrics": "from aws_lambda_powertools import Logger, Metrics",
    "observe: import + get_logger()": "import observe; observe.get_logger('h')",
    "Powertools: import + Logger() + Metrics()": (
        "from aws_lambda_powertools import Logger, Metrics; "
        "Logger(service='h'); Metrics(namespace='n', service='h')"
    ),
}


def wall_ms(code: str) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    )
    return (time.perf_counter() - t0) * 1000


def loaded(code: str) -> list[str]:
    probe = f"{code}\nimport sys, json; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> dict[str, float]:
    for code in CASES.values():  # warm the file cache
        wall_ms(code)
    samples: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(RUNS):  # interleaved, so drift hits every case alike
        for name, code in CASES.items():
            samples[name].append(wall_ms(code))
    med = {name: statistics.median(v) for name, v in samples.items()}
    base = med["python (baseline)"]
    rows = [
        "| import | median wall ms | minus interpreter start | heavy modules loaded |",
        "|---|---:|---:|---|",
    ]
    for name, code in CASES.items():
        heavy = ", ".join(loaded(code)) or "none"
        rows.append(f"| `{name}` | {med[name]:.1f} | {med[name] - base:.1f} | {heavy} |")
    ratio = (med["from aws_lambda_powertools import Logger, Metrics"] - base) / (med["import observe"] - base)
    body = "\n".join(rows) + (
        f"\n\nMedian of {RUNS} fresh processes each, interleaved. `import observe` costs {ratio:.1f}x less "
        "than importing Powertools' Logger and Metrics (target: no slower). structlog and orjson load on the "
        "first "
        "`get_logger()` / first invocation, so the second pair is the honest handler-shaped comparison.\n"
    )
    write("import", "Cold import (issue 2, figure 2)", body)
    return med


if __name__ == "__main__":
    main()
