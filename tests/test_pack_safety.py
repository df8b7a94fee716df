"""The meeting pack on a small ledger that holds only 养老 and 殡葬 facilities (built on the township
squares of conftest): targets without ledger data are said to be so (never a gap, a red map or a
failure), file and zip names are safe, the data source comes from `quality`, user text stays text."""
import io
import unicodedata
import zipfile
from datetime import date

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgba

from coverage.catalog import load_classes
from coverage.config import CoverageConfig
from coverage.evaluate import NO_DATA_MESSAGE
from reporting.excel import plain_text, safe_filename
from reporting.meeting_pack import (
    NO_DATA_MARK, NO_DATA_VERDICT, build_pack, district_map_book, indicator_maps, ledger_xlsx, pack_data,
    report_docx, report_pdf, slides_pptx,
)
from reporting.thematic import NO_DATA, UNCOVERED
from tests.conftest import facilities_at

# Renders documents or runs whole pages: in the full run (.ci/run), not the quick set.
pytestmark = pytest.mark.slow

CLASSES = load_classes()
PLAN = "某市民政事业发展十四五规划"
#: HTML, TeX and a Markdown image pointing at a closed local port (control characters are added in the test).
HOSTILE = "<b>x</b> $a$ ![x](http://127.0.0.1:9/x.png)"
QUALITY = {
    "unit_file": {"filename": "乡镇边界.geojson", "rows": 6, "encoding": "UTF-8",
                  "crs": "CGCS2000 / 3-degree Gauss-Kruger CM 120E", "crs_inferred": False},
    "facility_file": {"filename": "台账.xlsx", "rows": 3, "encoding": "xlsx", "sheets": ["养老机构", "殡葬设施"]},
    "point_system": "gcj02", "point_system_label": "GCJ-02(高德、腾讯地图)",
    "point_system_detection": {"best": "gcj02", "evidence": "按 GCJ-02(高德、腾讯地图) 换算, 3 个地址中写明乡镇/区县的设施里"
                                                           "有 3 个落在地址所写乡镇内(其他假设: WGS84(GPS、天地图) 1 个)。"},
    "status_counts": {"assigned": 3},
}
# id, indicator, class, measure, level, target: 养老 and 殡葬 have ledger rows, the others none
TARGETS = [
    ("T-ELD", "乡镇(街道)养老服务机构覆盖率", "comprehensive_eldercare", "coverage", "乡镇(街道)", 1.0),
    ("T-MIN", "乡镇(街道)未成年人保护工作站覆盖率", "minor_protection_station", "coverage", "乡镇(街道)", 1.0),
    ("T-FUN", "县(市、区)殡仪馆覆盖率", "funeral_home", "coverage", "县(市、区)", 1.0),
    ("T-FUNX", "县(不含市辖区)殡仪馆覆盖率", "funeral_home", "coverage", "县", 1.0),
    ("T-RES", "每个县建有救助站", "rescue_station", "coverage", "县", 1.0),
    ("T-LOT", "福利彩票销售网点数", "welfare_lottery", "count", "全市", 50),
]
NO_DATA_IDS = {"T-MIN", "T-RES", "T-LOT"}


def _to_china(gdf):
    """The conftest layers (EPSG:4549, metres near 0) moved into EPSG:4549's zone (near 120E 32.5N), as WGS84."""
    return gdf.set_geometry(gdf.translate(500_000, 3_600_000)).to_crs(4326)


