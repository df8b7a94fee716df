"""Basemaps (底图) the planner may put under the coverage map, and the display shift they need.

The catalogue is data/basemaps.csv, one row per tile layer (天地图 has two: 矢量底图 and 矢量注记):
- `none` 无(离线): no tiles at all, the default; nothing leaves the machine;
- `tianditu` 天地图: WMTS vec_w + cva_w, CGCS2000 (= WGS84 at planning scale, no offset), needs a
  key (`key_secret`, read by the page from `st.secrets`); without one the option says so;
- `amap` 高德地图: tiles in GCJ-02, so overlays are shifted WGS84 -> GCJ-02 for display only
  (`to_display`); clicks on the map come back in GCJ-02 and go through `to_data` before use;
- `osm` OpenStreetMap.
Tiles are requested only when the planner chose that basemap (the map of `none` holds no tile URL).
Each basemap's attribution line names its source and 审图号 (`Basemap.attribution_text`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd
import shapely

from coverage.catalog import DATA_DIR
from coverage.errors import CatalogError
from geodata.chinacoords import gcj02_to_wgs84, wgs84_to_gcj02

BASEMAPS_CSV = DATA_DIR / "basemaps.csv"
DEFAULT_BASEMAP = "none"
SYSTEMS = ("wgs84", "gcj02")
#: Shown when a basemap's 审图号 is not filled in data/basemaps.csv.
REVIEW_NUMBER_UNKNOWN = "审图号见服务商网站"


@dataclass(frozen=True)
class TileSpec:
    """One tile layer: URL template ({s} subdomain, {z}/{x}/{y}, {key}), subdomains, max zoom."""

    name: str
    url: str
    subdomains: str
    max_zoom: int


@dataclass(frozen=True)
class Basemap:
    basemap_id: str
    label: str
    system: str                 # "wgs84" or "gcj02": the coordinates of the tiles
    attribution: str
    review_number: str          # 审图号, "" when not recorded
    key_secret: str             # name of the secret holding the key, "" when none is needed
    note: str
    tiles: tuple[TileSpec, ...]

    @property
    def attribution_text(self) -> str:
        """"© 源 · 审图号" for the map's attribution line ("" for no basemap)."""
        if not self.tiles:
            return ""
        return f"{self.attribution} · {self.review_number or REVIEW_NUMBER_UNKNOWN}"


def load_basemaps(path: Path = BASEMAPS_CSV) -> dict[str, Basemap]:
    """basemap_id -> Basemap, in file order; raises CatalogError listing every problem."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    problems = []
    for i, row in table.iterrows():
        where = f"data/basemaps.csv 第 {i + 2} 行"
        if row["system"] not in SYSTEMS:
            problems.append(f"{where}: system 为 {row['system']!r}, 应为 {list(SYSTEMS)} 之一")
        if row["url"] and not row["url"].startswith("https://"):
            problems.append(f"{where}: 瓦片地址须为 https")
        if row["url"] and ("{key}" in row["url"]) != bool(row["key_secret"]):
            problems.append(f"{where}: 地址中的 {{key}} 与 key_secret 须同时出现")
    if problems:
        raise CatalogError("; ".join(problems))
    out: dict[str, Basemap] = {}
    for basemap_id, rows in table.groupby("basemap_id", sort=False):
        first = rows.iloc[0]
        tiles = tuple(TileSpec(r["layer"], r["url"], r["subdomains"], int(r["max_zoom"] or 18)) for _, r in rows.iterrows() if r["url"])
        out[str(basemap_id)] = Basemap(str(basemap_id), first["label"], first["system"], first["attribution"],
                                       first["review_number"], first["key_secret"], first["note"], tiles)
    if DEFAULT_BASEMAP not in out or out[DEFAULT_BASEMAP].tiles:
        raise CatalogError(f"data/basemaps.csv 须有不含瓦片的 {DEFAULT_BASEMAP!r} 底图")
    return out


def missing_key(basemap: Basemap, keys: dict[str, str]) -> bool:
    """Whether the basemap needs a key that `keys` (secret name -> value) does not hold."""
    return bool(basemap.key_secret) and not str(keys.get(basemap.key_secret) or "").strip()


def choice_labels(basemaps: dict[str, Basemap], keys: dict[str, str]) -> dict[str, str]:
    """basemap_id -> label for the page's 底图 choice; "(需配置密钥)" where the key is missing."""
    return {b: m.label + ("(需配置密钥)" if missing_key(m, keys) else "") for b, m in basemaps.items()}


def tile_urls(basemap: Basemap, key: str | None = None) -> list[str]:
    """The basemap's tile URL templates with the key filled in (URL-quoted)."""
    return [t.url.replace("{key}", quote(str(key or ""), safe="")) for t in basemap.tiles]


# ------------------------------------------------------------------ display shift

def _shift(coords: np.ndarray) -> np.ndarray:
    lon, lat = wgs84_to_gcj02(coords[:, 0], coords[:, 1])
    return np.column_stack([lon, lat])


def to_display(geoms: np.ndarray, system: str) -> np.ndarray:
    """Geometry (WGS84 degrees) as drawn over tiles of `system`: shifted to GCJ-02 for "gcj02",
    unchanged (the same objects) for "wgs84". The input is never modified."""
    if system not in SYSTEMS:
        raise ValueError(f"`system` was {system!r}; expected one of {list(SYSTEMS)}.")
    if system == "wgs84":
        return geoms
    return shapely.transform(np.asarray(geoms, dtype=object), _shift)


def lonlat_to_display(lon, lat, system: str) -> tuple[np.ndarray, np.ndarray]:
    """Points (WGS84 degrees) as drawn over tiles of `system`."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    return wgs84_to_gcj02(lon, lat) if system == "gcj02" else (lon, lat)


def to_data(lon, lat, system: str) -> tuple[np.ndarray, np.ndarray]:
    """A position clicked on a map drawn over tiles of `system`, back in WGS84 (the data's system)."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    return gcj02_to_wgs84(lon, lat) if system == "gcj02" else (lon, lat)


__all__ = ["Basemap", "TileSpec", "load_basemaps", "choice_labels", "missing_key", "tile_urls", "to_display",
           "lonlat_to_display", "to_data", "DEFAULT_BASEMAP", "BASEMAPS_CSV"]
