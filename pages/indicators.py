"""指标: district x indicator table, a chart and an Excel download."""
from dataclasses import replace

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from coverage.capacity import CAPACITY_RULES
from coverage.catalog import CAPACITY_MEASURES, MEASURE_LABELS
from coverage.evaluate import AREA_CODE, COUNTY_LEVELS, NO_DATA_MESSAGE
from coverage.evaluation import MEASURE_UNITS, current_value, district_table, value_text
from coverage.hierarchy import LEVEL_LABELS, coverage_by_level, levels_present
from coverage.summary import no_data_notice, target_summary
from pages import _shared

plan = _shared.current_plan()
_, res = _shared.result(plan)

_shared.page_header("指标")
st.caption(f"规划: {_shared.esc(plan)}。覆盖率 = 已覆盖单元数 ÷ 单元总数; 差距 = 目标所需单元数(向上取整) − 已覆盖单元数。")
levels = levels_present(res.coverage.loc[res.coverage["district_code"] != AREA_CODE, "district_code"])
view_level = "县"
if len(levels) > 1:  # data of several cities (provinces): indicators per city, then a city's counties
    view_level = st.radio("统计层级", levels[::-1], horizontal=True, format_func=LEVEL_LABELS.get,
                          **_shared.remembered("indicator_level", levels[-1], levels),
                          help="按市(州)或省汇总: 乡镇(街道)类指标按该市全部单元合计计算覆盖率和差距")
county_rows = res.coverage
cov = coverage_by_level(county_rows, view_level)
res = replace(res, coverage=cov)
UNIT_LABEL = LEVEL_LABELS[view_level]

indicators = list(dict.fromkeys(cov["indicator"]))
choice = st.selectbox("指标", indicators, **_shared.remembered("indicator_choice", indicators[0], indicators))
sub = cov[cov["indicator"] == choice]
measure = sub["measure"].iloc[0]


def show_capacity(sub: pd.DataFrame, measure: str) -> None:
    """A capacity target: the sentence, the figure per district with the numbers behind it, a chart."""
    area_row = sub[sub["district_code"] == AREA_CODE].iloc[0]
    st.markdown(_shared.esc(target_summary(cov, area_row["target_id"])))
    table = district_table(res, area_row["target_id"]).rename(columns={"区县": UNIT_LABEL})
    st.dataframe(pd.concat([table.iloc[[-1]], table.iloc[:-1]]), hide_index=True, width="stretch")
    notes = sub.loc[sub["data_note"].fillna("").ne(""), ["district_name", "data_note"]]
    if len(notes):
        st.caption(_shared.esc("数据说明: " + "; ".join(f"{d}: {n}" for d, n in notes.itertuples(index=False))))
    st.caption(_shared.esc(CAPACITY_RULES[measure]))
    per = sub[(sub["district_code"] != AREA_CODE) & sub["value"].notna()]
    if len(per):
        unit = MEASURE_UNITS[measure]
        y = alt.Y("value:Q", title=f"{MEASURE_LABELS[measure]}({unit})",
                  axis=alt.Axis(format="%") if unit == "%" else alt.Axis())
        bars = alt.Chart(per.assign(状态=per["met"].map({True: "达标", False: "未达标"}).fillna("全市目标"))).mark_bar().encode(
            x=alt.X("district_name:N", title=UNIT_LABEL, sort=None, axis=alt.Axis(labelAngle=0, labelLimit=200)), y=y,
            color=alt.Color("状态:N", title="是否达标", scale=alt.Scale(domain=["达标", "未达标", "全市目标"],
                                                                     range=["#2e8b57", "#e4572e", "#4c78a8"])),
            tooltip=[alt.Tooltip("district_name:N", title=UNIT_LABEL), alt.Tooltip("value:Q", title=MEASURE_LABELS[measure], format=".3~f"),
                     alt.Tooltip("beds:Q", title="床位数")])
        chart = bars
        if measure != "beds":
            chart = bars + alt.Chart(pd.DataFrame({"t": [float(area_row["target_value"])]})).mark_rule(
                color="black", strokeDash=[6, 3]).encode(y="t:Q")
        st.altair_chart(chart.properties(height=300), width="stretch")
    else:
        st.info(_shared.esc(f"{MEASURE_LABELS[measure]}无法按区县计算: {area_row['no_data_reason'] or '没有数据'}。"))


