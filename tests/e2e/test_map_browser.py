"""The map page in a real browser (Playwright driving Debian's chromium): township polygons and
facility markers are drawn, nothing is requested from any host but the app's own, the controls are
Chinese (full-screen button included), clicks show townships and facilities, the legend and
tooltips stay inside the map, printing gives one A4 landscape sheet, the map image downloads."""
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.conftest import ROOT
from tests.e2e import uploader_input

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]
pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(workspace: Path):
    """A fresh `streamlit run app.py` on a free port: (process, base URL)."""
    port = free_port()
    env = dict(os.environ, MZ_WORKSPACE=str(workspace))
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                             "--server.headless", "true", "--server.address", "127.0.0.1"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{base}/_stcore/health", timeout=2).read() == b"ok":
                return proc, base
        except OSError:
            time.sleep(0.5)
    proc.kill()
    pytest.fail("streamlit did not become healthy within 60 s")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (.ci/run installs it)")
    proc, base = start_server(tmp_path_factory.mktemp("ws"))
    yield base
    proc.terminate()
    proc.wait(timeout=10)


def map_frame(page, timeout_ms: int = 60000):
    """(iframe element, frame) of the streamlit-folium map, once its shapes are drawn and styled
    (the style, sent apart from the map, has coloured them)."""
    deadline = time.time() + timeout_ms / 1000
    while True:
        frame_el = page.wait_for_selector("iframe[title$='.mz_map']", timeout=timeout_ms)
        frame = frame_el.content_frame()
        try:
            if frame is not None and frame.evaluate("() => window.__mzStyled === true"):
                return frame_el, frame
        except Exception:  # noqa: BLE001 - the frame is being replaced (a new view)
            pass
        if time.time() > deadline:
            raise TimeoutError("the map was not drawn and styled")
        page.wait_for_timeout(50)


def rect(frame, selector: str) -> dict:
    return frame.eval_on_selector(selector, "e => { const r = e.getBoundingClientRect(); "
                                            "return {left: r.left, top: r.top, right: r.right, bottom: r.bottom}; }")


def inside(inner: dict, outer: dict) -> bool:
    return (inner["left"] >= outer["left"] and inner["top"] >= outer["top"] and inner["right"] <= outer["right"]
            and inner["bottom"] <= outer["bottom"])


# The first facility marker that is not covered by a control (legend, buttons): its index.
FREE_MARKER = """() => [...document.querySelectorAll("path.leaflet-interactive[stroke='#ffffff']")].findIndex(e => {
  const r = e.getBoundingClientRect();
  return r.width > 0 && document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2) === e; })"""


