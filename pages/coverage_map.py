"""地图: townships covered/uncovered for one indicator, facilities, details of a clicked township."""
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from coverage.assign import COUNTED_STATUSES
from coverage.evaluate import AREA_CODE, NO_DATA_MESSAGE, UNIT_STATUSES, unit_statuses
from geodata.webmap import clicked_unit_code, coverage_map
from pages import _shared

plan = _shared.current_plan()
units, facilities, _, _ = _shared.dataset()
assigned, res = _shared.result(plan)
classes = _shared.class_catalog()
cov = res.coverage[res.coverage["measure"] == "coverage"]

_shared.page_header("地图")
indicators = list(dict.fromkeys(cov["indicator"]))
c1, c2, c3 = st.columns([2, 1, 1])
indicator = c1.selectbox("指标", indicators)
district = c2.selectbox("区县", ["全部"] + sorted(set(units["district_name"])))
show_all = c3.toggle("显示全部类别设施", value=False)

target = cov[(cov["indicator"] == indicator) & (cov["district_code"] == AREA_CODE)].iloc[0]
status = unit_statuses(units, res, target["target_id"], _shared.config())
if bool(target["no_data"]):
    st.warning(f"{NO_DATA_MESSAGE}: 台账中没有「{_shared.esc(target['class_name'])}」类设施, 无法判断是没有建设还是没有报送; "
               "地图不按未覆盖着色。")

shown_units = units if district == "全部" else units[units["district_name"] == district]
pts = assigned[assigned["status"].eq("assigned") & assigned["unit_code"].isin(shown_units["code"])]
if not show_all:
    pts = pts[pts["facility_class"] == target["facility_class"]]
by_unit = pts.groupby("unit_code")["name"].apply(list).to_dict()

fmap = coverage_map(shown_units, status, pts, class_names=classes.names, indicator=indicator, facilities_by_unit=by_unit)
left, right = st.columns([3, 1])
with left:
    event = st_folium(fmap, key="coverage_map", returned_objects=["last_active_drawing"], height=600, use_container_width=True)
with right:
    code = clicked_unit_code(event)
    st.subheader("乡镇详情")
    if not code or code not in set(units["code"]):
        st.caption("点击地图上的乡镇(街道)查看详情。")
    else:
        u = units[units["code"] == code].iloc[0]
        st.markdown(f"**{_shared.esc(u['name'])}**  \n{_shared.esc(u['district_name'])} · {_shared.esc(u['kind'])} · 代码 {_shared.esc(code)}")
        if "population" in u and pd.notna(u.get("population")):
            st.write(f"人口 {int(u['population']):,}; 老年人口 {int(u.get('elderly_population') or 0):,}")
        verdict = UNIT_STATUSES.get(status.get(code), UNIT_STATUSES["out_of_scope"])
        st.markdown(f"本指标: **{verdict}**")
        here = assigned[(assigned["unit_code"] == code) & assigned["status"].isin(COUNTED_STATUSES)]
        here = here.assign(类别=here["facility_class"].map(classes.names))
        st.dataframe(here[["name", "类别", "operating_status"]].rename(columns={"name": "设施", "operating_status": "状态"}),
                     hide_index=True, height=360)
st.caption(f"共 {len(shown_units)} 个乡镇(街道), 显示 {len(pts)} 个设施。底图: 无(离线模式)。边界为显示而简化, 计算使用原始边界。")
