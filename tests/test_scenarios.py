"""Scenarios (coverage.scenarios): the incremental recompute equals a full evaluate()."""
import geopandas as gpd
import pandas as pd

from coverage.catalog import CAPACITY_MEASURES
import pytest

from coverage.assign import assign_facilities
from coverage.catalog import load_classes
from coverage.evaluate import AREA_CODE, evaluate, evaluate_layers
from coverage.proposals import propose_sites
from coverage.scenarios import (
    SITE_COLUMNS,
    ScenarioError,
    apply_scenario,
    coverage_from_counts,
    make_scenario,
    proposal_to_scenario,
    state_from_result,
)
from tests.conftest import facilities_at, target_row

CLASSES = load_classes()
SWS = "social_work_station"


target = target_row


TARGETS = pd.DataFrame([
    target("T1", SWS), target("T2", SWS, level="街道", value=1.0), target("T3", "rescue_station", level="县(市、区)", value=1.0),
    target("T4", SWS, level="全市", value=4, measure="count"), target("T5", "minor_protection_station", value=0.5),
    target("T6", "children_home", level="乡镇", value=1.0),
])


def full(units, fac, targets):
    assigned = assign_facilities(units, fac)
    return evaluate(pd.DataFrame(units.drop(columns="geometry")), assigned, targets, CLASSES)


def sites_as_facilities(scenario, crs):
    s = scenario.sites
    return gpd.GeoDataFrame({"facility_id": s["site_id"].to_numpy(), "name": s["name"].to_numpy(),
                             "facility_class": s["facility_class"].to_numpy(), "operating_status": "运营"},
                            geometry=gpd.points_from_xy(s["lon"], s["lat"]), crs=4326).to_crs(crs)


def lonlat(x, y):
    p = gpd.GeoSeries(gpd.points_from_xy([x], [y]), crs=4549).to_crs(4326)
    return float(p.x.iloc[0]), float(p.y.iloc[0])


def test_counts_alone_reproduce_evaluate(squares):
    units = squares()
    fac = facilities_at([(100, 100), (1500, 500), (500, 1500), (1500, 1200)], [SWS, SWS, "rescue_station", SWS])
    res = full(units, fac, TARGETS)
    state = state_from_result(units, TARGETS, CLASSES, res)
    pd.testing.assert_frame_equal(coverage_from_counts(state), res.coverage)


@pytest.mark.parametrize("points, classes", [
    ([(500, 500)], [SWS]),                                   # fills 乙街道 (T1, T2, T4)
    ([(1500, 1500)], [SWS]),                                 # in E's unfilled hole: placed nowhere
    ([(100, 100), (500, 1500)], ["rescue_station", "minor_protection_station"]),  # county + a no_data class
    ([(1500, 500)], ["children_home"]),                      # new class for a 乡镇-only target
])
def test_incremental_equals_full_on_hand_cases(squares, points, classes):
    units = squares()
    ledger = facilities_at([(100, 100), (1500, 500)], [SWS, SWS])
    before = full(units, ledger, TARGETS)
    state = state_from_result(units, TARGETS, CLASSES, before)
    sites = pd.DataFrame({"site_id": [f"S{i}" for i in range(len(points))], "facility_class": classes,
                          "lon": [lonlat(*p)[0] for p in points], "lat": [lonlat(*p)[1] for p in points]})
    scenario = make_scenario("测试方案", sites, CLASSES)
    out = apply_scenario(state, scenario, units)
    after = full(units, pd.concat([ledger, sites_as_facilities(scenario, 4549)], ignore_index=True), TARGETS)
    pd.testing.assert_frame_equal(out.state.coverage, after.coverage)
    assert len(out.placed) + len(out.unplaced) == len(points)
    # the state given in is untouched
    pd.testing.assert_frame_equal(state.coverage, before.coverage)
    pd.testing.assert_frame_equal(state.unit_counts, before.unit_counts[["unit_code", "facility_class", "n"]])


def test_site_in_a_hole_is_unplaced_with_reason(squares):
    units = squares()
    state = state_from_result(units, TARGETS, CLASSES, full(units, facilities_at([(100, 100)], [SWS]), TARGETS))
    lon, lat = lonlat(1500, 1500)
    out = apply_scenario(state, make_scenario("洞", pd.DataFrame({"site_id": ["S1"], "facility_class": [SWS],
                                                                  "lon": [lon], "lat": [lat]})), units)
    assert out.unplaced["reason"].tolist() == ["不在任何乡镇范围内"]
    assert not out.comparison["changed"].any()


def test_comparison_before_after_by_unit_code(squares):
    units = squares()
    state = state_from_result(units, TARGETS, CLASSES, full(units, facilities_at([(100, 100)], [SWS]), TARGETS))
    scenario = make_scenario("按代码", pd.DataFrame({"site_id": ["S1"], "facility_class": [SWS], "unit_code": ["110101002"]}))
    cmp = apply_scenario(state, scenario).comparison  # no geometry needed when unit_code is given
    row = cmp[(cmp["target_id"] == "T2") & (cmp["district_code"] == "110101")].iloc[0]
    assert (row.covered_before, row.gap_before, row.met_before) == (1, 1, False)
    assert (row.covered_after, row.gap_after, row.met_after, row.changed) == (2, 0, True, True)
    assert {"rate_before", "rate_after"} <= set(cmp.columns)
    untouched = cmp[cmp["target_id"] == "T3"]
    assert not untouched["changed"].any()


