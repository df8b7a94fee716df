"""plantext: reading plan documents (.txt, .docx, .pdf) and proposing targets from their text.

Grouped as in STYLE.md: a hand-written plan (synthetic), the seed plans (real, skipped without
../shared), documents in other formats, bad files, the rule files, the command line. The recall and
precision on the seeds and the 150,000-character benchmark are in tools/evaluate_plantext.py.
"""
from __future__ import annotations

import io
import math
from pathlib import Path

import mplfonts
import pandas as pd
import pytest

from coverage.__main__ import main
from coverage.errors import (
    CatalogError, CoverageError, EmptyDocumentError, EncryptedDocumentError, ScannedPdfError, UnsupportedDocumentError,
)
from plantext import PROPOSAL_COLUMNS, propose_targets, read_plan_text
from plantext.rules import PATTERNS_CSV, VOCABULARY_CSV, load_rules
from tests.conftest import SEEDS

CJK_FONT = Path(mplfonts.__file__).parent / "fonts" / "NotoSansCJKsc-Regular.otf"
SEED_FILES = sorted(SEEDS.glob("*.txt")) if SEEDS.is_dir() else []
needs_seeds = pytest.mark.skipif(not SEED_FILES, reason="../shared/seeds not available")
COMPARED = ["indicator", "facility_class", "measure", "unit_level", "target_value", "target_year", "kind",
            "baseline_value", "baseline_year", "binding"]

PLAN = """某某市民政事业发展“十四五”规划
发布日期: 2021年12月20日

第一章 发展基础

十三五期间,全市建成养老机构45家,乡镇(街道)社工站覆盖率达到40%。截至2020年底,每千名老年人拥有养老床位数30张。

第二章 发展目标

表1 “十四五”民政事业发展主要指标
序号
指标
2020年
2025年
属性
1
乡镇(街道)范围具备综合功能的养老服务机构覆盖率(%)
35
60
预期性
2
养老机构护理型床位占比(%)
40
55
约束性
3
城乡低保标准(元/人、月)
600
800
预期性

第三章 主要任务

到2025年,每个县(市、区)至少建有1所以失能照护为主的县级特困人员供养服务机构。乡镇(街道)范围具备综合功能的养老服务机构覆盖率达到60%,护理型床位占比达到55%以上,每千名老年人拥有养老床位数达到35张。社区养老服务设施覆盖率100%。
力争老年大学教学点覆盖率达到50%。
将市精神病人福利院床位由200张提高到500张。
"""


@pytest.fixture(scope="module")
def plan() -> pd.DataFrame:
    return propose_targets(PLAN)


def _row(frame: pd.DataFrame, source: str, **where) -> pd.Series:
    rows = frame[frame["source"] == source]
    for col, value in where.items():
        rows = rows[rows[col].map(lambda v, value=value: _same(v, value))]
    assert len(rows) == 1, f"{where}: {len(rows)} rows\n{frame[COMPARED].to_string()}"
    return rows.iloc[0]


def _same(a, b) -> bool:
    if isinstance(b, float):
        return isinstance(a, float) and not math.isnan(a) and abs(a - b) < 1e-9
    return a == b


def _assert_quotes(text: str, frame: pd.DataFrame) -> None:
    for row in frame.itertuples():
        assert text[row.start:row.end] == row.quote
        assert row.start <= row.value_start < row.value_end <= row.end
        assert row.quote in text


# ---------------------------------------------------------------- a hand-written plan

def test_columns_and_verbatim_quotes(plan):
    assert list(plan.columns) == list(PROPOSAL_COLUMNS)
    _assert_quotes(PLAN, plan)
    assert plan.attrs["document"]["period"] == "十四五"
    assert set(plan["kind"]) == {"target", "baseline"}
    assert not plan["explanation"].str.contains(r"\b[A-Z]-[A-Z]").any()  # every rule id has a Chinese explanation


def test_past_period_values_are_baselines(plan):
    count = _row(plan, "sentence", baseline_value=45.0)
    assert (count["kind"], count["baseline_year"], count["facility_class"], count["measure"]) == \
        ("baseline", 2020, "eldercare_institution", "count")
    assert pd.isna(count["target_value"]) and "P-PERIOD" in count["rule"]
    station = _row(plan, "sentence", baseline_value=0.4)
    assert (station["facility_class"], station["measure"], station["unit_level"]) == \
        ("social_work_station", "coverage", "乡镇(街道)")
    beds = _row(plan, "sentence", baseline_value=30.0)
    assert (beds["kind"], beds["baseline_year"], beds["measure"]) == ("baseline", 2020, "beds_per_1000_elderly")


