"""Planning scenarios: named lists of planned sites, and coverage before/after applying them.

The state of a computation is kept as counts, not as the ledger: `CoverageState.unit_counts`
(unit_code, facility_class, n: facilities that count, as `CoverageResult.unit_counts`). Applying a
scenario adds its sites to the counts of the townships they fall in and recomputes, with grouped
vectorised operations, only the indicators of the classes that changed; the ledger is not read or
assigned again. The result equals a full `coverage.evaluate.evaluate` on the ledger plus the sites
entered as facilities in operation (tests/test_scenarios.py checks it).

Rules for a planned site:
- it counts as if in operation (a scenario asks "what if these were built"), whatever its status;
- it counts for its own `facility_class` only (it has no 全托/日托/上门服务 flags: to count for
  具备综合功能的养老服务机构 give it that class);
- it lies in the township given by `unit_code`, else in the township covering its lon/lat (WGS84),
  found with `coverage.assign.assign_facilities` on the sites alone (same edge rule); a site in no
  township is reported in `ScenarioOutcome.unplaced` and counts nowhere, but, like a ledger row,
  it is in `facilities_in_ledger`;
- it has no beds: capacity targets (床位数, 每千名老年人床位数, 护理型床位占比; `CAPACITY_MEASURES`)
  keep their rows from the state (beds come from the ledger's 床位数 column only), so a scenario
  never moves a bed figure. Bed scenarios belong in the ledger (a planned facility with 床位数).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import geopandas as gpd
import numpy as np
import pandas as pd

from coverage.catalog import CAPACITY_MEASURES, ClassCatalog
from coverage.config import CoverageConfig
from coverage.errors import CoverageError
from coverage.evaluate import (
    AREA_CODE,
    AREA_NAME,
    COUNTY_LEVELS,
    COVERAGE_COLUMNS,
    CoverageResult,
    county_pool,
    units_at_level,
)

SITE_COLUMNS = ["site_id", "name", "facility_class", "lon", "lat", "unit_code", "status"]
PLANNED = "规划"
COMPARISON_KEYS = ["district_code", "district_name", "target_id", "indicator", "facility_class", "level", "measure",
                   "target_rate", "target_value", "units_total"]
COMPARED = ["units_covered", "rate", "units_needed", "met"]
UNIT_COLUMNS = ["code", "name", "district_code", "district_name", "kind"]


class ScenarioError(CoverageError, ValueError):
    """A scenario a planner can fix (missing columns, unknown class, site without location)."""


@dataclass(frozen=True)
class Scenario:
    """A named list of planned sites: SITE_COLUMNS (lon/lat WGS84 degrees, or unit_code)."""

    name: str
    sites: pd.DataFrame


@dataclass(frozen=True)
class CoverageState:
    """What coverage is recomputed from: township table, plan targets, counts per (unit, class)
    and facilities in the ledger per class (before any filter), plus the coverage they give."""

    units: pd.DataFrame
    targets: pd.DataFrame
    unit_counts: pd.DataFrame
    in_ledger: dict
    class_names: dict
    coverage: pd.DataFrame
    config: CoverageConfig = CoverageConfig()


@dataclass(frozen=True)
class ScenarioOutcome:
    """state: after the scenario; comparison: `compare_states(before, after)`; placed: the sites
    with their unit_code; unplaced: sites in no township (with the reason)."""

    state: CoverageState
    comparison: pd.DataFrame
    placed: pd.DataFrame
    unplaced: pd.DataFrame


def make_scenario(name: str, sites: pd.DataFrame, classes: ClassCatalog | None = None) -> Scenario:
    """Check and normalise a site list; every problem is listed in one `ScenarioError`."""
    sites = sites.copy()
    problems = []
    for col in ("site_id", "facility_class"):
        if col not in sites.columns:
            problems.append(f"缺少列 {col}")
    for col, default in (("name", ""), ("lon", np.nan), ("lat", np.nan), ("unit_code", None), ("status", PLANNED)):
        if col not in sites.columns:
            sites[col] = default
    if not problems:
        if sites["site_id"].duplicated().any():
            problems.append(f"点位编号重复: {', '.join(map(str, sites.loc[sites['site_id'].duplicated(), 'site_id']))}")
        if classes is not None:
            bad = sorted(set(sites["facility_class"]) - set(classes.table["class_id"]))
            if bad:
                problems.append(f"未知设施类别: {', '.join(map(str, bad))}")
        no_place = sites["unit_code"].isna() & (sites["lon"].isna() | sites["lat"].isna())
        if no_place.any():
            problems.append(f"{int(no_place.sum())} 个点位既无乡镇代码也无经纬度")
    if problems:
        raise ScenarioError(f"方案「{name}」有误: " + "; ".join(problems))
    sites["unit_code"] = sites["unit_code"].map(lambda v: None if pd.isna(v) else str(v))
    return Scenario(name=name, sites=sites[SITE_COLUMNS].reset_index(drop=True))


def proposal_to_scenario(proposals, name: str = "最少新增点位") -> Scenario:
    """A scenario with one planned site per (township, class) of a proposal (`coverage.proposals`),
    at the township's representative point: one site serves every target of its class there."""
    frame = getattr(proposals, "sites", proposals)
    frame = frame.drop_duplicates(["unit_code", "facility_class"]).reset_index(drop=True)
    sites = pd.DataFrame({
        "site_id": [f"P{i + 1:04d}" for i in range(len(frame))],
        "name": [f"{n}(规划)" for n in frame["unit_name"]],
        "facility_class": frame["facility_class"].to_numpy(),
        "lon": frame["lon"].to_numpy(), "lat": frame["lat"].to_numpy(),
        "unit_code": frame["unit_code"].astype(str).to_numpy(), "status": PLANNED,
    })
    return make_scenario(name, sites)


