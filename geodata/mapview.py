"""Map views at every scale: what a view draws (townships, or districts / cities / provinces as
dissolved areas above `TOWNSHIP_VIEW_MAX` townships), and its layer as compact GeoJSON text with
geometry simplified for the view's scale. For display only: computation uses the original layer.

A view is named by its *scope*: "" (everything), a 2-digit province or 4-digit city prefix of the
district codes, or a district code. `choose_view` decides what the scope draws:

- at most `TOWNSHIP_VIEW_MAX` townships in scope (or a single district): the townships;
- else areas one level down, the finest of district (full code), city (first 4 digits) and
  province (first 2) with at most `AREA_VIEW_MAX` areas; city and province levels only when every
  district code is a 6-digit 统计用区划代码. Clicking an area drills down to it (its scope).

Display geometry (`build_layer`): projected to Web Mercator (EPSG:3857, the map's own projection,
so a tolerance in metres there is a tolerance in screen pixels), simplified with
`simplify_coverage` (shared edges stay shared: no slivers between neighbours; plain
topology-preserving `simplify` when the layer is not a clean coverage) by `TOLERANCE_PX` pixels at
the zoom that fits the view into `MAP_WIDTH_PX`, back to degrees and snapped to a grid of
`coordinate_decimals` (4-6 decimals, finer than a tenth of the tolerance). For 高德 (GCJ-02 tiles)
the simplified geometry is shifted to GCJ-02 (`geodata.basemaps.to_display`), never the data.
"""
from __future__ import annotations

import hashlib
import html
import json
import math
import re
from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from coverage.catalog import DATA_DIR

#: Above this many townships in scope the map draws areas (districts, cities) and drills down.
TOWNSHIP_VIEW_MAX = 3000
#: At most this many areas in one view; more and the view groups by the next level up.
AREA_VIEW_MAX = 1000
#: Width of the map on screen the simplification assumes (pixels; the page's map is ~1,000-1,400).
MAP_WIDTH_PX = 1200
#: Simplification tolerance in screen pixels at the zoom that fits the view.
TOLERANCE_PX = 1.0
#: Township views of more features than this draw on a canvas (SVG slows down beyond ~1,000 paths).
CANVAS_MIN_FEATURES = 600
#: Township labels appear from the zoom at which a median township is this wide on screen (pixels).
LABEL_MIN_WIDTH_PX = 90
#: Views with at most this many townships show labels from the start.
LABEL_ALWAYS_MAX = 60
WEB_MERCATOR = 3857
_EARTH_M = 40_075_016.686                 # Web Mercator world width, metres

Draws = Literal["township", "county", "city", "province"]
#: Prefix length of each area level (None: the whole district code).
LEVEL_PREFIX = {"county": None, "city": 4, "province": 2}
LEVEL_LABELS = {"township": "乡镇(街道)", "county": "区县", "city": "市(州)", "province": "省(区、市)"}


@dataclass(frozen=True)
class MapView:
    """What one scope draws: `draws` ("township" or an area level), for `n_units` townships."""

    scope: str
    draws: Draws
    n_units: int


def _six_digit(codes: pd.Series) -> bool:
    return bool(len(codes)) and bool(codes.astype(str).str.fullmatch(r"\d{6}").all())


def scope_mask(units: pd.DataFrame, scope: str) -> np.ndarray:
    """Boolean mask of the townships in `scope` ("" all; a district code; a city/province prefix)."""
    district = units["district_code"].astype(str)
    if not scope:
        return np.ones(len(units), dtype=bool)
    exact = (district == scope).to_numpy()
    return exact if exact.any() else district.str.startswith(scope).to_numpy()


def area_key(district_codes: pd.Series, draws: Draws) -> pd.Series:
    """The area code of each township's district at an area level ("county": the district code)."""
    codes = district_codes.astype(str)
    n = LEVEL_PREFIX[draws]
    return codes if n is None else codes.str[:n]


def choose_view(units: pd.DataFrame, scope: str = "") -> MapView:
    """What the map draws for `scope` (see the module docstring)."""
    mask = scope_mask(units, scope)
    n = int(mask.sum())
    district = units.loc[mask, "district_code"].astype(str)
    if n <= TOWNSHIP_VIEW_MAX or district.nunique() <= 1:
        return MapView(scope, "township", n)
    levels = ["county"] + (["city", "province"] if _six_digit(district) else [])
    for level in levels:
        n_prefix = LEVEL_PREFIX[level]
        if n_prefix is not None and n_prefix <= len(scope):
            break
        if area_key(district, level).nunique() <= AREA_VIEW_MAX:
            return MapView(scope, level, n)
    finest = [lv for lv in levels if LEVEL_PREFIX[lv] is None or LEVEL_PREFIX[lv] > len(scope)]
    return MapView(scope, finest[-1] if finest else "county", n)


