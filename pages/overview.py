"""总览: one card per indicator of the chosen plan."""
import streamlit as st

from coverage.evaluate import AREA_CODE
from pages import _shared

plan = _shared.current_plan()
assigned, res = _shared.result(plan)
area = res.coverage[res.coverage["district_code"] == AREA_CODE]
by_district = res.coverage[res.coverage["district_code"] != AREA_CODE]
years = sorted(set(area["target_year"]))

_shared.page_header("总览")
st.caption(f"规划: {plan} · 目标年份: {'、'.join(map(str, years))} · 指标 {len(area)} 项, "
           f"已达标 {int(area['met'].fillna(False).astype(bool).sum())} 项")

cols = st.columns(3)
for i, row in enumerate(area.itertuples(index=False)):
    with cols[i % 3].container(border=True):
        badge = ":green[**已达标**]" if row.met else ":red[**未达标**]"
        tag = f" · {row.binding}" if row.binding else ""
        st.markdown(f"**{row.indicator}**")
        st.caption(f"{row.class_name} · {row.level} · {row.target_year}年{tag}")
        if row.measure == "count":
            st.metric("现有数量", f"{row.units_covered} 个")
            st.markdown(f"目标 {row.target_value:.0f} 个 · {badge} · 还需 {row.units_needed} 个")
        else:
            unit = "个区县" if row.level == "县(市、区)" else "个乡镇(街道)"
            st.metric("覆盖率", _shared.pct(row.rate))
            st.markdown(f"目标 {_shared.pct(row.target_rate)} · {badge}  \n"
                        f"已覆盖 {row.units_covered}/{row.units_total} · 还需 {row.units_needed} {unit}")
            if row.level != "县(市、区)":
                sub = by_district[by_district["target_id"] == row.target_id]
                n_met = int(sub["met"].fillna(False).astype(bool).sum())
                st.progress(min(1.0, float(row.rate or 0)), text=f"达标区县 {n_met}/{len(sub)}")
