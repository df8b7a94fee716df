"""Ledgers shaped like real ones (issue 8): each test reproduces a way the numbers went wrong
without warning, on hand-built files, and checks the rule that now holds."""
import io
import json

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from coverage.__main__ import main
from coverage.assign import assign_facilities
from coverage.catalog import load_classes, load_statuses
from coverage.config import CoverageConfig
from coverage.evaluate import AREA_CODE, evaluate
from coverage.plans import area_code_of, load_plan_areas, suggest_plan
from coverage.quality import quality_summary
from geodata.clean import near_duplicates, prepare_facilities
from geodata.demo import load_demo
from geodata.io import read_facilities, read_units

CLASSES = load_classes()
# 2 x 2 townships of 0.01 degree near 十堰 (110.80E, 32.60N), district 420302:
# 甲街道 [110.80,110.81]x[32.60,32.61], 乙街道 east of it, 丙镇 north of 甲, 某林场 north of 乙 (code segment 400).
CELLS = [("420302001", "甲街道", 0, 0), ("420302002", "乙街道", 1, 0), ("420302100", "丙镇", 0, 1), ("420302400", "某林场", 1, 1)]
X0, Y0, D = 110.80, 32.60, 0.01


def centre(i, j):
    return X0 + (i + 0.5) * D, Y0 + (j + 0.5) * D


@pytest.fixture
def grid_path(tmp_path):
    gdf = gpd.GeoDataFrame({"code": [c[0] for c in CELLS], "name": [c[1] for c in CELLS]},
                           geometry=[box(X0 + i * D, Y0 + j * D, X0 + (i + 1) * D, Y0 + (j + 1) * D) for _, _, i, j in CELLS],
                           crs=4326)
    path = tmp_path / "townships.geojson"
    gdf.to_file(path, driver="GeoJSON")
    return path


def target(tid, cls, level="乡镇(街道)", value=1.0, measure="coverage"):
    return {"target_id": tid, "plan": "测试", "indicator": f"指标{tid}", "facility_class": cls, "measure": measure,
            "unit_level": level, "target_value": value, "target_year": 2025, "binding": "",
            "source_seed": "", "source_ref": "", "source_quote": "", "note": ""}


def ledger_csv(rows: list[dict]) -> bytes:
    return pd.DataFrame(rows).to_csv(index=False).encode("utf-8-sig")


def evaluate_ledger(grid_path, raw: bytes, filename: str, targets: list[dict], config=CoverageConfig()):
    units, _ = read_units(grid_path)
    fac, report = read_facilities(raw, filename, CLASSES)
    fac, prep = prepare_facilities(fac, units, system="wgs84")
    assigned = assign_facilities(units, fac)
    res = evaluate(pd.DataFrame(units.drop(columns="geometry")), assigned, pd.DataFrame(targets), CLASSES, config=config)
    return units, assigned, res, report.as_dict(), prep


def area_row(res, tid):
    c = res.coverage
    return c[(c["target_id"] == tid) & (c["district_code"] == AREA_CODE)].iloc[0]


# ---------------------------------------------------------------- status vocabulary