def make_data(squares, *, plan=PLAN, targets=TARGETS, config=None, quality=QUALITY, names=None,
              district_name=None, township_name=None):
    """A PackData on the conftest squares plus a 类似乡级单位, with 2 养老 and 1 殡葬 facilities."""
    units = squares()
    other = units.iloc[[2]].assign(code="110101400", name="某林场", kind="类似乡级单位")  # a 类似乡级单位
    other = other.set_geometry(other.geometry.translate(3000, 0))
    units = _to_china(pd.concat([units, other], ignore_index=True).set_geometry("geometry"))
    if district_name:
        units.loc[units["district_code"] == "110101", "district_name"] = district_name
    if township_name:
        units.loc[units["code"] == "110101001", "name"] = township_name
    fac = _to_china(facilities_at([(100, 100), (1500, 500), (500, 1500)],
                                  ["comprehensive_eldercare", "comprehensive_eldercare", "funeral_home"]))
    if names:
        fac["name"] = names
    fac["lon"], fac["lat"] = fac.geometry.x, fac.geometry.y
    rows = pd.DataFrame([{"target_id": t, "plan": plan, "indicator": ind, "facility_class": c, "measure": m,
                          "unit_level": lvl, "target_value": v, "target_year": 2025, "binding": "预期性",
                          "baseline_value": np.nan, "baseline_year": np.nan} for t, ind, c, m, lvl, v in targets])
    rows.loc[0, ["baseline_value", "baseline_year"]] = [0.2, 2020]  # a stated baseline: the 评估 table exists
    return pack_data(units, fac, rows, CLASSES, config or CoverageConfig(), plan=plan, quality=quality, source="旧来源.csv",
                     made_on=date(2024, 6, 1))


def docx_sections(content: bytes) -> dict[str, str]:
    """Heading-2 text -> all text (paragraphs and tables) up to the next heading."""
    from docx import Document
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    doc = Document(io.BytesIO(content))
    sections, current = {"": ""}, ""
    for el in doc.element.body.iterchildren():
        if el.tag.endswith("}p"):
            p = Paragraph(el, doc)
            if p.style.name.startswith("Heading"):
                current = p.text
                sections[current] = ""
            sections[current] += p.text + "\n"
        elif el.tag.endswith("}tbl"):
            sections[current] += "\n".join(" | ".join(c.text for c in row.cells) for row in Table(el, doc).rows) + "\n"
    return sections


def section(sections: dict[str, str], title: str) -> str:
    """The text of the numbered section whose heading ends with `title` (一、… 二、…)."""
    return next(v for k, v in sections.items() if k.endswith("、" + title))


def docx_text(content: bytes) -> str:
    return "\n".join(docx_sections(content).values())


def pdf_text(content: bytes) -> str:
    from pypdf import PdfReader

    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)
    return text.replace(" ", "").replace("\n", "").replace("\x00", "")


def polygon_colours(fig) -> list[tuple]:
    """Fill colours of the unit polygons (the first collection drawn)."""
    return [tuple(c) for c in fig.axes[0].collections[0].get_facecolor()]


def all_texts(fig) -> list:
    out = list(fig.texts) + ([fig._suptitle] if fig._suptitle else [])
    for ax in fig.axes:
        out += list(ax.texts)
        if ax.get_legend():
            out += list(ax.get_legend().get_texts())
    return out


@pytest.fixture
def captured_maps(monkeypatch):
    """Every (kwargs, figure) `coverage_map_figure` is called with, including the map book's pages."""
    from reporting import thematic

    calls = []
    real = thematic.coverage_map_figure

    def spy(*args, **kwargs):
        fig = real(*args, **kwargs)
        calls.append((kwargs, fig))
        return fig

    monkeypatch.setattr(thematic, "coverage_map_figure", spy)
    return calls


# ----------------------------------------------------------------- 1. no data is not no coverage

def test_no_data_targets_in_word_say_so_instead_of_a_gap(squares):
    data = make_data(squares)
    assert set(data.result.coverage.loc[data.result.coverage["no_data"], "target_id"]) == NO_DATA_IDS
    sections = docx_sections(report_docx(data, {}))
    summary = section(sections, "主要指标完成情况")
    rows = {line.split(" | ")[0]: line.split(" | ") for line in summary.splitlines() if " | " in line}
    for t, indicator, *_ in TARGETS:
        cells = rows[indicator]
        if t in NO_DATA_IDS:
            assert cells[4] == NO_DATA_MESSAGE and cells[5] == NO_DATA_VERDICT and cells[3].endswith(NO_DATA_MARK)
        else:
            assert NO_DATA_MESSAGE not in cells and cells[5] in ("是", "否")
    assert "待确认 3 项" in summary and NO_DATA_MESSAGE in summary
    evaluation = section(sections, "规划实施评估")
    ev_rows = {line.split(" | ")[0]: line.split(" | ") for line in evaluation.splitlines() if " | " in line}
    for t, indicator, *_ in TARGETS:
        assert (ev_rows[indicator][-1] == NO_DATA_MESSAGE) == (t in NO_DATA_IDS), ev_rows[indicator]
    for i, (t, indicator, *_) in enumerate(TARGETS, start=1):
        text = sections[f"{i}. {indicator}"]
        if t in NO_DATA_IDS:
            assert NO_DATA_MESSAGE in text
            assert "还需" not in text and "未覆盖单元:" not in text and " | 否" not in text
        elif t == "T-ELD":  # a real gap is still a gap
            assert "还需" in text and "未覆盖单元" in text


