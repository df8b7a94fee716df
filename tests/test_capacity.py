"""Capacity targets (床位数, 每千名老年人床位数, 护理型床位占比) on hand-built tables: exact figures per
district and area, missing data as no_data with a Chinese reason, catalogue validation and the editor."""
import math

import numpy as np
import pandas as pd
import pytest

from coverage.capacity import (
    NO_BEDS_COLUMN, NO_BEDS_HERE, NO_ELDERLY_COLUMN, NO_NURSING_COLUMN, ZERO_ELDERLY, capacity_table,
)
from coverage.catalog import (
    CAPACITY_MEASURES, MEASURE_LABELS, load_classes, load_targets, targets_as_text, targets_for_editing,
    targets_from_editing, validate_targets,
)
from coverage.errors import CatalogError
from coverage.evaluate import AREA_CODE, CAPACITY_COLUMNS, COVERAGE_COLUMNS, NO_DATA_MESSAGE, evaluate
from coverage.summary import area_sentence, district_gaps, target_summary

CLASSES = load_classes()


def units(elderly=(2000, 3000, 5000)):
    out = pd.DataFrame({
        "code": ["A", "B", "C"], "name": ["甲街道", "乙镇", "丙乡"], "district_code": ["110101", "110101", "110102"],
        "district_name": ["东区", "东区", "西县"], "kind": ["街道", "镇", "乡"],
    })
    if elderly is not None:
        out["elderly_population"] = list(elderly)
    return out


def ledger(nursing=True, beds=True):
    out = pd.DataFrame({
        "facility_id": ["f1", "f2", "f3", "f4", "f5", "f6"],
        "facility_class": ["eldercare_institution", "tekun_care", "day_care", "tekun_care", "social_work_station",
                           "eldercare_institution"],
        "status": ["assigned", "assigned", "assigned", "assigned", "assigned", "outside"],
        "unit_code": ["A", "B", "C", "C", "A", None], "district_code": ["110101", "110101", "110102", "110102", "110101", None],
        "operating_status": ["", "运营", "", "停用", "", ""],
        "beds": [60.0, 40.0, 20.0, 100.0, 10.0, 500.0],
        "nursing_beds": [30.0, 10.0, 0.0, 80.0, 0.0, 400.0],
    })
    if not nursing:
        out = out.drop(columns="nursing_beds")
    if not beds:
        out = out.drop(columns="beds")
    return out


def target(tid, measure, value, cls="养老服务", level="全市", **extra):
    return {"target_id": tid, "plan": "测试", "indicator": f"指标{tid}", "facility_class": cls, "measure": measure,
            "unit_level": level, "target_value": value, "target_year": 2025, "binding": "约束性",
            "source_seed": "", "source_ref": "", "source_quote": "", "note": "", **extra}


TARGETS = pd.DataFrame([
    target("P1", "beds_per_1000_elderly", 35), target("S1", "nursing_bed_share", 0.55), target("B1", "beds", 150),
    target("S2", "nursing_bed_share", 0.5, cls="tekun_care"), target("C1", "social_work_station", 0.5) | {
        "facility_class": "social_work_station", "measure": "coverage", "unit_level": "乡镇(街道)"},
])


def run(u=None, a=None, t=TARGETS):
    return evaluate(units() if u is None else u, ledger() if a is None else a, t, CLASSES)


def row(res, tid, district=AREA_CODE):
    c = res.coverage
    return c[(c["target_id"] == tid) & (c["district_code"] == district)].iloc[0]


def test_beds_per_1000_elderly_per_district_and_area():
    # counted 养老服务 beds: 东区 60 (f1) + 40 (f2) = 100 for 5,000 elderly; 西县 20 (f3; f4 停用) for 5,000;
    # f5 is a 社工站, f6 lies outside the area
    res = run()
    east, west, area = row(res, "P1", "110101"), row(res, "P1", "110102"), row(res, "P1")
    assert (east.beds, east.elderly_population, east.value, east.units_needed, east.met) == (100, 5000, 20, 75, False)
    assert (west.beds, west.value, west.units_needed) == (20, 4, 155)
    assert (area.beds, area.elderly_population, area.value, area.units_needed) == (120, 10000, 12, 230)
    assert area.rate == pytest.approx(12 / 35) and area.target_rate == 1.0 and area.target_value == 35
    assert (area.units_covered, area.units_total, area.value_unit) == (120, 10000, "张/千名老年人")
    assert not area.no_data and area.no_data_reason == "" and area.class_name == "养老服务类设施(全部)"
    assert area.facilities_in_ledger == 5  # every 养老服务 row of the ledger, before any filter


def test_met_when_beds_suffice():
    res = run(t=pd.DataFrame([target("P1", "beds_per_1000_elderly", 12)]))
    area = row(res, "P1")
    assert (area.units_needed, area.met) == (0, True)
    assert bool(row(res, "P1", "110101").met) and not bool(row(res, "P1", "110102").met)


