"""The tables and sentences of a planning meeting: the plans' 主要指标 table, the 中期/总结评估
table, the per-district tables and the summary in sentences (`indicator_sentences`,
`district_sentences`).

All are read from a `CoverageResult` (whole-area rows, `district_code` "ALL"), so every number in a
report is the number in `coverage.csv`. Text cells are formatted here, once, for every output
format (Word, slides, PDF, Excel).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from coverage.catalog import AREA_MEASURES, SHARE_MEASURES
from coverage.evaluate import AREA_CODE, COUNTY_LEVELS, NO_DATA_MESSAGE, CoverageResult, operating_statuses

#: What a unit level counts, for "还需 N 个..." texts.
LEVEL_NOUNS = {"乡镇(街道)": "乡镇(街道)", "街道": "街道", "乡镇": "乡镇", "县(市、区)": "县(市、区)", "县": "县(县级市)",
               "全市": "个"}
#: The 属性 cell when the plan does not say whether a target is 约束性 or 预期性.
BINDING_UNSTATED = "规划未注明"
#: What 属性 means, for a note under the tables.
BINDING_NOTE = ("属性: 约束性指标是规划要求必须完成的指标, 预期性指标是引导性目标; "
                f"规划原文未写明属性的, 记为「{BINDING_UNSTATED}」。")

INDICATOR_COLUMNS = ["指标", "单位", "目标值", "现状值", "差距", "是否达标", "属性"]
EVALUATION_COLUMNS = ["指标", "单位", "基期值", "基期来源", "现状值", "目标值", "完成率", "目标进度", "状态", "属性"]


def percent_text(share: float, digits: int = 1) -> str:
    """0.4706 -> '47.1%'; missing -> '—'."""
    if share is None or (isinstance(share, float) and math.isnan(share)) or pd.isna(share):
        return "—"
    value = round(float(share) * 100, digits)
    return f"{value:.{digits}f}%" if digits else f"{value:.0f}%"


#: The unit a measure's figures are read in (the 单位 column).
MEASURE_UNITS = {"coverage": "%", "count": "个", "beds": "张", "beds_per_1000_elderly": "张/千名老年人",
                 "nursing_bed_share": "%"}
#: What a capacity target still needs, after the number ("还需 120 张床位").
CAPACITY_NEEDED_WORDS = {"beds": "张床位", "beds_per_1000_elderly": "张床位", "nursing_bed_share": "张护理型床位"}
#: 是否达标 when the figure cannot be computed (capacity rows without beds or elderly population).
VERDICT_UNKNOWN = "待确认"


def is_share(measure: str) -> bool:
    """Measures read in percent (coverage, 护理型床位占比)."""
    return measure in SHARE_MEASURES


def value_text(measure: str, value) -> str:
    """One figure of a measure as a planner reads it: '47.1%', '75', '13,139', '17.4'; '—' when missing."""
    if value is None or pd.isna(value):
        return "—"
    if is_share(measure):
        return percent_text(float(value))
    if measure == "beds_per_1000_elderly":
        return f"{float(value):,.1f}"
    return f"{float(value):,.0f}" if measure == "beds" else f"{float(value):g}"


def current_value(row) -> float:
    """The figure compared with the target: the rate (coverage), the count, or the capacity value."""
    if row["measure"] == "count":
        return float(row["units_covered"])
    if row["measure"] == "coverage":
        return float(row["rate"])
    value = row.get("value", np.nan) if hasattr(row, "get") else np.nan
    return float(value) if value is not None and not pd.isna(value) else np.nan


def target_text(row) -> str:
    """The target as the plans write it: '60%' for shares, '500' for counts, '28,000' beds."""
    if row["measure"] == "coverage":
        return f"{row['target_rate'] * 100:g}%"
    if row["measure"] == "nursing_bed_share":
        return f"{float(row['target_value']) * 100:g}%"
    if pd.isna(row["target_value"]):
        return "—"
    return f"{float(row['target_value']):,.0f}" if row["measure"] == "beds" else f"{float(row['target_value']):g}"


def current_text(row) -> str:
    if row["measure"] == "count":
        return f"{int(row['units_covered'])}"
    return value_text(row["measure"], current_value(row))


def gap_text(row) -> str:
    """'还需16个乡镇(街道)', '还需75个', '还需14,861张床位', '已达标', or `VERDICT_UNKNOWN` when the
    figure cannot be computed."""
    if row["met"] is None or pd.isna(row["met"]):
        return VERDICT_UNKNOWN
    if bool(row["met"]):
        return "已达标"
    if row["measure"] in CAPACITY_NEEDED_WORDS:
        return f"还需{int(row['units_needed']):,}{CAPACITY_NEEDED_WORDS[row['measure']]}"
    noun = LEVEL_NOUNS.get(row["level"], "个")
    return f"还需{int(row['units_needed'])}个" + ("" if noun == "个" else noun)


def met_text(value) -> str:
    """是 / 否, or `VERDICT_UNKNOWN` when the figure cannot be computed (met is NA)."""
    if value is None or pd.isna(value):
        return VERDICT_UNKNOWN
    return "是" if bool(value) else "否"


def binding_text(value) -> str:
    """约束性 / 预期性 as the plan says, else `BINDING_UNSTATED`."""
    if value is None or (not isinstance(value, str) and pd.isna(value)) or not str(value).strip() or str(value).strip() == "—":
        return BINDING_UNSTATED
    return str(value).strip()


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
        "单位": rows["measure"].map(MEASURE_UNITS),
        "目标值": [target_text(r) for _, r in rows.iterrows()],
        "现状值": [current_text(r) for _, r in rows.iterrows()],
        "差距": [gap_text(r) for _, r in rows.iterrows()],
        "是否达标": rows["met"].map(met_text),
        "属性": rows["binding"].map(binding_text),
    })
    numbers = rows[["target_id", "measure", "level", "rate", "units_covered", "units_total", "units_needed", "met",
                    "target_year"]]
    return pd.concat([out, numbers], axis=1)


def district_table(result: CoverageResult, target_id: str, districts: list[str] | None = None) -> pd.DataFrame:
    """One indicator per district, then the whole-area row (区县 "全市"): 区县, 已覆盖, 单元总数,
    覆盖率, 目标, 差距, 是否达标 (text) for the coverage targets; 区县, 现有数量 for count targets
    (the plan gives only a city-wide count). `districts` (codes) limits the district rows; the
    全市 row is always the whole area."""
    rows = result.coverage[(result.coverage["target_id"] == target_id)]
    per = rows[rows["district_code"] != AREA_CODE]
    if districts:
        per = per[per["district_code"].isin(districts)]
    if per.empty:
        return pd.DataFrame()
    per = pd.concat([per, rows[rows["district_code"] == AREA_CODE]])
    measure = per["measure"].iloc[0]
    if measure == "count":
        return pd.DataFrame({"区县": per["district_name"], "现有数量": per["units_covered"].astype(int)}).reset_index(drop=True)
    if measure == "beds":  # a city-wide total: the districts' beds, the target on the 全市 row only
        return pd.DataFrame({
            "区县": per["district_name"], "床位数(张)": per["beds"].map(lambda v: value_text("beds", v)),
            "目标": [target_text(r) if r["district_code"] == AREA_CODE else "—" for _, r in per.iterrows()],
            "差距": [gap_text(r) if r["district_code"] == AREA_CODE else "—" for _, r in per.iterrows()],
        }).reset_index(drop=True)
    if measure in CAPACITY_NEEDED_WORDS:
        out = {"区县": per["district_name"], "床位数(张)": per["beds"].map(lambda v: value_text("beds", v))}
        if measure == "beds_per_1000_elderly":
            out["老年人口(人)"] = per["elderly_population"].map(lambda v: value_text("beds", v))
            out["每千名老年人床位(张)"] = per["value"].map(lambda v: value_text(measure, v))
        else:
            out["护理型床位(张)"] = per["nursing_beds"].map(lambda v: value_text("beds", v))
            out["护理型床位占比"] = per["value"].map(lambda v: value_text(measure, v))
        out.update({"目标": [target_text(r) for _, r in per.iterrows()], "差距": [gap_text(r) for _, r in per.iterrows()],
                    "是否达标": per["met"].map(met_text)})
        return pd.DataFrame(out).reset_index(drop=True)
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
        value_now = current_value(c.to_dict() | {"measure": t.measure})
        goal = float(t.target_value)
        stated = getattr(t, "baseline_value", np.nan)
        stated_year = getattr(t, "baseline_year", pd.NA)
        if stated is not None and not pd.isna(stated):
            value_base, source = float(stated), "规划" + (f"({int(stated_year)}年)" if not pd.isna(stated_year) else "")
            year0 = int(stated_year) if not pd.isna(stated_year) else baseline_year
        elif base is not None and t.target_id in base.index and not pd.isna(
                value_base := current_value(base.loc[t.target_id].to_dict() | {"measure": t.measure})):
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
        met = _flag(c["met"])
        if pd.isna(value_now):  # a capacity figure the data cannot give (no beds, no elderly population)
            status = VERDICT_UNKNOWN
        elif met:
            status = "已完成"
        elif pd.isna(progress):
            status = "未完成"
        else:
            status = "符合序时进度" if progress >= elapsed - 1e-9 else "滞后于序时进度"
        fmt = (lambda v: "—" if pd.isna(v) else f"{v:g}") if count else (lambda v: value_text(t.measure, v))
        rows.append({
            "指标": t.indicator, "单位": MEASURE_UNITS.get(t.measure, ""), "基期值": fmt(value_base), "基期来源": source,
            "现状值": fmt(value_now), "目标值": target_text({"measure": t.measure, "target_value": goal, "target_rate": goal}),
            "完成率": percent_text(completion), "目标进度": percent_text(progress), "状态": status,
            "属性": binding_text(t.binding), "target_id": t.target_id, "baseline_value": value_base,
            "current_value": value_now, "target_value": goal, "completion": completion, "progress": progress,
        })
    return pd.DataFrame(rows, columns=EVALUATION_COLUMNS + ["target_id", "baseline_value", "current_value", "target_value",
                                                            "completion", "progress"])


# ------------------------------------------------------------------ the summary in sentences

def _target_pct(rate: float) -> str:
    return f"{rate * 100:g}%"


def _noun(level: str) -> str:
    noun = LEVEL_NOUNS.get(level, "个")
    return "" if noun == "个" else noun


def _flag(value) -> bool:
    return False if value is None or (not isinstance(value, (bool, np.bool_)) and pd.isna(value)) else bool(value)


def _required(rate: float, total: int) -> int:
    return math.ceil(round(rate * total, 9))


def _gap_parts(result: CoverageResult, target_id: str) -> dict | None:
    """The numbers behind `district_gap_note` (None when the districts' gaps add up to the area's)."""
    rows = result.coverage[result.coverage["target_id"] == target_id]
    area = rows[rows["district_code"] == AREA_CODE]
    per = rows[rows["district_code"] != AREA_CODE]
    if area.empty or per.empty or area["measure"].iloc[0] != "coverage" or _flag(area["no_data"].iloc[0]):
        return None
    a = area.iloc[0]
    total_needed = int(per["units_needed"].astype(int).sum())
    if total_needed == int(a["units_needed"]):
        return None
    rate = float(a["target_rate"])
    required = [_required(rate, int(n)) for n in per["units_total"]]
    return {"indicator": a["indicator"], "sum": total_needed, "area": int(a["units_needed"]),
            "total": int(a["units_total"]), "area_required": _required(rate, int(a["units_total"])),
            "sum_required": sum(required), "noun": _noun(a["level"]) or "单元",
            "above": [(r.district_name, int(r.units_covered) - req) for r, req in zip(per.itertuples(), required)
                      if int(r.units_covered) > req]}


def district_gap_note(result: CoverageResult, target_id: str) -> str:
    """Why the districts' gaps of a coverage target do not add up to the whole area's gap ("" when
    they do): the target applies to the whole area's total, each district's requirement is rounded
    up on its own, and districts above their target do not lower another district's gap."""
    g = _gap_parts(result, target_id)
    if g is None:
        return ""
    text = (f"各区县还需数合计 {g['sum']} 个, 与全市还需 {g['area']} 个不同: 全市目标按全市 {g['total']} 个{g['noun']}合计计算"
            f"(需覆盖 {g['area_required']} 个)")
    if g["sum_required"] > g["area_required"]:
        text += f", 而各区县按本区县{g['noun']}数分别向上取整, 合计需覆盖 {g['sum_required']} 个"
    if g["above"]:
        names = "、".join(f"{n}(多 {k} 个)" for n, k in g["above"])
        text += f"; {names}已超过本区县目标, 多出的部分计入全市, 但不减少其他区县的差距"
    return text + "。"


