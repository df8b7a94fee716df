"""规划指标: pick a plan, edit or add its targets, save them in the workspace."""
import pandas as pd
import streamlit as st

from coverage.catalog import (
    CAPACITY_MEASURES, CAPACITY_TARGETS_ENABLED, MEASURE_LABELS, TARGET_COLUMN_LABELS, UNIT_LEVELS, plans, targets_as_text, targets_for_editing, targets_from_editing, validate_targets,
)
from coverage.errors import CoverageError
from coverage.plans import area_code_of
from geodata import workspace
from pages import _shared

_shared.page_header("规划指标")
classes = _shared.class_catalog()
all_targets = _shared.targets()
names = classes.names


mode = st.radio("操作", ["编辑现有规划", "新建规划"], horizontal=True)
if mode == "编辑现有规划":
    plan = st.selectbox("规划", plans(all_targets), index=plans(all_targets).index(_shared.current_plan()))
    rows = all_targets[all_targets["plan"] == plan]
else:
    plan = st.text_input("新规划名称", placeholder="如: 某某市民政事业发展十五五规划").strip()
    rows = all_targets[all_targets["plan"] == "通用(无本地规划时)"].assign(plan=plan, source_seed="", source_ref="", source_quote="")
    used = set(all_targets["target_id"])
    n = next(k for k in range(1, 10_000) if not any(t.startswith(f"N{k}-") for t in used))
    rows = rows.assign(target_id=[f"N{n}-{i + 1:02d}" for i in range(len(rows))])
    st.caption("已预填通用指标, 可修改目标值、增删行。")

LABELS = TARGET_COLUMN_LABELS
editable = targets_for_editing(rows.drop(columns=["plan"]), classes).rename(columns=LABELS)
edited = st.data_editor(
    editable, num_rows="dynamic", hide_index=True, width="stretch", key=f"editor_{mode}_{plan}",
    column_config={
        "编号": st.column_config.TextColumn("编号", required=True),
        "指标(按规划原文)": st.column_config.TextColumn("指标(按规划原文)", required=True, width="large"),
        "设施类别": st.column_config.SelectboxColumn("设施类别", options=list(names.values()), required=True),
        "类型": st.column_config.SelectboxColumn("类型", options=[label for m, label in MEASURE_LABELS.items()
                                                            if CAPACITY_TARGETS_ENABLED or m not in CAPACITY_MEASURES],
                                                   required=True,
                                                   help="覆盖率: 有设施的单元占比; 数量: 全市设施个数; 床位数: 全市床位合计(张); "
                                                        "每千名老年人床位数: 床位 ÷ 60岁以上人口 × 1000; 护理型床位占比: 护理型床位 ÷ 床位。"
                                                        "床位类指标的统计单元填「全市」, 设施类别可填类别组(如 养老服务)"),
        "统计单元": st.column_config.SelectboxColumn("统计单元", options=list(UNIT_LEVELS), required=True),
        "目标值": st.column_config.NumberColumn("目标值", help="覆盖率、护理型床位占比填百分数(60 表示 60%); 数量填个数; 床位数填张数; 每千名老年人床位数填张", required=True),
        "目标年份": st.column_config.NumberColumn("目标年份", format="%d", required=True),
        "属性": st.column_config.SelectboxColumn("属性", options=["", "约束性", "预期性"]),
        "来源文件": st.column_config.TextColumn("来源文件", disabled=True),
        "出处": st.column_config.TextColumn("出处"),
        "原文摘录": st.column_config.TextColumn("原文摘录", width="large"),
        "备注": st.column_config.TextColumn("备注", width="large"),
        "基期值": st.column_config.NumberColumn("基期值", help="评估用: 规划基期(如2020年)的现状, 覆盖率填百分数; 规划未给出可留空"),
        "基期年份": st.column_config.NumberColumn("基期年份", format="%d"),
    },
)

c1, c2 = st.columns(2)
if c1.button("保存指标", type="primary", disabled=not plan):
    new = targets_from_editing(edited.rename(columns={v: k for k, v in LABELS.items()}).assign(plan=plan), classes)
    combined = pd.concat([targets_as_text(all_targets[all_targets["plan"] != plan]), new[all_targets.columns]],
                         ignore_index=True)
    try:
        checked = validate_targets(combined, classes)
    except CoverageError as err:
        st.error(_shared.esc(err))
    else:
        workspace.save_targets(checked)
        if mode == "新建规划":
            workspace.save_plan_area(plan, area_code_of(_shared.dataset()[0]["code"]))
        _shared.remember_plan(plan)
        st.session_state["plan_pending"] = plan  # the sidebar selectbox takes it on the rerun
        st.success(f"已保存「{_shared.esc(plan)}」的 {len(new)} 项指标, 下次启动时沿用。")
        st.rerun()
if workspace.targets_path() is not None and c2.button("恢复内置指标表"):
    saved = workspace.targets_path()
    saved.replace(saved.with_suffix(".csv.bak"))
    st.success("已恢复内置指标表; 修改过的指标表另存为 plan_targets.csv.bak。")
    st.rerun()

with st.expander("各指标的规划原文"):
    for r in rows.itertuples(index=False):
        if r.source_quote:
            st.markdown(f"- **{_shared.esc(r.target_id)} {_shared.esc(r.indicator)}**({_shared.esc(r.source_ref)}): "
                        f"「{_shared.esc(r.source_quote)}」 {_shared.esc(r.note)}")
