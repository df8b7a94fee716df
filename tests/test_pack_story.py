"""The meeting pack tells the story: a cover, a summary written from the coverage table, the
counting rules, consecutive section numbers, 全市 rows, names by area for the 通用 plan, Excel that
planners can use, map labels that cover no facility and no other label."""
import io
import re
import zipfile
from datetime import date

import numpy as np
import openpyxl
import pandas as pd
import pytest

from coverage.config import CoverageConfig
from coverage.evaluate import AREA_CODE, NO_DATA_MESSAGE
from coverage.evaluation import (
    BINDING_UNSTATED, district_gap_note, district_sentences, district_table, indicator_sentences, overall_sentence,
)
from coverage.plans import GENERIC_PLAN
from reporting.excel import PERCENT_FORMAT, download_name, excel_bytes
from reporting.meeting_pack import (
    NO_DATA_VERDICT, SECTION_NUMBERS, build_pack, counting_rules, ledger_xlsx, pack_file_name, report_docx, report_pdf,
    slides_pptx,
)
from tests.test_pack_safety import NO_DATA_IDS, PLAN, TARGETS, docx_sections, make_data

# Renders documents or runs whole pages: in the full run (.ci/run), not the quick set.
pytestmark = pytest.mark.slow

ORG = "某市民政局规划科"
#: 60 % of the townships: 一区 2 of 4 covered (needs 1 more), 二县 0 of 1 (needs 1), the whole area 2 of 5
#: (needs 1): the districts' gaps add up to 2, the area's is 1.
SIXTY = [("T-60", "乡镇(街道)养老服务机构覆盖率(60%)", "comprehensive_eldercare", "coverage", "乡镇(街道)", 0.6)]


def docx_body(content: bytes):
    """(paragraph texts of the first section, heading texts in order) of a .docx."""
    from docx import Document
    from docx.text.paragraph import Paragraph

    doc = Document(io.BytesIO(content))
    first, in_first, headings = [], True, []
    for el in doc.element.body.iterchildren():
        if el.tag.endswith("}p"):
            p = Paragraph(el, doc)
            if in_first:
                first.append(p.text)
            if p.style.name.startswith("Heading"):
                headings.append((p.style.name, p.text))
            if el.find(".//{http://schemas.openxmlformats.org/wordprocessingml/2006/main}sectPr") is not None:
                in_first = False
        elif el.tag.endswith("}tbl") and in_first:
            first.append("<table>")
    return first, headings


# ----------------------------------------------------------------- cover

def test_docx_and_pdf_open_with_a_cover(squares):
    data = make_data(squares)
    data.org = ORG
    first, _ = docx_body(report_docx(data, {}))
    cover = "\n".join(first)
    assert f"{data.area_name}民政设施覆盖评估报告" in cover and f"《{PLAN}》" in cover
    assert f"编制单位: {ORG}" in cover and "编制日期: 2024年6月1日" in cover
    assert "<table>" not in first and "摘要" not in cover  # the cover is a page of its own

    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(report_pdf(data, {})))
    page1 = reader.pages[0].extract_text().replace(" ", "").replace("\x00", "")
    assert "民政设施覆盖评估报告" in page1 and ORG in page1 and "2024年6月1日" in page1
    assert "主要指标" not in page1 and reader.outline[0].title == "摘要"
    assert reader.get_destination_page_number(reader.outline[0]) == 1  # the 摘要 starts on page 2


def test_cover_without_org_has_no_empty_line(squares):
    first, _ = docx_body(report_docx(make_data(squares), {}))
    assert not any(line.startswith("编制单位") for line in first)


def test_slides_open_with_cover_and_key_points(squares):
    from pptx import Presentation

    data = make_data(squares)
    data.org = ORG
    prs = Presentation(io.BytesIO(slides_pptx(data, {})))
    texts = [" ".join(sh.text_frame.text for sh in s.shapes if sh.has_text_frame) for s in prs.slides]
    assert data.title in texts[0] and ORG in texts[0] and data.date_text in texts[0]
    assert texts[1].startswith("主要结论") and overall_sentence(data.result) in texts[1]
    assert "属性(约束性/预期性): 预期性" in texts[2] and "—" not in texts[2].split("属性")[1]


# ----------------------------------------------------------------- the summary, from the numbers

def summary_text(content: bytes) -> str:
    sections = docx_sections(content)
    return sections["摘要"] + sections.get("分指标", "") + sections.get("分区县", "")