def gap_notes_sentence(result: CoverageResult, target_ids: list[str] | None = None) -> str:
    """One sentence for the summary naming the targets whose districts' gaps add up to more (or
    less) than the whole area's gap, with both numbers and the reasons ("" when none)."""
    parts = [g for t in area_rows(result, target_ids)["target_id"] if (g := _gap_parts(result, t)) is not None]
    if not parts:
        return ""
    listed = "; ".join(f"{g['indicator']} 各区县合计还需 {g['sum']} 个、全市还需 {g['area']} 个" for g in parts)
    reasons = ["全市目标按全市合计计算"]
    if any(g["sum_required"] > g["area_required"] for g in parts):
        reasons.append("各区县按本区县单元数分别向上取整")
    if any(g["above"] for g in parts):
        reasons.append("已超过目标的区县多出的部分不抵减其他区县的差距")
    return f"注: 各区县还需数之和与全市还需数不同的指标 —— {listed}。原因: {', '.join(reasons)}。"


def overall_sentence(result: CoverageResult, target_ids: list[str] | None = None) -> str:
    """How many targets are met, not met, and cannot be judged (no ledger data)."""
    rows = area_rows(result, target_ids)
    nd = rows["no_data"].map(_flag)
    met = rows["met"].map(_flag) & ~nd
    text = f"共 {len(rows)} 项指标: 已达标 {int(met.sum())} 项, 未达标 {int((~met & ~nd).sum())} 项"
    reasons = rows["no_data_reason"] if "no_data_reason" in rows.columns else pd.Series("", index=rows.index)
    missing_data = nd & reasons.map(lambda r: isinstance(r, str) and bool(r) and r != NO_DATA_MESSAGE)
    if (nd & ~missing_data).any():
        text += f", 台账中无此类设施、待确认 {int((nd & ~missing_data).sum())} 项"
    if missing_data.any():
        text += f", 数据不足、无法计算 {int(missing_data.sum())} 项"
    return text + "。"


