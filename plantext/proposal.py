"""A proposal (one indicator value read from the plan) and the table the pages get."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from plantext.classes import ClassMatcher
from plantext.document import DocumentContext, NormalisedText
from plantext.rules import PlanTextRules

#: Output columns and what they hold.
PROPOSAL_COLUMNS: dict[str, str] = {
    "indicator": "indicator as worded (a table row's name; for a sentence, its words before the value)",
    "facility_class": "class id from data/facility_classes.csv, a class group for 床位 measures, or ''",
    "class_name": "the class's Chinese name",
    "class_reason": "why this class (which alias or word matched, where), in Chinese",
    "measure": "coverage, count, beds, beds_per_1000_elderly, nursing_bed_share, share, rate, per_capita, "
               "area_per_100_households, persons, households, money or other",
    "measure_label": "the measure in Chinese",
    "unit_level": "乡镇(街道), 街道, 乡镇, 县(市、区), 县, 村(社区) or 全市 (coverage: the units counted; others: 全市)",
    "target_value": "number; coverage, shares and rates as 0-1 (0.6 for 60%), counts and beds as written (2.8万 -> 28000)",
    "comparator": ">= (以上/不低于/至少/a range), <= (以下/不超过), = (保持) or ''",
    "target_year": "year the target is due",
    "binding": "约束性, 预期性 or ''",
    "kind": "target, or baseline (an achieved value; may still carry the old target, e.g. a 十三五 table)",
    "baseline_value": "number, as target_value",
    "baseline_year": "year of the baseline",
    "value_text": "the value as written",
    "unit": "unit as written (%, 个, 张, 万人, ...)",
    "quote": "verbatim text of the sentence (or its clauses around the value) or table row: text[start:end]",
    "start": "offset of the quote in the input text",
    "end": "end offset of the quote",
    "value_start": "offset of the value (for highlighting)",
    "value_end": "end offset of the value",
    "rule": "ids of the rules that fired (data/plantext_patterns.csv), ';'-separated",
    "explanation": "the rules' Chinese explanations, '; '-separated",
    "source": "table or sentence",
}
#: Column headers as planners read them (editor, downloads).
PROPOSAL_COLUMN_LABELS: dict[str, str] = {
    "indicator": "指标(按原文)", "facility_class": "设施类别编号", "class_name": "设施类别", "class_reason": "类别依据",
    "measure": "指标类型编号", "measure_label": "指标类型", "unit_level": "统计单元", "target_value": "目标值",
    "comparator": "比较", "target_year": "目标年份", "binding": "属性", "kind": "目标/现状", "baseline_value": "基期值",
    "baseline_year": "基期年份", "value_text": "原文数值", "unit": "单位", "quote": "原文摘录", "start": "起始位置",
    "end": "结束位置", "value_start": "数值起始位置", "value_end": "数值结束位置", "rule": "规则编号",
    "explanation": "规则说明", "source": "来源",
}


@dataclass
class Proposal:
    """One proposal while it is being built; spans are in the normalised text."""

    indicator: str
    facility_class: str
    class_reason: str
    measure: str
    unit_level: str
    target_value: float | None
    comparator: str
    target_year: int | None
    binding: str
    kind: str
    baseline_value: float | None
    baseline_year: int | None
    value_text: str
    unit: str
    span: tuple[int, int]          # the quote
    value_span: tuple[int, int]    # the value inside it
    rules: list[str] = field(default_factory=list)
    source: str = "sentence"


def proposals_frame(proposals: list[Proposal], norm: NormalisedText, context: DocumentContext, rules: PlanTextRules,
                    matcher: ClassMatcher) -> pd.DataFrame:
    """The proposals in text order as a DataFrame with `PROPOSAL_COLUMNS`, offsets in the original
    text; `frame.attrs["document"]` says what kind of document it was and how its period was found."""
    rows = []
    for p in sorted(proposals, key=lambda p: (p.span[0], p.value_span[0])):
        start, end = norm.original_span(*p.span)
        v_start, v_end = norm.original_span(*p.value_span)
        pids = list(dict.fromkeys(pid for pid in p.rules if pid))
        rows.append({
            "indicator": p.indicator, "facility_class": p.facility_class,
            "class_name": matcher.names.get(p.facility_class, p.facility_class), "class_reason": p.class_reason,
            "measure": p.measure, "measure_label": rules.measure_labels.get(p.measure, p.measure),
            "unit_level": p.unit_level, "target_value": _number(p.target_value), "comparator": p.comparator,
            "target_year": p.target_year, "binding": p.binding, "kind": p.kind,
            "baseline_value": _number(p.baseline_value), "baseline_year": p.baseline_year, "value_text": p.value_text,
            "unit": p.unit, "quote": norm.original[start:end], "start": start, "end": end,
            "value_start": v_start, "value_end": v_end, "rule": ";".join(pids),
            "explanation": "; ".join(dict.fromkeys(rules.explain(pid) for pid in pids)), "source": p.source,
        })
    frame = pd.DataFrame(rows, columns=list(PROPOSAL_COLUMNS))
    frame = frame.astype({"target_year": "Int64", "baseline_year": "Int64", "target_value": "float64",
                          "baseline_value": "float64", "start": "int64", "end": "int64", "value_start": "int64",
                          "value_end": "int64"})
    frame.attrs["document"] = {"kind": context.kind, "period": context.period_label, "issued_year": context.issued_year,
                               "reason": context.reason}
    return frame


def _number(value: float | None) -> float:
    return float("nan") if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)