def state_from_result(units: pd.DataFrame, targets: pd.DataFrame, classes: ClassCatalog, result: CoverageResult,
                      *, config: CoverageConfig = CoverageConfig()) -> CoverageState:
    """The state of an `evaluate` run (its unit_counts and facilities_in_ledger, not the ledger)."""
    cov = result.coverage
    in_ledger = dict(zip(cov["facility_class"], cov["facilities_in_ledger"].astype(int)))
    units = pd.DataFrame(units)[UNIT_COLUMNS].astype(str).reset_index(drop=True)
    counts = result.unit_counts[["unit_code", "facility_class", "n"]].reset_index(drop=True)
    return CoverageState(units=units, targets=targets.reset_index(drop=True), unit_counts=counts,
                         in_ledger=in_ledger, class_names=dict(classes.names), coverage=cov, config=config)


def apply_scenario(state: CoverageState, scenario: Scenario, units_geo: gpd.GeoDataFrame | None = None) -> ScenarioOutcome:
    """Add the scenario's sites to `state` and recompute the indicators of the classes they change.

    units_geo
        Township polygons (code, district_code, geometry), needed only for sites without unit_code.
    """
    placed, unplaced = locate_sites(scenario.sites, state.units, units_geo, config=state.config)
    counts = _add_counts(state.unit_counts, placed)
    in_ledger = dict(state.in_ledger)
    for cls, n in scenario.sites["facility_class"].value_counts().items():
        in_ledger[cls] = int(in_ledger.get(cls, 0)) + int(n)
    changed = set(scenario.sites["facility_class"])
    after = replace(state, unit_counts=counts, in_ledger=in_ledger)
    targets = state.targets
    touched = targets[targets["facility_class"].isin(changed) & ~targets["measure"].isin(CAPACITY_MEASURES)]
    if touched.empty:
        coverage = state.coverage
    else:
        fresh = coverage_from_counts(replace(after, targets=touched))
        kept = state.coverage[~state.coverage["target_id"].isin(set(touched["target_id"]))]
        coverage = _in_target_order(pd.concat([kept, fresh], ignore_index=True), state.targets)
    after = replace(after, coverage=coverage)
    return ScenarioOutcome(state=after, comparison=compare_states(state, after), placed=placed, unplaced=unplaced)


def _add_counts(unit_counts: pd.DataFrame, placed: pd.DataFrame) -> pd.DataFrame:
    """unit_counts plus one per placed site: only the rows of the sites' townships are touched
    (existing (unit, class) rows incremented, new ones appended); a new frame, the input unchanged."""
    delta = placed.groupby(["unit_code", "facility_class"]).size().rename("add").reset_index()
    if delta.empty:
        return unit_counts
    near = unit_counts["unit_code"].isin(delta["unit_code"].unique())
    local = unit_counts[near].merge(delta, on=["unit_code", "facility_class"], how="outer")
    local["n"] = local["n"].fillna(0).astype(int) + local["add"].fillna(0).astype(int)
    return pd.concat([unit_counts[~near], local.drop(columns="add")], ignore_index=True)