def scope_levels(units: pd.DataFrame) -> list[Draws]:
    """Area levels a planner may need to name as a scope for this layer: "county" always, "city"
    (and "province") when the whole layer opens on them."""
    top = choose_view(units, "").draws
    if top == "province":
        return ["province", "city", "county"]
    if top == "city":
        return ["city", "county"]
    return ["county"]


# ------------------------------------------------------------------ names

def _catalogue() -> pd.DataFrame:
    return pd.read_csv(DATA_DIR / "county_names.csv", dtype=str)


def area_names(units: pd.DataFrame, level: Draws) -> dict[str, str]:
    """Area code -> name: districts from the layer's own `district_name`; cities and provinces from
    data/county_names.csv by code prefix, else "<code>" (synthetic or unknown codes)."""
    district = units["district_code"].astype(str)
    if level == "county":
        return dict(zip(district, units["district_name"].astype(str)))
    n = LEVEL_PREFIX[level]
    codes = sorted(set(district.str[:n]))
    table = _catalogue()
    column = "city_name" if level == "city" else "province_name"
    known = table.assign(prefix=table["county_code"].str[:n]).drop_duplicates("prefix").set_index("prefix")[column]
    return {c: str(known.get(c)) if c in known.index and pd.notna(known.get(c)) else f"{c}" for c in codes}


def scope_label(units: pd.DataFrame, scope: str) -> str:
    """A scope's name for titles and breadcrumbs ("全部", "十堰市", "郧阳区")."""
    if not scope:
        return "全部"
    district = units["district_code"].astype(str)
    if (district == scope).any():
        return str(units.loc[(district == scope).to_numpy(), "district_name"].iloc[0])
    level = "city" if len(scope) == 4 else "province"
    return area_names(units, level).get(scope, scope)


def breadcrumb(units: pd.DataFrame, scope: str) -> list[tuple[str, str]]:
    """(scope, label) from the whole layer down to `scope`: [("", "全部"), ("4203", "十堰市"), ...].
    A level is listed only when the layer opens on it (a one-city layer skips the city)."""
    trail = [("", "全部")]
    if not scope:
        return trail
    levels = scope_levels(units)
    is_district = bool((units["district_code"].astype(str) == scope).any())
    numeric = scope.isdigit()
    for level in ("province", "city"):
        n = LEVEL_PREFIX[level]
        if level in levels and numeric and len(scope) >= n:
            trail.append((scope[:n], scope_label(units, scope[:n])))
    if is_district:
        trail.append((scope, scope_label(units, scope)))
    return list(dict.fromkeys(trail))


def scope_options(units: pd.DataFrame) -> dict[str, str]:
    """Scope code -> label for the page's 区县 choice: "" (全部), cities / provinces when the layer
    opens on them ("某某市(全市)"), then every district ("郧阳区"; with its city when names repeat)."""
    options = {"": "全部"}
    levels = scope_levels(units)
    for level in ("province", "city"):
        if level in levels:
            suffix = "(全省)" if level == "province" else "(全市)"
            options |= {c: f"{n}{suffix}" for c, n in sorted(area_names(units, level).items())}
    districts = units.drop_duplicates("district_code")[["district_code", "district_name"]].astype(str)
    districts = districts.sort_values(["district_name", "district_code"]) if "city" not in levels else \
        districts.sort_values("district_code")
    repeated = districts["district_name"].duplicated(keep=False)
    cities = area_names(units, "city") if _six_digit(districts["district_code"]) else {}
    for code, name, dup in zip(districts["district_code"], districts["district_name"], repeated):
        where = cities.get(code[:4], code) if dup else None
        options[code] = f"{name}({where})" if where else name
    return options


# ------------------------------------------------------------------ display geometry

def display_tolerance_m(bounds_3857: tuple[float, float, float, float], *, width_px: int = MAP_WIDTH_PX,
                        tolerance_px: float = TOLERANCE_PX) -> float:
    """Simplification tolerance (Web Mercator metres) for a view of these bounds: `tolerance_px`
    pixels at the largest whole zoom that fits the view's width and height (4:3) into the map."""
    minx, miny, maxx, maxy = bounds_3857
    extent = max(maxx - minx, (maxy - miny) * 4 / 3, 1.0)
    zoom = math.floor(math.log2(_EARTH_M * width_px / (256 * extent)))
    return tolerance_px * _EARTH_M / (256 * 2 ** zoom)


