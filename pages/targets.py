"""规划指标: pick a plan, edit or add its targets, or propose a new plan from the plan's own text
(pasted or uploaded; the proposals are reviewed here, `plantext.review` does the work); save them
in the department's store."""
import pandas as pd
import streamlit as st

from coverage.catalog import (
    CAPACITY_MEASURES, CAPACITY_TARGETS_ENABLED, MEASURE_LABELS, TARGET_COLUMN_LABELS, UNIT_LEVELS, plans, targets_as_text, targets_for_editing, targets_from_editing, validate_targets,
)
from coverage.errors import CoverageError
from coverage.plans import area_code_of
from pages import _shared
from plantext import propose_targets, read_plan_text, review

_shared.page_header("规划指标")
classes = _shared.class_catalog()
all_targets = _shared.targets()
names = classes.names


TEXT_MODE = "从规划文本提取"
SAVED_FLAG = "_targets_from_text_saved"


def save_catalogue(plan: str, new: pd.DataFrame, *, new_plan: bool, based_on: pd.DataFrame | None = None) -> bool:
    """Save `plan`'s rows as `new` in the department's store (a new plan with its area code, or the
    edit of the rows `based_on` as they were loaded, with their versions), make the plan the current
    one; False with the message shown when the store refuses it (invalid rows, someone else changed
    a row meanwhile, no permission)."""
    rows = targets_as_text(new[all_targets.columns])
    try:
        if new_plan:
            _shared.store().create_plan(plan, _shared.user_name(), area_code=area_code_of(_shared.dataset()[0]["code"]),
                                        targets=rows)
        else:
            _shared.store().edit_targets(rows, _shared.user_name(), based_on=based_on)
    except CoverageError as err:
        _shared.refused(err)
        return False
    st.session_state.pop(f"targets_base_{plan}", None)  # the next edit starts from the saved rows
    _shared.remember_plan(plan)
    st.session_state["plan_pending"] = plan  # the sidebar selectbox takes it on the rerun
    return True


def edit_targets(mode: str) -> None:
    """编辑现有规划 / 新建规划: the catalogue rows of a plan in an editor."""
    based_on = None
    if mode == "编辑现有规划":
        plan = st.selectbox("规划", plans(all_targets), index=plans(all_targets).index(_shared.current_plan()))
        # the rows as this planner first saw them (with versions): a save is checked against them, so an
        # edit made meanwhile by someone else is reported, never overwritten
        base_key = f"targets_base_{plan}"
        if base_key not in st.session_state:
            saved = _shared.target_rows()
            st.session_state[base_key] = saved[saved["plan"] == plan].reset_index(drop=True)
        based_on = st.session_state[base_key]
        rows = validate_targets(based_on.drop(columns="version"), classes)
        if st.button("重新载入最新指标", help="放弃未保存的修改, 载入他人保存后的最新指标"):
            st.session_state.pop(base_key, None)
            st.session_state.pop(f"editor_{mode}_{plan}", None)
            st.rerun()
    else:
        plan = st.text_input("新规划名称", placeholder="如: 某某市民政事业发展十五五规划").strip()
        rows = all_targets[all_targets["plan"] == "通用(无本地规划时)"].assign(plan=plan, source_seed="", source_ref="", source_quote="")
        n = review.next_plan_number(all_targets["target_id"])
        rows = rows.assign(target_id=[f"N{n}-{i + 1:02d}" for i in range(len(rows))])
        st.caption("已预填通用指标, 可修改目标值、增删行。")

    labels = TARGET_COLUMN_LABELS
    editable = targets_for_editing(rows.drop(columns=["plan"]), classes).rename(columns=labels)
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
        new = targets_from_editing(edited.rename(columns={v: k for k, v in labels.items()}).assign(plan=plan), classes)
        if save_catalogue(plan, new, new_plan=mode == "新建规划", based_on=based_on):
            st.success(f"已保存「{_shared.esc(plan)}」的 {len(new)} 项指标, 下次启动时沿用。")
            st.rerun()
    c2.caption("每次保存都记入「变更记录」, 可在那里撤销。")

    with st.expander("各指标的规划原文"):
        for r in rows.itertuples(index=False):
            if r.source_quote:
                st.markdown(f"- **{_shared.esc(r.target_id)} {_shared.esc(r.indicator)}**({_shared.esc(r.source_ref)}): "
                            f"「{_shared.esc(r.source_quote)}」 {_shared.esc(r.note)}")