def test_no_data_targets_in_pdf_slides_and_ledger(squares):
    import openpyxl
    from pptx import Presentation

    data = make_data(squares)
    text = pdf_text(report_pdf(data, {}))
    assert text.count(NO_DATA_MESSAGE.replace(" ", "")) >= 6  # table 1 rows, note, one per indicator section
    # (pypdf reads a few characters of the subset font wrongly, so split at the indicator headings)
    starts = [text.index(f"{i}.{indicator}") for i, (_, indicator, *_) in enumerate(TARGETS, start=1)]
    # the 建议选址 section follows the last indicator (its heading's glyphs read back garbled: cut at its caveat)
    end = text.find("只说明", starts[-1]) if "只说明" in text[starts[-1]:] else len(text)
    sections = [text[a:b] for a, b in zip(starts, starts[1:] + [end])]
    for (t, *_), section in zip(TARGETS, sections):
        if t in NO_DATA_IDS:
            assert "还需" not in section and "未覆盖·" not in section and NO_DATA_MESSAGE.replace(" ", "") in section
    assert "还需" in sections[0]

    prs = Presentation(io.BytesIO(slides_pptx(data, {})))
    slides = [" ".join(sh.text_frame.text for sh in s.shapes if sh.has_text_frame) for s in prs.slides]
    assert slides[1].startswith("主要结论") and NO_DATA_MESSAGE in slides[1]
    for (t, indicator, *_), slide in zip(TARGETS, slides[2:]):
        assert indicator in slide
        if t in NO_DATA_IDS:
            assert NO_DATA_MESSAGE in slide and "还需" not in slide
    at = next(i for i, text in enumerate(slides) if text.startswith("各区县仍需补齐的指标"))  # before the 建议选址 slides
    summary = prs.slides[at]
    table = next(sh.table for sh in summary.shapes if sh.has_table)
    needs = " ".join(c.text for row in table.rows for c in row.cells)
    assert "未成年人保护工作站" not in needs and "救助站" not in needs and "养老" in needs
    assert NO_DATA_MESSAGE in slides[at] and "每个县建有救助站" in slides[at]
    assert all("建议选址 · " in text for text in slides[at + 1:])  # proposals only for judged targets

    wb = openpyxl.load_workbook(io.BytesIO(ledger_xlsx(data)))
    header, *body = list(wb["指标汇总"].iter_rows(min_row=2, values_only=True))
    summary_rows = {r[0]: dict(zip(header, r)) for r in body}
    for t, indicator, *_ in TARGETS:
        row = summary_rows[t]
        if t in NO_DATA_IDS:
            assert row["说明"] == NO_DATA_MESSAGE and row["是否达标"] == NO_DATA_VERDICT and row["还需"] is None
        else:
            assert not row["说明"] and row["是否达标"] in ("是", "否") and isinstance(row["还需"], int)
    sheet = wb[next(n for n in wb.sheetnames if n.startswith("T-MIN"))]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    column = rows[0].index("是否覆盖")
    assert {r[column] for r in rows[1:]} == {NO_DATA_MESSAGE}
    lot = list(wb[next(n for n in wb.sheetnames if n.startswith("T-LOT"))].iter_rows(min_row=2, values_only=True))
    assert "说明" in lot[0] and lot[1][lot[0].index("说明")] == NO_DATA_MESSAGE


