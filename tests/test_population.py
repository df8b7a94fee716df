"""geodata.population: township population tables joined by code, village/community points."""
import io
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from coverage.errors import CoverageError, FieldMappingError, InputFileError, PopulationTableError
from geodata.population import join_population, read_demand_points, township_code


def units(**extra) -> gpd.GeoDataFrame:
    data = {"code": ["370102001", "370102002", "370102003"], "name": ["甲街道", "乙街道", "丙镇"],
            "district_code": ["370102"] * 3}
    data.update(extra)
    return gpd.GeoDataFrame(data, geometry=[box(i, 0, i + 1, 1) for i in range(3)], crs=4326)


def xlsx(rows: list[list]) -> bytes:
    buf = io.BytesIO()
    width = max(map(len, rows))
    rows = [r + [None] * (width - len(r)) for r in rows]
    pd.DataFrame(rows).to_excel(buf, header=False, index=False)
    return buf.getvalue()


@pytest.mark.parametrize(("value", "code"), [
    ("370102001", "370102001"), ("370102001000", "370102001"), (370102001000, "370102001"),
    (370102001.0, "370102001"), ("３７０１０２００１", "370102001"), (" 370102001 ", "370102001"),
    ("370102001001", None), ("3701020", None), ("", None), (None, None), ("合计", None),
])
def test_township_code_on_nine_digits(value, code):
    assert township_code(value) == code


def test_join_gbk_csv_with_title_rows_and_mixed_code_lengths():
    text = ("历下区各街道人口统计表\n单位: 人\n"
            "统计用区划代码,乡镇名称,常住人口,60岁及以上人口\n"
            "370102001000,甲街道,\"12,000\",3000\n"
            "370102002,乙街道,8000,2000\n")
    out, report = join_population(units(), text.encode("gbk"), "人口.csv")
    assert report.encoding == "GBK/GB18030"
    assert report.columns_used == {"code": "统计用区划代码", "name": "乡镇名称", "population": "常住人口",
                                   "elderly_population": "60岁及以上人口"}
    assert out["population"].tolist()[:2] == [12000, 8000]
    assert out["elderly_population"].tolist()[:2] == [3000, 2000]
    assert math.isnan(out["population"].iloc[2])
    assert report.matched == 2 and report.units_without_data == ["370102003"]
    assert any("370102003" in n for n in report.notes)
    assert isinstance(out, gpd.GeoDataFrame) and out.crs.to_epsg() == 4326


def test_join_excel_with_title_row_and_twelve_digit_layer_codes():
    body = xlsx([["2023年各乡镇老年人口"], ["乡镇代码", "乡镇", "户籍人口", "60周岁以上"],
                 [370102001, "甲街道", 10000, 2500], [370102002, "乙街道", 9000, 1800],
                 [370102003, "丙镇", 7000, 2100]])
    layer = units()
    layer["code"] = layer["code"] + "000"
    out, report = join_population(layer, body, "人口.xlsx")
    assert out["elderly_population"].tolist() == [2500, 1800, 2100]
    assert report.matched == 3 and not report.unmatched_codes and not report.units_without_data
    assert out["code"].tolist() == layer["code"].tolist()  # the layer's own codes are kept


def test_unmatched_codes_are_listed_with_reasons():
    text = ("乡镇代码,名称,总人口,老年人口\n370102001,甲街道,100,20\n370199001,外区,50,10\n"
            "370102001004,某村,30,5\n,合计,180,35\nabc,错行,1,1\n")
    out, report = join_population(units(), text.encode("utf-8"), "p.csv")
    reasons = {r["code"]: r["reason"] for r in report.unmatched_codes}
    assert reasons["370199001"] == "边界图层中没有此乡镇代码"
    assert "村(社区)级代码" in reasons["370102001004"]
    assert "代码为空" in reasons[""]
    assert reasons["abc"] == "代码不是数字"
    assert [r["row"] for r in report.unmatched_codes] == [2, 3, 4, 5]
    assert report.matched == 1 and out["population"].iloc[0] == 100


def test_duplicate_codes_are_refused_in_chinese():
    text = "乡镇代码,总人口\n370102001,100\n370102001000,120\n370102002,90\n"
    with pytest.raises(PopulationTableError, match="重复") as err:
        join_population(units(), text.encode("utf-8"), "p.csv")
    assert "370102001" in str(err.value) and "第 1, 2 行" in str(err.value)
    assert isinstance(err.value, CoverageError)


