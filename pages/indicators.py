"""指标: district x indicator table, a chart and an Excel download."""
import altair as alt
import pandas as pd
import streamlit as st

from coverage.evaluate import AREA_CODE, COUNTY_LEVELS, NO_DATA_MESSAGE
from coverage.summary import no_data_notice
from pages import _shared

plan = _shared.current_plan()
_, res = _shared.result(plan)
cov = res.coverage

_shared.page_header("指标")
st.caption(f"规划: {_shared.esc(plan)}。覆盖率 = 已覆盖单元数 ÷ 单元总数; 差距 = 目标所需单元数(向上取整) − 已覆盖单元数。")

indicators = list(dict.fromkeys(cov["indicator"]))
choice = st.selectbox("指标", indicators, **_shared.remembered("indicator_choice", indicators[0], indicators))
sub = cov[cov["indicator"] == choice]
no_data = bool(sub["no_data"].any())
if no_data:
    st.warning(_shared.esc(no_data_notice([sub["class_name"].iloc[0]], "table")))
sub = pd.concat([sub[sub["district_code"] == AREA_CODE], sub[sub["district_code"] != AREA_CODE]])  # 全市 first
shown = sub[["district_name", "units_covered", "units_total", "rate", "target_rate", "units_needed", "met", "binding", "level",
             "facilities_in_ledger"]]
table = _shared.labelled(shown)
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
x_axis = alt.X("district_name:N", title="区县", sort=None, axis=alt.Axis(labelAngle=0, labelLimit=200))
tooltip = [alt.Tooltip("district_name:N", title="区县"), alt.Tooltip("rate:Q", title="覆盖率", format=".1%"),
           alt.Tooltip("units_covered:Q", title="已覆盖"), alt.Tooltip("units_total:Q", title="总数"),
           alt.Tooltip("units_needed:Q", title="还需")]
if sub["level"].iloc[0] in COUNTY_LEVELS:
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
        tooltip=[alt.Tooltip("district_name:N", title="区县"), alt.Tooltip("units_covered:Q", title="设施数量")])
    st.altair_chart(chart.properties(height=300), width="stretch")

st.subheader("全部指标(区县 × 指标)")
overview = cov.pivot_table(index="district_name", columns="indicator", values="rate", aggfunc="first", sort=False)
overview.index.name, overview.columns.name = "区县", "指标"
st.dataframe(overview.map(_shared.pct), width="stretch")

full = _shared.labelled(cov.drop(columns=["facility_class", "measure", "no_data"]))
full["备注"] = cov["no_data"].map({True: NO_DATA_MESSAGE, False: ""}).to_numpy()
_shared.excel_download("下载全部指标表 (Excel)", {"指标": full}, "覆盖率指标表", percent_columns=("覆盖率", "目标"))
