"""Map payload: no off-host assets, Chinese controls, escaped user text, distinct class colours,
click mapping, OpenStreetMap attribution; the frame/style split (a click or an indicator change
re-sends no geometry)."""
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
from geodata.mapview import build_layer, script_safe
from geodata.webmap import (
    OSM_ATTRIBUTION, PALETTE, STATUS_COLORS, MapSelection, boundary_attribution, catalog_colors, class_colors,
    clicked_facility_id, clicked_selection, clicked_unit_code, color_difference, coverage_map, facility_collection, facility_text, is_osm_layer,
    frame_parts, localize_assets, map_frame, map_frame_parts, names_by_unit, problems_map, style_payload, style_script,
)

from tests.conftest import ROOT

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
    """`text` as it appears inside a JSON string of the map's prepared data (see
    `geodata.mapview.script_safe`: non-ASCII as is; <, >, &, ' as \\u escapes)."""
    return script_safe(json.dumps(text, ensure_ascii=False)[1:-1])


COVERAGE_JS = (ROOT / "static" / "mz-map" / "coverage-layer.js").read_text(encoding="utf-8")


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
                  "/app/static/leaflet.fullscreen-3.0.0/Control.FullScreen.css", "/app/static/mz-map/coverage-layer.js"):
        assert asset in html
    assert re.findall(r"https?://", COVERAGE_JS) == []  # the map's own script names no host either


def test_local_assets_exist_with_their_licences():
    from tests.conftest import ROOT

    for name in ("leaflet-1.9.4/leaflet.js", "leaflet-1.9.4/LICENSE", "leaflet.fullscreen-3.0.0/Control.FullScreen.js",
                 "leaflet.fullscreen-3.0.0/Control.FullScreen.css", "leaflet.fullscreen-3.0.0/icon-fullscreen.svg",
                 "leaflet.fullscreen-3.0.0/LICENSE", "mz-map/coverage-layer.js", "mz-map/README.md"):
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
    # townships (sticky, following the pointer) and facilities (at their marker): direction auto
    assert COVERAGE_JS.count("direction: 'auto'") >= 2
    assert "{sticky: true, direction: 'auto', className: 'mz-tip'}" in COVERAGE_JS
    assert "{sticky: false, direction: 'auto', className: 'mz-tip'}" in COVERAGE_JS
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
    sent = json.loads(re.search(r'"facility_id":(\[[^\]]*\])', html).group(1))
    assert sent == list(facilities.head(3)["facility_id"])


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
    assert "规划点位" in html  # the layer's name in the layer control
    assert html.count("mz-planned") >= 2  # one diamond per site
    assert "<img src=x" not in html and js("&lt;img src=x onerror=alert(1)&gt;") in html
    layer = build_layer(units, "")
    style = style_payload(layer, indicator="x", unit_status=pd.Series(dtype=object), class_names=CLASSES.names,
                          colors=catalog_colors(CLASSES.table), planned=planned)
    tips = [s["tip"] for s in style["planned"]]
    assert len(tips) == 2 and all(t.startswith("<b>规划</b>") for t in tips)
    assert "&lt;img src=x onerror=alert(1)&gt;新站" in tips[0]
    assert catalog_colors(CLASSES.table)["social_work_station"] in style["planned"][0]["html"]
    assert re.findall(r"https?://", html) == []


def test_map_without_planned_sites_has_no_planned_layer(demo):
    assert "mz-planned" not in render(*demo) and "规划点位" not in render(*demo)


# ------------------------------------------------------------------ frame and style (no geometry re-sent)

def test_frame_parts_name_elements_the_same_on_every_run(demo):
    """folium names elements at random; the frame's parts number them, so two builds of the same
    map give the same text (Streamlit then sends a reference, and the drawn map stays)."""
    units, facilities = demo
    placed = facilities.dropna(subset=["lon", "lat"])
    _, first = frame(units, placed)
    _, again = frame(units, placed)
    a, b = frame_parts(first), frame_parts(again)
    assert a == b and a["map_id"] == "map_mz1"
    assert f'id="{a["map_id"]}"' in a["html"] and f'var {a["map_id"]} = L.map(' in a["script"]
    assert re.findall(r"[a-z_]+_[0-9a-f]{32}", a["header"] + a["html"] + a["script"]) == []   # no random names left
    assert "/app/static/leaflet-1.9.4/leaflet.js" in a["header"] and "/app/static/mz-map/coverage-layer.js" in a["header"]
    # another view (here: other facilities) is another frame
    _, other = frame(units, placed.iloc[:10])
    assert frame_parts(other)["digest"] != a["digest"]


