"""User text is data, never markup (real browser, Playwright driving Debian's chromium).

A ledger, a township layer, their file names and a plan-target table carry, in every place a
planner's own text can reach the screen (facility name and id, 类型 value, 状态 value, address,
column header, both file names, township and district names, plan name, indicator text), a
Markdown image and an HTML <img> that point at a local HTTP server started by the test:

    ![x](http://127.0.0.1:PORT/md-<where>.png)<img src="http://127.0.0.1:PORT/html-<where>.png">

The test uploads them on the 数据 page, saves the workspace, picks the payload plan, visits every
page (opening expanders, every 查看 option on 数据质量, a click on the payload township on 地图)
and asserts the server received no request at all and no element on any page or map frame points
at it. A failure names each <where> tag and the page that requested it. It also asserts that the
payload text is on screen as literal text, so the test cannot pass by not showing it.
"""
import contextlib
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import ROOT
from tests.e2e import uploader_input
from tests.e2e.test_map_browser import ARGS, CHROMIUM, start_server

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots")
#: (title, url path) of every page, in the navigation's order (app.py).
PAGES = [("总览", "/"), ("地图", "/coverage_map"), ("指标", "/indicators"), ("未覆盖乡镇", "/uncovered"),
         ("数据", "/data"), ("数据质量", "/quality"), ("规划指标", "/targets"), ("报告导出", "/report")]
TOWNSHIP_CODE, DISTRICT_CODE = "420302001", "420302"  # 武当路街道, 茅箭区 in the demo layer
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360"
                    "000002000001e221bc330000000049454e44ae426082")


class Canary:
    """A local HTTP server that records the path of every request it gets (and answers a 1x1 PNG)."""

    def __init__(self):
        self.paths: list[str] = []
        canary = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self):
                canary.paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(PNG)))
                self.send_header("Access-Control-Allow-Origin", "*")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(PNG)

            do_GET = do_POST = do_HEAD = do_OPTIONS = _record

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def payload(self, where: str, quoted: bool = True) -> str:
        """The Markdown image and the HTML image for one place. File names take an unquoted src: the
        browser sends `"` in an upload's file name as %22."""
        src = f'"{self.base}/html-{where}.png"' if quoted else f"{self.base}/html-{where}.png"
        return f"![x]({self.base}/md-{where}.png)<img src={src}>"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def canary():
    c = Canary()
    yield c
    c.close()


def tag_of(path: str) -> str:
    """`/md-name.png` -> `md-name`."""
    return path.rsplit("/", 1)[-1].split("?")[0].removesuffix(".png")


def make_inputs(canary: Canary, workspace: Path) -> dict:
    """Write the payload plan table into the workspace; return the upload files and the payload texts."""
    p = canary.payload
    text = {
        "name": "测试养老中心" + p("name"), "class": "自定义类型" + p("class"), "status": "待核实" + p("status"),
        "header": "附加说明" + p("header"), "id": "SY-X" + p("id"), "address": "湖北省十堰市" + p("address"),
        "township": "武当路街道" + p("township"), "district": "茅箭区" + p("district"),
        "plan": "测试规划" + p("plan"), "indicator": "乡镇(街道)养老服务机构覆盖率" + p("indicator"),
        "filename": "台账" + p("filename", False) + ".csv", "unitsfile": "边界" + p("unitsfile", False) + ".geojson",
    }
    ledger = pd.read_csv(ROOT / "data/demo/shiyan_facilities.csv", dtype=str, keep_default_na=False)
    ledger.loc[0, "名称"] = text["name"]                      # SY0001, in 武当路街道: on the map and in its details
    ledger.loc[1, ["名称", "类型", "地址"]] = [text["name"].replace("测试", "另一"), text["class"], text["address"]]
    ledger.loc[2, ["编号", "状态"]] = [text["id"], text["status"]]
    ledger[text["header"]] = "备注内容"
    ledger_bytes = ledger.to_csv(index=False).encode("utf-8-sig")

    layer = json.loads((ROOT / "data/demo/shiyan_townships.geojson").read_text(encoding="utf-8"))
    for f in layer["features"]:
        props = f["properties"]
        if props["district_code"] == DISTRICT_CODE:
            props["district_name"] = text["district"]
        if props["code"] == TOWNSHIP_CODE:
            props["name"] = text["township"]
            township_geometry = f["geometry"]
    units_bytes = json.dumps(layer, ensure_ascii=False).encode("utf-8")

    targets = pd.read_csv(ROOT / "data/plan_targets.csv", dtype=str, keep_default_na=False)
    base = targets[targets["plan"] == "十堰市民政事业发展十四五规划"].copy()
    base["plan"] = text["plan"]
    base["target_id"] = [f"XSS-{i + 1:02d}" for i in range(len(base))]
    first = base.index[base["measure"].eq("coverage")][0]  # the first coverage indicator: default on 地图/指标/报告
    base.loc[first, "indicator"] = text["indicator"]
    base.loc[first, "source_quote"] = base.loc[first, "source_quote"] or "原文"
    workspace.mkdir(parents=True, exist_ok=True)
    pd.concat([targets, base], ignore_index=True).to_csv(workspace / "plan_targets.csv", index=False)

    from shapely.geometry import shape
    point = shape(township_geometry).representative_point()
    first_facility = (float(ledger.loc[0, "纬度"]), float(ledger.loc[0, "经度"]))
    return {"text": text, "point": (point.y, point.x), "facility": first_facility,
            "units": {"name": text["unitsfile"], "mimeType": "application/geo+json", "buffer": units_bytes},
            "ledger": {"name": text["filename"], "mimeType": "text/csv", "buffer": ledger_bytes}}


