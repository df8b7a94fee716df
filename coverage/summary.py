"""Sentences written from the coverage table: which districts miss a target and by how much.

One source for 总览 and the meeting pack, so the page and the report say the same thing:
"郧阳区还需 6 个乡镇(街道)", "郧西县尚无救助站", "全市还需 16 个乡镇(街道)才能达到 60%".
"""
from __future__ import annotations

import pandas as pd

from coverage.evaluate import AREA_CODE, COUNTY_LEVELS, NO_DATA_MESSAGE

#: What one unit of a level is called in a sentence.
UNIT_WORDS = {"乡镇(街道)": "乡镇(街道)", "街道": "街道", "乡镇": "乡镇", "县(市、区)": "区县", "县": "县(市)"}


def _pct(x: float) -> str:
    return f"{x * 100:.0f}%" if abs(x * 100 - round(x * 100)) < 1e-9 else f"{x * 100:.1f}%"


def district_gaps(coverage: pd.DataFrame, target_id: str) -> pd.DataFrame:
    """Districts that miss the target, largest gap first: district_code, district_name,
    units_needed, units_covered, units_total (empty for count and 床位数 targets and met ones;
    for 每千名老年人床位数 / 护理型床位占比 units_needed is beds / nursing beds still needed)."""
    rows = coverage[(coverage["target_id"] == target_id) & (coverage["district_code"] != AREA_CODE)]
    if rows.empty or rows["measure"].iloc[0] not in JUDGED_PER_DISTRICT:
        return rows.iloc[0:0]
    missing = rows[pd.to_numeric(rows["units_needed"], errors="coerce").fillna(0) > 0]
    missing = missing.assign(units_needed=pd.to_numeric(missing["units_needed"]).astype(int))
    return missing.sort_values(["units_needed", "district_code"], ascending=[False, True])


#: Measures judged per district (a district row with units_needed > 0 misses the target).
JUDGED_PER_DISTRICT = ("coverage", "beds_per_1000_elderly", "nursing_bed_share")
#: What is still needed, per capacity measure.
NEEDED_WORDS = {"beds": "张床位", "beds_per_1000_elderly": "张床位", "nursing_bed_share": "张护理型床位"}


def _num(x: float) -> str:
    """1,234 or 38.2 (one decimal unless whole)."""
    x = float(x)
    return f"{x:,.0f}" if abs(x - round(x)) < 1e-9 else f"{x:,.1f}"


def _area_word(area_row) -> str:
    """How the whole area is called in a sentence: 全市, or 全省 / 全国 for wider data (the row's name)."""
    name = area_row.get("district_name", "") if hasattr(area_row, "get") else ""
    return name if name in ("全省", "全国") else "全市"


def district_sentence(row) -> str:
    """'郧阳区还需 6 个乡镇(街道)' (township levels), '郧西县尚无救助站' (county levels) or
    '郧阳区还需 120 张床位' (capacity targets)."""
    if row["measure"] in NEEDED_WORDS:
        return f"{row['district_name']}还需 {int(row['units_needed']):,} {NEEDED_WORDS[row['measure']]}"
    if row["level"] in COUNTY_LEVELS:
        total = pd.to_numeric(row.get("units_total", 1), errors="coerce") if hasattr(row, "get") else 1
        if pd.notna(total) and total > 1:  # a city's (province's) row: several counties, some still without
            return f"{row['district_name']}还需 {int(row['units_needed'])} 个{UNIT_WORDS.get(row['level'], '区县')}"
        return f"{row['district_name']}尚无{row['class_name']}"
    return f"{row['district_name']}还需 {int(row['units_needed'])} 个{UNIT_WORDS.get(row['level'], '单元')}"


def area_sentence(area_row) -> str:
    """One sentence on the whole area's standing for one target."""
    reason = area_row.get("no_data_reason", "")
    if bool(area_row.get("no_data", False)):
        if isinstance(reason, str) and reason and reason != NO_DATA_MESSAGE:
            return f"{reason}(「{area_row['class_name']}」)"
        return f"{NO_DATA_MESSAGE}(台账中没有「{area_row['class_name']}」)"
    needed = int(area_row["units_needed"]) if pd.notna(area_row["units_needed"]) else 0
    where = _area_word(area_row)
    if area_row["measure"] in NEEDED_WORDS:
        return capacity_sentence(area_row, needed)
    if area_row["measure"] == "count":
        have = int(area_row["units_covered"])
        goal = int(round(float(area_row["target_value"])))
        return f"{where}现有 {have} 个, 已达到目标 {goal} 个" if needed == 0 else f"{where}现有 {have} 个, 还需 {needed} 个才能达到 {goal} 个"
    word = UNIT_WORDS.get(area_row["level"], "单元")
    done = f"已覆盖 {int(area_row['units_covered'])}/{int(area_row['units_total'])} 个{word}"
    if needed == 0:
        return f"{where}{done}, 已达到 {_pct(float(area_row['target_rate']))}"
    return f"{where}{done}, 还需 {needed} 个{word}才能达到 {_pct(float(area_row['target_rate']))}"


