"""Gaps and overlaps between township polygons (a township layer should tile the area)."""
from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

from geodata.crs import to_working_crs

MIN_AREA_M2 = 1.0  # slivers smaller than this are float noise, not data problems


def topology_problems(units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Overlaps between townships and gaps inside the layer's outline, in EPSG:4326.

    Returns kind ("overlap"/"gap"), unit_codes (the townships involved, for overlaps), area_m2
    (measured in the area's Gauss-Kruger zone) and geometry. Gaps are holes of the union of all
    townships: an enclave of another city also shows up, so the planner judges each.
    """
    metric = to_working_crs(units[["code", units.geometry.name]])
    geoms = metric.geometry.to_numpy()
    rows = []
    left, right = metric.sindex.query(geoms, predicate="intersects")
    for i, j in zip(left, right):
        if i >= j:
            continue
        inter = shapely.intersection(geoms[i], geoms[j])
        area = shapely.area(inter)
        if area > MIN_AREA_M2:
            rows.append({"kind": "overlap", "unit_codes": f"{metric['code'].iloc[i]},{metric['code'].iloc[j]}",
                         "area_m2": float(area), "geometry": inter})
    union = shapely.union_all(geoms)
    for poly in getattr(union, "geoms", [union]):
        for ring in getattr(poly, "interiors", []):
            hole = shapely.Polygon(ring)
            if hole.area > MIN_AREA_M2:
                rows.append({"kind": "gap", "unit_codes": "", "area_m2": float(hole.area), "geometry": hole})
    out = gpd.GeoDataFrame(pd.DataFrame(rows, columns=["kind", "unit_codes", "area_m2", "geometry"]), geometry="geometry", crs=metric.crs)
    return out.to_crs(4326)


def topology_summary(problems: gpd.GeoDataFrame) -> dict:
    return {
        "overlaps": int((problems["kind"] == "overlap").sum()),
        "gaps": int((problems["kind"] == "gap").sum()),
        "overlap_area_m2": round(float(problems.loc[problems["kind"] == "overlap", "area_m2"].sum()), 1),
        "gap_area_m2": round(float(problems.loc[problems["kind"] == "gap", "area_m2"].sum()), 1),
        "items": [{"kind": r.kind, "unit_codes": r.unit_codes, "area_m2": round(r.area_m2, 1)} for r in problems.itertuples()],
    }
