"""Hostile and broken input: every file gives a clear Chinese message (a CoverageError) or a repaired
result with a report; nothing else escapes, nothing user-supplied reaches HTML or Excel as code, and
the saved workspace is untouched."""
import hashlib
import io
import json
import zipfile

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
from shapely.geometry import Point, Polygon, box

import geodata.io as gio
from coverage.assign import ASSIGNMENT_STATUSES, assign_facilities
from coverage.catalog import load_classes
from coverage.errors import CoverageError
from geodata import workspace
from geodata.clean import prepare_facilities
from geodata.demo import load_demo
from geodata.export import cleaned_facilities
from reporting.excel import excel_bytes
from geodata.io import read_facilities, read_units
from geodata.webmap import coverage_map

CLASSES = load_classes()


def geojson(features, crs=None) -> bytes:
    fc = {"type": "FeatureCollection", "features": features}
    if crs:
        fc["crs"] = {"type": "name", "properties": {"name": crs}}
    return json.dumps(fc, ensure_ascii=False).encode()


def feature(code, name, coords, geom_type="Polygon"):
    return {"type": "Feature", "properties": {"code": code, "name": name}, "geometry": {"type": geom_type, "coordinates": coords}}


SQUARE = [[[110.0, 32.0], [110.1, 32.0], [110.1, 32.1], [110.0, 32.1], [110.0, 32.0]]]
GOOD = geojson([feature("420302001", "武当路街道", SQUARE)])


