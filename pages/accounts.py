"""账号管理: accounts and roles (管理), one's own password (everyone)."""
import pandas as pd
import streamlit as st

from coverage.errors import CoverageError
from pages import _shared

ROLE_HELP = "查看: 只能查看; 编辑: 可修改数据、指标和方案; 管理: 另可新建规划、管理账号"

_shared.page_header("账号管理")
department = _shared.store()
if not department.has_users():
    st.info("还没有账号: 在左侧栏创建第一个「管理」账号后, 所有人须登录。")
    st.stop()

st.subheader("修改我的密码")
with st.form("own_password", clear_on_submit=True):
    new = st.text_input("新密码(至少 8 位)", type="password")
    if st.form_submit_button("修改密码"):
        try:
            department.set_password(_shared.user_name(), new, _shared.user_name())
        except CoverageError as err:
            st.error(_shared.esc(err))
        else:
            st.success("密码已修改。")

if _shared.user_role() != "管理":
    st.stop()
st.subheader("账号与权限")
users = department.users()
st.dataframe(pd.DataFrame({"账号": [u.name for u in users], "权限": [u.role for u in users]}), hide_index=True)
with st.form("new_user", clear_on_submit=True):
    c1, c2, c3 = st.columns(3)
    name = c1.text_input("新账号")
    password = c2.text_input("初始密码(至少 8 位)", type="password")
    role = c3.selectbox("权限", ["查看", "编辑", "管理"], help=ROLE_HELP)
    if st.form_submit_button("创建账号"):
        try:
            department.create_user(name.strip(), password, role, by=_shared.user_name())
        except CoverageError as err:
            st.error(_shared.esc(err))
        else:
            st.success(f"已创建账号「{_shared.esc(name.strip())}」。")
            st.rerun()
c1, c2, c3 = st.columns([2, 1, 1], vertical_alignment="bottom")
who = c1.selectbox("账号", [u.name for u in users])
role = c2.selectbox("改为", ["查看", "编辑", "管理"], help=ROLE_HELP)
if c3.button("修改权限"):
    try:
        department.set_role(who, role, _shared.user_name())
    except CoverageError as err:
        st.error(_shared.esc(err))
    else:
        st.rerun()
if st.button("删除所选账号"):
    try:
        department.remove_user(who, _shared.user_name())
    except CoverageError as err:
        st.error(_shared.esc(err))
    else:
        st.rerun()