def test_nursing_bed_share_per_district_and_area():
    res = run()
    east, west, area = row(res, "S1", "110101"), row(res, "S1", "110102"), row(res, "S1")
    assert (east.nursing_beds, east.beds, east.value, east.rate, east.units_needed) == (40, 100, 0.4, 0.4, 15)
    assert (west.value, west.units_needed) == (0, 11)
    assert area.value == pytest.approx(40 / 120) and area.units_needed == 26  # ceil(0.55 x 120) - 40
    assert (area.units_covered, area.units_total, area.target_rate) == (40, 120, 0.55)
    # one class only: 敬老院 (f2 in 东区; f4 in 西县 is 停用)
    s2w = row(res, "S2", "110102")
    assert s2w.no_data and s2w.no_data_reason == NO_BEDS_HERE and pd.isna(s2w.units_needed) and pd.isna(s2w.value)
    s2 = row(res, "S2")
    assert (s2.value, s2.units_needed, s2.class_name, s2.facilities_in_ledger) == (0.25, 10, "特困供养/敬老院", 2)


def test_bed_total_is_judged_for_the_area_only():
    res = run()
    area = row(res, "B1")
    assert (area.units_covered, area.beds, area.units_needed, area.met, area.value_unit) == (120, 120, 30, False, "张")
    assert area.rate == pytest.approx(0.8)
    east = row(res, "B1", "110101")
    assert east.beds == 100 and pd.isna(east.met) and pd.isna(east.target_value)


def test_coverage_rows_unchanged_and_columns():
    res = run()
    assert list(res.coverage.columns) == COVERAGE_COLUMNS + CAPACITY_COLUMNS
    c1 = row(res, "C1")
    assert (c1.units_total, c1.units_covered, c1.units_needed) == (3, 1, 1) and c1.no_data_reason == ""
    only_coverage = run(t=TARGETS[TARGETS["measure"] == "coverage"])
    assert list(only_coverage.coverage.columns) == COVERAGE_COLUMNS


@pytest.mark.parametrize("u, reason_part", [
    (units(elderly=None), NO_ELDERLY_COLUMN), (units(elderly=(0, 0, 0)), ZERO_ELDERLY),
])
def test_missing_elderly_population_is_no_data(u, reason_part):
    res = run(u=u)
    for district in ("110101", "110102", AREA_CODE):
        r = row(res, "P1", district)
        assert r.no_data and r.no_data_reason == reason_part
        assert pd.isna(r.value) and pd.isna(r.rate) and pd.isna(r.units_needed) and pd.isna(r.met)
    assert "老年人口" in area_sentence(row(res, "P1"))
    assert not row(res, "S1").no_data  # the share does not need the population


def test_partly_missing_elderly_population():
    res = run(u=units(elderly=(2000, 3000, np.nan)))
    assert not row(res, "P1", "110101").no_data and row(res, "P1", "110101").value == 20
    west, area = row(res, "P1", "110102"), row(res, "P1")
    assert west.no_data and "1 个乡镇(街道)缺少老年人口" in west.no_data_reason
    assert area.no_data and pd.isna(area.value)


def test_missing_nursing_beds_is_no_data_not_zero():
    res = run(a=ledger(nursing=False))
    for district in ("110101", "110102", AREA_CODE):
        r = row(res, "S1", district)
        assert r.no_data and r.no_data_reason == NO_NURSING_COLUMN and pd.isna(r.value)
    assert not row(res, "P1").no_data and row(res, "P1").value == 12
    assert "护理型床位数" in area_sentence(row(res, "S1")) and "0%" not in area_sentence(row(res, "S1"))


def test_partly_missing_nursing_beds_uses_the_known_ones():
    a = ledger()
    a.loc[a["facility_id"] == "f2", "nursing_beds"] = np.nan
    east = row(run(a=a), "S1", "110101")
    assert (east.nursing_beds, east.units_total, east.value) == (30, 60, 0.5)
    assert "1 个设施未填护理型床位数" in east.data_note


def test_missing_beds_is_no_data():
    res = run(a=ledger(beds=False, nursing=False))
    for tid in ("P1", "S1", "B1"):
        r = row(res, tid)
        assert r.no_data and r.no_data_reason == NO_BEDS_COLUMN and pd.isna(r.units_needed)
    a = ledger()
    a.loc[a["facility_id"] == "f3", "beds"] = np.nan
    west = row(run(a=a), "P1", "110102")
    assert west.beds == 0 and "未填床位数" in west.data_note and not west.no_data


def test_class_absent_from_ledger():
    res = run(t=pd.DataFrame([target("M1", "beds", 820, cls="mental_welfare")]))
    area = row(res, "M1")
    assert area.no_data and area.no_data_reason == NO_DATA_MESSAGE and area.facilities_in_ledger == 0
    assert NO_DATA_MESSAGE in area_sentence(area)


