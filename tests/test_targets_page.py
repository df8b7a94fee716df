"""规划指标 → 从规划文本提取: the page (AppTest) and its logic (plantext.review)."""
import math

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from coverage.catalog import load_classes, load_targets, validate_targets
from coverage.errors import CatalogError, PlanTextError
from plantext import propose_targets, read_plan_text, review
from tests.test_pages import empty_workspace, navigation_as_on_a_running_server, run_page  # noqa: F401 (fixtures)

CLASSES = load_classes()
TEXT_MODE = "从规划文本提取"
PLAN_TEXT = (
    "某某市民政事业发展“十四五”规划\n\n"
    "到2025年，乡镇（街道）范围具备综合功能的养老服务机构覆盖率达到60%。\n"
    "截至2020年底，乡镇（街道）范围具备综合功能的养老服务机构覆盖率为35%。\n"
    "全市养老床位数达到2.8万张。\n"
)


def text_mode() -> AppTest:
    at = run_page("pages/targets.py")
    at.radio[0].set_value(TEXT_MODE).run()
    assert not at.exception, at.exception
    return at


# ---------------------------------------------------------------- the page

@pytest.mark.slow
def test_pasted_plan_proposed_highlighted_and_saved_as_new_plan(empty_workspace):
    at = text_mode()
    at.text_area[0].input(PLAN_TEXT).run()
    assert not at.exception, at.exception
    summary = next(m.value for m in at.markdown if m.value.startswith("识别为"))
    assert "十四五" in summary and "**2** 条目标" in summary and "**1** 条现状值" in summary
    cards = "".join(h.value for h in at.html if "mz-card" in h.value)
    assert cards.count('class="mz-card"') == 3
    assert "<mark>到2025年，乡镇（街道）范围具备综合功能的养老服务机构覆盖率达到<b>60%</b>。</mark>" in cards
    name = at.text_input[0]
    assert name.value == "某某市民政事业发展十四五规划"
    next(r for r in at.radio if r.label == "显示").set_value("现状").run()
    cards = "".join(h.value for h in at.html if "mz-card" in h.value)
    assert cards.count('class="mz-card"') == 1 and "截至2020年底" in cards

    next(b for b in at.button if b.label == "保存为新规划").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert any("已保存新规划" in s.value and "总览" in s.value for s in at.success)
    assert at.sidebar.selectbox[0].value == "某某市民政事业发展十四五规划"  # the new plan is current

    from store import open_store

    rows = open_store(empty_workspace / "store.gpkg").targets()  # the department's store, every row validated
    saved = validate_targets(rows.drop(columns="version"), CLASSES)
    plan = saved[saved["plan"] == "某某市民政事业发展十四五规划"].set_index("measure")
    assert set(plan.index) == {"coverage", "beds"}
    assert all(q in PLAN_TEXT for q in plan["source_quote"])
    assert set(plan["source_ref"]) == {"规划文本"} and set(plan["source_seed"]) == {"粘贴文本"}
    assert plan.loc["coverage", "target_value"] == pytest.approx(0.6)
    assert plan.loc["coverage", "baseline_value"] == pytest.approx(0.35)
    assert plan.loc["coverage", "baseline_year"] == 2020
    assert plan.loc["beds", "unit_level"] == "全市" and plan.loc["beds", "target_value"] == 28000
    assert plan["target_id"].str.match(r"N\d+-0[12]$").all()

    # saving again under the same name is refused with a Chinese message; the page stays usable
    next(b for b in at.button if b.label == "保存为新规划").click().run()
    assert not at.exception, at.exception
    assert any("已有名为" in e.value for e in at.error)


@pytest.mark.slow
def test_bad_upload_gives_chinese_message(empty_workspace):
    junk = bytes(range(256)) * 40
    with pytest.raises(PlanTextError) as err:
        read_plan_text(junk, "规划.pdf")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in str(err.value))

    at = text_mode()
    at.file_uploader[0].set_value(("规划.pdf", junk, "application/pdf")).run()
    assert not at.exception, at.exception
    assert at.error and any("\u4e00" <= ch <= "\u9fff" for ch in at.error[0].value)
    assert not any(b.label == "保存为新规划" for b in at.button)


# ---------------------------------------------------------------- plantext.review

def proposals(text=PLAN_TEXT):
    return propose_targets(text, CLASSES)


def edited_row(number=1, **values) -> dict:
    row = {"accepted": True, "number": number, "indicator": "乡镇(街道)社工站覆盖率", "facility_class": "社工站",
           "measure": "覆盖率", "unit_level": "乡镇(街道)", "target_value": 100.0, "target_year": 2025,
           "binding": "约束性", "baseline_value": math.nan, "baseline_year": pd.NA, "remark": "",
           "quote": "", "baseline_from": pd.NA}
    return row | values


def test_baseline_attached_to_matching_target_and_loose_ones_kept_apart():
    rows, loose = review.review_table(proposals(), CLASSES)
    assert list(rows["number"]) == [1, 3] and rows["accepted"].all()
    cov = rows.iloc[0]
    assert cov["target_value"] == pytest.approx(60) and cov["baseline_value"] == pytest.approx(35)
    assert cov["baseline_year"] == 2020 and cov["baseline_from"] == 2 and "第2条" in cov["remark"]
    assert loose.empty

    # a baseline with no target of its class stays apart, never a target
    text = "到2025年，乡镇（街道）社工站覆盖率达到100%。\n截至2020年底，全市共有儿童之家163所。\n"
    rows, loose = review.review_table(proposals(text), CLASSES)
    assert len(rows) == 1 and rows["baseline_value"].isna().all()
    assert list(loose["value"]) == ["163所"] and list(loose["class_name"]) == ["儿童之家"]