def test_bad_scenarios_are_planner_errors():
    with pytest.raises(ScenarioError, match="既无乡镇代码也无经纬度"):
        make_scenario("缺位置", pd.DataFrame({"site_id": ["S1"], "facility_class": [SWS]}))
    with pytest.raises(ScenarioError, match="未知设施类别"):
        make_scenario("类别", pd.DataFrame({"site_id": ["S1"], "facility_class": ["spaceport"], "unit_code": ["1"]}), CLASSES)
    with pytest.raises(ScenarioError, match="缺少列 facility_class"):
        make_scenario("列", pd.DataFrame({"site_id": ["S1"]}))


def assert_same_coverage(incremental: pd.DataFrame, full: pd.DataFrame) -> None:
    """Every row equal, except that a capacity row's bookkeeping of the ledger (facilities_in_ledger,
    data_note "N 个设施未填床位数") counts the bed-less planned sites in the full run: its figures
    (beds, value, gap, met) are equal all the same, since planned sites carry no beds."""
    cap = full["measure"].isin(CAPACITY_MEASURES)
    assert cap.any()
    pd.testing.assert_frame_equal(incremental[~cap.to_numpy()], full[~cap])
    figures = ["target_id", "district_code", "beds", "value", "units_covered", "units_needed", "met", "no_data_reason"]
    pd.testing.assert_frame_equal(incremental.loc[cap.to_numpy(), figures], full.loc[cap, figures])


@pytest.mark.slow
def test_demo_proposal_scenario_incremental_equals_full(demo):
    units, fac, targets, _, res = demo
    state = state_from_result(units, targets, CLASSES, res)
    pd.testing.assert_frame_equal(coverage_from_counts(state), res.coverage)
    scenario = proposal_to_scenario(propose_sites(units, res))
    assert list(scenario.sites.columns) == SITE_COLUMNS and (scenario.sites["status"] == "规划").all()
    out = apply_scenario(state, scenario, units)
    _, after = evaluate_layers(units, pd.concat([fac, sites_as_facilities(scenario, fac.crs)], ignore_index=True),
                               targets, CLASSES)
    assert_same_coverage(out.state.coverage, after.coverage)
    # and by lon/lat only (sites placed by their representative point)
    by_point = make_scenario("点位", scenario.sites.assign(unit_code=None))
    assert_same_coverage(apply_scenario(state, by_point, units).state.coverage, after.coverage)
    area = out.comparison[out.comparison["district_code"] == AREA_CODE]
    assert area["met_after"].fillna(False).astype(bool).sum() > area["met_before"].fillna(False).astype(bool).sum()


def test_demo_one_site_touches_only_its_class(demo):
    units, fac, targets, _, res = demo
    state = state_from_result(units, targets, CLASSES, res)
    code = units["code"].iloc[0]
    out = apply_scenario(state, make_scenario("一处", pd.DataFrame({"site_id": ["S1"], "facility_class": ["marriage_registry"],
                                                                     "unit_code": [code]})), units)
    changed = out.comparison.loc[out.comparison["changed"], "facility_class"]
    assert set(changed) <= {"marriage_registry"}
    _, after = evaluate_layers(units, pd.concat([fac, sites_as_facilities(
        make_scenario("一处", pd.DataFrame({"site_id": ["S1"], "facility_class": ["marriage_registry"],
                                             "lon": [units.geometry.iloc[0].representative_point().x],
                                             "lat": [units.geometry.iloc[0].representative_point().y]})), fac.crs)],
        ignore_index=True), targets, CLASSES)
    pd.testing.assert_frame_equal(out.state.coverage, after.coverage)  # not an elder-care class: no bed row moves


def test_comparison_table_reads_as_planners_do(demo):
    """The before/after table: rates only for coverage rows, gaps as integers, 达标→达标 text, and
    bed rows (NA verdicts before and after) never marked as changed."""
    from coverage.scenarios import COMPARISON_HEADERS as H, comparison_table, statuses_with_sites
    from coverage.evaluate import unit_statuses

    units, fac, targets, _, res = demo
    state = state_from_result(units, targets, CLASSES, res)
    code = res.uncovered.loc[res.uncovered["target_id"] == "SY-01", "unit_code"].iloc[0]
    out = apply_scenario(state, make_scenario("一处", pd.DataFrame({
        "site_id": ["S1"], "facility_class": ["comprehensive_eldercare"], "unit_code": [code]})), units)
    table = comparison_table(out.comparison)
    area = comparison_table(out.comparison, area_only=True)
    assert len(area) == len(targets) and len(table) == len(out.comparison)
    row = area[area[H["indicator"]] == targets.set_index("target_id").loc["SY-01", "indicator"]].iloc[0]
    assert row[H["rate_after"]] > row[H["rate_before"]] and row[H["gap_after"]] == row[H["gap_before"]] - 1
    assert row[H["changed"]] == "是" and row[H["met"]] == "未达标→未达标"
    beds = area[area[H["indicator"]].isin(targets.loc[targets["measure"].isin(CAPACITY_MEASURES), "indicator"])]
    assert len(beds) and beds[H["rate_before"]].isna().all() and (beds[H["changed"]] == "").all()
    status = unit_statuses(units, res, "SY-01")
    after = statuses_with_sites(status, units, out.placed, "comprehensive_eldercare", "乡镇(街道)")
    assert status[code] == "uncovered" and after[code] == "covered"
    assert (after.drop(code) == status.drop(code)).all()
