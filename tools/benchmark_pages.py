"""Benchmark (run on demand, not a test): every page of the demo city in headless Chromium, cold and warm.

Starts the dashboard on a temporary workspace (the built-in demo) and times each page from
navigation until the script has finished and the page is drawn (Streamlit's run state back to
notRunning, no spinner): cold = opened by its address in a new session (includes a fixed 0.1 s wait
for the run to start); warm = reached by a click in the sidebar, caches filled, timed inside the page
from the click to the first animation frame after the run's end (`CLICK_TO_DRAWN_JS`). Target: every
page under 1 s warm.

Usage: python tools/benchmark_pages.py [--port 8650]
Needs Debian's chromium (/usr/bin/chromium) and the playwright package (no browser download).
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = {"总览": "", "地图": "coverage_map", "指标": "indicators", "未覆盖乡镇": "uncovered", "规划方案": "scenarios",
         "数据": "data", "数据质量": "quality", "规划指标": "targets", "报告导出": "report"}
TARGET_WARM_S = 1.0


#: In the page: click the sidebar entry named `name`, then on every animation frame read Streamlit's
#: run state; milliseconds from the click to the first frame after the run (seen running) has ended
#: with no spinner on the page.
CLICK_TO_DRAWN_JS = """(name) => new Promise((resolve, reject) => {
  const link = [...document.querySelectorAll('[data-testid="stSidebarNav"] a')].find(a => a.textContent.trim() === name);
  if (!link) return reject(new Error('no sidebar entry ' + name));
  let ran = false;
  const t0 = performance.now();
  // a warm run can start and end between two animation frames: its start is seen by an observer
  const app0 = document.querySelector('.stApp');
  const seen = new MutationObserver((records) => {
    for (const r of records) if (r.oldValue === 'running' || app0.getAttribute('data-test-script-state') === 'running') ran = true;
  });
  if (app0) seen.observe(app0, {attributes: true, attributeFilter: ['data-test-script-state'], attributeOldValue: true});
  const tick = () => {
    const app = document.querySelector('.stApp');
    const state = app && app.getAttribute('data-test-script-state');
    if (state === 'running') ran = true;
    if (ran && state === 'notRunning' && !document.querySelector('[data-testid="stSpinner"]')) { seen.disconnect(); return resolve(performance.now() - t0); }
    if (performance.now() - t0 > 60000) {
      seen.disconnect();
      return reject(new Error('no end of run within 60 s (state ' + state + ', seen running: ' + ran + ', spinner: '
                              + !!document.querySelector('[data-testid="stSpinner"]') + ', at ' + location.pathname + ')'));
    }
    requestAnimationFrame(tick);
  };
  link.click();
  requestAnimationFrame(tick);
})"""


def wait_ready(page, timeout_ms: int = 120_000) -> None:
    page.wait_for_selector("[data-testid='stMainBlockContainer']", timeout=timeout_ms)
    page.wait_for_function(
        "() => { const a = document.querySelector('.stApp'); return a && a.getAttribute('data-test-script-state') === 'notRunning'"
        " && !document.querySelector('[data-testid=\"stSpinner\"]'); }", timeout=timeout_ms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8650)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    env = os.environ | {"MZ_WORKSPACE": tempfile.mkdtemp(prefix="mz_pages_")}
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(args.port),
                               "--server.headless", "true", "--server.fileWatcherType", "none"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://localhost:{args.port}"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                        args=["--headless", "--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            for _ in range(60):  # the server is up
                try:
                    page.goto(base, timeout=2000)
                    break
                except Exception:  # noqa: BLE001 - not listening yet
                    time.sleep(0.5)
            wait_ready(page)
            print(f"{'page':<8} {'cold s':>8} {'warm s':>8}   target warm < {TARGET_WARM_S:g} s")
            for name, path in PAGES.items():
                times = []
                start = time.perf_counter()  # cold: the page opened by its address (a new session)
                page.goto(f"{base}/{path}")
                page.wait_for_timeout(100)  # let the run start before waiting for its end
                wait_ready(page)
                times.append(time.perf_counter() - start)
                page.goto(f"{base}/{'data' if path != 'data' else ''}")  # then away, and back as a planner does
                wait_ready(page)
                # warm: a click on the page's entry in the sidebar, timed inside the page from the
                # click to the run's end with nothing left spinning (no fixed wait, no driver overhead)
                page.wait_for_timeout(300)
                times.append(page.evaluate(CLICK_TO_DRAWN_JS, name) / 1000)
                wait_ready(page)
                flag = "ok" if times[1] < TARGET_WARM_S else "SLOW"
                print(f"{name:<8} {times[0]:8.2f} {times[1]:8.2f}   {flag}")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
