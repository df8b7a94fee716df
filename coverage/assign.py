"""Assign facility points to the township units that contain them.

Rule for points on boundaries (documented here, tested in tests/test_assign.py):
- A point is assigned to a unit that *covers* it (interior or boundary), so a point exactly on a
  township edge is never dropped.
- A point covered by several units (on a shared edge or vertex) is counted once, in the unit with
  the lexicographically lowest `code` (edge_rule "lowest_code"); it is flagged `on_edge`.
- A point in a hole of a unit is inside whatever unit fills the hole (a 街道 inside a 镇); if no
  unit fills it, the point is outside every unit.
- Points outside every unit, without coordinates, or duplicated are reported with a status,
  never silently dropped.
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from coverage.config import CoverageConfig
from coverage.errors import CRSMismatchError

#: Statuses of facilities that count towards coverage.
COUNTED_STATUSES: tuple[str, ...] = ("assigned", "by_address")
#: Assignment statuses, with their Chinese label.
ASSIGNMENT_STATUSES: dict[str, str] = {
    "assigned": "已归属",
    "by_address": "按地址归属",
    "outside": "不在任何乡镇范围内",
    "no_coordinates": "缺少坐标",
    "duplicate": "重复记录",
    "unknown_class": "设施类别无法识别",
}


def assign_facilities(
    units: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    *,
    config: CoverageConfig = CoverageConfig(),
) -> pd.DataFrame:
    """Assign each facility to the township unit that covers it.

    Parameters
    ----------
    units
        Township polygons with a unique string `code` and `district_code`.
    facilities
        Facility points (geometry may be empty or missing for rows without coordinates) with
        `facility_id` and `facility_class` (canonical class_id, or missing when unrecognised).
        Must share the CRS of `units`. Optional columns: `address_unit` (a township code found
        from the address, used for rows without coordinates: status "by_address") and
        `duplicate_of` (id of the record this one repeats, e.g. within 50 m: status "duplicate").
    config
        `edge_rule` decides points covered by several units (see module docstring).

    Returns
    -------
    assigned
        Plain DataFrame, one row per input facility in input order, with the facility columns
        (minus geometry) plus `unit_code` (missing when outside), `district_code`, `on_edge`
        (bool) and `status` (a key of `ASSIGNMENT_STATUSES`).
    """
    if units.crs != facilities.crs:
        raise CRSMismatchError(
            f"乡镇边界与设施点的坐标系不一致({units.crs} 与 {facilities.crs}), 请先统一坐标系。"
        )
    pts = facilities.geometry.reset_index(drop=True)
    has_xy = (~pts.isna()) & (~pts.is_empty)
    unit_code, on_edge = _covering_unit(units, pts, has_xy)
    out = pd.DataFrame(facilities.drop(columns=facilities.geometry.name)).reset_index(drop=True)
    by_address = pd.Series(False, index=out.index)
    if "address_unit" in out.columns:
        known = set(units["code"].astype(str))
        addr = out["address_unit"].where(out["address_unit"].isin(known))
        by_address = (~has_xy.to_numpy()) & addr.notna()
        unit_code = unit_code.where(~by_address, addr)
    out["unit_code"] = unit_code
    district = dict(zip(units["code"].astype(str), units["district_code"].astype(str)))
    out["district_code"] = out["unit_code"].map(district)
    out["on_edge"] = on_edge
    out["status"] = _statuses(out, has_xy.to_numpy() | by_address.to_numpy())
    out.loc[by_address.to_numpy() & (out["status"] == "assigned").to_numpy(), "status"] = "by_address"
    return out


def _covering_unit(
    units: gpd.GeoDataFrame, pts: gpd.GeoSeries, has_xy: pd.Series
) -> tuple[pd.Series, np.ndarray]:
    """For each point: the lowest code of the units covering it, and whether several do."""
    codes = units["code"].astype(str).to_numpy()
    idx = np.flatnonzero(has_xy.to_numpy())
    pt_i, unit_i = units.sindex.query(pts.iloc[idx].to_numpy(), predicate="covered_by")
    pairs = pd.DataFrame({"pt": idx[pt_i], "code": codes[unit_i]})
    grouped = pairs.groupby("pt")["code"]
    lowest = grouped.min()
    n_units = grouped.nunique()
    unit_code = pd.Series(pd.NA, index=pts.index, dtype="object")
    unit_code.loc[lowest.index] = lowest.to_numpy()
    on_edge = np.zeros(len(pts), dtype=bool)
    on_edge[n_units.index[n_units > 1]] = True
    return unit_code, on_edge


def _statuses(out: pd.DataFrame, has_xy: np.ndarray) -> np.ndarray:
    """Status per row, in order of precedence: duplicate, no_coordinates, outside, unknown_class.
    Also fills `duplicate_of` / `duplicate_rule` in `out` for every duplicate."""
    status = np.full(len(out), "assigned", dtype=object)
    status[out["facility_class"].isna().to_numpy()] = "unknown_class"
    status[out["unit_code"].isna().to_numpy() & has_xy] = "outside"
    status[~has_xy] = "no_coordinates"
    of, rule = duplicate_pairs(out)
    out["duplicate_of"] = of
    out["duplicate_rule"] = rule
    status[of.notna().to_numpy()] = "duplicate"
    return status


#: Why a row was taken for a repeat of another (shown beside each dropped row).
DUPLICATE_RULES: dict[str, str] = {
    "same_id": "同一文件/工作表内编号相同",
    "same_record": "名称、类别、坐标完全相同",
    "near": "50米内同乡镇、同类别、名称相近",
}


def duplicate_pairs(facilities: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """For each row repeating an earlier one: the `facility_id` of the row kept (the first) and the
    rule (a key of `DUPLICATE_RULES`); None for rows kept.

    Rules, in order: the same `facility_id` (ids are unique within a file or sheet; readers qualify
    ids reused across sheets); the same name, class and coordinates (rounded to 1e-6 degree, about
    0.1 m); a `duplicate_of` already set by the near-duplicate check (same township and class)."""
    n = len(facilities)
    of = pd.Series([None] * n, index=facilities.index, dtype=object)
    rule = pd.Series([None] * n, index=facilities.index, dtype=object)
    ids = facilities["facility_id"].astype(str)
    if "duplicate_of" in facilities.columns:
        near = facilities["duplicate_of"].fillna("").astype(str)
        hit = near.ne("")
        of[hit], rule[hit] = near[hit], "near"
    keys = [c for c in ("name", "facility_class", "lon", "lat") if c in facilities.columns]
    if len(keys) == 4:
        same = facilities[keys].copy()
        same["lon"] = pd.to_numeric(same["lon"], errors="coerce").round(6)
        same["lat"] = pd.to_numeric(same["lat"], errors="coerce").round(6)
        same["facility_class"] = same["facility_class"].astype(object).where(same["facility_class"].notna(), "")
        repeat = same.duplicated() & same["lon"].notna()
        first = ids.groupby([same[k] for k in keys], dropna=False).transform("first")
        of[repeat], rule[repeat] = first[repeat], "same_record"
    repeat_id = ids.duplicated()
    first_id = ids  # the kept row has the same id
    of[repeat_id], rule[repeat_id] = first_id[repeat_id], "same_id"
    return of, rule


def find_duplicates(facilities: pd.DataFrame) -> np.ndarray:
    """Boolean mask of rows repeating an earlier row (see `duplicate_pairs`). The first is kept."""
    return duplicate_pairs(facilities)[0].notna().to_numpy()
