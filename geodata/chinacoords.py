"""China's obfuscated coordinate systems, vectorised with numpy.

GCJ-02 (Amap/Gaode, Tencent) is WGS84 plus a non-linear offset of some hundreds of metres; BD-09
(Baidu) shifts GCJ-02 further. Neither has an EPSG code. The formulas follow the public-domain
PRCoords reference (Krasovsky ellipsoid constants); inverses are iterative (fixed-point with a
secant-free update) and converge to well under a millimetre in a few steps.

All functions take and return longitude, latitude in degrees (arrays or scalars), lon first.
Points outside mainland China are transformed too (no "out of China" cut-off): callers decide.
"""
from __future__ import annotations

import numpy as np

_A = 6378245.0                    # Krasovsky 1940 semi-major axis, metres
_EE = 0.00669342162296594323      # Krasovsky 1940 first eccentricity squared
_BD_DLON = 0.0065
_BD_DLAT = 0.006
_X_PI = np.pi * 3000.0 / 180.0


def _delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 offset (dlon, dlat) in degrees at WGS84 position (lon, lat)."""
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    d_lat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x
             + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
             + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
             + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0)
    d_lon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x
             + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
             + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
             + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0)
    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    d_lon = (d_lon * 180.0) / (_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    return d_lon, d_lat


def _arrays(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def wgs84_to_gcj02(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = _arrays(lon, lat)
    d_lon, d_lat = _delta(lon, lat)
    return lon + d_lon, lat + d_lat


def gcj02_to_wgs84(lon, lat, *, tol_deg: float = 1e-10, max_iter: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Iterative inverse: find WGS84 (x) with wgs84_to_gcj02(x) = (lon, lat); 1e-10 deg ~ 0.01 mm."""
    lon, lat = _arrays(lon, lat)
    w_lon, w_lat = lon.copy(), lat.copy()
    for _ in range(max_iter):
        g_lon, g_lat = wgs84_to_gcj02(w_lon, w_lat)
        e_lon, e_lat = g_lon - lon, g_lat - lat
        w_lon = w_lon - e_lon
        w_lat = w_lat - e_lat
        if np.nanmax(np.abs(np.concatenate([np.ravel(e_lon), np.ravel(e_lat)])), initial=0.0) < tol_deg:
            break
    return w_lon, w_lat


def gcj02_to_bd09(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = _arrays(lon, lat)
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + _BD_DLON, z * np.sin(theta) + _BD_DLAT


def bd09_to_gcj02(lon, lat, *, tol_deg: float = 1e-10, max_iter: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Iterative inverse of `gcj02_to_bd09` (exact to ~0.01 mm, unlike the one-step approximation)."""
    lon, lat = _arrays(lon, lat)
    g_lon, g_lat = lon - _BD_DLON, lat - _BD_DLAT
    for _ in range(max_iter):
        b_lon, b_lat = gcj02_to_bd09(g_lon, g_lat)
        e_lon, e_lat = b_lon - lon, b_lat - lat
        g_lon = g_lon - e_lon
        g_lat = g_lat - e_lat
        if np.nanmax(np.abs(np.concatenate([np.ravel(e_lon), np.ravel(e_lat)])), initial=0.0) < tol_deg:
            break
    return g_lon, g_lat


def wgs84_to_bd09(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


#: Converters to WGS84 by source system name.
TO_WGS84 = {"wgs84": lambda x, y: _arrays(x, y), "cgcs2000": lambda x, y: _arrays(x, y),
            "gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}
