"""规划方案 page under AppTest: scenarios saved with the workspace, sites picked from uncovered
townships, before/after per district, a corrupt file left alone, proposal -> scenario."""
import pytest
import json

import pandas as pd
from streamlit.testing.v1 import AppTest

from geodata import workspace
from geodata.demo import load_demo
from geodata.io import read_units
from tests.test_pages import APP, empty_workspace, navigation_as_on_a_running_server, run_page  # noqa: F401

# Renders documents or runs whole pages: in the full run (.ci/run), not the quick set.
pytestmark = pytest.mark.slow

PAGE = "pages/scenarios.py"



def saved_scenarios(workspace_folder):
    """The scenarios the department's store holds (the store the app opens for this workspace)."""
    from store import open_store

    return open_store(workspace_folder / "store.gpkg").scenarios()

def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def comparison(at: AppTest) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if "方案后覆盖率" in d.value.columns)


def create(at: AppTest, name: str) -> AppTest:
    next(t for t in at.text_input if t.label == "新方案名称").input(name)
    button(at, "新建方案").click().run()
    assert not at.exception, at.exception
    return at


def test_create_add_township_compare_reload_delete(empty_workspace):
    at = create(run_page(PAGE), "补短板<方案>")
    assert list(saved_scenarios(empty_workspace)) == ["补短板<方案>"]
    assert next(s for s in at.selectbox if s.label == "当前方案").value == "补短板<方案>"
    before = comparison(at)
    picker = next(m for m in at.multiselect if m.label.startswith("未覆盖乡镇"))
    units, _ = read_units(load_demo()[0])
    label = units["name"] + "(" + units["district_name"] + ")"
    code = units.loc[label == picker.options[0], "code"].iloc[0]
    picker.set_value([code]).run()
    button(at, "添加所选乡镇").click().run()
    assert not at.exception, at.exception
    sites = saved_scenarios(empty_workspace)["补短板<方案>"]
    assert len(sites) == 1 and sites["unit_code"].iloc[0] == code
    assert any("规划" in i.value and "点位" in i.value for i in at.info)
    assert any("毫秒" in c.value for c in at.caption)
    after = comparison(at)
    indicator = next(s for s in at.selectbox if s.label == "指标").value
    district = units.loc[units["code"] == code, "district_name"].iloc[0]
    row = (after["指标"] == indicator) & (after["区县"] == district)
    assert row.sum() == 1
    assert float(after.loc[row, "方案后覆盖率"].iloc[0]) > float(after.loc[row, "现状覆盖率"].iloc[0])
    assert after.loc[row, "有变化"].iloc[0] == "是"
    assert before.loc[row, "有变化"].iloc[0] == "" and before.loc[row, "方案后覆盖率"].iloc[0] == before.loc[row, "现状覆盖率"].iloc[0]

    fresh = run_page(PAGE)  # a new browser session: read back from the store
    assert not fresh.exception, fresh.exception
    assert next(s for s in fresh.selectbox if s.label == "当前方案").value == "补短板<方案>"
    assert (comparison(fresh)["有变化"] == "是").any()
    button(fresh, "删除当前方案").click().run()
    assert not fresh.exception, fresh.exception
    assert saved_scenarios(empty_workspace) == {}


def test_proposal_becomes_a_scenario_meeting_its_targets(empty_workspace):
    at = run_page(PAGE)
    target = next(s for s in at.selectbox if s.label == "转为方案的指标")
    indicator = target.options[1]
    target.set_value(indicator)
    at.run()
    button(at, "生成为新方案").click().run()
    assert not at.exception, at.exception
    saved = saved_scenarios(empty_workspace)
    assert len(saved) == 1 and len(next(iter(saved.values()))) > 0
    table = comparison(at)
    rows = table[table["指标"] == indicator]
    assert len(rows) > 1 and rows["是否达标(现状→方案后)"].str.endswith("→达标").all()
    assert rows["是否达标(现状→方案后)"].str.startswith("未达标").any()


def test_import_list_then_rename(empty_workspace):
    at = create(run_page(PAGE), "导入方案")
    units, _ = read_units(load_demo()[0])
    p = units.geometry.iloc[0].representative_point()
    raw = ("名称,类型,经度,纬度\n"
           f"新建站<script>,养老服务中心,{p.x:.6f},{p.y:.6f}\n"
           "无名类别站,不知道是什么,110.5,32.5\n").encode("utf-8")
    at.file_uploader(key="scn_import").set_value(("清单.csv", raw, "text/csv")).run()
    button(at, "导入到当前方案").click().run()
    assert not at.exception, at.exception
    sites = saved_scenarios(empty_workspace)["导入方案"]
    assert list(sites["name"]) == ["新建站<script>"] and sites["site_id"].iloc[0] == "S0001"
    assert any("已导入 1 个点位" in s.value and "1 行" in s.value for s in at.success)
    at.text_input(key="scn_rename").input("改名后").run()
    button(at, "重命名").click().run()
    assert not at.exception, at.exception
    assert list(saved_scenarios(empty_workspace)) == ["改名后"]
    assert len(saved_scenarios(empty_workspace)["改名后"]) == 1


def test_saved_scenarios_round_trip(tmp_path):
    sites = pd.DataFrame({"site_id": ["S0001", "S0002"], "name": ["甲", "乙"], "facility_class": ["social_work_station"] * 2,
                          "lon": [110.5, None], "lat": [32.5, None], "unit_code": [None, "420302001"], "status": ["规划"] * 2})
    workspace.save_scenarios({"一": sites, "二": sites.iloc[:0]}, tmp_path)
    back = workspace.load_scenarios(tmp_path)
    assert list(back) == ["一", "二"] and len(back["二"]) == 0
    assert pd.isna(back["一"]["unit_code"].iloc[0]) and back["一"]["unit_code"].iloc[1] == "420302001"
    assert back["一"]["lon"].iloc[0] == 110.5
    assert pd.isna(back["一"]["lon"].iloc[1])
    assert not list(tmp_path.glob(".scenarios.json.*"))  # no temporary file left behind


def test_saving_the_site_table_unchanged_keeps_every_site(empty_workspace):
    sites = pd.DataFrame({"site_id": ["S0001", "S0002"], "name": ["甲站", "乙站"],
                          "facility_class": ["social_work_station", "comprehensive_eldercare"],
                          "lon": [None, 110.8], "lat": [None, 32.6], "unit_code": ["420302001", None], "status": ["规划"] * 2})
    from store import open_store

    open_store(empty_workspace / "store.gpkg").save_scenarios({"表格": sites}, "测试")
    at = run_page(PAGE)
    button(at, "保存点位修改").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    back = saved_scenarios(empty_workspace)["表格"]
    assert back["unit_code"].iloc[0] == "420302001" and back["facility_class"].tolist() == sites["facility_class"].tolist()
