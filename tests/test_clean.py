"""Coordinates as planners have them: DMS, full-width, swapped, GCJ-02/BD-09 detected, by address,
near-duplicates, several sheets, XLS, remembered class mappings."""
import io

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from coverage.catalog import load_classes
from geodata.chinacoords import wgs84_to_bd09, wgs84_to_gcj02
from geodata.clean import prepare_facilities
from geodata.demo import load_demo
from geodata.io import read_facilities, read_units
from geodata.pointcrs import parse_coordinate

CLASSES = load_classes()


@pytest.mark.parametrize("text, value", [
    ("110.786667", 110.786667), ("１１０．５", 110.5), ("110°47'12\"", 110 + 47 / 60 + 12 / 3600),
    ("110°47′12″", 110 + 47 / 60 + 12 / 3600), ("110度47分12秒", 110 + 47 / 60 + 12 / 3600), ("东经110°47'12\"", 110 + 47 / 60 + 12 / 3600),
    ("32°30'N", 32.5), ("110:30:00", 110.5), ("", np.nan), ("abc", np.nan), ("110°75'00\"", np.nan),
])
def test_parse_coordinate(text, value):
    got = parse_coordinate(text)
    assert (np.isnan(value) and np.isnan(got)) or got == pytest.approx(value, abs=1e-9)


@pytest.fixture(scope="module")
def demo():
    u, f = load_demo()
    units, _ = read_units(u)
    facilities, _ = read_facilities(f, None, CLASSES)
    return units, facilities


def ledger_in(system, demo, n=150):
    units, facilities = demo
    fac = facilities.dropna(subset=["lon"]).head(n).copy()
    conv = {"gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09, "wgs84": lambda x, y: (x, y)}[system]
    x, y = conv(fac["lon"].to_numpy(), fac["lat"].to_numpy())
    table = pd.DataFrame({"编号": fac["facility_id"], "名称": fac["name"], "类型": fac["class_raw"],
                          "经度": np.round(x, 7), "纬度": np.round(y, 7), "地址": fac["address"]})
    return table, fac


@pytest.mark.parametrize("system", ["wgs84", "gcj02", "bd09"])
def test_point_system_detected_and_corrected(system, demo):
    units, _ = demo
    table, original = ledger_in(system, demo)
    fac, _ = read_facilities(table.to_csv(index=False).encode(), "f.csv", CLASSES, system="auto")
    out, report = prepare_facilities(fac, units, system="auto")
    assert report["point_system"] == system
    assert report["point_system_detection"]["evidence"]
    err = np.hypot(out["lon"].to_numpy() - original["lon"].to_numpy(), out["lat"].to_numpy() - original["lat"].to_numpy())
    assert np.nanmax(err) < 1e-6  # back to the WGS84 positions (~0.1 m)


def test_declared_system_overrides_detection(demo):
    units, _ = demo
    table, _ = ledger_in("gcj02", demo)
    fac, _ = read_facilities(table.to_csv(index=False).encode(), "f.csv", CLASSES)
    _, report = prepare_facilities(fac, units, system="wgs84")
    assert report["point_system"] == "wgs84" and "point_system_detection" not in report


def test_address_only_rows_placed_by_township_name(demo):
    units, _ = demo
    csv = ("名称,类型,经度,纬度,地址\n甲,社工站,,,湖北省十堰市竹溪县蒋家堰镇某村\n"
           "乙,社工站,,,十堰市房县城关镇\n丙,社工站,,,某个不存在的地方\n").encode()
    fac, _ = read_facilities(csv, "f.csv", CLASSES)
    out, report = prepare_facilities(fac, units, system="wgs84")
    code = dict(zip(units["name"] + units["district_name"], units["code"]))
    assert out["address_unit"].tolist()[:2] == [code["蒋家堰镇竹溪县"], code["城关镇房县"]]  # 城关镇 split by county
    assert report["unplaceable"] == ["R3"]
    from coverage.assign import assign_facilities
    assigned = assign_facilities(units, out)
    assert assigned["status"].tolist() == ["by_address", "by_address", "no_coordinates"]


def test_near_duplicates_within_50m(demo):
    units, _ = demo
    csv = ("编号,名称,类型,经度,纬度\nA,竹溪县城关镇养老服务中心,养老服务中心,109.7170,32.3150\n"
           "B,城关镇养老服务中心,养老服务中心,109.7173,32.3152\n"       # ~35 m, similar name: duplicate
           "C,城关镇社工站,社工站,109.7171,32.3150\n"                    # same place, other class: kept
           "D,竹溪县城关镇养老服务中心,养老服务中心,109.7300,32.3150\n").encode()  # 1.2 km away: kept
    fac, _ = read_facilities(csv, "f.csv", CLASSES)
    out, report = prepare_facilities(fac, units, system="wgs84")
    assert out["duplicate_of"].tolist() == [None, "A", None, None]
    assert report["near_duplicates"] == [{"facility_id": "B", "duplicate_of": "A"}]


def test_several_sheets_combined_or_chosen():
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as w:
        pd.DataFrame({"名称": ["甲"], "类型": ["社工站"], "经度": [110.1], "纬度": [32.1]}).to_excel(w, sheet_name="社工站", index=False)
        pd.DataFrame({"机构名称": ["乙"], "机构类别": ["救助站"], "lng": [110.2], "lat": [32.2]}).to_excel(w, sheet_name="救助站", index=False)
        pd.DataFrame({"说明": ["本表为填报说明"]}).to_excel(w, sheet_name="说明", index=False)
    fac, report = read_facilities(buf.getvalue(), "台账.xlsx", CLASSES)
    assert fac["name"].tolist() == ["甲", "乙"] and report.sheets == ["社工站", "救助站", "说明"]
    one, _ = read_facilities(buf.getvalue(), "台账.xlsx", CLASSES, sheet="救助站")
    assert one["facility_class"].tolist() == ["rescue_station"]


def test_class_mapping_is_applied():
    csv = "名称,类型,经度,纬度\n甲,老年活动之家,110.1,32.1\n".encode()
    fac, report = read_facilities(csv, "f.csv", CLASSES)
    assert report.unknown_classes == {"老年活动之家": 1}
    fac, report = read_facilities(csv, "f.csv", CLASSES, class_mapping={"老年活动之家": "day_care"})
    assert fac["facility_class"].tolist() == ["day_care"] and not report.unknown_classes


def test_projected_facility_coordinates(demo):
    units, facilities = demo
    fac = facilities.dropna(subset=["lon"]).head(20)
    pts = gpd.GeoSeries(fac.geometry, crs=4326).to_crs(4546)
    csv = pd.DataFrame({"名称": fac["name"], "类型": fac["class_raw"], "X": pts.x, "Y": pts.y}).to_csv(index=False).encode()
    read, _ = read_facilities(csv, "f.csv", CLASSES, system="auto")
    out, report = prepare_facilities(read, units, system="auto")
    assert report["point_system"] == "EPSG:4546"
    assert np.allclose(out["lon"], fac["lon"], atol=1e-7)