def test_non_numeric_cells_are_reported_and_left_missing():
    text = "乡镇代码,总人口,60岁以上人口\n370102001,约一万,2000\n370102002,-5,１２３\n370102003,,100人\n"
    out, report = join_population(units(), text.encode("utf-8"), "p.csv")
    assert {(c["row"], c["column"], c["value"]) for c in report.non_numeric} == {(1, "总人口", "约一万"), (2, "总人口", "-5")}
    assert np.isnan(out["population"]).all()
    assert out["elderly_population"].tolist() == [2000, 123, 100]


def test_layer_population_kept_where_the_table_says_nothing():
    layer = units(population=[1.0, 2.0, 3.0], elderly_population=[0.5, 0.6, 0.7])
    out, report = join_population(layer, "乡镇代码,60岁以上人口\n370102001,40\n".encode(), "p.csv")
    assert out["elderly_population"].tolist() == [40, 0.6, 0.7]
    assert out["population"].tolist() == [1, 2, 3]
    assert any("替换" in n for n in report.notes)
    assert layer["elderly_population"].tolist() == [0.5, 0.6, 0.7]  # input unchanged


def test_elderly_above_total_is_flagged():
    _, report = join_population(units(), "乡镇代码,总人口,老年人口\n370102001,10,20\n".encode(), "p.csv")
    assert any("大于总人口" in n for n in report.notes)


@pytest.mark.parametrize(("text", "missing"), [
    ("名称,总人口\n甲街道,100\n", ["code"]),
    ("乡镇代码,名称\n370102001,甲街道\n", ["population"]),
])
def test_missing_columns_are_named(text, missing):
    with pytest.raises(FieldMappingError, match="人口表中找不到必需的列") as err:
        join_population(units(), text.encode(), "p.csv")
    assert err.value.missing == missing


def test_field_map_picks_the_planners_column():
    text = "乡镇代码,常住人口,户籍人口\n370102001,100,90\n"
    out, report = join_population(units(), text.encode(), "p.csv", field_map={"population": "户籍人口"})
    assert out["population"].iloc[0] == 90 and report.columns_used["population"] == "户籍人口"


@pytest.mark.parametrize(("raw", "name", "match"), [
    (b"", "p.csv", "空文件"), (b"x", "p.pdf", "不支持的人口表格式"), (b"\xff\xfe\x00", "p.xlsx", "p.xlsx"),
])
def test_bad_files_raise_chinese_errors(raw, name, match):
    with pytest.raises(InputFileError, match=match):
        join_population(units(), raw, name)


# ---------------------------------------------------------------- village/community points

def test_read_demand_points():
    text = ("村(社区)名称,经度,纬度,总人口,60岁以上人口\n"
            "张村,117.01,36.65,1200,300\n李村,36.66,117.02,800,200\n"  # second row swapped
            "王村,,,500,100\n赵村,117.03,36.67,600,不详\n")
    points, report = read_demand_points(text.encode("gbk"), "村.csv")
    assert points.crs.to_epsg() == 4326 and len(points) == 4
    assert points["name"].tolist() == ["张村", "李村", "王村", "赵村"]
    assert points.geometry.iloc[1].x == pytest.approx(117.02)
    assert report.swapped == ["R2"] and report.bad_coordinates == ["R3"]
    assert points.geometry.iloc[2] is None
    assert points["elderly_population"].iloc[:3].tolist() == [300, 200, 100] and np.isnan(points["elderly_population"].iloc[3])
    assert report.non_numeric == [{"row": 4, "column": "60岁以上人口", "value": "不详"}]


def test_demand_points_from_gcj02_are_converted():
    text = "编号,lng,lat,elderly\nV1,117.0,36.6,10\n"
    wgs, _ = read_demand_points(text.encode(), "v.csv")
    gcj, report = read_demand_points(text.encode(), "v.csv", system="gcj02")
    assert gcj["point_id"].tolist() == ["V1"]
    shift = gpd.GeoSeries([wgs.geometry.iloc[0], gcj.geometry.iloc[0]], crs=4326).to_crs(4549)
    assert 100 < shift.iloc[0].distance(shift.iloc[1]) < 1000
    assert "GCJ-02" in report.crs


def test_demand_points_need_coordinates_and_a_count():
    with pytest.raises(FieldMappingError, match="村\\(社区\\)点表中找不到必需的列") as err:
        read_demand_points("名称,经度\n张村,117\n".encode(), "v.csv")
    assert err.value.missing == ["lat", "population"]
