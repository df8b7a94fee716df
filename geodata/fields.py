"""Recognise the columns of township layers and facility ledgers from their many names.

Synonyms cover English names, Chinese headers and 三调-style fields (XZQDM, XZQMC). Matching is
case-insensitive on NFKC-normalised names; the first synonym present wins.
"""
from __future__ import annotations

from collections.abc import Iterable

from coverage.catalog import normalize_label

UNIT_FIELDS: dict[str, tuple[str, ...]] = {
    "code": ("code", "unit_code", "township_code", "township_code_stats2023", "xzqdm", "乡镇代码",
             "街道代码", "乡镇(街道)代码", "区划代码", "统计用区划代码", "行政区划代码", "division_code", "adcode", "代码"),
    "name": ("name", "unit_name", "township_name", "xzqmc", "乡镇名称", "街道名称", "乡镇(街道)名称",
             "乡镇(街道)", "乡镇", "名称", "name:zh"),
    "district_code": ("district_code", "county_code", "区县代码", "县区代码", "县级代码", "xzqdm_x", "qxdm"),
    "district_name": ("district_name", "county_name", "区县名称", "县区名称", "区县", "县区", "所属区县",
                      "县(市、区)", "县市区", "qxmc"),
    "kind": ("kind", "unit_kind", "类型", "乡镇类型", "单元类型"),
    "population": ("population", "人口", "常住人口", "户籍人口", "总人口", "人口数", "常住人口数", "户籍人口数",
                   "总人口数", "年末常住人口", "年末户籍人口", "户籍总人口", "常住总人口"),
    "elderly_population": ("elderly_population", "老年人口", "60岁以上人口", "60周岁以上人口", "老年人数",
                           "60岁及以上人口", "60周岁及以上人口", "60岁以上", "60周岁以上", "60岁及以上",
                           "60周岁及以上", "60岁以上老年人口", "60周岁以上老年人口", "60岁及以上老年人口",
                           "60周岁及以上老年人口", "老年人口数", "elderly", "pop_60plus"),
}

FACILITY_FIELDS: dict[str, tuple[str, ...]] = {
    "facility_id": ("facility_id", "id", "编号", "机构编号", "设施编号", "序号"),
    "name": ("name", "名称", "机构名称", "设施名称", "单位名称"),
    "facility_class": ("facility_class", "类型", "设施类型", "机构类别", "机构类型", "类别", "设施类别", "type", "class"),
    "lon": ("lon", "lng", "long", "longitude", "经度", "x", "坐标x"),
    "lat": ("lat", "latitude", "纬度", "y", "坐标y"),
    "address": ("address", "地址", "详细地址", "机构地址"),
    "operating_status": ("operating_status", "status", "状态", "运营状态", "建设状态"),
    "beds": ("beds", "床位数", "床位", "床位数(张)"),
    "nursing_beds": ("nursing_beds", "护理型床位数", "护理型床位", "护理型床位数(张)", "护理床位数", "护理床位"),
    "built_year": ("built_year", "建成年份", "建成时间", "建成年度", "投运年份", "投入运营时间", "开业年份", "成立年份", "成立时间"),
    "full_time_care": ("full_time_care", "全托"),
    "day_care_service": ("day_care_service", "日托"),
    "home_service": ("home_service", "上门服务"),
    "functions": ("functions", "功能", "服务功能"),
    "stated_township": ("stated_township", "所属乡镇(街道)", "所属乡镇", "所属街道", "乡镇(街道)"),
    "stated_district": ("stated_district", "所属区县", "区县", "所属县(市、区)"),
}


def _key(name: object) -> str:
    return normalize_label(name).lower()


FIELD_LABELS: dict[str, str] = {
    "code": "乡镇代码", "name": "名称", "district_code": "区县代码", "district_name": "区县名称",
    "kind": "乡镇类型", "population": "人口", "elderly_population": "老年人口",
    "facility_id": "编号", "facility_class": "类型", "lon": "经度", "lat": "纬度", "address": "地址",
    "operating_status": "状态", "beds": "床位数", "nursing_beds": "护理型床位数", "built_year": "建成年份", "full_time_care": "全托", "day_care_service": "日托",
    "home_service": "上门服务", "functions": "服务功能", "stated_township": "所属乡镇(街道)",
    "stated_district": "所属区县", "point_id": "编号",
}


def detect_fields(columns: Iterable[object], synonyms: dict[str, tuple[str, ...]],
                  overrides: dict[str, str] | None = None) -> dict[str, str]:
    """Map canonical field -> the input column that holds it (only fields found).

    `overrides` (field -> column, the planner's choice in the field-mapping form) come first;
    an override naming a column the table does not have is ignored, and an empty one means
    "this field is absent". A column is used for at most one field; the other fields are tried
    in the order of `synonyms`.
    """
    by_key: dict[str, str] = {}
    for col in columns:
        by_key.setdefault(_key(col), str(col))
    found: dict[str, str] = {}
    used: set[str] = set()
    skipped: set[str] = set()
    for field, col in (overrides or {}).items():
        if field not in synonyms:
            continue
        if not col:
            skipped.add(field)
        elif _key(col) in by_key and by_key[_key(col)] not in used:
            found[field] = by_key[_key(col)]
            used.add(found[field])
    for field, names in synonyms.items():
        if field in found or field in skipped:
            continue
        for name in names:
            col = by_key.get(_key(name))
            if col is not None and col not in used:
                found[field] = col
                used.add(col)
                break
    return found


def ambiguous_fields(columns: Iterable[object], synonyms: dict[str, tuple[str, ...]],
                     chosen: dict[str, str]) -> dict[str, list[str]]:
    """Fields for which more than one column of the table matches a synonym: field -> candidates
    (the chosen one first), so the page can ask the planner to confirm."""
    by_key: dict[str, str] = {}
    for col in columns:
        by_key.setdefault(_key(col), str(col))
    out: dict[str, list[str]] = {}
    for field, names in synonyms.items():
        candidates = list(dict.fromkeys(by_key[_key(n)] for n in names if _key(n) in by_key))
        if len(candidates) > 1 and field in chosen:
            out[field] = [chosen[field]] + [c for c in candidates if c != chosen[field]]
    return out


def describe_fields(found: dict[str, str]) -> str:
    """'乡镇代码←XZQDM、名称←XZQMC' for messages."""
    return "、".join(f"{FIELD_LABELS.get(f, f)}←{c}" for f, c in found.items())
