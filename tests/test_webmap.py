"""Map payload: no off-host assets, Chinese controls, escaped user text, distinct class colours,
click mapping, OpenStreetMap attribution."""
import json
import re
from itertools import combinations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from coverage.catalog import load_classes
from geodata.demo import load_demo
from geodata.io import read_facilities, read_units
from geodata.webmap import (
    OSM_ATTRIBUTION, PALETTE, STATUS_COLORS, MapSelection, boundary_attribution, catalog_colors, class_colors,
    clicked_facility_id, clicked_selection, clicked_unit_code, color_difference, coverage_map, is_osm_layer,
    localize_assets, problems_map,
)

CLASSES = load_classes()
CDN_HOSTS = ("cdn.jsdelivr.net", "unpkg.com", "cdnjs.cloudflare.com", "code.jquery.com", "netdna.bootstrapcdn.com")


@pytest.fixture(scope="module")
def demo():
    u, f = load_demo()
    units, _ = read_units(u)
    facilities, _ = read_facilities(f, None, CLASSES)
    return units, facilities


def render(units, facilities, indicator="指标", **kwargs):
    status = pd.Series({c: "covered" for c in units["code"]})
    return coverage_map(units, status, facilities, class_names=CLASSES.names, indicator=indicator, **kwargs).get_root().render()


def js(text: str) -> str:
    """`text` as it appears inside a JSON string of the rendered page (non-ASCII as \\uXXXX)."""
    out = json.dumps(text)[1:-1]
    for ch, code in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("'", "\\u0027")):  # as jinja's tojson
        out = out.replace(ch, code)
    return out


def one_unit(name="五峰乡", district="郧阳区"):
    return gpd.GeoDataFrame({"code": ["110101001"], "name": [name], "district_code": ["110101"], "district_name": [district],
                             "kind": ["街道"]}, geometry=[box(116, 39, 116.1, 39.1)], crs=4326)


# ------------------------------------------------------------------ assets and controls

def test_demo_map_requests_nothing_off_host(demo):
    html = render(*demo, colors=catalog_colors(CLASSES.table))
    assert re.findall(r"https?://", html) == []
    assert not any(host in html for host in CDN_HOSTS)
    for asset in ("/app/static/leaflet-1.9.4/leaflet.js", "/app/static/leaflet-1.9.4/leaflet.css",
                  "/app/static/leaflet.fullscreen-3.0.0/Control.FullScreen.js",
                  "/app/static/leaflet.fullscreen-3.0.0/Control.FullScreen.css"):
        assert asset in html


def test_local_assets_exist_with_their_licences():
    from tests.conftest import ROOT

    for name in ("leaflet-1.9.4/leaflet.js", "leaflet-1.9.4/LICENSE", "leaflet.fullscreen-3.0.0/Control.FullScreen.js",
                 "leaflet.fullscreen-3.0.0/Control.FullScreen.css", "leaflet.fullscreen-3.0.0/icon-fullscreen.svg",
                 "leaflet.fullscreen-3.0.0/LICENSE"):
        assert (ROOT / "static" / name).is_file(), name
    assert "leaflet.fullscreen-3.0.0" in (ROOT / "static" / "README.md").read_text(encoding="utf-8")


def test_controls_are_chinese_and_the_scale_metric(demo):
    html = render(*demo)
    assert "L.control.fullscreen" in html and '"title": "\\u5168\\u5c4f\\u663e\\u793a"' in html  # 全屏显示
    assert "zoomInTitle: '放大', zoomOutTitle: '缩小'" in html
    assert '"zoomControl": false' in html  # Leaflet's own English-titled zoom buttons are not drawn
    assert "imperial: false" in html and "' 千米'" in html and "L.control.scale()" not in html
    assert "Full Screen" not in html and "Zoom in" not in html


def test_tooltips_are_placed_automatically_and_legend_is_collapsible(demo):
    html = render(*demo)
    assert html.count('"direction": "auto"') == 2  # townships and facilities
    assert '"sticky": false' in html  # facility tooltips stay at their marker
    assert "map.on('click'" in html and "closeTooltip" in html
    assert "mz-legend-toggle" in html and "收起图例" in html and "overflow-y: auto" in html


def test_unknown_cdn_asset_is_refused():
    import folium
    m = folium.Map(tiles=None)
    m.default_js = [("mystery", "https://cdn.example.com/x.js")]
    with pytest.raises(ValueError, match="not served locally"):
        localize_assets(m)


