"""Indicators on hand-built tables: empty class, met target, county-level, 街道-only, counts."""
import math

import pandas as pd
import pytest

from coverage.assign import assign_facilities
from coverage.catalog import load_classes
from coverage.config import CoverageConfig
from coverage.evaluate import AREA_CODE, evaluate, units_needed
from tests.conftest import facilities_at

CLASSES = load_classes()


def target(tid, cls, level="乡镇(街道)", value=0.6, measure="coverage"):
    return {"target_id": tid, "plan": "测试", "indicator": f"指标{tid}", "facility_class": cls, "measure": measure,
            "unit_level": level, "target_value": value, "target_year": 2025, "binding": "预期性",
            "source_seed": "", "source_ref": "", "source_quote": "", "note": ""}


def run(squares, points, classes, targets, config=CoverageConfig(), **extra):
    units = squares()
    assigned = assign_facilities(units, facilities_at(points, classes, **extra))
    res = evaluate(pd.DataFrame(units.drop(columns="geometry")), assigned, pd.DataFrame(targets), CLASSES, config=config)
    return res


def row(res, tid, district=AREA_CODE):
    c = res.coverage
    return c[(c["target_id"] == tid) & (c["district_code"] == district)].iloc[0]


@pytest.mark.parametrize("rate, total, covered, needed", [
    (0.6, 5, 0, 3), (0.6, 5, 3, 0), (0.6, 119, 56, 16), (0.5, 10, 4, 1), (1.0, 8, 8, 0), (1.0, 8, 9, 0),
    (0.7, 10, 0, 7), (0.3, 10, 2, 1), (0.0, 4, 0, 0),
])
def test_units_needed_has_no_float_noise(rate, total, covered, needed):
    assert units_needed(rate, total, covered) == needed
    assert needed == max(0, math.ceil(round(rate * total, 9)) - covered)


def test_township_coverage_per_district_and_area(squares):
    # A and C covered in district 110101 (4 units); D (110102) uncovered
    res = run(squares, [(100, 100), (1500, 500)], ["social_work_station"] * 2, [target("T1", "social_work_station")])
    d1 = row(res, "T1", "110101")
    assert (d1.units_total, d1.units_covered, d1.rate, d1.units_needed, d1.met) == (4, 2, 0.5, 1, False)
    d2 = row(res, "T1", "110102")
    assert (d2.units_total, d2.units_covered, d2.units_needed) == (1, 0, 1)
    area = row(res, "T1")
    assert (area.units_total, area.units_covered, area.units_needed) == (5, 2, 1)
    unc = res.uncovered[res.uncovered["target_id"] == "T1"]
    assert sorted(unc["unit_code"]) == ["110101002", "110101101", "110102200"]


def test_empty_class_gives_zero_coverage_and_full_gap(squares):
    res = run(squares, [(100, 100)], ["rescue_station"], [target("T2", "minor_protection_station", value=0.5)])
    area = row(res, "T2")
    assert (area.units_covered, area.rate, area.units_needed, area.met) == (0, 0.0, 3, False)
    assert len(res.uncovered) == 5


def test_target_already_met(squares):
    pts = [(100, 100), (500, 500), (1500, 500), (500, 1500)]
    res = run(squares, pts, ["comprehensive_eldercare"] * 4, [target("T3", "comprehensive_eldercare", value=0.6)])
    area = row(res, "T3")
    assert area.units_covered == 4 and area.rate == pytest.approx(0.8)
    assert area.units_needed == 0 and bool(area.met)


def test_county_level_indicator(squares):
    res = run(squares, [(1500, 500)], ["rescue_station"], [target("T4", "rescue_station", level="县(市、区)", value=1.0)])
    assert row(res, "T4", "110101").units_covered == 1 and bool(row(res, "T4", "110101").met)
    assert row(res, "T4", "110102").units_covered == 0
    area = row(res, "T4")
    assert (area.units_total, area.units_covered, area.units_needed) == (2, 1, 1)
    assert res.uncovered["unit_code"].tolist() == ["110102"]


def test_functional_zone_setting(squares):
    units = squares()
    units.loc[3, "district_name"] = "某某经济技术开发区"
    assigned = assign_facilities(units, facilities_at([(1500, 500)], ["rescue_station"]))
    t = pd.DataFrame([target("T4", "rescue_station", level="县(市、区)", value=1.0)])
    flat = pd.DataFrame(units.drop(columns="geometry"))
    with_zone = evaluate(flat, assigned, t, CLASSES)
    without = evaluate(flat, assigned, t, CLASSES, config=CoverageConfig(functional_zones_as_districts=False))
    assert row(with_zone, "T4").units_total == 2
    assert row(without, "T4").units_total == 1 and bool(row(without, "T4").met)


def test_street_only_indicator(squares):
    res = run(squares, [(100, 100), (1500, 500)], ["comprehensive_eldercare"] * 2,
              [target("T5", "comprehensive_eldercare", level="街道", value=1.0)])
    area = row(res, "T5")
    assert (area.units_total, area.units_covered, area.units_needed) == (2, 1, 1)  # only A and B are 街道
    assert "110102" not in set(res.coverage["district_code"])  # district with no 街道 has no row
    assert res.uncovered["unit_code"].tolist() == ["110101002"]


def test_township_only_level_excludes_streets(squares):
    res = run(squares, [(100, 100)], ["children_home"], [target("T6", "children_home", level="乡镇", value=1.0)])
    assert row(res, "T6").units_total == 3  # C, D, E


def test_only_operating_facilities_count_by_default(squares):
    pts = [(100, 100), (1500, 500)]
    t = [target("T7", "social_work_station")]
    res = run(squares, pts, ["social_work_station"] * 2, t, operating_status=["运营", "在建"])
    assert row(res, "T7").units_covered == 1
    what_if = run(squares, pts, ["social_work_station"] * 2, t, config=CoverageConfig(counted_statuses=("运营", "在建")),
                  operating_status=["运营", "在建"])
    assert row(what_if, "T7").units_covered == 2


def test_function_flags_qualify_an_eldercare_facility(squares):
    t = [target("T8", "comprehensive_eldercare")]
    flags = {"full_time_care": [True, True], "day_care_service": [True, False], "home_service": [True, True]}
    res = run(squares, [(100, 100), (1500, 500)], ["day_care", "day_care"], t, **flags)
    assert row(res, "T8").units_covered == 1  # only the first has all three functions


def test_count_target(squares):
    res = run(squares, [(100, 100), (200, 200), (1500, 500)], ["welfare_lottery"] * 3,
              [target("T9", "welfare_lottery", level="全市", value=5, measure="count")])
    area = row(res, "T9")
    assert (area.units_covered, area.units_needed, area.met) == (3, 2, False)
    assert row(res, "T9", "110101").units_covered == 3


def test_facilities_outside_or_unknown_do_not_count(squares):
    res = run(squares, [(9000, 9000), (100, 100)], ["social_work_station", None], [target("T10", "social_work_station")])
    assert row(res, "T10").units_covered == 0
