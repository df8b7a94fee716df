"""The meeting pack read back: numbers equal coverage.csv, fonts set or embedded, maps real images."""
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest
from PIL import Image

from coverage.__main__ import main
from coverage.catalog import load_classes, load_targets
from coverage.evaluate import AREA_CODE, NO_DATA_MESSAGE, evaluate_layers
from coverage.catalog import CAPACITY_MEASURES
from coverage.evaluation import current_text, current_value, evaluation_table, gap_text, percent_text, target_text
from geodata.demo import load_demo
from reporting.meeting_pack import NO_DATA_MARK, NO_DATA_VERDICT, sheet_name
from reporting.thematic import nice_scale_length_m

CLASSES = load_classes()


# ----------------------------------------------------------------- fast: pure pieces

def test_scale_bar_lengths_are_round():
    assert nice_scale_length_m(100_000) == 20_000
    assert nice_scale_length_m(36_000) == 5_000
    assert nice_scale_length_m(7_300) == 1_000


def test_sheet_names_are_valid_and_unique():
    used = set()
    a = sheet_name("SY-01 乡镇(街道)范围具备综合功能的养老服务机构覆盖率[2025]", used)
    b = sheet_name("SY-01 乡镇(街道)范围具备综合功能的养老服务机构覆盖率[2025]", used)
    assert len(a) <= 31 and len(b) <= 31 and a != b and not set("[]:*?/\\") & set(a + b)


def test_evaluation_status_and_progress():
    from shapely.geometry import box
    import geopandas as gpd

    units = gpd.GeoDataFrame({"code": [f"42030200{i}" for i in range(5)], "name": list("甲乙丙丁戊"),
                              "district_code": "420302", "district_name": "茅箭区", "kind": "镇"},
                             geometry=[box(110 + i / 10, 32, 110.1 + i / 10, 32.1) for i in range(5)], crs=4326)
    fac = gpd.GeoDataFrame({"facility_id": ["a", "b"], "name": ["x", "y"], "facility_class": ["social_work_station"] * 2,
                            "operating_status": "运营"}, geometry=gpd.points_from_xy([110.05, 110.15], [32.05, 32.05]), crs=4326)
    targets = pd.DataFrame([{"target_id": "T1", "plan": "p", "indicator": "社工站覆盖率", "facility_class": "social_work_station",
                             "measure": "coverage", "unit_level": "乡镇(街道)", "target_value": 1.0, "target_year": 2025,
                             "binding": "约束性", "baseline_value": 0.2, "baseline_year": 2020}])
    _, result = evaluate_layers(units, fac, targets, CLASSES)
    mid = evaluation_table(targets, result, evaluation_year=2023).iloc[0]  # 40%: 25% of the way, 60% of the time
    assert mid["现状值"] == "40.0%" and mid["完成率"] == "40.0%" and mid["目标进度"] == "25.0%"
    assert mid["状态"] == "滞后于序时进度" and mid["基期来源"] == "规划(2020年)"
    early = evaluation_table(targets, result, evaluation_year=2021).iloc[0]  # 20% of the time
    assert early["状态"] == "符合序时进度"


# ----------------------------------------------------------------- the whole pack on the demo (slow)

@pytest.fixture(scope="module")
def pack(tmp_path_factory):
    out = tmp_path_factory.mktemp("pack")
    units, facilities = load_demo()
    assert main(["report", "--units", str(units), "--facilities", str(facilities), "--plan", "十堰", "--org", "十堰市民政局",
                 "--format", "docx,pptx,pdf,xlsx,png,svg", "--out", str(out)]) == 0
    cov = pd.read_csv(out / "coverage.csv", dtype={"district_code": str}, encoding="utf-8-sig")
    return out, cov[cov["district_code"] == AREA_CODE].reset_index(drop=True)


def expected_row(r) -> list[str]:
    """目标值, 现状值 as the tables print them (a target without ledger data has its figure marked)."""
    mark = NO_DATA_MARK if r["no_data"] else ""
    if r["measure"] in CAPACITY_MEASURES:  # beds: '28,000' / '13,139'; shares in percent; '—' when not computable
        return [target_text(r), current_text(r) + mark]
    if r["measure"] == "count":
        return [f"{r['target_value']:g}", str(int(r["units_covered"])) + mark]
    return [f"{r['target_rate'] * 100:g}%", percent_text(r["rate"]) + mark]


