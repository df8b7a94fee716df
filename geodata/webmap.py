"""Folium maps of township coverage that draw with no internet, in Chinese, and stay fast at
province and national scale.

Design (issue 11): the map is sent in two parts, so a click or a change of indicator restyles the
drawn map instead of rebuilding it.
- `map_frame`: everything that does not depend on the indicator or the click: the view's layer
  (`geodata.mapview.build_layer`: townships, or districts / cities above
  `mapview.TOWNSHIP_VIEW_MAX` townships, simplified for the view's scale, coordinates on a 4-6
  decimal grid, cached by the page per dataset and view), district outlines, every facility of
  the view, labels, basemap tiles, controls, an empty legend. Drawn by static/mz-map/
  coverage-layer.js. The page hands it to its map component unchanged from one rerun to the next, and
  Streamlit then sends only a reference to the copy the browser already holds (its ForwardMsg
  cache: identical element messages of 10 kB and more go out as their hash). A new view
  (drill-down, another district or basemap) sends a new frame once.
- `style_payload` / `style_script`: the per-indicator part (fill class of every feature, tooltip
  rows, facility classes shown, legend, planned sites, service areas), a few tens of kB at most,
  handed to the drawn map by a small st.html script (window.__mzMapStyle, then the frame's
  apply function; the frame also looks for it every 200 ms, so the order of arrival is free).
- Rejected: streamlit-folium's `feature_group_to_add` (read in its source: the dynamic layers go
  in the same component arguments as the map, so every change re-sends the whole map, geometry
  included) and rebuilding the folium map each run (what the page did: 2-3 s per click at 1,300
  townships).
- `frame_parts`: the frame as the map component of the pages draws it (static/mz-map/frame/, a
  small Streamlit component in place of streamlit-folium's frame: see its README for why): the
  figure's header, body and script with element names that do not change from run to run.
- Clicks: township and area features answer toGeoJSON with their properties only (no geometry
  goes back to Python); the frame reports them at once, one value per click.
`coverage_map` still builds one self-contained map (the style inside) for exports and tests.

Offline and in Chinese:
- Leaflet, the full-screen control (leaflet.fullscreen) and the map's own script are served from
  the repository (`static/`, Streamlit static serving at /app/static/); every other default CDN
  asset of folium is dropped (`localize_assets`).
- No tile layer by default; a basemap (`geodata.basemaps`: 天地图, 高德 shifted to GCJ-02 for
  display only, OpenStreetMap) is requested only once the planner chooses it, with its
  attribution and 审图号, and a notice on the map when its tiles cannot load.
- Controls speak Chinese: 放大/缩小, 全屏显示, a metric-only scale bar in 米/千米, a compact legend
  that can be collapsed and scrolls within the map, a layer control. Printing fits the map to the
  page. Township labels appear from the zoom at which townships are wide enough for them.
- Facility classes keep one colour each, from the `color` column of `data/facility_classes.csv`
  (`class_colors`; a fixed fallback palette for classes without one).
- Every user-supplied string is HTML-escaped before it reaches a tooltip, the legend or the
  attribution. Raw ids (township code, facility id) are only carried in the GeoJSON properties for
  map clicks (`clicked_selection`), never shown as HTML.
"""
from __future__ import annotations

import hashlib
import html
import json
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, JavascriptLink, MacroElement
from folium.elements import JSCSSMixin
from folium.plugins import Fullscreen
from jinja2 import Template

STATIC_URL = "/app/static"
LEAFLET_DIR = f"{STATIC_URL}/leaflet-1.9.4"
FULLSCREEN_DIR = f"{STATIC_URL}/leaflet.fullscreen-3.0.0"
#: folium asset name -> local copy (see static/README.md for where each file comes from).
LOCAL_JS = {"leaflet": f"{LEAFLET_DIR}/leaflet.js", "Control.Fullscreen.js": f"{FULLSCREEN_DIR}/Control.FullScreen.js"}
LOCAL_CSS = {"leaflet_css": f"{LEAFLET_DIR}/leaflet.css", "Control.FullScreen.css": f"{FULLSCREEN_DIR}/Control.FullScreen.css"}
#: folium's default assets the maps do without (jQuery, Bootstrap, awesome-markers, Font Awesome).
DROPPED_ASSETS = ("jquery", "bootstrap", "awesome_markers", "bootstrap_css", "glyphicons_css",
                  "awesome_markers_font_css", "awesome_markers_css", "awesome_rotate_css")
COVERED_COLOR = "#2e8b57"
UNCOVERED_COLOR = "#e4572e"
OUT_OF_SCOPE_COLOR = "#cfcfcf"
NO_DATA_COLOR = "#e6dfc8"  # neutral: the ledger holds no facility of the class, coverage unknown
STATUS_LABELS = {"covered": "已覆盖", "uncovered": "未覆盖", "out_of_scope": "不计入本指标",
                 "no_data": "台账中无此类设施, 请确认"}
STATUS_COLORS = {"covered": COVERED_COLOR, "uncovered": UNCOVERED_COLOR, "out_of_scope": OUT_OF_SCOPE_COLOR,
                 "no_data": NO_DATA_COLOR}
#: Qualitative palette for facility classes: chosen greedily for the largest smallest CIEDE2000
#: difference (lightness 35-82) among themselves and from white and the township fills above.
#: The first 32 are the `color` column of data/facility_classes.csv, in catalogue order; the rest
#: serve classes added without a colour.
PALETTE = ["#2222ff", "#ff33bb", "#0099ff", "#775500", "#774455", "#66dd00", "#bb9900", "#00ddcc", "#007788",
           "#aa99dd", "#ffaabb", "#998877", "#ffaa66", "#666699", "#aa0011", "#555555", "#aa11aa", "#66ccee",
           "#aa7788", "#ee0055", "#667700", "#99aa77", "#779999", "#aa55ff", "#0066ff", "#ff99ff", "#006655",
           "#888899", "#bb7722", "#cccc55", "#996655", "#55cc88", "#006600", "#994400", "#667766", "#00aa11",
           "#aaccbb", "#ee7777", "#555533", "#bb0066"]
UNKNOWN_CLASS_COLOR = "#000000"
SIMPLIFY_TOLERANCE_DEG = 0.0008  # ~80 m: for display only
#: Printed size of the coverage map (width, height in mm): A4 landscape less 8 mm margins, with room
#: for a title line and a caption. The map page's print CSS gives the map's frame this size.
PRINT_MAP_SIZE_MM = (277, 165)
#: Attribution OpenStreetMap's licence (ODbL 1.0) requires wherever its data is shown.
OSM_ATTRIBUTION = "© OpenStreetMap contributors (ODbL)"
#: Attribute names only OpenStreetMap exports carry (QuickOSM, osmium, ogr2ogr, Overpass turbo, OSMnx).
OSM_ID_COLUMNS = frozenset({"osm_id", "osm_type", "osm_way_id", "osmid", "@id", "@type", "osm_version"})
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


# ------------------------------------------------------------------ assets

def localize_assets(fmap: folium.Map) -> folium.Map:
    """Point every element's JS/CSS at the local copies; drop the CDN assets we do not need.

    Raises ValueError for an element needing an asset we do not serve, so a developer adding a
    plugin notices in the tests instead of the planner seeing a blank map.
    """
    for elem in _walk(fmap):
        for attr, local in (("default_js", LOCAL_JS), ("default_css", LOCAL_CSS)):
            assets = getattr(elem, attr, None)
            if not assets:
                continue
            kept = []
            for name, url in assets:
                if name in local:
                    kept.append((name, local[name]))
                elif name in DROPPED_ASSETS:
                    continue
                elif url.startswith(STATIC_URL):
                    kept.append((name, url))
                else:
                    raise ValueError(f"{type(elem).__name__} needs {url}, which is not served locally")
            setattr(elem, attr, kept)
    return fmap