def test_map_draws_townships_and_facilities_offline(server, tmp_path):
    from playwright.sync_api import sync_playwright

    requested: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("request", lambda r: requested.append(r.url))
        try:
            page.goto(f"{server}/coverage_map")
            frame_el, frame = map_frame(page)
            page.wait_for_timeout(1500)
            fills = frame.eval_on_selector_all("path.leaflet-interactive", "els => els.map(e => [e.getAttribute('fill'), e.getAttribute('stroke')])")
            # every style and inline script of the map page's header reached the frame (the map
            # component moves them from its arguments into the frame's head)
            header = frame.evaluate("""() => [[...document.querySelectorAll('style')].map(s => s.textContent).join(' '),
                                              typeof window.L_NO_TOUCH]""")
            caption = page.get_by_text(re.compile(r"共 \d+ 个乡镇")).inner_text()
            titles = frame.eval_on_selector_all(".leaflet-control a[title]", "els => els.map(e => e.title)")
            scale = frame.locator(".leaflet-control-scale").inner_text()
            # clicking a township shows its details beside the map
            frame.locator("path.leaflet-interactive[fill='#e4572e']").first.click(force=True)
            page.get_by_text("本指标:").wait_for(timeout=30000)
            details = page.get_by_text("本指标:").inner_text()
            # clicking a facility shows its name, class, status, address and township
            frame_el, frame = map_frame(page)
            marker = frame.locator("path.leaflet-interactive[stroke='#ffffff']").nth(frame.evaluate(FREE_MARKER))
            marker.scroll_into_view_if_needed()
            at = marker.bounding_box()  # hovering brings the marker to the front: keep its position, not its index
            x, y = at["x"] + at["width"] / 2, at["y"] + at["height"] / 2
            page.mouse.move(x, y)
            tooltip = frame.locator(".leaflet-tooltip").inner_text(timeout=10000)
            page.mouse.click(x, y)
            page.get_by_text("所属乡镇(街道)").wait_for(timeout=30000)
            panel = page.locator(".st-key-map_details").inner_text()
            for _ in range(30):  # the click closes the tooltip (after the rerun's restyle on a loaded machine)
                tooltip_after_click = frame.locator(".leaflet-tooltip").count()
                if tooltip_after_click == 0:
                    break
                page.wait_for_timeout(100)
            page.screenshot(path=str(tmp_path / "map_facility.png"))
        except Exception:
            page.screenshot(path=str(tmp_path / "map_failure.png"), full_page=True)
            raise
        finally:
            browser.close()
    for rule in ("html, body {", ".leaflet-tooltip.mz-tip {", ".mz-legend {", ".mz-label span {", "@media print"):
        assert rule in header[0], rule
    assert header[1] == "boolean"
    n_units, n_facilities = map(int, re.findall(r"(\d+) 个", caption)[:2])
    polygons = [f for f, s in fills if f in ("#2e8b57", "#e4572e", "#cfcfcf")]
    markers = [f for f, s in fills if s == "#ffffff"]
    assert n_units == 119 and len(polygons) == n_units
    assert {"#2e8b57", "#e4572e"} <= set(polygons)  # both covered and uncovered townships drawn
    assert n_facilities > 0 and len(markers) == n_facilities
    hosts = {urlparse(u).hostname for u in requested if urlparse(u).scheme in ("http", "https", "ws", "wss")}
    assert hosts <= {"127.0.0.1", "localhost"}, f"off-host requests: {sorted(hosts)}"
    assert any("/app/static/leaflet-1.9.4/leaflet.js" in u for u in requested)
    assert any("/app/static/leaflet.fullscreen-3.0.0/Control.FullScreen.js" in u for u in requested)
    assert {"放大", "缩小", "全屏显示", "图层"} <= set(titles), titles
    assert "千米" in scale and "mi" not in scale and "ft" not in scale
    assert "未覆盖" in details  # the clicked township was an uncovered one
    name = tooltip.split("设施", 1)[1].split("类别", 1)[0].strip()  # tooltip rows: 设施 <name> 类别 <class> 状态 ...
    assert name and name in panel, (tooltip, panel)
    for label in ("类别", "状态", "地址", "所属乡镇(街道)"):
        assert label in panel, panel
    assert tooltip_after_click == 0  # a click closes the tooltip


