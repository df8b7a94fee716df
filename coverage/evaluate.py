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
    also for the function-defined class (`membership_positions`)."""
    rows, kinds, class_values = membership_positions(facilities, classes)
    frame = facilities.reset_index(drop=True).assign(row=np.arange(len(facilities)))
    out = frame.take(rows).reset_index(drop=True)
    extra = np.arange(len(frame), len(rows))
    if len(extra):
        out.loc[extra, "facility_class"] = [class_values[k] for k in kinds[extra]]
    return out


def membership_positions(facilities: pd.DataFrame, classes: ClassCatalog) -> tuple[np.ndarray, np.ndarray, list]:
    """`class_memberships` as positions: (rows, kinds, class_values). `rows` are facility positions,
    each facility once and then, per function-defined class in catalogue order, those that also
    stand for it; `kinds` index `class_values` (-1 for a blank class)."""
    cls, values = pd.factorize(facilities["facility_class"])
    class_values = list(values)
    groups = classes.groups
    member_rows, member_cls = [np.arange(len(facilities))], [cls]
    for class_id in classes.table["class_id"]:
        needed = classes.qualifying_functions(class_id)
        cols = [FUNCTION_COLUMNS[f] for f in needed if f in FUNCTION_COLUMNS]
        if not needed or len(cols) != len(needed) or not set(cols) <= set(facilities.columns):
            continue
        # per distinct class (the last entry stands for a blank class): same group, not itself
        same_group = np.array([groups.get(c) == groups[class_id] and c != class_id for c in class_values] + [False])
        flags = facilities[cols].fillna(False).astype(bool).all(axis=1).to_numpy()
        extra = np.flatnonzero(same_group[cls] & flags)
        if class_id not in class_values:
            class_values.append(class_id)
        member_rows.append(extra)
        member_cls.append(np.full(len(extra), class_values.index(class_id)))
    return np.concatenate(member_rows), np.concatenate(member_cls), class_values


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
    districts = units.drop_duplicates("district_code")[["district_code", "district_name"]]
    districts = districts.sort_values("district_code").reset_index(drop=True)
    ctx = _Context(units, districts, assigned, classes, config)
    in_ledger = ctx.in_ledger

    blocks: list = []  # _Block per coverage or count target, columns as lists for capacity targets
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
            blocks.append(_county_rows(ctx, meta, float(t.target_value)))
        else:
            blocks.append(_township_rows(ctx, meta, float(t.target_value)))
    capacity = targets["measure"].isin(CAPACITY_MEASURES).any() if len(targets) else False
    coverage = _frame(blocks, COVERAGE_COLUMNS + (CAPACITY_COLUMNS if capacity else []))
    if capacity:
        for col in ("value_unit", "no_data_reason", "data_note"):
            coverage[col] = coverage[col].fillna("")
    return CoverageResult(coverage=coverage, uncovered=ctx.uncovered_frame(), unit_counts=ctx.unit_counts(),
                          excluded_units=excluded_units(units, targets, config))


class _Context:
    """What every target of one `evaluate` call shares, as integer positions so a target costs array
    operations, not string comparisons or copies of the ledger.

    The ledger's class, township and district columns are factorized once; `class_memberships`'
    rule (a facility stands for its class and, with every qualifying function flag, for the
    function-defined class of its group) and `counting_facilities`' filter are applied to those
    codes. Computed once per level or class when first asked for: the units a level counts with
    their district positions, the county pools, the covered units and districts of a class.
    Uncovered units are collected as positions and become one table at the end (`uncovered_frame`)."""

    def __init__(self, units, districts, assigned, classes: ClassCatalog, config: CoverageConfig):
        self.units, self.districts, self.config = units, districts, config
        self.district_index = pd.Index(districts["district_code"])
        #: row names of the coverage table: the districts, then the whole area
        self.names = pd.concat([districts, pd.DataFrame({"district_code": [AREA_CODE], "district_name": [AREA_NAME]})],
                               ignore_index=True)
        # the class each facility stands for: its own, plus function-defined classes
        rows, kinds, class_values = membership_positions(assigned, classes)
        self._class_values = pd.Index(class_values)
        self._class_pos = {c: i for i, c in enumerate(class_values)}
        known = kinds >= 0
        ledger = pd.Series(np.bincount(kinds[known], minlength=len(class_values)), index=self._class_values)
        #: `facilities_in_ledger`: facilities of each class before any filter
        self.in_ledger = ledger.reindex(classes.table["class_id"], fill_value=0).astype(int)
        # counting_facilities: assigned to a unit and in a counted operating status
        ok = assigned["status"].isin(COUNTED_STATUSES).to_numpy().copy()
        ok &= operating_statuses(assigned, config).isin(config.counted_statuses).to_numpy()
        keep = ok[rows] & known
        rows, self._fac_class = rows[keep], kinds[keep]
        # township and district of each counting facility, as positions (-1: none / not among the units)
        unit_codes, unit_values = pd.factorize(assigned["unit_code"], sort=True)
        self._fac_unit_code = unit_codes[rows]
        self._unit_values = pd.Index(list(unit_values))  # typed as a group-by's keys are
        # codes may repeat in a layer that was not cleaned: a unit is covered when its code is
        self._unit_code_pos, unique_codes = pd.factorize(units["code"])
        self._n_codes = len(unique_codes)
        lookup = np.append(pd.Index(unique_codes).get_indexer(unit_values), -1)
        self._fac_unit = lookup[self._fac_unit_code]
        district_codes, district_values = pd.factorize(assigned["district_code"])
        lookup = np.append(self.district_index.get_indexer(district_values), -1)
        self._fac_district = lookup[district_codes[rows]]
        self._fac_has_district = district_codes[rows] >= 0
        self._pools: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._unit_district: np.ndarray | None = None
        self._county: dict[str, pd.DataFrame] = {}
        self._of_class: dict = {}
        self._uncovered: list[tuple[np.ndarray, object, object]] = []  # (lookup positions, target_id, indicator)

    def unit_counts(self) -> pd.DataFrame:
        """Counting facilities per (unit_code, facility_class), sorted by both: columns unit_code,
        facility_class, n (as a group-by of the counting facilities gives)."""
        has = self._fac_unit_code >= 0
        order = np.argsort(np.asarray(self._class_values, dtype=object).astype(str), kind="stable")
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        k = max(len(order), 1)
        keys, n = np.unique(self._fac_unit_code[has].astype(np.int64) * k + rank[self._fac_class[has]], return_counts=True)
        return pd.DataFrame({"unit_code": self._unit_values.take(keys // k),
                             "facility_class": self._class_values.take(order[keys % k]),
                             "n": n.astype(np.int64)})

    def pool(self, level: str) -> tuple[np.ndarray, np.ndarray]:
        """Positions (in `units`) of the units a township-level target counts, and each one's
        position in `districts`."""
        if level not in self._pools:
            if self._unit_district is None:
                self._unit_district = self.district_index.get_indexer(self.units["district_code"])
            at = units_at_level(self.units, level, self.config).index.to_numpy()
            self._pools[level] = (at, self._unit_district[at])
        return self._pools[level]

    def county_pool(self, level: str) -> pd.DataFrame:
        if level not in self._county:
            pool = county_pool(self.districts, level, self.config)
            # an empty list as a row mask selects no column either: keep the columns
            self._county[level] = pool if len(pool) else self.districts.iloc[0:0]
        return self._county[level]

    def _class_rows(self, facility_class) -> np.ndarray:
        """Positions of the counting facilities of a class."""
        k = self._class_pos.get(facility_class)
        return np.flatnonzero(self._fac_class == k) if k is not None else np.array([], dtype=np.intp)

    def covered_units(self, facility_class) -> np.ndarray:
        """Per unit (row of `units`): True when its code has a counting facility of the class."""
        key = ("units", facility_class)
        if key not in self._of_class:
            at = self._fac_unit[self._class_rows(facility_class)]
            covered = np.zeros(self._n_codes, dtype=bool)
            covered[at[at >= 0]] = True
            self._of_class[key] = covered[self._unit_code_pos]
        return self._of_class[key]

    def facilities_per_district(self, facility_class) -> tuple[np.ndarray, int]:
        """Counting facilities of a class per district (position in `districts`), and in all
        (facilities whose district is not among the units' included)."""
        key = ("districts", facility_class)
        if key not in self._of_class:
            rows = self._class_rows(facility_class)
            at = self._fac_district[rows]
            self._of_class[key] = (np.bincount(at[at >= 0], minlength=len(self.districts)),
                                   int(self._fac_has_district[rows].sum()))
        return self._of_class[key]

    def add_uncovered_units(self, positions: np.ndarray, meta: dict) -> None:
        if len(positions):
            self._uncovered.append((positions, meta["target_id"], meta["indicator"]))

    def add_uncovered_districts(self, positions: np.ndarray, meta: dict) -> None:
        if len(positions):
            self._uncovered.append((positions + len(self.units), meta["target_id"], meta["indicator"]))

    def uncovered_frame(self) -> pd.DataFrame:
        """One row per (target, uncovered unit or district), in target order, then unit order."""
        if not self._uncovered:
            return pd.DataFrame([], columns=UNCOVERED_COLUMNS)
        u, d = self.units, self.districts
        lookup = {"district_code": u["district_code"], "district_name": u["district_name"], "unit_code": u["code"],
                  "unit_name": u["name"], "unit_kind": u["kind"]}
        if any(p.max() >= len(u) for p, _, _ in self._uncovered):  # county targets: the district is the unit
            county = {"district_code": d["district_code"], "district_name": d["district_name"],
                      "unit_code": d["district_code"], "unit_name": d["district_name"],
                      "unit_kind": pd.Series("县(市、区)", index=d.index, dtype=u["kind"].dtype)}
            lookup = {k: pd.concat([v, county[k]], ignore_index=True) for k, v in lookup.items()}
        positions = np.concatenate([p for p, _, _ in self._uncovered])
        lengths = [len(p) for p, _, _ in self._uncovered]
        out = {k: v.take(positions).reset_index(drop=True) for k, v in lookup.items()}
        for col, i in (("target_id", 1), ("indicator", 2)):
            values = pd.Series([entry[i] for entry in self._uncovered])
            out[col] = values.take(np.repeat(np.arange(len(lengths)), lengths)).reset_index(drop=True)
        return pd.DataFrame(out, columns=UNCOVERED_COLUMNS)


def _columns(rows: list[dict]) -> dict[str, list]:
    """Rows (dicts) as columns (lists); a key missing from a row is NaN there, as in a DataFrame."""
    keys = list(dict.fromkeys(k for r in rows for k in r))
    return {k: [r.get(k, np.nan) for r in rows] for k in keys}


#: Columns of a rate or count block held as arrays (`_Block`), in `COVERAGE_COLUMNS`.
_ARRAY_COLUMNS = ("units_total", "units_covered", "rate", "target_rate", "target_value", "units_needed", "met")


@dataclass
class _Block:
    """The rows of one coverage or count target as arrays: `at` are positions in `names` (the
    districts, then the whole area), `values` the `_ARRAY_COLUMNS`, `missing` where a column is
    <NA> (count targets have no per-district target)."""

    meta: dict
    names: pd.DataFrame
    at: np.ndarray
    values: dict[str, np.ndarray]
    missing: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.at)

    def as_lists(self) -> dict[str, list]:
        """The block as columns of Python values (the form capacity rows take)."""
        out = {"district_code": self.names["district_code"].take(self.at).tolist(),
               "district_name": self.names["district_name"].take(self.at).tolist()}
        out.update({k: [v] * len(self) for k, v in self.meta.items()})
        for col in _ARRAY_COLUMNS:
            values = self.values[col].tolist()
            if col in self.missing:
                values = [pd.NA if m else v for v, m in zip(values, self.missing[col].tolist())]
            out[col] = values
        return out