@pytest.mark.slow
def test_docx_indicator_table_equals_coverage_csv_and_sets_east_asian_fonts(pack):
    from docx import Document

    out, area = pack
    path = next(out.glob("*.docx"))
    doc = Document(path)
    table = doc.tables[0]
    header = [c.text for c in table.rows[0].cells]
    assert header == ["指标", "单位", "目标值", "现状值", "差距", "是否达标", "属性"]
    body = [[c.text for c in row.cells] for row in table.rows[1:]]
    assert len(body) == len(area)
    for cells, (_, r) in zip(body, area.iterrows()):
        assert cells[0] == r["indicator"]
        assert cells[2:4] == expected_row(r)
        if r["no_data"]:  # the demo ledger holds none of some classes: said so, no gap, no verdict
            reason = r["no_data_reason"] if isinstance(r["no_data_reason"], str) and r["no_data_reason"] else NO_DATA_MESSAGE
            assert cells[4] == reason and cells[5] == NO_DATA_VERDICT
            continue
        assert cells[5] == ("是" if r["met"] else "否")
        assert cells[4] == gap_text(r)
        assert (cells[4] == "已达标") if r["met"] else (f"还需{int(r['units_needed']):,}" in cells[4])
    styles = zipfile.ZipFile(path).read("word/styles.xml").decode()
    assert 'w:eastAsia="宋体"' in styles and 'w:eastAsia="黑体"' in styles
    for style in ("Normal", "Heading 1", "Title"):
        fonts = doc.styles[style].element.rPr.rFonts
        assert fonts.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}eastAsia")
        assert fonts.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}eastAsiaTheme") is None
    assert len(doc.inline_shapes) == len(area)  # one map per indicator


@pytest.mark.slow
def test_pptx_is_16_9_with_east_asian_font_on_every_run(pack):
    from pptx import Presentation

    out, area = pack
    path = next(out.glob("*.pptx"))
    prs = Presentation(path)
    assert round(prs.slide_width / prs.slide_height, 3) == round(16 / 9, 3)
    cov = pd.read_csv(out / "coverage.csv", dtype={"district_code": str}, encoding="utf-8-sig")
    short = cov[cov["measure"].eq("coverage") & ~cov["no_data"].astype(bool) & ~cov["met"].astype(bool)]
    # cover, 主要结论, one per indicator, districts, then one 建议选址 slide per coverage target still short somewhere
    assert len(prs.slides) == len(area) + 3 + short["target_id"].nunique()
    ns = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
    runs = 0
    for slide in prs.slides:
        for r in slide._element.iter(f"{ns}r"):
            if not (r.findtext(f"{ns}t") or "").strip():
                continue
            runs += 1
            ea = r.find(f"{ns}rPr/{ns}ea")
            assert ea is not None and ea.get("typeface"), r.findtext(f"{ns}t")
    assert runs > 50
    cover = " ".join(sh.text_frame.text for sh in prs.slides[0].shapes if sh.has_text_frame)
    assert "十堰市民政设施覆盖评估报告" in cover and "十堰市民政局" in cover
    texts = " ".join(sh.text_frame.text for sh in prs.slides[2].shapes if sh.has_text_frame)
    first = area.iloc[0]
    assert first["indicator"] in texts and percent_text(first["rate"]) in texts


@pytest.mark.slow
def test_pdf_embeds_every_font_and_holds_the_numbers(pack):
    from pypdf import PdfReader

    out, area = pack
    pdfs = [next(out.glob("*评估报告_*.pdf")), next((out / "专题图").glob("分区图册_*.pdf"))]
    for path in pdfs:
        reader = PdfReader(path)
        seen = 0
        for page in reader.pages:
            for font in page["/Resources"]["/Font"].values():
                font = font.get_object()
                desc = (font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font)["/FontDescriptor"].get_object()
                assert any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3")), (path.name, font["/BaseFont"])
                seen += 1
        assert seen
    book = PdfReader(pdfs[1])
    assert len(book.pages) == 8  # one page per district
    report = PdfReader(pdfs[0])
    cover = report.pages[0].extract_text().replace(" ", "").replace("\x00", "")
    assert "十堰市民政设施覆盖评估报告" in cover and "十堰市民政局" in cover
    text = "".join(p.extract_text() for p in report.pages[1:3]).replace(" ", "").replace("\x00", "")
    assert percent_text(area.iloc[0]["rate"]) in text
    headings = [item.title for item in report.outline if not isinstance(item, list)]
    assert headings[0] == "摘要" and [h.split("、")[0] for h in headings[1:]] == list("一二三四五六")  # … 分指标情况, 建议选址


@pytest.mark.slow
def test_maps_are_non_blank_300_dpi_images(pack):
    out, area = pack
    pngs = sorted((out / "专题图").glob("*.png"))
    assert len(pngs) == len(area) and len(list((out / "专题图").glob("*.svg"))) == len(area)
    im = Image.open(pngs[0])
    assert im.size == (3000, 2250) and round(im.info["dpi"][0]) == 300
    pixels = np.asarray(im.convert("RGB")).reshape(-1, 3)
    assert (pixels != 255).any(axis=1).mean() > 0.25  # a quarter or more of the page is drawn
    assert len(np.unique(pixels[::97], axis=0)) > 20


