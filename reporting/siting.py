"""The 建议选址 part of the meeting pack, as tables (Word, PDF, slides and Excel draw them).

From `coverage.proposals.propose_sites` (the fewest townships per district that meet each unmet
coverage target, ranked by the planner's criterion) and, when a scenario is chosen,
`coverage.scenarios.compare_states` (before/after on every indicator). Nothing is recomputed here.
"""
from __future__ import annotations

import pandas as pd

from coverage.evaluate import AREA_CODE
from coverage.evaluation import percent_text
from coverage.proposals import NOT_SITED, RANKS

#: The caveat every proposal carries (the numbers are a count, the places a first suggestion).
CAVEAT = "选址建议按数据测算, 只说明「至少还需几处、先考虑哪些乡镇」; 具体选址还需结合用地、交通、人口分布和实地情况确定。"


def intro(rank: str) -> str:
    """The paragraph opening the section: the rule and the ranking used."""
    return (f"对每项未达标的覆盖率指标, 按各区县的差距列出至少需新增覆盖的乡镇(街道), 数量即达标所需的最少个数; "
            f"建议顺序按「{RANKS.get(rank, rank)}」排列。{CAVEAT}")


def _chosen(sites: pd.DataFrame, target_ids: list[str] | None, districts: list[str] | None) -> pd.DataFrame:
    out = sites if target_ids is None else sites[sites["target_id"].isin(target_ids)]
    if districts:
        out = out[out["district_code"].isin(districts)]
    return out


def proposal_targets(sites: pd.DataFrame, target_ids: list[str] | None = None,
                     districts: list[str] | None = None) -> list[tuple[str, str]]:
    """(target_id, indicator) of the targets with proposed townships, in the plan's order."""
    chosen = _chosen(sites, target_ids, districts)
    order = target_ids or list(dict.fromkeys(sites["target_id"]))
    present = dict(zip(chosen["target_id"], chosen["indicator"]))
    return [(t, present[t]) for t in order if t in present]


def proposal_table(sites: pd.DataFrame, target_id: str, districts: list[str] | None = None) -> pd.DataFrame:
    """One target, one row per district: 区县, 至少还需, 建议乡镇(街道)(按顺序)."""
    rows = _chosen(sites, [target_id], districts).sort_values(["district_code", "rank"], kind="stable")
    out = [{"区县": name, "至少还需": f"{int(g['at_least'].iloc[0])} 个", "建议乡镇(街道)(按顺序)": "、".join(g["unit_name"].astype(str))}
           for (_, name), g in rows.groupby(["district_code", "district_name"], sort=True)]
    return pd.DataFrame(out, columns=["区县", "至少还需", "建议乡镇(街道)(按顺序)"])


def proposal_notes(notes: pd.DataFrame, target_id: str) -> list[str]:
    """The notes of one target worth printing (not the 'not sited' ones of count and bed targets)."""
    own = notes[(notes["target_id"] == target_id) & ~notes["note"].astype(str).str.endswith(NOT_SITED)]
    return own["note"].astype(str).tolist()


def proposal_sheet(sites: pd.DataFrame, target_ids: list[str] | None = None,
                   districts: list[str] | None = None) -> pd.DataFrame:
    """Every proposed township, for the Excel ledger: 指标编号, 指标, 区县, 顺序, 乡镇代码, 乡镇(街道),
    理由, 本区县至少需, 经度, 纬度 (the township's representative point, WGS84)."""
    rows = _chosen(sites, target_ids, districts)
    return pd.DataFrame({
        "指标编号": rows["target_id"], "指标": rows["indicator"], "区县": rows["district_name"], "顺序": rows["rank"],
        "乡镇代码": rows["unit_code"], "乡镇(街道)": rows["unit_name"], "理由": rows["reason"],
        "本区县至少需": rows["at_least"], "经度(WGS84)": rows["lon"].round(6), "纬度(WGS84)": rows["lat"].round(6),
    }).reset_index(drop=True)


def _figure(measure: str, rate, covered) -> str:
    if measure == "coverage":
        return percent_text(rate)
    return "—" if covered is None or pd.isna(covered) else f"{int(covered)}"


def _gap(value) -> str:
    return "—" if value is None or pd.isna(value) else f"{int(value)}"


def _verdict(value) -> str:
    return "—" if value is None or pd.isna(value) else ("是" if bool(value) else "否")


def scenario_table(comparison: pd.DataFrame, target_ids: list[str] | None = None) -> pd.DataFrame:
    """The whole-area rows of a scenario's before/after, as text: 指标, 现状, 方案后, 现状差距,
    方案后差距, 是否达标(现状→方案后). 现状/方案后: the rate for coverage targets, the count (or bed
    total) otherwise."""
    c = comparison[comparison["district_code"] == AREA_CODE]
    if target_ids is not None:
        c = c.set_index("target_id").loc[[t for t in target_ids if t in set(c["target_id"])]].reset_index()
    return pd.DataFrame({
        "指标": c["indicator"].to_numpy(),
        "现状": [_figure(m, r, n) for m, r, n in zip(c["measure"], c["rate_before"], c["covered_before"])],
        "方案后": [_figure(m, r, n) for m, r, n in zip(c["measure"], c["rate_after"], c["covered_after"])],
        "现状差距": [_gap(v) for v in c["gap_before"]], "方案后差距": [_gap(v) for v in c["gap_after"]],
        "是否达标(现状→方案后)": [f"{_verdict(b)}→{_verdict(a)}" for b, a in zip(c["met_before"], c["met_after"])],
    })
