"""变更记录: who changed what and when, a change's rows before and after, undo, and the coverage as
it stood on an earlier date."""
from datetime import datetime

import pandas as pd
import streamlit as st

from coverage.errors import CoverageError
from coverage.evaluate import AREA_CODE
from coverage.evaluation import current_text, gap_text, target_text
from store import BEIJING
from store.workspace import coverage_as_of
from pages import _shared

_shared.page_header("变更记录")
department = _shared.store()
st.caption(f"数据库: {_shared.esc(department.location)} · 当前版本 #{department.current_version()}。"
           "每次保存(导入数据、修改设施、编辑指标、方案、对应关系)都记录在此, 时间为北京时间。")

log = department.log(limit=200)
if not log:
    st.info("还没有任何变更。")
else:
    table = pd.DataFrame({
        "编号": [c.change_id for c in log], "时间": [c.at_beijing.strftime("%Y-%m-%d %H:%M") for c in log],
        "用户": [c.user for c in log], "类型": [c.kind_label for c in log], "说明": [c.summary for c in log],
        "撤销情况": ["已撤销(#%d)" % c.undone_by if c.undone_by else ("撤销 #%d" % c.undo_of if c.undo_of else "") for c in log],
    })
    st.dataframe(table, hide_index=True, width="stretch", height=320)
    chosen = st.selectbox("查看一项变更", [c.change_id for c in log],
                          format_func=lambda i: next(f"#{c.change_id} {c.kind_label}: {c.summary}" for c in log if c.change_id == i))
    change = department.change(chosen)
    st.markdown(_shared.esc(change.describe()))
    rows = change.detail.get("rows") or []
    if rows:
        st.dataframe(pd.DataFrame({"对象": [r.get("label") for r in rows], "修改前": [str(r.get("before") or "—") for r in rows],
                                   "修改后": [str(r.get("after") or "—") for r in rows]}), hide_index=True, width="stretch")
    elif change.detail.get("counts"):
        st.caption(_shared.esc("、".join(f"{k} {v}" for k, v in change.detail["counts"].items())))
    if _shared.can_edit() and not change.undone_by and st.button("撤销这项变更", help="以一项新的变更恢复到它之前的样子; 之后的变更若改过同一记录, 须先撤销它们"):
        try:
            department.undo(chosen, _shared.user_name())
        except CoverageError as err:
            _shared.refused(err)
        else:
            st.success(f"已撤销变更 #{chosen}。")
            st.rerun()

st.subheader("某一日期的覆盖情况")
when = st.date_input("日期", value=datetime.now(BEIJING).date(), help="按当天 24:00(北京时间)数据库中的数据计算当前规划的各项指标")
try:
    back = coverage_as_of(department, when, _shared.plan_targets(), _shared.class_catalog(), _shared.config())
except CoverageError as err:
    st.error(_shared.esc(err))
    back = None
if back is None:
    st.info("该日期数据库中还没有本地的乡镇和设施数据(尚未导入)。")
else:
    area = back[1].coverage[back[1].coverage["district_code"] == AREA_CODE]
    st.dataframe(pd.DataFrame({"指标": area["indicator"], "当时现状": [current_text(r) for _, r in area.iterrows()],
                               "目标": [target_text(r) for _, r in area.iterrows()],
                               "差距": [gap_text(r) for _, r in area.iterrows()]}), hide_index=True, width="stretch")
    st.caption(f"{when:%Y年%m月%d日} 的数据(数据库版本 #{department.version_at(when)}), 规划: {_shared.esc(_shared.current_plan())}。")
