"""Topology report on hand-built layers, and the cleaned-facility exports read back."""
import io
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
from shapely.geometry import box

from coverage.assign import ASSIGNMENT_STATUSES, assign_facilities
from coverage.catalog import load_classes
from geodata.chinacoords import gcj02_to_wgs84
from geodata.export import cleaned_facilities, geopackage_bytes
from reporting.excel import excel_bytes
from geodata.io import read_facilities
from geodata.topology import topology_problems, topology_summary

CLASSES = load_classes()


def layer(geoms):
    return gpd.GeoDataFrame({"code": [f"42030200{i}" for i in range(len(geoms))]}, geometry=geoms, crs=4326)


def test_clean_tiling_has_no_problems():
    units = layer([box(110.0, 32.0, 110.1, 32.1), box(110.1, 32.0, 110.2, 32.1)])
    assert topology_problems(units).empty


def test_overlap_and_gap_found_with_areas_in_square_metres():
    # A 0.01-degree overlap strip between the first two, and a hole left inside a ring of four.
    units = layer([box(110.0, 32.0, 110.11, 32.1), box(110.1, 32.0, 110.2, 32.1),
                   box(110.0, 32.1, 110.2, 32.2).difference(box(110.05, 32.12, 110.06, 32.13)),
                   box(110.0, 31.9, 110.2, 32.0)])
    problems = topology_problems(units)
    summary = topology_summary(problems)
    assert summary["overlaps"] == 1 and summary["gaps"] == 1
    overlap = problems[problems["kind"] == "overlap"].iloc[0]
    assert overlap["unit_codes"] == "420302000,420302001"
    # 0.01 deg lon x 0.1 deg lat at 32 N: ~944 m x ~11.09 km
    assert overlap["area_m2"] == pytest.approx(944.5 * 11090, rel=0.02)
    gap = problems[problems["kind"] == "gap"].iloc[0]
    assert gap["area_m2"] == pytest.approx(944.5 * 1109, rel=0.02)
    assert problems.crs.to_epsg() == 4326  # drawn on the web map as is


def test_cleaned_export_excel_and_geopackage_with_gcj02():
    units = gpd.GeoDataFrame({"code": ["420302001"], "name": ["武当路街道"], "district_code": ["420302"],
                              "district_name": ["茅箭区"], "kind": ["街道"]}, geometry=[box(110.0, 32.0, 110.1, 32.1)], crs=4326)
    ledger = "编号,名称,类型,经度,纬度\nA1,甲中心,养老服务中心,110.05,32.05\nA2,乙站,社工站,,\n"
    fac, _ = read_facilities(ledger.encode(), "f.csv", CLASSES)
    assigned = assign_facilities(units, fac)
    clean = cleaned_facilities(assigned, {"420302001": "武当路街道"}, CLASSES.names,
                               status_labels=ASSIGNMENT_STATUSES, with_gcj02=True)
    wb = openpyxl.load_workbook(io.BytesIO(excel_bytes({"设施": clean})))
    rows = list(wb["设施"].iter_rows(values_only=True))
    header = rows[0]
    first = dict(zip(header, rows[1]))
    assert first["乡镇(街道)"] == "武当路街道" and first["设施类别"] == CLASSES.names["comprehensive_eldercare"]
    back = gcj02_to_wgs84(np.array([float(first["经度(GCJ-02)"])]), np.array([float(first["纬度(GCJ-02)"])]))
    assert back[0][0] == pytest.approx(110.05, abs=1e-7) and back[1][0] == pytest.approx(32.05, abs=1e-7)
    assert first["经度(GCJ-02)"] != pytest.approx(110.05, abs=1e-4)  # really shifted (hundreds of metres)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.gpkg"
        path.write_bytes(geopackage_bytes(clean, "经度(WGS84)", "纬度(WGS84)"))
        gpkg = gpd.read_file(path)
    assert len(gpkg) == 1 and gpkg.crs.to_epsg() == 4326  # the row without coordinates is left out
    assert gpkg["编号"].tolist() == ["A1"] and gpkg.geometry.iloc[0].x == pytest.approx(110.05)
    assert pd.isna(clean.loc[clean["编号"] == "A2", "乡镇代码"]).all()
