"""Folium maps of township coverage that draw with no internet.

- Leaflet is served from the repository (`static/`, Streamlit static serving at /app/static/);
  every other default CDN asset of folium is dropped (`localize_assets`).
- No tile layer by default (blank background); geometry is simplified for display only, with
  `simplify_coverage` so shared edges stay gap-free, and coordinates rounded to 5 decimals (~1 m).
- Every user-supplied string is HTML-escaped before it reaches a tooltip.
"""
from __future__ import annotations

import html

import folium
import geopandas as gpd
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from jinja2 import Template

STATIC_URL = "/app/static"
LOCAL_JS = {"leaflet": f"{STATIC_URL}/leaflet-1.9.4/leaflet.js"}
LOCAL_CSS = {"leaflet_css": f"{STATIC_URL}/leaflet-1.9.4/leaflet.css"}
COVERED_COLOR = "#2e8b57"
UNCOVERED_COLOR = "#e4572e"
OUT_OF_SCOPE_COLOR = "#cfcfcf"
NO_DATA_COLOR = "#e6dfc8"  # neutral: the ledger holds no facility of the class, coverage unknown
PALETTE = ["#1f77b4", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f",
           "#d62728", "#2ca02c", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd",
           "#e6550d", "#31a354", "#756bb1", "#636363"]
SIMPLIFY_TOLERANCE_DEG = 0.0008  # ~80 m: for display only


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
                elif name in ("jquery", "bootstrap", "awesome_markers", "bootstrap_css", "glyphicons_css",
                              "awesome_markers_font_css", "awesome_markers_css", "awesome_rotate_css"):
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


