"""Every page runs under AppTest, on the demo and on uploaded (saved workspace) data."""
import pytest
from streamlit.testing.v1 import AppTest

from coverage.catalog import load_classes
from geodata import workspace
from geodata.io import read_facilities, read_units
from tests.conftest import ROOT

APP = str(ROOT / "app.py")
PAGES = ["pages/overview.py", "pages/coverage_map.py", "pages/indicators.py", "pages/uncovered.py", "pages/data.py",
         "pages/quality.py", "pages/targets.py", "pages/report.py"]


def run_page(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page(page).run()
    return at


@pytest.fixture(autouse=True)
def navigation_as_on_a_running_server(monkeypatch):
    """AppTest resets Streamlit's "pages/ folder means v1 multipage app" flag before every run, so
    each run would start as a fresh server's first visit (a page script run alone, then the
    rerun through app.py by `_shared._run_through_entrypoint`, which drops button clicks). Start
    every run as a server does once app.py has run: through app.py's `st.navigation`. The first
    visit itself is covered by the browser test `test_deep_link_on_fresh_server_goes_through_app`."""
    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)


@pytest.fixture
def empty_workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("MZ_WORKSPACE", str(tmp_path / "ws"))
    return tmp_path / "ws"


@pytest.mark.parametrize("page", PAGES)
def test_page_on_demo(page, empty_workspace):
    at = run_page(page)
    assert not at.exception, at.exception
    assert any("演示数据" in i.value for i in at.info)


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_page_on_uploaded_qingdao(page, empty_workspace, qingdao_path):
    units, _ = read_units(qingdao_path)
    ledger = ("编号,名称,类型,经度,纬度\nQ1,香港路街道养老服务中心,养老服务中心,120.38,36.07\n"
              "Q2,某社工站,社工站,120.45,36.15\nQ3,黄岛区救助站,救助站,120.03,35.90\n").encode()
    facilities, _ = read_facilities(ledger, "f.csv", load_classes())
    workspace.save_dataset(units, facilities, units_file="qingdao.geojson", facilities_file="f.csv")
    at = run_page(page)
    assert not at.exception, at.exception
    assert not any("演示数据" in i.value for i in at.info)


def test_overview_shows_plan_cards(empty_workspace):
    at = run_page("pages/overview.py")
    labels = [m.label for m in at.metric]
    assert labels.count("覆盖率") >= 10
    values = [m.value for m in at.metric if m.label == "覆盖率"]
    assert "47.1%" in values  # 十堰 综合功能养老服务机构 on the demo: 56 / 119


def test_switching_plan_changes_cards(empty_workspace):
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.sidebar.selectbox[0].select("通用(无本地规划时)").run()
    assert not at.exception
    assert len([m for m in at.metric if m.label == "覆盖率"]) == 5


def test_saving_edited_targets_persists(empty_workspace):
    at = run_page("pages/targets.py")
    assert not at.exception
    at.button[0].click().run()  # save the plan unchanged
    assert not at.exception
    assert workspace.targets_path(empty_workspace) is not None


def test_upload_with_unusual_headers_mapped_in_form_then_saved(empty_workspace, tmp_path):
    """Data page: a ledger whose headers are not recognised gets an error and a field-mapping form;
    after mapping, it reads, saves as the workspace, and every page runs on it."""
    import pandas as pd

    from geodata.demo import load_demo

    units_path, fac_path = load_demo()
    ledger = pd.read_csv(fac_path, dtype=str).rename(columns={"名称": "机构名", "类型": "服务类型"})
    raw = ("设施台账\n" + ledger.to_csv(index=False)).encode("gbk")
    at = run_page("pages/data.py")
    at.file_uploader[1].set_value(("台账.csv", raw, "text/csv")).run()
    assert not at.exception
    assert any("找不到必需的列" in e.value for e in at.error)
    name_box = next(s for s in at.selectbox if s.label == "名称 *")
    assert "服务类型" in name_box.options  # the real header row offered, not the title row
    name_box.set_value("机构名")
    next(s for s in at.selectbox if s.label == "类型 *").set_value("服务类型")
    next(b for b in at.button if b.label == "应用字段对应").click().run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    assert any("设施表读取成功: 1178 条记录" in s.value for s in at.success)
    next(b for b in at.button if b.label == "保存为工作区并使用").click().run()
    assert not at.exception
    assert workspace.state()["source"] == "workspace"
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, page


@pytest.mark.slow
def test_report_page_builds_the_pack(empty_workspace):
    at = run_page("pages/report.py")
    assert not at.exception
    at.multiselect[0].set_value(["SY-01", "SY-06"])
    at.multiselect[2].set_value(["xlsx", "docx"])
    next(b for b in at.button if b.label == "生成会议材料").click().run()
    assert not at.exception
    labels = [b.label for b in at.get("download_button")]
    assert any(".docx" in l for l in labels) and any(".xlsx" in l for l in labels)
