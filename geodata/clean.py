"""Make a read facility ledger ready for counting, against a township layer:
coordinate system (detected or declared), placement by address, near-duplicates."""
from __future__ import annotations

from difflib import SequenceMatcher

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from coverage.catalog import normalize_label
from geodata.crs import gk3_epsg
from geodata.pointcrs import POINT_SYSTEMS, convert_points, detect_point_system, match_address

DUPLICATE_RADIUS_M = 50.0
NAME_SIMILARITY = 0.8


def prepare_facilities(facilities: gpd.GeoDataFrame, units: gpd.GeoDataFrame, *, system: str = "auto",
                       duplicate_radius_m: float = DUPLICATE_RADIUS_M) -> tuple[gpd.GeoDataFrame, dict]:
    """Return facilities in WGS84 with `address_unit` and `duplicate_of` set, and a report.

    system
        "auto" (detect against `units`), or a key of `POINT_SYSTEMS` / "EPSG:n" to force.
    """
    report: dict = {}
    if system == "auto":
        detection = detect_point_system(facilities, units)
        system = detection.best
        report["point_system_detection"] = {"best": detection.best, "evidence": detection.evidence,
                                            "hypotheses": detection.table.to_dict("records")}
    report["point_system"] = system
    report["point_system_label"] = POINT_SYSTEMS.get(system, system)
    out, bad = convert_points(facilities, system)
    report["bad_coordinates"] = bad
    no_xy = out.geometry.isna()
    out["address_unit"] = None
    if no_xy.any():
        out.loc[no_xy, "address_unit"] = match_address(out.loc[no_xy, "address"], units).to_numpy()
    report["placed_by_address"] = out.loc[out["address_unit"].notna(), "facility_id"].astype(str).tolist()
    report["unplaceable"] = out.loc[no_xy & out["address_unit"].isna(), "facility_id"].astype(str).tolist()
    out["duplicate_of"] = near_duplicates(out, units, radius_m=duplicate_radius_m)
    pairs = out.loc[out["duplicate_of"].notna(), ["facility_id", "duplicate_of"]]
    report["near_duplicates"] = [{"facility_id": str(a), "duplicate_of": str(b)} for a, b in pairs.itertuples(index=False)]
    return out, report


def _similar(a: str, b: str) -> bool:
    a, b = normalize_label(a), normalize_label(b)
    if not a or not b:
        return False
    return a == b or a in b or b in a or SequenceMatcher(None, a, b).ratio() >= NAME_SIMILARITY


def _township_of(points: gpd.GeoSeries, units: gpd.GeoDataFrame) -> np.ndarray:
    """Code of the township covering each point (lowest code on a shared edge), "" outside."""
    out = np.full(len(points), "", dtype=object)
    if units.empty:
        return out
    pi, ui = units.sindex.query(points.to_numpy(), predicate="covered_by")
    if len(pi):
        lowest = pd.DataFrame({"pt": pi, "code": units["code"].astype(str).to_numpy()[ui]}).groupby("pt")["code"].min()
        out[lowest.index.to_numpy()] = lowest.to_numpy()
    return out


_NO_CLASS = object()


def near_duplicates(facilities: gpd.GeoDataFrame, units: gpd.GeoDataFrame, *, radius_m: float = DUPLICATE_RADIUS_M) -> pd.Series:
    """For each facility, the id of an earlier record of the same class, in the same township, with
    a near-identical name within `radius_m` metres (measured in the area's Gauss-Kruger zone), else
    None. Two 社工站 of neighbouring 街道 38 m apart across their shared border are two facilities:
    each township has its own, so the township must match (points outside every township only pair
    with each other)."""
    result = pd.Series([None] * len(facilities), index=facilities.index, dtype=object)
    has = facilities.geometry.notna() & ~facilities.geometry.is_empty
    if has.sum() < 2:
        return result
    pts = facilities[has]
    metric = _metric_points(pts, units)
    left, right = shapely.STRtree(metric).query(metric, predicate="dwithin", distance=radius_m)
    pos = np.flatnonzero(has.to_numpy())
    names = facilities["name"].astype(str).to_numpy()
    classes = facilities["facility_class"].to_numpy()
    ids = facilities["facility_id"].astype(str).to_numpy()
    i, j = pos[left], pos[right]
    # conditions that do not depend on earlier matches, on every pair at once (the index pairs each
    # point with itself and with every neighbour, in both orders); only what remains is compared
    # by name, in the index's order, earlier records first as before
    keep = j > i
    i, j = i[keep], j[keep]
    is_class = np.array([isinstance(c, str) for c in classes], dtype=bool)
    comparable = classes.astype(object).copy()
    comparable[~is_class] = _NO_CLASS  # equal to no string (missing classes never pair)
    keep = is_class[i] & (comparable[i] == comparable[j]) & (ids[i] != ids[j])
    i, j = i[keep], j[keep]
    township = np.full(len(facilities), "", dtype=object)
    involved = np.unique(np.concatenate([i, j]))  # the township only of points that have a candidate
    if len(involved):
        township[involved] = _township_of(facilities.geometry.iloc[involved], units)
    keep = township[i] == township[j]
    out = np.full(len(facilities), None, dtype=object)
    for a, b in zip(i[keep].tolist(), j[keep].tolist()):
        if out[b] is not None or out[a] is not None:
            continue
        if _similar(names[a], names[b]):
            out[b] = ids[a]
    result[:] = out
    return result


def _metric_points(points: gpd.GeoDataFrame, units: gpd.GeoDataFrame) -> np.ndarray:
    """The points in metres: in the Gauss-Kruger zone of their centre (the mean of the distinct
    points, i.e. the centroid of their union, as `geodata.crs.to_working_crs` takes it), or Web
    Mercator without a township layer. Transformed as arrays, without building a GeoDataFrame."""
    x, y = shapely.get_x(points.geometry.to_numpy()), shapely.get_y(points.geometry.to_numpy())
    if units.empty:
        target = 3857
    else:
        lon, lat = x, y
        if not CRS(points.crs).equals(CRS(4326)):
            lon, lat = Transformer.from_crs(points.crs, 4326, always_xy=True).transform(x, y)
        distinct = np.unique(np.asarray(lon) + 1j * np.asarray(lat))  # distinct (lon, lat) pairs
        target = gk3_epsg(float(distinct.real.mean()))
    mx, my = Transformer.from_crs(points.crs, target, always_xy=True).transform(x, y)
    return shapely.points(np.asarray(mx), np.asarray(my))
