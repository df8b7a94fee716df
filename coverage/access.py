"""Distance coverage: how many people aged 60+ live within R km of a facility of a class.

Distances are straight-line distances in metres in the area's CGCS2000 3-degree Gauss-Kruger zone
(`geodata.crs.gk3_epsg` of the township layer's centre), never on degrees. Straight-line distance
is the accepted first approximation of access (15-minute life circle: about 1 km walking in cities;
rural 区域性养老服务中心 serve 2-3 乡镇); road and walking distances are longer. Every output says so
in its `method` field ("直线距离").

Demand: village/community points weighted by their 60+ population when given (finer); otherwise
each township's representative point (a point inside the polygon, `representative_point`), weighted
by the township's 60+ population: a whole township then counts as within R or not, which is coarse
for large rural townships.

Two entry points over one core: `nearest_facility` and `share_within` work on coordinate arrays
(metres); `township_access` is the adapter from GeoDataFrames, `class_access` also picks the
facilities that count (`coverage.evaluate.counting_facilities`). `service_areas` builds the
service-radius layer for the map. Pure functions: no Streamlit, no file I/O.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from coverage.catalog import ClassCatalog
from coverage.config import CoverageConfig
from coverage.errors import AccessError, CRSError
from coverage.evaluate import counting_facilities
from geodata.crs import gk3_epsg

#: Said in every output: the distance is a straight line, not a road or walking route.
METHOD = "直线距离"
METHOD_NOTE = ("距离为所在地区 CGCS2000 3度带高斯-克吕格投影下的直线距离(米), 是可达性的第一近似; "
               "实际步行或道路距离通常更长。")
#: Largest service radius accepted (km): beyond it straight-line coverage says little.
MAX_RADIUS_KM = 100.0
#: Points farther than this from the zone's central meridian (degrees) get a precision note
#: (GK scale error about 0.1 % at 3 degrees and 30 N, growing with the square of the distance).
OFF_MERIDIAN_NOTE_DEG = 3.0
DEMAND_VILLAGES = "村(社区)点"
DEMAND_TOWNSHIPS = "乡镇代表点"
NO_FACILITY_REASON = "无该类设施"
BY_UNIT_COLUMNS = ["code", "name", "district_code", "nearest_m", "nearest_facility_id", "within_radius",
                   "elderly_population", "elderly_within", "share_within", "reason", "method"]


@dataclass(frozen=True)
class AccessResult:
    """Distance coverage of one facility class.

    radius_m
        Service radius (metres, straight line).
    share_within
        Share 0-1 of the 60+ population (of the demand with a known 60+ population) within
        `radius_m` of a facility; 0.0 when there is no facility; NaN when no 60+ population is known.
    elderly_total, elderly_within
        Persons aged 60+ in the demand, and those within the radius.
    demand
        "村(社区)点" or "乡镇代表点" (see the module docstring).
    by_unit
        One row per township (`BY_UNIT_COLUMNS`): nearest_m (metres from the township's
        representative point to the nearest facility; NaN with `reason` when there is none),
        nearest_facility_id, within_radius (that distance <= radius), elderly_population (60+ in
        the township's demand), elderly_within, share_within (NaN when unknown), reason, method.
    crs
        The projected CRS the distances were computed in, e.g. "EPSG:4549".
    by_point
        With village/community demand only (else None): one row per point with point_id, name,
        unit_code (township covering it; missing outside every township), nearest_m (metres, NaN when
        no facility or no coordinates), within_radius, elderly_population, method.
    notes
        Chinese sentences for the page: method, missing data, points outside every township.
    """

    facility_class: str | None
    radius_m: float
    share_within: float
    elderly_total: float
    elderly_within: float
    demand: str
    facilities_used: int
    by_unit: pd.DataFrame
    crs: str
    method: str = METHOD
    notes: tuple[str, ...] = field(default_factory=tuple)
    by_point: pd.DataFrame | None = None

    def summary(self) -> dict:
        """The headline figures as plain values (JSON-serialisable)."""
        return {"facility_class": self.facility_class, "radius_m": self.radius_m, "method": self.method,
                "share_within": self.share_within, "elderly_total": self.elderly_total,
                "elderly_within": self.elderly_within, "demand": self.demand,
                "facilities_used": self.facilities_used, "crs": self.crs, "notes": list(self.notes)}


# ---------------------------------------------------------------- core on arrays (metres)

def radius_metres(radius_km: object) -> float:
    """The service radius in metres from kilometres; `AccessError` unless 0 < radius <= MAX_RADIUS_KM."""
    try:
        r = float(radius_km)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise AccessError(f"服务半径 {radius_km!r} 不是数字, 请填写以公里为单位的正数(如 1 或 1.5)。") from None
    if not math.isfinite(r) or r <= 0:
        raise AccessError(f"服务半径为 {radius_km!r} 公里; 应为大于 0 的公里数(如城市15分钟生活圈约 1 公里)。")
    if r > MAX_RADIUS_KM:
        raise AccessError(f"服务半径为 {r:g} 公里, 超过 {MAX_RADIUS_KM:g} 公里; 如此远的直线距离已不能说明可达性, 请核对单位(公里)。")
    return r * 1000.0


def nearest_facility(demand_xy: np.ndarray, facility_xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Straight-line distance (metres) from each demand point to its nearest facility, and that
    facility's position; NaN and -1 when there is no facility or the demand point has no coordinates.

    Both arrays are (n, 2) coordinates in one projected CRS in metres (a GK zone).
    Ties go to the first facility in order.
    """
    demand_xy = np.asarray(demand_xy, dtype=float).reshape(-1, 2)
    facility_xy = np.asarray(facility_xy, dtype=float).reshape(-1, 2)
    dist = np.full(len(demand_xy), np.nan)
    idx = np.full(len(demand_xy), -1, dtype=int)
    fac_ok = np.flatnonzero(np.isfinite(facility_xy).all(axis=1))
    dem_ok = np.flatnonzero(np.isfinite(demand_xy).all(axis=1))
    if not len(fac_ok) or not len(dem_ok):
        return dist, idx
    tree = shapely.STRtree(shapely.points(facility_xy[fac_ok]))
    (d_i, f_i), d = tree.query_nearest(shapely.points(demand_xy[dem_ok]), return_distance=True, all_matches=True)
    first = pd.DataFrame({"d": d_i, "f": fac_ok[f_i], "dist": d}).sort_values(["d", "f"]).drop_duplicates("d")
    dist[dem_ok[first["d"].to_numpy()]] = first["dist"].to_numpy()
    idx[dem_ok[first["d"].to_numpy()]] = first["f"].to_numpy()
    return dist, idx


def share_within(distances_m: np.ndarray, weights: np.ndarray, radius_m: float) -> tuple[float, float, float]:
    """(weight within, total weight, share 0-1) of demand points whose distance is <= `radius_m`.

    Points with a missing weight are left out of both sums; a missing distance (no facility) counts
    as not within. The share is NaN when the total weight is 0 (no division by zero).
    """
    d = np.asarray(distances_m, dtype=float)
    w = np.asarray(weights, dtype=float)
    known = np.isfinite(w)
    total = float(w[known].sum())
    within = float(w[known & (d <= radius_m)].sum())  # NaN <= r is False
    return within, total, (within / total if total > 0 else float("nan"))


# ---------------------------------------------------------------- adapter from GeoDataFrames

def working_epsg(*layers: gpd.GeoDataFrame) -> int:
    """EPSG code of the CGCS2000 3-degree GK zone of the layers' common centre (longitude of the
    centre of their joint WGS84 bounding box)."""
    bounds = []
    for layer in layers:
        if layer is None or layer.empty:
            continue
        if layer.crs is None:
            raise CRSError("图层没有坐标系信息, 无法计算距离; 请先在读取时指定坐标系。")
        b = layer.geometry.to_crs(4326).total_bounds
        if np.isfinite(b).all():
            bounds.append(b)
    if not bounds:
        return gk3_epsg(120.0)
    b = np.array(bounds)
    return gk3_epsg((b[:, 0].min() + b[:, 2].max()) / 2)


def project_points(gdf: gpd.GeoDataFrame, epsg: int) -> np.ndarray:
    """(n, 2) coordinates (metres) in `epsg` of point geometries; NaN rows for missing or empty ones."""
    geom = gdf.geometry.to_crs(epsg)
    ok = (~geom.isna() & ~geom.is_empty).to_numpy()
    xy = np.full((len(gdf), 2), np.nan)
    if ok.any():
        xy[ok] = shapely.get_coordinates(geom.to_numpy()[ok])
    return xy


def _elderly(frame: pd.DataFrame) -> np.ndarray:
    if "elderly_population" not in frame.columns:
        return np.full(len(frame), np.nan)
    w = pd.to_numeric(frame["elderly_population"], errors="coerce").to_numpy(dtype=float)
    return np.where(w >= 0, w, np.nan)


def township_access(units: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame, radius_km: float, *,
                    demand_points: gpd.GeoDataFrame | None = None, facility_class: str | None = None
                    ) -> AccessResult:
    """Distance coverage of the given facilities (all of them count: filter before calling, or use
    `class_access`).

    Parameters
    ----------
    units
        Township polygons (any declared CRS) with `code`, `name`, `district_code` and optionally
        `elderly_population` (persons aged 60+).
    facilities
        Facility points (any declared CRS) with `facility_id`; rows without geometry are ignored
        (with a note).
    radius_km
        Service radius in kilometres (straight line), > 0.
    demand_points
        Village/community points (`geodata.population.read_demand_points`) with
        `elderly_population`; when given they are the demand, else the townships' representative
        points weighted by the townships' 60+ population.
    facility_class
        Label carried into the result.

    Returns an `AccessResult`; distances in metres in the area's GK zone.
    """
    radius_m = radius_metres(radius_km)
    epsg = working_epsg(units, facilities, *([demand_points] if demand_points is not None else []))
    work = units.to_crs(epsg)
    notes = [METHOD_NOTE]
    fac_xy, fac_ids = _facility_points(facilities, epsg, notes)
    _note_meridian(notes, epsg, units, facilities, demand_points)
    by_unit = _nearest_by_unit(work, fac_xy, fac_ids, radius_m)
    if demand_points is not None:
        demand = DEMAND_VILLAGES
        dem_dist, weights, by_point = _village_demand(work, demand_points, fac_xy, radius_m, by_unit, notes)
    else:
        demand, by_point = DEMAND_TOWNSHIPS, None
        dem_dist, weights = _township_demand(units, radius_m, by_unit, notes)
    within, total, share = share_within(dem_dist, weights, radius_m)  # 0.0 without facilities
    n_fac = int(np.isfinite(fac_xy).all(axis=1).sum())
    if n_fac == 0:
        notes.append(f"没有{facility_class or '该类'}设施(有坐标的), 各乡镇最近距离无法计算"
                     + (", 覆盖比例为 0。" if total > 0 else "。"))
    if not total > 0 and np.isfinite(weights).any():
        notes.append("60岁以上人口合计为 0, 无法计算覆盖比例。")
    e = by_unit["elderly_population"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        by_unit["share_within"] = np.where(e > 0, by_unit["elderly_within"].to_numpy(dtype=float) / np.where(e > 0, e, 1), np.nan)
    by_unit["method"] = METHOD
    return AccessResult(facility_class=facility_class, radius_m=radius_m, share_within=share, elderly_total=total,
                        elderly_within=within, demand=demand, facilities_used=n_fac, by_unit=by_unit[BY_UNIT_COLUMNS],
                        crs=f"EPSG:{epsg}", notes=tuple(notes), by_point=by_point)


def _facility_points(facilities: gpd.GeoDataFrame, epsg: int, notes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Facility coordinates in `epsg` (NaN rows for those without) and their ids."""
    fac_xy = project_points(facilities, epsg)
    unplaced = int((~np.isfinite(fac_xy).all(axis=1)).sum())
    if unplaced:
        notes.append(f"{unplaced} 个设施没有坐标(如按地址归属), 未参与距离计算。")
    fac_ids = (facilities["facility_id"].astype(str).to_numpy() if "facility_id" in facilities.columns
               else np.array([f"F{i + 1}" for i in range(len(facilities))]))
    return fac_xy, fac_ids


def _nearest_by_unit(work: gpd.GeoDataFrame, fac_xy: np.ndarray, fac_ids: np.ndarray, radius_m: float) -> pd.DataFrame:
    """Per township: distance (metres) from its representative point to the nearest facility."""
    unit_xy = shapely.get_coordinates(work.geometry.representative_point().to_numpy())
    dist, idx = nearest_facility(unit_xy, fac_xy)
    nearest_id = np.full(len(work), None, dtype=object)
    nearest_id[idx >= 0] = fac_ids[idx[idx >= 0]]
    return pd.DataFrame({
        "code": work["code"].astype(str).to_numpy(),
        "name": work["name"].astype(str).to_numpy() if "name" in work.columns else "",
        "district_code": work["district_code"].astype(str).to_numpy() if "district_code" in work.columns else "",
        "nearest_m": dist,
        "nearest_facility_id": nearest_id,
        "within_radius": dist <= radius_m,  # NaN (no facility) is not within
        "reason": np.where(np.isnan(dist), NO_FACILITY_REASON, ""),
    })


def _township_demand(units: pd.DataFrame, radius_m: float, by_unit: pd.DataFrame,
                     notes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Demand = townships' representative points weighted by their 60+ population (fills by_unit)."""
    weights = _elderly(units)
    _note_missing_elderly(notes, weights, "乡镇", np.ones(len(weights), dtype=bool))
    dist = by_unit["nearest_m"].to_numpy(dtype=float)
    by_unit["elderly_population"] = weights
    by_unit["elderly_within"] = np.where(np.isfinite(weights), np.where(dist <= radius_m, weights, 0.0), np.nan)
    notes.append("需求按各乡镇代表点(面内一点)及其60岁以上人口计: 整个乡镇要么全部在半径内, 要么全部不在; "
                 "有村(社区)点位时结果更细。")
    return dist, weights


def _village_demand(work: gpd.GeoDataFrame, points: gpd.GeoDataFrame, fac_xy: np.ndarray, radius_m: float,
                    by_unit: pd.DataFrame, notes: list[str]) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Demand = village/community points weighted by their 60+ population, summed per township
    they fall in (fills by_unit); returns distances, weights and the per-point table."""
    dem_xy = project_points(points, work.crs.to_epsg())
    weights = _elderly(points)
    dist, _ = nearest_facility(dem_xy, fac_xy)
    unit_of = _unit_of_points(work, dem_xy)
    no_xy = ~np.isfinite(dem_xy).all(axis=1)
    if no_xy.any():
        notes.append(f"{int(no_xy.sum())} 个村(社区)点没有坐标, 未参与计算。")
        weights = np.where(no_xy, np.nan, weights)
    outside = ~no_xy & pd.isna(unit_of)
    if outside.any():
        notes.append(f"{int(outside.sum())} 个村(社区)点不在任何乡镇范围内: 计入全域比例, 不计入各乡镇。")
    _note_missing_elderly(notes, weights, "村(社区)点", ~no_xy)
    by_point = pd.DataFrame({
        "point_id": (points["point_id"].astype(str).to_numpy() if "point_id" in points.columns
                     else [f"R{i + 1}" for i in range(len(points))]),
        "name": points["name"].astype(str).to_numpy() if "name" in points.columns else "",
        "unit_code": unit_of, "nearest_m": dist, "within_radius": dist <= radius_m,
        "elderly_population": weights, "method": METHOD})
    per = pd.DataFrame({"code": unit_of, "w": weights, "in": np.where(dist <= radius_m, weights, 0.0)})
    per = per[per["code"].notna() & np.isfinite(per["w"])].groupby("code")[["w", "in"]].sum()
    by_unit["elderly_population"] = by_unit["code"].map(per["w"]).astype(float)
    by_unit["elderly_within"] = by_unit["code"].map(per["in"]).astype(float)
    return dist, weights, by_point


def _unit_of_points(work_units: gpd.GeoDataFrame, xy: np.ndarray) -> np.ndarray:
    """Township code covering each point (lowest code on shared edges, as `coverage.assign`); None outside."""
    out = np.full(len(xy), None, dtype=object)
    ok = np.flatnonzero(np.isfinite(xy).all(axis=1))
    if not len(ok):
        return out
    codes = work_units["code"].astype(str).to_numpy()
    p_i, u_i = work_units.sindex.query(shapely.points(xy[ok]), predicate="covered_by")
    lowest = pd.DataFrame({"p": ok[p_i], "code": codes[u_i]}).groupby("p")["code"].min()
    out[lowest.index.to_numpy()] = lowest.to_numpy()
    return out


def _note_missing_elderly(notes: list[str], weights: np.ndarray, what: str, considered: np.ndarray) -> None:
    missing = considered & ~np.isfinite(weights)
    if missing.all() and len(weights):
        notes.append(f"所有{what}都缺少60岁以上人口, 覆盖比例无法计算; 请先导入人口表(按乡镇代码)或村(社区)点人口。")
    elif missing.any():
        notes.append(f"{int(missing.sum())} 个{what}缺少60岁以上人口, 未计入覆盖比例的分子和分母。")


def _note_meridian(notes: list[str], epsg: int, *layers) -> None:
    cm = 75 + 3 * (epsg - 4534)
    far = 0.0
    for layer in layers:
        if layer is not None and not layer.empty:
            b = layer.geometry.to_crs(4326).total_bounds
            if np.isfinite(b).all():
                far = max(far, abs(b[0] - cm), abs(b[2] - cm))
    if far > OFF_MERIDIAN_NOTE_DEG:
        notes.append(f"范围距中央经线 {cm}°E 最远约 {far:.1f}°, 超出一个3度带, 距离误差可达千分之几; 大范围请分区计算。")


def class_access(units: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame, assigned: pd.DataFrame,
                 classes: ClassCatalog, facility_class: str, radius_km: float, *,
                 config: CoverageConfig = CoverageConfig(),
                 demand_points: gpd.GeoDataFrame | None = None) -> AccessResult:
    """Distance coverage of one class, counting the facilities the coverage evaluation counts.

    `facilities` is the layer given to `coverage.assign.assign_facilities` and `assigned` its
    output (same rows, same order). A facility counts as in `coverage.evaluate.counting_facilities`:
    assigned to a township, in a counted operating status, of the class (or standing for it by its
    functions). Facilities outside every township do not count, as in the evaluation.
    """
    return township_access(units, counted_facilities(facilities, assigned, classes, facility_class, config=config),
                           radius_km, demand_points=demand_points, facility_class=facility_class)


def counted_facilities(facilities: gpd.GeoDataFrame, assigned: pd.DataFrame, classes: ClassCatalog,
                       facility_class: str, *, config: CoverageConfig = CoverageConfig()) -> gpd.GeoDataFrame:
    """The rows of `facilities` that count for `facility_class` (see `class_access`)."""
    if len(assigned) != len(facilities):
        raise AccessError(f"设施表({len(facilities)} 行)与归属结果({len(assigned)} 行)行数不同, 请重新计算归属。")
    keyed = assigned.reset_index(drop=True).assign(facility_id=[str(i) for i in range(len(assigned))])
    counting = counting_facilities(keyed, classes, config)
    rows = sorted({int(r) for r in counting.loc[counting["facility_class"].eq(facility_class), "facility_id"]})
    return facilities.iloc[rows]


def service_areas(facilities: gpd.GeoDataFrame, radius_km: float, *, dissolve: bool = False,
                  epsg: int | None = None) -> gpd.GeoDataFrame:
    """Circles of `radius_km` (straight line) around each facility, for the map.

    Built in metres in the GK zone (`epsg`, default that of the facilities' centre) and returned in
    WGS84 (EPSG:4326), with facility_id, name (when present), radius_m and method. With
    `dissolve=True`, one (Multi)Polygon for the union of the circles. Facilities without
    coordinates are left out.
    """
    radius_m = radius_metres(radius_km)
    epsg = epsg or working_epsg(facilities)
    work = facilities.to_crs(epsg)
    work = work[~work.geometry.isna() & ~work.geometry.is_empty]
    circles = work.geometry.buffer(radius_m, quad_segs=32)
    if dissolve:
        geom = [shapely.union_all(circles.to_numpy())] if len(circles) else []
        out = gpd.GeoDataFrame({"n_facilities": [len(circles)] if geom else [], "radius_m": [radius_m] if geom else [],
                                "method": [METHOD] if geom else []}, geometry=geom, crs=epsg)
        return out.to_crs(4326)
    data = {"facility_id": work["facility_id"].astype(str).to_numpy() if "facility_id" in work.columns
            else [f"F{i + 1}" for i in range(len(work))]}
    if "name" in work.columns:
        data["name"] = work["name"].astype(str).to_numpy()
    data["radius_m"] = np.full(len(work), radius_m)
    data["method"] = np.full(len(work), METHOD, dtype=object)
    return gpd.GeoDataFrame(data, geometry=circles.to_numpy(), crs=epsg).to_crs(4326)