def indicator_sentence(result: CoverageResult, target_id: str, districts: list[str] | None = None, *,
                       gap_note: bool = True) -> str:
    """One target in a sentence, from its coverage rows: the whole area (covered of total, rate,
    target, what is still needed or that it is met), then for township levels each district still
    short with its number ("郧阳区还需 6 个") and those at the target, and `district_gap_note` when
    the districts' gaps do not add up to the whole area's; for county levels the districts without
    the facility. A target whose class the ledger holds none of is said to be so, never a gap.
    `districts` (codes) limits the district clauses."""
    cov = result.coverage
    rows = cov[cov["target_id"] == target_id]
    a = rows[rows["district_code"] == AREA_CODE].iloc[0]
    name, year = a["indicator"], int(a["target_year"])
    if _flag(a["no_data"]):
        return f"{name}: 台账中无此类设施(0 条记录), 无法判断是确实没有还是未报送, 不作达标判断。"
    if a["measure"] in CAPACITY_NEEDED_WORDS:
        from coverage.summary import target_summary  # noqa: PLC0415  (summary builds on evaluate, not on this module)
        return f"{name}({year}年): " + target_summary(cov, target_id)
    if a["measure"] == "count":
        now, goal = int(a["units_covered"]), float(a["target_value"])
        state = "已达到目标" if _flag(a["met"]) else f"还需 {int(a['units_needed'])} 个"
        return f"{name}: 现有 {now} 个, 目标 {goal:g} 个({year}年), {state}。"
    target = _target_pct(float(a["target_rate"]))
    per = rows[rows["district_code"] != AREA_CODE]
    if districts:
        per = per[per["district_code"].isin(districts)]
    noun = _noun(a["level"])
    total, covered, needed = int(a["units_total"]), int(a["units_covered"]), int(a["units_needed"])
    state = f"已达到目标 {target}({year}年)" if _flag(a["met"]) else f"目标 {target}({year}年), 还需 {needed} 个"
    short = per[~per["met"].map(_flag)].sort_values("units_needed", ascending=False, kind="stable")
    done = per.loc[per["met"].map(_flag), "district_name"].tolist()
    if a["level"] in COUNTY_LEVELS:
        text = f"{name}: {total} 个{noun}中 {covered} 个已建有({percent_text(a['rate'])}), {state}"
        return text + (f"; 尚未建有的: {'、'.join(short['district_name'])}。" if len(short) else "。")
    text = f"{name}: {a['district_name']} {total} 个{noun}中已覆盖 {covered} 个({percent_text(a['rate'])}), {state}。"
    if len(short):
        text += ("分区县: " + "、".join(f"{r.district_name}还需 {int(r.units_needed)} 个" for r in short.itertuples())
                 + f"才能达到 {target}" + (f"; {'、'.join(done)}已达到" if done else "") + "。")
    elif done:
        text += f"{'、'.join(done)}均已达到 {target}。"
    return text + (district_gap_note(result, target_id) if gap_note else "")


