"""What a cold start does not pay for: patterns compiled only when used (observe.lazyre), the
redaction nets that run only where their literal start is present, and what a first invocation
leaves unloaded. The nets' masking itself is the redaction corpus's business (test_redact_*.py);
here: that a net skipped for speed is never one that would have masked something."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from observe import lazyre, redact

PATTERN = lazyre.compile_lazily(r"a(b+)c")


def test_a_lazy_pattern_compiles_at_first_use_and_takes_its_own_place() -> None:
    held = globals()["PATTERN"]
    assert isinstance(held, lazyre._Pending)  # nothing compiled at import
    assert PATTERN.sub("x", "zabbcz") == "zxz"
    assert isinstance(globals()["PATTERN"], re.Pattern)  # the module now holds the pattern itself
    assert held.search("abc").group(1) == "b"  # a reference taken before still works
    assert globals()["PATTERN"].pattern == "a(b+)c"


#: Each net that is skipped unless its literal start is in the text, with texts it must still mask
#: (cases and prefixes at the edges of the literal checks).
TRIGGERS = {
    "bearer": ["Authorization: BEARER abcdefghijklmnop1234", "auth=bEaReR%20abcdefghij123456",
               "Basic dXNlcjpwYXNzd29yZA==", "DPoP eyA1b2c3d4e5f6g7h8i9j0", "basic+abcdefghijk12345"],
    "token": ["ghp_" + "a1B2c3D4e5" * 4, "gho_" + "A" * 36, "github_pat_" + "a1" * 20,
              "glpat-" + "x1Y2z3" * 4, "xoxb-" + "123456789012", "sk_live_" + "a1b2" * 6,
              "rk_test_" + "Z9y8" * 6, "whsec_" + "q1w2e3r4" * 4, "sk-proj-" + "a1_b2-c3" * 5,
              "npm_" + "a1b2c3" * 6, "GOCSPX-" + "a1b2c3d4e5" * 3,
              "AIza" + "Sy" + "a1b2c3d4e5f6a" * 2 + "b1c2d3d"],
    "private_key": ["key=MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" + "A" * 40, "MIGHAgEAMBMGByqGSM49AgEG" + "B" * 40,
                    "MC4CAQAwBQYDK2VwBCIEI" + "C" * 40, "MHcCAQEEI" + "D" * 40],
}  # fmt: skip


@pytest.mark.parametrize(("marker", "text"), [(m, t) for m, texts in TRIGGERS.items() for t in texts])
def test_a_net_skipped_for_speed_still_masks_what_it_is_for(marker: str, text: str) -> None:
    out = redact.redact_text(text)
    assert "[REDACTED" in out, out
    secret = text.split(" ", 1)[-1][-20:]
    assert secret not in out


def test_a_plain_line_leaves_the_large_nets_uncompiled() -> None:
    """In a fresh interpreter: the first invocation's lines need none of the large patterns, and
    none of what structlog's package import would have pulled in is loaded."""
    script = """
import json, sys
from observe import get_logger, metric, observed, redact, lazyre
log = get_logger("handler")
@observed(pipeline="p", service="s")
def handler(event, context):
    log.info("items listed", count=3, status="ok")
    metric("RecordsFetched", 3)
    return {"ok": True}
handler({"headers": {"x-correlation-id": "c-1"}, "requestContext": {"requestId": "r"}}, None)
pending = [n for n in ("_KNOWN_TOKEN", "_SCHEME", "_DER", "_JWT", "_PEM")
           if isinstance(vars(redact)[n], lazyre._Pending)]
sys.stderr.write(json.dumps({"pending": pending, "random": "random" in sys.modules}))
"""
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "ENVIRONMENT": "prd"},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stderr.strip().splitlines()[-1])
    assert result == {"pending": ["_KNOWN_TOKEN", "_SCHEME", "_DER", "_JWT", "_PEM"], "random": False}
    assert '"message":"items listed"' in proc.stdout
