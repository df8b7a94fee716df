"""The map page in a real browser (Playwright driving Debian's chromium): township polygons and
facility markers are drawn, and nothing is requested from any host but the app's own."""
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


def test_map_draws_townships_and_facilities_offline(server, tmp_path):
    from playwright.sync_api import sync_playwright

    requested: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("request", lambda r: requested.append(r.url))
        try:
            page.goto(f"{server}/coverage_map")
            frame_el = page.wait_for_selector("iframe[title*='streamlit_folium']", timeout=60000)
            frame = frame_el.content_frame()
            frame.wait_for_selector("path.leaflet-interactive", timeout=60000)
            page.wait_for_timeout(1500)
            fills = frame.eval_on_selector_all("path.leaflet-interactive", "els => els.map(e => [e.getAttribute('fill'), e.getAttribute('stroke')])")
            caption = page.get_by_text(re.compile(r"共 \d+ 个乡镇")).inner_text()
            # clicking a township shows its details beside the map
            frame.locator("path.leaflet-interactive[fill='#e4572e']").first.click(force=True)
            page.get_by_text("本指标:").wait_for(timeout=30000)
            details = page.get_by_text("本指标:").inner_text()
        except Exception:
            page.screenshot(path=str(tmp_path / "map_failure.png"), full_page=True)
            raise
        finally:
            browser.close()
    n_units, n_facilities = map(int, re.findall(r"(\d+) 个", caption)[:2])
    polygons = [f for f, s in fills if f in ("#2e8b57", "#e4572e", "#cfcfcf")]
    markers = [f for f, s in fills if s == "#ffffff"]
    assert n_units == 119 and len(polygons) == n_units
    assert {"#2e8b57", "#e4572e"} <= set(polygons)  # both covered and uncovered townships drawn
    assert n_facilities > 0 and len(markers) == n_facilities
    hosts = {urlparse(u).hostname for u in requested if urlparse(u).scheme in ("http", "https", "ws", "wss")}
    assert hosts <= {"127.0.0.1", "localhost"}, f"off-host requests: {sorted(hosts)}"
    assert any("/app/static/leaflet-1.9.4/leaflet.js" in u for u in requested)
    assert "未覆盖" in details  # the clicked township was an uncovered one


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
            inputs = page.locator("input[type='file']")
            inputs.nth(0).wait_for(state="attached", timeout=60000)
            inputs.nth(0).set_input_files(str(qingdao_path))
            page.get_by_text(re.compile("边界读取成功: 135 个乡镇")).wait_for(timeout=60000)
            inputs.nth(1).set_input_files(str(ledger))
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