def settle(page, quiet: float = 1.0, timeout: float = 90.0) -> None:
    """Wait until the script has stopped running (Streamlit's script state and running icon; then no
    network) for `quiet` seconds. (The status widget itself also shows "File change. Rerun".)"""
    deadline = time.time() + timeout
    calm_since = None
    while time.time() < deadline:
        busy = page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").count() == 0 or \
            page.locator("[data-testid='stStatusWidgetRunningIcon'], [data-testid='stSkeleton']").count() > 0
        if busy:
            calm_since = None
        elif calm_since is None:
            calm_since = time.time()
        elif time.time() - calm_since >= quiet:
            with contextlib.suppress(Exception):  # a long-polling request is no failure
                page.wait_for_load_state("networkidle", timeout=5000)
            return
        page.wait_for_timeout(250)
    raise AssertionError(f"the page kept running for more than {timeout:.0f} s")


#: Elements whose attributes make the browser fetch something (checked in every frame).
_FETCHING = """port => {
  const out = [];
  for (const el of document.querySelectorAll('*')) {
    for (const a of ['src', 'srcset', 'poster', 'data', 'background', 'href', 'xlink:href', 'style']) {
      const v = el.getAttribute(a);
      if (v && v.includes('127.0.0.1:' + port)) {
        const link = a === 'href' && el.tagName === 'A';  // a link fetches nothing until clicked
        out.push((link ? 'LINK ' : '') + el.tagName.toLowerCase() + '[' + a + ']=' + v);
      }
    }
  }
  return out;
}"""


def canary_elements(page, port: int) -> list[str]:
    """Elements in any frame whose attributes point at the canary (links prefixed `LINK `)."""
    found = []
    for frame in page.frames:
        with contextlib.suppress(Exception):  # a frame navigating away
            found += frame.evaluate(_FETCHING, port)
    return found


def all_text(page) -> str:
    """The visible text of the page and of every frame in it (map iframes, their tooltips)."""
    texts = []
    for frame in page.frames:
        with contextlib.suppress(Exception):  # a frame navigating away
            texts.append(frame.locator("body").inner_text(timeout=5000))
    return "\n".join(texts).replace("\u200b", "")  # esc() breaks autolinks with zero-width spaces


def scroll_everything(page) -> None:
    """Scroll each scrollable container to its end and back, so lazily loaded images would load."""
    page.evaluate("""() => {
      for (const el of [document.scrollingElement, ...document.querySelectorAll('*')]) {
        if (el && el.scrollHeight > el.clientHeight + 10) { el.scrollTop = el.scrollHeight; }
      }
    }""")
    page.wait_for_timeout(300)
    page.evaluate("""() => { for (const el of [document.scrollingElement, ...document.querySelectorAll('*')])
                      { if (el) el.scrollTop = 0; } }""")


def open_expanders(page) -> None:
    """Open every collapsed expander (one at a time: each opening re-renders the list)."""
    closed = page.locator("[data-testid='stMain'] [data-testid='stExpander'] details:not([open]) > summary")
    for _ in range(closed.count() + 2):
        if closed.count() == 0:
            return
        before = closed.count()
        closed.first.click(timeout=5000)
        for _ in range(20):
            if closed.count() < before:
                break
            page.wait_for_timeout(100)
        else:
            raise AssertionError("an expander did not open")


