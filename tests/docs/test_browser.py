"""A real browser renders the built site: headless Chromium (Debian's ``chromium``) takes screenshots.

Each page must render (the screenshot is not blank, the theme's header is drawn), and loading it must not
miss an asset: every request the page made was answered 2xx/3xx by the local server, and the browser
console reports no failed load or script error.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from tests._support.binaries import require_binary
from tests._support.static_server import StaticServer

WIDTH, HEIGHT = 1280, 900
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
    f"--window-size={WIDTH},{HEIGHT}",
    "--virtual-time-budget=5000",
)
# Console messages Chromium logs to stderr: a resource that failed to load, an exception in a script.
_CONSOLE_PROBLEM = re.compile(r"CONSOLE.*(Failed to load resource|Uncaught|net::ERR_)|Refused to")
PAGES = {"home": "", "api-reference": "reference/api/"}


def screenshot(chromium: str, url: str, workdir: Path) -> tuple[Path, str]:
    png = workdir / "screenshot.png"
    done = subprocess.run(
        [chromium, *_FLAGS, f"--user-data-dir={workdir / 'profile'}", f"--screenshot={png}", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0 and png.is_file(), f"chromium failed ({done.returncode}):\n{done.stderr[-3000:]}"
    return png, done.stderr


@pytest.mark.parametrize("page", PAGES.values(), ids=PAGES.keys())
def test_the_page_renders_in_chromium_with_every_asset(built_site, tmp_path, page):
    chromium = require_binary("chromium", package="chromium")
    with StaticServer(built_site.path) as server:
        png, log = screenshot(chromium, f"{server.url}/{page}", tmp_path)

    missing = [(path, status) for path, status in server.served if not 200 <= status < 400]
    assert not missing, f"the page asked for assets the site does not have: {missing}"
    assert any(path.endswith(".css") for path, _ in server.served), server.served
    assert any(path.endswith(".js") for path, _ in server.served), server.served
    problems = [line for line in log.splitlines() if _CONSOLE_PROBLEM.search(line)]
    assert not problems, "\n".join(problems)

    image = Image.open(png).convert("RGB")
    assert image.size == (WIDTH, HEIGHT)
    spread = ImageStat.Stat(image.convert("L")).stddev[0]
    assert spread > 20, f"the screenshot is nearly uniform (grey-level standard deviation {spread:.1f})"
    # The theme's header bar (material's default indigo) spans the top of the page.
    header = image.crop((0, 0, WIDTH, 40)).resize((1, 1)).getpixel((0, 0))
    assert header[2] > header[0] + 60, f"no themed header at the top of the page: mean colour {header}"
