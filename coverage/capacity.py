"""Capacity indicators: 床位数, 每千名老年人床位数 and 护理型床位占比, per township, district and area.

Plan targets of the measures in `CAPACITY_MEASURES` (see `coverage.catalog.MEASURES`) are evaluated
here and enter `evaluate()`'s coverage table like the others, one row per district plus the
whole-area row ("ALL"). Which beds count:

- the facilities that count for any target (placed in a township, in a counted operating status,
  duplicates excluded: `coverage.evaluate.counting_facilities`' rule);
- of the target's `facility_class`: a class id counts that class (including facilities that stand
  for it by function, as for coverage targets); a class *group* such as ``养老服务`` counts every
  class of the group (a 养老床位 target: 养老机构, 敬老院, 照料中心 ... all beds in the ledger's
  床位数), each facility once.

Columns of a capacity row in the coverage table (see `evaluate.COVERAGE_COLUMNS`):

- ``value`` / ``value_unit``: the figure (beds; beds per 1,000 people aged 60+; nursing share 0-1)
  and its unit (张 / 张/千名老年人 / 占比).
- ``beds``, ``nursing_beds``, ``elderly_population``: the numbers behind it.
- ``units_covered`` / ``units_total``: numerator / denominator of the value (beds / elderly
  population; nursing beds / beds with a known nursing figure; for ``beds`` just the beds).
- ``rate``: for ``nursing_bed_share`` the share itself, with ``target_rate`` the target share;
  for ``beds`` and ``beds_per_1000_elderly`` the attainment value / target, with ``target_rate`` 1.0
  (as count targets).
- ``units_needed``: beds still needed (``beds``: ceil(target) - beds; per 1,000:
  ceil(target x elderly / 1000) - beds) or nursing beds still needed with today's total beds
  (ceil(target x beds) - nursing beds, i.e. beds to convert to 护理型); ``met`` is needed == 0.
  Ratio and share targets are also judged per district (the plans say "可按县算"); a ``beds`` total
  is judged for the whole area only (district rows carry the beds, no target), like count targets.
- ``no_data`` True with ``no_data_reason`` (Chinese) when the figure cannot be computed: no
  facility of the class in the ledger, no 床位数, no 老年人口 in the township layer (or missing for
  some townships of the district), no 护理型床位数 in the ledger. Such rows have NA value, rate,
  needed and met: never a false 0 % or a division by zero.
- ``data_note``: caveats that do not stop the figure (facilities without 床位数 counted as 0 ...).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from coverage.assign import COUNTED_STATUSES
from coverage.catalog import CAPACITY_MEASURES, ClassCatalog
from coverage.config import CoverageConfig

VALUE_UNITS: dict[str, str] = {"beds": "张", "beds_per_1000_elderly": "张/千名老年人", "nursing_bed_share": "占比"}
#: Reasons a capacity figure has no data.
NO_BEDS_COLUMN = "台账没有床位数(列「床位数」), 无法计算床位指标"
NO_BEDS_FILLED = "台账中此类设施均未填写床位数, 无法计算床位指标"
NO_NURSING_COLUMN = "台账没有护理型床位数(列「护理型床位数」), 无法计算护理型床位占比"
NO_NURSING_FILLED = "台账中此类设施均未填写护理型床位数, 无法计算护理型床位占比"
NO_ELDERLY_COLUMN = "乡镇(街道)图层没有老年人口(60岁以上人口)数据, 无法计算每千名老年人床位数"
NO_BEDS_HERE = "本区域没有填写床位数的此类设施, 无法计算护理型床位占比"
ZERO_ELDERLY = "老年人口为 0, 无法计算每千名老年人床位数"

#: How each capacity figure is computed, as a planner reads it (pages and the pack quote it).
CAPACITY_RULES: dict[str, str] = {
    "beds": "床位数 = 计入的设施(在运营、已落入乡镇、去重后)台账所填床位数之和, 未填的按 0 张计; 以全市合计与目标比较。",
    "beds_per_1000_elderly": "每千名老年人床位数 = 床位数 ÷ 老年人口(60岁以上, 取乡镇图层或上传的人口表) × 1000; "
                             "差距 = 目标 × 老年人口 ÷ 1000(向上取整) − 现有床位数。",
    "nursing_bed_share": "护理型床位占比 = 护理型床位数 ÷ 床位数, 只计同时填写了两项的设施; "
                         "差距 = 按现有床位总数需转为护理型的床位数。",
}

CAPACITY_UNIT_COLUMNS = [
    "level", "district_code", "district_name", "unit_code", "unit_name", "facilities", "beds", "nursing_beds",
    "elderly_population", "beds_per_100_elderly", "beds_per_1000_elderly", "nursing_bed_share",
]


def is_group(facility_class: str, classes: ClassCatalog) -> bool:
    """True when a capacity target names a class group (养老服务 ...) rather than one class."""
    return facility_class not in classes.names and facility_class in set(classes.groups.values())


def scope_name(facility_class: str, classes: ClassCatalog) -> str:
    """How the facilities a capacity target counts are called: the class name or '养老服务类设施(全部)'."""
    if is_group(facility_class, classes):
        return f"{facility_class}类设施(全部)"
    return classes.names.get(facility_class, facility_class)


def _scope_rows(frame: pd.DataFrame, facility_class: str, classes: ClassCatalog) -> pd.DataFrame:
    """Rows of `frame` (one per facility) that a capacity target of this class or group counts,
    each facility once."""
    from coverage.evaluate import class_memberships  # noqa: PLC0415

    if is_group(facility_class, classes):
        return frame[frame["facility_class"].map(classes.groups).eq(facility_class)]
    members = class_memberships(frame, classes)
    rows = members.loc[members["facility_class"].eq(facility_class), "row"].unique()
    return frame.iloc[np.sort(rows)]


def in_ledger(assigned: pd.DataFrame, facility_class: str, classes: ClassCatalog) -> int:
    """Facilities of the class (or group) in the input before any filter."""
    return len(_scope_rows(assigned.reset_index(drop=True), facility_class, classes))


def counting_bed_facilities(assigned: pd.DataFrame, facility_class: str, classes: ClassCatalog,
                            config: CoverageConfig = CoverageConfig()) -> pd.DataFrame:
    """The facilities whose beds count for a capacity target: unit_code, district_code, beds,
    nursing_beds (NaN where not filled, or everywhere when the ledger has no such column)."""
    from coverage.evaluate import operating_statuses  # noqa: PLC0415

    frame = assigned.reset_index(drop=True)
    ok = frame["status"].isin(COUNTED_STATUSES).to_numpy() & operating_statuses(frame, config).isin(config.counted_statuses).to_numpy()
    frame = frame[ok]
    frame = _scope_rows(frame.reset_index(drop=True), facility_class, classes)
    out = pd.DataFrame({
        "unit_code": frame["unit_code"].astype(str).to_numpy(),
        "district_code": frame["district_code"].astype(str).to_numpy(),
        "beds": pd.to_numeric(frame["beds"], errors="coerce").to_numpy(dtype=float) if "beds" in frame else np.full(len(frame), np.nan),
        "nursing_beds": (pd.to_numeric(frame["nursing_beds"], errors="coerce").to_numpy(dtype=float)
                         if "nursing_beds" in frame else np.full(len(frame), np.nan)),
    })
    return out


def _elderly(units: pd.DataFrame) -> pd.Series | None:
    """Elderly population per township (NaN where missing), or None when the layer has no such column."""
    if "elderly_population" not in units.columns:
        return None
    return pd.to_numeric(units["elderly_population"], errors="coerce")


def _needed(required: float, have: float) -> int:
    return max(0, math.ceil(round(required, 9)) - int(round(have)))


def _sums(fac: pd.DataFrame) -> dict:
    """What a capacity figure is made of, for one group of facilities: beds (missing as 0), nursing
    beds and beds over the facilities that filled both, and how many left them out."""
    beds = fac["beds"].to_numpy(dtype=float)
    nursing = fac["nursing_beds"].to_numpy(dtype=float)
    known = ~np.isnan(nursing) & ~np.isnan(beds)
    return {"beds": float(np.nansum(beds)) if len(beds) else 0.0,
            "nursing": float(nursing[known].sum()) if known.any() else np.nan,
            "base": float(beds[known].sum()), "no_beds": int(np.isnan(beds).sum()),
            "missing_nursing": int((np.isnan(nursing) & (np.nan_to_num(beds) > 0)).sum())}


def _figure(measure: str, sums: dict, elderly: float | None, elderly_reason: str, target: float | None,
            ledger_reason: str) -> dict:
    """Value, numerator/denominator, needed and met for one area (a district or the whole area),
    from its `_sums`."""
    beds, nursing = sums["beds"], sums["nursing"]
    out = {"value": np.nan, "beds": beds, "nursing_beds": nursing, "elderly_population": elderly if elderly is not None else np.nan,
           "units_total": pd.NA, "units_covered": pd.NA, "rate": np.nan,
           # the target stays on a row without data (it is the plan's figure, not a computed one)
           "target_rate": np.nan if target is None else (target if measure == "nursing_bed_share" else 1.0),
           "target_value": np.nan if target is None else target,
           "units_needed": pd.NA, "met": pd.NA, "no_data_reason": ledger_reason, "data_note": ""}
    no_beds = sums["no_beds"]
    if ledger_reason:
        return out
    if measure == "nursing_bed_share":
        base = sums["base"]
        if base <= 0:
            out["no_data_reason"] = NO_BEDS_HERE
            return out
        if sums["missing_nursing"]:
            out["data_note"] = f"{sums['missing_nursing']} 个设施未填护理型床位数, 占比按其余设施计"
        value = nursing / base
        out.update(value=value, units_total=int(round(base)), units_covered=int(round(nursing)), rate=value)
        if target is not None:
            needed = _needed(target * base, nursing)
            out.update(target_rate=target, target_value=target, units_needed=needed, met=needed == 0)
        return out
    if no_beds:
        out["data_note"] = f"{no_beds} 个设施未填床位数, 按 0 张计"
    if measure == "beds":
        out.update(value=beds, units_covered=int(round(beds)))
        if target is not None:
            needed = _needed(target, beds)
            out.update(rate=beds / target if target else np.nan, target_rate=1.0, target_value=target,
                       units_needed=needed, met=needed == 0)
        return out
    # beds_per_1000_elderly
    if elderly_reason:
        out["no_data_reason"] = elderly_reason
        return out
    if not elderly or elderly <= 0:
        out["no_data_reason"] = ZERO_ELDERLY
        return out
    value = beds / elderly * 1000
    out.update(value=value, units_total=int(round(elderly)), units_covered=int(round(beds)))
    if target is not None:
        needed = _needed(target * elderly / 1000, beds)
        out.update(rate=value / target if target else np.nan, target_rate=1.0, target_value=target,
                   units_needed=needed, met=needed == 0)
    return out


def _ledger_reason(measure: str, assigned: pd.DataFrame, scope: pd.DataFrame) -> str:
    """Why the ledger cannot give the figure at all ('' when it can). `scope`: the target's
    facilities before any filter."""
    if "beds" not in assigned.columns or pd.to_numeric(assigned["beds"], errors="coerce").isna().all():
        return NO_BEDS_COLUMN
    if len(scope) and pd.to_numeric(scope["beds"], errors="coerce").isna().all():
        return NO_BEDS_FILLED
    if measure == "nursing_bed_share":
        if "nursing_beds" not in assigned.columns or pd.to_numeric(assigned["nursing_beds"], errors="coerce").isna().all():
            return NO_NURSING_COLUMN
        if len(scope) and pd.to_numeric(scope["nursing_beds"], errors="coerce").isna().all():
            return NO_NURSING_FILLED
    return ""


def capacity_rows(units: pd.DataFrame, assigned: pd.DataFrame, target, meta: dict, classes: ClassCatalog,
                  config: CoverageConfig = CoverageConfig()) -> list[dict]:
    """The coverage-table rows of one capacity target: one per district, then the whole area.

    `meta` carries the target's shared columns (as built in `evaluate`); `no_data` there is True when
    the ledger holds no facility of the class, and stays so."""
    from coverage.evaluate import AREA_CODE, AREA_NAME, NO_DATA_MESSAGE  # noqa: PLC0415

    measure = target.measure
    goal = float(target.target_value)
    frame = assigned.reset_index(drop=True)
    scope = _scope_rows(frame, target.facility_class, classes)
    meta = {**meta, "class_name": scope_name(target.facility_class, classes), "facilities_in_ledger": len(scope),
            "no_data": len(scope) == 0}
    ledger_reason = NO_DATA_MESSAGE if len(scope) == 0 else _ledger_reason(measure, frame, scope)
    fac = counting_bed_facilities(frame, target.facility_class, classes, config)
    elderly = _elderly(units)
    districts = units.drop_duplicates("district_code")[["district_code", "district_name"]].astype(str)
    districts = districts.sort_values("district_code")
    per_district_target = measure != "beds"

    def elderly_of(total: float, missing: int) -> tuple[float | None, str]:
        if elderly is None:
            return None, NO_ELDERLY_COLUMN
        if missing:
            return None, f"{missing} 个乡镇(街道)缺少老年人口数据, 无法计算每千名老年人床位数"
        return float(total), ""

    # per district, grouped once (no pass over every unit or facility per district)
    unit_district = units["district_code"].astype(str).to_numpy()
    if elderly is not None:
        pops = pd.DataFrame({"d": unit_district, "v": elderly.to_numpy(dtype=float)})
        pop_sum = pops.groupby("d")["v"].sum()
        pop_missing = pops["v"].isna().groupby(pops["d"]).sum()
    else:
        pop_sum = pop_missing = pd.Series(dtype=float)
    by_district = {code: _sums(g) for code, g in fac.groupby("district_code", sort=False)}
    empty = _sums(fac.iloc[0:0])
    rows = []
    for d in districts.itertuples(index=False):
        pop, why = elderly_of(pop_sum.get(d.district_code, 0.0), int(pop_missing.get(d.district_code, 0)))
        fig = _figure(measure, by_district.get(d.district_code, empty), pop, why,
                      goal if per_district_target else None, ledger_reason)
        rows.append(_finish(d.district_code, d.district_name, meta, fig, measure))
    pop, why = elderly_of(float(elderly.sum()) if elderly is not None else 0.0,
                          int(elderly.isna().sum()) if elderly is not None else 0)
    fig = _figure(measure, _sums(fac), pop, why, goal, ledger_reason)
    rows.append(_finish(AREA_CODE, AREA_NAME, meta, fig, measure))
    return rows


def _finish(code, name, meta, fig, measure) -> dict:
    row = {"district_code": code, "district_name": name, **meta, **fig, "value_unit": VALUE_UNITS[measure]}
    if row["no_data_reason"]:
        row["no_data"] = True
        row.update(value=np.nan, rate=np.nan, units_needed=pd.NA, met=pd.NA)
    return row


def capacity_table(units: pd.DataFrame, assigned: pd.DataFrame, classes: ClassCatalog, facility_class: str = "养老服务",
                   config: CoverageConfig = CoverageConfig()) -> pd.DataFrame:
    """Beds of a class or group per township (level 乡镇(街道)), district (县(市、区)) and the whole
    area (全市): facilities, beds, nursing beds, elderly population and the ratios (NaN where a
    figure is missing or the denominator is 0; nursing share only over facilities with both figures)."""
    from coverage.evaluate import AREA_CODE, AREA_NAME  # noqa: PLC0415

    fac = counting_bed_facilities(assigned, facility_class, classes, config)
    elderly = _elderly(units)
    u = units[["code", "name", "district_code", "district_name"]].astype(str).reset_index(drop=True)
    u["elderly_population"] = elderly.to_numpy() if elderly is not None else np.nan

    def figures(sub: pd.DataFrame, pop: float) -> dict:
        beds = float(np.nansum(sub["beds"])) if len(sub) else 0.0
        known = sub[sub["nursing_beds"].notna() & sub["beds"].notna()]
        base = float(known["beds"].sum())
        return {"facilities": len(sub), "beds": beds,
                "nursing_beds": float(known["nursing_beds"].sum()) if len(known) else np.nan,
                "elderly_population": pop,
                "beds_per_100_elderly": beds / pop * 100 if pd.notna(pop) and pop > 0 else np.nan,
                "beds_per_1000_elderly": beds / pop * 1000 if pd.notna(pop) and pop > 0 else np.nan,
                "nursing_bed_share": float(known["nursing_beds"].sum()) / base if base > 0 else np.nan}

    def total(pops: pd.Series) -> float:
        return float(pops.sum()) if len(pops) and pops.notna().all() else np.nan

    rows = []
    by_unit = dict(tuple(fac.groupby("unit_code", sort=False)))  # grouped once: no pass over the ledger per unit
    by_district = dict(tuple(fac.groupby("district_code", sort=False)))
    none = fac.iloc[0:0]
    for r in u.itertuples(index=False):
        rows.append({"level": "乡镇(街道)", "district_code": r.district_code, "district_name": r.district_name,
                     "unit_code": r.code, "unit_name": r.name, **figures(by_unit.get(r.code, none), r.elderly_population)})
    for (code, name), sub in u.groupby(["district_code", "district_name"], sort=True):
        rows.append({"level": "县(市、区)", "district_code": code, "district_name": name, "unit_code": code,
                     "unit_name": name, **figures(by_district.get(code, none), total(sub["elderly_population"]))})
    rows.append({"level": "全市", "district_code": AREA_CODE, "district_name": AREA_NAME, "unit_code": AREA_CODE,
                 "unit_name": AREA_NAME, **figures(fac, total(u["elderly_population"]))})
    return pd.DataFrame(rows, columns=CAPACITY_UNIT_COLUMNS)


__all__ = ["CAPACITY_MEASURES", "CAPACITY_RULES", "VALUE_UNITS", "capacity_rows", "capacity_table", "counting_bed_facilities", "scope_name"]