def zipped(members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def shapefile_members(gdf: gpd.GeoDataFrame, tmp) -> dict[str, bytes]:
    gdf.to_file(tmp / "t.shp", engine="pyogrio")
    return {f"t{ext}": (tmp / f"t{ext}").read_bytes() for ext in (".shp", ".shx", ".dbf", ".prj")}


def xlsx(rows: list[list]) -> bytes:
    buf = io.BytesIO()
    pd.DataFrame(rows[1:], columns=rows[0]).to_excel(buf, index=False)
    return buf.getvalue()


def unit_cases(tmp):
    layer = gpd.GeoDataFrame({"code": ["420302001"], "name": ["武当路街道"]}, geometry=[box(110, 32, 110.1, 32.1)], crs=4326)
    shp = shapefile_members(layer, tmp)
    bowtie = [[[110.0, 32.0], [110.1, 32.1], [110.1, 32.0], [110.0, 32.1], [110.0, 32.0]]]
    return {
        "empty.geojson": (b"", "error"),
        "truncated.geojson": (GOOD[: len(GOOD) // 2], "error"),
        "png-as.geojson": (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "error"),
        "text-as.gpkg": (b"just some text, not sqlite", "error"),
        "random.zip": (np.random.default_rng(1).bytes(4096), "error"),
        "zipslip.zip": (zipped({"../../evil.shp": b"x", "../../evil.dbf": b"x", "../../evil.shx": b"x"}), "error"),
        "abspath.zip": (zipped({"/etc/evil.shp": b"x"}), "error"),
        "bomb.zip": (zipped({"a.shp": b"\0" * (40 * 2**20)}, zipfile.ZIP_DEFLATED), "error"),
        "many-members.zip": (zipped({f"f{i}.txt": b"x" for i in range(gio.MAX_ZIP_MEMBERS + 5)}), "error"),
        "no-shp.zip": (zipped({"readme.txt": "说明".encode()}), "error"),
        "no-dbf.zip": (zipped({k: v for k, v in shp.items() if not k.endswith(".dbf")}), "error"),
        "corrupt-shp.zip": (zipped(shp | {"t.shp": shp["t.shp"][:60]}), "error"),
        "corrupt-dbf.zip": (zipped(shp | {"t.dbf": b"\x03garbage" * 10}), "error"),
        "bowtie.geojson": (geojson([feature("420302001", "甲街道", bowtie), feature("420302002", "乙街道",
                                     [[[110.2, 32.0], [110.3, 32.0], [110.3, 32.1], [110.2, 32.0]]])]), "ok"),
        "some-empty.geojson": (geojson([feature("420302001", "甲街道", SQUARE),
                                        {"type": "Feature", "properties": {"code": "420302002", "name": "乙"}, "geometry": None}]), "ok"),
        "all-empty.geojson": (geojson([{"type": "Feature", "properties": {"code": "420302002", "name": "乙"}, "geometry": None}]), "error"),
        "nan-coords.geojson": (GOOD.replace(b"110.1", b"NaN"), "error"),
        "huge-coords.geojson": (GOOD.replace(b"110.1", b"1e300"), "error"),
        "points.geojson": (geojson([feature("420302001", "甲街道", [110.0, 32.0], "Point")]), "error"),
        "script-names.geojson": (geojson([feature("420302001", "<script>alert('x')</script>街道", SQUARE)]), "ok"),
        "gbk.geojson": (GOOD.decode().encode("gbk"), "either"),
        "dup-codes.geojson": (geojson([feature("420302001", "甲", SQUARE), feature("420302001", "乙", SQUARE)]), "error"),
        "no-code.geojson": (GOOD.replace(b'"code"', b'"foo"'), "error"),
        "word.docx": (b"PK\x03\x04docx", "error"),
        "no-kml.kmz": (zipped({"images/a.png": b"\x89PNG"}), "error"),
        "metres-as-degrees.geojson": (geojson([feature("420302001", "甲街道", [[[500000, 3500000], [510000, 3500000], [510000, 3510000], [500000, 3500000]]])],
                                              crs="urn:ogc:def:crs:OGC:1.3:CRS84"), "error"),
        "code-not-digits.geojson": (geojson([feature("甲乙丙", "甲街道", SQUARE)]), "error"),
    }


FAC_HEAD = "编号,名称,类型,经度,纬度,地址\n"


def facility_cases():
    return {
        "empty.csv": (b"", "error"),
        "header-only.csv": (FAC_HEAD.encode(), "ok"),
        "garbage.csv": (bytes(range(256)) * 8, "error"),
        "corrupt.xlsx": (b"PK\x03\x04 not really", "error"),
        "garbage.xls": (b"\xd0\xcf\x11\xe0 nope", "error"),
        "utf16.csv": (FAC_HEAD.encode("utf-16"), "ok"),
        "utf16-tabs.txt": ((FAC_HEAD + "1,甲,社工站,110.05,32.05,某地\n").replace(",", "\t").encode("utf-16"), "ok"),
        "ragged.csv": ((FAC_HEAD + "1,甲,社工站,110.05,32.05,地址,多余,更多\n").encode(), "either"),
        "formulas.csv": ((FAC_HEAD + '1,=HYPERLINK("http://evil"),社工站,110.05,32.05,+cmd|calc\n2,@SUM(A1),=1+1,110.06,32.06,-2\n').encode(), "ok"),
        "html-names.csv": ((FAC_HEAD + '1,<img src=x onerror=alert(1)>,社工站,110.05,32.05,<b>地址</b>\n').encode(), "ok"),
        "bad-numbers.csv": ((FAC_HEAD + "1,甲,社工站,NaN,inf\n2,乙,社工站,1e308,-1e308\n3,丙,社工站,abc,\n").encode(), "ok"),
        "formulas.xlsx": (xlsx([["名称", "类型", "经度", "纬度"], ["=1+1", "=A1", 110.05, 32.05]]), "ok"),
        "no-columns.csv": ("甲,乙\n1,2\n".encode(), "error"),
    }


@pytest.fixture
def saved_workspace(tmp_path):
    u, f = load_demo()
    units, _ = read_units(u)
    fac, _ = read_facilities(f, None, CLASSES)
    root = tmp_path / "ws"
    workspace.save_dataset(units, fac, root)
    digest = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in root.iterdir()}
    return root, digest, units


def test_corpus_is_large_enough(tmp_path):
    assert len(unit_cases(tmp_path)) + len(facility_cases()) >= 30


def check(outcome, expected):
    kind, value = outcome
    if expected == "error":
        assert kind == "error", f"expected a Chinese error, got a result"
    elif expected == "ok":
        assert kind == "ok", f"expected a result, got: {value}"
    if kind == "error":
        assert any("\u4e00" <= ch <= "\u9fff" for ch in str(value)), f"message not in Chinese: {value}"


def attempt(fn, *args, **kwargs):
    try:
        return "ok", fn(*args, **kwargs)
    except CoverageError as err:  # anything else is a bug and fails the test
        return "error", err


def test_hostile_unit_files(tmp_path, saved_workspace):
    root, digest, _ = saved_workspace
    for name, (raw, expected) in unit_cases(tmp_path).items():
        outcome = attempt(read_units, raw, name)
        check(outcome, expected)
        if outcome[0] == "ok":
            units, report = outcome[1]
            assert units.is_valid.all() and not units.geometry.is_empty.any(), name
            if name == "bowtie.geojson":
                assert report.repaired_geometries == 1
            if name == "some-empty.geojson":
                assert report.dropped_empty_geometries == 1
            if name == "script-names.geojson":
                status = pd.Series({c: "covered" for c in units["code"]})
                html = coverage_map(units, status, pd.DataFrame(columns=["facility_id", "name", "facility_class", "lon", "lat"]),
                                    class_names=CLASSES.names, indicator="x").get_root().render()
                assert "<script>alert('x')" not in html
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in root.iterdir()} == digest


@pytest.mark.slow
def test_hostile_facility_files(saved_workspace):
    root, digest, units = saved_workspace
    for name, (raw, expected) in facility_cases().items():
        outcome = attempt(read_facilities, raw, name, CLASSES)
        check(outcome, expected)
        if outcome[0] != "ok":
            continue
        fac, _ = outcome[1]
        fac, _ = prepare_facilities(fac, units, system="wgs84")
        assigned = assign_facilities(units, fac)
        clean = cleaned_facilities(assigned, {}, CLASSES.names, status_labels=ASSIGNMENT_STATUSES)
        wb = openpyxl.load_workbook(io.BytesIO(excel_bytes({"x": clean})))
        cells = [c for row in wb["x"].iter_rows() for c in row]
        assert not any(c.data_type == "f" for c in cells), f"{name}: formula written to Excel"
        shown = assigned.dropna(subset=["lon"])
        if len(shown):
            status = pd.Series({c: "covered" for c in units["code"]})
            html = coverage_map(units, status, shown, class_names=CLASSES.names, indicator="x").get_root().render()
            assert "<img src=x" not in html and "<b>地址" not in html
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in root.iterdir()} == digest


def test_file_too_large(monkeypatch):
    monkeypatch.setattr(gio, "MAX_FILE_BYTES", 1000)
    with pytest.raises(CoverageError, match="MB"):
        read_units(GOOD * 50, "big.geojson")
    with pytest.raises(CoverageError, match="MB"):
        read_facilities((FAC_HEAD * 100).encode(), "big.csv", CLASSES)