def test_legend_fits_and_tooltips_stay_inside_the_map(server, tmp_path):
    """All classes on the map: the legend stays inside the map box (scrolling within it, never cut
    off) and can be collapsed; tooltips anywhere on the map are never clipped by its edges."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        try:
            page.goto(f"{server}/coverage_map")
            map_frame(page)
            page.get_by_text("显示全部类别设施").click()
            page.wait_for_timeout(1500)
            frame_el, frame = map_frame(page)
            page.wait_for_timeout(1000)
            box = rect(frame, ".leaflet-container")
            legend = rect(frame, ".mz-legend")
            body = frame.eval_on_selector(".mz-legend-body", "e => [e.scrollHeight, e.clientHeight, getComputedStyle(e).overflowY]")
            classes = frame.locator(".mz-legend .mz-pt").count()
            page.screenshot(path=str(tmp_path / "map_all_classes.png"))
            clipped = []
            frame_box = frame_el.bounding_box()
            for fx in (0.02, 0.3, 0.52, 0.7, 0.97):
                for fy in (0.03, 0.5, 0.97):
                    page.mouse.move(frame_box["x"] + fx * frame_box["width"], frame_box["y"] + fy * frame_box["height"])
                    page.wait_for_timeout(150)
                    if frame.locator(".leaflet-tooltip").count() and not inside(rect(frame, ".leaflet-tooltip"), box):
                        clipped.append((fx, fy))
            frame.locator(".mz-legend-toggle").click()
            collapsed = rect(frame, ".mz-legend")
        except Exception:
            page.screenshot(path=str(tmp_path / "legend_failure.png"), full_page=True)
            raise
        finally:
            browser.close()
    assert classes >= 10  # all classes mode: many classes in the legend
    assert inside(legend, box), (legend, box)
    assert legend["right"] - legend["left"] <= 0.5 * (box["right"] - box["left"])
    assert body[2] == "auto" and body[1] <= box["bottom"] - box["top"]
    assert collapsed["bottom"] - collapsed["top"] < 40  # collapsed to its title bar
    assert not clipped, f"tooltips cut off by the map edge at {clipped}"


def test_print_gives_one_a4_landscape_sheet(server, tmp_path):
    """Printing the map page: one A4 landscape sheet with the title, the map with its legend and
    scale bar; no sidebar, widgets or details panel. The map is fitted to the paper and the screen
    view comes back afterwards."""
    import unicodedata

    from playwright.sync_api import sync_playwright
    from pypdf import PdfReader

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(f"{server}/coverage_map")
            frame_el, frame = map_frame(page)
            page.wait_for_timeout(1500)
            indicator = page.locator("[data-testid='stSelectbox']").filter(has_text="指标").locator("input").input_value() or \
                page.locator("[data-testid='stSelectbox']").filter(has_text="指标").inner_text().split("\n")[-1]
            size_before = frame_el.bounding_box()
            # as the browser's print command: beforeprint, then layout with print media
            page.pdf(path=str(tmp_path / "map.pdf"), format="A4", landscape=True, print_background=True,
                     prefer_css_page_size=True)
            page.wait_for_timeout(500)
            size_after = frame_el.bounding_box()
            page.emulate_media(media="print")  # print preview as a picture, for a person to look at
            page.wait_for_timeout(800)
            page.screenshot(path=str(tmp_path / "map_print_media.png"), full_page=True)
        except Exception:
            page.screenshot(path=str(tmp_path / "print_failure.png"), full_page=True)
            raise
        finally:
            browser.close()
    pdf = PdfReader(str(tmp_path / "map.pdf"))
    assert len(pdf.pages) == 1
    width, height = float(pdf.pages[0].mediabox.width), float(pdf.pages[0].mediabox.height)
    assert width > height and abs(width - 842) < 3 and abs(height - 595) < 3  # A4 landscape, points
    text = unicodedata.normalize("NFKC", pdf.pages[0].extract_text()).replace(" ", "")
    assert "全部区县" in text and "千米" in text and "已覆盖" in text  # title, scale bar, legend
    if indicator:
        assert unicodedata.normalize("NFKC", indicator).replace(" ", "")[:12] in text
    for screen_only in ("计入覆盖的设施状态", "导出地图图片", "点击地图上的"):
        assert screen_only not in text
    assert size_after == size_before  # the screen layout is back after printing


def test_export_map_image_is_a_300_dpi_thematic_map(server, tmp_path):
    from PIL import Image
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        try:
            page.goto(f"{server}/coverage_map")
            map_frame(page)
            page.get_by_role("button", name=re.compile("导出地图图片")).click()
            with page.expect_download(timeout=120000) as download:
                page.get_by_role("button", name=re.compile("PNG")).click()
            path = tmp_path / download.value.suggested_filename
            download.value.save_as(path)
        except Exception:
            page.screenshot(path=str(tmp_path / "export_failure.png"), full_page=True)
            raise
        finally:
            browser.close()
    assert path.suffix == ".png"
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert round(image.info["dpi"][0]) == 300
        assert image.width >= 2500 and image.width > image.height  # 10 x 7.5 in at 300 dpi


def test_upload_save_and_back_to_demo(server, tmp_path, qingdao_path):
    """Upload the real Qingdao layer and a ledger on the data page, save, see them on the map."""
    from playwright.sync_api import sync_playwright

    ledger = tmp_path / "设施.csv"
    ledger.write_text("编号,名称,类型,经度,纬度\nQ1,香港路街道养老服务中心,养老服务中心,120.3823,36.0671\n"
                      "Q2,测试社工站,社工站,120.45,36.15\n", encoding="gbk")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(f"{server}/data")
            uploader_input(page, "乡镇(街道)边界").set_input_files(str(qingdao_path))
            page.get_by_text(re.compile("边界读取成功: 135 个乡镇")).wait_for(timeout=60000)
            uploader_input(page, "设施表").set_input_files(str(ledger))
            page.get_by_text(re.compile("设施表读取成功: 2 条记录; 格式 文本文件, GBK")).wait_for(timeout=60000)
            page.get_by_role("button", name="保存为工作区并使用").click()
            page.get_by_text("已保存的工作区").first.wait_for(timeout=60000)
            page.goto(f"{server}/coverage_map")
            page.get_by_text(re.compile(r"共 135 个乡镇")).wait_for(timeout=60000)
            assert page.get_by_text("当前为内置演示数据").count() == 0
            page.goto(f"{server}/data")
            page.get_by_role("button", name=re.compile("切换回演示数据")).click()
            page.get_by_text("当前为内置演示数据").first.wait_for(timeout=60000)
        except Exception:
            page.screenshot(path=str(tmp_path / "upload_failure.png"), full_page=True)
            raise
        finally:
            browser.close()


def test_deep_link_on_fresh_server_goes_through_app(tmp_path):
    """The first visitor of a fresh server opens /quality directly: the page comes with the app's
    navigation and sidebar (plan selector), not as a lone script with English file-name links."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (.ci/run installs it)")
    proc, base = start_server(tmp_path / "ws")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            page = browser.new_page()
            page.goto(f"{base}/quality")
            page.wait_for_selector("text=坐标系与编码的判断", timeout=60000)
            nav = page.locator("[data-testid='stSidebarNav']").inner_text(timeout=30000)
            assert "数据质量" in nav and "总览" in nav
            assert "quality" not in nav
            page.locator("[data-testid='stSidebar']").get_by_text("规划", exact=True).first.wait_for(timeout=30000)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# ------------------------------------------------------------------ restyle, drill-down, basemaps