def test_no_data_maps_are_grey_with_the_message(squares, captured_maps):
    data = make_data(squares)
    figures = indicator_maps(data, dpi=50)
    district_map_book(data, "T-MIN")
    book = [(k, f) for k, f in captured_maps if k.get("label_townships")]
    assert len(book) == 2  # one page per district
    uncovered, grey = to_rgba(UNCOVERED), to_rgba(NO_DATA)
    for tid, fig in figures.items():
        colours = polygon_colours(fig)
        texts = " ".join(t.get_text() for t in all_texts(fig))
        if tid in NO_DATA_IDS:
            assert uncovered not in colours, tid
            assert NO_DATA_MESSAGE in texts and "还需" not in texts
            if tid != "T-LOT":
                assert grey in colours
        elif tid == "T-ELD":
            assert uncovered in colours and "还需" in texts
    for kwargs, fig in book:
        assert kwargs["no_data"] and NO_DATA_MESSAGE in kwargs["subtitle"]
        assert uncovered not in polygon_colours(fig)


def test_county_levels_and_other_units_follow_the_config(squares):
    """县 targets count counties only (二县, not 一区); 类似乡级单位 counted when the config says so."""
    import openpyxl

    data = make_data(squares, config=CoverageConfig(count_other_units=True))
    cov = data.result.coverage.set_index(["target_id", "district_code"])
    assert cov.loc[("T-ELD", "ALL"), "units_total"] == 6
    wb = openpyxl.load_workbook(io.BytesIO(ledger_xlsx(data)))
    eld = list(wb[next(n for n in wb.sheetnames if n.startswith("T-ELD"))].iter_rows(min_row=2, values_only=True))
    assert len(eld) - 1 == 6 and "某林场" in [r[1] for r in eld]
    funx = list(wb[next(n for n in wb.sheetnames if n.startswith("T-FUNX"))].iter_rows(min_row=2, values_only=True))
    assert [r[1] for r in funx[1:]] == ["二县"]
    fig = indicator_maps(data, ["T-FUNX"], dpi=50)["T-FUNX"]
    colours = set(polygon_colours(fig))
    assert to_rgba("#3b8f6a") in colours and to_rgba(UNCOVERED) not in colours  # 二县 covered, 一区 not counted
    assert any("已覆盖县、县级市 (1)" == t.get_text() for t in all_texts(fig))


# ----------------------------------------------------------------- 2. safe file and zip-entry names

@pytest.mark.parametrize("text, expected", [
    ("../../etc/x:<>|?*", "etc_x"), ("..", "未命名"), (".hidden", "hidden"), ("CON", "_CON"), ("nul.txt", "_nul.txt"),
    ("a\x07b\x00c", "a_b_c"), ("a/b\\c", "a_b_c"), ("十堰市民政事业发展十四五规划", "十堰市民政事业发展十四五规划"),
    ("a..b", "a.b"), ("  ", "未命名"), (None, "未命名"), ("\u202eexe.txt", "exe.txt"),
])
def test_safe_filename(text, expected):
    assert safe_filename(text) == expected
    assert safe_filename(expected) == expected  # stable


def test_safe_filename_cuts_long_names_at_a_character():
    name = safe_filename("规" * 300)
    assert name == "规" * 40 and len(name.encode()) <= 120
    assert len(safe_filename("x" * 300, max_chars=50)) == 50


def _assert_safe_entry(name: str) -> None:
    assert ".." not in name and not name.startswith("/") and "\\" not in name, name
    for part in name.split("/"):
        assert part and part == part.strip(" .") and not part.startswith("_"), name
        assert not set('<>:"|?*') & set(part), name
        assert not any(unicodedata.category(ch).startswith("C") for ch in part), name
        assert part.split(".")[0].upper() not in ("CON", "PRN", "AUX", "NUL"), name
        assert len(part.encode()) <= 200, name