def test_flattened_table_rows(plan):
    table = plan[plan["source"] == "table"]
    assert len(table) == 3
    first = table.iloc[0]
    assert (first["indicator"], first["facility_class"], first["measure"], first["unit_level"]) == \
        ("乡镇(街道)范围具备综合功能的养老服务机构覆盖率(%)", "comprehensive_eldercare", "coverage", "乡镇(街道)")
    assert (first["target_value"], first["target_year"], first["baseline_value"], first["baseline_year"]) == (0.6, 2025, 0.35, 2020)
    assert (first["binding"], first["kind"]) == ("预期性", "target")
    assert first["quote"].startswith("1\n") and first["quote"].endswith("预期性")
    nursing = table.iloc[1]
    assert (nursing["measure"], nursing["facility_class"], nursing["binding"], nursing["target_value"]) == \
        ("nursing_bed_share", "养老服务", "约束性", 0.55)
    money = table.iloc[2]
    assert (money["facility_class"], money["measure"], money["target_value"]) == ("", "money", 800.0)


def test_sentence_targets(plan):
    every = _row(plan, "sentence", facility_class="county_care_center")
    assert (every["measure"], every["unit_level"], every["target_value"], every["target_year"], every["kind"]) == \
        ("coverage", "县(市、区)", 1.0, 2025, "target")
    assert "县级特困人员供养服务机构" in every["class_reason"]
    coverage = _row(plan, "sentence", target_value=0.6)
    assert (coverage["facility_class"], coverage["unit_level"], coverage["measure"]) == \
        ("comprehensive_eldercare", "乡镇(街道)", "coverage")
    nursing = _row(plan, "sentence", measure="nursing_bed_share")
    assert (nursing["target_value"], nursing["comparator"]) == (0.55, ">=")
    beds = _row(plan, "sentence", target_value=35.0)
    assert beds["measure"] == "beds_per_1000_elderly"
    community = _row(plan, "sentence", facility_class="day_care")
    assert (community["target_value"], community["measure"]) == (1.0, "coverage")
    grown = _row(plan, "sentence", target_value=500.0)
    assert (grown["baseline_value"], grown["measure"], grown["facility_class"]) == (200.0, "beds", "mental_welfare")


def test_no_class_fits(plan):
    university = _row(plan, "sentence", target_value=0.5)
    assert university["facility_class"] == "" and university["class_name"] == ""
    assert university["measure"] == "rate" and "未找到" in university["class_reason"]


def test_annual_plan_and_review_years():
    annual = propose_targets("2022年全市民政工作要点\n力争2022年年底前全市所有乡镇(街道)建立社工站。")
    row = annual.iloc[0]
    assert (row["facility_class"], row["unit_level"], row["target_value"], row["target_year"]) == \
        ("social_work_station", "乡镇(街道)", 1.0, 2022)
    review = propose_targets("民政事业发展“十三五”规划中期评估报告\n2018年7月\n一、工作推进情况\n全市建成养老机构147家。\n"
                             "三、下步工作打算\n到2020年, 每千名老人拥有社会养老床位达到50张。")
    assert list(review["kind"]) == ["baseline", "target"]
    assert list(review["baseline_year"].fillna(0)) == [2018, 0] and review["target_year"].iloc[1] == 2020


# ---------------------------------------------------------------- the seed plans

@needs_seeds
def test_seed_quotes_are_verbatim():
    for path in SEED_FILES:
        text = path.read_text(encoding="utf-8")
        proposals = propose_targets(text)
        assert len(proposals) > 0, path.name
        _assert_quotes(text, proposals)


@needs_seeds
def test_seed_tables_are_read_row_by_row():
    text = next(p for p in SEED_FILES if p.name.startswith("001")).read_text(encoding="utf-8")
    table = propose_targets(text).query("source == 'table'")
    assert len(table) == 13 + 30  # 十三五完成情况表 and 十四五主要指标表 (numbered 1-29 and 31)
    past = table[table["indicator"] == "养老机构护理型床位占比(%"].iloc[0]
    assert (past["kind"], past["baseline_value"], past["target_value"], past["target_year"]) == ("baseline", 0.47, 0.3, 2020)
    station = table[table["indicator"] == "乡镇殡葬服务站建设数"].iloc[0]
    assert (station["target_value"], station["binding"], station["facility_class"]) == (10.0, "约束性", "funeral_service_station")
    lottery = table[table["indicator"] == "福利彩票销售网点数"].iloc[0]
    assert lottery["target_value"] == 260.0  # 0.0260 万个


