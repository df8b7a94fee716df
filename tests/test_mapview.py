"""Map views: display geometry simplified, rounded and still gap-free; views above the township
threshold drawn as districts and drilled down to the right district's townships; breadcrumbs."""
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon, box

from geodata import mapview
from geodata.mapview import (
    build_layer, breadcrumb, choose_view, coordinate_decimals, decode_geometry, decode_layer, encode_geometry,
    scope_label, scope_mask, scope_options, script_safe,
)
from tools.benchmark_map import synthetic_townships


@pytest.fixture(scope="module")
def grid():
    """64 wiggly townships (8 x 8 cells, ~200 vertices each) in 4 districts of one city."""
    return synthetic_townships(64, vertices=200, seed=3)


@pytest.fixture
def small_thresholds(monkeypatch):
    monkeypatch.setattr(mapview, "TOWNSHIP_VIEW_MAX", 20)
    monkeypatch.setattr(mapview, "AREA_VIEW_MAX", 10)


def projected_areas(geoms) -> np.ndarray:
    return gpd.GeoSeries(list(geoms), crs=4326).to_crs(4549).area.to_numpy()


# ------------------------------------------------------------------ display geometry

def test_layer_is_simplified_rounded_and_stays_a_coverage(grid):
    before = grid.copy()
    layer = build_layer(grid, "")
    shown = decode_layer(layer.geojson)
    assert layer.kind == "township" and list(shown["unit_code"]) == list(grid["code"]) == list(layer.codes)
    # fewer vertices, for display
    assert layer.vertices_out < 0.8 * layer.vertices_in
    assert int(shapely.get_num_coordinates(shown.geometry.to_numpy()).sum()) <= layer.vertices_out + len(grid)
    # on the grid of the view's decimals (4-6)
    decimals = json.loads(layer.geojson)["decimals"]
    assert 4 <= decimals <= 6
    xy = shapely.get_coordinates(shown.geometry.to_numpy()) * 10 ** decimals
    assert np.abs(xy - np.round(xy)).max() < 1e-6
    # valid, still edge-matched (no slivers or overlaps between neighbours), areas kept
    assert shapely.is_valid(shown.geometry.to_numpy()).all()
    assert shapely.coverage_is_valid(shown.geometry.to_numpy())
    ratio = projected_areas(shown.geometry) / projected_areas(grid.geometry)
    assert np.abs(ratio - 1).max() < 0.03
    assert abs(projected_areas(shown.geometry).sum() / projected_areas(grid.geometry).sum() - 1) < 0.002
    # display only: the input layer is unchanged
    assert grid.geometry.geom_equals_exact(before.geometry, tolerance=0).all()


def test_tolerance_follows_the_view_scale(grid):
    whole = build_layer(grid, "")
    one = grid["district_code"].iloc[0]
    district = build_layer(grid, one)
    part = grid[grid["district_code"] == one]
    # a district fills the map at a larger zoom: finer tolerance, more vertices per township
    per_whole = whole.vertices_out / len(grid)
    per_district = district.vertices_out / len(part)
    assert per_district > per_whole
    assert coordinate_decimals(10.0) == 6 and coordinate_decimals(5_000.0) == 4


def test_encoded_geometry_round_trips():
    hole = Polygon(box(110, 30, 110.2, 30.2).exterior.coords, [box(110.05, 30.05, 110.1, 30.1).exterior.coords])
    multi = MultiPolygon([box(111, 31, 111.1, 31.1), box(111.3, 31.3, 111.4, 31.4)])
    line = LineString([(112, 32), (112.1, 32.05), (112, 32)])
    for geom in (hole, multi, line):
        text = encode_geometry(geom, 4)
        assert '"q":' in text and "." not in text.split('"q":')[1]  # integers only
        back = decode_geometry(json.loads(text), 4)
        assert back.geom_type == geom.geom_type and back.equals_exact(geom, tolerance=1e-9)
    assert encode_geometry(Polygon(), 4) == "null"


