"""Take headless-chromium screenshots of every page of a running dashboard.

Usage: python tools/screenshots.py [BASE_URL] [OUT_DIR] [PAGE,PAGE...]
(default http://localhost:8501, screenshots/, every page)
Needs Debian's chromium (/usr/bin/chromium) and the playwright package (no browser download).
"""
import os
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
PAGES = {"overview": "", "map": "coverage_map", "indicators": "indicators", "uncovered": "uncovered",
         "data": "data", "quality": "quality", "targets": "targets", "report": "report"}


def main() -> None:
    base = sys.argv[1] if len(sys.argv) > 1 else "http://localhost:8501"
    out = Path(sys.argv[2] if len(sys.argv) > 2 else "screenshots")
    out.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        height = int(os.environ.get("SHOT_HEIGHT", "1100"))  # Streamlit scrolls inside; full_page alone cuts
        page = browser.new_page(viewport={"width": 1500, "height": height})
        wanted = sys.argv[3].split(",") if len(sys.argv) > 3 else list(PAGES)
        for name, path in PAGES.items():
            if name not in wanted:
                continue
            page.goto(f"{base}/{path}")
            page.wait_for_selector("[data-testid='stMainBlockContainer']", timeout=30000)
            page.wait_for_timeout(3000)
            page.wait_for_selector("[data-testid='stStatusWidget']", state="detached", timeout=60000)
            if name == "map":  # the map is drawn in its frame after the page's run (cold: after the compute)
                page.wait_for_function("""() => [...document.querySelectorAll("iframe[title$='.mz_map']")]
                    .some(f => f.contentWindow && f.contentWindow.__mzStyled === true)""", timeout=120000)
                page.wait_for_timeout(500)
            page.screenshot(path=str(out / f"{name}.png"), full_page=True)
            print("saved", out / f"{name}.png")
        browser.close()


if __name__ == "__main__":
    main()