@pytest.mark.slow
def test_status_synonyms_count_as_operating_and_unknowns_are_named(grid_path, tmp_path):
    rows = [{"编号": str(k + 1), "名称": f"社工站{k}", "类型": "社工站", "经度": centre(i, j)[0], "纬度": centre(i, j)[1], "状态": s}
            for k, ((_, _, i, j), s) in enumerate(zip(CELLS[:3], ["运营中", "正常运营", "已运营"]))]
    rows.append({"编号": "4", "名称": "社工站3", "类型": "社工站", "经度": centre(1, 1)[0], "纬度": centre(1, 1)[1], "状态": "试营业期"})
    rows.append({"编号": "5", "名称": "社工站4", "类型": "社工站", "经度": centre(1, 1)[0] + 0.001, "纬度": centre(1, 1)[1], "状态": "已撤销"})
    raw = ledger_csv(rows)
    _, assigned, res, _, _ = evaluate_ledger(grid_path, raw, "f.csv", [target("S", "social_work_station")],
                                             CoverageConfig(count_other_units=True))
    assert (area_row(res, "S").units_covered, area_row(res, "S").units_total) == (3, 4)  # was 0/4 before
    summary = quality_summary(assigned, config=CoverageConfig())
    unknown = summary["operating_status"]["unknown"]
    assert [(u["value"], u["facility_ids"]) for u in unknown] == [("试营业期", ["4"])]
    assert [u["value"] for u in summary["operating_status"]["never_counted"]] == ["已撤销"]
    # 停用 never counts, even when every other status is chosen
    every = CoverageConfig(count_other_units=True, counted_statuses=("运营", "在建", "规划", "停用", "未知"))
    _, _, res_all, _, _ = evaluate_ledger(grid_path, raw, "f.csv", [target("S", "social_work_station")], every)
    assert area_row(res_all, "S").units_covered == 4  # 试营业期 counted only because 未知 was chosen explicitly
    # the planner maps the unknown value: it counts as 运营
    mapped = CoverageConfig(count_other_units=True, status_mapping=(("试营业期", "运营"),))
    _, _, res_map, _, _ = evaluate_ledger(grid_path, raw, "f.csv", [target("S", "social_work_station")], mapped)
    assert area_row(res_map, "S").units_covered == 4
    # the CLI says so, and quality.json names the value
    fac_path = tmp_path / "f.csv"
    fac_path.write_bytes(raw)
    assert main(["compute", "--units", str(grid_path), "--facilities", str(fac_path), "--facility-crs", "wgs84",
                 "--count-other-units", "--out", str(tmp_path / "out")]) == 0
    quality = json.loads((tmp_path / "out" / "quality.json").read_text(encoding="utf-8"))
    assert quality["operating_status"]["unknown"][0]["value"] == "试营业期"
    assigned_csv = pd.read_csv(tmp_path / "out" / "assignments.csv", dtype=str, encoding="utf-8-sig")
    assert assigned_csv.set_index("facility_id").loc["4", "counted"] == "False"
    assert assigned_csv.set_index("facility_id").loc["1", "operating_status_read"] == "运营"


def test_status_vocabulary_never_reads_stopped_as_operating():
    vocab = load_statuses()
    assert vocab.canonical("停止运营") == "停用"
    assert vocab.canonical(" 运营中 ") == "运营"
    assert vocab.canonical("") == "运营"
    assert vocab.canonical("某种说法") == "未知"


# ---------------------------------------------------------------- ids across sheets

def test_same_id_on_two_sheets_is_two_facilities(grid_path):
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        for sheet, (i, j) in (("一", (0, 0)), ("二", (1, 0))):
            pd.DataFrame([{"编号": 1, "名称": f"{sheet}号站", "类型": "社工站", "经度": centre(i, j)[0], "纬度": centre(i, j)[1]},
                          {"编号": 2, "名称": f"{sheet}号中心", "类型": "养老服务中心", "经度": centre(i, j)[0], "纬度": centre(i, j)[1] + 0.001}]
                         ).to_excel(writer, sheet_name=sheet, index=False)
    _, assigned, res, report, _ = evaluate_ledger(grid_path, buf.getvalue(), "台账.xlsx", [target("S", "social_work_station")])
    assert sorted(assigned["facility_id"]) == ["一:1", "一:2", "二:1", "二:2"]
    assert not assigned["status"].eq("duplicate").any()
    assert area_row(res, "S").units_covered == 2
    assert any("工作表" in n for n in report["notes"])


def test_same_id_within_one_sheet_is_a_duplicate_listed_with_the_row_kept(grid_path):
    x, y = centre(0, 0)
    raw = ledger_csv([{"编号": "7", "名称": "甲站", "类型": "社工站", "经度": x, "纬度": y},
                      {"编号": "7", "名称": "甲站(重复录入)", "类型": "社工站", "经度": x + 0.002, "纬度": y}])
    _, assigned, _, _, _ = evaluate_ledger(grid_path, raw, "f.csv", [target("S", "social_work_station")])
    assert assigned["status"].tolist() == ["assigned", "duplicate"]
    summary = quality_summary(assigned)
    assert summary["duplicates"] == [{"facility_id": "7", "name": "甲站(重复录入)", "duplicate_of": "7",
                                      "duplicate_of_name": "甲站", "rule": "同一文件/工作表内编号相同"}]