def coordinate_decimals(tolerance_m: float) -> int:
    """Decimals of degrees for coordinates simplified with `tolerance_m`: a grid at most a tenth
    of the tolerance (1 degree ~ 111 km), between 4 (~11 m) and 6 (~0.1 m)."""
    grid_deg = tolerance_m / 10 / 111_320
    return int(min(6, max(4, math.ceil(-math.log10(max(grid_deg, 1e-9))))))


def simplify_for_display(geoms: gpd.GeoSeries, tolerance_m: float, decimals: int) -> gpd.GeoSeries:
    """Geometry (EPSG:4326 in and out) simplified by `tolerance_m` Web Mercator metres, edges
    shared between neighbours kept shared, coordinates on a grid of `decimals` decimals."""
    merc = geoms.to_crs(WEB_MERCATOR)
    try:
        simple = merc.simplify_coverage(tolerance_m)
        if not shapely.is_valid(simple.to_numpy()).all():
            raise shapely.errors.GEOSException("coverage simplification gave invalid polygons")
    except (AttributeError, shapely.errors.GEOSException):
        simple = merc.simplify(tolerance_m / 2, preserve_topology=True)
    back = simple.to_crs(4326).to_numpy()
    snapped = shapely.set_precision(back, 10.0 ** -decimals)
    return gpd.GeoSeries(snapped, index=geoms.index, crs=4326)


def dissolve_areas(units: gpd.GeoDataFrame, keys: pd.Series) -> gpd.GeoDataFrame:
    """One (multi)polygon per key (`area_code` column), by coverage union (fast on a clean
    coverage; a general union where the layer has overlaps)."""
    frame = gpd.GeoDataFrame({"area_code": keys.astype(str).to_numpy()}, geometry=units.geometry.to_numpy(), crs=units.crs)
    out = []
    for code, group in frame.groupby("area_code", sort=True):
        parts = group.geometry.to_numpy()
        try:
            merged = shapely.coverage_union_all(parts)
            if not merged.is_valid:
                raise shapely.errors.GEOSException("invalid coverage union")
        except shapely.errors.GEOSException:
            merged = shapely.union_all(shapely.make_valid(parts))
        out.append((code, merged))
    return gpd.GeoDataFrame({"area_code": [c for c, _ in out]}, geometry=[g for _, g in out], crs=units.crs)


# ------------------------------------------------------------------ the layer

@dataclass(frozen=True)
class MapLayer:
    """The drawn layer of one view, sent to the browser once per dataset and view.

    geojson
        `compact_layer` text. Township columns: unit_code, name, district_name, and label points
        "lp"; area columns: area_code, name, parent. Names are HTML-escaped; the text is safe
        inside a <script> element (<, >, & as \\u escapes). Geometry in the display system.
    outlines
        District outlines (township views drawn over several districts), same form, or "null".
    codes
        Feature codes by position `i` (township codes, or area codes).
    label_zoom
        Zoom from which township labels are drawn (None for area views).
    """

    layer_id: str
    kind: Draws
    scope: str
    codes: tuple[str, ...]
    geojson: str
    outlines: str
    bounds: tuple[float, float, float, float]
    label_zoom: float | None
    canvas: bool
    vertices_in: int
    vertices_out: int


_TEMPLATE_OPENERS = re.compile(r"\{(?=[{%#])")


def script_safe(text: str) -> str:
    """JSON text made safe to embed in a <script> element (<, >, &, ' as \\u escapes, as Jinja's
    `tojson` does) and inert for Jinja, which folium runs over rendered scripts: "{{", "{%" and "{#"
    (only possible inside strings of compact JSON) get their brace as \\u007b."""
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").replace("'", "\\u0027")
    return _TEMPLATE_OPENERS.sub(r"\\u007b", text)


def _ring(coords: np.ndarray, scale: float, *, closed: bool) -> str:
    """A ring or line as a flat list of integers: the first point in grid units, then differences;
    a polygon ring without its closing point (Leaflet closes rings itself)."""
    q = np.rint(coords[:, :2] * scale).astype(np.int64)
    if not closed and len(q) > 3 and (q[0] == q[-1]).all():
        q = q[:-1]
    d = np.diff(q, axis=0, prepend=np.zeros((1, 2), dtype=np.int64))
    return "[" + ",".join(map(str, d.ravel().tolist())) + "]"


