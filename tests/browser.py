"""Headless Chromium for the report tests: Debian's chromium and chromedriver (installed by
`make test`, see the Makefile), driven with selenium. `open_report` loads a report file and returns
what a reader's browser saw: console errors, images and their decoded sizes, load time."""

from __future__ import annotations

import base64
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "build" / "screenshots"  # git-ignored; kept after the run for a reader to look at
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
# The flags of a browser on a closed network: no background connections, no first-run, no sandbox (root).
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
)


@dataclass
class Page:
    console_errors: list[str]
    images: list[dict]
    load_ms: float
    driver: object


def require_browser() -> None:
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip(
            "chromium and chromedriver are not installed (`make test` installs Debian's chromium "
            "and chromium-driver when it runs as root)"
        )


@contextmanager
def chromium(profile: Path) -> Iterator[object]:
    require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def open_report(driver, path: Path, screenshot: str) -> Page:
    """Load ``path``; save a full-page screenshot as ``build/screenshots/<screenshot>.png``."""
    driver.get(path.resolve().as_uri())
    load_ms = driver.execute_script(
        "const n = performance.getEntriesByType('navigation')[0]; return n.loadEventEnd - n.startTime;"
    )
    images = driver.execute_script(
        "return Array.from(document.images).map(i => ({alt: i.alt, complete: i.complete, "
        "width: i.naturalWidth, height: i.naturalHeight}));"
    )
    errors = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    # the whole page, not the window: DevTools renders beyond the viewport
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / f"{screenshot}.png").write_bytes(base64.b64decode(shot["data"]))
    return Page(errors, images, float(load_ms), driver)


def table_after(driver, heading: str) -> list[list[str]]:
    """The body rows (cell texts) of the first table after the ``<h2>`` whose text is ``heading``."""
    from selenium.webdriver.common.by import By

    table = driver.find_element(By.XPATH, f"//h2[normalize-space()='{heading}']/following-sibling::table[1]")
    return [
        [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
        for row in table.find_elements(By.TAG_NAME, "tr")
        if row.find_elements(By.TAG_NAME, "td")
    ]


def assert_reads_cleanly(page: Page, path: Path, min_images: int) -> None:
    """What every report must show a reader: no console error, every image decoded, a file that
    stands alone under 5 MB and loads in under 2 s."""
    assert page.console_errors == [], page.console_errors
    assert len(page.images) >= min_images, page.images
    assert all(i["complete"] and i["width"] > 0 and i["height"] > 0 for i in page.images), page.images
    assert path.stat().st_size < 5 * 2**20
    assert page.load_ms < 2000, page.load_ms
