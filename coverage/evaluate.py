"""Coverage indicators per district and for the whole area, against plan targets.

Pure functions on plain tables: `units` (one row per township), `assigned` (the output of
`coverage.assign.assign_facilities`) and the plan's target rows.

Each target is counted for all districts at once (bincounts over the units of its level, group-bys of
the counting facilities), so the cost grows with units + facilities per target, not with districts x
units; class memberships are computed once per call.
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
    in_ledger, counting = _ledger_and_counting(assigned, classes, config)
    unit_counts = counting.groupby(["unit_code", "facility_class"]).size().rename("n").reset_index()
    districts = units.drop_duplicates("district_code")[["district_code", "district_name"]]
    districts = districts.sort_values("district_code").reset_index(drop=True)
    ctx = _Context(units, districts, counting, unit_counts, config)

    blocks: list[dict[str, list]] = []
    unc_blocks: list[pd.DataFrame] = []
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
            blocks.append(_columns(capacity_rows(all_units, assigned, t, meta, classes, config)))
        elif t.measure == "count":
            blocks.append(_count_rows(ctx, meta, float(t.target_value)))
        elif t.unit_level in COUNTY_LEVELS:
            c, u = _county_rows(ctx, meta, float(t.target_value))
            blocks.append(c)
            unc_blocks.append(u)
        else:
            c, u = _township_rows(ctx, meta, float(t.target_value))
            blocks.append(c)
            unc_blocks.append(u)
    capacity = targets["measure"].isin(CAPACITY_MEASURES).any() if len(targets) else False
    coverage = _frame(blocks, COVERAGE_COLUMNS + (CAPACITY_COLUMNS if capacity else []))
    if capacity:
        for col in ("value_unit", "no_data_reason", "data_note"):
            coverage[col] = coverage[col].fillna("")
    unc_blocks = [u for u in unc_blocks if len(u)]
    uncovered = (pd.concat(unc_blocks, ignore_index=True) if unc_blocks
                 else pd.DataFrame([], columns=UNCOVERED_COLUMNS))
    return CoverageResult(coverage=coverage, uncovered=uncovered, unit_counts=unit_counts,
                          excluded_units=excluded_units(units, targets, config))


def _ledger_and_counting(assigned: pd.DataFrame, classes: ClassCatalog, config: CoverageConfig
                         ) -> tuple[pd.Series, pd.DataFrame]:
    """`facilities_in_ledger` and `counting_facilities` of `assigned`, from one `class_memberships`
    of only the columns they read (a large ledger is not copied twice)."""
    wanted = ["facility_id", "unit_code", "district_code", "facility_class", *FUNCTION_COLUMNS.values()]
    members = class_memberships(assigned[[c for c in dict.fromkeys(wanted) if c in assigned.columns]], classes)
    in_ledger = members["facility_class"].value_counts().reindex(classes.table["class_id"], fill_value=0).astype(int)
    ok = assigned["status"].isin(COUNTED_STATUSES).to_numpy().copy()
    ok &= operating_statuses(assigned, config).isin(config.counted_statuses).to_numpy()
    counting = members[ok[members["row"].to_numpy()]]
    return in_ledger, counting[["facility_id", "unit_code", "district_code", "facility_class"]].reset_index(drop=True)


class _Context:
    """What every target of one `evaluate` call shares: the units, districts (sorted by code), the
    counting facilities and, computed once per level or class when first asked for, the units a
    level counts with their district positions, the county pools and the covered townships."""

    def __init__(self, units, districts, counting, unit_counts, config):
        self.units, self.districts, self.counting, self.config = units, districts, counting, config
        self.district_index = pd.Index(districts["district_code"])
        self._pools: dict[str, tuple[pd.DataFrame, np.ndarray]] = {}
        self._county: dict[str, pd.DataFrame] = {}
        self._covered = unit_counts.groupby("facility_class")["unit_code"].unique()

    def pool(self, level: str) -> tuple[pd.DataFrame, np.ndarray]:
        """The units a township-level target counts, and each one's position in `districts`."""
        if level not in self._pools:
            pool = units_at_level(self.units, level, self.config)
            self._pools[level] = (pool, self.district_index.get_indexer(pool["district_code"]))
        return self._pools[level]

    def county_pool(self, level: str) -> pd.DataFrame:
        if level not in self._county:
            pool = county_pool(self.districts, level, self.config)
            # an empty list as a row mask selects no column either: keep the columns
            self._county[level] = pool if len(pool) else self.districts.iloc[0:0]
        return self._county[level]

    def covered_codes(self, facility_class) -> np.ndarray:
        """Codes of the units with at least one counting facility of the class."""
        return self._covered.get(facility_class, np.array([], dtype=object))


def _columns(rows: list[dict]) -> dict[str, list]:
    """Rows (dicts) as columns (lists); a key missing from a row is NaN there, as in a DataFrame."""
    keys = list(dict.fromkeys(k for r in rows for k in r))
    return {k: [r.get(k, np.nan) for r in rows] for k in keys}


