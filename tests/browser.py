"""Open a page in headless Chromium (Debian's `chromium`, driven by Playwright) and report what a reader would see."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest


@dataclass
class PageCheck:
    """Every image of the page with whether it decoded, and every console error or page error."""

    images: list[tuple[str, int]] = field(default_factory=list)  # (src, natural width; 0 = broken)
    errors: list[str] = field(default_factory=list)

    @property
    def broken(self) -> list[str]:
        """Images that did not render."""
        return [src for src, width in self.images if width == 0]


def chromium() -> str:
    """The Chromium binary, skipping the test where it or Playwright is missing (`apt-get install -y chromium`)."""
    pytest.importorskip("playwright.sync_api", reason="pip install playwright (it drives the system chromium)")
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("no chromium: apt-get install -y chromium")
    return exe


def check_page(page_file: Path, screenshot: Path | None = None, width: int = 1100) -> PageCheck:
    """Load a local HTML file, wait for its images, collect console errors; optionally save a screenshot."""
    from playwright.sync_api import sync_playwright

    out = PageCheck()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.on("console", lambda m: out.errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: out.errors.append(str(e)))
            page.on("requestfailed", lambda r: out.errors.append(f"failed to load {r.url}"))
            page.goto(page_file.resolve().as_uri(), wait_until="load")
            out.images = [(str(s), int(w)) for s, w in page.evaluate(
                "Array.from(document.images).map(i => [i.getAttribute('src'), i.complete ? i.naturalWidth : 0])")]
            if screenshot is not None:
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshot), full_page=False)
        finally:
            browser.close()
    return out