def test_summary_names_every_district_short_of_a_target_with_its_number(squares):
    data = make_data(squares, targets=SIXTY + TARGETS[1:])
    text = summary_text(report_docx(data, {}))
    cov = data.result.coverage
    per = cov[(cov["district_code"] != AREA_CODE) & ~cov["no_data"] & (cov["measure"] == "coverage")]
    checked = 0
    for r in per.itertuples():
        if r.met:
            continue
        if r.level in ("县(市、区)", "县"):
            assert re.search(rf"{re.escape(r.indicator)}[^\n]*尚未建有的: [^\n]*{r.district_name}", text), r
        else:
            assert f"{r.district_name}还需 {r.units_needed} 个" in text, r
        checked += 1
    assert checked >= 2
    for r in cov[cov["district_code"] == AREA_CODE].itertuples():
        if r.no_data:
            assert re.search(rf"台账中无此类设施 {len(NO_DATA_IDS)} 项[^\n]*{re.escape(r.indicator)}", text)
        elif r.met:
            assert re.search(rf"已达标 \d+ 项: [^\n]*{re.escape(r.indicator)}", text)
        elif r.measure == "coverage":
            assert f"还需 {r.units_needed} 个" in text.split(r.indicator, 1)[1].split("\n")[0]
    assert overall_sentence(data.result) in text


def test_summary_explains_when_district_gaps_do_not_add_up(squares):
    data = make_data(squares, targets=SIXTY)
    cov = data.result.coverage
    per, area = cov[cov["district_code"] != AREA_CODE], cov[cov["district_code"] == AREA_CODE].iloc[0]
    assert per["units_needed"].sum() == 2 and area["units_needed"] == 1
    note = district_gap_note(data.result, "T-60")
    assert "各区县还需数合计 2 个, 与全市还需 1 个不同" in note and "向上取整" in note
    assert "原因" in indicator_sentences(data.result)[-1]
    sections = docx_sections(report_docx(data, {}))
    assert note in sections[f"1. {SIXTY[0][1]}"]
    full = make_data(squares)  # at 100 % the gaps add up: no note
    assert district_gap_note(full.result, "T-ELD") == ""


def test_district_sentences_list_what_is_missing(squares):
    data = make_data(squares)
    sentences = district_sentences(data.result)
    assert [s.split(":")[0] for s in sentences] == ["一区", "二县"]
    for s in sentences:
        assert NO_DATA_MESSAGE not in s and "未成年人保护工作站" not in s  # no-data targets are not judged
    cov = data.result.coverage.set_index(["target_id", "district_code"])
    eld = cov.loc[("T-ELD", "110101")]
    assert f"{eld['class_name']} {eld['units_needed']} 个乡镇(街道)" in sentences[0]


# ----------------------------------------------------------------- structure

def h1_numbers(content: bytes) -> list[str]:
    _, headings = docx_body(content)
    return [text.split("、")[0] for style, text in headings if style == "Heading 1" and "、" in text]


@pytest.mark.parametrize("with_baseline", [True, False])
def test_section_numbers_are_consecutive(squares, with_baseline):
    data = make_data(squares)
    if not with_baseline:
        data.evaluation = None  # no 规划实施评估 section: the next one takes its number
    numbers = h1_numbers(report_docx(data, {}))
    # 统计口径, 数据来源, 主要指标, (规划实施评估,) 分指标情况, 建议选址
    assert numbers == list(SECTION_NUMBERS[:len(numbers)]) and len(numbers) == (6 if with_baseline else 5)
    _, headings = docx_body(report_docx(data, {}))
    titles = [t for s, t in headings if s == "Heading 1"]
    assert titles[0] == "摘要" and titles[1].endswith("统计口径说明")
    from pypdf import PdfReader

    outline = [item.title for item in PdfReader(io.BytesIO(report_pdf(data, {}))).outline if not isinstance(item, list)]
    assert outline == titles  # the PDF has the same sections, numbered the same
    assert any("规划实施评估" in t for t in outline) == with_baseline


def test_every_district_table_ends_with_the_whole_area(squares):
    from docx import Document

    data = make_data(squares)
    doc = Document(io.BytesIO(report_docx(data, {})))
    district_tables = [t for t in doc.tables if t.rows[0].cells[0].text == "区县" and t.rows[0].cells[1].text != "至少还需"]
    assert len(district_tables) == len(TARGETS)
    for table in district_tables:
        assert table.rows[-1].cells[0].text == "全市"
    t = district_table(data.result, "T-ELD", ["110102"])
    assert list(t["区县"]) == ["二县", "全市"] and t.iloc[-1]["单元总数"] == 5  # 全市 stays the whole area


