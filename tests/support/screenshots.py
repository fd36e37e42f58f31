"""Screenshots of an HTML file in headless Chromium (Debian's ``chromium``), first screen to last.

    python -m tests.support.screenshots out/demo/report.html out/shots

writes ``screen-01.png`` (the first screen, a real 1280x900 viewport), then the whole page cut
into screens of the same height (``screen-02.png`` ...). Used by ``make report-shots`` and the
report's screenshot test, so a person can look at the report as a picture.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

WIDTH, SCREEN = 1280, 900
#: The tallest page captured whole (Chromium draws the window at this height, then it is cut).
TALLEST = 16_000
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
    "--force-device-scale-factor=1",
)  # fmt: skip


def chromium() -> str | None:
    """The Chromium binary on PATH, if any."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _shoot(binary: str, page: Path, png: Path, height: int) -> None:
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        subprocess.run(
            [
                binary,
                *FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={WIDTH},{height}",
                f"--screenshot={png}",
                page.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )


def _content_height(png: Path) -> int:
    """Rows down to the last one that is not blank (the page ends where the white begins)."""
    from PIL import Image, ImageChops

    with Image.open(png) as im:
        rgb = im.convert("RGB")
        box = ImageChops.difference(rgb, Image.new("RGB", rgb.size, (255, 255, 255))).getbbox()
    return box[3] if box else 0


def screenshots(page: Path, out: Path) -> list[Path]:
    """PNGs of ``page``: the first screen, then every further screen of the whole page."""
    from PIL import Image

    binary = chromium()
    if binary is None:
        raise RuntimeError("chromium is not installed (apt-get install -y chromium)")
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("screen-*.png"):
        old.unlink()
    first = out / "screen-01.png"
    _shoot(binary, page, first, SCREEN)
    whole = out / "whole.png"
    _shoot(binary, page, whole, TALLEST)
    height = _content_height(whole) + 20
    paths = [first]
    with Image.open(whole) as im:
        for i, top in enumerate(range(SCREEN, height, SCREEN), start=2):
            piece = im.crop((0, top, WIDTH, min(top + SCREEN, height)))
            path = out / f"screen-{i:02d}.png"
            piece.save(path)
            paths.append(path)
    whole.unlink()
    return paths


if __name__ == "__main__":
    for p in screenshots(Path(sys.argv[1]), Path(sys.argv[2] if len(sys.argv) > 2 else "out/shots")):
        print(p)