def show_coverage(sub: pd.DataFrame) -> None:
    """A coverage or count target: the district table and a chart."""
    no_data = bool(sub["no_data"].any())
    if no_data:
        st.warning(_shared.esc(no_data_notice([sub["class_name"].iloc[0]], "table")))
    sub = pd.concat([sub[sub["district_code"] == AREA_CODE], sub[sub["district_code"] != AREA_CODE]])  # 全市 first
    shown = sub[["district_name", "units_covered", "units_total", "rate", "target_rate", "units_needed", "met", "binding", "level",
                 "facilities_in_ledger"]]
    table = _shared.labelled(shown).rename(columns={"区县": UNIT_LABEL})
    table["覆盖率"] = shown["rate"].map(_shared.pct)
    table["目标"] = shown["target_rate"].map(_shared.pct)
    table["属性"] = shown["binding"].replace("", "规划未注明")
    if no_data:
        table["差距(还需)"] = NO_DATA_MESSAGE
        table["是否达标"] = "待确认"
    st.dataframe(table, hide_index=True, width="stretch")

    districts = sub[sub["district_code"] != AREA_CODE].assign(
        状态=lambda d: "待确认" if no_data else d["met"].map({True: "达标", False: "未达标"}))
    colors = alt.Scale(domain=["达标", "未达标", "待确认"], range=["#2e8b57", "#e4572e", "#b8b09a"])
    x_axis = alt.X("district_name:N", title=UNIT_LABEL, sort=None, axis=alt.Axis(labelAngle=0, labelLimit=200))
    tooltip = [alt.Tooltip("district_name:N", title=UNIT_LABEL), alt.Tooltip("rate:Q", title="覆盖率", format=".1%"),
               alt.Tooltip("units_covered:Q", title="已覆盖"), alt.Tooltip("units_total:Q", title="总数"),
               alt.Tooltip("units_needed:Q", title="还需")]
    if sub["level"].iloc[0] in COUNTY_LEVELS and view_level == "县":
        # one unit per district: a bar of full height per district, coloured by whether it has the facility
        strip = districts.assign(height=1.0, 有无=districts["units_covered"].map({1: "已建有", 0: "尚无"}))
        bars = alt.Chart(strip).mark_bar().encode(
            x=x_axis, y=alt.Y("height:Q", title=None, axis=None, scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("状态:N", title="是否达标", scale=colors), tooltip=tooltip)
        labels = alt.Chart(strip).mark_text(dy=-8, baseline="bottom").encode(x=x_axis, y="height:Q", text="有无:N")
        st.altair_chart((bars + labels).properties(height=220), width="stretch")
    elif districts["rate"].notna().any():
        target = float(sub["target_rate"].iloc[0])
        bars = alt.Chart(districts).mark_bar().encode(
            x=x_axis, y=alt.Y("rate:Q", title="覆盖率", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("状态:N", title="是否达标", scale=colors), tooltip=tooltip)
        rule = alt.Chart(pd.DataFrame({"target": [target]})).mark_rule(color="black", strokeDash=[6, 3]).encode(y="target:Q")
        st.altair_chart((bars + rule).properties(height=320), width="stretch")
    else:
        chart = alt.Chart(districts).mark_bar(color="#4c78a8").encode(
            x=x_axis, y=alt.Y("units_covered:Q", title="设施数量"),
            tooltip=[alt.Tooltip("district_name:N", title=UNIT_LABEL), alt.Tooltip("units_covered:Q", title="设施数量")])
        st.altair_chart(chart.properties(height=300), width="stretch")



if measure in CAPACITY_MEASURES:
    show_capacity(sub, measure)
else:
    show_coverage(sub)

st.subheader(f"全部指标({UNIT_LABEL} × 指标)")
# each cell as its measure reads: a coverage rate, or the bed figure in its own unit
shown_value = [value_text(m, current_value(r)) for r in cov.to_dict("records") for m in [r["measure"]]]
overview = cov.assign(shown=shown_value).pivot_table(index="district_name", columns="indicator", values="shown",
                                                    aggfunc="first", sort=False)
overview.index.name, overview.columns.name = UNIT_LABEL, "指标"
st.dataframe(overview.fillna("—"), width="stretch")
st.caption("覆盖率类指标为覆盖率; 数量类为设施个数; 床位类为床位数(张)、每千名老年人床位数(张)或护理型床位占比。")



def download_sheet(rows: pd.DataFrame, level: str) -> pd.DataFrame:
    """The coverage rows of one level for Excel: Chinese headers, bed figures out of the 覆盖率 column, a 备注."""
    full = rows.drop(columns=["facility_class", "measure", "no_data"])
    full.loc[rows["measure"].isin(CAPACITY_MEASURES).to_numpy(), ["rate", "target_rate"]] = np.nan  # beds: 数值 / 数值单位
    full = _shared.labelled(full).rename(columns={"区县": LEVEL_LABELS[level], "区县代码": f"{LEVEL_LABELS[level]}代码"})
    reasons = rows["no_data_reason"].fillna("") if "no_data_reason" in rows else pd.Series("", index=rows.index)
    full["备注"] = np.where(rows["no_data"].astype(bool), np.where(reasons.ne(""), reasons, NO_DATA_MESSAGE), "")
    return full


sheets = {f"按{LEVEL_LABELS[lv]}": download_sheet(coverage_by_level(county_rows, lv), lv) for lv in levels[::-1]}
_shared.excel_download("下载全部指标表 (Excel)", sheets, "覆盖率指标表", percent_columns=("覆盖率", "目标"))