# ---------------------------------------------------------------- other formats

def _seed_slice() -> str:
    """About 2,000 characters of a seed around its indicator table, or the hand-written plan."""
    if not SEED_FILES:
        return PLAN
    text = SEED_FILES[0].read_text(encoding="utf-8")
    start = text.find("第五节发展目标")
    return text[start:start + 2000] if start >= 0 else PLAN


def _docx(lines: list[str], table: list[list[str]] | None = None) -> bytes:
    from docx import Document

    document = Document()
    for line in lines:
        document.add_paragraph(line)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, cells in enumerate(table):
            for c, cell in enumerate(cells):
                grid.cell(r, c).text = cell
        document.add_paragraph("以上指标按年度分解落实。")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_docx_gives_the_same_proposals_as_text():
    text = _seed_slice()
    from_text = propose_targets(text)
    read = read_plan_text(_docx(text.split("\n")), "规划.docx")
    from_docx = propose_targets(read)
    _assert_quotes(read, from_docx)
    assert len(from_text) > 5
    pd.testing.assert_frame_equal(from_docx[COMPARED], from_text[COMPARED])


def test_table_rows_written_on_one_line():
    """PDF text often keeps a table row on one line, cells separated by spaces, the header glued."""
    text = ("某某县民政事业发展“十四五”规划\n序号指标单位 2025年目标值属性\n1 乡镇(街道)社工站覆盖率 % 100 约束性\n"
            "2 养老机构护理型床位占比 % 60 约束性\n到2025年,全县养老机构护理型床位占比达到60%。")
    rows = propose_targets(text)
    _assert_quotes(text, rows)
    table = rows[rows["source"] == "table"]
    assert list(table["quote"]) == ["1 乡镇(街道)社工站覆盖率 % 100 约束性", "2 养老机构护理型床位占比 % 60 约束性"]
    assert list(table["target_value"]) == [1.0, 0.6] and list(table["target_year"]) == [2025, 2025]
    assert "T-NO-HEADER" in table["rule"].iloc[0] and len(rows) == 3


def test_docx_table_cells_become_lines():
    table = [["序号", "指标", "单位", "2025年目标值", "属性"],
             ["1", "乡镇(街道)社工站覆盖率", "%", "100", "约束性"],
             ["2", "养老机构护理型床位占比", "%", "60", "约束性"]]
    text = read_plan_text(_docx(["某某县民政事业发展“十四五”规划", "主要指标"], table), "plan.docx")
    assert "\n序号\n指标\n单位\n2025年目标值\n属性\n1\n乡镇(街道)社工站覆盖率\n" in text
    rows = propose_targets(text).query("source == 'table'")
    assert list(rows["facility_class"]) == ["social_work_station", "养老服务"]
    assert list(rows["target_value"]) == [1.0, 0.6] and list(rows["binding"]) == ["约束性", "约束性"]


@pytest.mark.slow
def test_pdf_gives_the_same_proposals_as_text():
    from fpdf import FPDF

    text = _seed_slice()
    pdf = FPDF()
    pdf.add_page()
    pdf.add_font("cjk", "", str(CJK_FONT))
    pdf.set_font("cjk", size=10)
    for line in text.split("\n"):
        if line.strip():
            pdf.multi_cell(0, 6, line.strip(), new_x="LMARGIN", new_y="NEXT")
    read = read_plan_text(bytes(pdf.output()), "规划.pdf")
    from_pdf = propose_targets(read)
    _assert_quotes(read, from_pdf)
    pd.testing.assert_frame_equal(from_pdf[COMPARED], propose_targets(text)[COMPARED])


def test_text_encodings(tmp_path):
    body = "到2025年,乡镇(街道)社工站覆盖率达到100%。"
    for name, raw in [("utf8.txt", body.encode("utf-8")), ("bom.txt", body.encode("utf-8-sig")),
                      ("gbk.txt", body.encode("gbk")), ("gb18030.txt", body.encode("gb18030")),
                      ("utf16.txt", body.encode("utf-16"))]:
        path = tmp_path / name
        path.write_bytes(raw)
        assert read_plan_text(path) == body, name
    assert read_plan_text(body.replace("。", "。\r\n").encode("gbk"), "上传.TXT").endswith("。\n")


