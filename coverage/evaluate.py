"""Coverage indicators per district and for the whole area, against plan targets.

Pure functions on plain tables: `units` (one row per township), `assigned` (the output of
`coverage.assign.assign_facilities`) and the plan's target rows.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from coverage.admin import OTHER_TOWNSHIP_KIND, district_kind
from coverage.assign import COUNTED_STATUSES
from coverage.catalog import CAPACITY_MEASURES, FUNCTION_COLUMNS, ClassCatalog, StatusVocabulary, load_statuses
from coverage.config import FUNCTIONAL_ZONE_MARKERS, CoverageConfig

AREA_CODE = "ALL"
AREA_NAME = "全市"

COVERAGE_COLUMNS = [
    "district_code", "district_name", "target_id", "indicator", "facility_class", "class_name",
    "level", "measure", "units_total", "units_covered", "rate", "target_rate", "target_value",
    "units_needed", "met", "binding", "target_year", "facilities_in_ledger", "no_data",
]
#: Extra columns of the coverage table when the targets include capacity measures (床位数,
#: 每千名老年人床位数, 护理型床位占比; see `coverage.capacity` for their meaning); blank/NaN on the
#: other rows. Plans without capacity targets get exactly `COVERAGE_COLUMNS`.
CAPACITY_COLUMNS = ["value", "value_unit", "beds", "nursing_beds", "elderly_population", "no_data_reason", "data_note"]
UNCOVERED_COLUMNS = ["district_code", "district_name", "unit_code", "unit_name", "unit_kind", "target_id", "indicator"]
EXCLUDED_COLUMNS = ["district_code", "district_name", "unit_code", "unit_name", "unit_kind", "reason"]
#: Said wherever a figure rests on a class the ledger holds none of.
NO_DATA_MESSAGE = "台账中无此类设施, 请确认"


@dataclass(frozen=True)
class CoverageResult:
    """What a plan evaluation returns.

    coverage
        One row per (district, target) plus one whole-area row per target (`district_code` "ALL").
        `rate` and `target_rate` are shares 0-1; `units_needed` is how many more units must be
        covered (or facilities built, for count targets) to reach the target.
    uncovered
        One row per (target, unit not covered); for county-level targets the unit is the district.
    unit_counts
        Facilities that count, per unit and class: unit_code, facility_class, n.
    excluded_units
        Units left out of 乡镇(街道) denominators (类似乡级单位 unless `count_other_units`), with the
        reason; empty when none.

    Capacity targets (床位数, 每千名老年人床位数, 护理型床位占比) add the `CAPACITY_COLUMNS`
    (value, value_unit, beds, nursing_beds, elderly_population, no_data_reason, data_note); their
    rows reuse units_covered/units_total as numerator/denominator, rate/target_rate/units_needed/met
    as documented in `coverage.capacity`, and are no_data with a Chinese `no_data_reason` when beds,
    nursing beds or the elderly population are missing.

    `coverage.facilities_in_ledger` is how many facilities of the class the input holds before any
    filter (status, placement, duplicates); `no_data` is True when that is 0: the ledger cannot tell
    whether the class is missing or was never sent, and pages say `NO_DATA_MESSAGE` instead of a gap.
    """

    coverage: pd.DataFrame
    uncovered: pd.DataFrame
    unit_counts: pd.DataFrame
    excluded_units: pd.DataFrame = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.excluded_units is None:
            object.__setattr__(self, "excluded_units", pd.DataFrame(columns=EXCLUDED_COLUMNS))


def units_needed(target_rate: float, units_total: int, units_covered: int) -> int:
    """max(0, ceil(target_rate x units_total) - units_covered), immune to float noise
    (0.6 x 5 = 3.0000000000000004 must need 3 units, not 4)."""
    required = math.ceil(round(target_rate * units_total, 9))
    return max(0, required - int(units_covered))


def operating_statuses(assigned: pd.DataFrame, config: CoverageConfig = CoverageConfig(),
                       vocabulary: StatusVocabulary | None = None) -> pd.Series:
    """Canonical operating status per row (运营/在建/规划/停用/未知; blank = 运营)."""
    vocabulary = vocabulary or load_statuses()
    raw = assigned["operating_status"] if "operating_status" in assigned.columns else pd.Series("", index=assigned.index)
    return vocabulary.canonical_series(raw, dict(config.status_mapping))


def class_memberships(facilities: pd.DataFrame, classes: ClassCatalog) -> pd.DataFrame:
    """One row per (facility, class it stands for), every facility row kept (no filter), with the
    facility's columns and `row` (its position in `facilities`): a facility stands for its own class
    and, when it is an elder-care facility with every qualifying function flag (全托+日托+上门服务),
    also for the function-defined class."""
    frame = facilities.reset_index(drop=True).assign(row=np.arange(len(facilities)))
    rows = [frame]
    for class_id in classes.table["class_id"]:
        needed = classes.qualifying_functions(class_id)
        cols = [FUNCTION_COLUMNS[f] for f in needed if f in FUNCTION_COLUMNS]
        if not needed or len(cols) != len(needed) or not set(cols) <= set(frame.columns):
            continue
        same_group = frame["facility_class"].map(classes.groups).eq(classes.groups[class_id])
        flags = frame[cols].fillna(False).astype(bool).all(axis=1)
        extra = frame.loc[same_group & flags & frame["facility_class"].ne(class_id)]
        rows.append(extra.assign(facility_class=class_id))
    return pd.concat(rows, ignore_index=True)


def facilities_in_ledger(facilities: pd.DataFrame, classes: ClassCatalog) -> pd.Series:
    """class_id -> number of facilities of the class the input holds before any filter
    (every status, placed or not, duplicates included); classes absent from the ledger are 0."""
    counts = class_memberships(facilities, classes)["facility_class"].value_counts()
    return counts.reindex(classes.table["class_id"], fill_value=0).astype(int)


def counting_facilities(assigned: pd.DataFrame, classes: ClassCatalog, config: CoverageConfig) -> pd.DataFrame:
    """Facilities that count: assigned to a unit and in a counted operating status.

    Returns unit_code, district_code and the class each counts for, one row per (facility, class)
    (see `class_memberships`).
    """
    ok = assigned["status"].isin(COUNTED_STATUSES).to_numpy().copy()
    ok &= operating_statuses(assigned, config).isin(config.counted_statuses).to_numpy()
    members = class_memberships(assigned, classes)
    members = members[ok[members["row"].to_numpy()]]
    return members[["facility_id", "unit_code", "district_code", "facility_class"]].reset_index(drop=True)


def evaluate(
    units: pd.DataFrame,
    assigned: pd.DataFrame,
    targets: pd.DataFrame,
    classes: ClassCatalog,
    *,
    config: CoverageConfig = CoverageConfig(),
) -> CoverageResult:
    """Compare facility presence per unit with the plan targets.

    units
        code, name, district_code, district_name, kind (街道/镇/乡/其他).
    assigned
        Output of `assign_facilities` (status, unit_code, district_code, facility_class, ...).
    targets
        Rows of the plan-target catalogue (`coverage.catalog.load_targets`), usually one plan.
    """
    all_units = units.reset_index(drop=True)  # with elderly_population when the layer has it
    units = units[["code", "name", "district_code", "district_name", "kind"]].astype(str).reset_index(drop=True)
    in_ledger = facilities_in_ledger(assigned, classes)
    counting = counting_facilities(assigned, classes, config)
    unit_counts = counting.groupby(["unit_code", "facility_class"]).size().rename("n").reset_index()
    covered_pairs = set(zip(unit_counts["unit_code"], unit_counts["facility_class"]))
    districts = units.drop_duplicates("district_code")[["district_code", "district_name"]]
    districts = districts.sort_values("district_code").reset_index(drop=True)

    cov_rows: list[dict] = []
    unc_rows: list[dict] = []
    for t in targets.itertuples(index=False):
        meta = {
            "target_id": t.target_id, "indicator": t.indicator, "facility_class": t.facility_class,
            "class_name": classes.names.get(t.facility_class, t.facility_class), "level": t.unit_level,
            "measure": t.measure, "binding": t.binding, "target_year": int(t.target_year),
            "facilities_in_ledger": int(in_ledger.get(t.facility_class, 0)),
            "no_data": bool(in_ledger.get(t.facility_class, 0) == 0),
        }
        if t.measure in CAPACITY_MEASURES:
            from coverage.capacity import capacity_rows  # noqa: PLC0415
            cov_rows += capacity_rows(all_units, assigned, t, meta, classes, config)
        elif t.measure == "count":
            cov_rows += _count_rows(counting, districts, meta, float(t.target_value))
        elif t.unit_level in COUNTY_LEVELS:
            c, u = _county_rows(units, counting, districts, meta, float(t.target_value), config)
            cov_rows += c
            unc_rows += u
        else:
            c, u = _township_rows(units, covered_pairs, districts, meta, float(t.target_value), config)
            cov_rows += c
            unc_rows += u
    capacity = targets["measure"].isin(CAPACITY_MEASURES).any() if len(targets) else False
    coverage = pd.DataFrame(cov_rows, columns=COVERAGE_COLUMNS + (CAPACITY_COLUMNS if capacity else []))
    if capacity:
        for col in ("value_unit", "no_data_reason", "data_note"):
            coverage[col] = coverage[col].fillna("")
    uncovered = pd.DataFrame(unc_rows, columns=UNCOVERED_COLUMNS)
    return CoverageResult(coverage=coverage, uncovered=uncovered, unit_counts=unit_counts,
                          excluded_units=excluded_units(units, targets, config))


def _row(district_code, district_name, meta, total, covered, target_rate, target_value) -> dict:
    rate = covered / total if total else np.nan
    needed = units_needed(target_rate, total, covered)
    return {
        "district_code": district_code, "district_name": district_name, **meta,
        "units_total": int(total), "units_covered": int(covered), "rate": rate,
        "target_rate": target_rate, "target_value": target_value, "units_needed": needed,
        "met": needed == 0,
    }


#: Unit levels evaluated per county-level district rather than per township.
COUNTY_LEVELS = ("县(市、区)", "县")


def units_at_level(units: pd.DataFrame, level: str, config: CoverageConfig = CoverageConfig()) -> pd.DataFrame:
    """The township units a target of this level counts: 街道 only; 镇+乡 only; or for 乡镇(街道)
    every unit except 类似乡级单位 (林场, 农场, 开发区 ...), which `config.count_other_units` adds."""
    if level == "街道":
        return units[units["kind"] == "街道"]
    if level == "乡镇":
        return units[units["kind"].isin(["镇", "乡"])]
    if config.count_other_units:
        return units
    return units[units["kind"] != OTHER_TOWNSHIP_KIND]


def excluded_units(units: pd.DataFrame, targets: pd.DataFrame, config: CoverageConfig = CoverageConfig()) -> pd.DataFrame:
    """Units left out of the plan's 乡镇(街道) targets (类似乡级单位 unless counted), with the reason."""
    if config.count_other_units or not (targets["unit_level"] == "乡镇(街道)").any():
        return pd.DataFrame(columns=EXCLUDED_COLUMNS)
    out = units[units["kind"] == OTHER_TOWNSHIP_KIND]
    return pd.DataFrame({
        "district_code": out["district_code"], "district_name": out["district_name"], "unit_code": out["code"],
        "unit_name": out["name"], "unit_kind": out["kind"],
        "reason": "类似乡级单位(林场、农场、开发区等), 乡镇(街道)指标默认不计入; 可在设置中计入",
    }, columns=EXCLUDED_COLUMNS).reset_index(drop=True)


