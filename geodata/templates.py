"""Downloadable templates for planners."""
from __future__ import annotations

import pandas as pd

from coverage.catalog import ClassCatalog
from reporting.excel import excel_bytes


def facility_template(classes: ClassCatalog) -> bytes:
    """An Excel facility ledger template: an example sheet, the class list, and instructions."""
    example = pd.DataFrame([
        {"编号": "F0001", "名称": "某某街道综合养老服务中心", "类型": "养老服务中心", "经度": 110.79821, "纬度": 32.62918,
         "地址": "某某区某某街道某某路1号", "状态": "运营", "床位数": 60, "全托": "是", "日托": "是", "上门服务": "是"},
        {"编号": "F0002", "名称": "某某镇社会工作服务站", "类型": "社工站", "经度": 110.91234, "纬度": 32.50123,
         "地址": "某某县某某镇", "状态": "在建", "床位数": "", "全托": "", "日托": "", "上门服务": ""},
    ])
    class_list = classes.table[["name", "count_level", "aliases"]].rename(
        columns={"name": "类别", "count_level": "统计层级", "aliases": "可识别的类型写法(用 | 分隔)"})
    notes = pd.DataFrame({"说明": [
        "必填列: 名称、类型、经度、纬度。编号建议填写, 以便核对。",
        "经纬度为十进制度(如 110.79821)或度分秒; WGS84/CGCS2000(天地图、GPS)、高德(GCJ-02)、百度(BD-09)坐标均可, "
        "上传时按地址所写乡镇自动识别并换算(也可在上传页指定)。同一张表请只用一种坐标。",
        "类型填写「类别」表中的任一写法即可, 如 养老服务中心、社工站、救助站。"
        "注意: 只写「公墓」的按公益性安葬设施统计, 经营性公墓请写「经营性公墓」。",
        "状态: 运营 / 在建 / 规划 / 停用(运营中、正常运营等写法也能识别); 默认只统计运营中的设施, 停用的从不统计。",
        "全托、日托、上门服务: 填 是/否; 三项齐全的养老设施计为「综合功能养老服务机构」。",
    ]})
    return excel_bytes({"设施表": example, "类别": class_list, "填写说明": notes})