def _walk(elem):
    yield elem
    for child in getattr(elem, "_children", {}).values():
        yield from _walk(child)


def frame_parts(fmap: folium.Map) -> dict[str, str]:
    """The parts of `fmap`'s page that the map component (static/mz-map/frame/index.html) puts
    in its frame: ``header`` (stylesheets, scripts, styles), ``html`` (the map's element and the
    layers' data), ``script`` (the map's code), ``map_id`` (the global name of the Leaflet map)
    and ``digest`` (of all of them: names the view, so a new view gets a new frame).

    Element names are numbered in tree order instead of folium's random ones, so the same map
    gives the same text on every run: Streamlit then sends the frame as a reference to the copy
    the browser holds, and the map is not redrawn. Renders `fmap` (call once per map)."""
    root = fmap.get_root()
    for i, elem in enumerate(_walk(root)):
        elem._id = f"mz{i}"
    root.render()
    parts = {"header": root.header.render(), "html": root.html.render(), "script": root.script.render(),
             "map_id": fmap.get_name()}
    digest = hashlib.sha1()
    for name in ("header", "html", "script"):
        digest.update(parts[name].encode())
    parts["digest"] = digest.hexdigest()[:20]
    return parts


def display_geometry(units: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """Simplified (coverage-preserving) and rounded geometry, for drawing only."""
    try:
        simple = units.geometry.simplify_coverage(SIMPLIFY_TOLERANCE_DEG)
    except (AttributeError, shapely.errors.GEOSException):
        simple = units.geometry.simplify(SIMPLIFY_TOLERANCE_DEG / 2, preserve_topology=True)
    return gpd.GeoSeries(shapely.set_precision(simple.to_numpy(), 1e-5), index=units.index, crs=units.crs)


# ------------------------------------------------------------------ colours

def class_colors(class_ids: Iterable[str], declared: Mapping[str, object] | None = None) -> dict[str, str]:
    """class_id -> "#rrggbb", stable per class.

    class_ids
        Every class of the catalogue, in catalogue order (not only those drawn), so a class keeps
        its colour whatever else is on the map.
    declared
        class_id -> colour from the catalogue's `color` column. A class without a valid "#rrggbb"
        there, or repeating a colour already taken, gets the first `PALETTE` colour nobody uses.
    """
    ids = list(dict.fromkeys(class_ids))
    declared = declared or {}
    colors: dict[str, str] = {}
    for c in ids:
        value = str(declared.get(c) or "").strip().lower()
        if _HEX.match(value) and value not in colors.values():
            colors[c] = value
    spare = (p for p in PALETTE if p not in set(colors.values()))
    for c in ids:
        if c not in colors:
            colors[c] = next(spare, UNKNOWN_CLASS_COLOR)
    return {c: colors[c] for c in ids}


def catalog_colors(table: pd.DataFrame) -> dict[str, str]:
    """`class_colors` for a class catalogue table (class_id and, when present, color columns)."""
    declared = dict(zip(table["class_id"], table["color"])) if "color" in table.columns else {}
    return class_colors(table["class_id"], declared)


def cielab(color: str) -> tuple[float, float, float]:
    """CIE L*a*b* (D65) of an sRGB "#rrggbb" colour."""
    rgb = [int(color[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    xyz = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047, 0.2126 * r + 0.7152 * g + 0.0722 * b, \
        (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883
    f = [t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116 for t in xyz]
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


def color_difference(a: str | tuple, b: str | tuple) -> float:
    """CIEDE2000 colour difference of two "#rrggbb" colours (or L*a*b* triples); about 2 is a
    just-noticeable difference, above 10 two colours read as different at a glance."""
    (l1, a1, b1), (l2, a2, b2) = (cielab(x) if isinstance(x, str) else x for x in (a, b))
    c_bar = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(c_bar ** 7 / (c_bar ** 7 + 25 ** 7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1p, h2p = (math.degrees(math.atan2(b, a)) % 360 if c else 0.0 for a, b, c in ((a1p, b1, c1p), (a2p, b2, c2p)))
    dh = 0.0 if c1p * c2p == 0 else (h2p - h1p + 180) % 360 - 180
    d_l, d_c, d_h = l2 - l1, c2p - c1p, 2 * math.sqrt(c1p * c2p) * math.sin(math.radians(dh / 2))
    l_bar, cp_bar = (l1 + l2) / 2, (c1p + c2p) / 2
    if c1p * c2p == 0:
        h_bar = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        h_bar = (h1p + h2p) / 2
    else:
        h_bar = (h1p + h2p + 360) / 2 if h1p + h2p < 360 else (h1p + h2p - 360) / 2
    t = (1 - 0.17 * math.cos(math.radians(h_bar - 30)) + 0.24 * math.cos(math.radians(2 * h_bar))
         + 0.32 * math.cos(math.radians(3 * h_bar + 6)) - 0.20 * math.cos(math.radians(4 * h_bar - 63)))
    s_l = 1 + 0.015 * (l_bar - 50) ** 2 / math.sqrt(20 + (l_bar - 50) ** 2)
    s_c, s_h = 1 + 0.045 * cp_bar, 1 + 0.015 * cp_bar * t
    r_t = -math.sin(math.radians(60 * math.exp(-(((h_bar - 275) / 25) ** 2)))) * 2 * math.sqrt(cp_bar ** 7 / (cp_bar ** 7 + 25 ** 7))
    return math.sqrt((d_l / s_l) ** 2 + (d_c / s_c) ** 2 + (d_h / s_h) ** 2 + r_t * (d_c / s_c) * (d_h / s_h))


# ------------------------------------------------------------------ attribution

def is_osm_layer(unit_report: Mapping | None, columns: Iterable[str] = ()) -> bool:
    """Whether the township layer comes from OpenStreetMap, which then has to be credited.

    The rule, on what the reader recorded (`geodata.io.ReadReport.as_dict`, with the saved
    workspace's source record merged in by `pages._shared.dataset`) and the layer's own columns:

    - the file name contains "openstreetmap", or "osm" as a word of its own ("qingdao-osm.geojson",
      "OSM乡镇.shp"; not "cosmos.shp");
    - an attribute only OpenStreetMap exports carry (`OSM_ID_COLUMNS`, or any name starting "osm_")
      is among the columns the file offered (`columns_available`), the columns used, or `columns`;
    - a note of the report mentions OpenStreetMap.
    """
    report = unit_report or {}
    filename = str(report.get("filename") or "").lower()
    if "openstreetmap" in filename or re.search(r"(?<![a-z])osm(?![a-z])", filename):
        return True
    used = report.get("columns_used") or {}
    names = [*(report.get("columns_available") or []), *(used.values() if isinstance(used, Mapping) else []), *columns]
    if any(str(n).strip().lower() in OSM_ID_COLUMNS or str(n).strip().lower().startswith("osm_") for n in names):
        return True
    return any("openstreetmap" in str(note).lower() for note in report.get("notes") or [])


def boundary_attribution(unit_report: Mapping | None, columns: Iterable[str] = ()) -> str | None:
    """The map's attribution line for the township layer: OpenStreetMap's when `is_osm_layer`."""
    return f"乡镇边界 {OSM_ATTRIBUTION}" if is_osm_layer(unit_report, columns) else None


# ------------------------------------------------------------------ map clicks

@dataclass(frozen=True)
class MapSelection:
    """What the planner last clicked on the map: a township (`key` = its code), a facility
    (`key` = its facility_id) or, on a district / city view, an area (`key` = its code: the scope
    to drill down to)."""

    kind: Literal["unit", "facility", "area"]
    key: str


def clicked_selection(event: dict | None) -> MapSelection | None:
    """The township or facility last clicked, from the map component's value
    (`returned_objects=["last_active_drawing"]`): facility markers carry `facility_id`, township
    polygons `unit_code`, district / city polygons `area_code` in their properties; anything else
    (district outlines, nothing) is None."""
    feature = (event or {}).get("last_active_drawing") or {}
    props = feature.get("properties") or {}
    for kind, prop in (("facility", "facility_id"), ("unit", "unit_code"), ("area", "area_code")):
        value = props.get(prop)
        if value is not None and str(value) != "":
            return MapSelection(kind, str(value))
    return None


def clicked_unit_code(event: dict | None) -> str | None:
    """The township code of the polygon last clicked on the map (the map component's value)."""
    selection = clicked_selection(event)
    return selection.key if selection and selection.kind == "unit" else None


def clicked_area_code(event: dict | None) -> str | None:
    """The code of the district / city polygon last clicked (the scope to drill down to), or None."""
    selection = clicked_selection(event)
    return selection.key if selection and selection.kind == "area" else None


def clicked_facility_id(event: dict | None) -> str | None:
    """The facility_id of the marker last clicked on the map (the map component's value)."""
    selection = clicked_selection(event)
    return selection.key if selection and selection.kind == "facility" else None


# ------------------------------------------------------------------ maps

PLANNED_LABEL = "规划"
SERVICE_AREA_COLOR = "#3b6fb6"
#: Township fill classes, in the order of the style's class string ("0" = covered, ...).
STATUS_KEYS = ("covered", "uncovered", "out_of_scope", "no_data")
#: District / city fills relative to the indicator's target (rate / target), best first.
#: Colours: at least 20 apart (CIEDE2000) from each other and from the two greys.
RATE_CLASSES = (("met", "达标", COVERED_COLOR), ("near", "接近目标(差距不到四分之一)", "#fdd049"),
                ("mid", "差距较大", "#fc8d59"), ("far", "差距很大(不到目标一半)", "#d7301f"),
                ("out_of_scope", "不计入本指标", OUT_OF_SCOPE_COLOR), ("no_data", "台账中无此类设施, 请确认", NO_DATA_COLOR))
#: Without a target rate, the district rate alone: at least 80 % / 50 % / 20 % / below.
PLAIN_RATE_BREAKS = (0.8, 0.5, 0.2)
COVERAGE_JS = f"{STATIC_URL}/mz-map/coverage-layer.js"
#: Decimals of degrees of facility positions sent to the map (5: ~1 m).
FACILITY_DECIMALS = 5
#: More facility markers than this draw on a canvas (with the townships: one canvas takes the clicks).
CANVAS_MIN_POINTS = 1500
#: Chinese words of the map's tooltips and layer control.
HEADS = {"township": {"name": "乡镇(街道)", "parent": "所属区县"}, "county": {"name": "区县", "parent": "所属市"},
         "city": {"name": "市(州)", "parent": "所属省份"}, "province": {"name": "省(区、市)", "parent": ""}}
OFFLINE_MESSAGE = ("底图「{label}」无法加载: 本机可能无法访问互联网{key}。乡镇与设施照常显示; "
                   "可在「底图」中改为「无(离线)」。")


class _Memo:
    """The values of the last `size` keys computed, shared by every session (sessions run on threads
    of their own; a value may be computed twice by two threads at once, never wrongly)."""

    def __init__(self, size: int) -> None:
        self.size, self.items, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key: str, compute):
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        value = compute()
        with self.lock:
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return value


#: How many facility texts `facility_collection` remembers (a few views of a few pages).
FACILITY_TEXT_MEMO = 16
_FACILITY_TEXTS = _Memo(FACILITY_TEXT_MEMO)


def facility_collection(facilities: pd.DataFrame, class_names: Mapping[str, str], palette: Mapping[str, str], *,
                        system: str = "wgs84") -> str | None:
    """`facility_text`, remembered for the last `FACILITY_TEXT_MEMO` inputs (by a digest of the
    columns it reads: a map page asks for the same markers on every run)."""
    cols = [c for c in ("facility_id", "name", "facility_class", "lon", "lat", "operating_status") if c in facilities]
    digest = hashlib.sha1(pd.util.hash_pandas_object(facilities[cols], index=False).to_numpy().tobytes())
    digest.update(json.dumps([cols, sorted(map(str, class_names.items())), sorted(map(str, palette.items())), system],
                             ensure_ascii=False).encode())
    return _FACILITY_TEXTS.get(digest.hexdigest(), lambda: facility_text(facilities, class_names, palette, system=system))


def facility_text(facilities: pd.DataFrame, class_names: Mapping[str, str], palette: Mapping[str, str], *,
                  system: str = "wgs84") -> str | None:
    """The facility markers as compact columnar JSON text, or None when no facility has
    coordinates: {"classes": [{id, escaped name, colour}], "states": [escaped operating status],
    "facility_id": [...], "name": [escaped], "c": [index into classes], "s": [index into states],
    "decimals", "xy": [x, y, ...] integers of 10^-decimals degrees (`FACILITY_DECIMALS`), shifted
    for `system`}. Decoded by static/mz-map/coverage-layer.js (markers made per class when first
    shown) and by `decode_facilities`."""
    from geodata.basemaps import lonlat_to_display  # noqa: PLC0415
    from geodata.mapview import script_safe  # noqa: PLC0415

    pts = facilities.dropna(subset=["lon", "lat"])
    if not len(pts):
        return None
    lon, lat = lonlat_to_display(pts["lon"].to_numpy(float), pts["lat"].to_numpy(float), system)
    state = pts["operating_status"] if "operating_status" in pts else pd.Series("", index=pts.index)
    state = state.fillna("").astype(str).replace("", "—")
    cls = pts["facility_class"].fillna("").astype(str)
    class_ids, class_index = np.unique(cls.to_numpy(), return_inverse=True)
    state_ids, state_index = np.unique(state.to_numpy(), return_inverse=True)
    classes = [{"id": c, "name": html.escape(str(class_names.get(c, "未识别类别"))), "color": palette.get(c, UNKNOWN_CLASS_COLOR)}
               for c in class_ids]
    xy = np.rint(np.column_stack([lon, lat]) * 10 ** FACILITY_DECIMALS).astype(np.int64)
    data = {"decimals": FACILITY_DECIMALS, "classes": classes, "states": [html.escape(s) for s in state_ids],
            "facility_id": pts["facility_id"].astype(str).tolist(), "name": [html.escape(n) for n in pts["name"].astype(str)],
            "c": class_index.tolist(), "s": state_index.tolist(), "xy": xy.ravel().tolist()}
    return script_safe(json.dumps(data, ensure_ascii=False, separators=(",", ":")))


def decode_facilities(text: str) -> pd.DataFrame:
    """A `facility_collection` text as a table: facility_id, name, facility_class, class_name,
    color, operating_status, lon, lat (display system); for tests and tools."""
    data = json.loads(text)
    xy = np.asarray(data["xy"], dtype=np.int64).reshape(-1, 2) / 10 ** int(data["decimals"])
    kinds = data["classes"]
    return pd.DataFrame({"facility_id": data["facility_id"], "name": data["name"],
                         "facility_class": [kinds[c]["id"] for c in data["c"]],
                         "class_name": [kinds[c]["name"] for c in data["c"]], "color": [kinds[c]["color"] for c in data["c"]],
                         "operating_status": [data["states"][i] for i in data["s"]], "lon": xy[:, 0], "lat": xy[:, 1]})


def map_frame(layer, facilities: pd.DataFrame | None = None, *, class_names: Mapping[str, str], map_key: str,
              colors: Mapping[str, str] | None = None, basemap=None, tile_key: str | None = None, height: int = 600,
              attribution: str | None = None, print_size_mm: tuple[float, float] | None = PRINT_MAP_SIZE_MM,
              planned_layer: bool = False, inline_style: dict | None = None) -> folium.Map:
    """The part of the coverage map that stays while the planner clicks and changes indicators:
    the view's layer (`geodata.mapview.MapLayer`, geometry sent once), district outlines, all
    facilities of the view (shown per style), labels, basemap tiles, controls, an empty legend.
    Nothing in it depends on the indicator, so Streamlit re-sends none of it on a rerun (an
    identical element goes out as a reference to the copy the browser holds).

    facilities
        facility_id, name, facility_class, lon, lat (WGS84) and, when present, operating_status of
        every facility to draw in the view, whatever the indicator; None for area views.
    map_key
        Names the map for its style (`style_script(map_key, ...)`); one per page.
    basemap, tile_key
        A `geodata.basemaps.Basemap` (None or "none": no tiles, nothing requested) and its key.
    inline_style
        A `style_payload` applied when the map loads (a self-contained map, as `coverage_map`).
    """
    return _build_frame(_frame_spec(layer, facilities, class_names=class_names, map_key=map_key, colors=colors,
                                    basemap=basemap, tile_key=tile_key, height=height, attribution=attribution,
                                    print_size_mm=print_size_mm, planned_layer=planned_layer, inline_style=inline_style))


#: Frame parts remembered (`map_frame_parts`): a few views per page and session are revisited.
FRAME_PARTS_MEMO = 16
_FRAME_PARTS = _Memo(FRAME_PARTS_MEMO)


def map_frame_parts(layer, facilities: pd.DataFrame | None = None, **options) -> dict[str, str]:
    """`frame_parts(map_frame(layer, facilities, **options))`, remembered for the last
    `FRAME_PARTS_MEMO` maps by a digest of what the frame is made of (its options and data text):
    a map page asks for the same frame on every run, and building and rendering the folium figure
    is most of the frame's cost."""
    spec = _frame_spec(layer, facilities, **options)
    digest = hashlib.sha1(json.dumps({k: v for k, v in spec.items() if k != "data"}, sort_keys=True, default=str).encode())
    digest.update(spec["data"].encode())
    return dict(_FRAME_PARTS.get(digest.hexdigest(), lambda: frame_parts(_build_frame(spec))))


def _frame_spec(layer, facilities: pd.DataFrame | None = None, *, class_names: Mapping[str, str], map_key: str,
                colors: Mapping[str, str] | None = None, basemap=None, tile_key: str | None = None, height: int = 600,
                attribution: str | None = None, print_size_mm: tuple[float, float] | None = PRINT_MAP_SIZE_MM,
                planned_layer: bool = False, inline_style: dict | None = None) -> dict:
    """What `map_frame` draws, as plain values: bounds, height, attribution, canvas, print size, the
    layer script's options (script-safe JSON) and the layers' data (JSON text)."""
    from geodata.basemaps import tile_urls  # noqa: PLC0415
    from geodata.mapview import script_safe  # noqa: PLC0415

    n_points = 0 if facilities is None else int(facilities[["lon", "lat"]].notna().all(axis=1).sum())
    canvas = bool(layer.canvas or n_points > CANVAS_MIN_POINTS)
    palette = dict(colors) if colors else class_colors(class_names)
    points = facility_collection(facilities, class_names, palette, system=getattr(basemap, "system", "wgs84")) \
        if facilities is not None and len(facilities) else None
    tiles = []
    if basemap is not None and basemap.tiles:
        tiles = [{"url": url, "subdomains": t.subdomains, "maxZoom": t.max_zoom, "attribution": html.escape(basemap.attribution_text)}
                 for t, url in zip(basemap.tiles, tile_urls(basemap, tile_key))]
    heads = HEADS[layer.kind] | {"hint": "点击进入其乡镇(街道)", "layer": "乡镇(街道)" if layer.kind == "township" else "区域",
                                 "outlines": "区县界线", "facilities": "设施", "facility": "设施", "facilityClass": "类别",
                                 "facilityState": "状态", "labels": "乡镇名称", "service": "服务半径", "layers": "图层"}
    if planned_layer:
        heads["planned"] = "规划点位"
    small = {"key": map_key, "layerId": layer.layer_id, "kind": layer.kind, "canvas": canvas,
             "labelZoom": layer.label_zoom, "neutral": OUT_OF_SCOPE_COLOR, "heads": heads, "tiles": tiles,
             "planned": bool(planned_layer),
             "offlineMessage": html.escape(OFFLINE_MESSAGE.format(label=getattr(basemap, "label", ""),
                                                                  key="(或密钥无效)" if getattr(basemap, "key_secret", "") else "")),
             "inline": inline_style}
    options = script_safe(json.dumps(small, ensure_ascii=False, separators=(",", ":")))
    data = f'{{"data":{layer.geojson},"outlines":{layer.outlines},"facilities":{points or "null"}}}'
    return {"bounds": tuple(layer.bounds), "height": height, "attribution": attribution, "canvas": canvas,
            "print_size_mm": print_size_mm, "options": options, "data": data}


def _build_frame(spec: dict) -> folium.Map:
    fmap = _base_map(spec["bounds"], spec["height"], attribution=spec["attribution"], canvas=spec["canvas"])
    fmap.add_child(_Legend(""))
    # the fit to the area first, on the empty map: the layers are then projected and drawn once
    fmap.add_child(_Behaviour(spec["bounds"], spec["print_size_mm"]))
    fmap.add_child(_CoverageLayer(spec["options"], spec["data"]))
    return localize_assets(fmap)


def style_payload(layer, *, indicator: str, unit_status: pd.Series | None = None,
                  district_rows: pd.DataFrame | None = None, facilities_by_unit: Mapping[str, list[str]] | None = None,
                  facilities: pd.DataFrame | None = None, visible_classes: Iterable[str] | None = None,
                  class_names: Mapping[str, str], colors: Mapping[str, str] | None = None,
                  planned: pd.DataFrame | None = None, service_area: gpd.GeoDataFrame | None = None,
                  system: str = "wgs84") -> dict:
    """The per-indicator part of the map (small: no geometry of the township layer): fill class of
    every feature of `layer` by position, tooltip rows, facility classes to show, legend HTML,
    planned sites and service areas (both in the display `system`). Every user string is escaped.

    unit_status
        Township views: code -> "covered" / "uncovered" / "out_of_scope" / "no_data"
        (`coverage.evaluate.unit_statuses`); codes not in it are out of scope.
    district_rows
        Area views: the indicator's rows of `CoverageResult.coverage` per district (district_code,
        units_total, units_covered, target_rate, no_data); cities and provinces add them up.
    facilities_by_unit
        Township code -> names of the indicator's facilities there (the tooltip's 设施 row).
    facilities, visible_classes
        The facilities in the layer (for the legend) and the classes to show (None: all).
    """
    palette = dict(colors) if colors else class_colors(class_names)
    if layer.kind == "township":
        style = _township_style(layer, unit_status if unit_status is not None else pd.Series(dtype=object),
                                facilities_by_unit or {})
        title = indicator
    else:
        style = _area_style(layer, district_rows)
        title = f"{indicator} · 各{HEADS[layer.kind]['name']}覆盖率"
    visible = None if visible_classes is None else sorted({str(c) for c in visible_classes})
    drawn = set() if facilities is None or not len(facilities) else set(map(str, facilities["facility_class"].dropna().unique()))
    if visible is not None:
        drawn &= set(visible)
    sites = _planned_sites(planned, class_names, palette, system) if planned is not None else []
    service, service_label = _service(service_area, system) if service_area is not None and len(service_area) else (None, None)
    areas = style.pop("legend_areas") + ([(service_label, SERVICE_AREA_COLOR)] if service_label else [])
    points = [(class_names[c], palette.get(c, UNKNOWN_CLASS_COLOR)) for c in class_names if c in drawn]
    return style | {"layer": layer.layer_id, "classes": visible, "planned": sites, "service": service,
                    "legend": _legend_html(title, areas, points, planned=len(sites) if planned is not None else 0)}


def names_by_unit(facilities: pd.DataFrame) -> dict[str, list[str]]:
    """Township code -> names of `facilities` there, in table order (`style_payload`'s
    `facilities_by_unit`); one pass, not a group-by with a Python call per township."""
    out: dict[str, list[str]] = {}
    for code, name in zip(facilities["unit_code"].tolist(), facilities["name"].tolist()):
        out.setdefault(code, []).append(name)
    return out


def style_script(map_key: str, payload: dict, seq: int = 0) -> str:
    """A <script> (for `st.html(..., unsafe_allow_javascript=True)`) handing `payload` to the map
    named `map_key`: kept in the page (window.__mzMapStyle) for the map to pick up when it loads,
    and applied at once to the map already drawn. No geometry of the township layer is in it.

    seq
        Increases with every run of the page: the script text differs each run (so the browser
        runs it each time), and a late run of an older script never replaces a newer style.
        The payload's "id" (a digest of its content) lets the map skip re-applying the same style.
    """
    from geodata.mapview import script_safe  # noqa: PLC0415

    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha1(body.encode()).hexdigest()[:16]
    data = script_safe(f'{{"key":{json.dumps(map_key)},"seq":{int(seq)},"id":"{digest}","style":{body}}}')
    # No "<" followed by a letter, "/" or "!" in the code: Streamlit's sanitiser (DOMPurify) drops
    # a script whose text looks like markup.
    return ("<script>(function(){var d=" + data + ";var w=window;w.__mzMapStyle=w.__mzMapStyle||{};"
            "var old=w.__mzMapStyle[d.key];if(old&&old.seq>d.seq){return;}"
            "d.style.seq=d.seq;d.style.id=d.id;w.__mzMapStyle[d.key]=d.style;"
            "document.querySelectorAll('iframe').forEach(function(f){"
            "try{var c=f.contentWindow;if(c&&c.__mzMapKey===d.key&&c.__mzApplyStyle){c.__mzApplyStyle(d.style);}}"
            "catch(e){}});})();</script>")


def _township_style(layer, status: pd.Series, by_unit: Mapping[str, list[str]]) -> dict:
    keys = pd.Series(status[~status.index.duplicated()].reindex(list(layer.codes)).to_numpy(dtype=object), dtype=object)
    keys = keys.where(keys.isin(STATUS_KEYS), "out_of_scope")
    index = {k: i for i, k in enumerate(STATUS_KEYS)}
    rows = {str(i): [["设施", html.escape(_names_list(by_unit[c]))]] for i, c in enumerate(layer.codes) if by_unit.get(c)}
    counts = keys.value_counts()
    return {"cls": "".join(str(index[k]) for k in keys), "colors": [STATUS_COLORS[k] for k in STATUS_KEYS],
            "labels": [STATUS_LABELS[k] for k in STATUS_KEYS], "rowLabel": "本指标", "rows": rows,
            "defaultRows": [["设施", "无"]],
            "legend_areas": [(f"{STATUS_LABELS[k]} ({counts[k]})", STATUS_COLORS[k]) for k in STATUS_LABELS if k in counts]}


def area_rates(layer, district_rows: pd.DataFrame | None) -> pd.DataFrame:
    """Per feature of an area layer: covered, total, rate, target_rate, needed (ceil(target x
    total) - covered), no_data; districts as computed, cities and provinces summed over districts."""
    import math  # noqa: PLC0415

    from geodata.mapview import LEVEL_PREFIX  # noqa: PLC0415

    rows = district_rows if district_rows is not None else pd.DataFrame(
        columns=["district_code", "units_total", "units_covered", "target_rate", "no_data"])
    codes = rows["district_code"].astype(str)
    n = LEVEL_PREFIX.get(layer.kind)
    key = codes if n is None else codes.str[:n]
    grouped = pd.DataFrame({"key": key.to_numpy(), "total": pd.to_numeric(rows["units_total"]).fillna(0).to_numpy(),
                            "covered": pd.to_numeric(rows["units_covered"]).fillna(0).to_numpy(),
                            "no_data": rows["no_data"].astype(bool).to_numpy()}).groupby("key").agg(
        total=("total", "sum"), covered=("covered", "sum"), no_data=("no_data", "all"))
    target = pd.to_numeric(rows["target_rate"], errors="coerce").dropna()
    target_rate = float(target.iloc[0]) if len(target) else float("nan")
    out = grouped.reindex(list(layer.codes))
    out["total"] = out["total"].fillna(0).astype(int)
    out["covered"] = out["covered"].fillna(0).astype(int)
    out["no_data"] = out["no_data"].fillna(False).astype(bool)
    out["rate"] = (out["covered"] / out["total"].where(out["total"] > 0)).astype(float)
    out["target_rate"] = target_rate
    out["needed"] = [max(0, math.ceil(target_rate * t - 1e-9) - c) if t and target_rate == target_rate else 0
                     for t, c in zip(out["total"], out["covered"])]
    return out.rename_axis("area_code").reset_index()


def _rate_class(rate: float, target: float, total: int, no_data: bool) -> str:
    if no_data and total:
        return "no_data"
    if not total or rate != rate:
        return "out_of_scope"
    if target == target and target > 0:
        share = rate / target
        return "met" if share >= 1 - 1e-9 else "near" if share >= 0.75 else "mid" if share >= 0.5 else "far"
    return "met" if rate >= PLAIN_RATE_BREAKS[0] else "near" if rate >= PLAIN_RATE_BREAKS[1] else \
        "mid" if rate >= PLAIN_RATE_BREAKS[2] else "far"


def _area_style(layer, district_rows: pd.DataFrame | None) -> dict:
    rates = area_rates(layer, district_rows)
    target = float(rates["target_rate"].iloc[0]) if len(rates) else float("nan")
    keys = [_rate_class(r, target, t, nd) for r, t, nd in zip(rates["rate"], rates["total"], rates["no_data"])]
    order = [k for k, _, _ in RATE_CLASSES]
    rows = {}
    for i, (r, t, c, need) in enumerate(zip(rates["rate"], rates["total"], rates["covered"], rates["needed"])):
        if not t:
            continue
        cells = [["覆盖情况", f"{c} / {t}({r * 100:.1f}%)"]]
        if target == target:
            cells.append(["目标", f"{target * 100:.0f}%" + ("" if need == 0 else f", 还需 {need} 个")])
        rows[str(i)] = cells
    labels = dict((k, label) for k, label, _ in RATE_CLASSES)
    if target != target:
        labels |= {"met": "≥80%", "near": "50%-80%", "mid": "20%-50%", "far": "<20%"}
    counts = pd.Series(keys, dtype=object).value_counts()
    return {"cls": "".join(str(order.index(k)) for k in keys), "colors": [c for _, _, c in RATE_CLASSES],
            "labels": [labels[k] for k in order], "rowLabel": "本指标", "rows": rows, "defaultRows": [],
            "legend_areas": [(f"{labels[k]} ({counts[k]})", c) for k, _, c in RATE_CLASSES if k in counts]}


def _planned_icon(color: str) -> str:
    """A hollow diamond in `color` (a "#rrggbb" from the palette), white-haloed to read on any fill."""
    return (f'<div class="mz-planned" style="width:11px;height:11px;margin:2px;transform:rotate(45deg);'
            f'background:rgba(255,255,255,0.85);border:3px solid {html.escape(color)};box-shadow:0 0 0 1px #fff,0 0 3px #000;"></div>')


def _planned_sites(planned: pd.DataFrame, class_names: Mapping[str, str], palette: Mapping[str, str], system: str) -> list[dict]:
    """Planned sites with coordinates: position (display system), diamond HTML, tooltip (规划 + name, class)."""
    from geodata.basemaps import lonlat_to_display  # noqa: PLC0415

    sites = planned.dropna(subset=["lon", "lat"])
    lon, lat = lonlat_to_display(sites["lon"].to_numpy(float), sites["lat"].to_numpy(float), system)
    out = []
    for s, x, y in zip(sites.itertuples(index=False), lon, lat):
        color = palette.get(s.facility_class, UNKNOWN_CLASS_COLOR)
        label = class_names.get(s.facility_class, "未识别类别")
        out.append({"lat": round(float(y), 5), "lng": round(float(x), 5), "html": _planned_icon(color),
                    "tip": f"<b>{PLANNED_LABEL}</b> {html.escape(str(s.name))}<br>类别: {html.escape(str(label))}"})
    return out


def _service(areas: gpd.GeoDataFrame, system: str) -> tuple[dict, str]:
    """The service-area layer (dissolved circles of `coverage.access.service_areas`) for the style,
    and its legend label ("服务半径 5 千米(直线距离)")."""
    from geodata.basemaps import to_display  # noqa: PLC0415

    radius_km = float(areas["radius_m"].iloc[0]) / 1000 if "radius_m" in areas else float("nan")
    label = f"服务半径 {radius_km:g} 千米(直线距离)"
    geoms = areas.geometry if areas.crs is None or areas.crs.to_epsg() == 4326 else areas.to_crs(4326).geometry
    shapes = to_display(shapely.set_precision(geoms.to_numpy(), 1e-5), system)
    data = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": json.loads(g)} for g in shapely.to_geojson(shapes) if g]}
    return {"data": data, "color": SERVICE_AREA_COLOR}, label


def coverage_map(
    units: gpd.GeoDataFrame,
    unit_status: pd.Series,
    facilities: pd.DataFrame,
    *,
    class_names: dict[str, str],
    indicator: str,
    facilities_by_unit: dict[str, list[str]] | None = None,
    height: int = 600,
    colors: Mapping[str, str] | None = None,
    attribution: str | None = None,
    print_size_mm: tuple[float, float] | None = PRINT_MAP_SIZE_MM,
    planned: pd.DataFrame | None = None,
    service_area: gpd.GeoDataFrame | None = None,
    basemap=None,
    tile_key: str | None = None,
) -> folium.Map:
    """A self-contained coverage map of every township in `units` (no view logic, the style
    inside): the stable map of `map_frame` with the `style_payload` applied when it loads. For
    pages that rebuild the map anyway, exports and tests; the map page sends them apart instead.

    units
        code, name, district_code, district_name, geometry (EPSG:4326).
    unit_status
        Per unit code: "covered", "uncovered", "out_of_scope" or "no_data" (the ledger holds no
        facility of the class: drawn neutral, never as uncovered).
    facilities
        facility_id, name, facility_class, lon, lat and, when present, operating_status (only the
        rows to draw). Clicking a marker returns its facility_id (`clicked_selection`).
    planned
        Planned sites of a scenario (name, facility_class, lon, lat WGS84): drawn on top as hollow
        diamonds in the class colour (layer 规划点位), "规划" in their tooltips. None: no such layer.
    """
    from geodata.mapview import build_layer  # noqa: PLC0415

    system = getattr(basemap, "system", "wgs84")
    layer = build_layer(units, "", system=system, force_townships=True)
    style = style_payload(layer, indicator=indicator, unit_status=unit_status, facilities_by_unit=facilities_by_unit,
                          facilities=facilities, class_names=class_names, colors=colors, planned=planned,
                          service_area=service_area, system=system)
    return map_frame(layer, facilities, class_names=class_names, map_key="coverage_map", colors=colors, basemap=basemap,
                     tile_key=tile_key, height=height, attribution=attribution, print_size_mm=print_size_mm,
                     planned_layer=planned is not None, inline_style=style)


def _names_list(names: list[str], limit: int = 8) -> str:
    if not names:
        return "无"
    more = f" 等 {len(names)} 个" if len(names) > limit else ""
    return "、".join(map(str, names[:limit])) + more


def _tooltip(fields: list[str], aliases: list[str], *, sticky: bool) -> folium.GeoJsonTooltip:
    """Tooltips placed on the side with room (direction auto), width-bounded, kept inside the map
    and closed by a click (`_Behaviour`)."""
    return folium.GeoJsonTooltip(fields=fields, aliases=aliases, sticky=sticky, direction="auto", class_name="mz-tip")


def _base_map(bounds, height: int, *, attribution: str | None = None, canvas: bool = False) -> folium.Map:
    """Blank map fitted to `bounds` (minx, miny, maxx, maxy in degrees) with the Chinese zoom
    buttons, full-screen button, metric scale bar and the attribution line; `canvas` draws vector
    layers on a canvas (faster than SVG beyond ~1,000 shapes)."""
    fmap = folium.Map(tiles=None, prefer_canvas=canvas, control_scale=False, zoom_control=False, zoom_snap=0.25,
                      height=height)
    minx, miny, maxx, maxy = bounds
    fmap.fit_bounds([[miny, minx], [maxy, maxx]])
    fmap.add_child(_Controls(attribution))
    Fullscreen(position="topleft", title="全屏显示", title_cancel="退出全屏", force_separate_button=True).add_to(fmap)
    return fmap


class _CoverageLayer(JSCSSMixin):
    """The view's layers, drawn by static/mz-map/coverage-layer.js (`MzCoverage.create`) from
    small options (a JS object literal whose strings are escaped and script-safe) and the layers'
    data: script-safe JSON text in a <script type="application/json"> element of the page's body,
    named in the options ("dataId", a digest of the data, so it is the same from run to run).

    The data is not in the script: the browser would parse it as code instead of as JSON (and
    streamlit-folium, for maps it draws, dedents, searches and hashes the script, ~0.1 s per MB)."""

    _template = Template("""
{% macro header(this, kwargs) %}
<style>
  .mz-label span { position: absolute; transform: translate(-50%, -50%); white-space: nowrap; font: 11px/1.2 "Noto Sans CJK SC",
                   "Microsoft YaHei", sans-serif; color: #1a1a1a; text-shadow: 0 0 2px #fff, 0 0 2px #fff, 0 0 3px #fff; }
  .leaflet-tooltip.mz-tip .mz-hint { color: #555; margin-top: 2px; }
  .mz-offline { background: rgba(255,248,225,0.96); border: 1px solid #d9a400; border-radius: 4px; padding: 5px 8px;
                max-width: 260px; font: 12px/1.4 "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; color: #3a2f00; }
  @media print { .mz-offline { display: none !important; } }
</style>
{% endmacro %}
{% macro script(this, kwargs) %}
MzCoverage.create({{ this._parent.get_name() }}, {{ this.options }});
{% endmacro %}
""")
    default_js = [("mz_coverage_layer", COVERAGE_JS)]

    def __init__(self, options: str, data: str) -> None:
        super().__init__()
        self._name = "MzCoverageLayer"
        self.data_id = "mz-data-" + hashlib.sha1(data.encode()).hexdigest()[:20]
        self.options = options[:-1] + f',"dataId":"{self.data_id}"}}'
        self.data = data

    def render(self, **kwargs) -> None:
        """As `JSCSSMixin.render`, plus the data element; the script and the data are added to the
        page as text: branca would compile them as Jinja templates (~0.2 s per MB)."""
        figure = self.get_root()
        for name, url in self.default_js:
            figure.header.add_child(JavascriptLink(url), name=name)
        module = self._template.module
        figure.header.add_child(Element(module.header(self, kwargs)), name=self.get_name())
        figure.html.add_child(_Text(f'\n<script type="application/json" id="{self.data_id}">{self.data}</script>\n'),
                              name=self.get_name() + "_data")
        figure.script.add_child(_Text(module.script(self, kwargs)), name=self.get_name())


class _Text(Element):
    """Text added to a page as is (no template)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def render(self, **kwargs) -> str:
        return self.text


class _Controls(MacroElement):
    """Zoom buttons titled 放大/缩小, a metric-only scale bar in 米/千米, the attribution line."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function (map) {
  L.control.zoom({position: 'topleft', zoomInTitle: '放大', zoomOutTitle: '缩小'}).addTo(map);
  var Scale = L.Control.Scale.extend({
    _updateMetric: function (maxMeters) {
      var meters = this._getRoundNum(maxMeters);
      this._updateScale(this._mScale, meters < 1000 ? meters + ' 米' : (meters / 1000) + ' 千米', meters / maxMeters);
    }
  });
  new Scale({position: 'bottomleft', metric: true, imperial: false, maxWidth: 140}).addTo(map);
  if (map.attributionControl) {
    map.attributionControl.setPrefix('Leaflet');
    {% if this.attribution %}map.attributionControl.addAttribution({{ this.attribution|tojson }});{% endif %}
  }
})({{ this._parent.get_name() }});
{% endmacro %}
""")

    def __init__(self, attribution: str | None) -> None:
        super().__init__()
        self._name = "MzControls"
        self.attribution = html.escape(attribution) if attribution else ""


class _Behaviour(MacroElement):
    """Tooltips kept inside the map and closed by a click; Chinese title of the layer button; the
    map refitted to its area when printed. With `print_size_mm` (width, height) the map's frame
    takes that size for printing (the page's print CSS must give it the same, see
    `PRINT_MAP_SIZE_MM`); the screen view comes back after printing."""

    _template = Template("""
{% macro header(this, kwargs) %}
<style>
  .leaflet-tooltip.mz-tip { white-space: normal; width: max-content; max-width: min(300px, 45vw); }
  .leaflet-tooltip.mz-tip table { border-collapse: collapse; }
  .leaflet-tooltip.mz-tip th { text-align: left; padding-right: 6px; white-space: nowrap; vertical-align: top; }
  .leaflet-tooltip.mz-tip td { min-width: 6em; overflow-wrap: anywhere; }
  .leaflet-interactive:focus:not(:focus-visible) { outline: none; }
  .mz-printing .folium-map, .mz-printing #map_div { height: 100vh !important; }
  @media print {
    .mz-printing .folium-map, .mz-printing #map_div { height: 100vh !important; }
    .leaflet-top.leaflet-left, .leaflet-control-layers, .leaflet-tooltip { display: none !important; }
    .mz-legend .mz-legend-toggle { display: none !important; }
    .mz-legend .mz-legend-body { display: block !important; max-height: none !important; overflow: visible !important; }
  }
</style>
{% endmacro %}
{% macro script(this, kwargs) %}
(function (map) {
  var bounds = L.latLngBounds({{ this.bounds|tojson }});
  // Fit the area beside the legend when that costs little scale (at most half a zoom step).
  function fitArea() {
    var legend = map.getContainer().querySelector('.mz-legend:not(.mz-collapsed)');
    var pad = legend ? legend.offsetWidth + 10 : 0;
    var keep = pad && map.getBoundsZoom(bounds, false, L.point(pad, 0)) >= map.getBoundsZoom(bounds, false) - 0.5;
    map.fitBounds(bounds, {animate: false, paddingBottomRight: keep ? [pad, 0] : [0, 0]});
  }
  fitArea();
  map.__mzFitArea = fitArea;
  var open = null;
  function keepInside() {
    var el = open && open.getElement && open.getElement();
    if (!el) return;
    el.style.translate = '';
    var m = map.getContainer().getBoundingClientRect(), r = el.getBoundingClientRect(), dx = 0, dy = 0;
    if (r.left < m.left + 4) dx = m.left + 4 - r.left; else if (r.right > m.right - 4) dx = m.right - 4 - r.right;
    if (r.top < m.top + 4) dy = m.top + 4 - r.top; else if (r.bottom > m.bottom - 4) dy = m.bottom - 4 - r.bottom;
    if (dx || dy) el.style.translate = dx + 'px ' + dy + 'px';
  }
  map.on('tooltipopen', function (e) { open = e.tooltip; keepInside(); });
  map.on('tooltipclose', function (e) { if (open === e.tooltip) open = null; });
  map.on('mousemove', keepInside);
  map.on('click', function () { if (open) { map.closeTooltip(open); open = null; } });
  document.querySelectorAll('.leaflet-control-layers-toggle').forEach(function (a) {
    a.title = '图层'; a.setAttribute('aria-label', '图层');
  });
  // Printing: the browser lays the page out for paper without running scripts, so the map takes
  // its printed size here, before that (beforeprint), and is fitted to its area at that size.
  var printSize = {{ this.print_size_mm|tojson }}, frame = null, saved = null;
  try { frame = window.frameElement; } catch (e) { frame = null; }
  function beforePrint() {
    if (saved !== null) return;
    saved = {center: map.getCenter(), zoom: map.getZoom(), frameCss: frame ? frame.style.cssText : null};
    if (printSize) {
      document.documentElement.classList.add('mz-printing');
      if (frame) {
        frame.style.setProperty('width', printSize[0] + 'mm', 'important');
        frame.style.setProperty('height', printSize[1] + 'mm', 'important');
      }
    }
    map.invalidateSize({animate: false, pan: false});
    fitArea();
  }
  function afterPrint() {
    if (saved === null) return;
    document.documentElement.classList.remove('mz-printing');
    if (frame && saved.frameCss !== null) frame.style.cssText = saved.frameCss;
    map.invalidateSize({animate: false, pan: false});
    map.setView(saved.center, saved.zoom, {animate: false});
    saved = null;
  }
  window.addEventListener('beforeprint', beforePrint);
  window.addEventListener('afterprint', afterPrint);
  if (window.matchMedia) {
    var mq = window.matchMedia('print');
    var onChange = function (e) { if (e.matches) beforePrint(); else afterPrint(); };
    if (mq.addEventListener) mq.addEventListener('change', onChange); else if (mq.addListener) mq.addListener(onChange);
  }
})({{ this._parent.get_name() }});
{% endmacro %}
""")

    def __init__(self, bounds, print_size_mm: tuple[float, float] | None = None) -> None:
        super().__init__()
        self._name = "MzBehaviour"
        minx, miny, maxx, maxy = (float(v) for v in bounds)
        self.bounds = [[miny, minx], [maxy, maxx]]
        self.print_size_mm = list(print_size_mm) if print_size_mm else None


class _Legend(MacroElement):
    """A compact legend at the bottom right: collapsible (state kept for the browser tab), at most
    45% of the map wide, its body scrolling within the map's height; classes in two columns when
    there are many. Printed in full."""

    _template = Template("""
{% macro header(this, kwargs) %}
<style>
  .mz-legend { background: rgba(255,255,255,0.94); border: 1px solid #999; border-radius: 4px;
               font: 11px/1.35 "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; color: #222; box-shadow: 0 1px 4px rgba(0,0,0,.2); }
  .mz-legend .mz-legend-toggle { display: flex; justify-content: space-between; gap: 8px; padding: 3px 7px; cursor: pointer;
               font-weight: bold; color: #222; text-decoration: none; user-select: none; }
  .mz-legend .mz-legend-body { padding: 0 7px 5px 7px; overflow-y: auto; overflow-x: hidden; }
  .mz-legend.mz-collapsed .mz-legend-body { display: none; }
  .mz-legend .mz-legend-title { font-weight: bold; margin: 1px 0 2px 0; overflow-wrap: anywhere; }
  .mz-legend .mz-legend-head { font-weight: bold; margin: 4px 0 1px 0; }
  .mz-legend .mz-legend-grid { display: grid; grid-template-columns: minmax(0, auto); column-gap: 10px; }
  .mz-legend .mz-legend-grid.mz-two { grid-template-columns: repeat(2, minmax(0, auto)); }
  .mz-legend .mz-row { display: flex; align-items: flex-start; gap: 4px; }
  .mz-legend .mz-sw { flex: none; width: 10px; height: 10px; margin-top: 2px; border: 1px solid rgba(0,0,0,.25); }
  .mz-legend .mz-sw.mz-pt { border-radius: 50%; }
</style>
{% endmacro %}
{% macro script(this, kwargs) %}
(function (map) {
  var KEY = 'mz-legend-collapsed';
  var legend = L.control({position: 'bottomright'});
  legend.onAdd = function () {
    var div = L.DomUtil.create('div', 'mz-legend leaflet-control');
    var toggle = L.DomUtil.create('a', 'mz-legend-toggle', div);
    toggle.href = '#'; toggle.setAttribute('role', 'button');
    var body = L.DomUtil.create('div', 'mz-legend-body', div);
    body.innerHTML = {{ this.body|tojson }};
    var collapsed = false;
    try { collapsed = window.sessionStorage.getItem(KEY) === '1'; } catch (e) {}
    function show() {
      div.classList.toggle('mz-collapsed', collapsed);
      toggle.innerHTML = '<span>图例</span><span>' + (collapsed ? '展开 ▸' : '收起 ▾') + '</span>';
      toggle.title = collapsed ? '展开图例' : '收起图例';
      toggle.setAttribute('aria-expanded', collapsed ? 'false' : 'true');
    }
    function fit() {
      var size = map.getSize();
      div.style.maxWidth = Math.max(150, Math.floor(size.x * 0.45)) + 'px';
      body.style.maxHeight = Math.max(60, size.y - 130) + 'px';
    }
    L.DomEvent.on(toggle, 'click', function (e) {
      L.DomEvent.preventDefault(e);
      collapsed = !collapsed;
      try { window.sessionStorage.setItem(KEY, collapsed ? '1' : '0'); } catch (err) {}
      show();
    });
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    map.on('resize', fit);
    map.__mzSetLegend = function (html) {
      body.innerHTML = html;
      div.style.display = html ? '' : 'none';
      fit();
    };
    show(); fit();
    div.style.display = {{ this.body|tojson }} ? '' : 'none';
    return div;
  };
  legend.addTo(map);
})({{ this._parent.get_name() }});
{% endmacro %}
""")

    def __init__(self, body: str) -> None:
        super().__init__()
        self._name = "MzLegend"
        self.body = body


def _legend_html(title: str, areas: list[tuple[str, str]], points: list[tuple[str, str]], *, planned: int = 0) -> str:
    """Legend body: `areas` and `points` are (label, colour) pairs; labels are escaped here;
    `planned` > 0 adds the planned-site symbol with that count."""
    def row(label: str, color: str, point: bool) -> str:
        return (f'<div class="mz-row"><span class="mz-sw{" mz-pt" if point else ""}" style="background:{html.escape(color)}">'
                f"</span><span>{html.escape(label)}</span></div>")
    parts = [f'<div class="mz-legend-title">{html.escape(title)}</div>', '<div class="mz-legend-grid">']
    parts += [row(label, c, False) for label, c in areas]
    parts.append("</div>")
    if points:
        parts.append('<div class="mz-legend-head">设施类别</div>')
        parts.append(f'<div class="mz-legend-grid{" mz-two" if len(points) > 8 else ""}">')
        parts += [row(label, c, True) for label, c in points]
        parts.append("</div>")
    if planned:
        parts.append('<div class="mz-legend-head">方案</div><div class="mz-row"><span class="mz-sw" style="transform:rotate(45deg);'
                     f'background:#fff;border:2px solid #333"></span><span>{PLANNED_LABEL}点位 ({int(planned)}), 颜色为类别</span></div>')
    return "".join(parts)


def problems_map(units: gpd.GeoDataFrame, points: pd.DataFrame | None = None, areas: gpd.GeoDataFrame | None = None,
                 *, height: int = 420) -> folium.Map:
    """Townships in grey with the problem points (red) and problem areas (orange) on top."""
    minx, miny, maxx, maxy = units.total_bounds
    if points is not None and len(points.dropna(subset=["lon", "lat"])):
        p = points.dropna(subset=["lon", "lat"])
        minx, miny = min(minx, p["lon"].min()), min(miny, p["lat"].min())
        maxx, maxy = max(maxx, p["lon"].max()), max(maxy, p["lat"].max())
    fmap = _base_map((minx, miny, maxx, maxy), height)
    base = gpd.GeoDataFrame({"name": units["name"].map(html.escape)}, geometry=display_geometry(units), crs=units.crs)
    folium.GeoJson(base.__geo_interface__, style_function=lambda f: {"fillColor": "#dddddd", "color": "#777777", "weight": 0.5, "fillOpacity": 0.5},
                   tooltip=_tooltip(["name"], ["乡镇(街道)"], sticky=True)).add_to(fmap)
    if areas is not None and len(areas):
        shown = gpd.GeoDataFrame({"kind": areas["kind"].map({"gap": "缝隙", "overlap": "重叠"}), "area": areas["area_m2"].round(0)},
                                 geometry=shapely.set_precision(areas.geometry.to_numpy(), 1e-6), crs=areas.crs)
        folium.GeoJson(shown.__geo_interface__, style_function=lambda f: {"fillColor": "#ff8c00", "color": "#ff4500", "weight": 2, "fillOpacity": 0.8},
                       tooltip=_tooltip(["kind", "area"], ["问题", "面积(㎡)"], sticky=True)).add_to(fmap)
    if points is not None:
        p = points.dropna(subset=["lon", "lat"])
        if len(p):
            fc = gpd.GeoDataFrame({"name": p["name"].astype(str).map(html.escape).to_numpy(),
                                   "id": p["facility_id"].astype(str).map(html.escape).to_numpy()},
                                  geometry=gpd.points_from_xy(p["lon"].round(6), p["lat"].round(6)), crs=4326)
            folium.GeoJson(fc.__geo_interface__, marker=folium.CircleMarker(radius=6, weight=2, fill=True, fill_opacity=0.9),
                           style_function=lambda f: {"color": "#ffffff", "fillColor": "#d62728"},
                           tooltip=_tooltip(["id", "name"], ["编号", "名称"], sticky=False)).add_to(fmap)
    fmap.add_child(_Behaviour((minx, miny, maxx, maxy)))
    return localize_assets(fmap)


__all__ = ["coverage_map", "map_frame", "map_frame_parts", "frame_parts", "style_payload", "style_script", "area_rates", "facility_collection", "facility_text", "decode_facilities", "names_by_unit",
           "problems_map", "localize_assets", "display_geometry", "class_colors", "catalog_colors", "color_difference",
           "cielab", "is_osm_layer", "boundary_attribution", "MapSelection", "clicked_selection", "clicked_unit_code",
           "clicked_facility_id", "clicked_area_code", "Element"]
