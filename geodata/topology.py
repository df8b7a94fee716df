"""Gaps and overlaps between township polygons (a township layer should tile the area)."""
from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

from geodata.crs import gk3_epsg

MIN_AREA_M2 = 1.0  # slivers smaller than this are float noise, not data problems


def topology_problems(units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Overlaps between townships and gaps inside the layer's outline, in EPSG:4326.

    Returns kind ("overlap"/"gap"), unit_codes (the townships involved, for overlaps), area_m2
    (measured in the area's Gauss-Kruger zone) and geometry. Gaps are holes of the union of all
    townships: an enclave of another city also shows up, so the planner judges each.

    Intersections and the union are computed in the layer's own coordinates and only the results
    are projected for measuring: projecting first bends long straight edges differently from the
    short edges they share a line with (T-junctions), which would invent slivers.
    """
    layer = units[["code", units.geometry.name]].to_crs(4326)
    geoms = layer.geometry.to_numpy()
    rows = []
    left, right = layer.sindex.query(geoms, predicate="intersects")
    for i, j in zip(left, right):
        if i >= j:
            continue
        inter = shapely.intersection(geoms[i], geoms[j])
        if shapely.area(inter) > 0:
            rows.append({"kind": "overlap", "unit_codes": f"{layer['code'].iloc[i]},{layer['code'].iloc[j]}", "geometry": inter})
    union = shapely.union_all(geoms)
    for poly in getattr(union, "geoms", [union]):
        for ring in getattr(poly, "interiors", []):
            rows.append({"kind": "gap", "unit_codes": "", "geometry": shapely.Polygon(ring)})
    out = gpd.GeoDataFrame(pd.DataFrame(rows, columns=["kind", "unit_codes", "geometry"]), geometry="geometry", crs=4326)
    if out.empty:
        return out.assign(area_m2=pd.Series(dtype=float))[["kind", "unit_codes", "area_m2", "geometry"]]
    minx, _, maxx, _ = layer.total_bounds
    out["area_m2"] = out.to_crs(gk3_epsg((minx + maxx) / 2)).area.to_numpy()  # the area's own GK zone
    return out.loc[out["area_m2"] > MIN_AREA_M2, ["kind", "unit_codes", "area_m2", "geometry"]].reset_index(drop=True)


def topology_summary(problems: gpd.GeoDataFrame) -> dict:
    return {
        "overlaps": int((problems["kind"] == "overlap").sum()),
        "gaps": int((problems["kind"] == "gap").sum()),
        "overlap_area_m2": round(float(problems.loc[problems["kind"] == "overlap", "area_m2"].sum()), 1),
        "gap_area_m2": round(float(problems.loc[problems["kind"] == "gap", "area_m2"].sum()), 1),
        "items": [{"kind": r.kind, "unit_codes": r.unit_codes, "area_m2": round(r.area_m2, 1)} for r in problems.itertuples()],
    }
