"""The HTML report opens in headless Chromium with no console errors and no request beyond itself.

Needs Debian's chromium at /usr/bin/chromium (``apt-get install -y chromium``); without it this test
fails, on purpose, rather than skipping silently.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from service.policyfiles import default_root
from service.simulation.runner import run_scenario

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.mark.parametrize("scenario", ["what-if", "cut-and-reclaim"])
def test_report_renders_offline_without_console_errors(tmp_path: Path, scenario: str) -> None:
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing at /usr/bin/chromium: install it with `apt-get install -y chromium`")
    from playwright.sync_api import sync_playwright

    run_scenario(default_root() / "simulations" / f"{scenario}.yaml", executor="serial", output=tmp_path)
    report = (tmp_path / "report.html").resolve()
    url = report.as_uri()
    console: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page()
            page.on(
                "console", lambda m: console.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None
            )
            page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(url, wait_until="load")
            svg_count = page.locator("svg").count()
            title = page.title()
        finally:
            browser.close()
    assert console == []
    assert requests == [url]
    assert svg_count >= 3
    assert scenario in title
