"""Coordinate reference systems: the working projected CRS for metric work.

CGCS2000 3-degree Gauss-Kruger zones: EPSG:4534 (CM 75E) ... EPSG:4554 (CM 135E), no zone prefix
in the easting. Distances and areas are computed there, never on degrees.
"""
from __future__ import annotations

import math

import geopandas as gpd


def gk3_epsg(lon_deg: float) -> int:
    """EPSG code of the CGCS2000 3-degree GK zone (no zone prefix) whose central meridian is
    nearest to `lon_deg` (degrees east): CM = 3 x floor(lon / 3 + 0.5)."""
    cm = 3 * math.floor(lon_deg / 3 + 0.5)
    cm = min(max(cm, 75), 135)
    return 4534 + (cm - 75) // 3


def to_working_crs(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Reproject to the 3-degree GK zone of the layer's centre (metres)."""
    lon = float(gdf.to_crs(4326).union_all().centroid.x) if not gdf.empty else 120.0
    return gdf.to_crs(gk3_epsg(lon))


def county_lon_hint(codes) -> float | None:
    """Median longitude (degrees) of the counties named by the first 6 digits of `codes`
    (from data/county_centroids.csv), or None when none is known."""
    import pandas as pd

    from coverage.catalog import DATA_DIR

    table = pd.read_csv(DATA_DIR / "county_centroids.csv", dtype={"county_code": str})
    lon = dict(zip(table["county_code"], table["lon"]))
    hits = [lon[c[:6]] for c in map(str, codes) if c[:6] in lon]
    return float(sorted(hits)[len(hits) // 2]) if hits else None


def infer_projected_crs(x, y, *, lon_hint: float | None = None) -> tuple[int, str]:
    """EPSG code of the CGCS2000 Gauss-Kruger zone that fits projected coordinates given without
    a CRS, and the reason in Chinese.

    x, y
        Eastings and northings in metres (arrays). An 8-digit easting carries the zone number
        (3-degree zones 25-45, 6-degree zones 13-23); a 6-digit easting does not, and the zone is
        taken from `lon_hint` (degrees east, e.g. from the township codes).

    Raises `CRSError` when the coordinates are not GK-like or the zone cannot be decided.
    The datum (CGCS2000 / Xian 1980 / Beijing 1954) cannot be told from coordinates: CGCS2000 is
    assumed and said so; the planner can override.
    """
    import numpy as np

    from coverage.errors import CRSError

    xs = np.asarray(x, dtype=float)
    ys = np.asarray(y, dtype=float)
    ok = np.isfinite(xs) & np.isfinite(ys)
    if not ok.any():
        raise CRSError("坐标全部无效, 无法判断坐标系。")
    ex, ny = float(np.median(xs[ok])), float(np.median(ys[ok]))
    if not 1.0e5 <= ny <= 6.5e6:
        raise CRSError(f"北坐标 {ny:.0f} 不在中国的高斯-克吕格投影范围内, 无法判断坐标系, 请手动选择。")
    if 1.0e7 <= ex < 1.0e8:
        zone = int(ex // 1.0e6)
        if 25 <= zone <= 45:
            return 4513 + zone - 25, f"东坐标带带号 {zone}(3度带), 按 CGCS2000 3度带第 {zone} 带(中央经线 {zone * 3}°E)读取"
        if 13 <= zone <= 23:
            return 4491 + zone - 13, f"东坐标带带号 {zone}(6度带), 按 CGCS2000 6度带第 {zone} 带(中央经线 {zone * 6 - 3}°E)读取"
        raise CRSError(f"东坐标的带号 {zone} 不是中国范围内的投影带, 请手动选择坐标系。")
    if 1.0e5 <= ex < 1.0e6:
        if lon_hint is None:
            raise CRSError("坐标为不带带号的投影坐标(米), 无法判断中央经线。请选择坐标系(如 CGCS2000 3度带 CM 111°E)后重试。")
        epsg = gk3_epsg(lon_hint)
        cm = 75 + 3 * (epsg - 4534)
        return epsg, f"东坐标不带带号; 按乡镇代码所在区县(约 {lon_hint:.1f}°E)推断为 CGCS2000 3度带 中央经线 {cm}°E"
    raise CRSError(f"坐标({ex:.0f}, {ny:.0f})既不是经纬度也不像高斯-克吕格投影坐标, 请手动选择坐标系。")


#: Coordinate systems a planner can choose for a layer without .prj (label -> EPSG).
def crs_choices() -> dict[str, int]:
    choices = {"WGS84 / CGCS2000 经纬度": 4326}
    for cm in range(75, 136, 3):
        choices[f"CGCS2000 3度带 CM {cm}°E(不带带号)"] = 4534 + (cm - 75) // 3
    for zone in range(25, 46):
        choices[f"CGCS2000 3度带 第{zone}带(带带号)"] = 4513 + zone - 25
    for cm in range(75, 136, 3):
        choices[f"西安80 3度带 CM {cm}°E"] = 2370 + (cm - 75) // 3
        choices[f"北京54 3度带 CM {cm}°E"] = 2422 + (cm - 75) // 3
    return choices