def _township_rows(units, covered_pairs, districts, meta, target_rate, config):
    pool = units_at_level(units, meta["level"], config)
    is_cov = np.array([(code, meta["facility_class"]) in covered_pairs for code in pool["code"]], dtype=bool)
    pool = pool.assign(covered=is_cov)
    rows = []
    for d in districts.itertuples(index=False):
        sub = pool[pool["district_code"] == d.district_code]
        if len(sub):  # a district with no unit of this level (e.g. no 街道) has no row
            rows.append(_row(d.district_code, d.district_name, meta, len(sub), int(sub["covered"].sum()),
                             target_rate, target_rate))
    rows.append(_row(AREA_CODE, AREA_NAME, meta, len(pool), int(pool["covered"].sum()), target_rate, target_rate))
    unc = pool[~pool["covered"]]
    unc_rows = [
        {"district_code": r.district_code, "district_name": r.district_name, "unit_code": r.code,
         "unit_name": r.name, "unit_kind": r.kind, "target_id": meta["target_id"], "indicator": meta["indicator"]}
        for r in unc.itertuples(index=False)
    ]
    return rows, unc_rows


def _is_functional_zone(name: str) -> bool:
    return any(marker in name for marker in FUNCTIONAL_ZONE_MARKERS)


def county_pool(districts: pd.DataFrame, level: str, config: CoverageConfig = CoverageConfig()) -> pd.DataFrame:
    """The county-level districts a target of this level counts: every district for 县(市、区)
    (functional zones unless the setting removes them); 县 and 县级市 only for 县."""
    pool = districts
    if not config.functional_zones_as_districts or level == "县":
        pool = pool[~pool["district_name"].map(_is_functional_zone)]
    if level == "县":
        kinds = [district_kind(n, c) for n, c in zip(pool["district_name"], pool["district_code"])]
        pool = pool[[k in ("县", "县级市") for k in kinds]]
    return pool