@st.cache_data(show_spinner="正在读取规划文件…", max_entries=4)
def _read_upload(raw: bytes, filename: str) -> str:
    return read_plan_text(raw, filename)


@st.cache_data(show_spinner="正在识别规划指标…", max_entries=8)
def _proposals(text: str) -> pd.DataFrame:
    return propose_targets(text, classes)


def _plan_text() -> tuple[str, str] | None:
    """(text, source name) of the uploaded file, else of the pasted text; None (with a message)
    when there is none or the file cannot be read."""
    c1, c2 = st.columns(2)
    pasted = c1.text_area("粘贴规划文本", key="plan_text_paste", height=180,
                          placeholder="把规划全文, 或其中的指标表、目标段落粘贴到这里")
    upload = c2.file_uploader("或上传规划文件(.txt、.docx、带文字层的 .pdf)", type=["txt", "docx", "pdf"],
                              key="plan_text_file", help="上传的文件优先于粘贴的文本。扫描件 PDF 没有文字层, 无法识别。")
    if upload is not None:
        try:
            return _read_upload(upload.getvalue(), upload.name), upload.name
        except CoverageError as err:
            st.error(_shared.esc(err))
            return None
    if pasted.strip():
        return pasted, review.PASTED
    st.info("粘贴规划文本或上传规划文件后, 这里逐条列出识别出的指标及其原文, 确认后可保存为新规划。")
    return None


def _problems(err: CoverageError) -> str:
    """A catalogue error as Markdown: its message and one bullet per problem (user text escaped)."""
    return "\n".join([_shared.esc(err.message)] + [f"- {_shared.esc(p)}" for p in err.problems])