# ---------------------------------------------------------------- near-duplicates and townships

def test_near_duplicates_only_within_one_township(grid_path):
    units, _ = read_units(grid_path)
    border = X0 + D  # shared edge of 甲街道 and 乙街道
    dx = 0.0002  # ~19 m each side: 38 m apart across the border
    y = Y0 + 0.5 * D
    fac = gpd.GeoDataFrame({"facility_id": ["A", "B", "C"], "name": ["社工站", "社工站", "社工站"],
                            "facility_class": ["social_work_station"] * 3},
                           geometry=gpd.points_from_xy([border - dx, border + dx, border - 3 * dx], [y, y, y]), crs=4326)
    dup = near_duplicates(fac, units)
    assert dup.tolist() == [None, None, "A"]  # A and B: neighbouring 街道; A and C: same 街道, 38 m apart


# ---------------------------------------------------------------- class matching

def test_social_assistance_window_is_not_a_rescue_station():
    assert CLASSES.match("社会救助站") != "rescue_station"
    assert CLASSES.match("乡镇社会救助服务站") != "rescue_station"
    assert CLASSES.match("救助站") == "rescue_station"


def test_containment_matches_are_reported_for_confirmation(grid_path):
    x, y = centre(0, 0)
    raw = ledger_csv([{"编号": "1", "名称": "甲敬老院", "类型": "某某镇敬老院", "经度": x, "纬度": y},
                      {"编号": "2", "名称": "甲中心", "类型": "养老服务中心", "经度": x, "纬度": y + 0.001}])
    fac, report = read_facilities(raw, "f.csv", CLASSES)
    assert fac["class_match"].tolist() == ["contains", "exact"]
    assert report.contained_classes == [{"label": "某某镇敬老院", "class_id": "tekun_care", "count": 1}]
    # the planner's decision wins: 不计入
    fac2, report2 = read_facilities(raw, "f.csv", CLASSES, class_mapping={"某某镇敬老院": "none"})
    assert fac2["facility_class"].isna().tolist() == [True, False]
    assert report2.contained_classes == [] and "某某镇敬老院" not in report2.unknown_classes


# ---------------------------------------------------------------- unit kinds and denominators

def test_forest_farm_is_not_in_township_denominators_unless_asked(grid_path):
    x, y = centre(0, 0)
    raw = ledger_csv([{"编号": "1", "名称": "甲站", "类型": "社工站", "经度": x, "纬度": y}])
    units, _, res, _, _ = evaluate_ledger(grid_path, raw, "f.csv", [target("S", "social_work_station")])
    assert dict(zip(units["name"], units["kind"]))["某林场"] == "类似乡级单位"
    assert (area_row(res, "S").units_covered, area_row(res, "S").units_total) == (1, 3)
    assert res.excluded_units["unit_name"].tolist() == ["某林场"]
    _, _, res2, _, _ = evaluate_ledger(grid_path, raw, "f.csv", [target("S", "social_work_station")],
                                       CoverageConfig(count_other_units=True))
    assert area_row(res2, "S").units_total == 4 and res2.excluded_units.empty


def test_county_level_target_for_counties_skips_urban_districts():
    units = pd.DataFrame({"code": ["360202001", "360222100", "360281100"], "name": ["甲街道", "乙镇", "丙镇"],
                          "district_code": ["360202", "360222", "360281"], "district_name": ["珠山区", "浮梁县", "乐平市"],
                          "kind": ["街道", "镇", "镇"]})
    assigned = pd.DataFrame({"facility_id": ["1"], "facility_class": ["rescue_station"], "unit_code": ["360202001"],
                             "district_code": ["360202"], "status": ["assigned"], "on_edge": [False]})
    res = evaluate(units, assigned, pd.DataFrame([target("K", "rescue_station", level="县"),
                                                  target("C", "rescue_station", level="县(市、区)")]), CLASSES)
    k, c = area_row(res, "K"), area_row(res, "C")
    assert (k.units_total, k.units_covered) == (2, 0)  # 浮梁县 and 乐平市; 珠山区 is a 市辖区
    assert (c.units_total, c.units_covered) == (3, 1)


