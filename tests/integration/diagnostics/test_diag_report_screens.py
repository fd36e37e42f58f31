"""The report as a person sees it: headless Chromium screenshots, first screen to last.

``make test`` installs Debian's chromium when it is missing (``make chromium``); ``make
report-shots`` writes the same pictures to ``out/shots`` to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from diagnostics import Diagnostics
from diagnostics.report import write_report
from tests.integration.diagnostics.conftest import REPO, Incident
from tests.support.screenshots import SCREEN, WIDTH, chromium, screenshots

pytestmark = pytest.mark.integration


def _pixels(png: Path, rgb: tuple[int, int, int], tolerance: int = 6) -> int:
    """How many pixels of ``png`` have the colour ``rgb`` (give or take ``tolerance`` per channel)."""
    import numpy as np
    from PIL import Image

    with Image.open(png) as im:
        data = np.asarray(im.convert("RGB"), dtype=np.int16)
    return int((np.abs(data - np.array(rgb, dtype=np.int16)) <= tolerance).all(axis=2).sum())


def test_the_first_screen_shows_the_firing_alarm_and_every_screen_has_content(
    diag_incident: Incident, tmp_path: Path
) -> None:
    assert chromium(), "chromium is not installed: run `make chromium` (apt-get install -y chromium)"
    out = diag_incident.out
    diag = Diagnostics.load(
        logs=out / "ingest.jsonl",
        quarantine_dir=out / "s3",
        dlq_file=out / "dlq.jsonl",
        alarms_dir=REPO / "terraform" / "generated",
    )
    page = write_report(diag, tmp_path / "report.html", title="Triage report")
    shots = screenshots(page, tmp_path / "shots")
    from PIL import Image

    with Image.open(shots[0]) as im:
        assert im.size == (WIDTH, SCREEN)
    # the red "in ALARM" box (its pale background and its red edge) is on the first screen
    assert _pixels(shots[0], (0xFD, 0xEC, 0xEE)) > 20_000
    assert _pixels(shots[0], (0xB0, 0x00, 0x20)) > 300
    assert len(shots) >= 5, "alarm section, activity, counts, quarantine, traces"
    for png in shots:
        with Image.open(png) as im:
            colours = im.convert("RGB").getcolors(maxcolors=1 << 16)
        assert colours is None or len(colours) > 2, f"{png.name} is blank"