def test_pack_zip_entries_are_safe_names(squares):
    targets = [("../SY-01/..\\x", "../养老/..\\覆盖率", *TARGETS[0][2:]), TARGETS[1]]
    data = make_data(squares, plan="../../etc/x:<>|?*", targets=targets)
    files = build_pack(data, ["xlsx", "png", "svg", "docx"], book_target="../SY-01/..\\x")
    names = zipfile.ZipFile(io.BytesIO(files["会议材料.zip"])).namelist()
    assert len(names) == len(files) - 1 == 2 + 2 + 1 + 2
    for name in names + list(files):
        _assert_safe_entry(name)
    assert all(n.startswith(("专题图/", "etc_x_")) for n in names)
    assert "etc_x_设施覆盖台账_20240601.xlsx" in names  # plan, what, date
    assert "专题图/01_养老_._覆盖率.png" in names and "专题图/分区图册_养老_._覆盖率.pdf" in names
    assert "专题图/02_乡镇(街道)未成年人保护工作站覆盖率.svg" in names  # maps named by the indicator text


# ----------------------------------------------------------------- 3. provenance from `quality`

def test_data_source_comes_from_quality_in_word_and_every_map_footnote(squares, captured_maps):
    data = make_data(squares)
    expected = ["台账.xlsx", "编码 xlsx", "养老机构、殡葬设施", "GCJ-02(高德、腾讯地图)(自动识别)", "乡镇边界.geojson",
                "编码 UTF-8", "CGCS2000 / 3-degree Gauss-Kruger CM 120E", "坐标系识别依据: 按 GCJ-02(高德、腾讯地图) 换算"]
    text = docx_text(report_docx(data, {}))
    source = text.split("、数据来源与数据质量")[1].split("、主要指标完成情况")[0]
    for item in expected:
        assert item in source, item
    figures = indicator_maps(data, dpi=50)
    district_map_book(data, "T-ELD")
    assert len(captured_maps) == len(TARGETS) + 2
    for kwargs, fig in captured_maps:
        footer = next(t for t in fig.texts if t.get_gid() == "footer").get_text()
        assert footer == "\n".join(footer.splitlines())  # what is drawn
        flat = footer.replace("\n", "")
        for item in expected:
            assert item in flat, (item, footer)
        assert "旧来源.csv" not in footer  # the caller's source string is not used when quality has the files
    assert set(figures) == {t[0] for t in TARGETS}


def test_data_source_falls_back_to_the_given_source_without_quality(squares, captured_maps):
    data = make_data(squares, quality={})
    indicator_maps(data, ["T-ELD"], dpi=50)
    footer = next(t for t in captured_maps[0][1].texts if t.get_gid() == "footer").get_text()
    assert "数据来源: 旧来源.csv" in footer


# ----------------------------------------------------------------- 4. user text is never markup

def test_user_text_is_plain_in_maps_pdf_word_slides_and_ledger(squares, captured_maps):
    import openpyxl
    from pptx import Presentation

    from reporting.thematic import raster_image

    targets = [(TARGETS[0][0], HOSTILE, *TARGETS[0][2:]), *TARGETS[1:3]]
    data = make_data(squares, plan=HOSTILE + "\x0b规划", targets=targets, names=[HOSTILE, "=1+1", "设施\x07"],
                     district_name=HOSTILE, township_name="$\\frac{$镇")
    figures = indicator_maps(data, dpi=50)
    district_map_book(data, "T-ELD")  # township names drawn: "$\\frac{$" would fail as mathtext
    for kwargs, fig in captured_maps:
        raster_image(fig, 40)
        for t in all_texts(fig):
            if "$" in t.get_text():
                assert not t.get_parse_math(), t.get_text()
    assert figures["T-ELD"]._suptitle.get_text() == HOSTILE

    flat = HOSTILE.replace(" ", "")
    text = pdf_text(report_pdf(data, {}))
    assert flat in text and "规划" in text
    docx = docx_text(report_docx(data, {}))
    assert HOSTILE in docx and HOSTILE + "规划" in docx
    prs = Presentation(io.BytesIO(slides_pptx(data, {})))
    assert HOSTILE in " ".join(sh.text_frame.text for sh in prs.slides[0].shapes if sh.has_text_frame)
    wb = openpyxl.load_workbook(io.BytesIO(ledger_xlsx(data)))
    names = [r[1] for r in wb["设施"].iter_rows(min_row=3, values_only=True)]
    assert names == [HOSTILE, "'=1+1", "设施"]
    assert plain_text("a\x07b\tc\n") == "ab\tc\n"