class WebsocketBytes:
    """Bytes the page received over Streamlit's websocket since `reset`, and the frames themselves."""

    def __init__(self, page) -> None:
        self.total = 0
        self.frames: list[bytes] = []
        page.on("websocket", lambda ws: ws.on("framereceived", self._add))

    def _add(self, payload) -> None:
        self.total += len(payload)
        self.frames.append(payload if isinstance(payload, bytes) else payload.encode())

    def reset(self) -> None:
        self.total = 0
        self.frames = []

    def carried(self, text: str) -> bool:
        """Whether a frame received since `reset` contains `text` (as the component's JSON
        arguments carry it: quotes escaped)."""
        needle = json.dumps(text, ensure_ascii=False)[1:-1].encode()
        return any(needle in f for f in self.frames)


# A township's label point (an area's centre) away from facility markers: {x, y, code} in the map.
TOWNSHIP_POINT = """() => {
  const m = window.map, size = m.getSize();
  const marks = window.__mzFacilities.getLayers().map(x => m.latLngToContainerPoint(x.getLatLng()));
  for (const l of window.__mzLayer.getLayers()) {
    const f = l.feature.properties, p = m.latLngToContainerPoint(f.lp ? L.latLng(f.lp[1], f.lp[0]) : l.getCenter());
    if (p.x < 60 || p.y < 60 || p.x > size.x * 0.55 || p.y > size.y - 60) continue;
    if (marks.some(q => Math.abs(q.x - p.x) < 12 && Math.abs(q.y - p.y) < 12)) continue;
    return {x: p.x, y: p.y, code: f.unit_code || f.area_code};
  }
  return null; }"""


def new_map_frame(page, timeout_ms: int = 60000):
    """`map_frame` of a map drawn after `mark_frame` marked the one before."""
    deadline = time.time() + timeout_ms / 1000
    while True:
        frame_el, frame = map_frame(page, timeout_ms)
        try:
            if frame.evaluate("() => window.__mzMarked === undefined"):
                return frame_el, frame
        except Exception:  # noqa: BLE001 - detached while being replaced
            pass
        if time.time() > deadline:
            raise TimeoutError("no new map")
        page.wait_for_timeout(50)


def mark_frame(frame) -> None:
    frame.evaluate("() => { window.__mzMarked = true; }")


def click_in_map(page, frame_el, point: dict) -> None:
    box = frame_el.bounding_box()
    page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])