def open_selectbox(page, selectbox) -> None:
    """Open a Streamlit selectbox's list of options (the first click may only scroll it into view)."""
    for attempt in range(4):
        selectbox.locator("input").click()
        try:
            page.get_by_role("option").first.wait_for(timeout=2500)
            return
        except Exception:
            if attempt == 3:
                raise


def map_box(page):
    """(frame, map container) of the streamlit-folium map on the page."""
    frame = page.wait_for_selector("iframe[title$='.mz_map']", timeout=60000).content_frame()
    frame.wait_for_selector("path.leaflet-interactive", timeout=60000)
    return frame, frame.locator("#" + frame.evaluate("() => window.map.getContainer().id"))


def point_on_map(page, frame, lat_lon: tuple[float, float]) -> dict:
    """Centre the map on a point at zoom 14; the point's position in the map container."""
    frame.evaluate("ll => window.map.setView(ll, 14, {animate: false})", list(lat_lon))
    page.wait_for_timeout(500)
    x, y = frame.evaluate("ll => { const p = window.map.latLngToContainerPoint(ll); return [p.x, p.y]; }", list(lat_lon))
    return {"x": x, "y": y}


def pick_option(page, selectbox, pattern) -> None:
    """Open a Streamlit selectbox and choose the option matching `pattern`."""
    open_selectbox(page, selectbox)
    page.get_by_role("option").filter(has_text=pattern).first.click()


def options_of(page, selectbox) -> list[str]:
    open_selectbox(page, selectbox)
    texts = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    return texts