def _frame(blocks: list[dict[str, list]], columns: list[str]) -> pd.DataFrame:
    """One table from column blocks, typed as a DataFrame built from the same rows as dicts."""
    blocks = [b for b in blocks if b and len(next(iter(b.values())))]
    if not blocks:
        return pd.DataFrame([], columns=columns)
    data = {}
    for col in columns:
        values: list = []
        for b in blocks:
            values += b.get(col) or [np.nan] * len(next(iter(b.values())))
        data[col] = values
    return pd.DataFrame(data, columns=columns)


def _rate_block(codes: list, names: list, meta: dict, total: np.ndarray, covered: np.ndarray,
                target_rate: float) -> dict[str, list]:
    """Coverage rows (as columns) of one target from the units and covered units of each district
    (and the area), counted for all districts at once: rate, units_needed (`units_needed`, exact),
    met."""
    total_l, covered_l = total.tolist(), covered.tolist()
    needed = [units_needed(target_rate, a, b) for a, b in zip(total_l, covered_l)]
    n = len(codes)
    block = {"district_code": list(codes), "district_name": list(names)}
    block.update({k: [v] * n for k, v in meta.items()})
    block.update({
        "units_total": [int(a) for a in total_l], "units_covered": [int(b) for b in covered_l],
        "rate": [b / a if a else np.nan for a, b in zip(total_l, covered_l)],
        "target_rate": [target_rate] * n, "target_value": [target_rate] * n, "units_needed": needed,
        "met": [k == 0 for k in needed],
    })
    return block


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


def _township_rows(ctx: _Context, meta: dict, target_rate: float) -> tuple[dict[str, list], pd.DataFrame]:
    """Per district with units of the level (in code order), then the area; and the uncovered units."""
    pool, dpos = ctx.pool(meta["level"])
    is_cov = pool["code"].isin(ctx.covered_codes(meta["facility_class"])).to_numpy()
    n_districts = len(ctx.districts)
    total = np.bincount(dpos, minlength=n_districts)
    covered = np.bincount(dpos[is_cov], minlength=n_districts)
    has = np.flatnonzero(total > 0)  # a district with no unit of this level (e.g. no 街道) has no row
    d = ctx.districts.iloc[has]
    codes = d["district_code"].tolist() + [AREA_CODE]
    names = d["district_name"].tolist() + [AREA_NAME]
    rows = _rate_block(codes, names, meta, np.append(total[has], len(pool)), np.append(covered[has], int(is_cov.sum())),
                       target_rate)
    unc = pool[~is_cov]
    unc = pd.DataFrame({"district_code": unc["district_code"], "district_name": unc["district_name"],
                        "unit_code": unc["code"], "unit_name": unc["name"], "unit_kind": unc["kind"],
                        "target_id": meta["target_id"], "indicator": meta["indicator"]}, columns=UNCOVERED_COLUMNS)
    return rows, unc


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


def _county_rows(ctx: _Context, meta: dict, target_rate: float) -> tuple[dict[str, list], pd.DataFrame]:
    """One row per county-level district the level counts (1 unit each), then the area; and the
    districts without a facility of the class."""
    counting = ctx.counting
    with_fac = counting.loc[counting["facility_class"] == meta["facility_class"], "district_code"].unique()
    pool = ctx.county_pool(meta["level"])
    covered = pool["district_code"].isin(with_fac).to_numpy().astype(int)
    codes = pool["district_code"].tolist() + [AREA_CODE]
    names = pool["district_name"].tolist() + [AREA_NAME]
    total = np.append(np.ones(len(pool), dtype=int), len(pool))
    rows = _rate_block(codes, names, meta, total, np.append(covered, int(covered.sum())), target_rate)
    unc = pool[covered == 0]
    unc = pd.DataFrame({"district_code": unc["district_code"], "district_name": unc["district_name"],
                        "unit_code": unc["district_code"], "unit_name": unc["district_name"], "unit_kind": "县(市、区)",
                        "target_id": meta["target_id"], "indicator": meta["indicator"]}, columns=UNCOVERED_COLUMNS)
    return rows, unc


def _count_rows(ctx: _Context, meta: dict, target_count: float) -> dict[str, list]:
    """Facilities per district (no target of their own), then the area against the count."""
    counting = ctx.counting
    n_by_district = counting[counting["facility_class"] == meta["facility_class"]].groupby("district_code").size()
    per = n_by_district.reindex(ctx.districts["district_code"], fill_value=0).astype(int).tolist()
    n = int(n_by_district.sum())
    needed = max(0, math.ceil(round(target_count, 9)) - n)
    k = len(per)
    block = {"district_code": ctx.districts["district_code"].tolist() + [AREA_CODE],
             "district_name": ctx.districts["district_name"].tolist() + [AREA_NAME]}
    block.update({key: [v] * (k + 1) for key, v in meta.items()})
    block.update({
        "units_total": [pd.NA] * (k + 1), "units_covered": per + [n],
        "rate": [np.nan] * k + [n / target_count if target_count else np.nan],
        "target_rate": [np.nan] * k + [1.0], "target_value": [np.nan] * k + [target_count],
        "units_needed": [pd.NA] * k + [needed], "met": [pd.NA] * k + [needed == 0],
    })
    return block


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