def display_geometry(units: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """Simplified (coverage-preserving) and rounded geometry, for drawing only."""
    try:
        simple = units.geometry.simplify_coverage(SIMPLIFY_TOLERANCE_DEG)
    except (AttributeError, shapely.errors.GEOSException):
        simple = units.geometry.simplify(SIMPLIFY_TOLERANCE_DEG / 2, preserve_topology=True)
    return gpd.GeoSeries(shapely.set_precision(simple.to_numpy(), 1e-5), index=units.index, crs=units.crs)


def class_colors(class_ids: list[str]) -> dict[str, str]:
    return {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(class_ids)}


def coverage_map(
    units: gpd.GeoDataFrame,
    unit_status: pd.Series,
    facilities: pd.DataFrame,
    *,
    class_names: dict[str, str],
    indicator: str,
    facilities_by_unit: dict[str, list[str]] | None = None,
    height: int = 600,
) -> folium.Map:
    """Choropleth of townships (covered / uncovered / not counted for the indicator), district
    outlines and facilities as circle markers coloured by class, with a legend.

    units
        code, name, district_code, district_name, geometry (EPSG:4326).
    unit_status
        Per unit code: "covered", "uncovered", "out_of_scope" or "no_data" (the ledger holds no
        facility of the class: drawn neutral, never as uncovered).
    facilities
        facility_id, name, facility_class, lon, lat (only the rows to draw).
    """
    fmap = folium.Map(tiles=None, prefer_canvas=False, control_scale=True, height=height)
    minx, miny, maxx, maxy = units.total_bounds
    fmap.fit_bounds([[miny, minx], [maxy, maxx]])
    labels = {"covered": "已覆盖", "uncovered": "未覆盖", "out_of_scope": "不计入本指标",
              "no_data": "台账中无此类设施, 请确认"}
    colors = {"covered": COVERED_COLOR, "uncovered": UNCOVERED_COLOR, "out_of_scope": OUT_OF_SCOPE_COLOR,
              "no_data": NO_DATA_COLOR}
    facilities_by_unit = facilities_by_unit or {}
    shown = units[["code", "name", "district_name"]].copy()
    status = shown["code"].map(unit_status).fillna("out_of_scope")
    shown["unit_code"] = shown["code"]
    shown["name"] = shown["name"].map(html.escape)
    shown["district_name"] = shown["district_name"].map(html.escape)
    shown["status"] = status.map(labels)
    shown["fill"] = status.map(colors)
    shown["facilities"] = shown["code"].map(lambda c: html.escape("、".join(facilities_by_unit.get(c, [])[:8]) or "无"))
    layer = gpd.GeoDataFrame(shown.drop(columns=["code"]), geometry=display_geometry(units), crs=units.crs)
    folium.GeoJson(
        layer.__geo_interface__,
        name="乡镇(街道)",
        style_function=lambda f: {"fillColor": f["properties"]["fill"], "color": "#555555", "weight": 0.6, "fillOpacity": 0.55},
        highlight_function=lambda f: {"weight": 2.5, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(fields=["name", "district_name", "status", "facilities"],
                                      aliases=["乡镇(街道)", "所属区县", html.escape(indicator), "设施"], sticky=True),
    ).add_to(fmap)
    districts = units.dissolve("district_code", as_index=False)[["district_code", "geometry"]]
    districts["geometry"] = shapely.set_precision(districts.geometry.simplify(SIMPLIFY_TOLERANCE_DEG).to_numpy(), 1e-5)
    folium.GeoJson(districts.__geo_interface__, name="区县界线", interactive=False,
                   style_function=lambda f: {"fill": False, "color": "#222222", "weight": 2.2}).add_to(fmap)
    palette = class_colors(list(class_names))
    pts = facilities.dropna(subset=["lon", "lat"])
    if len(pts):
        fc = gpd.GeoDataFrame(
            {"name": pts["name"].astype(str).map(html.escape).to_numpy(),
             "class_name": pts["facility_class"].map(class_names).fillna("未识别类别").map(html.escape).to_numpy(),
             "color": pts["facility_class"].map(palette).fillna("#000000").to_numpy()},
            geometry=gpd.points_from_xy(pts["lon"].round(5), pts["lat"].round(5)), crs=4326)
        folium.GeoJson(
            fc.__geo_interface__, name="设施",
            marker=folium.CircleMarker(radius=4, weight=1, fill=True, fill_opacity=0.9),
            style_function=lambda f: {"color": "#ffffff", "fillColor": f["properties"]["color"]},
            tooltip=folium.GeoJsonTooltip(fields=["name", "class_name"], aliases=["设施", "类别"]),
        ).add_to(fmap)
    present = [c for c in class_names if c in set(pts["facility_class"].dropna())]
    drawn = set(status)
    _add_legend(fmap, indicator, [(labels[k], colors[k]) for k in labels if k in drawn],
                [(class_names[c], palette[c]) for c in present])
    folium.LayerControl(collapsed=True).add_to(fmap)
    return localize_assets(fmap)


class _Legend(MacroElement):
    _template = Template("""
{% macro html(this, kwargs) %}{% endmacro %}
{% macro script(this, kwargs) %}
var legend_{{ this.get_name() }} = L.control({position: 'bottomright'});
legend_{{ this.get_name() }}.onAdd = function () {
  var div = L.DomUtil.create('div', 'mz-legend');
  div.style.cssText = 'background:#fff;padding:6px 8px;border:1px solid #999;border-radius:4px;font:12px sans-serif;max-height:320px;overflow:auto;';
  div.innerHTML = {{ this.body|tojson }};
  return div;
};
legend_{{ this.get_name() }}.addTo({{ this._parent.get_name() }});
{% endmacro %}
""")

    def __init__(self, body: str) -> None:
        super().__init__()
        self.body = body


def _add_legend(fmap, title: str, areas: list[tuple[str, str]], points: list[tuple[str, str]]) -> None:
    def swatch(color: str, round_: bool) -> str:
        radius = "50%" if round_ else "2px"
        return f'<span style="display:inline-block;width:12px;height:12px;background:{color};border-radius:{radius};margin-right:4px;vertical-align:middle"></span>'
    rows = [f"<b>{html.escape(title)}</b>"]
    rows += [f"<div>{swatch(c, False)}{html.escape(label)}</div>" for label, c in areas]
    if points:
        rows.append("<b>设施类别</b>")
        rows += [f"<div>{swatch(c, True)}{html.escape(label)}</div>" for label, c in points]
    fmap.add_child(_Legend("".join(rows)))


__all__ = ["coverage_map", "localize_assets", "display_geometry", "class_colors", "Element"]


def clicked_unit_code(event: dict | None) -> str | None:
    """The township code of the polygon last clicked on the map (st_folium's return value)."""
    feature = (event or {}).get("last_active_drawing") or {}
    code = (feature.get("properties") or {}).get("unit_code")
    return str(code) if code else None


def problems_map(units: gpd.GeoDataFrame, points: pd.DataFrame | None = None, areas: gpd.GeoDataFrame | None = None,
                 *, height: int = 420) -> folium.Map:
    """Townships in grey with the problem points (red) and problem areas (orange) on top."""
    fmap = folium.Map(tiles=None, prefer_canvas=False, control_scale=True, height=height)
    minx, miny, maxx, maxy = units.total_bounds
    if points is not None and len(points.dropna(subset=["lon", "lat"])):
        p = points.dropna(subset=["lon", "lat"])
        minx, miny = min(minx, p["lon"].min()), min(miny, p["lat"].min())
        maxx, maxy = max(maxx, p["lon"].max()), max(maxy, p["lat"].max())
    fmap.fit_bounds([[miny, minx], [maxy, maxx]])
    base = gpd.GeoDataFrame({"name": units["name"].map(html.escape)}, geometry=display_geometry(units), crs=units.crs)
    folium.GeoJson(base.__geo_interface__, style_function=lambda f: {"fillColor": "#dddddd", "color": "#777777", "weight": 0.5, "fillOpacity": 0.5},
                   tooltip=folium.GeoJsonTooltip(fields=["name"], aliases=["乡镇(街道)"])).add_to(fmap)
    if areas is not None and len(areas):
        shown = gpd.GeoDataFrame({"kind": areas["kind"].map({"gap": "缝隙", "overlap": "重叠"}), "area": areas["area_m2"].round(0)},
                                 geometry=shapely.set_precision(areas.geometry.to_numpy(), 1e-6), crs=areas.crs)
        folium.GeoJson(shown.__geo_interface__, style_function=lambda f: {"fillColor": "#ff8c00", "color": "#ff4500", "weight": 2, "fillOpacity": 0.8},
                       tooltip=folium.GeoJsonTooltip(fields=["kind", "area"], aliases=["问题", "面积(㎡)"])).add_to(fmap)
    if points is not None:
        p = points.dropna(subset=["lon", "lat"])
        if len(p):
            fc = gpd.GeoDataFrame({"name": p["name"].astype(str).map(html.escape).to_numpy(),
                                   "id": p["facility_id"].astype(str).map(html.escape).to_numpy()},
                                  geometry=gpd.points_from_xy(p["lon"].round(6), p["lat"].round(6)), crs=4326)
            folium.GeoJson(fc.__geo_interface__, marker=folium.CircleMarker(radius=6, weight=2, fill=True, fill_opacity=0.9),
                           style_function=lambda f: {"color": "#ffffff", "fillColor": "#d62728"},
                           tooltip=folium.GeoJsonTooltip(fields=["id", "name"], aliases=["编号", "名称"])).add_to(fmap)
    return localize_assets(fmap)