def test_the_map_component_preloads_what_every_frame_needs(demo):
    """static/mz-map/frame/index.html loads, in its head, the scripts and stylesheets every map
    frame's header asks for (so none waits for the page's first message)."""
    units, facilities = demo
    _, fmap = frame(units, facilities.dropna(subset=["lon", "lat"]))
    page = (ROOT / "static" / "mz-map" / "frame" / "index.html").read_text(encoding="utf-8")
    wanted = re.findall(r'(?:src|href)="(/app/static/[^"]+)"', frame_parts(fmap)["header"])
    assert wanted and all(f'"{url}"' in page for url in wanted)
    assert all((ROOT / url.removeprefix("/app/")).is_file() for url in wanted)


def frame(units, facilities):
    layer = build_layer(units, "")
    return layer, map_frame(layer, facilities, class_names=CLASSES.names, map_key="coverage_map",
                            colors=catalog_colors(CLASSES.table))


def test_a_click_or_an_indicator_change_resends_no_geometry(demo):
    units, facilities = demo
    placed = facilities.dropna(subset=["lon", "lat"])
    layer, first = frame(units, placed)
    _, again = frame(units, placed)
    args, args_again = frame_parts(first), frame_parts(again)
    # the frame of the next run (a click, another indicator) is byte for byte the same: Streamlit
    # sends it as a reference to the copy the browser holds
    assert args == args_again
    assert layer.geojson in args["html"] and layer.geojson not in args["script"]   # data as JSON, not code
    # what changes goes in the style: small, no coordinates
    styles = []
    for target_class, state in (("day_care", "covered"), ("public_burial", "uncovered")):
        status = pd.Series({c: state for c in units["code"]})
        payload = style_payload(layer, indicator=target_class, unit_status=status, facilities=placed,
                                visible_classes=[target_class], class_names=CLASSES.names)
        styles.append(style_script("coverage_map", payload, seq=1))
    assert styles[0] != styles[1]
    first_ring = json.loads(layer.geojson)["geometry"][0]["q"][0]
    for text in styles:
        assert '"q":' not in text and "coordinates" not in text
        assert ",".join(map(str, first_ring[:6])) not in text
        assert len(text) < len(layer.geojson) / 4


def test_style_marks_every_township_and_facility_class(demo):
    units, facilities = demo
    layer = build_layer(units, "")
    codes = list(layer.codes)
    status = pd.Series({codes[0]: "covered", codes[1]: "uncovered", codes[2]: "no_data"})
    payload = style_payload(layer, indicator="指标", unit_status=status, facilities_by_unit={codes[0]: ["<b>站</b>"]},
                            facilities=facilities, visible_classes=["day_care"], class_names=CLASSES.names)
    assert payload["layer"] == layer.layer_id and len(payload["cls"]) == len(codes)
    assert payload["cls"][:4] == "0132"  # covered, uncovered, no data, out of scope (not in the status)
    assert payload["colors"][3] == "#e6dfc8" and payload["labels"][1] == "未覆盖"  # no data: neutral, never "uncovered"
    assert payload["rows"]["0"] == [["设施", "&lt;b&gt;站&lt;/b&gt;"]] and payload["defaultRows"] == [["设施", "无"]]
    assert payload["classes"] == ["day_care"]
    assert "社区日间照料" in payload["legend"] and "公益性安葬设施" not in payload["legend"]


def test_area_views_are_coloured_by_the_district_rate():
    from geodata.mapview import MapLayer
    from geodata.webmap import area_rates

    layer = MapLayer(layer_id="x", kind="city", scope="", codes=("4203", "4212"), geojson="{}", outlines="null",
                     bounds=(0, 0, 1, 1), label_zoom=None, canvas=True, vertices_in=0, vertices_out=0)
    rows = pd.DataFrame({"district_code": ["420302", "420303", "421202"], "units_total": [7, 3, 10],
                         "units_covered": [4, 3, 2], "target_rate": [0.6] * 3, "no_data": [False] * 3})
    rates = area_rates(layer, rows)
    assert list(rates["total"]) == [10, 10] and list(rates["covered"]) == [7, 2]
    assert list(rates["needed"]) == [0, 4]  # ceil(0.6 x 10) - covered
    payload = style_payload(layer, indicator="指标", district_rows=rows, class_names=CLASSES.names)
    assert payload["cls"] == "03"  # 十堰 70 % >= 60 %: met; 咸宁 20 % < half the target: far behind
    assert payload["rows"]["1"] == [["覆盖情况", "2 / 10(20.0%)"], ["目标", "60%, 还需 4 个"]]
    assert "各市(州)覆盖率" in payload["legend"] and "达标 (1)" in payload["legend"]
    no_data = style_payload(layer, indicator="指标", district_rows=rows.assign(no_data=True), class_names=CLASSES.names)
    assert no_data["cls"] == "55"