def indicator_sentences(result: CoverageResult, target_ids: list[str] | None = None,
                        districts: list[str] | None = None) -> list[str]:
    """The summary per indicator: `indicator_sentence` for each target not met, then one sentence
    listing the targets met and one listing those whose class the ledger holds none of (never
    called a gap), then `gap_notes_sentence` once (not per target). `districts` (codes) limits the
    district clauses."""
    out, met, no_data, cannot = [], [], [], []
    for _, a in area_rows(result, target_ids).iterrows():
        name = a["indicator"]
        reason = a.get("no_data_reason", "")
        if _flag(a["no_data"]) and isinstance(reason, str) and reason and reason != NO_DATA_MESSAGE:
            cannot.append(f"{name}({reason})")
        elif _flag(a["no_data"]):
            no_data.append(name)
        elif _flag(a["met"]):
            if a["measure"] == "count":
                met.append(f"{name}(现有 {int(a['units_covered'])} 个, 目标 {float(a['target_value']):g} 个)")
            elif a["measure"] in CAPACITY_NEEDED_WORDS:
                unit = MEASURE_UNITS[a["measure"]].replace("%", "")
                met.append(f"{name}({current_text(a)}{unit}, 目标 {target_text(a)}{unit})")
            else:
                met.append(f"{name}({percent_text(a['rate'])}, 目标 {_target_pct(float(a['target_rate']))})")
        else:
            out.append(indicator_sentence(result, a["target_id"], districts, gap_note=False))
    if met:
        out.append(f"已达标 {len(met)} 项: {'、'.join(met)}。")
    if no_data:
        out.append(f"台账中无此类设施 {len(no_data)} 项(无法判断是确实没有还是未报送, 不作达标判断, 请确认台账): "
                   f"{'、'.join(no_data)}。")
    if cannot:
        out.append(f"数据不足、无法计算 {len(cannot)} 项(不作达标判断): {'、'.join(cannot)}。")
    note = gap_notes_sentence(result, target_ids)
    return out + ([note] if note else [])


