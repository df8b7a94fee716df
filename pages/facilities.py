"""设施编辑: change the department's facility ledger in the app (add, edit class/status/beds, move on
the map, remove), one recorded change per save; an edit made on data someone changed meanwhile is
refused with their change named."""
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from coverage.errors import CoverageError
from geodata.webmap import coverage_map
from store.workspace import EDIT_COLUMNS, facility_edits
from pages import _shared

HEADERS = {"facility_id": "编号", "name": "名称", "facility_class": "设施类别", "operating_status": "状态", "beds": "床位数",
           "nursing_beds": "护理型床位数", "lon": "经度", "lat": "纬度", "address": "地址"}

_shared.page_header("设施编辑")
department = _shared.store()
classes = _shared.class_catalog()
if _shared.is_demo() or department.dataset_version() == 0:
    st.info("当前为演示数据: 先在「数据」页把本单位的乡镇边界和设施台账保存到数据库, 再在这里逐条修改。")
    st.stop()

units, facilities, _, _ = _shared.dataset()
districts = sorted(set(units["district_name"]))
where = st.selectbox("区县", ["全部"] + districts, key="fac_district")
shown = facilities if where == "全部" else facilities[facilities["district_code"].isin(
    set(units.loc[units["district_name"] == where, "district_code"]))]
base_key = f"fac_base_{where}"
if base_key not in st.session_state:  # the rows as first shown (with versions): a save is checked against them
    st.session_state[base_key] = shown.reindex(columns=["uid", "version", *EDIT_COLUMNS]).reset_index(drop=True)
base = st.session_state[base_key]
names = dict(classes.names)
view = base.assign(facility_class=base["facility_class"].map(names).fillna(base["facility_class"]))

if not _shared.can_edit():
    st.info("您的账号为「查看」权限: 可以查看台账, 不能修改。")
    st.dataframe(view.drop(columns=["uid", "version"]).rename(columns=HEADERS), hide_index=True, width="stretch")
    st.stop()

st.caption(f"共 {len(base)} 条。直接修改单元格; 选中行后按删除键可删除; 最后一行可新增。保存时一次提交, 记入「变更记录」。")
edited = st.data_editor(
    view, key=f"fac_editor_{where}", hide_index=True, width="stretch", height=420, num_rows="dynamic",
    column_config={"uid": None, "version": None, **{c: HEADERS[c] for c in EDIT_COLUMNS if c not in ("facility_class",)},
                   "facility_class": st.column_config.SelectboxColumn("设施类别", options=list(names.values())),
                   "lon": st.column_config.NumberColumn("经度", format="%.6f"),
                   "lat": st.column_config.NumberColumn("纬度", format="%.6f")})
c1, c2 = st.columns(2)
if c1.button("保存修改", type="primary"):
    by_name = {v: k for k, v in names.items()}
    after = edited.assign(facility_class=edited["facility_class"].map(lambda v: by_name.get(v, v)))
    edits = facility_edits(base, after)
    if not edits:
        st.info("没有修改。")
    else:
        try:
            department.edit_facilities(edits, _shared.user_name())
        except CoverageError as err:
            _shared.refused(err)
        else:
            st.session_state.pop(base_key, None)
            st.session_state.pop(f"fac_editor_{where}", None)
            st.success(f"已保存 {len(edits)} 处修改。")
            st.rerun()
if c2.button("放弃修改, 载入最新数据"):
    st.session_state.pop(base_key, None)
    st.session_state.pop(f"fac_editor_{where}", None)
    st.rerun()

st.subheader("在地图上移动设施")
label = {r.uid: f"{r.name}({r.facility_id})" for r in base.itertuples()}
pick = st.selectbox("要移动的设施", list(label), format_func=label.get, key="fac_move_pick")
shown_units = units if where == "全部" else units[units["district_name"] == where]
status = pd.Series("covered", index=shown_units["code"])
pts = facilities[facilities["uid"] == pick] if pick is not None else facilities.iloc[0:0]
fmap = coverage_map(shown_units, status, pts, class_names=names, indicator="设施位置", height=420)
event = st_folium(fmap, key="fac_map", returned_objects=["last_clicked"], height=420, use_container_width=True)
clicked = (event or {}).get("last_clicked") or {}
if pick is not None and clicked:
    st.caption(f"新位置: 经度 {clicked['lng']:.6f}, 纬度 {clicked['lat']:.6f}")
    if st.button("移动到点击的位置"):
        row = base[base["uid"] == pick].iloc[0]
        try:
            department.move_facility(int(pick), int(row["version"]), float(clicked["lng"]), float(clicked["lat"]),
                                     _shared.user_name())
        except CoverageError as err:
            _shared.refused(err)
        else:
            st.session_state.pop(base_key, None)
            st.success("已移动。")
            st.rerun()
else:
    st.caption("选择设施后, 在地图上点击新位置。")
