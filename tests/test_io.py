"""Readers: township layers in several formats and field namings, facility ledgers, bad files."""
import io
import zipfile

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Polygon, box

from coverage.catalog import load_classes
from coverage.errors import CoverageError, CRSError, FieldMappingError, InputFileError, UnsafeArchiveError
from geodata.io import read_facilities, read_units, unit_kind

CLASSES = load_classes()


def sanxiao_layer(crs=4490):
    """Two townships with 三调-style fields, in degrees."""
    return gpd.GeoDataFrame({"XZQDM": ["420302001", "420302100"], "XZQMC": ["武当路街道", "大川镇"]},
                            geometry=[box(110.0, 32.0, 110.1, 32.1), box(110.1, 32.0, 110.2, 32.1)], crs=crs)


def zipped_shapefile(gdf, tmp_path, encoding="GBK", keep_cpg=False, keep_prj=True) -> bytes:
    folder = tmp_path / "shp"
    folder.mkdir(exist_ok=True)
    gdf.to_file(folder / "乡镇.shp", encoding=encoding, engine="pyogrio")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for f in folder.iterdir():
            if (f.suffix == ".cpg" and not keep_cpg) or (f.suffix == ".prj" and not keep_prj):
                continue
            zf.write(f, f.name)
    return buf.getvalue()


def test_geojson_sanxiao_fields_district_derived(tmp_path):
    path = tmp_path / "t.geojson"
    sanxiao_layer().to_file(path, driver="GeoJSON")
    units, report = read_units(path)
    assert units["code"].tolist() == ["420302001", "420302100"]
    assert units["district_code"].tolist() == ["420302", "420302"]
    assert units["district_name"].tolist() == ["茅箭区", "茅箭区"]
    assert units["kind"].tolist() == ["街道", "镇"]
    assert units.crs.to_epsg() == 4326
    assert report.columns_used["code"] == "XZQDM"


def test_chinese_field_names(tmp_path):
    gdf = sanxiao_layer().rename(columns={"XZQDM": "乡镇代码", "XZQMC": "乡镇名称"})
    gdf["区县名称"] = "某区"
    path = tmp_path / "t.gpkg"
    gdf.to_file(path, driver="GPKG")
    units, _ = read_units(path)
    assert units["name"].tolist() == ["武当路街道", "大川镇"] and units["district_name"].tolist() == ["某区", "某区"]


def test_zipped_gbk_shapefile_without_cpg_reads_chinese(tmp_path):
    raw = zipped_shapefile(sanxiao_layer(), tmp_path, encoding="GBK")
    units, report = read_units(raw, "乡镇.zip")
    assert units["name"].tolist() == ["武当路街道", "大川镇"]
    assert report.encoding == "GB18030"


def test_projected_shapefile_is_reprojected(tmp_path):
    raw = zipped_shapefile(sanxiao_layer().to_crs(4545), tmp_path, encoding="UTF-8", keep_cpg=True)
    units, _ = read_units(raw, "x.zip")
    assert units.total_bounds == pytest.approx([110.0, 32.0, 110.2, 32.1], abs=1e-6)


def test_projected_without_prj_zone_inferred_from_codes(tmp_path):
    raw = zipped_shapefile(sanxiao_layer().to_crs(4546), tmp_path, keep_prj=False)  # CM 111E, 十堰's zone
    units, report = read_units(raw, "x.zip")
    assert report.crs_inferred and "111°E" in " ".join(report.notes)
    assert units.total_bounds == pytest.approx([110.0, 32.0, 110.2, 32.1], abs=1e-6)


def test_projected_without_prj_zone_prefix(tmp_path):
    raw = zipped_shapefile(sanxiao_layer().to_crs(4525), tmp_path, keep_prj=False)  # 3-degree zone 37, with prefix
    units, report = read_units(raw, "x.zip")
    assert "带号 37" in " ".join(report.notes)
    assert units.total_bounds == pytest.approx([110.0, 32.0, 110.2, 32.1], abs=1e-6)


