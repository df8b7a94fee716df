"""Indicators per city and province: each city's row equals an evaluation of that city alone."""
import numpy as np
import pandas as pd
import pytest

from coverage.catalog import load_classes
from coverage.evaluate import AREA_CODE, evaluate
from coverage.hierarchy import area_label, coverage_by_level, division_name, levels_present

CLASSES = load_classes()
# two cities of 湖北 (十堰 4203, 襄阳 4206) and one of 河南 (南阳 4113), two districts each, three townships per district
DISTRICTS = [("420302", "茅箭区"), ("420303", "张湾区"), ("420602", "襄城区"), ("420606", "樊城区"),
             ("411302", "宛城区"), ("411303", "卧龙区")]


def layer():
    rows = []
    for d, name in DISTRICTS:
        for k, kind in zip((1, 2, 101), ("街道", "街道", "镇")):
            rows.append({"code": f"{d}{k:03d}", "name": f"{name}{k}{kind}", "district_code": d, "district_name": name,
                         "kind": kind, "elderly_population": 1000.0 * (k % 7 + 1)})
    return pd.DataFrame(rows)


def ledger(units):
    rng = np.random.default_rng(3)
    picks = units.sample(8, random_state=1)
    return pd.DataFrame({
        "facility_id": [f"f{i}" for i in range(len(picks))],
        "facility_class": rng.choice(["social_work_station", "rescue_station", "eldercare_institution"], len(picks)),
        "status": "assigned", "unit_code": picks["code"].to_numpy(), "district_code": picks["district_code"].to_numpy(),
        "operating_status": "运营", "beds": rng.integers(10, 200, len(picks)).astype(float),
    })


def target(tid, cls, measure, level, value):
    return {"target_id": tid, "plan": "测试", "indicator": f"指标{tid}", "facility_class": cls, "measure": measure,
            "unit_level": level, "target_value": value, "target_year": 2025, "binding": "", "source_seed": "",
            "source_ref": "", "source_quote": "", "note": ""}


TARGETS = pd.DataFrame([
    target("T1", "social_work_station", "coverage", "乡镇(街道)", 0.5),
    target("T2", "rescue_station", "coverage", "县(市、区)", 1.0),
    target("T3", "eldercare_institution", "count", "全市", 3),
    target("T4", "养老服务", "beds_per_1000_elderly", "全市", 35),
])


@pytest.mark.parametrize("level,digits", [("市", 4), ("省", 2)])
def test_each_group_row_equals_that_group_evaluated_alone(level, digits):
    units = layer()
    fac = ledger(units)
    whole = evaluate(units, fac, TARGETS, CLASSES).coverage
    rows = coverage_by_level(whole, level)
    groups = sorted(units["district_code"].str[:digits].unique())
    compared = 0
    assert sorted(set(rows["district_code"]) - {AREA_CODE}) == groups
    for g in groups:
        own = units[units["district_code"].str.startswith(g)]
        alone = evaluate(own, fac[fac["district_code"].str.startswith(g)], TARGETS, CLASSES).coverage
        alone = alone[alone["district_code"] == AREA_CODE].set_index("target_id")
        mine = rows[rows["district_code"] == g].set_index("target_id")
        for tid in ("T1", "T2"):
            for col in ("units_covered", "units_total", "units_needed", "met"):
                assert mine.loc[tid, col] == alone.loc[tid, col], (g, tid, col)
            assert mine.loc[tid, "rate"] == pytest.approx(alone.loc[tid, "rate"])
        assert mine.loc["T3", "units_covered"] == alone.loc["T3", "units_covered"]
        assert pd.isna(mine.loc["T3", "met"])  # the plan's count is for the whole area, not per city
        if not alone.loc["T4", "no_data"]:  # alone, a city without the class reads as "not in the ledger"
            compared += 1
            for col in ("value", "units_needed"):
                assert mine.loc["T4", col] == pytest.approx(alone.loc["T4", col]), (g, col)
        assert mine.loc["T4", "district_name"] == division_name(g)
    assert compared >= 1
    area = rows[rows["district_code"] == AREA_CODE]
    assert (area["district_name"] == "全国").all()  # three cities of two provinces
    pd.testing.assert_frame_equal(area.reset_index(drop=True).drop(columns="district_name"),
                                  whole[whole["district_code"] == AREA_CODE].reset_index(drop=True).drop(columns="district_name"))


