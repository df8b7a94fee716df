"""Which plan speaks for a dataset: each plan's area (`data/plans.csv`: plan, area_code, area_name)
matched against the 统计用区划代码 of the loaded townships.

Rule: a plan fits when at least half of the township codes start with its `area_code`; among the
plans that fit, the most specific area (longest code) wins, then the larger share, then catalogue
order. No fit: the 通用 profile. The reason is returned in Chinese for the page to say.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from coverage.catalog import PLANS_CSV

GENERIC_PLAN = "通用(无本地规划时)"
MIN_SHARE = 0.5


@dataclass(frozen=True)
class PlanSuggestion:
    plan: str
    area_code: str       # "" for the generic plan
    share: float         # share of township codes inside the plan's area
    reason: str          # one Chinese sentence


def load_plan_areas(path: Path | str = PLANS_CSV) -> pd.DataFrame:
    """plan -> area_code, area_name (empty frame when the file is absent)."""
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except OSError:
        return pd.DataFrame(columns=["plan", "area_code", "area_name"])
    for col in ("plan", "area_code", "area_name"):
        if col not in table.columns:
            table[col] = ""
    table["area_code"] = table["area_code"].str.strip()
    return table


def suggest_plan(unit_codes: pd.Series | list[str], plan_names: list[str], areas: pd.DataFrame,
                 extra_areas: dict[str, str] | None = None) -> PlanSuggestion:
    """The plan whose area holds the townships (see module docstring).

    plan_names
        Plans available (catalogue order); only these can be suggested.
    extra_areas
        plan -> area_code for plans created by the planner (saved with the workspace).
    """
    codes = pd.Series(list(unit_codes), dtype=str).str.strip()
    area_of = {p: a for p, a in zip(areas["plan"], areas["area_code"]) if a}
    name_of = dict(zip(areas["area_code"], areas["area_name"]))
    area_of |= {p: a for p, a in (extra_areas or {}).items() if a}
    best: tuple | None = None
    for order, plan in enumerate(plan_names):
        area = area_of.get(plan, "")
        if not area or not len(codes):
            continue
        share = float(codes.str.startswith(area).mean())
        if share >= MIN_SHARE:
            key = (len(area), share, -order)
            if best is None or key > best[0]:
                best = (key, plan, area, share)
    if best is None:
        fallback = GENERIC_PLAN if GENERIC_PLAN in plan_names else (plan_names[0] if plan_names else "")
        prefix = codes.str[:4].mode()
        where = f"(区划代码以 {prefix.iloc[0]} 开头)" if len(prefix) else ""
        return PlanSuggestion(fallback, "", 0.0,
                              f"数据所在地区{where}没有对应的本地规划, 已选用「{fallback}」; 如有本地规划, 请在「规划指标」页新建。")
    _, plan, area, share = best
    area_name = name_of.get(area) or area
    return PlanSuggestion(plan, area, share,
                          f"按乡镇区划代码, {share:.0%} 的乡镇属于 {area_name}({area}), 已选用「{plan}」。")


def area_code_of(unit_codes: pd.Series | list[str], min_share: float = 0.9) -> str:
    """The most specific area (6-digit county, 4-digit city or 2-digit province prefix) that holds
    at least `min_share` of the township codes, or "" when none does."""
    codes = pd.Series(list(unit_codes), dtype=str).str.strip()
    if not len(codes):
        return ""
    for n in (6, 4, 2):
        top = codes.str[:n].value_counts()
        if len(top) and top.iloc[0] / len(codes) >= min_share and len(top.index[0]) == n:
            return str(top.index[0])
    return ""
