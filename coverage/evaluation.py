"""The tables of a planning meeting: the plans' 主要指标 table and the 中期/总结评估 table.

Both are read from a `CoverageResult` (whole-area rows, `district_code` "ALL"), so every number in a
report is the number in `coverage.csv`. Text cells are formatted here, once, for every output
format (Word, slides, PDF, Excel).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from coverage.evaluate import AREA_CODE, CoverageResult, operating_statuses

#: What a unit level counts, for "还需 N 个..." texts.
LEVEL_NOUNS = {"乡镇(街道)": "乡镇(街道)", "街道": "街道", "乡镇": "乡镇", "县(市、区)": "县(市、区)", "全市": "个"}

INDICATOR_COLUMNS = ["指标", "单位", "目标值", "现状值", "差距", "是否达标", "属性"]
EVALUATION_COLUMNS = ["指标", "单位", "基期值", "基期来源", "现状值", "目标值", "完成率", "目标进度", "状态", "属性"]


def percent_text(share: float, digits: int = 1) -> str:
    """0.4706 -> '47.1%'; missing -> '—'."""
    if share is None or (isinstance(share, float) and math.isnan(share)) or pd.isna(share):
        return "—"
    value = round(float(share) * 100, digits)
    return f"{value:.{digits}f}%" if digits else f"{value:.0f}%"


def target_text(row) -> str:
    """The target as the plans write it: '60%' for coverage, '500' for counts."""
    if row["measure"] == "count":
        return f"{row['target_value']:g}"
    return f"{row['target_rate'] * 100:g}%"


def current_text(row) -> str:
    if row["measure"] == "count":
        return f"{int(row['units_covered'])}"
    return percent_text(row["rate"])


def gap_text(row) -> str:
    """'还需16个乡镇(街道)', '还需75个', or '已达标'."""
    if bool(row["met"]):
        return "已达标"
    noun = LEVEL_NOUNS.get(row["level"], "个")
    return f"还需{int(row['units_needed'])}个" + ("" if noun == "个" else noun)


def area_rows(result: CoverageResult, target_ids: list[str] | None = None) -> pd.DataFrame:
    """Whole-area rows of the result, in catalogue order, optionally limited to some targets."""
    rows = result.coverage[result.coverage["district_code"] == AREA_CODE]
    if target_ids is not None:
        rows = rows[rows["target_id"].isin(target_ids)]
    return rows.reset_index(drop=True)


def indicator_table(result: CoverageResult, target_ids: list[str] | None = None) -> pd.DataFrame:
    """The 主要指标 table: 指标, 单位, 目标值, 现状值, 差距, 是否达标, 属性 (text), followed by the
    numbers they come from (target_id, measure, rate, units_covered, units_total, units_needed, met)."""
    rows = area_rows(result, target_ids)
    out = pd.DataFrame({
        "指标": rows["indicator"],
        "单位": np.where(rows["measure"] == "count", "个", "%"),
        "目标值": [target_text(r) for _, r in rows.iterrows()],
        "现状值": [current_text(r) for _, r in rows.iterrows()],
        "差距": [gap_text(r) for _, r in rows.iterrows()],
        "是否达标": np.where(rows["met"].astype(bool), "是", "否"),
        "属性": rows["binding"].replace("", "—").fillna("—"),
    })
    numbers = rows[["target_id", "measure", "level", "rate", "units_covered", "units_total", "units_needed", "met",
                    "target_year"]]
    return pd.concat([out, numbers], axis=1)


def district_table(result: CoverageResult, target_id: str) -> pd.DataFrame:
    """One indicator per district: 区县, 已覆盖, 单元总数, 覆盖率, 目标, 差距, 是否达标 (text) for the
    coverage targets; 区县, 现有数量 for count targets (the plan gives only a city-wide count)."""
    rows = result.coverage[(result.coverage["target_id"] == target_id)]
    per = rows[rows["district_code"] != AREA_CODE]
    if per.empty:
        return pd.DataFrame()
    if per["measure"].iloc[0] == "count":
        return pd.DataFrame({"区县": per["district_name"], "现有数量": per["units_covered"].astype(int)}).reset_index(drop=True)
    return pd.DataFrame({
        "区县": per["district_name"],
        "已覆盖": per["units_covered"].astype(int),
        "单元总数": per["units_total"].astype(int),
        "覆盖率": per["rate"].map(percent_text),
        "目标": per["target_rate"].map(lambda t: f"{t * 100:g}%"),
        "差距": [gap_text(r) for _, r in per.iterrows()],
        "是否达标": np.where(per["met"].astype(bool), "是", "否"),
    }).reset_index(drop=True)


def facilities_built_by(facilities: pd.DataFrame, year: int) -> tuple[pd.DataFrame, int]:
    """The facilities that existed at the end of `year` by their 建成年份 (`built_year`), and how
    many operating facilities have no year (left out of the baseline, so it is a lower bound)."""
    if "built_year" not in facilities.columns:
        return facilities.iloc[0:0], len(facilities)
    built = pd.to_numeric(facilities["built_year"], errors="coerce")
    operating = operating_statuses(facilities).eq("运营")
    return facilities[built.le(year)], int((operating & built.isna()).sum())


def has_built_years(facilities: pd.DataFrame) -> bool:
    return "built_year" in facilities.columns and bool(pd.to_numeric(facilities["built_year"], errors="coerce").notna().any())


def evaluation_table(targets: pd.DataFrame, current: CoverageResult, baseline: CoverageResult | None = None, *,
                     baseline_year: int = 2020, evaluation_year: int | None = None) -> pd.DataFrame:
    """The 中期/总结评估 table: baseline / current / target / completion % / status per target.

    targets
        The plan's catalogue rows; a stated `baseline_value` is used as is (source 规划).
    baseline
        The same evaluation run on the facilities existing at the end of `baseline_year` (see
        `facilities_built_by`); used for targets without a stated baseline (source 按建成年份推算).
    evaluation_year
        The year of the evaluation (default: the targets' year, a 总结评估). 目标进度 compares the
        share of the way from baseline to target already made with the share of the period elapsed:
        at or above it the status is 符合序时进度, below it 滞后于序时进度; 已完成 once the target is met.

    完成率 = current / target (how the plans' reviews report it). Text columns as in
    EVALUATION_COLUMNS, then target_id, baseline_value, current_value, target_value, completion,
    progress (numbers; shares for coverage targets).
    """
    cur = area_rows(current).set_index("target_id")
    base = area_rows(baseline).set_index("target_id") if baseline is not None else None
    rows = []
    for t in targets.itertuples(index=False):
        if t.target_id not in cur.index:
            continue
        c = cur.loc[t.target_id]
        count = t.measure == "count"
        value_now = float(c["units_covered"]) if count else float(c["rate"])
        goal = float(t.target_value)
        stated = getattr(t, "baseline_value", np.nan)
        stated_year = getattr(t, "baseline_year", pd.NA)
        if stated is not None and not pd.isna(stated):
            value_base, source = float(stated), "规划" + (f"({int(stated_year)}年)" if not pd.isna(stated_year) else "")
            year0 = int(stated_year) if not pd.isna(stated_year) else baseline_year
        elif base is not None and t.target_id in base.index:
            b = base.loc[t.target_id]
            value_base = float(b["units_covered"]) if count else float(b["rate"])
            source, year0 = f"按建成年份推算({baseline_year}年底)", baseline_year
        else:
            value_base, source, year0 = np.nan, "—", baseline_year
        completion = value_now / goal if goal else np.nan
        year1 = int(t.target_year)
        now = evaluation_year if evaluation_year is not None else year1
        elapsed = min(1.0, max(0.0, (now - year0) / (year1 - year0))) if year1 > year0 else 1.0
        if pd.isna(value_base):
            progress = np.nan
        elif goal == value_base:
            progress = 1.0
        else:
            progress = (value_now - value_base) / (goal - value_base)
        met = bool(c["met"])
        if met:
            status = "已完成"
        elif pd.isna(progress):
            status = "未完成"
        else:
            status = "符合序时进度" if progress >= elapsed - 1e-9 else "滞后于序时进度"
        fmt = (lambda v: "—" if pd.isna(v) else f"{v:g}") if count else percent_text
        rows.append({
            "指标": t.indicator, "单位": "个" if count else "%", "基期值": fmt(value_base), "基期来源": source,
            "现状值": fmt(value_now), "目标值": f"{goal:g}" if count else f"{goal * 100:g}%",
            "完成率": percent_text(completion), "目标进度": percent_text(progress), "状态": status,
            "属性": t.binding or "—", "target_id": t.target_id, "baseline_value": value_base,
            "current_value": value_now, "target_value": goal, "completion": completion, "progress": progress,
        })
    return pd.DataFrame(rows, columns=EVALUATION_COLUMNS + ["target_id", "baseline_value", "current_value", "target_value",
                                                            "completion", "progress"])