def test_names_levels_and_area_label():
    assert division_name("4203") == "十堰市" and division_name("42") == "湖北省" and division_name("420302") == "茅箭区"
    assert division_name("9999") == "9999"
    assert levels_present(["420302", "420303"]) == ["县"] and area_label(["420302", "420303"]) == "全市"
    assert levels_present(["420302", "420602"]) == ["县", "市"] and area_label(["420302", "420602"]) == "全省"
    assert levels_present(["420302", "411302"]) == ["县", "市", "省"] and area_label(["420302", "411302"]) == "全国"
    whole = evaluate(layer(), ledger(layer()), TARGETS, CLASSES).coverage
    county = coverage_by_level(whole, "县")
    assert county["district_code"].tolist() == whole["district_code"].tolist()
    one_city = whole[whole["district_code"].str.startswith("4203") | whole["district_code"].eq(AREA_CODE)]
    assert coverage_by_level(one_city, "县") is one_city  # a city's data: nothing to rename
    with pytest.raises(ValueError):
        coverage_by_level(whole, "村")


def test_a_city_plan_on_a_province_s_data_speaks_for_the_city():
    """Restricted to the plan's area (十堰 4203), the coverage rows equal an evaluation of 十堰's
    townships alone: district rows as they are, whole-area row with every target applied."""
    from coverage.hierarchy import restrict_to_area

    units = layer()
    fac = ledger(units)
    whole = evaluate(units, fac, TARGETS, CLASSES).coverage
    mine = restrict_to_area(whole, "4203")
    own = units[units["district_code"].str.startswith("4203")]
    alone = evaluate(own, fac[fac["district_code"].str.startswith("4203")], TARGETS, CLASSES).coverage
    assert mine["district_code"].tolist() == alone["district_code"].tolist()
    judged = ~alone["no_data"].to_numpy()  # alone, a class missing from 十堰's rows reads as "not in the ledger"
    assert judged.sum() >= 6
    cols = ["units_covered", "units_total", "units_needed", "met", "rate", "district_name"]
    pd.testing.assert_frame_equal(mine.loc[judged, cols].astype(object), alone.loc[judged, cols].astype(object),
                                  check_dtype=False)
    assert restrict_to_area(whole, "") is whole and restrict_to_area(whole, "42") is not whole
    assert restrict_to_area(whole, "31") is whole  # no district of the data in the plan's area: left as it is


@pytest.mark.slow
def test_cli_compute_with_a_city_plan_on_wider_data(tmp_path):
    """`compute --plan 十堰` on 十堰's townships plus another city's: coverage.csv speaks for 十堰 only."""
    from coverage.__main__ import main
    from geodata.demo import load_demo
    from geodata.io import read_units

    u, f = load_demo()
    units, _ = read_units(u)
    other = units[units["district_code"] == "420304"].copy()
    other["district_code"] = "420602"
    other["code"] = "420602" + other["code"].str[6:]
    other["district_name"] = "襄城区"
    pd.concat([units, other], ignore_index=True).to_file(tmp_path / "wider.geojson", driver="GeoJSON")
    assert main(["compute", "--units", str(tmp_path / "wider.geojson"), "--facilities", str(f), "--plan", "十堰",
                 "--out", str(tmp_path / "out")]) == 0
    assert main(["compute", "--units", str(u), "--facilities", str(f), "--plan", "十堰", "--out", str(tmp_path / "own")]) == 0
    wider = pd.read_csv(tmp_path / "out" / "coverage.csv", dtype={"district_code": str}, encoding="utf-8-sig")
    own = pd.read_csv(tmp_path / "own" / "coverage.csv", dtype={"district_code": str}, encoding="utf-8-sig")
    assert set(wider["district_code"]) == set(own["district_code"])
    cols = ["target_id", "district_code", "units_covered", "units_total", "units_needed", "met"]
    pd.testing.assert_frame_equal(wider[cols], own[cols])
