"""Basemaps: tiles only for the basemap chosen (none by default), keys, attribution with 审图号,
and the GCJ-02 shift for 高德 applied to what is drawn, never to the data."""
import json
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import box

from coverage.catalog import load_classes
from coverage.errors import CatalogError
from geodata.basemaps import (
    REVIEW_NUMBER_UNKNOWN, choice_labels, load_basemaps, lonlat_to_display, missing_key, tile_urls, to_data, to_display,
)
from geodata.chinacoords import wgs84_to_gcj02
from geodata.mapview import build_layer, decode_layer
from geodata.webmap import decode_facilities, facility_collection, map_frame, style_payload

CLASSES = load_classes()
BASEMAPS = load_basemaps()
HOSTS = {"tianditu": "tianditu.gov.cn", "amap": "autonavi.com", "osm": "openstreetmap.org"}


@pytest.fixture
def units():
    return gpd.GeoDataFrame({"code": ["420302001", "420302002"], "name": ["甲街道", "乙镇"], "district_code": ["420302"] * 2,
                             "district_name": ["茅箭区"] * 2, "kind": ["街道", "镇"]},
                            geometry=[box(110.70, 32.50, 110.80, 32.60), box(110.80, 32.50, 110.90, 32.60)], crs=4326)


@pytest.fixture
def facilities():
    return pd.DataFrame({"facility_id": ["F1"], "name": ["站"], "facility_class": ["social_work_station"],
                         "lon": [110.75], "lat": [32.55]})


def page(units, facilities, basemap_id: str, key: str | None = None) -> str:
    basemap = BASEMAPS[basemap_id]
    layer = build_layer(units, "", system=basemap.system)
    return map_frame(layer, facilities, class_names=CLASSES.names, map_key="m", basemap=basemap,
                     tile_key=key).get_root().render()


def test_catalogue():
    assert list(BASEMAPS)[:1] == ["none"] and set(BASEMAPS) == {"none", "tianditu", "amap", "osm"}
    assert not BASEMAPS["none"].tiles and BASEMAPS["none"].attribution_text == ""
    assert [t.name for t in BASEMAPS["tianditu"].tiles] == ["矢量底图", "矢量注记"]
    assert {BASEMAPS[b].system for b in BASEMAPS} == {"wgs84", "gcj02"} and BASEMAPS["amap"].system == "gcj02"
    for b in ("tianditu", "amap", "osm"):
        assert "审图号" in BASEMAPS[b].attribution_text or REVIEW_NUMBER_UNKNOWN in BASEMAPS[b].attribution_text
        assert all(t.url.startswith("https://") for t in BASEMAPS[b].tiles)


@pytest.mark.parametrize("chosen", ["none", "tianditu", "amap", "osm"])
def test_tiles_are_requested_only_for_the_chosen_basemap(units, facilities, chosen):
    html = page(units, facilities, chosen, key="abc")
    for basemap_id, host in HOSTS.items():
        assert (host in html) is (basemap_id == chosen), (basemap_id, chosen)
    if chosen == "none":
        assert re.findall(r"https?://", html) == []
    else:
        assert "L.tileLayer" not in html  # tiles are made by the map's script from the options
        assert json.dumps(BASEMAPS[chosen].attribution.replace("&", "\\u0026"), ensure_ascii=False)[1:-1] in html


def test_tianditu_key(units, facilities):
    basemap = BASEMAPS["tianditu"]
    assert missing_key(basemap, {}) and not missing_key(basemap, {"tianditu_key": "k"})
    assert choice_labels(BASEMAPS, {})["tianditu"] == "天地图(需配置密钥)"
    assert choice_labels(BASEMAPS, {"tianditu_key": "k"})["tianditu"] == "天地图"
    urls = tile_urls(basemap, "a&b c")
    assert all("tk=a%26b%20c" in u for u in urls) and "LAYER=vec" in urls[0] and "LAYER=cva" in urls[1]
    assert "tk=a%26b%20c" in page(units, facilities, "tianditu", key="a&b c")


def test_a_broken_catalogue_is_refused(tmp_path):
    bad = tmp_path / "basemaps.csv"
    bad.write_text("basemap_id,label,layer,url,subdomains,system,max_zoom,attribution,review_number,key_secret,note\n"
                   "none,无,,,,wgs84,18,,,,\nx,X,a,http://x/{z}/{x}/{y}.png,,bd09,18,x,,,\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="system") as err:
        load_basemaps(bad)
    assert "https" in str(err.value)


def test_amap_shifts_what_is_drawn_and_never_the_data(units, facilities):
    before_units, before_facilities = units.copy(), facilities.copy()
    plain = decode_layer(build_layer(units, "", system="wgs84").geojson)
    shifted = decode_layer(build_layer(units, "", system="gcj02").geojson)
    x0, y0 = shapely.get_coordinates(plain.geometry.to_numpy()).T
    x1, y1 = shapely.get_coordinates(shifted.geometry.to_numpy()).T
    ex, ey = wgs84_to_gcj02(x0, y0)
    assert np.abs(x1 - ex).max() < 2e-4 and np.abs(y1 - ey).max() < 2e-4   # the GCJ-02 offset, to the grid
    assert np.hypot(x1 - x0, y1 - y0).min() > 0.002                        # hundreds of metres, not nothing
    point = decode_facilities(facility_collection(facilities, CLASSES.names, {}, system="gcj02")).iloc[0]
    gx, gy = wgs84_to_gcj02(110.75, 32.55)
    assert (point["lon"], point["lat"]) == (round(float(gx), 5), round(float(gy), 5))
    plain_point = decode_facilities(facility_collection(facilities, CLASSES.names, {}, system="wgs84")).iloc[0]
    assert (plain_point["lon"], plain_point["lat"]) == (110.75, 32.55)
    planned = facilities.assign(site_id="S1")
    layer = build_layer(units, "", system="gcj02")
    site = style_payload(layer, indicator="x", class_names=CLASSES.names, planned=planned, system="gcj02")["planned"][0]
    assert (site["lng"], site["lat"]) == (round(float(gx), 5), round(float(gy), 5))
    # the data stays in WGS84
    assert units.geometry.geom_equals_exact(before_units.geometry, tolerance=0).all()
    pd.testing.assert_frame_equal(facilities, before_facilities)


def test_clicks_on_a_shifted_map_come_back_to_wgs84():
    lon, lat = np.array([110.75, 116.4]), np.array([32.55, 39.9])
    for system in ("wgs84", "gcj02"):
        x, y = lonlat_to_display(lon, lat, system)
        back_x, back_y = to_data(x, y, system)
        assert np.abs(back_x - lon).max() < 1e-7 and np.abs(back_y - lat).max() < 1e-7
    geoms = np.array([shapely.Point(110.75, 32.55)])
    assert to_display(geoms, "wgs84") is geoms
    with pytest.raises(ValueError, match="system"):
        to_display(geoms, "bd09")