def test_click_and_indicator_change_restyle_without_resending_geometry(server, tmp_path):
    """The issue's browser check: a township click shows its details and an indicator change
    recolours the map, both without a new map (the same frame document) and without the township
    layer's geometry on the wire (bytes received far below the layer's size)."""
    from playwright.sync_api import sync_playwright

    from geodata.demo import load_demo
    from geodata.io import read_units
    from geodata.mapview import build_layer

    layer_text = build_layer(read_units(load_demo()[0])[0], "").geojson  # the township layer as drawn
    ring = json.dumps(json.loads(layer_text)["geometry"][0]["q"][0], separators=(",", ":"))  # its first ring, as sent
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        received = WebsocketBytes(page)
        try:
            page.goto(f"{server}/coverage_map")
            frame_el, frame = map_frame(page)
            page.wait_for_timeout(1500)
            first = received.total
            first_had_geometry = received.carried(ring)
            frame.evaluate("() => { window.__probe = 'same document'; }")
            point = frame.evaluate(TOWNSHIP_POINT)
            received.reset()
            click_in_map(page, frame_el, point)
            details = page.locator(".st-key-map_details")
            details.get_by_text(f"代码 {point['code']}").wait_for(timeout=30000)
            page.wait_for_timeout(1500)
            after_click = received.total
            click_had_geometry = received.carried(ring)
            fills_before = frame.evaluate("() => window.__mzLayer.getLayers().map(l => l.options.fillColor).join()")
            count_before = frame.evaluate("() => window.__mzStyleCount")
            page.locator("[data-testid='stSelectbox']").filter(has_text="指标").first.click()
            options = page.locator("[role='option']")
            options.nth(2).wait_for(timeout=10000)
            received.reset()
            options.nth(2).click()  # another coverage indicator (another class, other townships covered)
            page.wait_for_function("""([sel, before]) => {
                const f = document.querySelector(sel).contentWindow;
                return f.__mzLayer.getLayers().map(l => l.options.fillColor).join() !== before; }""",
                                   arg=["iframe[title$='.mz_map']", fills_before], timeout=30000)
            page.wait_for_timeout(1500)
            after_change = received.total
            change_had_geometry = received.carried(ring)
            frame_el, frame = map_frame(page)
            probe = frame.evaluate("() => window.__probe")
            count_after = frame.evaluate("() => window.__mzStyleCount")
            page.screenshot(path=str(tmp_path / "map_restyled.png"))
        except Exception:
            page.screenshot(path=str(tmp_path / "restyle_failure.png"), full_page=True)
            raise
        finally:
            browser.close()
    assert first_had_geometry and first > len(layer_text)  # the first draw carried the map: layer, facilities, scripts
    assert probe == "same document"  # neither the click nor the change rebuilt the map
    assert count_after > count_before  # the change restyled it
    # a click and a change carry page elements and the style, not the township layer again
    assert not click_had_geometry and not change_had_geometry
    assert after_click < first / 4, (after_click, first)
    assert after_change < first / 4, (after_change, first)


@pytest.fixture(scope="module")
def large_server(tmp_path_factory):
    """A server on 3,200 generated townships (above the map's 3,000 threshold), coarse shapes."""
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (.ci/run installs it)")
    from geodata import workspace
    from tools.benchmark_map import synthetic_facilities, synthetic_townships

    folder = tmp_path_factory.mktemp("large_ws")
    units = synthetic_townships(3200, vertices=12)
    workspace.save_dataset(units, synthetic_facilities(units, per_township=0.5), folder)
    proc, base = start_server(folder)
    yield base, units
    proc.terminate()
    proc.wait(timeout=10)


