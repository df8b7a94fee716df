"""未覆盖乡镇: uncovered units per indicator, filtered by district; Excel download."""
import streamlit as st

from geodata.export import excel_bytes
from pages import _shared

plan = _shared.current_plan()
_, res = _shared.result(plan)
unc = res.uncovered

_shared.page_header("未覆盖乡镇")
indicators = list(dict.fromkeys(res.coverage["indicator"][res.coverage["measure"] == "coverage"]))
c1, c2 = st.columns(2)
picked = c1.multiselect("指标", indicators, default=indicators[:1], placeholder="全部指标")
districts = sorted(set(res.coverage["district_name"]) - {"全市"})
where = c2.multiselect("区县", districts, placeholder="全部区县")
rows = unc
if picked:
    rows = rows[rows["indicator"].isin(picked)]
if where:
    rows = rows[rows["district_name"].isin(where)]
st.write(f"共 **{len(rows)}** 个未覆盖单元")
shown = _shared.labelled(rows[["indicator", "district_name", "unit_name", "unit_code", "unit_kind"]])
st.dataframe(shown, hide_index=True, width="stretch", height=480)
st.download_button("下载未覆盖清单 (Excel)", excel_bytes({"未覆盖乡镇": shown}), file_name="未覆盖乡镇清单.xlsx",
                   mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", disabled=rows.empty)