def _county_rows(units, counting, districts, meta, target_rate, config):
    with_fac = set(counting.loc[counting["facility_class"] == meta["facility_class"], "district_code"])
    pool = county_pool(districts, meta["level"], config)
    rows, unc_rows = [], []
    for d in pool.itertuples(index=False):
        covered = int(d.district_code in with_fac)
        rows.append(_row(d.district_code, d.district_name, meta, 1, covered, target_rate, target_rate))
        if not covered:
            unc_rows.append({"district_code": d.district_code, "district_name": d.district_name,
                             "unit_code": d.district_code, "unit_name": d.district_name, "unit_kind": "县(市、区)",
                             "target_id": meta["target_id"], "indicator": meta["indicator"]})
    n_cov = sum(r["units_covered"] for r in rows)
    rows.append(_row(AREA_CODE, AREA_NAME, meta, len(pool), n_cov, target_rate, target_rate))
    return rows, unc_rows


def _count_rows(counting, districts, meta, target_count):
    n_by_district = counting[counting["facility_class"] == meta["facility_class"]].groupby("district_code").size()
    rows = []
    for d in districts.itertuples(index=False):
        n = int(n_by_district.get(d.district_code, 0))
        rows.append({"district_code": d.district_code, "district_name": d.district_name, **meta,
                     "units_total": pd.NA, "units_covered": n, "rate": np.nan, "target_rate": np.nan,
                     "target_value": np.nan, "units_needed": pd.NA, "met": pd.NA})
    n = int(n_by_district.sum())
    needed = max(0, math.ceil(round(target_count, 9)) - n)
    rows.append({"district_code": AREA_CODE, "district_name": AREA_NAME, **meta, "units_total": pd.NA,
                 "units_covered": n, "rate": n / target_count if target_count else np.nan,
                 "target_rate": 1.0, "target_value": target_count, "units_needed": needed, "met": needed == 0})
    return rows