def _frame(blocks: list, columns: list[str]) -> pd.DataFrame:
    """One table from the targets' blocks (`_Block` or columns as lists), typed as a DataFrame
    built from the same rows as dicts. Array blocks alone are joined by array operations; with
    capacity rows (lists) among them every block is turned into lists first."""
    blocks = [b for b in blocks if _rows(b)]
    if not blocks:
        return pd.DataFrame([], columns=columns)
    if all(isinstance(b, _Block) for b in blocks):
        return _frame_of_arrays(blocks, columns)
    blocks = [b.as_lists() if isinstance(b, _Block) else b for b in blocks]
    data = {}
    for col in columns:
        values: list = []
        for b in blocks:
            values += b.get(col) or [np.nan] * len(next(iter(b.values())))
        data[col] = values
    return pd.DataFrame(data, columns=columns)


def _rows(block) -> int:
    return len(block) if isinstance(block, _Block) else len(next(iter(block.values()))) if block else 0


def _frame_of_arrays(blocks: list[_Block], columns: list[str]) -> pd.DataFrame:
    """`_frame` of array blocks: names and target columns taken by position, numbers concatenated;
    a column with <NA> anywhere is of Python objects, as a DataFrame of the rows would have it."""
    names = blocks[0].names
    at = np.concatenate([b.at for b in blocks])
    data = {"district_code": names["district_code"].take(at).reset_index(drop=True),
            "district_name": names["district_name"].take(at).reset_index(drop=True)}
    metas = pd.DataFrame([b.meta for b in blocks])
    which = np.repeat(np.arange(len(blocks)), [len(b) for b in blocks])
    for col in metas.columns:
        data[col] = metas[col].take(which).reset_index(drop=True)
    for col in _ARRAY_COLUMNS:
        values = np.concatenate([b.values[col] for b in blocks])
        if any(col in b.missing for b in blocks):
            missing = np.concatenate([b.missing.get(col, np.zeros(len(b), dtype=bool)) for b in blocks])
            values = values.astype(object)
            values[missing] = pd.NA
        data[col] = values
    return pd.DataFrame(data, columns=columns)


