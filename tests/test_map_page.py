"""The map page under AppTest: its choices survive page changes; the print layout is on the page.
(The map itself is an unknown element here; tests/e2e/test_map_browser.py clicks it.)"""
import pytest
from streamlit.testing.v1 import AppTest

from tests.test_pages import APP, navigation_as_on_a_running_server  # noqa: F401 (autouse fixture)

# Runs the whole map page several times: in the full run (.ci/run), not the quick set.
pytestmark = pytest.mark.slow

@pytest.fixture
def map_page(tmp_path, monkeypatch):
    monkeypatch.setenv("MZ_WORKSPACE", str(tmp_path / "ws"))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("pages/coverage_map.py").run()
    assert not at.exception, at.exception
    return at


def widgets(at):
    indicator = next(s for s in at.selectbox if s.label == "指标")
    district = next(s for s in at.selectbox if s.label == "区县")
    show_all = next(t for t in at.toggle if t.label == "显示全部类别设施")
    return indicator, district, show_all


def test_map_choices_survive_page_changes(map_page):
    at = map_page
    indicator, district, show_all = widgets(at)
    indicator.select(indicator.options[2]).run()
    chosen_indicator = indicator.options[2]
    _, district, _ = widgets(at)
    district.select("420304").run()  # 郧阳区 (the choice's values are district codes)
    widgets(at)[2].set_value(True).run()
    for other in ("pages/indicators.py", "pages/overview.py"):
        at.switch_page(other).run()
        assert not at.exception, at.exception
        at.switch_page("pages/coverage_map.py").run()
        assert not at.exception, at.exception
        indicator, district, show_all = widgets(at)
        assert (indicator.value, district.value, show_all.value) == (chosen_indicator, "420304", True)
    assert any("共 19 个乡镇(街道)" in c.value for c in at.caption)  # 郧阳区 only


def test_print_layout_export_and_details_prompt_are_on_the_page(map_page):
    at = map_page
    css = next(h.proto.body for h in at.get("html") if "@page" in h.proto.body)
    assert "size: A4 landscape" in css and "@media print" in css
    assert '[data-testid="stSidebar"]' in css and ".st-key-map_controls" in css and ".st-key-map_details" in css
    assert "mz-print-title" in css  # the title printed above the map
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["PNG 图片(300dpi)", "PDF(矢量)"]
    assert any("点击地图上的乡镇(街道)或设施查看详情" in c.value for c in at.caption)
    assert any(s.value == "详情" for s in at.subheader)


def test_service_radius_shows_share_of_elderly_and_a_layer(map_page):
    at = map_page
    next(t for t in at.toggle if t.label == "显示服务半径").set_value(True).run()
    assert not at.exception
    info = " ".join(i.value for i in at.info)
    assert "60岁以上人口中" in info and "千米范围内" in info and "直线距离" in info


def test_service_area_layer_is_drawn_in_metres():
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import Point

    from coverage.access import service_areas
    from geodata.webmap import coverage_map

    units = gpd.GeoDataFrame({"code": ["420302001"], "name": ["甲街道"], "district_code": ["420302"], "district_name": ["茅箭区"]},
                             geometry=[Point(110.8, 32.6).buffer(0.05)], crs=4326)
    fac = gpd.GeoDataFrame({"facility_id": ["1"], "name": ["站"]}, geometry=[Point(110.8, 32.6)], crs=4326)
    areas = service_areas(fac, 2.0, dissolve=True)
    html = coverage_map(units, pd.Series({"420302001": "covered"}), pd.DataFrame(columns=["facility_id", "name", "facility_class", "lon", "lat"]),
                        class_names={}, indicator="测试", service_area=areas).get_root().render()
    label = "服务半径 2 千米(直线距离)"
    assert label in html  # in the legend
    from geodata.mapview import build_layer
    from geodata.webmap import SERVICE_AREA_COLOR, style_payload

    service = style_payload(build_layer(units, ""), indicator="测试", class_names={}, service_area=areas)["service"]
    assert service["color"] == SERVICE_AREA_COLOR
    shape = gpd.GeoDataFrame.from_features(service["data"]["features"], crs=4326).to_crs(4549)
    assert abs(shape.area.sum() / (3.14159 * 2000 ** 2) - 1) < 0.02  # a 2 km circle, in metres


@pytest.fixture
def low_threshold(monkeypatch):
    """The demo's 119 townships treated as a large layer (threshold 50): the map opens on districts."""
    import streamlit as st

    from geodata import mapview

    from pages import _map

    monkeypatch.setattr(mapview, "TOWNSHIP_VIEW_MAX", 50)
    st.cache_data.clear()
    _map._layer.clear()  # drawn layers are held in st.cache_resource
    yield
    st.cache_data.clear()
    _map._layer.clear()


def test_large_layers_open_on_districts_with_a_breadcrumb(low_threshold, map_page):
    at = map_page
    assert any("按区县显示 8 个区域" in c.value for c in at.caption)
    assert any("点击区县进入其乡镇(街道)与设施" in c.value for c in at.caption)
    assert not [b for b in at.button if b.label == "全部"]  # no breadcrumb at the top
    widgets(at)[1].select("420304").run()  # what a click on 郧阳区 does (st_folium's on_change sets the choice)
    assert not at.exception
    assert any("共 19 个乡镇(街道), 显示" in c.value for c in at.caption)
    crumbs = [b.label for b in at.button if b.key and b.key.startswith("map_district_crumb_")]
    assert crumbs == ["全部", "郧阳区"]
    next(b for b in at.button if b.key == "map_district_crumb_0").click().run()
    assert widgets(at)[1].value == "" and any("按区县显示 8 个区域" in c.value for c in at.caption)


def test_basemap_without_key_falls_back_to_none(map_page):
    at = map_page
    basemap = next(s for s in at.selectbox if s.label == "底图")
    assert basemap.value == "none"
    basemap.select("tianditu").run()
    assert not at.exception
    assert any("tianditu_key" in i.value for i in at.info)
    assert any("底图: 无" in c.value for c in at.caption)