def test_user_text_is_never_rendered_as_markup(tmp_path, canary, monkeypatch):
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    # others edit pages/ while this runs: no "File change. Rerun" prompt, no reload mid-test
    monkeypatch.setenv("STREAMLIT_SERVER_FILE_WATCHER_TYPE", "none")
    workspace = tmp_path / "ws"
    inputs = make_inputs(canary, workspace)
    text = inputs["text"]
    SHOTS.mkdir(parents=True, exist_ok=True)

    leaks: dict[str, list[str]] = {}      # step -> tags requested from the canary during that step
    markup: dict[str, list[str]] = {}     # step -> elements pointing at the canary (rendered, maybe not yet fetched)
    links: dict[str, list[str]] = {}      # step -> links to the canary (autolinked text; reported, not failed)
    seen_literal: dict[str, set[str]] = {}  # tag -> steps where its payload text was on screen as text
    done = 0
    t0 = time.time()

    def check(page, step: str) -> None:
        nonlocal done
        body = all_text(page)  # before scrolling: open dropdowns and tooltips are still there
        scroll_everything(page)
        page.wait_for_timeout(300)
        new = canary.paths[done:]
        done = len(canary.paths)
        if new:
            leaks.setdefault(step, []).extend(sorted({tag_of(p) for p in new}))
        elements = canary_elements(page, canary.port)
        fetching = sorted({e for e in elements if not e.startswith("LINK ")})
        if fetching:
            markup.setdefault(step, []).extend(fetching)
        if len(fetching) < len(elements):
            links.setdefault(step, []).extend(sorted({e for e in elements if e.startswith("LINK ")}))
        for where, value in text.items():
            if value in body:
                seen_literal.setdefault(where, set()).add(step)
        print(f"{time.time() - t0:5.1f}s [{step}] canary hits: {sorted({tag_of(p) for p in new}) or 'none'}"
              + (f"; fetching elements: {len(fetching)}" if fetching else "")
              + (f"; links: {len(elements) - len(fetching)}" if len(fetching) < len(elements) else ""), flush=True)

    proc, server = start_server(workspace)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1200})
            step = "start"
            try:
                # -- upload both files on 数据, save as workspace --------------------------------------
                step = "数据 (upload)"
                page.goto(f"{server}/data")
                uploader_input(page, "乡镇(街道)边界").set_input_files(inputs["units"])
                page.get_by_text(re.compile("边界读取成功: 119 个乡镇")).wait_for(timeout=60000)
                uploader_input(page, "设施表").set_input_files(inputs["ledger"])
                page.get_by_text(re.compile(r"设施表读取成功: \d+ 条记录")).wait_for(timeout=60000)
                settle(page)
                open_expanders(page)
                settle(page)
                # the ledger's column choices list every header, the payload header among them
                open_selectbox(page, page.locator("[data-testid='stForm']").last.locator("[data-testid='stSelectbox']").first)
                check(page, step)
                page.keyboard.press("Escape")
                step = "数据 (saved)"
                page.get_by_role("button", name="保存为工作区并使用").click()
                page.get_by_text("已保存的工作区").first.wait_for(timeout=60000)
                settle(page)
                check(page, step)

                # -- choose the payload plan in the sidebar (remembered in the workspace) ---------------
                step = "sidebar (plan chosen)"
                pick_option(page, page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").first, "md-plan")
                settle(page)
                check(page, step)

                # -- every page, by its URL --------------------------------------------------------------
                for title, path in PAGES:
                    step = title
                    page.goto(f"{server}{path}")
                    page.locator("h1").filter(has_text=re.compile(f"^{re.escape(title)}$")).first.wait_for(timeout=90000)
                    settle(page)
                    open_expanders(page)
                    settle(page)
                    check(page, title)
                    chosen = page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox'] input").first.input_value()
                    assert chosen == text["plan"], f"{title}: the sidebar shows plan {chosen!r}, not the payload plan"
                    if title == "总览":
                        page.screenshot(path=str(SHOTS / "userdata_overview.png"), full_page=True)
                    if title == "地图":
                        step = "地图 (township clicked)"
                        frame, box = map_box(page)
                        box.click(position=point_on_map(page, frame, inputs["point"]), force=True)
                        page.get_by_text(f"代码 {TOWNSHIP_CODE}").first.wait_for(timeout=60000)
                        settle(page)
                        frame, box = map_box(page)
                        box.hover(position=point_on_map(page, frame, inputs["point"]), force=True)  # township tooltip
                        page.wait_for_timeout(600)
                        check(page, step)
                        page.screenshot(path=str(SHOTS / "userdata_map.png"), full_page=True)
                        step = "地图 (facility tooltip)"
                        box.hover(position=point_on_map(page, frame, inputs["facility"]), force=True)  # marker tooltip
                        page.wait_for_timeout(600)
                        check(page, step)
                    if title == "数据质量":
                        page.screenshot(path=str(SHOTS / "userdata_quality.png"), full_page=True)
                        view = page.locator("[data-testid='stSelectbox']").filter(has_text="查看").first
                        for option in options_of(page, view):
                            step = f"数据质量 (查看 {option})"
                            pick_option(page, view, re.compile(f"^{re.escape(option)}$"))
                            settle(page)
                            open_expanders(page)
                            check(page, step)
            except Exception:
                page.screenshot(path=str(SHOTS / "userdata_failure.png"), full_page=True)
                print(f"failed during step {step!r}; screenshot {SHOTS / 'userdata_failure.png'}")
                raise
            # positive control: a request from the page to the canary is recorded
            before = len(canary.paths)
            page.evaluate("url => { new Image().src = url; }", f"{canary.base}/control.png")
            deadline = time.time() + 10
            while len(canary.paths) == before and time.time() < deadline:
                time.sleep(0.1)
            control_ok = any(tag_of(p) == "control" for p in canary.paths[before:])
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    problems = [f"{where}: the canary server was asked for {', '.join(tags)}" for where, tags in leaks.items()]
    requested = {t for tags in leaks.values() for t in tags}
    for where, els in markup.items():  # rendered images never fetched (lazy, blocked): not in the server's log
        unfetched = [e for e in els if tag_of(e.split("=", 1)[1]) not in requested]
        if unfetched:
            problems.append(f"{where}: elements point at the canary: " + "; ".join(unfetched[:10]))
    for where, els in links.items():  # bare URLs in user text must stay text, not links
        problems.append(f"{where}: user text turned into links: " + "; ".join(sorted(set(els))[:6]))
    print("payload text shown literally:\n" + "\n".join(f"  {w}: {', '.join(sorted(s))}" for w, s in seen_literal.items()))
    assert not problems, "user text rendered as markup (tag = md-/html-<where>):\n" + "\n".join(problems)
    assert control_ok, "the canary server got nothing from the page's own probe: the check above proves nothing"
    # the payloads were on screen, as text (so the test cannot pass by not showing them)
    expected = {"plan": "总览", "indicator": "总览", "filename": "数据质量", "unitsfile": "数据质量", "class": "数据质量",
                "status": "数据质量", "header": "数据 (upload)", "township": "地图 (township clicked)",
                "district": "地图 (township clicked)", "name": "地图 (facility tooltip)"}
    missing = [f"{w} on {s}" for w, s in expected.items() if s not in seen_literal.get(w, set())]
    assert not missing, f"payload text not shown literally: {missing}"