def _rate_block(names: pd.DataFrame, at: np.ndarray, meta: dict, total: np.ndarray, covered: np.ndarray,
                target_rate: float) -> _Block:
    """Coverage rows of one target from the units and covered units of each district (and the
    area), counted for all districts at once: rate, units_needed (`units_needed`, exact), met."""
    total, covered = np.asarray(total, dtype=np.int64), np.asarray(covered, dtype=np.int64)
    distinct, inverse = np.unique(total, return_inverse=True)
    required = np.array([units_needed(target_rate, int(t), 0) for t in distinct], dtype=np.int64)
    needed = np.maximum(0, required[inverse.reshape(-1)] - covered)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(total > 0, covered / np.where(total > 0, total, 1), np.nan)
    n = len(at)
    return _Block(meta, names, at, {
        "units_total": total, "units_covered": covered, "rate": rate.astype(float),
        "target_rate": np.full(n, target_rate, dtype=float), "target_value": np.full(n, target_rate, dtype=float),
        "units_needed": needed, "met": needed == 0,
    }, {})


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


def _township_rows(ctx: _Context, meta: dict, target_rate: float) -> _Block:
    """Per district with units of the level (in code order), then the area; the uncovered units go
    to `ctx`."""
    pool, dpos = ctx.pool(meta["level"])
    is_cov = ctx.covered_units(meta["facility_class"])[pool]
    n_districts = len(ctx.districts)
    total = np.bincount(dpos, minlength=n_districts)
    covered = np.bincount(dpos[is_cov], minlength=n_districts)
    has = np.flatnonzero(total > 0)  # a district with no unit of this level (e.g. no 街道) has no row
    ctx.add_uncovered_units(pool[~is_cov], meta)
    return _rate_block(ctx.names, np.append(has, n_districts), meta, np.append(total[has], len(pool)),
                       np.append(covered[has], int(is_cov.sum())), target_rate)


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