# ---------------------------------------------------------------- no data vs no coverage

def test_class_absent_from_ledger_is_no_data_not_a_gap(grid_path):
    x, y = centre(0, 0)
    raw = ledger_csv([{"编号": "1", "名称": "甲中心", "类型": "养老服务中心", "经度": x, "纬度": y},
                      {"编号": "2", "名称": "城外社工站", "类型": "社工站", "经度": 111.5, "纬度": 33.5}])
    _, _, res, _, _ = evaluate_ledger(grid_path, raw, "f.csv", [
        target("E", "comprehensive_eldercare", value=0.6), target("M", "minor_protection_station", value=0.5),
        target("S", "social_work_station"), target("L", "welfare_lottery", level="全市", value=10, measure="count")])
    assert area_row(res, "M").no_data and area_row(res, "M").facilities_in_ledger == 0
    assert area_row(res, "L").no_data
    assert not area_row(res, "E").no_data and area_row(res, "E").facilities_in_ledger == 1
    # a 社工站 in the ledger, outside the area: a real gap, not missing data
    s = area_row(res, "S")
    assert not s.no_data and s.facilities_in_ledger == 1 and s.units_covered == 0
    # the figures stay, marked on every row of the target
    assert res.coverage.loc[res.coverage["target_id"] == "M", "no_data"].all()


# ---------------------------------------------------------------- plan follows the data

def test_plan_is_suggested_from_township_codes():
    areas = load_plan_areas()
    from coverage.catalog import load_targets, plans
    names = plans(load_targets())
    demo_units, _ = read_units(load_demo()[0])
    assert suggest_plan(demo_units["code"], names, areas).plan == "十堰市民政事业发展十四五规划"
    qingdao = ["370202001", "370203002", "370211100"]
    generic = suggest_plan(qingdao, names, areas)
    assert generic.plan == "通用(无本地规划时)" and "3702" in generic.reason
    jdz = ["360202001", "360203002", "360222100", "360281100"]
    assert suggest_plan(jdz, names, areas).plan.startswith("景德镇")
    # a plan the planner created for their own area wins over the generic one
    assert suggest_plan(qingdao, names + ["青岛市十五五规划"], areas, {"青岛市十五五规划": "3702"}).plan == "青岛市十五五规划"
    assert area_code_of(qingdao) == "3702" and area_code_of(["370202001", "420302001"]) == ""


@pytest.mark.slow
def test_cli_without_plan_uses_the_plan_of_the_area(tmp_path):
    units, facilities = load_demo()
    assert main(["compute", "--units", str(units), "--facilities", str(facilities), "--out", str(tmp_path)]) == 0
    quality = json.loads((tmp_path / "quality.json").read_text(encoding="utf-8"))
    assert quality["plan"] == "十堰市民政事业发展十四五规划" and "4203" in quality["plan_choice"]


def test_unit_statuses_per_level_and_no_data():
    from coverage.evaluate import unit_statuses
    units = pd.DataFrame({"code": ["360202001", "360222100", "360281100", "360281400"], "name": ["甲街道", "乙镇", "丙镇", "丁林场"],
                          "district_code": ["360202", "360222", "360281", "360281"], "district_name": ["珠山区", "浮梁县", "乐平市", "乐平市"],
                          "kind": ["街道", "镇", "镇", "类似乡级单位"]})
    assigned = pd.DataFrame({"facility_id": ["1"], "facility_class": ["rescue_station"], "unit_code": ["360222100"],
                             "district_code": ["360222"], "status": ["assigned"], "on_edge": [False]})
    res = evaluate(units, assigned, pd.DataFrame([target("K", "rescue_station", level="县"), target("T", "rescue_station"),
                                                  target("N", "social_work_station")]), CLASSES)
    assert unit_statuses(units, res, "K").tolist() == ["out_of_scope", "covered", "uncovered", "uncovered"]
    assert unit_statuses(units, res, "T").tolist() == ["uncovered", "covered", "uncovered", "out_of_scope"]
    assert unit_statuses(units, res, "N").tolist() == ["no_data", "no_data", "no_data", "out_of_scope"]