def test_default_choice_and_repeats():
    text = ("到2025年，乡镇（街道）社工站覆盖率达到100%。\n到2025年，乡镇（街道）社工站覆盖率达到100%。\n"
            "到2025年，社会工作专业人才总量达到3500人。\n")
    rows, _ = review.review_table(proposals(text), CLASSES)
    assert list(rows["accepted"]) == [True, False, False]
    assert "与第1条相同" in rows.iloc[1]["remark"]
    assert "未识别设施类别" in rows.iloc[2]["remark"]


def test_ids_avoid_clashes_and_quotes_are_verbatim():
    props = proposals()
    rows, _ = review.review_table(props, CLASSES)
    out = review.catalogue_rows(rows, props, CLASSES, plan="新规划", used_ids=["SY-01", "N1-01", "N2-05", "N12-01"],
                                source_seed="规划.docx")
    assert list(out["target_id"]) == ["N3-01", "N3-02"]
    assert all(q in PLAN_TEXT for q in out["source_quote"])
    assert set(out["source_seed"]) == {"规划.docx"} and set(out["source_ref"]) == {"规划文本"}
    assert list(out["target_value"]) == ["0.6", "28000"]  # percent back to a share
    assert list(out["binding"]) == ["", ""]  # no 约束性/预期性 stated (the table shows UNSET)
    validate_targets(out, CLASSES)
    assert review.next_plan_number([]) == 1


def test_capacity_and_count_measures_counted_for_whole_area():
    props = proposals()
    edited = pd.DataFrame([edited_row(3, indicator="养老床位数", facility_class="养老服务", measure="床位数",
                                      unit_level="乡镇(街道)", target_value=28000.0),
                           edited_row(1, facility_class="救助站", measure="数量", unit_level="县(市、区)", target_value=3.0)])
    out = review.catalogue_rows(edited, props, CLASSES, plan="P", used_ids=[])
    assert list(out["unit_level"]) == ["全市", "全市"]
    assert list(out["facility_class"]) == ["养老服务", "rescue_station"]


def test_rows_that_cannot_be_saved_are_named():
    props = proposals()
    edited = pd.DataFrame([edited_row(1, facility_class=review.UNSET), edited_row(3, measure="占比"),
                           edited_row(1, unit_level="村(社区)"), edited_row(3, target_value=150.0),
                           edited_row(3, facility_class=None), edited_row(1, accepted=False, facility_class=None)])
    with pytest.raises(CatalogError) as err:
        review.catalogue_rows(edited, props, CLASSES, plan="P", used_ids=[])
    problems = err.value.problems
    assert len(problems) == 5
    assert problems[0].startswith("第1条") and "未选设施类别" in problems[0]
    assert "占比" in problems[1] and "无法评估" in problems[1]
    assert "村(社区)" in problems[2]
    assert "0%-100%" in problems[3]
    assert problems[4].startswith("第3条") and "未选设施类别" in problems[4]
    with pytest.raises(CatalogError, match="没有采用"):
        review.catalogue_rows(edited.assign(accepted=False), props, CLASSES, plan="P", used_ids=[])
    with pytest.raises(CatalogError, match="新规划名称"):
        review.catalogue_rows(edited, props, CLASSES, plan=" ", used_ids=[])


def test_highlighted_html_escapes_user_text():
    text = "<script>alert(1)</script>**x** 到2025年，<b>乡镇（街道）</b>社工站覆盖率达到100%。 [a](javascript:x)"
    props = proposals(text)
    assert len(props) == 1
    html = review.cards_html(text, props)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "**x**" in html  # HTML is not Markdown: shown literally
    assert "&lt;b&gt;乡镇（街道）&lt;/b&gt;" in html
    assert "<b>100%</b>" in html and html.count("<mark>") == 1
    # every piece of document text is escaped, also the wording and the reason
    props.loc[0, ["indicator", "class_reason", "explanation"]] = ["<img src=x onerror=1>", "<i>r</i>", "<u>e</u>"]
    html = review.cards_html(text, props)
    assert "<img" not in html and "<i>r" not in html and "<u>e" not in html


def test_context_window_and_segments():
    text = "甲" * 100 + "覆盖率达到60%。" + "乙" * 100
    start, end = 100, 109
    segments = review.highlight_segments(text, start, end, 105, 108, width=10)
    assert segments[0] == ("…", "more") and segments[-1] == ("…", "more")
    assert "".join(p for p, r in segments if r in ("quote", "value")) == text[start:end]
    assert ("60%", "value") in segments
    assert "".join(p for p, r in segments if r != "more") == text[90:119]


def test_default_plan_name_from_title():
    assert review.default_plan_name("首页 > 规划\n关于印发《某市民政事业发展“十四五”规划》的通知\n") == "某市民政事业发展十四五规划"
    assert review.default_plan_name("规划信息\n民政事业发展“十三五”规划中期评估报告\n") == "民政事业发展十三五规划中期评估报告"
    assert review.default_plan_name("某市养老服务体系建设规划\n", ["某市养老服务体系建设规划"]) == "某市养老服务体系建设规划(文本提取)"
    assert review.default_plan_name("到2025年覆盖率达到60%。") == ""