def capacity_sentence(area_row, needed: int) -> str:
    """'全市养老床位 26,000 张, 还需 2,000 张床位才能达到 28,000 张',
    '全市每千名老年人床位 38.2 张(床位 12,345 张 / 老年人口 323,000 人), 还需 … 张床位才能达到 50 张',
    '全市护理型床位占比 52%(护理型 1,234 / 2,345 张), 还需 … 张护理型床位才能达到 60%'."""
    measure, goal = area_row["measure"], float(area_row["target_value"])
    where = _area_word(area_row)
    if measure == "beds":
        have = f"{where}床位 {_num(area_row['beds'])} 张"
        goal_text = f"{_num(goal)} 张"
    elif measure == "beds_per_1000_elderly":
        have = (f"{where}每千名老年人床位 {_num(round(float(area_row['value']), 1))} 张"
                f"(床位 {_num(area_row['beds'])} 张 / 老年人口 {_num(area_row['elderly_population'])} 人)")
        goal_text = f"{_num(goal)} 张"
    else:
        have = (f"{where}护理型床位占比 {_pct(round(float(area_row['value']), 3))}"
                f"(护理型 {_num(area_row['units_covered'])} / {_num(area_row['units_total'])} 张)")
        goal_text = _pct(goal)
    if needed == 0:
        return f"{have}, 已达到 {goal_text}"
    return f"{have}, 还需 {needed:,} {NEEDED_WORDS[measure]}才能达到 {goal_text}"


def _blank_districts(coverage: pd.DataFrame, target_id: str) -> list[str]:
    """Districts whose row of a capacity target has no data (no 老年人口, no 床位数 ...)."""
    per = coverage[(coverage["target_id"] == target_id) & (coverage["district_code"] != AREA_CODE)]
    return list(per.loc[per["no_data"].fillna(False).astype(bool), "district_name"])


def target_summary(coverage: pd.DataFrame, target_id: str, *, max_districts: int | None = None) -> str:
    """The whole area's sentence followed by the districts that miss the target:
    '全市已覆盖 56/119 个乡镇(街道), 还需 16 个乡镇(街道)才能达到 60%。7 个区县未达标: 郧阳区还需 6 个乡镇(街道)、…。'"""
    area = coverage[(coverage["target_id"] == target_id) & (coverage["district_code"] == AREA_CODE)]
    if area.empty:
        return ""
    area_row = area.iloc[0]
    text = area_sentence(area_row) + "。"
    if bool(area_row.get("no_data", False)):
        return text
    gaps = district_gaps(coverage, target_id)
    if len(gaps):
        parts = [district_sentence(r) for _, r in gaps.iterrows()]
        shown = parts if max_districts is None else parts[:max_districts]
        more = f"等 {len(parts)} 个" if len(shown) < len(parts) else ""
        text += f"{len(parts)} 个区县未达标: {'、'.join(shown)}{more}。"
    blank = _blank_districts(coverage, target_id) if area_row["measure"] in NEEDED_WORDS else []
    if blank:  # capacity rows of districts without 老年人口 / 床位数: say so, never a false gap
        text += f"{len(blank)} 个区县无法计算: {'、'.join(blank)}。"
    elif not len(gaps) and area_row["measure"] in JUDGED_PER_DISTRICT:
        text += "各区县均已达标。"
    return text


def uncovered_with_gaps(coverage: pd.DataFrame, uncovered: pd.DataFrame) -> pd.DataFrame:
    """The uncovered list with, per row, how many of its district's uncovered units must be covered
    to reach the target (`district_needed`) and how many are uncovered there (`district_uncovered`)."""
    needed = coverage[coverage["district_code"] != AREA_CODE][["target_id", "district_code", "units_needed"]]
    uncovered = uncovered.drop(columns=["district_needed", "district_uncovered"], errors="ignore")
    out = uncovered.merge(needed.rename(columns={"units_needed": "district_needed"}), on=["target_id", "district_code"], how="left")
    out["district_uncovered"] = out.groupby(["target_id", "district_code"])["unit_code"].transform("size")
    return out


def uncovered_summary(coverage: pd.DataFrame, uncovered: pd.DataFrame) -> pd.DataFrame:
    """Per target and district with uncovered units: indicator, district_name, uncovered, needed,
    sentence ('郧阳区 13 个未覆盖, 补齐其中 6 个即可达标' / '… 已达标')."""
    rows = uncovered_with_gaps(coverage, uncovered)
    if rows.empty:
        return pd.DataFrame(columns=["target_id", "indicator", "district_name", "uncovered", "needed", "sentence"])
    out = (rows.groupby(["target_id", "indicator", "district_code", "district_name"], sort=False)
           .agg(uncovered=("unit_code", "size"), needed=("district_needed", "first")).reset_index())
    out["needed"] = pd.to_numeric(out["needed"], errors="coerce").fillna(0).astype(int)
    out["sentence"] = [f"{d} {u} 个未覆盖, " + (f"补齐其中 {n} 个即可达标" if n else "已达标, 这些是继续提高覆盖的空间")
                       for d, u, n in zip(out["district_name"], out["uncovered"], out["needed"])]
    return out.drop(columns=["district_code"])


#: What each page adds after the notice, by what it shows.
NO_DATA_CONSEQUENCE = {
    "overview": "相应指标的数字仅供参考, 请确认后再使用。",
    "table": "表中数字按 0 个设施计算, 不能说明没有建设; 请确认台账是否包含这类设施。",
    "map": "地图不按未覆盖着色。",
    "list": "这些单元列为未覆盖只因台账没有此类设施, 请先确认台账。",
}


def no_data_notice(class_names, shown: str = "table") -> str:
    """The one notice every page gives when the ledger holds no facility of a class:
    '台账中无此类设施, 请确认: 台账中没有「未成年人保护工作站」类设施, 无法判断是没有建设还是没有报送; …'."""
    names = "、".join(dict.fromkeys(str(n) for n in class_names))
    return (f"{NO_DATA_MESSAGE}: 台账中没有「{names}」类设施, 无法判断是没有建设还是没有报送; "
            + NO_DATA_CONSEQUENCE.get(shown, ""))