# ---------------------------------------------------------------- bad files

def test_scanned_pdf():
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 150, style="F")  # an image-like page: no text layer
    with pytest.raises(ScannedPdfError, match="没有文字层.*扫描件.*请上传带文字的 PDF 或 Word/文本"):
        read_plan_text(bytes(pdf.output()), "扫描件.pdf")


def test_encrypted_pdf_and_docx():
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.encrypt(user_password="secret", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    with pytest.raises(EncryptedDocumentError, match="密码"):
        read_plan_text(buffer.getvalue(), "加密.pdf")
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 64
    with pytest.raises(EncryptedDocumentError, match="取消密码"):
        read_plan_text(ole, "加密.docx")


@pytest.mark.parametrize(("raw", "name", "message"), [
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "旧版.doc", r"\.docx"),
    (bytes(range(256)) * 40, "乱码.txt", "不是文本文件"),
    (bytes((i * 37 + 11) % 255 + 1 for i in range(8000)), "乱码2.txt", "编码"),
    ("规划".encode("utf-8"), "规划.xlsx", "不支持"),
    (b"not a zip", "规划.docx", "不是 Word"),
    (b"PK\x03\x04 broken zip", "规划.docx", "Word"),
    (b"hello", "规划.pdf", "不是 PDF"),
])
def test_unreadable_files(raw, name, message):
    with pytest.raises(UnsupportedDocumentError, match=message) as err:
        read_plan_text(raw, name)
    assert isinstance(err.value, CoverageError) and err.value.message


def test_empty_text(tmp_path):
    with pytest.raises(EmptyDocumentError, match="空文件"):
        read_plan_text(b" \n\t\n", "空.txt")
    with pytest.raises(EmptyDocumentError, match="没有文字"):
        read_plan_text(_docx(["", "  "]), "空.docx")


# ---------------------------------------------------------------- the rule files

def test_rules_load_and_bad_rules_are_listed(tmp_path):
    rules = load_rules()
    assert rules.period_of("十五五") == (2026, 2030) and rules.units["%"].scale == 0.01
    broken = pd.read_csv(PATTERNS_CSV, dtype=str, keep_default_na=False)
    broken.loc[0, "regex"] = "(unclosed"
    broken.loc[1, "kind"] = "no_such_kind"
    path = tmp_path / "patterns.csv"
    broken.to_csv(path, index=False)
    with pytest.raises(CatalogError) as err:
        load_rules(path, VOCABULARY_CSV)
    problems = "\n".join(err.value.problems)
    assert "D-ANNUAL: 正则表达式有误" in problems and "未知类型 'no_such_kind'" in problems
    assert "缺少 doc_annual 类规则" in problems  # the code needs every kind


def test_a_new_alias_in_the_vocabulary_is_used(tmp_path):
    vocabulary = pd.read_csv(VOCABULARY_CSV, dtype=str, keep_default_na=False)
    extra = pd.DataFrame([{"kind": "indicator_class", "word": "老年大学教学点", "value": "day_care", "note_zh": "测试"}])
    path = tmp_path / "vocabulary.csv"
    pd.concat([vocabulary, extra]).to_csv(path, index=False)
    rules = load_rules(PATTERNS_CSV, path)
    row = propose_targets("力争老年大学教学点覆盖率达到50%。", rules=rules).iloc[0]
    assert (row["facility_class"], row["measure"]) == ("day_care", "coverage")


# ---------------------------------------------------------------- command line

def test_cli_writes_proposals(tmp_path):
    plan_path = tmp_path / "规划.txt"
    plan_path.write_bytes(PLAN.encode("gbk"))
    out = tmp_path / "out" / "proposals.csv"
    assert main(["targets-from-text", str(plan_path), "--out", str(out)]) == 0
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    table = pd.read_csv(out, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(table.columns[:8]) == ["indicator", "facility_class", "measure", "unit_level", "target_value",
                                       "target_year", "binding", "quote"]
    assert set(table.columns) == set(PROPOSAL_COLUMNS)
    assert len(table) == len(propose_targets(PLAN))


def test_cli_bad_file_exits_2_with_chinese_message(tmp_path, capsys):
    bad = tmp_path / "扫描件.pdf"
    bad.write_bytes(b"%PDF-1.4 not really")
    assert main(["targets-from-text", str(bad), "--out", str(tmp_path / "p.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("错误:") and "Traceback" not in err and not (tmp_path / "p.csv").exists()
