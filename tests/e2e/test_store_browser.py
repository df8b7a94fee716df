"""The shared store in a real browser: two planners, one target; a viewer's pages.

A and B (编辑 accounts) open 规划指标 on the same plan. A changes the first target's 目标值 and saves;
B, whose page still holds the rows as they were, changes the same cell and saves: B is refused with a
message naming A's change, and the store keeps A's value. A 查看 account sees no edit control, and
an edit sent with its name is refused by the store. Screenshots: /tmp/shots/store_*.png.
"""
from pathlib import Path

import pytest

from tests.e2e.test_map_browser import ARGS, CHROMIUM, start_server

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/shots")


def ready(page, timeout=90_000):
    page.wait_for_timeout(300)
    page.wait_for_selector(".stApp[data-test-script-state='notRunning']", timeout=timeout)
    page.wait_for_timeout(500)


def login(page, base, name, password):
    page.goto(base)
    ready(page)
    page.get_by_label("账号").fill(name)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    ready(page)


def open_page(page, title: str) -> None:
    """A click in the sidebar (a reload would start a new session, signed out)."""
    page.locator("[data-testid='stSidebarNav'] a", has_text=title).first.click()
    ready(page)


def set_first_target(page, value: str) -> None:
    """Type `value` into the 目标值 cell of the first row of the targets editor (keyboard only)."""
    grid = page.locator("[data-testid='stDataFrame']").first
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 75, box["y"] + 35 + 17)  # 编号 of the first row (after the row-marker column)
    for _ in range(5):  # 编号 → 指标 → 设施类别 → 类型 → 统计单元 → 目标值
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")  # open the cell's editor
    page.wait_for_timeout(300)
    page.keyboard.press("Control+A")
    page.keyboard.type(value, delay=50)
    page.keyboard.press("Enter")
    ready(page)


@pytest.fixture(scope="module")
def department(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (.ci/run installs it)")
    from store import open_store

    folder = tmp_path_factory.mktemp("ws_store")
    store = open_store(folder / "store.gpkg")
    store.create_user("admin", "admin-pass-1", "管理")
    for name, role in (("planner_a", "编辑"), ("planner_b", "编辑"), ("viewer", "查看")):
        store.create_user(name, f"{name}-pass-1", role, by="admin")
    proc, base = start_server(folder)
    yield store, base
    proc.kill()


def test_second_edit_from_stale_rows_is_refused_with_the_first_named(department):
    from playwright.sync_api import sync_playwright

    store, base = department
    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        a = browser.new_context(viewport={"width": 1500, "height": 1000}).new_page()
        b = browser.new_context(viewport={"width": 1500, "height": 1000}).new_page()
        login(a, base, "planner_a", "planner_a-pass-1")
        login(b, base, "planner_b", "planner_b-pass-1")
        a.screenshot(path=str(SHOTS / "store_after_login.png"))
        for page in (a, b):
            open_page(page, "规划指标")
        set_first_target(a, "70")
        a.get_by_role("button", name="保存指标").click()
        ready(a)
        saved = store.targets()
        first = saved.iloc[0]
        assert float(first["target_value"]) == pytest.approx(0.7), first.to_dict()
        set_first_target(b, "80")
        b.get_by_role("button", name="保存指标").click()
        ready(b)
        alert = b.locator("[data-testid='stAlertContentError']").first
        alert.scroll_into_view_if_needed()
        error = alert.inner_text()
        b.screenshot(path=str(SHOTS / "store_conflict.png"))
        assert "已被他人修改" in error and "planner_a" in error, error
        assert float(store.targets().iloc[0]["target_value"]) == pytest.approx(0.7)  # A's value kept
        browser.close()


def test_viewer_sees_no_edit_controls_and_is_refused_by_the_store(department):
    from playwright.sync_api import sync_playwright

    from coverage.errors import PermissionDenied

    store, base = department
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_context(viewport={"width": 1500, "height": 1000}).new_page()
        login(page, base, "viewer", "viewer-pass-1")
        for title, shot in (("规划指标", "store_viewer_targets"), ("数据", "store_viewer_data"),
                            ("规划方案", "store_viewer_scenarios"), ("变更记录", "store_history")):
            open_page(page, title)
            page.screenshot(path=str(SHOTS / f"{shot}.png"), full_page=True)
            if title != "变更记录":
                assert page.get_by_text("「查看」权限").count() >= 1, title
        open_page(page, "规划指标")
        assert page.get_by_role("button", name="保存指标").count() == 0
        open_page(page, "数据")
        assert page.locator("[data-testid='stFileUploader']").count() == 0
        browser.close()
    rows = store.targets() if store.has_targets() else None
    base_rows = rows if rows is not None else __import__("store").builtin_targets().assign(version=0)
    edited = base_rows.copy()
    edited.loc[edited.index[0], "target_value"] = "0.9"
    with pytest.raises(PermissionDenied):
        store.edit_targets(edited, "viewer", based_on=base_rows)  # a crafted request in the viewer's name