def from_text() -> None:
    """从规划文本提取: paste or upload the plan, review the proposals with their sentences, save
    the accepted ones as a new plan."""
    saved = st.session_state.pop(SAVED_FLAG, None)
    if saved:
        st.success(f"已保存新规划「{_shared.esc(saved[0])}」({saved[1]} 项指标), 并设为当前规划。"
                   "请到「总览」查看各项指标的达标情况。")
        st.page_link("pages/overview.py", label="打开总览", icon=":material/bar_chart:")
    found = _plan_text()
    if found is None:
        return
    text, source = found
    proposals = _proposals(text)
    about = review.document_summary(proposals)
    st.markdown(f"识别为: **{_shared.esc(about['kind'])}**, 规划期 **{_shared.esc(about['period'])}** · "
                f"提出 **{about['targets']}** 条目标(其中 {about['with_class']} 条识别出设施类别)、"
                f"**{about['baselines']}** 条现状值")
    if about["reason"]:
        st.caption(_shared.esc(about["reason"]))
    if proposals.empty:
        st.warning("文本中没有找到带数值的指标(如「覆盖率达到60%」或指标表)。请确认粘贴或上传的是规划正文。")
        return

    st.subheader("① 识别出的指标及其原文")
    st.caption("黄色为提取依据的原文, 红色粗体为读出的数值; 每条说明为何提取、为何归入该设施类别。序号与下方表格一致。")
    c1, c2, c3 = st.columns([1, 2, 1])
    kind = c1.radio("显示", ["全部", "目标", "现状"], horizontal=True, key="text_kind")
    present = sorted(set(proposals["class_name"]) - {""})
    class_name = c2.selectbox("设施类别", ["全部类别", *present, review.NO_CLASS], key="text_class")
    shown = review.filter_proposals(proposals, {"目标": "target", "现状": "baseline"}.get(kind),
                                    None if class_name == "全部类别" else class_name)
    pages = review.page_count(len(shown))
    page = c3.selectbox("页", range(1, pages + 1), format_func=lambda p: f"第 {p} 页 / 共 {pages} 页", key="text_page")
    first = (page - 1) * review.PAGE_SIZE
    if shown.empty:
        st.caption("没有符合筛选条件的指标。")
    else:
        st.caption(f"共 {len(shown)} 条, 显示第 {first + 1}-{min(first + review.PAGE_SIZE, len(shown))} 条")
        with st.container(height=720):
            st.html(review.cards_html(text, shown.iloc[first:first + review.PAGE_SIZE]))

    st.subheader("② 采用、修改或舍弃")
    st.caption("默认勾选(排在前面): 有设施类别、数值和年份且本工具能评估的目标(重复的只勾第一条)。取消「采用」即舍弃; "
               "覆盖率、占比填百分数(60 表示 60%); 数量和床位类指标按全市统计。现状值已按类别/类型/统计单元或相同措辞填入对应目标的基期值。")
    rows, loose = review.review_table(proposals, classes)
    labels = review.REVIEW_COLUMNS
    edited = st.data_editor(
        rows.rename(columns=labels), num_rows="fixed", hide_index=True, width="stretch", height=560,
        key=f"text_review_{review.text_key(text)}",
        column_order=[labels[c] for c in review.REVIEW_COLUMNS if c != "baseline_from"],
        column_config={
            labels["accepted"]: st.column_config.CheckboxColumn(labels["accepted"], help="勾选的指标保存到新规划; 取消即舍弃", width="small"),
            labels["number"]: st.column_config.NumberColumn(labels["number"], disabled=True, width="small", help="与上方原文卡片的 # 编号一致"),
            labels["indicator"]: st.column_config.TextColumn(labels["indicator"], width="medium"),
            labels["facility_class"]: st.column_config.SelectboxColumn(
                labels["facility_class"], options=review.class_options(classes), width="medium",
                help="空白的行不能保存。床位类指标可选类别组(如 养老服务 = 该组全部类别)"),
            labels["measure"]: st.column_config.SelectboxColumn(
                labels["measure"], options=review.measure_options(),
                help="可保存的类型: 覆盖率、数量、床位数、每千名老年人床位数、护理型床位占比; 其他类型仅供参考"),
            labels["unit_level"]: st.column_config.SelectboxColumn(labels["unit_level"], options=review.level_options(),
                                                                   help="覆盖率按此单元统计; 村(社区)级本工具无法评估"),
            labels["target_value"]: st.column_config.NumberColumn(labels["target_value"], help="覆盖率、占比填百分数(60 表示 60%)"),
            labels["target_year"]: st.column_config.NumberColumn(labels["target_year"], format="%d"),
            labels["binding"]: st.column_config.SelectboxColumn(labels["binding"], options=review.binding_options()),
            labels["baseline_value"]: st.column_config.NumberColumn(labels["baseline_value"], help="规划基期的现状值, 覆盖率填百分数"),
            labels["baseline_year"]: st.column_config.NumberColumn(labels["baseline_year"], format="%d"),
            labels["remark"]: st.column_config.TextColumn(labels["remark"], disabled=True, width="medium"),
            labels["quote"]: st.column_config.TextColumn(labels["quote"], disabled=True, width="large"),
        },
    )
    if len(loose):
        st.info(f"另有 {len(loose)} 条现状值没有对应的目标, 仅供参考, 不会成为指标。")
        with st.expander("未对应到目标的现状值"):
            st.dataframe(loose.rename(columns={"number": "序号", "indicator": "指标(按原文)", "class_name": "设施类别",
                                               "measure": "类型", "value": "原文数值", "year": "年份", "quote": "原文摘录"}),
                         hide_index=True, width="stretch")

    name = st.text_input("新规划名称", value=review.default_plan_name(text, plans(all_targets)),
                         key=f"text_plan_{review.text_key(text)}", placeholder="如: 某某市民政事业发展十五五规划").strip()
    if st.button("保存为新规划", type="primary"):
        try:
            new = review.catalogue_rows(edited.rename(columns={v: k for k, v in labels.items()}), proposals, classes,
                                        plan=name, used_ids=all_targets["target_id"], existing_plans=plans(all_targets),
                                        source_seed=source)
        except CoverageError as err:
            st.error(_problems(err))
            return
        if save_catalogue(name, new, new_plan=True):
            st.session_state[SAVED_FLAG] = (name, len(new))
            st.rerun()


if not _shared.can_edit():  # 查看: the plan's targets, read only; no edit control at all
    st.info("您的账号为「查看」权限: 只能查看规划指标, 不能修改。")
    shown = all_targets[all_targets["plan"] == _shared.current_plan()].drop(columns=["plan"])
    st.dataframe(targets_for_editing(shown, classes).rename(columns=TARGET_COLUMN_LABELS), hide_index=True, width="stretch")
    st.stop()
# new plans (from scratch or from a plan's text) are for 管理 accounts (the store checks it again)
mode = st.radio("操作", ["编辑现有规划", "新建规划", TEXT_MODE] if _shared.user_role() == "管理" else ["编辑现有规划"],
                horizontal=True)
if mode == TEXT_MODE:
    from_text()
else:
    edit_targets(mode)