@pytest.mark.slow
def test_xlsx_ledger_has_every_township_and_facility(pack):
    out, area = pack
    wb = openpyxl.load_workbook(next(out.glob("*台账_*.xlsx")))
    assert wb.sheetnames[:2] == ["指标汇总", "评估"]
    sy01 = wb[next(n for n in wb.sheetnames if n.startswith("SY-01"))]
    rows = list(sy01.iter_rows(values_only=True))
    assert rows[0][0].startswith("十堰市 ") and "2025" not in rows[0][0][:4]  # the title row
    header, body = rows[1], rows[2:]
    assert len(body) == 119 and sy01.freeze_panes == "A3"
    covered = sum(1 for r in body if r[header.index("是否覆盖")] == "已覆盖")
    assert covered == int(area.loc[area["target_id"] == "SY-01", "units_covered"].iloc[0])
    assert sy01.column_dimensions["B"].width > 8
    fac = wb["设施"]
    assert fac.max_row - 2 == 1178
    summary = list(wb["指标汇总"].iter_rows(min_row=2, values_only=True))
    now = summary[0].index("现状值")
    for row, (_, r) in zip(summary[1:], area.iterrows()):
        assert row[0] == r["target_id"]
        expected = current_value(r)
        if pd.isna(expected):  # a capacity figure the data cannot give: an empty cell, never a 0
            assert row[now] is None and r["no_data"]
            continue
        assert isinstance(row[now], (int, float)) and row[now] == pytest.approx(expected)


@pytest.mark.slow
def test_evaluation_baseline_computed_from_built_years(pack, tmp_path):
    """The 2020 baseline equals `compute` run on the ledger cut to rows built by 2020."""
    out, area = pack
    wb = openpyxl.load_workbook(next(out.glob("*台账_*.xlsx")))
    ev = {r[0]: r for r in wb["评估"].iter_rows(min_row=3, values_only=True)}
    units, facilities = load_demo()
    ledger = pd.read_csv(facilities, dtype=str)
    years = pd.to_numeric(ledger["建成年份"], errors="coerce")
    ledger[years.le(2020)].to_csv(tmp_path / "2020.csv", index=False)
    assert main(["compute", "--units", str(units), "--facilities", str(tmp_path / "2020.csv"), "--plan", "十堰",
                 "--out", str(tmp_path / "b")]) == 0
    base = pd.read_csv(tmp_path / "b" / "coverage.csv", dtype={"district_code": str}, encoding="utf-8-sig")
    base = base[base["district_code"] == AREA_CODE].set_index("target_id")
    stated = load_targets(classes=CLASSES).set_index("target_id")["baseline_value"]
    for _, r in area.iterrows():
        row = ev[r["indicator"]]
        if pd.notna(stated.get(r["target_id"])):  # the plan states this baseline (规划(2020年))
            assert row[2].startswith("规划")
            continue
        b = base.loc[r["target_id"]]
        if pd.isna(current_value(b)):  # e.g. 护理型床位占比 without 护理型床位数: no baseline either
            assert row[2] == "—" and row[1] is None
            continue
        assert row[2] == "按建成年份推算(2020年底)"
        assert row[1] == pytest.approx(current_value(b))
    assert ev[area.iloc[0]["indicator"]][7] in ("已完成", "符合序时进度", "滞后于序时进度")
    assert any(n.endswith(".docx") for n in zipfile.ZipFile(out / "会议材料.zip").namelist())


@pytest.mark.slow
def test_summary_page_names_every_district_short_with_its_number(pack):
    """The 摘要 of the demo pack, checked against coverage.csv: each district still short of a
    township-level target is named with its number; county-level gaps name the districts."""
    from docx import Document

    out, area = pack
    cov = pd.read_csv(out / "coverage.csv", dtype={"district_code": str}, encoding="utf-8-sig")
    doc = Document(next(out.glob("*.docx")))
    paras = [p.text for p in doc.paragraphs]
    summary = "\n".join(paras[paras.index("摘要"):paras.index(next(p for p in paras if p.endswith("、统计口径说明")))])
    lines = {line.split(":")[0]: line for line in summary.splitlines() if ":" in line}
    per = cov[(cov["district_code"] != AREA_CODE) & (cov["measure"] == "coverage") & ~cov["no_data"] & ~cov["met"].astype(bool)]
    assert len(per) > 20
    for r in per.itertuples():
        line = lines[r.indicator]
        if r.level in ("县(市、区)", "县"):
            assert r.district_name in line.split("尚未建有的:")[1], r
        else:
            assert f"{r.district_name}还需 {int(r.units_needed)} 个" in line, r
    for r in area.itertuples():
        if r.no_data and isinstance(r.no_data_reason, str) and r.no_data_reason != NO_DATA_MESSAGE:
            assert f"{r.indicator}({r.no_data_reason})" in next(v for k, v in lines.items() if k.startswith("数据不足、无法计算"))
        elif r.no_data:
            assert r.indicator in lines["台账中无此类设施 4 项(无法判断是确实没有还是未报送, 不作达标判断, 请确认台账)"]
        elif r.met:
            assert r.indicator in next(v for k, v in lines.items() if k.startswith("已达标 "))
    for name in cov.loc[cov["district_code"] != AREA_CODE, "district_name"].unique():
        assert name in lines  # one sentence per district


