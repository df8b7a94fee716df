"""数据质量: everything odd in the active data, each with a map view and a download."""
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from coverage.assign import ASSIGNMENT_STATUSES
from geodata import workspace
from geodata.export import cleaned_facilities, excel_bytes, geopackage_bytes
from geodata.webmap import problems_map
from pages import _shared

_shared.page_header("数据质量")
units, facilities, unit_report, fac_report = _shared.dataset()
assigned, _ = _shared.result()
prep = fac_report.get("prepare", {})
classes = _shared.class_catalog()
topo = _shared.topology()

st.subheader("坐标系与编码的判断")
c1, c2 = st.columns(2)
with c1.container(border=True):
    st.markdown(f"**乡镇边界** {unit_report['filename']}")
    st.write(f"坐标系: {unit_report.get('crs') or '—'}{'(推断)' if unit_report.get('crs_inferred') else ''}; "
             f"编码: {unit_report.get('encoding') or '—'}; 修复无效几何 {unit_report.get('repaired_geometries', 0)} 个")
    for note in unit_report.get("notes", []):
        st.caption(note)
with c2.container(border=True):
    st.markdown(f"**设施表** {fac_report['filename']}")
    st.write(f"坐标系: {prep.get('point_system_label', '—')}; 编码: {fac_report.get('encoding') or '—'}")
    detection = prep.get("point_system_detection")
    if detection:
        st.caption(detection["evidence"])
        hyp = pd.DataFrame(detection["hypotheses"])[["label", "inside", "township_match", "district_match"]]
        st.dataframe(hyp.rename(columns={"label": "假设", "inside": "落在乡镇内", "township_match": "与地址乡镇一致",
                                         "district_match": "与地址区县一致"}), hide_index=True)

ids = lambda key: set(map(str, prep.get(key, [])))  # noqa: E731
near = {d["facility_id"]: d["duplicate_of"] for d in prep.get("near_duplicates", [])}
categories = {
    "不在任何乡镇范围内": assigned["status"].eq("outside"),
    "重复记录(同编号或50米内同类同名)": assigned["status"].eq("duplicate"),
    "经纬度填反(已对调)": assigned["facility_id"].astype(str).isin(set(fac_report.get("swapped", []))),
    "设施类别无法识别": assigned["status"].eq("unknown_class"),
    "按地址归属(无坐标)": assigned["status"].eq("by_address"),
    "无法定位(无坐标且地址无乡镇名)": assigned["status"].eq("no_coordinates"),
    "坐标不在中国范围": assigned["facility_id"].astype(str).isin(ids("bad_coordinates")),
    "位于乡镇交界线上": assigned["on_edge"].astype(bool),
}
st.subheader("发现的问题")
summary = pd.DataFrame({"问题": list(categories) + ["边界缝隙", "边界重叠"],
                        "数量": [int(m.sum()) for m in categories.values()]
                        + [int((topo["kind"] == "gap").sum()), int((topo["kind"] == "overlap").sum())]})
st.dataframe(summary, hide_index=True)

choice = st.selectbox("查看", summary.loc[summary["数量"] > 0, "问题"].tolist() or ["(无问题)"])
if choice in categories:
    rows = assigned[categories[choice].to_numpy()]
    shown = _shared.labelled(rows[["facility_id", "name", "class_raw", "lon", "lat", "address", "status"]])
    shown["归属情况"] = rows["status"].map(ASSIGNMENT_STATUSES)
    if choice.startswith("重复"):
        shown["重复于"] = rows["facility_id"].astype(str).map(near).fillna("(同编号)")
    st.dataframe(shown, hide_index=True)
    st.download_button(f"下载「{choice}」记录 (Excel)", excel_bytes({"问题记录": shown}), file_name=f"{choice}.xlsx")
    st_folium(problems_map(units, rows), key="quality_points", returned_objects=[], height=420, use_container_width=True)
elif choice in ("边界缝隙", "边界重叠"):
    areas = topo[topo["kind"] == ("gap" if choice == "边界缝隙" else "overlap")]
    st.dataframe(pd.DataFrame({"涉及乡镇代码": areas["unit_codes"], "面积(㎡)": areas["area_m2"].round(1)}), hide_index=True)
    st_folium(problems_map(units, areas=areas), key="quality_areas", returned_objects=[], height=420, use_container_width=True)

unknown = fac_report.get("unknown_classes", {})
if unknown:
    st.subheader("把无法识别的类型对应到设施类别")
    st.caption("对应关系保存在工作区, 以后上传的设施表也会沿用。")
    options = ["(不计入)"] + list(classes.names.values())
    by_name = {v: k for k, v in classes.names.items()}
    with st.form("class_mapping"):
        picks = {label: st.selectbox(f"「{label}」({n} 条)", options, key=f"map_{label}") for label, n in unknown.items()}
        if st.form_submit_button("保存对应关系"):
            chosen = {label: by_name[p] for label, p in picks.items() if p in by_name}
            if chosen:
                workspace.save_class_mapping(chosen)
                st.rerun()

st.subheader("导出清洗后的设施")
gcj = st.checkbox("同时输出 GCJ-02(高德)坐标列", value=False)
clean = cleaned_facilities(assigned, dict(zip(units["code"], units["name"])), classes.names,
                           status_labels=ASSIGNMENT_STATUSES, with_gcj02=gcj)
d1, d2 = st.columns(2)
d1.download_button("下载 Excel", excel_bytes({"设施(已清洗)": clean}), file_name="设施_已清洗.xlsx")
d2.download_button("下载 GeoPackage (WGS84)", geopackage_bytes(clean, "经度(WGS84)", "纬度(WGS84)"), file_name="设施_已清洗.gpkg")