def encode_geometry(geom, decimals: int) -> str:
    """Compact geometry JSON: {"type": ..., "q": rings as `_ring` lists}; "null" for empty ones.
    Decoded by `decode_geometry` and by static/mz-map/coverage-layer.js."""
    if geom is None or geom.is_empty:
        return "null"
    scale = 10.0 ** decimals
    kind = geom.geom_type
    if kind == "Polygon":
        body = "[" + ",".join(_ring(np.asarray(r.coords), scale, closed=False) for r in [geom.exterior, *geom.interiors]) + "]"
    elif kind == "MultiPolygon":
        body = "[" + ",".join("[" + ",".join(_ring(np.asarray(r.coords), scale, closed=False)
                                             for r in [p.exterior, *p.interiors]) + "]" for p in geom.geoms) + "]"
    elif kind == "LineString":
        body = _ring(np.asarray(geom.coords), scale, closed=True)
    elif kind == "MultiLineString":
        body = "[" + ",".join(_ring(np.asarray(g.coords), scale, closed=True) for g in geom.geoms) + "]"
    elif kind == "GeometryCollection":
        polygons = [g for g in geom.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
        return encode_geometry(shapely.multipolygons(polygons) if polygons else None, decimals)
    else:
        raise ValueError(f"cannot encode a {kind}")
    return f'{{"type":"{kind}","q":{body}}}'


def decode_geometry(data: dict | None, decimals: int):
    """The shapely geometry of an `encode_geometry` dict (for tests and tools)."""
    if data is None:
        return None
    scale = 10.0 ** decimals

    def ring(flat, closed):
        pts = np.cumsum(np.asarray(flat, dtype=np.int64).reshape(-1, 2), axis=0) / scale
        return pts if closed else np.vstack([pts, pts[:1]])
    q, kind = data["q"], data["type"]
    if kind == "Polygon":
        return shapely.Polygon(ring(q[0], False), [ring(r, False) for r in q[1:]])
    if kind == "MultiPolygon":
        return shapely.MultiPolygon([shapely.Polygon(ring(p[0], False), [ring(r, False) for r in p[1:]]) for p in q])
    if kind == "LineString":
        return shapely.LineString(ring(q, True))
    return shapely.MultiLineString([ring(r, True) for r in q])


def compact_layer(geoms: np.ndarray, columns: dict[str, list], decimals: int, label_points: np.ndarray | None = None) -> str:
    """A layer as compact columnar JSON text: {"decimals", "columns": {name: [value per feature]},
    "geometry": [`encode_geometry` per feature, null when empty], "lp": [x, y integers on the grid
    per feature] (with `label_points`)}. A feature's position is its "i". Decoded into a GeoJSON
    FeatureCollection by static/mz-map/coverage-layer.js (`decode`) and by `decode_layer`.
    Column values are sent as given (escape text first); the whole is `script_safe`."""
    body = json.dumps(columns, ensure_ascii=False, separators=(",", ":"))
    parts = ",".join(encode_geometry(g, decimals) for g in geoms)
    text = f'{{"decimals":{int(decimals)},"columns":{body},"geometry":[{parts}]'
    if label_points is not None:
        q = np.rint(np.column_stack([shapely.get_x(label_points), shapely.get_y(label_points)]) * 10.0 ** decimals)
        text += ',"lp":[' + ",".join(map(str, q.astype(np.int64).ravel().tolist())) + "]"
    return script_safe(text + "}")


def decode_layer(text: str) -> gpd.GeoDataFrame:
    """A `compact_layer` text as a GeoDataFrame (EPSG:4326): its columns, "i", and "lp" as
    (x, y) tuples when sent; for tests and tools."""
    data = json.loads(text)
    decimals = int(data["decimals"])
    frame = pd.DataFrame(data["columns"])
    frame.insert(0, "i", range(len(data["geometry"])))
    if "lp" in data:
        lp = np.asarray(data["lp"], dtype=np.int64).reshape(-1, 2) / 10.0 ** decimals
        frame["lp"] = [tuple(p) for p in lp.tolist()]
    geoms = [decode_geometry(g, decimals) for g in data["geometry"]]
    return gpd.GeoDataFrame(frame, geometry=geoms, crs=4326)


def build_layer(units: gpd.GeoDataFrame, scope: str = "", *, system: str = "wgs84", width_px: int = MAP_WIDTH_PX,
                force_townships: bool = False) -> MapLayer:
    """The layer `choose_view(units, scope)` draws (the townships whatever their number with
    `force_townships`), simplified for its scale (see the module docstring); `system` "gcj02"
    shifts it for 高德 tiles (display only; `units` is not modified)."""
    from geodata.basemaps import to_display  # noqa: PLC0415

    view = choose_view(units, scope)
    if force_townships:
        view = MapView(scope, "township", view.n_units)
    part = units[scope_mask(units, scope)]
    if part.crs is not None and part.crs.to_epsg() != 4326:
        part = part.to_crs(4326)
    merc_bounds = tuple(gpd.GeoSeries([shapely.box(*part.total_bounds)], crs=4326).to_crs(WEB_MERCATOR).total_bounds) \
        if len(part) else (0.0, 0.0, 1.0, 1.0)
    tol = display_tolerance_m(merc_bounds, width_px=width_px)
    decimals = coordinate_decimals(tol)
    outlines = "null"
    if view.draws == "township":
        codes = part["code"].astype(str).to_numpy()
        simple = simplify_for_display(part.geometry, tol, decimals)
        reps = shapely.point_on_surface(simple.to_numpy())
        empty = shapely.is_empty(reps) | pd.isna(reps)
        reps = np.where(empty, shapely.point_on_surface(part.geometry.to_numpy()), reps)
        shown = to_display(simple.to_numpy(), system)
        reps = to_display(reps, system)
        columns = {"unit_code": codes.tolist(), "name": [html.escape(str(n)) for n in part["name"]],
                   "district_name": [html.escape(str(d)) for d in part["district_name"]]}
        geojson = compact_layer(shown, columns, decimals, label_points=reps)
        if part["district_code"].nunique() > 1:
            districts = dissolve_areas(part, part["district_code"])
            outline = to_display(simplify_for_display(districts.geometry, tol, decimals).to_numpy(), system)
            outlines = compact_layer(shapely.boundary(outline), {"district_code": districts["area_code"].tolist()}, decimals)
        label_zoom = _label_zoom(part, width_px)
        vertices_out = int(shapely.get_num_coordinates(shown).sum())
    else:
        keys = area_key(part["district_code"], view.draws)
        areas = dissolve_areas(part, keys)
        codes = areas["area_code"].to_numpy()
        names = area_names(part, view.draws)
        parent_level = {"county": "city", "city": "province", "province": None}[view.draws]
        parents = area_names(part, parent_level) if parent_level and _six_digit(part["district_code"]) else {}
        n_parent = LEVEL_PREFIX.get(parent_level) if parent_level else None
        shown = to_display(simplify_for_display(areas.geometry, tol, decimals).to_numpy(), system)
        columns = {"area_code": [str(c) for c in codes], "name": [html.escape(names.get(c, c)) for c in codes],
                   "parent": [html.escape(parents.get(c[:n_parent], "")) if n_parent else "" for c in codes]}
        geojson = compact_layer(shown, columns, decimals)
        label_zoom = None
        vertices_out = int(shapely.get_num_coordinates(shown).sum())
    minx, miny, maxx, maxy = (float(v) for v in part.total_bounds) if len(part) else (0.0, 0.0, 1.0, 1.0)
    corners = to_display(shapely.points([minx, maxx], [miny, maxy]), system)
    bounds = (float(shapely.get_x(corners[0])), float(shapely.get_y(corners[0])),
              float(shapely.get_x(corners[1])), float(shapely.get_y(corners[1])))
    digest = hashlib.sha1(f"{view.draws}|{scope}|{system}|".encode() + geojson.encode()).hexdigest()[:16]
    return MapLayer(layer_id=digest, kind=view.draws, scope=scope, codes=tuple(str(c) for c in codes), geojson=geojson,
                    outlines=outlines, bounds=bounds, label_zoom=label_zoom,
                    canvas=view.draws != "township" or len(codes) > CANVAS_MIN_FEATURES,
                    vertices_in=int(shapely.get_num_coordinates(part.geometry.to_numpy()).sum()), vertices_out=vertices_out)


def _label_zoom(part: gpd.GeoDataFrame, width_px: int) -> float:
    """Zoom from which a median township is `LABEL_MIN_WIDTH_PX` wide on screen; 0 (always) for
    views of at most `LABEL_ALWAYS_MAX` townships."""
    if len(part) <= LABEL_ALWAYS_MAX:
        return 0.0
    b = part.geometry.to_crs(WEB_MERCATOR).bounds
    width = float(np.median(np.maximum(b["maxx"] - b["minx"], 1.0)))
    return round(math.log2(_EARTH_M * LABEL_MIN_WIDTH_PX / (256 * width)), 2)


__all__ = ["TOWNSHIP_VIEW_MAX", "AREA_VIEW_MAX", "MapView", "MapLayer", "choose_view", "scope_mask", "area_key",
           "area_names", "scope_label", "breadcrumb", "scope_options", "scope_levels", "build_layer",
           "simplify_for_display", "display_tolerance_m", "coordinate_decimals", "dissolve_areas", "compact_layer",
           "encode_geometry", "decode_geometry", "decode_layer", "script_safe"]
