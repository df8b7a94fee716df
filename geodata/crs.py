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
