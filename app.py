"""民政设施覆盖分析: Streamlit entry point (page config, shared sidebar, navigation)."""
import streamlit as st

from coverage.catalog import plans
from pages import _shared

st.set_page_config(page_title="民政设施覆盖分析", page_icon="🗺️", layout="wide")

pages = [
    st.Page("pages/overview.py", title="总览", default=True),
    st.Page("pages/coverage_map.py", title="地图"),
    st.Page("pages/indicators.py", title="指标"),
    st.Page("pages/uncovered.py", title="未覆盖乡镇"),
    st.Page("pages/scenarios.py", title="规划方案"),
    st.Page("pages/data.py", title="数据"),
    st.Page("pages/quality.py", title="数据质量"),
    st.Page("pages/targets.py", title="规划指标"),
    st.Page("pages/report.py", title="报告导出"),
    st.Page("pages/facilities.py", title="设施编辑"),
    st.Page("pages/history.py", title="变更记录"),
    st.Page("pages/accounts.py", title="账号管理"),
]
# One memo of store reads per run, shared by the sidebar and the page (`_shared.run_reads`).
with _shared.run_reads():
    if not _shared.sign_in():  # the login form (or the department's sign-in) instead of any page
        st.stop()
    nav = st.navigation(pages)
    _shared.install_ui_translation()
    _shared.data_changed_notice()

    with st.sidebar:
        st.markdown("### 民政设施覆盖分析")
        _shared.account_box()
        names = plans(_shared.targets())
        if st.session_state.get("plan_pending") in names:
            st.session_state["plan"] = st.session_state.pop("plan_pending")
        current = _shared.current_plan()
        st.session_state["plan"] = current
        st.selectbox("规划", names, key="plan", on_change=lambda: _shared.remember_plan(st.session_state["plan"]))
        suggestion = _shared.plan_suggestion()
        if suggestion.plan == current:
            st.caption(suggestion.reason)
        else:
            st.caption(f"按数据的区划代码建议使用「{suggestion.plan}」; 当前为你选择的规划。")
        st.multiselect("计入覆盖的设施状态", _shared.status_vocabulary().countable, default=["运营"], key="counted_statuses",
                       help="默认只计运营中的设施(运营中、正常运营等写法均按运营计); 加入 在建/规划 可查看项目建成后的情形。"
                            "停用(停业、撤销、已拆除等)从不计入; 无法识别的状态列在「数据质量」页。")
        st.checkbox("功能区(开发区、特区等)计入县级单元", value=True, key="functional_zones")
        st.checkbox("类似乡级单位(林场、农场、开发区等)计入乡镇(街道)指标", value=False, key="count_other_units",
                    help="《统计用区划代码》第7-9位为400-599的单位。乡镇(街道)指标默认只计街道、镇、乡; 不计入的单位列在「数据质量」页。")

    nav.run()