def locate_sites(sites: pd.DataFrame, units: pd.DataFrame, units_geo: gpd.GeoDataFrame | None, *,
                 config: CoverageConfig = CoverageConfig()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(placed, unplaced): sites with a known unit_code, and the others with a `reason`."""
    sites = sites.copy()
    codes = pd.Index(units["code"])
    need_point = sites["unit_code"].isna()
    if need_point.any():
        if units_geo is None:
            raise ScenarioError("有点位只给了经纬度, 需要乡镇边界才能确定所在乡镇。")
        from coverage.assign import assign_facilities  # noqa: PLC0415

        pts = sites[need_point]
        geo = gpd.GeoDataFrame({"facility_id": pts["site_id"].to_numpy(), "facility_class": pts["facility_class"].to_numpy()},
                               geometry=gpd.points_from_xy(pts["lon"], pts["lat"]), crs=4326)
        if units_geo.crs is not None:
            geo = geo.to_crs(units_geo.crs)
        found = assign_facilities(units_geo, geo, config=config)["unit_code"].to_numpy()
        sites.loc[need_point, "unit_code"] = [None if pd.isna(v) else str(v) for v in found]
    ok = pd.Series(codes.get_indexer(sites["unit_code"].astype(object)) >= 0, index=sites.index)
    unplaced = sites[~ok].assign(reason=np.where(sites.loc[~ok, "unit_code"].isna(), "不在任何乡镇范围内", "乡镇代码不在边界表中"))
    return sites[ok].reset_index(drop=True), unplaced.reset_index(drop=True)


def coverage_from_counts(state: CoverageState) -> pd.DataFrame:
    """The coverage table of `evaluate` (same rows, order and values) from the state's counts;
    capacity targets' rows are the state's own (counts carry no beds)."""
    units, targets, config = state.units, state.targets, state.config
    capacity = targets["measure"].isin(CAPACITY_MEASURES)
    if capacity.any():
        kept = state.coverage[state.coverage["target_id"].isin(set(targets.loc[capacity, "target_id"]))]
        rest = coverage_from_counts(replace(state, targets=targets[~capacity])) if (~capacity).any() else kept.iloc[0:0]
        return _in_target_order(pd.concat([rest, kept], ignore_index=True)[list(state.coverage.columns)], targets)
    counts = state.unit_counts
    counts = counts[(counts["n"] > 0) & counts["facility_class"].isin(targets["facility_class"].unique())]
    row = pd.Index(units["code"]).get_indexer(counts["unit_code"])  # position of each count's township
    counts = counts[row >= 0].assign(_row=row[row >= 0])
    counts["district_code"] = units["district_code"].to_numpy()[counts["_row"].to_numpy()]
    districts = units.drop_duplicates("district_code")[["district_code", "district_name"]]
    districts = districts.sort_values("district_code").reset_index(drop=True)
    blocks = []
    t = targets.reset_index(drop=True).assign(_pos=np.arange(len(targets)))
    coverage_t = t[t["measure"] != "count"]
    for level, group in coverage_t.groupby("unit_level", sort=False):
        if level in COUNTY_LEVELS:
            pool = county_pool(districts, level, config)[["district_code", "district_name"]].assign(units_total=1)
            cov = counts.drop_duplicates(["district_code", "facility_class"]).assign(units_covered=1)
            cov = cov[["district_code", "facility_class", "units_covered"]]
        else:
            pool_units = units_at_level(units, level, config)
            pool = pool_units.groupby("district_code").size().rename("units_total").reset_index()
            pool = pool.merge(districts, on="district_code")
            in_pool = np.zeros(len(units), dtype=bool)
            in_pool[units.index.get_indexer(pool_units.index)] = True
            cov = counts[in_pool[counts["_row"].to_numpy()]]
            cov = cov.groupby(["district_code", "facility_class"]).size().rename("units_covered").reset_index()
        blocks.append(_rate_rows(pool, cov, group, state))
    count_t = t[t["measure"] == "count"]
    if len(count_t):
        blocks.append(_count_rows(districts, counts, count_t, state))
    if not blocks:
        return pd.DataFrame(columns=COVERAGE_COLUMNS)
    out = pd.concat(blocks, ignore_index=True)
    out = out.sort_values(["_pos", "_area", "district_code"], kind="mergesort").reset_index(drop=True)
    return _like_evaluate(out[COVERAGE_COLUMNS])


def _meta(group: pd.DataFrame, state: CoverageState) -> pd.DataFrame:
    in_ledger = group["facility_class"].map(lambda c: int(state.in_ledger.get(c, 0)))
    return pd.DataFrame({
        "_pos": group["_pos"].to_numpy(), "target_id": group["target_id"].to_numpy(),
        "indicator": group["indicator"].to_numpy(), "facility_class": group["facility_class"].to_numpy(),
        "class_name": group["facility_class"].map(lambda c: state.class_names.get(c, c)).to_numpy(),
        "level": group["unit_level"].to_numpy(), "measure": group["measure"].to_numpy(),
        "binding": group["binding"].to_numpy(), "target_year": group["target_year"].astype(int).to_numpy(),
        "facilities_in_ledger": in_ledger.to_numpy(), "no_data": (in_ledger == 0).to_numpy(),
        "target_rate": group["target_value"].astype(float).to_numpy(),
    })


def _needed(target_rate, total, covered):
    return np.maximum(0, np.ceil(np.round(target_rate * total, 9)).astype(int) - covered.astype(int))


def _rate_rows(pool: pd.DataFrame, cov: pd.DataFrame, group: pd.DataFrame, state: CoverageState) -> pd.DataFrame:
    meta = _meta(group, state)
    rows = meta.merge(pool, how="cross").merge(cov, on=["district_code", "facility_class"], how="left")
    rows["units_covered"] = rows["units_covered"].fillna(0).astype(int)
    area = rows.groupby("_pos", as_index=False).agg(units_total=("units_total", "sum"), units_covered=("units_covered", "sum"))
    area = meta.merge(area, on="_pos", how="left").fillna({"units_total": 0, "units_covered": 0})
    area = area.assign(district_code=AREA_CODE, district_name=AREA_NAME, _area=1)
    rows = pd.concat([rows.assign(_area=0), area], ignore_index=True)
    rows["units_total"] = rows["units_total"].astype(int)
    rows["units_covered"] = rows["units_covered"].astype(int)
    total = rows["units_total"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        rows["rate"] = np.where(total > 0, rows["units_covered"] / np.where(total > 0, total, 1), np.nan)
    rows["target_value"] = rows["target_rate"]
    rows["units_needed"] = _needed(rows["target_rate"].to_numpy(), total, rows["units_covered"].to_numpy())
    rows["met"] = rows["units_needed"] == 0
    return rows


def _count_rows(districts: pd.DataFrame, counts: pd.DataFrame, group: pd.DataFrame, state: CoverageState) -> pd.DataFrame:
    meta = _meta(group, state)
    n = counts.groupby(["district_code", "facility_class"])["n"].sum().rename("units_covered").reset_index()
    rows = meta.merge(districts, how="cross").merge(n, on=["district_code", "facility_class"], how="left")
    rows["units_covered"] = rows["units_covered"].fillna(0).astype(int)
    rows = rows.assign(units_total=pd.NA, rate=np.nan, target_rate=np.nan, target_value=np.nan,
                       units_needed=pd.NA, met=pd.NA, _area=0)
    area = meta.merge(rows.groupby("_pos", as_index=False)["units_covered"].sum(), on="_pos", how="left")
    area["units_covered"] = area["units_covered"].fillna(0).astype(int)
    target = area["target_rate"].to_numpy()
    needed = np.maximum(0, np.ceil(np.round(target, 9)).astype(int) - area["units_covered"].to_numpy())
    area = area.assign(district_code=AREA_CODE, district_name=AREA_NAME, units_total=pd.NA, target_value=target,
                       rate=np.where(target != 0, area["units_covered"] / np.where(target != 0, target, 1), np.nan),
                       target_rate=1.0, units_needed=needed, met=needed == 0, _area=1)
    return pd.concat([rows, area], ignore_index=True)


def _like_evaluate(frame: pd.DataFrame) -> pd.DataFrame:
    """Column types as `evaluate` builds them (ints, or objects where count rows hold pd.NA)."""
    out = frame.copy()
    for col in ("units_total", "units_needed", "met"):
        values = out[col]
        if values.isna().any():
            out[col] = pd.Series([v if pd.isna(v) else (bool(v) if col == "met" else int(v)) for v in values],
                                 index=out.index, dtype=object)
        else:
            out[col] = values.astype(bool if col == "met" else int)
    out["no_data"] = out["no_data"].astype(bool)
    return out


def _in_target_order(coverage: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    pos = {tid: i for i, tid in enumerate(targets["target_id"])}
    key = pd.DataFrame({"p": coverage["target_id"].map(pos).to_numpy(),
                        "a": (coverage["district_code"] == AREA_CODE).to_numpy(),
                        "d": coverage["district_code"].to_numpy()})
    order = key.sort_values(["p", "a", "d"], kind="mergesort").index
    out = coverage.iloc[order].reset_index(drop=True)
    for col in ("value_unit", "no_data_reason", "data_note"):  # capacity columns are blank on other rows
        if col in out.columns:
            out[col] = out[col].fillna("")
    return _like_evaluate(out)


def compare_states(before: CoverageState, after: CoverageState) -> pd.DataFrame:
    """Every indicator and district: COMPARISON_KEYS, then covered/rate/gap/met before and after
    (`*_before`, `*_after`; gap = units_needed) and `changed`."""
    b = before.coverage[COMPARISON_KEYS + COMPARED]
    a = after.coverage[["district_code", "target_id"] + COMPARED]
    out = b.merge(a, on=["district_code", "target_id"], how="outer", suffixes=("_before", "_after"), sort=False)
    out = out.rename(columns={"units_needed_before": "gap_before", "units_needed_after": "gap_after",
                              "units_covered_before": "covered_before", "units_covered_after": "covered_after"})
    b_cov, a_cov = out["covered_before"], out["covered_after"]
    both_missing = (b_cov.isna() & a_cov.isna()).to_numpy(dtype=bool)
    equal = np.array([bool(x == y) if not (pd.isna(x) or pd.isna(y)) else False for x, y in zip(b_cov, a_cov)], dtype=bool)
    out["changed"] = ~(both_missing | equal)
    return out


#: Headers of the before/after table (page, Excel download and meeting pack).
COMPARISON_HEADERS = {"indicator": "指标", "district_name": "区县", "rate_before": "现状覆盖率", "rate_after": "方案后覆盖率",
                      "gap_before": "现状差距", "gap_after": "方案后差距", "met": "是否达标(现状→方案后)", "changed": "有变化"}
_MET_WORDS = {True: "达标", False: "未达标"}


def comparison_table(comparison: pd.DataFrame, *, area_only: bool = False) -> pd.DataFrame:
    """`compare_states`' rows as planners read them (`COMPARISON_HEADERS`): coverage rates as shares
    (blank for count and bed targets, whose figure is not a rate), gaps as integers (还需; beds for
    bed targets), 达标→达标 text ("—" where the row is not judged), 有变化 "是"/"". `area_only`: the
    whole-area (全市) rows only."""
    c = comparison[comparison["district_code"] == AREA_CODE] if area_only else comparison
    coverage = c["measure"].eq("coverage").to_numpy()
    h = COMPARISON_HEADERS
    rate = {k: pd.to_numeric(c[k], errors="coerce").where(coverage) for k in ("rate_before", "rate_after")}
    return pd.DataFrame({
        h["indicator"]: c["indicator"].to_numpy(), h["district_name"]: c["district_name"].to_numpy(),
        h["rate_before"]: rate["rate_before"].to_numpy(), h["rate_after"]: rate["rate_after"].to_numpy(),
        h["gap_before"]: pd.to_numeric(c["gap_before"], errors="coerce").astype("Int64").to_numpy(),
        h["gap_after"]: pd.to_numeric(c["gap_after"], errors="coerce").astype("Int64").to_numpy(),
        h["met"]: [f"{_MET_WORDS.get(b, '—')}→{_MET_WORDS.get(a, '—')}" if pd.notna(b) and pd.notna(a) else "—"
                   for b, a in zip(c["met_before"], c["met_after"])],
        h["changed"]: np.where(c["changed"].to_numpy(dtype=bool), "是", ""),
    })


def statuses_with_sites(status: pd.Series, units: pd.DataFrame, placed: pd.DataFrame, facility_class: str,
                        level: str) -> pd.Series:
    """Township statuses for a map (`coverage.evaluate.unit_statuses`) with the townships a scenario's
    placed sites of `facility_class` cover turned from "uncovered" to "covered"; for a county level
    every township of a district that gets a site. A new Series; `status` is left as it was."""
    out = status.copy()
    codes = set(placed.loc[placed["facility_class"] == facility_class, "unit_code"].astype(str))
    if level in COUNTY_LEVELS:
        districts = set(units.loc[units["code"].astype(str).isin(codes), "district_code"])
        codes = set(units.loc[units["district_code"].isin(districts), "code"].astype(str))
    out[out.index.astype(str).isin(codes) & (out == "uncovered")] = "covered"
    return out