def test_scale_bar_is_metric_only(demo):
    html = render(*demo)
    assert "imperial: false" in html and "metric: true" in html
    assert "control_scale" not in html and "L.control.scale(" not in html


def test_district_rate_colours_are_distinct():
    from geodata.webmap import RATE_CLASSES

    colors = [c for _, _, c in RATE_CLASSES]
    assert len(set(colors)) == len(colors)
    worst = min(color_difference(a, b) for a, b in combinations(colors[:4], 2))
    assert worst >= 20
    for c in colors[:4]:
        assert color_difference(c, STATUS_COLORS["out_of_scope"]) >= 20 and color_difference(c, STATUS_COLORS["no_data"]) >= 20


def test_facility_text_is_remembered_by_content(demo):
    _, facilities = demo
    pts = facilities.head(40).copy()
    first = facility_collection(pts, {"day_care": "日间照料"}, {})
    assert facility_collection(pts.copy(), {"day_care": "日间照料"}, {}) is first    # same content: remembered
    assert first == facility_text(pts, {"day_care": "日间照料"}, {})
    moved = pts.assign(lon=pts["lon"] + 0.01)
    assert facility_collection(moved, {"day_care": "日间照料"}, {}) == facility_text(moved, {"day_care": "日间照料"}, {})
    assert facility_collection(moved, {"day_care": "日间照料"}, {}) != first
    renamed = pts.assign(name="新名称")
    assert "新名称" in facility_collection(renamed, {"day_care": "日间照料"}, {})
    assert facility_collection(pts, {"day_care": "日间照料"}, {}, system="gcj02") != first


def test_names_by_unit_equals_the_group_by():
    table = pd.DataFrame({"unit_code": ["b", "a", "b", "c", "a"], "name": ["甲", "乙", "丙", "丁", "戊"]})
    assert names_by_unit(table) == table.groupby("unit_code")["name"].apply(list).to_dict()
    assert names_by_unit(table.iloc[0:0]) == {}


def test_map_frame_parts_are_the_frame_and_remembered(demo, monkeypatch):
    """`map_frame_parts` gives what `frame_parts(map_frame(...))` gives, and builds the folium
    figure once for the same inputs (a page asks for the same frame on every run)."""
    import geodata.webmap as webmap

    units, facilities = demo
    placed = facilities.dropna(subset=["lon", "lat"])
    layer = build_layer(units, "")
    options = {"class_names": CLASSES.names, "map_key": "coverage_map", "colors": catalog_colors(CLASSES.table)}
    built = []
    real = webmap._build_frame
    monkeypatch.setattr(webmap, "_build_frame", lambda spec: built.append(1) or real(spec))
    monkeypatch.setattr(webmap, "_FRAME_PARTS", webmap._Memo(webmap.FRAME_PARTS_MEMO))
    first = map_frame_parts(layer, placed, **options)
    assert first == frame_parts(map_frame(layer, placed, **options))
    assert map_frame_parts(layer, placed, **options) == first and len(built) == 2   # the second call: from memory
    other = map_frame_parts(layer, placed.iloc[:5], **options)
    assert other["digest"] != first["digest"] and len(built) == 3
    assert map_frame_parts(layer, placed, **options, height=420)["digest"] != first["digest"]


def test_memo_keeps_the_last_values_used():
    from geodata.webmap import _Memo

    memo, made = _Memo(2), []
    for key in ["a", "b", "a", "c", "a", "b"]:   # "b" is the least recently used when "c" comes
        memo.get(key, lambda k=key: made.append(k) or k.upper())
    assert made == ["a", "b", "c", "b"] and list(memo.items) == ["a", "b"]
