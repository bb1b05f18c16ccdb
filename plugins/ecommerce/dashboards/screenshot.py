"""Open the dashboard in headless Chromium, offline, and save screenshots.

``python -m ecommerce.dashboards.screenshot HTML OUT_DIR [NAME]`` (``make screenshots``): NAME.png
(the whole page), NAME_top.png and the lineage view at the widths of ``LINEAGE_WIDTHS``
(NAME_lineage_1280.png…); NAME is ``dashboard`` unless given. Uses the
machine's Chromium (``CHROMIUM``, default ``/usr/bin/chromium``) through Playwright; no browser
is downloaded. Any request leaving the page is blocked, so the page must be self-contained.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


#: Window widths the lineage view is shot at (and tested at: tests/e2e/test_dashboard_states_e2e.py).
LINEAGE_WIDTHS = (1280, 1920)


def chromium_path() -> str:
    return os.environ.get("CHROMIUM") or "/usr/bin/chromium"


@contextmanager
def offline_page(html: Path, width: int = 1440, height: int = 1000):
    """A Playwright page showing ``html`` with the network cut off; yields (page, console errors,
    blocked requests)."""
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    blocked: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": width, "height": height}, offline=True)
            page = context.new_page()
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))

            def block(route):
                blocked.append(route.request.url)
                route.abort()

            page.route(lambda url: not url.startswith("file:"), block)
            page.goto(html.resolve().as_uri(), wait_until="load")
            page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length > 0")
            yield page, errors, blocked
        finally:
            browser.close()


def take(html: Path, out_dir: Path, name: str = "dashboard") -> list[Path]:
    """Save the whole dashboard, its top section and its lineage view at each of
    ``LINEAGE_WIDTHS`` as PNGs in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    shots = []
    with offline_page(html) as (page, errors, blocked):
        if errors or blocked:
            raise RuntimeError(f"dashboard did not render cleanly: errors={errors} blocked={blocked}")
        for path, full in ((out_dir / f"{name}.png", True), (out_dir / f"{name}_top.png", False)):
            page.screenshot(path=str(path), full_page=full)
            shots.append(path)
    for width in LINEAGE_WIDTHS:
        with offline_page(html, width=width) as (page, _, _):
            path = out_dir / f"{name}_lineage_{width}.png"
            page.locator("#lineage").screenshot(path=str(path))
            shots.append(path)
    return shots


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    html = Path(argv[0])
    if not html.is_file():
        print(f"{html} does not exist: run `make run` first", file=sys.stderr)
        return 1
    for path in take(html, Path(argv[1]), *argv[2:]):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
