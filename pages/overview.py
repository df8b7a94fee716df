"""总览: one card per indicator of the chosen plan."""
import streamlit as st

from coverage.evaluate import AREA_CODE, COUNTY_LEVELS, NO_DATA_MESSAGE
from pages import _shared

plan = _shared.current_plan()
assigned, res = _shared.result(plan)
area = res.coverage[res.coverage["district_code"] == AREA_CODE]
by_district = res.coverage[res.coverage["district_code"] != AREA_CODE]
years = sorted(set(area["target_year"]))
no_data = area[area["no_data"].astype(bool)]
checked = area[~area["no_data"].astype(bool)]

_shared.page_header("总览")
st.caption(f"规划: {_shared.esc(plan)} · 目标年份: {'、'.join(map(str, years))} · 指标 {len(area)} 项, "
           f"已达标 {int(checked['met'].fillna(False).astype(bool).sum())} 项"
           + (f", {len(no_data)} 项台账中无此类设施(待确认)" if len(no_data) else ""))
if len(no_data):
    st.warning(f"台账中没有以下类别的设施: {_shared.esc('、'.join(dict.fromkeys(no_data['class_name'])))}。"
               "可能是这类设施没有报送, 而不是没有建设; 相应指标的数字仅供参考, 请确认后再使用。")

cols = st.columns(3)
for i, row in enumerate(area.itertuples(index=False)):
    with cols[i % 3].container(border=True):
        if row.no_data:
            badge = ":gray[**待确认**]"
        else:
            badge = ":green[**已达标**]" if row.met else ":red[**未达标**]"
        tag = f" · {_shared.esc(row.binding)}" if row.binding else ""
        st.markdown(f"**{_shared.esc(row.indicator)}**")
        st.caption(f"{_shared.esc(row.class_name)} · {_shared.esc(row.level)} · {row.target_year}年{tag}")
        if row.measure == "count":
            st.metric("现有数量", f"{row.units_covered} 个")
            gap = NO_DATA_MESSAGE if row.no_data else f"还需 {row.units_needed} 个"
            st.markdown(f"目标 {row.target_value:.0f} 个 · {badge} · {gap}")
        else:
            unit = "个区县" if row.level in COUNTY_LEVELS else "个乡镇(街道)"
            st.metric("覆盖率", _shared.pct(row.rate))
            gap = NO_DATA_MESSAGE if row.no_data else f"还需 {row.units_needed} {unit}"
            st.markdown(f"目标 {_shared.pct(row.target_rate)} · {badge}  \n"
                        f"已覆盖 {row.units_covered}/{row.units_total} · {gap}")
            if row.level not in COUNTY_LEVELS and not row.no_data:
                sub = by_district[by_district["target_id"] == row.target_id]
                n_met = int(sub["met"].fillna(False).astype(bool).sum())
                st.progress(min(1.0, float(row.rate or 0)), text=f"达标区县 {n_met}/{len(sub)}")
