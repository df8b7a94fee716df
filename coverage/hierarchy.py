"""The administrative hierarchy 省 > 市 > 县 > 乡镇 from the 统计用区划代码, and indicators per level.

A township's 9/12-digit code starts with its county's 6 digits, whose first 4 are the city
(地级市/州/盟; for 直辖市 the 4-digit prefix 1101, 1201, 3101, 5001/5002) and first 2 the province. Names
come from `data/county_names.csv` (county code -> county, city, province name); a prefix missing
there keeps its code as its name.

`coverage_by_level(coverage, "市")` turns the district rows of a coverage table into rows per city
(or per province): the same columns, `district_code` / `district_name` holding the city's 4-digit
code and name. How each measure adds up:

- coverage, township levels: units covered and units total are summed over the city's districts;
  rate = covered / total, gap = ceil(target x total) - covered (the target applies to the city's
  total, as for the whole area: districts above target do lower a city's gap);
- coverage, county levels: each district row is one unit (covered 0/1), summed likewise;
- count: facilities summed; the plan's number is for the whole area it speaks for, so a city row
  has no target, gap or verdict (NA), like a district row;
- capacity: numerator and denominator (beds and elderly; nursing beds and beds) summed, the figure
  recomputed; a city with a district that has no figure has none either (no_data with the reason);
  床位数 (a total) has no target below the whole area.

The whole-area row ("ALL") keeps its figures (it is the area the plan speaks for); it is named by
`area_label` (全市, 全省 or 全国).
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import pandas as pd

from coverage.catalog import DATA_DIR

COUNTY_NAMES_CSV = DATA_DIR / "county_names.csv"
#: Levels a planner can view indicators at, and the code prefix length of each.
LEVEL_DIGITS = {"县": 6, "市": 4, "省": 2}
#: How the rows of each level are headed in tables.
LEVEL_LABELS = {"县": "区县", "市": "市(州)", "省": "省(区、市)"}


@lru_cache(maxsize=1)
def division_names() -> dict[str, str]:
    """6-digit county code, 4-digit city prefix and 2-digit province prefix -> name."""
    try:
        table = pd.read_csv(COUNTY_NAMES_CSV, dtype=str, keep_default_na=False)
    except OSError:
        return {}
    names = dict(zip(table["county_code"], table["county_name"]))
    names |= {c[:4]: n for c, n in zip(table["county_code"], table["city_name"]) if n}
    names |= {c[:2]: n for c, n in zip(table["county_code"], table["province_name"]) if n}
    return names


def division_name(code: str) -> str:
    """The name of a 2-, 4- or 6-digit division code; the code itself when unknown."""
    return division_names().get(str(code), str(code))


def levels_present(district_codes) -> list[str]:
    """The levels worth offering for these districts: 县 always; 市 when they span more than one
    city; 省 when more than one province."""
    codes = pd.Series(list(district_codes), dtype=str)
    out = ["县"]
    if codes.str[:4].nunique() > 1:
        out.append("市")
    if codes.str[:2].nunique() > 1:
        out.append("省")
    return out


def area_label(district_codes) -> str:
    """What the whole-area row of these districts is: 全市 (one city), 全省 (one province), 全国."""
    codes = pd.Series(list(district_codes), dtype=str)
    if codes.str[:4].nunique() <= 1:
        return "全市"
    if codes.str[:2].nunique() <= 1:
        return "全省"
    return "全国"


def _required(rate: float, total: float) -> int:
    return math.ceil(round(rate * total, 9))


def coverage_by_level(coverage: pd.DataFrame, level: str) -> pd.DataFrame:
    """The coverage table's rows at `level` ("县": the district rows as they are; "市" / "省": one
    row per city / province, see the module docstring), then the whole-area rows, in target order."""
    if level not in LEVEL_DIGITS:
        raise ValueError(f"unknown level {level!r}")
    per = coverage[coverage["district_code"] != "ALL"]
    label = area_label(per["district_code"])
    if label != "全市":  # the whole-area row of a province's (the nation's) data is not a 全市
        coverage = coverage.assign(district_name=coverage["district_name"].where(coverage["district_code"] != "ALL", label))
    area = coverage[coverage["district_code"] == "ALL"]
    if level == "县":
        return coverage
    digits = LEVEL_DIGITS[level]
    per = per.assign(_group=per["district_code"].astype(str).str[:digits])
    rows = []
    for (tid, group), g in per.groupby(["target_id", "_group"], sort=False):
        first = g.iloc[0]
        row = {c: first[c] for c in coverage.columns}
        row.update(district_code=group, district_name=division_name(group))
        row.update(_group_figures(g, first, whole_area=False))
        rows.append(row)
    out = pd.DataFrame(rows, columns=coverage.columns)
    order = {t: i for i, t in enumerate(dict.fromkeys(coverage["target_id"]))}
    out = pd.concat([out, area], ignore_index=True)
    key = pd.DataFrame({"t": out["target_id"].map(order), "a": out["district_code"].eq("ALL"), "d": out["district_code"]})
    return out.loc[key.sort_values(["t", "a", "d"], kind="mergesort").index].reset_index(drop=True)


def _group_figures(g: pd.DataFrame, first: pd.Series, *, whole_area: bool) -> dict:
    """covered, total, rate, gap and met of a group of district rows of one target. `whole_area`:
    the group is the area the plan speaks for, so count and 床位数 targets apply to it too."""
    measure = first["measure"]
    covered = pd.to_numeric(g["units_covered"], errors="coerce")
    total = pd.to_numeric(g["units_total"], errors="coerce")
    if measure == "coverage":
        c, t = int(covered.sum()), int(total.sum())
        goal = float(first["target_rate"])
        needed = max(0, _required(goal, t) - c)
        return {"units_covered": c, "units_total": t, "rate": c / t if t else np.nan, "units_needed": needed,
                "met": needed == 0}
    if measure == "count":
        c = int(covered.sum())
        if not whole_area:
            return {"units_covered": c}
        goal = float(first["target_value"])
        needed = max(0, math.ceil(round(goal, 9)) - c)
        return {"units_covered": c, "rate": c / goal if goal else np.nan, "target_rate": 1.0, "units_needed": needed,
                "met": needed == 0}
    out = _capacity(g, first, covered, total)
    if whole_area and measure == "beds" and not out["no_data"]:
        goal = float(first["target_value"])
        needed = max(0, math.ceil(round(goal, 9)) - int(round(out["value"])))
        out.update(target_value=goal, target_rate=1.0, rate=out["value"] / goal if goal else np.nan,
                   units_needed=needed, met=needed == 0)
    return out


def restrict_to_area(coverage: pd.DataFrame, area_code: str) -> pd.DataFrame:
    """The coverage table of the area a plan speaks for (`data/plans.csv` area_code, e.g. "4203")
    when the data reaches beyond it (a province's townships with a city's plan): the district rows
    inside the area, and whole-area rows recomputed from them with every target applied (counts and
    床位数 included). Data all inside the area (or none of it): the table as it is."""
    per = coverage[coverage["district_code"] != "ALL"]
    inside = per["district_code"].astype(str).str.startswith(str(area_code))
    if not area_code or inside.all() or not inside.any():
        return coverage
    per = per[inside]
    area = coverage[coverage["district_code"] == "ALL"].set_index("target_id")
    rows = []
    for tid, g in per.groupby("target_id", sort=False):
        row = area.loc[tid].to_dict() | {"target_id": tid}
        row.update(_group_figures(g, pd.Series(row), whole_area=True))  # the area row carries the plan's target
        for col in ("elderly_population", "nursing_beds"):
            if col in g.columns:
                row[col] = pd.to_numeric(g[col], errors="coerce").sum(min_count=1)
        row.update(district_name=area_label(g["district_code"]))
        if "facilities_in_ledger" in row:
            row["facilities_in_ledger"] = g["facilities_in_ledger"].iloc[0]
        rows.append(row)
    out = pd.concat([per, pd.DataFrame(rows, columns=coverage.columns)], ignore_index=True)
    order = {t: i for i, t in enumerate(dict.fromkeys(coverage["target_id"]))}
    key = pd.DataFrame({"t": out["target_id"].map(order), "a": out["district_code"].eq("ALL"), "d": out["district_code"]})
    return out.loc[key.sort_values(["t", "a", "d"], kind="mergesort").index].reset_index(drop=True)


def _capacity(g: pd.DataFrame, first: pd.Series, covered: pd.Series, total: pd.Series) -> dict:
    """A capacity row of a city or province from its districts' numerators and denominators."""
    measure = first["measure"]
    reasons = g["no_data_reason"].fillna("").astype(str) if "no_data_reason" in g else pd.Series("", index=g.index)
    out = {"beds": pd.to_numeric(g.get("beds"), errors="coerce").sum(min_count=1) if "beds" in g else np.nan}
    if measure == "beds":
        value = float(covered.sum())
        return out | {"value": value, "units_covered": int(value), "rate": np.nan, "units_needed": pd.NA, "met": pd.NA,
                      "target_rate": np.nan, "target_value": np.nan, "no_data": bool(reasons.ne("").all()),
                      "no_data_reason": reasons[reasons.ne("")].iloc[0] if reasons.ne("").all() else ""}
    if reasons.ne("").any() or covered.isna().any() or total.isna().any():
        return out | {"value": np.nan, "units_covered": pd.NA, "units_total": pd.NA, "rate": np.nan,
                      "units_needed": pd.NA, "met": pd.NA, "no_data": True,
                      "no_data_reason": reasons[reasons.ne("")].iloc[0] if reasons.ne("").any() else "部分区县缺少数据"}
    c, t = float(covered.sum()), float(total.sum())
    goal = float(first["target_value"])
    if measure == "beds_per_1000_elderly":
        value = c / t * 1000 if t else np.nan
        needed = max(0, _required(goal / 1000, t) - int(round(c))) if t else pd.NA
    else:  # nursing_bed_share
        value = c / t if t else np.nan
        needed = max(0, _required(goal, t) - int(round(c))) if t else pd.NA
    met = pd.NA if needed is pd.NA else needed == 0
    return out | {"value": value, "units_covered": int(round(c)), "units_total": int(round(t)),
                  "rate": value if measure == "nursing_bed_share" else (value / goal if goal else np.nan),
                  "units_needed": needed, "met": met, "no_data": False, "no_data_reason": ""}


__all__ = ["LEVEL_DIGITS", "LEVEL_LABELS", "area_label", "coverage_by_level", "division_name", "division_names",
           "levels_present", "restrict_to_area"]


def result_for_area(result, area_code: str):
    """A `CoverageResult` limited to the area a plan speaks for (`restrict_to_area`): coverage rows
    and uncovered units inside it; the same result when the data does not reach beyond it."""
    from dataclasses import replace  # noqa: PLC0415

    coverage = restrict_to_area(result.coverage, area_code)
    if coverage is result.coverage:
        return result
    unc = result.uncovered
    return replace(result, coverage=coverage, uncovered=unc[unc["district_code"].astype(str).str.startswith(str(area_code))])


def plan_area_code(plan: str, extra_areas: dict[str, str] | None = None) -> str:
    """The area code a plan speaks for: `data/plans.csv`, else the planner's own plans' areas."""
    from coverage.plans import load_plan_areas  # noqa: PLC0415

    areas = load_plan_areas()
    known = {p: a for p, a in zip(areas["plan"], areas["area_code"]) if a} | dict(extra_areas or {})
    return str(known.get(plan, "") or "")