def test_binding_blank_reads_as_not_stated(squares):
    data = make_data(squares)
    data.targets.loc[0, "binding"] = ""
    data.result.coverage.loc[data.result.coverage["target_id"] == "T-ELD", "binding"] = ""
    sections = docx_sections(report_docx(data, {}))
    table1 = [line for line in sections[next(k for k in sections if k.endswith("主要指标完成情况"))].splitlines()
              if line.startswith(TARGETS[0][1])]
    assert table1[0].endswith(BINDING_UNSTATED) and "约束性" in sections[next(k for k in sections if k.endswith("主要指标完成情况"))]


def test_counting_rules_say_only_what_applies(squares):
    data = make_data(squares)
    rules = "\n".join(counting_rules(data))
    assert "「运营」" in rules and "50 米" in rules and "代码最小" in rules
    assert "类似乡级单位" in rules and "本次 1 个" in rules  # 某林场
    assert "不含市辖区(一区)" in rules  # T-FUNX counts 县 only
    assert "功能区" not in rules  # no functional zone in the data
    assert "全托、日托、上门服务" in rules  # 综合功能 by function
    assert NO_DATA_VERDICT in rules and "数量类指标" in rules
    only_eld = "\n".join(counting_rules(data, ["T-ELD"]))
    assert "市辖区" not in only_eld and "数量类指标" not in only_eld and NO_DATA_VERDICT not in only_eld
    counted = "\n".join(counting_rules(make_data(squares, config=CoverageConfig(count_other_units=True))))
    assert "按设置, 乡镇(街道)指标计入类似乡级单位" in counted


# ----------------------------------------------------------------- names

def test_generic_plan_names_by_area_and_date(squares):
    data = make_data(squares, plan=GENERIC_PLAN)
    assert data.generic and data.area_name == "北京市"  # from the township codes 1101...
    assert data.title == "北京市民政设施覆盖评估报告(通用指标)"
    files = build_pack(data, ["docx", "xlsx", "png"], target_ids=["T-ELD"])
    names = list(files) + zipfile.ZipFile(io.BytesIO(files["会议材料.zip"])).namelist()
    assert not any("通用(无本地规划时)" in n or "无本地规划" in n for n in names)
    assert "北京市_通用指标_设施覆盖评估报告_20240601.docx" in names
    assert "专题图/01_乡镇(街道)养老服务机构覆盖率.png" in names
    assert pack_file_name(data, "会议材料", "zip") == "北京市_通用指标_会议材料_20240601.zip"
    first, _ = docx_body(files["北京市_通用指标_设施覆盖评估报告_20240601.docx"])
    assert "北京市民政设施覆盖评估报告(通用指标)" in first and not any("通用(无本地规划时) 设施覆盖" in p for p in first)


def test_download_name():
    assert download_name("十堰市", "未覆盖乡镇清单", "SY-01", date(2026, 11, 25)) == "十堰市_未覆盖乡镇清单_SY-01_20261125.xlsx"
    assert download_name("十堰市", "指标", day="2026-11-25", ext="csv") == "十堰市_指标_20261125.csv"
    assert download_name("../x:y", "a/b", None, date(2026, 1, 2)) == "x_y_a_b_20260102.xlsx"


# ----------------------------------------------------------------- Excel a planner can use

def test_excel_bytes_numbers_percent_title_headers_and_frozen_header():
    frame = pd.DataFrame({"district_name": ["一区", "=HYPERLINK(\"x\")"], "rate": [0.5454545, np.nan], "units_needed": [3, 0],
                          "met": [False, True]})
    content = excel_bytes({"未覆盖": frame}, title="十堰市 未覆盖乡镇清单 · 规划 · 2026年11月25日",
                          percent_columns=["rate"], headers={"district_name": "区县", "rate": "覆盖率", "units_needed": "还需"})
    ws = openpyxl.load_workbook(io.BytesIO(content))["未覆盖"]
    assert ws["A1"].value.startswith("十堰市 未覆盖乡镇清单") and ws["A1"].font.bold
    assert [c.value for c in ws[2]] == ["区县", "覆盖率", "还需", "met"]
    assert ws.freeze_panes == "A3"
    assert ws["B3"].value == pytest.approx(0.5454545) and ws["B3"].data_type == "n" and ws["B3"].number_format == PERCENT_FORMAT
    assert ws["B4"].value is None and ws["C3"].value == 3 and ws["C3"].data_type == "n"
    assert ws["A4"].value.startswith("'=") and ws["D3"].value == "否"
    assert ws.column_dimensions["A"].width >= 8
    plain = openpyxl.load_workbook(io.BytesIO(excel_bytes({"x": frame})))["x"]  # without the new options: as before
    assert plain.freeze_panes == "A2" and plain["A1"].value == "district_name"