def district_sentences(result: CoverageResult, target_ids: list[str] | None = None,
                       districts: list[str] | None = None) -> list[str]:
    """One sentence per district: the coverage targets it has not met, with what is missing
    (还差: 综合功能养老服务机构 6 个乡镇(街道); 尚无: 救助站), and how many it has met. Targets
    without ledger data are left out (nothing to judge); count targets too (set city-wide)."""
    cov = result.coverage
    judged = area_rows(result, target_ids)
    judged = judged[~judged["no_data"].map(_flag) & judged["measure"].eq("coverage")]
    per = cov[(cov["district_code"] != AREA_CODE) & cov["target_id"].isin(judged["target_id"])]
    if districts:
        per = per[per["district_code"].isin(districts)]
    out = []
    for (_, name), g in per.groupby(["district_code", "district_name"], sort=True):
        short = g[~g["met"].map(_flag)]
        if short.empty:
            out.append(f"{name}: 参与判断的 {len(g)} 项覆盖类指标均已达标。")
            continue
        needs: list[str] = []
        missing: dict[str, int] = {}
        for r in short.itertuples():
            if r.level in COUNTY_LEVELS:
                missing[r.class_name] = missing.get(r.class_name, 0) + 1
            else:
                needs.append(f"{r.class_name} {int(r.units_needed)} 个{_noun(r.level)}")
        parts = []
        if needs:
            parts.append("还差: " + "、".join(needs))
        if missing:
            parts.append("尚无: " + "、".join(c if k == 1 else f"{c}(涉及 {k} 项指标)" for c, k in missing.items()))
        met = len(g) - len(short)
        out.append(f"{name}: {len(short)} 项未达标, {'; '.join(parts)}" + (f"; 其余 {met} 项已达标。" if met else "。"))
    return out