def test_scenario_map_click_gives_the_point_and_adds_a_site(server, tmp_path):
    """规划方案: a click on the map hands Python the clicked point (the map component's
    last_clicked, one value per click); the planner adds a site there and it is drawn (◇)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        try:
            page.goto(f"{server}/scenarios")
            page.get_by_label("新方案名称").fill("浏览器点选方案")
            page.get_by_role("button", name="新建方案").click()
            page.get_by_text("已新建方案「浏览器点选方案」").first.wait_for(timeout=60000)
            page.goto(f"{server}/scenarios")  # a settled page (no message above the map), the new scenario chosen
            page.get_by_text("点击地图上的位置, 再在此选类别").first.wait_for(timeout=60000)
            frame_el, frame = map_frame(page)
            point = frame.evaluate(TOWNSHIP_POINT)
            assert point is not None
            frame.evaluate("() => window.map.on('click', e => { window.__clickedAt = [e.latlng.lng, e.latlng.lat]; })")
            click_in_map(page, frame_el, point)
            where = frame.evaluate("() => window.__clickedAt")  # read at once: a rerun may replace the frame
            caption = page.get_by_text(re.compile(r"位置: 经度 [\d.]+, 纬度 [\d.]+")).first
            caption.wait_for(timeout=60000)
            lng, lat = map(float, re.findall(r"[\d.]+", caption.inner_text())[-2:])
            assert abs(lng - where[0]) < 1e-4 and abs(lat - where[1]) < 1e-4  # the point clicked, as shown (5 decimals)
            page.get_by_label("名称", exact=True).fill("点选新站")
            page.get_by_role("button", name="添加到方案").click()
            page.get_by_text("已添加 1 个规划点位。").first.wait_for(timeout=60000)
            # the planned site on the map (the page's message above it may make Streamlit draw a new frame)
            deadline, planned = time.time() + 60, 0
            while planned != 1 and time.time() < deadline:
                try:
                    planned = map_frame(page)[1].evaluate("() => document.querySelectorAll('.leaflet-marker-icon .mz-planned').length")
                except Exception:  # noqa: BLE001 - the frame was being replaced
                    planned = 0
                page.wait_for_timeout(200)
            assert planned == 1
            page.screenshot(path=str(tmp_path / "scenario_click.png"))
        finally:
            browser.close()


def test_large_layer_opens_on_districts_and_drills_down(large_server, tmp_path):
    from playwright.sync_api import sync_playwright

    base, units = large_server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(f"{base}/coverage_map")
            frame_el, frame = map_frame(page, 240000)
            top = frame.evaluate("() => [window.__mzLayerKind, window.__mzLayer.getLayers().length]")
            tip_point = frame.evaluate(TOWNSHIP_POINT)
            click_in_map(page, frame_el, tip_point)
            page.get_by_role("button", name="全部", exact=True).wait_for(timeout=60000)
            frame_el, frame = map_frame(page)
            page.wait_for_function("() => document.querySelector(\"iframe[title$='.mz_map']\")"
                                   ".contentWindow.__mzLayerKind === 'township'", timeout=60000)
            frame_el, frame = map_frame(page)
            inner = frame.evaluate("() => window.__mzLayer.getLayers().map(l => l.feature.properties.unit_code)")
            labels = frame.locator(".mz-label").count()
            page.screenshot(path=str(tmp_path / "map_drilled.png"))
            page.get_by_role("button", name="全部", exact=True).click()
            page.wait_for_function("() => document.querySelector(\"iframe[title$='.mz_map']\")"
                                   ".contentWindow.__mzLayerKind === 'county'", timeout=60000)
            frame_el, frame = map_frame(page)
            back = frame.evaluate("() => window.__mzLayer.getLayers().length")
        except Exception:
            page.screenshot(path=str(tmp_path / "drill_failure.png"), full_page=True)
            raise
        finally:
            browser.close()
    districts = units["district_code"].nunique()
    assert top == ["county", districts]
    expected = set(units.loc[units["district_code"] == tip_point["code"], "code"])
    assert set(inner) == expected and len(inner) == len(expected)
    assert labels > 0  # a district's few townships are named on the map
    assert back == districts


@pytest.mark.parametrize("choice, host", [("高德地图", "autonavi.com"), ("OpenStreetMap", "openstreetmap.org")])
def test_basemap_tiles_only_when_chosen_and_offline_notice(server, tmp_path, choice, host):
    """No tile request before a basemap is chosen; after, only to its host; without internet the
    map says so and keeps drawing townships and facilities."""
    from playwright.sync_api import sync_playwright

    requested: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("request", lambda r: requested.append(r.url))
        try:
            page.goto(f"{server}/coverage_map")
            _, frame = map_frame(page)
            mark_frame(frame)
            before = [u for u in requested if urlparse(u).hostname not in ("127.0.0.1", "localhost")]
            page.locator("[data-testid='stSelectbox']").filter(has_text="底图").first.click()
            page.get_by_role("option", name=choice).click()
            frame_el, frame = new_map_frame(page)
            notice = frame.locator(".mz-offline")
            notice.wait_for(timeout=30000)
            text = notice.inner_text()
            attribution = frame.locator(".leaflet-control-attribution").inner_text()
            drawn = frame.evaluate("() => window.__mzLayer.getLayers().length")
            page.screenshot(path=str(tmp_path / f"basemap_{host}.png"))
            page.locator("[data-testid='stSelectbox']").filter(has_text="底图").first.click()
            page.get_by_role("option", name="无(离线)").click()
            page.wait_for_timeout(1500)
        except Exception:
            page.screenshot(path=str(tmp_path / "basemap_failure.png"), full_page=True)
            raise
        finally:
            browser.close()
    assert before == []
    off_host = {urlparse(u).hostname for u in requested if urlparse(u).hostname not in ("127.0.0.1", "localhost")}
    assert off_host and all(h.endswith(host) for h in off_host), off_host
    assert "无法加载" in text and "无(离线)" in text
    assert "审图号" in attribution
    assert drawn == 119
