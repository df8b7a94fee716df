"""Map payload: no off-host assets, escaped user text, click mapping."""
import re

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from coverage.catalog import load_classes
from geodata.io import read_facilities, read_units
from geodata.demo import load_demo
from geodata.webmap import clicked_unit_code, coverage_map, localize_assets

CLASSES = load_classes()


def render(units, facilities, indicator="指标"):
    status = pd.Series({c: "covered" for c in units["code"]})
    return coverage_map(units, status, facilities, class_names=CLASSES.names, indicator=indicator).get_root().render()


def test_demo_map_requests_nothing_off_host():
    u, f = load_demo()
    units, _ = read_units(u)
    facilities, _ = read_facilities(f, None, CLASSES)
    html = render(units, facilities)
    assert re.findall(r"https?://", html) == []
    assert "/app/static/leaflet-1.9.4/leaflet.js" in html


def test_user_text_is_escaped():
    units = gpd.GeoDataFrame({"code": ["110101001"], "name": ["<script>alert(1)</script>街道"], "district_code": ["110101"],
                              "district_name": ["<b>区</b>"], "kind": ["街道"]}, geometry=[box(116, 39, 116.1, 39.1)], crs=4326)
    fac = pd.DataFrame({"facility_id": ["F1"], "name": ['<img src=x onerror="alert(2)">'], "facility_class": ["rescue_station"],
                        "lon": [116.05], "lat": [39.05]})
    html = render(units, fac, indicator="<i>x</i>")
    assert "<script>alert(1)" not in html and "<img src=x" not in html and "<b>区</b>" not in html
    assert "\\u0026lt;script\\u0026gt;" in html  # &lt;script&gt; inside the JSON payload


def test_unknown_cdn_asset_is_refused():
    import folium
    m = folium.Map(tiles=None)
    m.default_js = [("mystery", "https://cdn.example.com/x.js")]
    with pytest.raises(ValueError, match="not served locally"):
        localize_assets(m)


@pytest.mark.parametrize("event, expected", [
    (None, None), ({}, None), ({"last_active_drawing": None}, None),
    ({"last_active_drawing": {"properties": {"unit_code": "420302001", "name": "x"}}}, "420302001"),
    ({"last_active_drawing": {"properties": {"name": "marker"}}}, None),
])
def test_clicked_unit_code(event, expected):
    assert clicked_unit_code(event) == expected
