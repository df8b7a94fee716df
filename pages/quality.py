"""数据质量: everything odd in the active data, each with a map view and a download."""
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from coverage.assign import ASSIGNMENT_STATUSES, DUPLICATE_RULES
from coverage.quality import status_summary
from geodata.io import NOT_COUNTED, format_label
from geodata.export import cleaned_facilities, geopackage_bytes
from geodata.webmap import problems_map
from coverage.errors import CoverageError
from pages import _shared

_shared.page_header("数据质量")
units, facilities, unit_report, fac_report = _shared.dataset()
assigned, result = _shared.result()
prep = fac_report.get("prepare", {})
source = _shared.active_source()
classes = _shared.class_catalog()
topo = _shared.topology()

st.subheader("坐标系与编码的判断")
c1, c2 = st.columns(2)
with c1.container(border=True):
    st.markdown(f"**乡镇边界** {_shared.esc(unit_report.get('filename') or source.get('units_file') or '—')}")
    st.markdown(f"坐标系: {_shared.esc(unit_report.get('crs') or '—')}{'(推断)' if unit_report.get('crs_inferred') else ''}; "
                f"格式: {_shared.esc(format_label(unit_report.get('encoding')))}; 修复无效几何 {unit_report.get('repaired_geometries', 0)} 个")
    for note in unit_report.get("notes", []):
        st.caption(_shared.esc(note))
with c2.container(border=True):
    sheets = fac_report.get("sheets") or []
    st.markdown(f"**设施表** {_shared.esc(fac_report.get('filename') or source.get('facilities_file') or '—')}"
                + (f" · 工作表 {_shared.esc('、'.join(sheets))}" if sheets else ""))
    st.markdown(f"坐标系: {_shared.esc(prep.get('point_system_label', '—'))}; 格式: {_shared.esc(format_label(fac_report.get('encoding')))}")
    detection = prep.get("point_system_detection")
    if detection:
        st.caption(_shared.esc(detection["evidence"]))
        hyp = pd.DataFrame(detection["hypotheses"])[["label", "inside", "township_match", "district_match"]]
        st.dataframe(hyp.rename(columns={"label": "假设", "inside": "落在乡镇内", "township_match": "与地址乡镇一致",
                                         "district_match": "与地址区县一致"}), hide_index=True)

ids = lambda key: set(map(str, prep.get(key, [])))  # noqa: E731
statuses = status_summary(assigned, _shared.config())
unknown_status_ids = {i for u in statuses["unknown"] for i in u["facility_ids"]}
never_ids = {i for u in statuses["never_counted"] for i in u["facility_ids"]}
contained = fac_report.get("contained_classes", [])
contained_labels = {c["label"] for c in contained}
categories = {
    "不在任何乡镇范围内": assigned["status"].eq("outside"),
    "重复记录(同编号、同记录或50米内同乡镇同类)": assigned["status"].eq("duplicate"),
    "状态无法识别(未计入)": assigned["facility_id"].astype(str).isin(unknown_status_ids),
    "状态为停用/撤销等(不计入)": assigned["facility_id"].astype(str).isin(never_ids),
    "类型按包含的类别名归类(待确认)": assigned["class_raw"].isin(contained_labels) & assigned.get("class_match", "").eq("contains"),
    "经纬度填反(已对调)": assigned["facility_id"].astype(str).isin(set(fac_report.get("swapped", []))),
    "设施类别无法识别": assigned["status"].eq("unknown_class"),
    "按地址归属(无坐标)": assigned["status"].eq("by_address"),
    "无法定位(无坐标且地址无乡镇名)": assigned["status"].eq("no_coordinates"),
    "坐标不在中国范围": assigned["facility_id"].astype(str).isin(ids("bad_coordinates")),
    "位于乡镇交界线上": assigned["on_edge"].astype(bool),
}
st.subheader("发现的问题")
excluded = result.excluded_units
summary = pd.DataFrame({"问题": list(categories) + ["边界缝隙", "边界重叠", "不计入乡镇(街道)指标的单位"],
                        "数量": [int(m.sum()) for m in categories.values()]
                        + [int((topo["kind"] == "gap").sum()), int((topo["kind"] == "overlap").sum()), len(excluded)]})
st.dataframe(summary, hide_index=True)

choice = st.selectbox("查看", summary.loc[summary["数量"] > 0, "问题"].tolist() or ["(无问题)"])
if choice in categories:
    rows = assigned[categories[choice].to_numpy()]
    shown = _shared.labelled(rows[["facility_id", "name", "class_raw", "operating_status", "lon", "lat", "address", "status"]])
    shown["归属情况"] = rows["status"].map(ASSIGNMENT_STATUSES)
    if choice.startswith("重复"):
        kept = assigned[assigned["status"].ne("duplicate")].drop_duplicates("facility_id")
        names = dict(zip(kept["facility_id"].astype(str), kept["name"].astype(str)))
        shown["重复于(保留的记录编号)"] = rows["duplicate_of"].astype(str).to_numpy()
        shown["保留记录的名称"] = rows["duplicate_of"].astype(str).map(names).to_numpy()
        shown["判断规则"] = rows["duplicate_rule"].map(DUPLICATE_RULES).to_numpy()
    if choice.startswith("类型按包含"):
        shown["归入类别"] = rows["facility_class"].map(classes.names).to_numpy()
    st.dataframe(shown, hide_index=True)
    _shared.excel_download(f"下载「{choice}」记录 (Excel)", {"问题记录": shown}, f"数据问题_{choice}")
    st_folium(problems_map(units, rows), key="quality_points", returned_objects=[], height=420, use_container_width=True)