def test_problems_map_is_offline_and_chinese():
    pts = pd.DataFrame({"facility_id": ["F1"], "name": ["<b>x</b>"], "lon": [116.05], "lat": [39.05]})
    html = problems_map(one_unit(), pts).get_root().render()
    assert re.findall(r"https?://", html) == []
    assert "zoomInTitle: '放大'" in html and "<b>x</b>" not in html


# ------------------------------------------------------------------ user text

def test_user_text_is_escaped():
    units = one_unit("<script>alert(1)</script>街道", "<b>区</b>")
    fac = pd.DataFrame({"facility_id": ["</script><script>alert(3)</script>"], "name": ['<img src=x onerror="alert(2)">'],
                        "facility_class": ["rescue_station"], "operating_status": ["<i>运营</i>"], "lon": [116.05], "lat": [39.05]})
    html = render(units, fac, indicator="<i>x</i>", attribution="<b>署名</b>")
    assert "<script>alert(1)" not in html and "<img src=x" not in html and "<b>区</b>" not in html
    assert "</script><script>alert(3)" not in html and "<i>运营</i>" not in html and "<i>x</i>" not in html
    assert "<b>署名</b>" not in html
    assert "\\u0026lt;script\\u0026gt;" in html  # &lt;script&gt; inside the JSON payload


# ------------------------------------------------------------------ colours

def test_color_difference_matches_reference_values():
    # Sharma, Wu & Dalal (2005), CIEDE2000 test data, pairs 1 and 22
    assert color_difference((50, 2.6772, -79.7751), (50, 0, -82.7485)) == pytest.approx(2.0425, abs=1e-4)
    assert color_difference((50, 2.5, 0), (56, -27, -3)) == pytest.approx(31.9030, abs=1e-4)
    assert color_difference("#123456", "#123456") == 0


def test_every_catalogue_class_has_its_own_clearly_distinct_colour():
    colors = catalog_colors(CLASSES.table)
    assert set(colors) == set(CLASSES.table["class_id"])
    assert "color" in CLASSES.table.columns and CLASSES.table["color"].str.fullmatch(r"#[0-9a-fA-F]{6}").all()
    assert len(set(colors.values())) == len(colors)
    worst = min((color_difference(colors[a], colors[b]), a, b) for a, b in combinations(colors, 2))
    assert worst[0] >= 15, worst  # CIEDE2000: clearly different at a glance
    # markers are drawn on the township fills with a white ring
    for c in colors.values():
        for ground in [*STATUS_COLORS.values(), "#ffffff"]:
            assert color_difference(c, ground) >= 15, (c, ground)
    # the two classes the meeting saw in the same blue
    assert color_difference(colors["comprehensive_eldercare"], colors["public_burial"]) >= 15


def test_class_colors_are_stable_and_fill_gaps():
    ids = ["a", "b", "c", "d"]
    declared = {"a": "#2222FF", "b": "not a colour", "c": "#2222ff", "d": ""}
    colors = class_colors(ids, declared)
    assert colors["a"] == "#2222ff"
    assert len(set(colors.values())) == 4  # the duplicate and the invalid ones get palette colours
    assert all(v in PALETTE for v in colors.values())
    assert class_colors(ids, declared) == colors  # the same every time
    assert class_colors(ids[:2], declared)["a"] == colors["a"]


def test_legend_lists_only_classes_drawn_with_their_colours(demo):
    units, facilities = demo
    colors = catalog_colors(CLASSES.table)
    shown = facilities[facilities["facility_class"].isin(["day_care", "public_burial"])]
    html = render(units, shown, colors=colors)
    assert colors["day_care"] in html and colors["public_burial"] in html
    assert js("社区日间照料</span>") in html and js("公益性安葬设施</span>") in html
    assert js("综合功能养老服务机构</span>") not in html
    assert js("已覆盖 (119)</span>") in html  # townships per status, as counted


# ------------------------------------------------------------------ clicks

def feature(**props):
    return {"last_active_drawing": {"type": "Feature", "properties": props, "geometry": None}}