def test_ledger_sheets_hold_numbers_with_formats_and_titles(squares):
    data = make_data(squares)
    wb = openpyxl.load_workbook(io.BytesIO(ledger_xlsx(data)))
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A3" and data.area_name in ws["A1"].value and data.date_text in ws["A1"].value, ws.title
        assert PLAN in ws["A1"].value
    ws = wb["指标汇总"]
    header = [c.value for c in ws[2]]
    rows = {r[0].value: dict(zip(header, r)) for r in ws.iter_rows(min_row=3)}
    area = data.result.coverage.set_index(["target_id", "district_code"])
    eld = rows["T-ELD"]
    assert eld["现状值"].value == pytest.approx(area.loc[("T-ELD", "ALL"), "rate"]) and eld["现状值"].number_format == PERCENT_FORMAT
    assert eld["目标值"].value == 1.0 and eld["目标值"].number_format == PERCENT_FORMAT
    assert eld["已覆盖(分子)"].value == 2 and eld["单元总数(分母)"].value == 5 and eld["还需"].value == 3
    lot = rows["T-LOT"]
    assert lot["目标值"].value == 50 and lot["目标值"].number_format == "0" and lot["说明"].value == NO_DATA_MESSAGE
    for row in rows.values():
        for key in ("目标值", "现状值"):
            assert row[key].data_type == "n", (row["指标"].value, key)
    ev = wb["评估"]
    ev_header = [c.value for c in ev[2]]
    first = dict(zip(ev_header, ev[3]))
    assert first["基期值"].value == 0.2 and first["基期值"].number_format == PERCENT_FORMAT
    assert first["完成率"].data_type == "n" and first["完成率"].number_format == PERCENT_FORMAT
    fac = wb["设施"]
    assert all(isinstance(c.value, float) for c in next(fac.iter_cols(min_col=4, max_col=4, min_row=3)))


# ----------------------------------------------------------------- labels on maps

def label_boxes_and_dots(fig):
    from reporting.thematic import _renderer

    renderer = _renderer(fig)
    ax = fig.axes[0]
    labels = [t for t in ax.texts if t.get_zorder() == 7]
    boxes = [t.get_window_extent(renderer) for t in labels]
    from matplotlib.collections import PathCollection

    dots = np.vstack([c.get_offsets() for c in ax.collections if isinstance(c, PathCollection) and len(c.get_offsets())]
                     or [np.empty((0, 2))])
    return labels, boxes, ax.transData.transform(dots) if len(dots) else dots


def test_township_labels_cover_no_dot_and_no_other_label():
    import geopandas as gpd
    from shapely.geometry import box

    from reporting.thematic import coverage_map_figure

    # 4 x 3 small townships in a row of a long district, each with a facility at its centre
    geoms = [box(i * 900, j * 700, i * 900 + 900, j * 700 + 700) for i in range(4) for j in range(3)]
    units = gpd.GeoDataFrame({"code": [f"1101010{k:02d}" for k in range(12)], "name": [f"第{k}号路街道" for k in range(12)],
                              "district_code": "110101", "district_name": "一区", "kind": "街道"}, geometry=geoms, crs=4549)
    units = units.set_geometry(units.translate(500_000, 3_600_000))
    centres = units.geometry.centroid.to_crs(4326)
    fac = pd.DataFrame({"lon": centres.x, "lat": centres.y})
    fig = coverage_map_figure(units.to_crs(4326), pd.Series(True, index=units["code"]), fac, title="t", label_townships=True)
    labels, boxes, dots = label_boxes_and_dots(fig)
    assert len(labels) == 12 and len(dots) == 12
    for k, b in enumerate(boxes):
        for other in boxes[k + 1:]:
            assert not b.overlaps(other), (labels[k].get_text())
        nx, ny = np.clip(dots[:, 0], b.x0, b.x1), np.clip(dots[:, 1], b.y0, b.y1)
        assert (np.hypot(dots[:, 0] - nx, dots[:, 1] - ny) > 2.0).all(), labels[k].get_text()


def test_reporting_has_no_streamlit():
    from pathlib import Path

    import reporting

    for path in Path(reporting.__file__).parent.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "import streamlit" not in text and "from streamlit" not in text, path.name
