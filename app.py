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
    st.Page("pages/data.py", title="数据"),
    st.Page("pages/quality.py", title="数据质量"),
    st.Page("pages/targets.py", title="规划指标"),
    st.Page("pages/report.py", title="报告导出"),
]
nav = st.navigation(pages)

with st.sidebar:
    st.markdown("### 民政设施覆盖分析")
    names = plans(_shared.targets())
    current = _shared.current_plan()
    st.selectbox("规划", names, index=names.index(current), key="plan")
    st.multiselect("计入覆盖的设施状态", ["运营", "在建", "规划"], default=["运营"], key="counted_statuses",
                   help="默认只计运营中的设施; 加入 在建/规划 可查看项目建成后的情形。")
    st.checkbox("功能区(开发区、特区等)计入县级单元", value=True, key="functional_zones")

nav.run()