@pytest.mark.parametrize("event, expected", [
    (None, None), ({}, None), ({"last_active_drawing": None}, None),
    (feature(unit_code="420302001", name="x"), MapSelection("unit", "420302001")),
    (feature(facility_id="SY0001", name="x", class_name="y"), MapSelection("facility", "SY0001")),
    (feature(facility_id=17), MapSelection("facility", "17")),
    (feature(facility_id="", unit_code="420302001"), MapSelection("unit", "420302001")),
    (feature(name="district outline"), None),
    ({"last_active_drawing": {"type": "Feature"}}, None),
])
def test_clicked_selection(event, expected):
    assert clicked_selection(event) == expected


@pytest.mark.parametrize("event, unit, facility", [
    (None, None, None),
    ({"last_active_drawing": {"properties": {"unit_code": "420302001", "name": "x"}}}, "420302001", None),
    ({"last_active_drawing": {"properties": {"name": "marker"}}}, None, None),
    (feature(facility_id="SY0001"), None, "SY0001"),
])
def test_clicked_unit_code_and_facility_id(event, unit, facility):
    assert clicked_unit_code(event) == unit
    assert clicked_facility_id(event) == facility


def test_facility_markers_carry_their_id_for_clicks(demo):
    units, facilities = demo
    html = render(units, facilities.head(3))
    for fid in facilities.head(3)["facility_id"]:
        assert f'"facility_id": "{fid}"' in html


# ------------------------------------------------------------------ attribution

@pytest.mark.parametrize("report, columns, expected", [
    ({"filename": "shiyan_townships.geojson", "columns_available": ["code", "name", "district_code"]}, (), False),
    ({"filename": "qingdao-osm.geojson"}, (), True),
    ({"filename": "OSM乡镇边界.zip"}, (), True),
    ({"filename": "openstreetmap_admin8.gpkg"}, (), True),
    ({"filename": "cosmos.shp"}, (), False),
    ({"filename": "gosmart.shp"}, (), False),
    ({"filename": "townships.geojson", "columns_available": ["osm_id", "osm_type", "name"]}, (), True),
    ({"filename": "townships.geojson", "columns_available": ["@id", "name"]}, (), True),
    ({"filename": "townships.geojson", "columns_used": {"code": "osm_ref"}}, (), True),
    ({"filename": "townships.geojson"}, ["code", "OSMID"], True),
    ({"filename": "townships.geojson", "notes": ["来源: OpenStreetMap 行政区划"]}, (), True),
    ({"filename": "townships.geojson", "notes": ["坐标系按用户选择"]}, (), False),
    (None, (), False),
])
def test_osm_layer_rule(report, columns, expected):
    assert is_osm_layer(report, columns) is expected
    assert (boundary_attribution(report, columns) is not None) is expected


def test_qingdao_osm_layer_is_credited(qingdao_path):
    units, report = read_units(qingdao_path)
    attribution = boundary_attribution(report.as_dict())
    assert attribution and OSM_ATTRIBUTION in attribution
    html = render(units.head(5), pd.DataFrame(columns=["facility_id", "name", "facility_class", "lon", "lat"]),
                  attribution=attribution)
    assert "addAttribution" in html and "OpenStreetMap contributors (ODbL)" in html


def test_no_attribution_without_osm(demo):
    html = render(*demo)
    assert "addAttribution" not in html and "OpenStreetMap" not in html


# ------------------------------------------------------------------ planned sites (scenarios)

def test_planned_sites_layer_with_planned_tooltips_and_escaped_names():
    units = one_unit()
    planned = pd.DataFrame({"site_id": ["S1", "S2"], "name": ['<img src=x onerror=alert(1)>新站', "乙站"],
                            "facility_class": ["social_work_station", "no_such_class"],
                            "lon": [116.05, 116.02], "lat": [39.05, 39.02]})
    html = render(units, pd.DataFrame(columns=["facility_id", "name", "facility_class", "lon", "lat"]), planned=planned,
                  colors=catalog_colors(CLASSES.table))
    assert js("规划点位") in html or "规划点位" in html  # the layer's name in the layer control
    assert html.count("mz-planned") >= 2  # one diamond per site
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    tips = re.findall(r"bindTooltip\(\s*`<div>\s*(.*?)\s*</div>`", html, re.S)
    assert len(tips) == 2 and all("规划" in t for t in tips)
    assert catalog_colors(CLASSES.table)["social_work_station"] in html
    assert re.findall(r"https?://", html) == []


def test_map_without_planned_sites_has_no_planned_layer(demo):
    assert "mz-planned" not in render(*demo) and "规划点位" not in render(*demo)