elif choice == "不计入乡镇(街道)指标的单位":
    st.caption("这些单位是类似乡级单位(林场、农场、开发区等), 乡镇(街道)指标默认不计入分母; 在左侧栏勾选后计入。")
    st.dataframe(excluded.rename(columns={"district_name": "区县", "unit_code": "代码", "unit_name": "名称", "unit_kind": "类型",
                                          "reason": "原因"}).drop(columns=["district_code"]), hide_index=True)
elif choice in ("边界缝隙", "边界重叠"):
    areas = topo[topo["kind"] == ("gap" if choice == "边界缝隙" else "overlap")]
    st.dataframe(pd.DataFrame({"涉及乡镇代码": areas["unit_codes"], "面积(㎡)": areas["area_m2"].round(1)}), hide_index=True)
    st_folium(problems_map(units, areas=areas), key="quality_areas", returned_objects=[], height=420, use_container_width=True)

unknown = fac_report.get("unknown_classes", {})
options = ["(不计入)"] + list(classes.names.values())
by_name = {v: k for k, v in classes.names.items()}
if (unknown or contained) and _shared.can_edit():  # 查看 accounts see the lists below, not the forms
    st.subheader("设施类型的对应")
    st.caption("对应关系保存在工作区, 以后上传的设施表也会沿用。选「(不计入)」表示确认该类型不计入任何指标。")
    with st.form("class_mapping"):
        picks = {}
        if unknown:
            st.markdown("**无法识别的类型**(目前不计入任何指标)")
            for i, (label, n) in enumerate(unknown.items()):
                picks[label] = st.selectbox(f"「{_shared.esc(label)}」({n} 条)", ["(暂不处理)"] + options, key=f"map_u{i}")
        if contained:
            st.markdown("**按包含的类别名归类的类型**(请确认: 如「社会救助站」不应算作「救助站」)")
            for i, c in enumerate(contained):
                current = classes.names.get(c["class_id"], "(不计入)")
                picks[c["label"]] = st.selectbox(f"「{_shared.esc(c['label'])}」({c['count']} 条), 现归入: {_shared.esc(current)}",
                                                 options, index=options.index(current) if current in options else 0,
                                                 key=f"map_c{i}")
        if st.form_submit_button("保存对应关系"):
            chosen = {label: by_name.get(p, NOT_COUNTED) for label, p in picks.items() if p != "(暂不处理)"}
            if chosen:
                try:
                    _shared.ws().save_class_mapping(chosen)
                except CoverageError as err:
                    _shared.refused(err)
                else:
                    st.rerun()

if statuses["unknown"] and _shared.can_edit():
    st.subheader("把无法识别的状态对应到 运营/在建/规划/停用")
    st.caption("状态词表见 data/operating_statuses.csv(运营中、正常运营、已运营等已识别)。这里的对应保存在工作区。")
    vocab = _shared.status_vocabulary()
    with st.form("status_mapping"):
        spicks = {u["value"]: st.selectbox(f"「{_shared.esc(u['value'])}」({u['count']} 条)", ["(暂不处理)"] + vocab.statuses,
                                           key=f"status_{i}") for i, u in enumerate(statuses["unknown"])}
        if st.form_submit_button("保存状态对应"):
            chosen = {v: p for v, p in spicks.items() if p in vocab.statuses}
            if chosen:
                try:
                    _shared.ws().save_status_mapping(chosen)
                except CoverageError as err:
                    _shared.refused(err)
                else:
                    st.rerun()

with st.expander("设施类型如何归类(台账中的每种写法)"):
    how = {"exact": "与类别表写法一致", "contains": "包含类别名(待确认)", "mapped": "按你的对应", "mapped_none": "按你的对应: 不计入",
           "": "无法识别"}
    kinds = assigned.assign(class_match=assigned.get("class_match", pd.Series("", index=assigned.index)).fillna(""))
    by_label = (kinds.groupby(["class_raw", "class_match"], dropna=False)
                .agg(n=("facility_id", "size"), cls=("facility_class", "first")).reset_index().sort_values("n", ascending=False))
    st.dataframe(pd.DataFrame({"台账中的类型": by_label["class_raw"].replace("", "(空)"), "记录数": by_label["n"],
                               "归入类别": by_label["cls"].map(classes.names).fillna("—"),
                               "依据": by_label["class_match"].map(how).fillna("")}), hide_index=True, width="stretch")

st.subheader("导出清洗后的设施")
gcj = st.checkbox("同时输出 GCJ-02(高德)坐标列", value=False)
clean = cleaned_facilities(assigned, dict(zip(units["code"], units["name"])), classes.names,
                           status_labels=ASSIGNMENT_STATUSES, with_gcj02=gcj)
d1, d2 = st.columns(2)
with d1:
    _shared.excel_download("下载 Excel", {"设施(已清洗)": clean}, "设施台账_已清洗")
d2.download_button("下载 GeoPackage (WGS84)", lambda: geopackage_bytes(clean, "经度(WGS84)", "纬度(WGS84)"), file_name="设施_已清洗.gpkg",
                   mime="application/geopackage+sqlite3")