def test_layer_text_is_escaped_and_inert_in_a_script():
    units = gpd.GeoDataFrame({"code": ["110101001"], "name": ["</script><script>alert(1)</script>{{ 7*7 }}{% x %}"],
                              "district_code": ["110101"], "district_name": ["<b>区</b>"], "kind": ["街道"]},
                             geometry=[box(116, 39, 116.1, 39.1)], crs=4326)
    layer = build_layer(units, "")
    assert "<" not in layer.geojson and ">" not in layer.geojson
    assert "{{" not in layer.geojson and "{%" not in layer.geojson
    props = decode_layer(layer.geojson).iloc[0]
    assert props["name"] == "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;{{ 7*7 }}{% x %}"
    assert props["district_name"] == "&lt;b&gt;区&lt;/b&gt;"
    assert script_safe('{"a":"{#"}') == '{"a":"\\u007b#"}'


# ------------------------------------------------------------------ views and drill-down

def test_small_layers_draw_their_townships(grid):
    assert choose_view(grid, "").draws == "township"


def test_large_layers_open_on_districts_and_drill_down(grid, small_thresholds):
    view = choose_view(grid, "")
    assert view.draws == "county" and view.n_units == 64
    top = build_layer(grid, "")
    districts = sorted(grid["district_code"].unique())
    assert top.kind == "county" and sorted(top.codes) == districts and top.canvas
    areas = decode_layer(top.geojson)
    assert shapely.is_valid(areas.geometry.to_numpy()).all()
    assert abs(projected_areas(areas.geometry).sum() / projected_areas(grid.geometry).sum() - 1) < 0.002
    # a click on a district opens that district's townships, and only those
    code = districts[2]
    inner = build_layer(grid, code)
    assert inner.kind == "township"
    assert set(inner.codes) == set(grid.loc[grid["district_code"] == code, "code"])
    assert scope_mask(grid, code).sum() == len(inner.codes)


def test_many_districts_group_by_city(small_thresholds, monkeypatch):
    units = synthetic_townships(300, vertices=12, seed=5)   # 17 x 18 cells: 25 districts in 4 cities
    monkeypatch.setattr(mapview, "AREA_VIEW_MAX", 12)
    view = choose_view(units, "")
    assert view.draws == "city"
    city = sorted(units["district_code"].str[:4].unique())[0]
    inner = choose_view(units, city)
    assert inner.draws == "county" and inner.n_units == int(units["district_code"].str.startswith(city).sum())
    district = sorted(units.loc[units["district_code"].str.startswith(city), "district_code"].unique())[0]
    assert choose_view(units, district).draws == "township"
    trail = breadcrumb(units, district)
    assert [c for c, _ in trail] == ["", city, district]
    assert trail[0][1] == "全部" and trail[2][1] == scope_label(units, district)
    options = scope_options(units)
    assert options[""] == "全部" and options[city].endswith("(全市)") and district in options


def test_breadcrumb_of_a_one_city_layer_skips_the_city(grid):
    code = grid["district_code"].iloc[0]
    assert breadcrumb(grid, "") == [("", "全部")]
    assert breadcrumb(grid, code) == [("", "全部"), (code, grid["district_name"].iloc[0])]
    assert set(scope_options(grid)) == {"", *grid["district_code"].unique()}


def test_non_numeric_district_codes_use_districts_only(small_thresholds):
    units = synthetic_townships(64, vertices=12, seed=9)
    units["district_code"] = "D-" + units["district_code"]
    view = choose_view(units, "")
    assert view.draws == "county"
    assert breadcrumb(units, units["district_code"].iloc[0])[-1][0] == units["district_code"].iloc[0]


def test_city_names_come_from_the_catalogue():
    units = pd.DataFrame({"code": ["420302001"], "district_code": ["420302"], "district_name": ["茅箭区"]})
    assert mapview.area_names(units, "city") == {"4203": "十堰市"}
    assert mapview.area_names(units, "province") == {"42": "湖北省"}
