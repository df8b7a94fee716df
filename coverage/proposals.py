"""Fewest new sites that reach each unmet presence (coverage) target.

For a township-level target (乡镇(街道), 街道, 乡镇) a district that misses its target needs exactly
`units_needed` more covered townships (ceil(target x N) - covered); any `units_needed` uncovered
townships of the level do it, and fewer cannot. Which ones is the planner's choice, made by a rank:

- "elderly": most people aged 60+ first (units column `elderly_population`; when it is missing,
  `population`, said in the notes; when both are missing, township code order).
- "distance": farthest first from the nearest facility of the class that counts today, in metres,
  straight line between the township's representative point and the facility, computed in the
  CGCS2000 3-degree Gauss-Kruger zone (`geodata.crs.to_working_crs`). When the class has no counted
  facility anywhere, falls back to "elderly" (said in the notes).
- "regional": the plans' 区域性养老服务中心 that serve 2-3 乡镇. Greedy, per district: pick the
  uncovered township with the most uncovered, not yet served neighbours of the same level in the
  same district (neighbour = polygons that touch or overlap); it and those neighbours are then
  served; repeat until `units_needed` townships are picked. The pick itself is what the indicator
  counts; the neighbours served are the reason given. Every uncovered neighbour is listed: whether
  one centre can serve them all (the plans say 2-3 乡镇) is the planner's call.

Ties are always broken by township code (lowest first).

A county-level target (县(市、区), 县) is met by a district as soon as any of its townships holds a
facility, so an uncovered district gets one township: the first of all its townships by the rank
("regional": the township with the most neighbours in the district, i.e. a central one).

No proposal, with a note instead, for: targets whose class the ledger holds none of (`no_data`: the
ledger cannot tell a real gap from a class never sent) and count targets. A target met in every
district and city-wide gets nothing; a district short of a target met city-wide still gets its sites.

Whole-area (全市) rows: the district proposals are checked against the whole-area need. They can
only be equal or more (per-district rounding up); more is said in the notes. Were they ever fewer,
the best remaining townships are added and that is said too.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from coverage.catalog import MEASURE_LABELS
from coverage.config import CoverageConfig
from coverage.errors import CoverageError
from coverage.evaluate import (
    AREA_CODE,
    COUNTY_LEVELS,
    NO_DATA_MESSAGE,
    CoverageResult,
    units_at_level,
)

Rank = Literal["elderly", "distance", "regional"]
RANKS: dict[str, str] = {"elderly": "老年人口多者优先", "distance": "距最近同类设施远者优先",
                         "regional": "区域性中心: 服务相邻未覆盖乡镇多者优先"}
PROPOSAL_COLUMNS = ["target_id", "district_code", "unit_code", "unit_name", "rank", "reason", "at_least"]
EXTRA_COLUMNS = ["district_name", "indicator", "facility_class", "level", "lon", "lat"]
NOTE_COLUMNS = ["target_id", "district_code", "note"]
#: The end of the note of a target that is not met by siting townships (counts, beds).
NOT_SITED = "不按乡镇选址"


@dataclass(frozen=True)
class ProposalResult:
    """sites: PROPOSAL_COLUMNS + EXTRA_COLUMNS (lon/lat: the township's representative point, WGS84),
    one row per (target, proposed township); notes: target_id, district_code, note (Chinese)."""

    sites: pd.DataFrame
    notes: pd.DataFrame


def propose_sites(units: gpd.GeoDataFrame, result: CoverageResult, *, rank: Rank = "elderly",
                  facilities: gpd.GeoDataFrame | None = None, assigned: pd.DataFrame | None = None,
                  classes=None, config: CoverageConfig = CoverageConfig()) -> ProposalResult:
    """The smallest set of uncovered townships meeting every unmet coverage target of `result`.

    Parameters
    ----------
    units
        Township polygons (any CRS) with code, name, district_code, district_name, kind and
        optionally elderly_population / population.
    result
        `coverage.evaluate.evaluate` on these units.
    rank
        A key of `RANKS` (see module docstring).
    facilities, assigned
        Only for rank "distance": the facility points (same rows, same order as `assigned`) and
        `assign_facilities`' table; the facilities that count today are measured against.
    classes
        The class catalogue (default `coverage.catalog.load_classes()`), for rank "distance".
    """
    if rank not in RANKS:
        raise CoverageError(f"排序方式 {rank!r} 无效, 可选: {', '.join(RANKS)}。")
    units = units.reset_index(drop=True).copy()
    units["code"] = units["code"].astype(str)
    units["district_code"] = units["district_code"].astype(str)
    notes: list[dict] = []
    weight, weight_label = _weights(units, notes)
    points = units.geometry.representative_point()
    lonlat = gpd.GeoSeries(points, crs=units.crs).to_crs(4326) if units.crs is not None else points
    units["lon"], units["lat"] = lonlat.x.to_numpy(), lonlat.y.to_numpy()
    neighbours = _neighbours(units) if rank == "regional" else None
    covered = result.unit_counts[result.unit_counts["n"] > 0]
    covered_by_class = covered.groupby("facility_class")["unit_code"].agg(lambda s: set(s.astype(str))).to_dict()
    cov = result.coverage
    rows: list[dict] = []
    for tid, tcov in cov.groupby("target_id", sort=False):
        first = tcov.iloc[0]
        area = tcov[tcov["district_code"] == AREA_CODE]
        if first["measure"] != "coverage":
            label = MEASURE_LABELS.get(first["measure"], first["measure"])
            notes.append({"target_id": tid, "district_code": AREA_CODE, "note": f"{label}指标, {NOT_SITED}"})
            continue
        if bool(first["no_data"]):
            notes.append({"target_id": tid, "district_code": AREA_CODE, "note": f"{NO_DATA_MESSAGE}, 不提出选址"})
            continue
        if tcov["met"].astype(bool).all():  # a district short of a target met city-wide still gets sites
            continue
        cls, level = first["facility_class"], first["level"]
        dist = None
        score, label = weight, weight_label
        if rank == "distance":
            dist = _distances(units, facilities, assigned, cls, classes, config)
            if dist is None:
                notes.append({"target_id": tid, "district_code": AREA_CODE,
                              "note": f"全域无计入的此类设施, 无法按距离排序, 改按{weight_label}排序"})
            else:
                score, label = dist, "距最近同类设施(直线)"
        covered_units = covered_by_class.get(cls, set())
        county = level in COUNTY_LEVELS
        pool = units if county else units_at_level(units, level, config)
        picked: list[dict] = []
        for d in tcov[(tcov["district_code"] != AREA_CODE) & (tcov["units_needed"] > 0)].itertuples(index=False):
            in_d = pool[pool["district_code"] == str(d.district_code)]
            cands = in_d if county else in_d[~in_d["code"].isin(covered_units)]
            need = 1 if county else int(d.units_needed)
            if len(cands) < need:  # cannot happen with consistent inputs; say it rather than hide it
                notes.append({"target_id": tid, "district_code": d.district_code,
                              "note": f"未覆盖乡镇仅 {len(cands)} 个, 少于所需 {need} 个"})
                need = len(cands)
            chosen = _choose(cands, need, rank, score, label, neighbours, county, covered_units)
            for i, (idx, reason) in enumerate(chosen, start=1):
                picked.append(_site(units.loc[idx], first, d.district_code, i, reason, int(d.units_needed)))
        _check_area(tid, area, picked, pool, covered_units, county, score, label, first, units, notes)
        rows += picked
    sites = pd.DataFrame(rows, columns=PROPOSAL_COLUMNS + EXTRA_COLUMNS)
    return ProposalResult(sites=sites, notes=pd.DataFrame(notes, columns=NOTE_COLUMNS))


def _site(u, meta, district_code, rank, reason, at_least) -> dict:
    return {"target_id": meta["target_id"], "district_code": str(district_code), "unit_code": u["code"],
            "unit_name": u["name"], "rank": rank, "reason": reason, "at_least": at_least,
            "district_name": u["district_name"], "indicator": meta["indicator"], "facility_class": meta["facility_class"],
            "level": meta["level"], "lon": float(u["lon"]), "lat": float(u["lat"])}


def _check_area(tid, area, picked, pool, covered_units, county, score, label, meta, units, notes) -> None:
    """Compare the district proposals with the whole-area need; top up if ever short."""
    if area.empty:
        return
    need = int(area["units_needed"].iloc[0])
    got = len(picked)
    if got > need:
        notes.append({"target_id": tid, "district_code": AREA_CODE,
                      "note": f"各区县分别达标需新增 {got} 处, 多于全市达标所需 {need} 处(各区县分别向上取整)"})
    elif got < need:
        taken = {p["unit_code"] for p in picked} | set(covered_units)
        rest = pool[~pool["code"].isin(taken)]
        if county:
            done = {p["district_code"] for p in picked}
            rest = rest[~rest["district_code"].isin(done)]
        order = _order(rest, score)
        for i, idx in enumerate(order[: need - got], start=1):
            u = units.loc[idx]
            picked.append(_site(u, meta, AREA_CODE, i, f"{label} {_fmt(score[idx])}, 全市补足第 {i}", need))
        notes.append({"target_id": tid, "district_code": AREA_CODE,
                      "note": f"各区县提议合计 {got} 处, 少于全市所需 {need} 处, 已按排序补足"})


def _fmt(value: float) -> str:
    return "无数据" if value is None or not np.isfinite(value) else f"{value:,.0f}"


def _order(cands: pd.DataFrame, score: pd.Series) -> list:
    """Index labels of `cands` by score descending, then township code ascending."""
    frame = pd.DataFrame({"s": score.reindex(cands.index).fillna(-np.inf).to_numpy(), "code": cands["code"].to_numpy()},
                         index=cands.index)
    return list(frame.sort_values(["s", "code"], ascending=[False, True], kind="mergesort").index)


def _choose(cands, need, rank, score, label, neighbours, county, covered_units) -> list[tuple[int, str]]:
    if need <= 0:
        return []
    unit_word = "本区县乡镇中" if county else "本区县未覆盖中"
    if rank != "regional":
        unit = "米" if label.startswith("距") else "人"
        return [(idx, f"{label} {_fmt(score[idx])} {unit}, {unit_word}第 {i}")
                for i, idx in enumerate(_order(cands, score)[:need], start=1)]
    codes = cands["code"]
    idx_by_code = dict(zip(codes, cands.index))
    if county:  # one central township: most neighbours within the district
        counts = {c: len([n for n in neighbours.get(c, ()) if n in idx_by_code]) for c in codes}
        best = min(codes, key=lambda c: (-counts[c], c))
        return [(idx_by_code[best], f"与本区县 {counts[best]} 个乡镇相邻, 居中设区域性中心")]
    served: set[str] = set()
    open_ = set(codes)
    out = []
    for i in range(1, need + 1):
        gain = {c: [n for n in neighbours.get(c, ()) if n in open_ and n not in served and n != c] for c in open_}
        best = min(open_, key=lambda c: (-len(gain[c]), c))
        names = "、".join(cands.loc[[idx_by_code[n] for n in sorted(gain[best])], "name"])
        reason = (f"可兼顾相邻未覆盖乡镇 {len(gain[best])} 个({names}), 本区县第 {i} 选" if gain[best]
                  else f"无相邻未覆盖乡镇可兼顾, 按代码顺序, 本区县第 {i} 选")
        out.append((idx_by_code[best], reason))
        open_.discard(best)
        served |= {best, *gain[best]}
    return out


def _weights(units: pd.DataFrame, notes: list[dict]) -> tuple[pd.Series, str]:
    for col, label in (("elderly_population", "老年人口"), ("population", "常住人口")):
        if col in units.columns:
            values = pd.to_numeric(units[col], errors="coerce")
            if values.notna().any():
                if col != "elderly_population":
                    notes.append({"target_id": "", "district_code": AREA_CODE,
                                  "note": "乡镇表无老年人口(elderly_population)列, 改按常住人口排序"})
                return values, label
    notes.append({"target_id": "", "district_code": AREA_CODE,
                  "note": "乡镇表无老年人口与常住人口数据, 按乡镇代码顺序排序"})
    return pd.Series(np.nan, index=units.index), "人口"


def _distances(units, facilities, assigned, cls, classes, config) -> pd.Series | None:
    """Metres from each township's representative point to the nearest counted facility of `cls`."""
    from coverage.catalog import load_classes  # noqa: PLC0415
    from coverage.evaluate import counting_facilities  # noqa: PLC0415
    from geodata.crs import to_working_crs  # noqa: PLC0415

    if facilities is None or assigned is None:
        raise CoverageError("按距离排序需要设施点位(facilities 与 assigned)。")
    counting = counting_facilities(assigned, classes or load_classes(), config)
    ids = set(counting.loc[counting["facility_class"] == cls, "facility_id"])
    pts = facilities[facilities["facility_id"].isin(ids)]
    pts = pts[pts.geometry.notna() & ~pts.geometry.is_empty]
    if pts.empty:
        return None
    work = to_working_crs(units)
    reps = work.geometry.representative_point()
    fac = pts.to_crs(work.crs).geometry
    tree_idx, dist = fac.sindex.nearest(reps, return_distance=True, return_all=False)
    out = pd.Series(np.nan, index=units.index)
    out.iloc[tree_idx[0]] = dist
    return out


def _neighbours(units: gpd.GeoDataFrame) -> dict[str, set[str]]:
    """Township code -> codes of townships whose polygons touch or overlap it."""
    left, right = units.sindex.query(units.geometry, predicate="intersects")
    codes = units["code"].to_numpy()
    out: dict[str, set[str]] = {c: set() for c in codes}
    for a, b in zip(left, right):
        if a != b:
            out[codes[a]].add(codes[b])
    return out
