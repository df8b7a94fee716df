"""No English on any page of the demo (issue 9): a real browser walks the visible text and the
title/placeholder attributes of every page (and an unknown URL), Streamlit's own interface
included. Allowed: names that are not translated (formats, coordinate systems, Leaflet), icon
ligatures (Material icon names render as icons), file names and column names of the data.
Screen-reader labels (aria-label) are Streamlit's own and are not checked; table headers drawn on
canvas (st.dataframe) are checked by the AppTest test `test_table_headers_are_chinese`."""
import re

import pytest

from tests.e2e.test_map_browser import ARGS, CHROMIUM, server  # noqa: F401,F811 (module-scoped server fixture)

pytestmark = pytest.mark.browser

PAGES = ["", "coverage_map", "indicators", "uncovered", "data", "quality", "targets", "report", "no_such_page"]
#: Words that stay as they are in a Chinese interface: formats, systems, products, units.
ALLOWED = {
    "Leaflet", "OpenStreetMap", "ODbL", "WGS", "WGS84", "GCJ", "CGCS2000", "EPSG", "GPS", "UTF", "GBK", "GB18030",
    "CSV", "XLSX", "XLS", "Excel", "Word", "PPT", "PDF", "PNG", "SVG", "GeoJSON", "GEOJSON", "JSON", "GeoPackage",
    "GPKG", "ZIP", "KML", "KMZ", "Shapefile", "shp", "dbf", "prj", "cpg", "dpi", "xlsx", "xls", "csv", "docx",
    "pptx", "pdf", "png", "zip", "geojson", "gpkg", "kml", "kmz", "json",
}
# Data file names of the built-in demo (shown as the source on record).
DATA_NAMES = re.compile(r"shiyan_(townships|facilities)\.(geojson|csv)")
# Column names of the data files ("乡镇代码←code"): the file's own headers are data, not interface.
COLUMN_NAMES = re.compile(r"←[^、;；]*")
VISIBLE_TEXT = """() => {
  const out = [];
  const icons = new Set(document.querySelectorAll('[data-testid="stIconMaterial"], .material-symbols-rounded'));
  const tw = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {acceptNode: (n) => {
    for (let p = n.parentElement; p; p = p.parentElement) {
      if (icons.has(p)) return NodeFilter.FILTER_REJECT;
      const cs = getComputedStyle(p);
      if (cs.display === 'none' || cs.visibility === 'hidden') return NodeFilter.FILTER_REJECT;
      if (p.tagName === 'NOSCRIPT' || p.tagName === 'SCRIPT' || p.tagName === 'STYLE') return NodeFilter.FILTER_REJECT;
    }
    return NodeFilter.FILTER_ACCEPT;
  }});
  let n; while ((n = tw.nextNode())) { const t = n.nodeValue.trim(); if (t) out.push(t); }
  for (const el of document.querySelectorAll('[placeholder],[title]:not(iframe)')) {
    for (const a of ['placeholder', 'title']) { const v = el.getAttribute(a); if (v) out.push(v); }
  }
  return out;
}"""


def english_words(texts: list[str]) -> list[str]:
    found = []
    for text in texts:
        text = COLUMN_NAMES.sub("", DATA_NAMES.sub("", text))
        for word in re.findall(r"[A-Za-z]{3,}", text):
            if word not in ALLOWED:
                found.append(f"{word!r} in {text[:80]!r}")
    return found


def test_every_page_speaks_chinese(server):  # noqa: F811
    from playwright.sync_api import sync_playwright

    problems = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        for path in PAGES:
            page.goto(f"{server}/{path}")
            page.wait_for_selector("[data-testid='stMainBlockContainer']", timeout=60000)
            page.wait_for_selector(".stApp[data-test-script-state='notRunning']", timeout=90000)
            page.wait_for_timeout(2500)
            for exp in page.locator("[data-testid='stMain'] [data-testid='stExpander'] summary").all():
                exp.click()
            page.wait_for_timeout(500)
            words = english_words(page.evaluate(VISIBLE_TEXT))
            if words:
                problems[path or "总览"] = sorted(set(words))[:20]
        browser.close()
    assert not problems, "English text on screen:\n" + "\n".join(f"/{k}: {v}" for k, v in problems.items())