def test_sentences():
    res = run()
    assert area_sentence(row(res, "P1")) == ("全市每千名老年人床位 12 张(床位 120 张 / 老年人口 10,000 人), "
                                             "还需 230 张床位才能达到 35 张")
    assert area_sentence(row(res, "S1")) == "全市护理型床位占比 33.3%(护理型 40 / 120 张), 还需 26 张护理型床位才能达到 55%"
    assert area_sentence(row(res, "B1")) == "全市床位 120 张, 还需 30 张床位才能达到 150 张"
    gaps = district_gaps(res.coverage, "P1")
    assert list(gaps["district_name"]) == ["西县", "东区"]
    text = target_summary(res.coverage, "P1")
    assert "2 个区县未达标: 西县还需 155 张床位、东区还需 75 张床位" in text
    assert district_gaps(res.coverage, "B1").empty
    assert "1 个区县无法计算: 西县" in target_summary(res.coverage, "S2")


def test_capacity_table_per_township_district_and_area():
    table = capacity_table(units(), ledger(), CLASSES)
    by = table.set_index("unit_code")
    assert (by.loc["A", "beds"], by.loc["A", "nursing_beds"], by.loc["A", "beds_per_1000_elderly"]) == (60, 30, 30)
    assert by.loc["C", "beds"] == 20 and by.loc["C", "beds_per_100_elderly"] == pytest.approx(0.4)
    assert by.loc["110101", "beds"] == 100 and by.loc["110101", "level"] == "县(市、区)"
    assert (by.loc[AREA_CODE, "beds"], by.loc[AREA_CODE, "elderly_population"]) == (120, 10000)
    assert by.loc[AREA_CODE, "nursing_bed_share"] == pytest.approx(40 / 120)
    blank = capacity_table(units(elderly=None), ledger(nursing=False), CLASSES).set_index("unit_code")
    assert blank[["beds_per_1000_elderly", "nursing_bed_share"]].isna().all().all()


# ------------------------------------------------------------------ catalogue


def _table(*rows):
    return targets_as_text(pd.DataFrame(list(rows)))


def test_validate_accepts_capacity_measures():
    out = validate_targets(_table(target("P1", "beds_per_1000_elderly", 35), target("S1", "nursing_bed_share", 0.55),
                                  target("B1", "beds", 28000, baseline_value=26000, baseline_year=2020),
                                  target("S2", "nursing_bed_share", 0.5, cls="tekun_care")), CLASSES)
    assert list(out["target_value"]) == [35, 0.55, 28000, 0.5]
    assert set(CAPACITY_MEASURES) <= set(MEASURE_LABELS)


@pytest.mark.parametrize("row, message", [
    (target("S1", "nursing_bed_share", 55), "护理型床位占比目标应在 0%-100% 之间"),
    (target("S1", "nursing_bed_share", 0), "护理型床位占比目标应在 0%-100% 之间"),
    (target("P1", "beds_per_1000_elderly", -5), "每千名老年人床位数目标应为正数"),
    (target("P1", "beds_per_1000_elderly", 0), "每千名老年人床位数目标应为正数"),
    (target("B1", "beds", -1), "床位数目标应为正数"),
    (target("P1", "beds_per_1000_elderly", 35, level="乡镇(街道)"), "床位类指标的统计单元应为 全市"),
    (target("P1", "beds_per_1000_elderly", 35, cls="社会工作X"), "床位类指标也可填类别组"),
    (target("S1", "nursing_bed_share", 0.6, baseline_value=47, baseline_year=2020), "护理型床位占比基期值应在 0%-100% 之间"),
])
def test_validate_rejects_bad_capacity_rows(row, message):
    with pytest.raises(CatalogError) as err:
        validate_targets(_table(row), CLASSES)
    assert message in str(err.value) + " ".join(err.value.problems)


def test_group_is_only_for_capacity_measures():
    with pytest.raises(CatalogError):
        validate_targets(_table(target("X", "coverage", 0.6, level="乡镇(街道)")), CLASSES)  # 养老服务 is no class


def test_editor_round_trip_shows_shares_in_percent():
    table = load_targets(capacity=True)
    shown = targets_for_editing(table, CLASSES).set_index("target_id")
    assert (shown.loc["SY-22", "target_value"], shown.loc["SY-22", "measure"]) == (60, "护理型床位占比")
    assert shown.loc["SY-22", "facility_class"] == "养老服务"
    assert (shown.loc["JD-20", "baseline_value"], shown.loc["SY-24", "target_value"]) == (47, 50)
    assert (shown.loc["SY-23", "measure"], shown.loc["SY-23", "target_value"]) == ("床位数", 28000)
    assert shown.loc["HZ-02", "measure"] == "每千名老年人床位数"
    back = validate_targets(targets_from_editing(shown.reset_index(), CLASSES), CLASSES)
    pd.testing.assert_frame_equal(back.reset_index(drop=True), table.reset_index(drop=True))