def _county_rows(ctx: _Context, meta: dict, target_rate: float) -> _Block:
    """One row per county-level district the level counts (1 unit each), then the area; the
    districts without a facility of the class go to `ctx`."""
    per_district, _ = ctx.facilities_per_district(meta["facility_class"])
    pool = ctx.county_pool(meta["level"])
    at = pool.index.to_numpy()  # positions in ctx.districts
    covered = (per_district[at] > 0).astype(int)
    total = np.append(np.ones(len(pool), dtype=int), len(pool))
    ctx.add_uncovered_districts(at[covered == 0], meta)
    return _rate_block(ctx.names, np.append(at, len(ctx.districts)), meta, total, np.append(covered, int(covered.sum())),
                       target_rate)


def _count_rows(ctx: _Context, meta: dict, target_count: float) -> _Block:
    """Facilities per district (no target of their own), then the area against the count."""
    per_district, n = ctx.facilities_per_district(meta["facility_class"])
    needed = max(0, math.ceil(round(target_count, 9)) - n)
    k = len(per_district)
    blank = np.append(np.ones(k, dtype=bool), False)  # <NA> on the districts, figures on the area row
    return _Block(meta, ctx.names, np.arange(k + 1), {
        "units_total": np.zeros(k + 1, dtype=np.int64), "units_covered": np.append(per_district, n).astype(np.int64),
        "rate": np.append(np.full(k, np.nan), n / target_count if target_count else np.nan),
        "target_rate": np.append(np.full(k, np.nan), 1.0), "target_value": np.append(np.full(k, np.nan), target_count),
        "units_needed": np.append(np.zeros(k, dtype=np.int64), needed), "met": np.append(np.zeros(k, dtype=bool), needed == 0),
    }, {"units_total": np.ones(k + 1, dtype=bool), "units_needed": blank, "met": blank})


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