def test_projected_without_prj_wrong_zone_is_refused_then_overridable(tmp_path):
    raw = zipped_shapefile(sanxiao_layer().to_crs(4545), tmp_path, keep_prj=False)  # CM 108E: not where the codes are
    with pytest.raises(CRSError, match="手动选择"):
        read_units(raw, "x.zip")
    units, _ = read_units(raw, "x.zip", crs=4545)
    assert units.total_bounds == pytest.approx([110.0, 32.0, 110.2, 32.1], abs=1e-6)


def test_projected_without_prj_or_codes_is_refused_in_chinese(tmp_path):
    gdf = sanxiao_layer().to_crs(4546)
    gdf["XZQDM"] = ["999999001", "999999100"]
    raw = zipped_shapefile(gdf, tmp_path, keep_prj=False)
    with pytest.raises(CRSError, match="坐标系"):
        read_units(raw, "x.zip")


def test_self_intersecting_polygon_repaired_and_counted(tmp_path):
    gdf = sanxiao_layer()
    gdf.loc[0, "geometry"] = Polygon([(110.0, 32.0), (110.1, 32.1), (110.1, 32.0), (110.0, 32.1)])  # bow-tie
    path = tmp_path / "t.geojson"
    gdf.to_file(path, driver="GeoJSON")
    units, report = read_units(path)
    assert report.repaired_geometries == 1 and units.is_valid.all()


def test_duplicate_codes_refused(tmp_path):
    gdf = sanxiao_layer()
    gdf.loc[1, "XZQDM"] = "420302001"
    path = tmp_path / "t.geojson"
    gdf.to_file(path, driver="GeoJSON")
    with pytest.raises(CoverageError, match="重复"):
        read_units(path)


@pytest.mark.parametrize("raw, name, error", [
    (b"", "a.geojson", InputFileError),
    (b"hello, not geo", "a.geojson", InputFileError),
    (b'{"type": "FeatureCollection", "features": []}', "a.geojson", InputFileError),
    (b"PK\x03\x04 broken", "a.zip", InputFileError),
    (b"anything", "a.docx", InputFileError),
])
def test_bad_unit_files_give_chinese_errors(raw, name, error):
    with pytest.raises(error) as err:
        read_units(raw, name)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in str(err.value))


def test_zip_slip_refused():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("../../evil.shp", b"x")
    with pytest.raises(UnsafeArchiveError):
        read_units(buf.getvalue(), "evil.zip")


def test_zip_bomb_refused():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.shp", b"\0" * (50 * 2**20))
    with pytest.raises(UnsafeArchiveError, match="压缩"):
        read_units(buf.getvalue(), "bomb.zip")


def test_missing_code_field_lists_columns(tmp_path):
    path = tmp_path / "t.geojson"
    sanxiao_layer().rename(columns={"XZQDM": "foo"}).to_file(path, driver="GeoJSON")
    with pytest.raises(FieldMappingError, match="foo"):
        read_units(path)


def test_unrecognised_unit_fields_mapped_by_hand(tmp_path):
    path = tmp_path / "t.geojson"
    sanxiao_layer().rename(columns={"XZQDM": "BM", "XZQMC": "MC"}).to_file(path, driver="GeoJSON")
    with pytest.raises(FieldMappingError) as info:
        read_units(path)
    assert set(info.value.missing) == {"code", "name"} and set(info.value.columns) == {"BM", "MC"}
    units, report = read_units(path, field_map={"code": "BM", "name": "MC"})
    assert units["code"].tolist() == ["420302001", "420302100"] and units["name"].tolist() == ["武当路街道", "大川镇"]
    assert report.columns_used == {"code": "BM", "name": "MC"}


def test_ambiguous_unit_fields_reported_and_overridable(tmp_path):
    gdf = sanxiao_layer()
    gdf["乡镇代码"] = ["420302002", "420302101"]  # a second code column, e.g. an older code
    path = tmp_path / "t.geojson"
    gdf.to_file(path, driver="GeoJSON")
    units, report = read_units(path)
    assert report.fields_ambiguous == {"code": ["XZQDM", "乡镇代码"]}
    assert any("另有候选字段 乡镇代码" in n for n in report.notes)
    assert units["code"].tolist() == ["420302001", "420302100"]
    units, report = read_units(path, field_map={"code": "乡镇代码"})
    assert units["code"].tolist() == ["420302002", "420302101"] and not report.notes[-1].startswith("「乡镇代码")