def test_capacity_targets_in_the_catalogue():
    table = load_targets(capacity=True).set_index("target_id")
    assert (table.loc["SY-22", "measure"], table.loc["SY-22", "target_value"], table.loc["SY-22", "binding"]) == (
        "nursing_bed_share", 0.6, "约束性")
    assert table.loc["SY-22", "source_ref"] == "表1第8项"
    assert (table.loc["JD-20", "target_value"], table.loc["JD-20", "baseline_value"]) == (0.6, 0.47)
    assert (table.loc["HZ-02", "measure"], table.loc["HZ-02", "target_value"], table.loc["HZ-02", "target_year"]) == (
        "beds_per_1000_elderly", 50, 2020)
    assert table.loc["SY-23", "target_value"] == 28000 and table.loc["SY-25", "facility_class"] == "mental_welfare"
    assert (table["unit_level"][table["measure"].isin(CAPACITY_MEASURES)] == "全市").all()
    default = load_targets()  # off until the pages handle them (CAPACITY_TARGETS_ENABLED)
    from coverage.catalog import CAPACITY_TARGETS_ENABLED
    assert default["measure"].isin(CAPACITY_MEASURES).any() == CAPACITY_TARGETS_ENABLED


def test_demo_plan_with_capacity_targets_evaluates():
    """The 十堰 plan's capacity rows on the demo ledger: no crash; no nursing column -> no_data."""
    from coverage.evaluate import evaluate_layers
    from geodata.demo import load_demo
    from coverage.__main__ import load_inputs
    u, f = load_demo()
    units_, fac, *_ = load_inputs(u, f, CLASSES)
    targets = load_targets(capacity=True)
    targets = targets[targets["plan"] == "十堰市民政事业发展十四五规划"]
    _, res = evaluate_layers(units_, fac, targets, CLASSES)
    share = row(res, "SY-22")
    assert share.no_data and share.no_data_reason == NO_NURSING_COLUMN
    beds = row(res, "SY-23")
    assert not beds.no_data and beds.beds > 0 and not math.isnan(beds.rate)
    for tid in ("SY-22", "SY-23", "SY-24", "SY-25"):
        assert isinstance(target_summary(res.coverage, tid), str)


def test_tables_read_capacity_rows_in_their_units():
    """The 主要指标 / 评估 / district tables print bed figures in 张 with the gap in beds, and say
    待确认 (never 否 or a 0) where the figure cannot be computed."""
    from coverage.evaluate import CoverageResult
    from coverage.evaluation import district_table, evaluation_table, gap_text, indicator_table, indicator_sentences

    res = run(a=ledger(nursing=False))
    table = indicator_table(res).set_index("target_id")
    p1 = row(res, "P1")
    needed = math.ceil(35 * 10000 / 1000) - int(p1.beds)
    assert (table.loc["P1", "单位"], table.loc["P1", "目标值"]) == ("张/千名老年人", "35")
    assert table.loc["P1", "现状值"] == f"{p1.beds / 10000 * 1000:,.1f}"
    assert table.loc["P1", "差距"] == f"还需{needed:,}张床位" == gap_text(p1)
    assert (table.loc["S1", "现状值"], table.loc["S1", "目标值"], table.loc["S1", "是否达标"]) == ("—", "55%", "待确认")
    assert table.loc["B1", "目标值"] == "150" and table.loc["C1", "单位"] == "%"
    ev = evaluation_table(TARGETS, res).set_index("target_id")
    assert ev.loc["S1", "状态"] == "待确认" and math.isnan(ev.loc["S1", "current_value"])
    assert ev.loc["P1", "current_value"] == pytest.approx(p1.value)
    per = district_table(res, "P1")
    assert list(per.columns) == ["区县", "床位数(张)", "老年人口(人)", "每千名老年人床位(张)", "目标", "差距", "是否达标"]
    assert per["区县"].iloc[-1] == "全市" and per["老年人口(人)"].iloc[-1] == "10,000"
    assert list(district_table(res, "B1")["目标"]) == ["—", "—", "150"]
    sentences = "".join(indicator_sentences(res))
    assert f"指标S1({NO_NURSING_COLUMN})" in sentences and "数据不足、无法计算 2 项" in sentences
    assert isinstance(res, CoverageResult)


def test_target_kept_on_a_row_without_data():
    """A capacity row the data cannot compute still carries the plan's target (the plan's figure)."""
    s1 = row(run(a=ledger(nursing=False)), "S1")
    assert s1.no_data and s1.target_value == pytest.approx(0.55) and s1.target_rate == pytest.approx(0.55)