@pytest.mark.slow
def test_pack_has_site_proposals_and_the_scenario_before_after():
    """建议选址: the Word report lists, per unmet coverage target, each district's proposed townships
    (exactly `propose_sites`'), one slide per such target, an Excel sheet with every proposal; a
    chosen scenario adds its before/after table (whole area), equal to `compare_states`."""
    from docx import Document
    from pptx import Presentation

    from coverage.__main__ import load_inputs, plan_for_data
    from coverage.config import CoverageConfig
    from coverage.proposals import propose_sites
    from coverage.scenarios import apply_scenario, proposal_to_scenario, state_from_result
    from reporting.meeting_pack import build_pack, pack_data
    import io

    u, f = load_demo()
    units, fac, *_ = load_inputs(u, f, CLASSES)
    targets, _ = plan_for_data(load_targets(classes=CLASSES), "十堰", units["code"])
    assigned, res = evaluate_layers(units, fac, targets, CLASSES)
    proposal = propose_sites(units, res)
    outcome = apply_scenario(state_from_result(units, targets, CLASSES, res), proposal_to_scenario(proposal, "补短板"), units)
    ids = ["SY-01", "SY-02", "SY-03", "SY-04"]
    data = pack_data(units, fac, targets, CLASSES, CoverageConfig(), plan="十堰", assigned=assigned, result=res,
                     scenario=("补短板", outcome.comparison))
    files = build_pack(data, ["docx", "pptx", "xlsx"], target_ids=ids)
    doc = Document(io.BytesIO(next(v for k, v in files.items() if k.endswith(".docx"))))
    paras = [p.text for p in doc.paragraphs]
    assert any(p.endswith("、建议选址") for p in paras) and any("规划方案「补短板」实施前后" in p for p in paras)
    sites = proposal.sites
    proposed = [t for t in ids if t in set(sites["target_id"])]
    assert proposed == ["SY-01", "SY-02", "SY-03"]  # SY-04 is a count target: never sited
    rows = [[c.text for c in r.cells] for t in doc.tables if [c.text for c in t.rows[0].cells][:2] == ["区县", "至少还需"]
            for r in t.rows[1:]]
    expected = [[d, f"{int(g['at_least'].iloc[0])} 个", "、".join(g.sort_values("rank")["unit_name"])]
                for t in proposed for (_, d), g in sites[sites["target_id"] == t].groupby(["district_code", "district_name"])]
    assert rows == expected
    before_after = next(t for t in doc.tables if t.rows[0].cells[0].text == "指标" and t.rows[0].cells[1].text == "现状")
    area = outcome.comparison[outcome.comparison["district_code"] == AREA_CODE].set_index("target_id")
    for r, tid in zip(before_after.rows[1:], ids):
        cells = [c.text for c in r.cells]
        assert cells[0] == area.loc[tid, "indicator"]
        assert cells[3] == str(int(area.loc[tid, "gap_before"])) and cells[4] == str(int(area.loc[tid, "gap_after"]))
    assert before_after.rows[1].cells[5].text == "否→是"  # SY-01 met once the proposals are built
    prs = Presentation(io.BytesIO(next(v for k, v in files.items() if k.endswith(".pptx"))))
    titles = [next((sh.text_frame.text for sh in s.shapes if sh.has_text_frame), "") for s in prs.slides]
    assert [t for t in titles if t.startswith("建议选址 · ")] == [f"建议选址 · {area.loc[t, 'indicator']}" for t in proposed]
    assert "规划方案「补短板」实施前后" in titles
    wb = openpyxl.load_workbook(io.BytesIO(next(v for k, v in files.items() if k.endswith(".xlsx"))))
    sheet = list(wb["建议选址"].iter_rows(min_row=3, values_only=True))
    assert len(sheet) == int(sites["target_id"].isin(ids).sum())
    assert "方案前后对比" in wb.sheetnames