def test_ledger_headers_mapped_by_hand():
    text = "台账\n机构名,服务类型,东经,北纬\n甲中心,养老服务中心,110.05,32.05\n乙站,社工站,110.15,32.05\n"
    with pytest.raises(FieldMappingError) as info:
        read_facilities(text.encode(), "f.csv", CLASSES)
    assert "name" in info.value.missing and "服务类型" in info.value.columns
    fac, report = read_facilities(text.encode(), "f.csv", CLASSES,
                                  field_map={"name": "机构名", "facility_class": "服务类型", "lon": "东经", "lat": "北纬"})
    assert fac["name"].tolist() == ["甲中心", "乙站"]  # header found below the title row through the mapping
    assert fac["facility_class"].tolist() == ["comprehensive_eldercare", "social_work_station"]
    assert fac["lon"].tolist() == [110.05, 110.15]


def test_field_map_blank_means_absent():
    fac, report = read_facilities(LEDGER.encode(), "f.csv", CLASSES, field_map={"operating_status": ""})
    assert "operating_status" not in report.columns_used


@pytest.mark.parametrize("name, code, kind", [("武当路街道", "", "街道"), ("大川镇", "", "镇"), ("茅塔乡", "", "乡"),
                                               ("某某管委会", "420302400", "类似乡级单位"), ("某地", "420302005", "街道"),
                                               ("某某林场", "", "类似乡级单位"), ("某地", "420302450", "类似乡级单位"),
                                               ("某地", "420302", "其他"), ("城关镇(县城)", "", "镇"), ("某苏木", "", "乡")])
def test_unit_kind(name, code, kind):
    assert unit_kind(name, code) == kind


LEDGER = "编号,名称,类型,经度,纬度,状态,全托,日托,上门服务\nA1,甲中心,养老服务中心,110.05,32.05,运营,是,是,是\nA2,乙站,社工站,110.15,32.05,在建,,,\nA3,丙,老年大学,110.15,32.05,运营,,,\nA4,丁,救助站,32.05,110.15,运营,,,\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_encodings(encoding):
    fac, report = read_facilities(LEDGER.encode(encoding), "f.csv", CLASSES)
    assert fac["name"].tolist() == ["甲中心", "乙站", "丙", "丁"]
    assert fac["facility_class"].tolist()[:2] == ["comprehensive_eldercare", "social_work_station"]
    assert pd.isna(fac["facility_class"].iloc[2]) and report.unknown_classes == {"老年大学": 1}
    assert fac["full_time_care"].tolist() == [True, False, False, False]
    assert report.swapped == ["A4"] and (fac.loc[3, "lon"], fac.loc[3, "lat"]) == (110.15, 32.05)  # swapped back


def test_xlsx_with_title_row():
    buf = io.BytesIO()
    rows = [l.split(",") for l in LEDGER.strip().split("\n")]
    with pd.ExcelWriter(buf, engine="openpyxl") as w:
        pd.DataFrame([["十堰市养老服务设施台账(2025年12月)"] + [""] * 8] + rows).to_excel(w, header=False, index=False)
    fac, _ = read_facilities(buf.getvalue(), "台账.xlsx", CLASSES)
    assert fac["facility_id"].tolist() == ["A1", "A2", "A3", "A4"]
    assert fac["lon"].iloc[0] == pytest.approx(110.05)


def test_ledger_without_required_columns():
    with pytest.raises(FieldMappingError, match="经度"):
        read_facilities("名称,类型\n甲,社工站\n".encode(), "f.csv", CLASSES)


def test_ledger_bad_encoding_and_format():
    with pytest.raises(CoverageError):
        read_facilities(b"\xff\xfe\x00\x00garbage\x81", "f.csv", CLASSES)
    with pytest.raises(InputFileError):
        read_facilities(bytes(range(128, 256)) * 4, "f.csv", CLASSES)
    with pytest.raises(InputFileError):
        read_facilities(b"not excel", "f.xlsx", CLASSES)
