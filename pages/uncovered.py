"""未覆盖乡镇: uncovered units per indicator, filtered by district; Excel download."""
import streamlit as st

from coverage.evaluate import AREA_CODE, NO_DATA_MESSAGE
from coverage.summary import no_data_notice, uncovered_summary, uncovered_with_gaps
from pages import _shared

plan = _shared.current_plan()
_, res = _shared.result(plan)
unc = res.uncovered

_shared.page_header("未覆盖乡镇")
indicators = list(dict.fromkeys(res.coverage["indicator"][res.coverage["measure"] == "coverage"]))
c1, c2 = st.columns(2)
picked = c1.multiselect("指标", indicators, placeholder="全部指标",
                        **_shared.remembered("uncovered_indicators", indicators[:1], indicators))
districts = sorted(set(res.coverage["district_name"]) - {"全市"})
where = c2.multiselect("区县", districts, placeholder="全部区县", **_shared.remembered("uncovered_districts", [], districts))
rows = uncovered_with_gaps(res.coverage, unc)
if picked:
    rows = rows[rows["indicator"].isin(picked)]
if where:
    rows = rows[rows["district_name"].isin(where)]
area = res.coverage[res.coverage["district_code"] == AREA_CODE]
no_data_ids = set(area.loc[area["no_data"].astype(bool), "target_id"])
st.markdown(f"共 **{len(rows)}** 个未覆盖单元")
if no_data_ids & set(rows["target_id"]):
    names = area.loc[area["target_id"].isin(no_data_ids & set(rows["target_id"])), "class_name"]
    st.warning(_shared.esc(no_data_notice(names, "list")))
summary = uncovered_summary(res.coverage, rows)
if len(summary):
    st.markdown("**各区县需补齐多少**(未覆盖的单元中, 补齐几个即可达到目标)")
    st.dataframe(summary.rename(columns={"indicator": "指标", "district_name": "区县", "uncovered": "未覆盖",
                                         "needed": "需补齐", "sentence": "说明"}).drop(columns=["target_id"]),
                 hide_index=True, width="stretch")
shown = _shared.labelled(rows[["indicator", "district_name", "unit_name", "unit_code", "unit_kind"]])
shown["所在区县需补齐"] = rows["district_needed"].to_numpy()
shown["所在区县未覆盖"] = rows["district_uncovered"].to_numpy()
shown["备注"] = rows["target_id"].isin(no_data_ids).map({True: NO_DATA_MESSAGE, False: ""}).to_numpy()
st.dataframe(shown, hide_index=True, width="stretch", height=480)
ids = list(dict.fromkeys(rows["target_id"]))
sheets = {"未覆盖乡镇": shown}
if len(summary):
    sheets["各区县需补齐"] = summary.rename(columns={"indicator": "指标", "district_name": "区县", "uncovered": "未覆盖",
                                                "needed": "需补齐", "sentence": "说明"}).drop(columns=["target_id"])
_shared.excel_download("下载未覆盖清单 (Excel)", sheets, "未覆盖乡镇清单", indicator=ids[0] if len(ids) == 1 else None,
                       disabled=rows.empty)