#: Status of a township for one coverage target (map colours, details), with its Chinese label.
UNIT_STATUSES: dict[str, str] = {"covered": "已覆盖", "uncovered": "未覆盖", "out_of_scope": "不计入本指标",
                                 "no_data": NO_DATA_MESSAGE}


def unit_statuses(units: pd.DataFrame, result: CoverageResult, target_id: str,
                  config: CoverageConfig = CoverageConfig()) -> pd.Series:
    """Township code -> key of `UNIT_STATUSES` for one target of `result`.

    Township levels: the units the level counts are covered/uncovered, the others out_of_scope.
    County levels: every township takes its district's status (districts the level does not count
    are out_of_scope). A target whose class the ledger holds none of is no_data wherever it counts.
    Count targets have no per-unit status (all out_of_scope).
    """
    cov = result.coverage[(result.coverage["target_id"] == target_id) & (result.coverage["district_code"] == AREA_CODE)]
    codes = units["code"].astype(str)
    status = pd.Series("out_of_scope", index=codes.to_numpy(), dtype=object)
    if cov.empty or cov["measure"].iloc[0] != "coverage":
        return status
    level = cov["level"].iloc[0]
    missing = result.uncovered[result.uncovered["target_id"] == target_id]
    if level in COUNTY_LEVELS:
        districts = units.drop_duplicates("district_code")[["district_code", "district_name"]].astype(str)
        counted = set(county_pool(districts, level, config)["district_code"])
        bad = set(missing["district_code"].astype(str))
        district = units["district_code"].astype(str).to_numpy()
        in_scope = pd.Series(district, index=status.index).isin(counted)
        status[in_scope] = ["uncovered" if d in bad else "covered" for d in district[in_scope.to_numpy()]]
    else:
        counted = set(units_at_level(units, level, config)["code"].astype(str))
        bad = set(missing["unit_code"].astype(str))
        in_scope = status.index.isin(counted)
        status[in_scope] = ["uncovered" if c in bad else "covered" for c in status.index[in_scope]]
    if bool(cov["no_data"].iloc[0]):
        status[status != "out_of_scope"] = "no_data"
    return status


def evaluate_layers(units, facilities, targets: pd.DataFrame, classes: ClassCatalog, *,
                    config: CoverageConfig = CoverageConfig()) -> tuple[pd.DataFrame, CoverageResult]:
    """Assign facilities (GeoDataFrame) to units (GeoDataFrame, same CRS), then evaluate.

    Returns (assigned, result): `assigned` is `coverage.assign.assign_facilities`' table.
    """
    from coverage.assign import assign_facilities  # noqa: PLC0415

    assigned = assign_facilities(units, facilities, config=config)
    return assigned, evaluate(pd.DataFrame(units.drop(columns=units.geometry.name)), assigned, targets, classes, config=config)
