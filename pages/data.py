"""数据: what is loaded, upload township boundaries and facilities, save as workspace, back to demo."""
import hashlib

import pandas as pd

import streamlit as st

from coverage.assign import COUNTED_STATUSES
from coverage.errors import CoverageError, FieldMappingError
from coverage.quality import quality_summary
from geodata import workspace
from geodata.clean import prepare_facilities
from geodata.crs import crs_choices
from geodata.fields import FACILITY_FIELDS, FIELD_LABELS, UNIT_FIELDS, describe_fields, detect_fields
from geodata.io import format_label, read_facilities, read_units, report_rows
from geodata.pointcrs import POINT_SYSTEMS
from geodata.population import DEMAND_FIELDS, POPULATION_FIELDS, join_population, read_demand_points
from geodata.templates import facility_template
from pages import _shared

_shared.page_header("数据")
units, facilities, unit_report, fac_report = _shared.dataset()
assigned, _ = _shared.result()
source = _shared.active_source()

st.subheader("当前数据")
st.markdown(f"来源: **{'内置演示数据(十堰市)' if source['source'] == 'demo' else '已保存的工作区'}**"
            + (f" · 边界文件 {_shared.esc(unit_report.get('filename', ''))} · 设施表 {_shared.esc(fac_report.get('filename', ''))}"
               f"{(' (工作表 ' + _shared.esc('、'.join(fac_report.get('sheets') or [])) + ')') if fac_report.get('sheets') else ''}"
               f" · 设施坐标系 {_shared.esc(fac_report.get('prepare', {}).get('point_system_label', '—'))}"
               if source["source"] != "demo" else ""))
c = st.columns(4)
c[0].metric("乡镇(街道)", len(units))
c[1].metric("区县", units["district_code"].nunique())
c[2].metric("设施记录", len(facilities))
c[3].metric("已归属设施", int(assigned["status"].isin(COUNTED_STATUSES).sum()))

q = quality_summary(assigned, unit_report, fac_report)
problems = [(v["label"], v["count"], k) for k, v in q["problems"].items() if v["count"]]
if problems:
    st.warning("数据中发现以下情况: " + "; ".join(f"{label} {n} 条" for label, n, _ in problems))
    with st.expander("查看有问题的设施记录"):
        odd = assigned[assigned["status"].ne("assigned") | assigned["on_edge"]]
        shown = _shared.labelled(odd[["facility_id", "name", "class_raw", "lon", "lat", "status"]])
        shown["归属情况"] = odd["status"].map({k: v["label"] for k, v in q["problems"].items()}).where(odd["status"].ne("assigned"), "交界线上")
        st.dataframe(shown, hide_index=True)
        _shared.excel_download("下载问题记录 (Excel)", {"问题记录": shown}, "设施数据问题记录")
with st.expander("读取详情(字段、编码、坐标系)"):
    for title, rows in (("乡镇边界", report_rows(unit_report)),
                        ("设施表", report_rows(fac_report, fac_report.get("prepare", {})))):
        st.markdown(f"**{title}**")
        st.dataframe(pd.DataFrame(rows, columns=["项目", "内容"]), hide_index=True, width="stretch")


@st.cache_data(max_entries=4, show_spinner="正在读取边界…")
def parse_units(digest: str, _raw: bytes, name: str, crs: int | None, fields: tuple = ()):  # noqa: ARG001 (digest keys the cache)
    units, report = read_units(_raw, name, crs=crs, field_map=dict(fields))
    return units, report.as_dict()


@st.cache_data(max_entries=4, show_spinner="正在读取设施表…")
def parse_facilities(digest: str, _raw: bytes, name: str, system: str, mapping: tuple, fields: tuple = ()):
    facilities, report = read_facilities(_raw, name, _shared.class_catalog(), system=system, class_mapping=dict(mapping),
                                         field_map=dict(fields))
    return facilities, report.as_dict()


def chosen_fields(digest: str) -> dict[str, str]:
    """The planner's column choices for the uploaded file with this content hash."""
    return st.session_state.get("field_maps", {}).get(digest, {})


def field_mapping_form(digest: str, title: str, synonyms: dict, columns: list[str], used: dict[str, str],
                       required: tuple[str, ...], expanded: bool) -> None:
    """A form choosing, for each field of the data model, the file's column that holds it."""
    with st.expander(title, expanded=expanded), st.form(f"fields_{digest}"):
        st.caption("自动识别的字段不对或缺失时, 在此指定每一项对应文件中的哪一列; 标 * 的为必需。")
        options = [""] + columns
        picks = {}
        cols = st.columns(3)
        for i, field in enumerate(synonyms):
            current = used.get(field, "")
            picks[field] = cols[i % 3].selectbox(
                FIELD_LABELS.get(field, field) + (" *" if field in required else ""), options,
                index=options.index(current) if current in options else 0,
                format_func=lambda c: c or "(无)", key=f"field_{digest}_{field}")
        if st.form_submit_button("应用字段对应"):
            st.session_state["field_maps"] = st.session_state.get("field_maps", {}) | {digest: picks}
            st.rerun()


if not _shared.can_edit():
    st.info("您的账号为「查看」权限: 可以查看数据, 不能上传或替换。")
    st.stop()
st.subheader("上传本地数据")
st.caption("乡镇边界: GeoJSON、GeoPackage、压缩的 Shapefile(.zip)、KML/KMZ; 设施表: CSV 或 Excel(.xlsx/.xls), 坐标可为 WGS84、高德、百度或投影坐标。"
           "只上传其中一个时, 另一个沿用当前数据。")
st.download_button("下载设施表模板 (Excel)", facility_template(_shared.class_catalog()), file_name="设施表模板.xlsx")
c1, c2 = st.columns(2)
crs_labels = ["自动(按 .prj, 缺失时推断)"] + list(crs_choices())
crs_label = c1.selectbox("边界坐标系", crs_labels, help="文件缺少 .prj 或 .prj 有误时在此指定")
units_crs = crs_choices().get(crs_label)
system = c2.selectbox("设施坐标系", list(POINT_SYSTEMS), format_func=POINT_SYSTEMS.get,
                      help="自动识别: 分别按 WGS84、高德、百度坐标换算, 取落在地址所写乡镇最多的一种")
up_units = st.file_uploader("乡镇(街道)边界", type=["geojson", "json", "gpkg", "zip", "kml", "kmz"])
up_fac = st.file_uploader("设施表", type=["csv", "xlsx", "xls"])
new_units, new_fac = None, None
new_unit_report, new_fac_report, new_prep = None, None, None
if up_units is not None:
    raw = up_units.getvalue()
    digest = hashlib.sha256(raw).hexdigest()
    fields = chosen_fields(digest)
    try:
        new_units, rep = parse_units(digest, raw, up_units.name, units_crs, tuple(sorted(fields.items())))
        new_unit_report = rep
        st.success(f"边界读取成功: {len(new_units)} 个乡镇(街道), {new_units['district_code'].nunique()} 个区县; "
                   f"坐标系 {_shared.esc(rep['crs'])}; 格式 {_shared.esc(format_label(rep['encoding']))}; "
                   f"字段 {_shared.esc(describe_fields(rep['columns_used']))}")
        for note in rep["notes"]:
            st.caption(_shared.esc(note))
        field_mapping_form(digest, "字段对应(边界)", UNIT_FIELDS, rep["columns_available"], rep["columns_used"],
                           ("code", "name"), expanded=bool(rep["fields_ambiguous"]))
    except FieldMappingError as err:
        st.error(f"边界文件无法使用: {_shared.esc(err)}")
        if err.columns:
            field_mapping_form(digest, "字段对应(边界)", UNIT_FIELDS, err.columns,
                               detect_fields(err.columns, UNIT_FIELDS, fields), ("code", "name"), expanded=True)
    except CoverageError as err:
        st.error(f"边界文件无法使用: {_shared.esc(err)}")
if up_fac is not None:
    raw = up_fac.getvalue()
    digest = hashlib.sha256(raw).hexdigest()
    fields = chosen_fields(digest)
    fac_required = ("name", "facility_class")
    try:
        mapping = tuple(sorted(_shared.ws().class_mapping().items()))
        new_fac, rep = parse_facilities(digest, raw, up_fac.name, system, mapping, tuple(sorted(fields.items())))
        new_fac, prep = prepare_facilities(new_fac, new_units if new_units is not None else units, system=system)
        new_fac_report, new_prep = rep, prep
        sheets = f"; 工作表 {_shared.esc('、'.join(rep['sheets']))}" if rep.get("sheets") else ""
        st.success(f"设施表读取成功: {len(new_fac)} 条记录; 格式 {_shared.esc(format_label(rep['encoding']))}{sheets}; "
                   f"列 {_shared.esc(describe_fields(rep['columns_used']))}; 坐标系 {_shared.esc(prep['point_system_label'])}")
        if "point_system_detection" in prep:
            st.info("坐标系识别: " + _shared.esc(prep["point_system_detection"]["evidence"]) + " 如不正确, 请在上方「设施坐标系」中指定。")
        if prep["placed_by_address"] or prep["unplaceable"] or prep["near_duplicates"]:
            st.caption(f"按地址归属 {len(prep['placed_by_address'])} 条; 无法定位 {len(prep['unplaceable'])} 条; "
                       f"50米内疑似重复 {len(prep['near_duplicates'])} 条(详见「数据质量」页)。")
        if rep["unknown_classes"]:
            st.warning("以下类型无法识别, 将不计入任何指标: " + "、".join(f"{_shared.esc(k)}({v}条)" for k, v in rep["unknown_classes"].items()))
        statuses = _shared.status_vocabulary().canonical_series(new_fac["operating_status"], dict(_shared.config().status_mapping))
        unknown_status = new_fac.loc[statuses.eq("未知").to_numpy(), "operating_status"].value_counts()
        if len(unknown_status):
            st.warning("以下状态无法识别, 相应设施暂不计入覆盖(保存后可在「数据质量」页对应): "
                       + "、".join(f"{_shared.esc(k)}({v}条)" for k, v in unknown_status.items()))
        for note in rep["notes"]:
            st.caption(_shared.esc(note))
        field_mapping_form(digest, "字段对应(设施表)", FACILITY_FIELDS, rep["columns_available"], rep["columns_used"],
                           fac_required, expanded=bool(rep["fields_ambiguous"]))
    except FieldMappingError as err:
        st.error(f"设施表无法使用: {_shared.esc(err)}")
        if err.columns:
            field_mapping_form(digest, "字段对应(设施表)", FACILITY_FIELDS, err.columns,
                               detect_fields(err.columns, FACILITY_FIELDS, fields), fac_required, expanded=True)
    except CoverageError as err:
        st.error(f"设施表无法使用: {_shared.esc(err)}")

if st.button("保存为工作区并使用", type="primary", disabled=new_units is None and new_fac is None):
    record = workspace.provenance(new_unit_report or unit_report, new_fac_report or fac_report,
                                  new_prep if new_fac_report else fac_report.get("prepare", {}))
    prepare = new_prep if new_fac_report else fac_report.get("prepare", {})
    try:
        _shared.ws().save_dataset(
            new_units if new_units is not None else units, new_fac if new_fac is not None else facilities,
            units_file=up_units.name if up_units else unit_report.get("filename", "演示数据"),
            facilities_file=up_fac.name if up_fac else fac_report.get("filename", "演示数据"), source_record=record,
            # the ledger's lon/lat are WGS84 once prepared: read back as such
            facility_system="wgs84", unit_report=new_unit_report or unit_report,
            facility_report=new_fac_report or {k: v for k, v in fac_report.items() if k != "prepare"}, prepare_report=prepare)
    except CoverageError as err:
        _shared.refused(err)
    else:
        st.session_state.pop("plan", None)  # the new data may belong to another area: suggest its plan again
        st.success("已保存到部门数据库, 所有用户下次打开时看到的都是这份数据。")
        st.rerun()
if source["source"] != "demo" and st.button("切换回演示数据(已保存的数据保留)"):
    _shared.ws().set_source("demo")
    st.rerun()
if source["source"] == "demo" and _shared.store().dataset_version() > 0 and st.button("使用已保存的数据"):
    _shared.ws().set_source("workspace")
    st.rerun()

st.divider()
st.subheader("人口数据(可选)")
st.caption("用于每千名老年人床位数、服务半径内老年人口占比等指标。乡镇人口表按乡镇代码(9 位或 12 位统计用区划代码)与边界对应; "
           "村(社区)人口点为更细的需求点(经纬度 + 人口)。CSV 或 Excel 均可, 表头上方的标题行会自动跳过。")
pop_saved = _shared.ws().population_file("population")
pop_report = unit_report.get("population")
if unit_report.get("population_error"):
    st.error(_shared.esc(unit_report["population_error"]) + "。请重新上传人口表, 或移除它。")
elif pop_saved is not None and pop_report:
    st.markdown(f"正在使用乡镇人口表 **{_shared.esc(pop_saved[1].get('filename', ''))}**: "
                f"{pop_report['matched']} / {len(units)} 个乡镇有人口数据。")
elif "elderly_population" in units.columns and units["elderly_population"].notna().any():
    st.markdown(f"边界图层自带人口数据: {int(units['elderly_population'].notna().sum())} / {len(units)} 个乡镇有60岁以上人口。")
else:
    st.info("尚无老年人口数据: 每千名老年人床位数、服务半径内老年人口占比暂无法计算。")


@st.cache_data(max_entries=4, show_spinner="正在对应人口表…")
def parse_population(digest: str, _raw: bytes, name: str, fields: tuple):  # noqa: ARG001 (digest keys the cache)
    joined, report = join_population(units, _raw, name, field_map=dict(fields))
    return joined[["code", "name", "population", "elderly_population"]], report.as_dict()


@st.cache_data(max_entries=4, show_spinner="正在读取人口点…")
def parse_points(digest: str, _raw: bytes, name: str, point_system: str, fields: tuple):  # noqa: ARG001
    points, report = read_demand_points(_raw, name, system=point_system, field_map=dict(fields))
    return points, report.as_dict()


def population_report(report: dict) -> None:
    """What the join or the read did: notes, and the rows not used, as tables."""
    for note in report.get("notes", []):
        st.caption(_shared.esc(note))
    if report.get("unmatched_codes"):
        with st.expander(f"未能对应到乡镇的 {len(report['unmatched_codes'])} 行"):
            st.dataframe(pd.DataFrame(report["unmatched_codes"]).rename(
                columns={"row": "行号", "code": "代码", "name": "名称", "reason": "原因"}), hide_index=True)
    if report.get("non_numeric"):
        with st.expander(f"不是有效人数的 {len(report['non_numeric'])} 个单元格"):
            st.dataframe(pd.DataFrame(report["non_numeric"]).rename(columns={"row": "行号", "column": "列", "value": "内容"}),
                         hide_index=True)


p1, p2 = st.columns(2)
with p1:
    up_pop = st.file_uploader("乡镇人口表(总人口、60岁以上人口)", type=["csv", "xlsx", "xls"], key="population_upload")
    if up_pop is not None:
        raw = up_pop.getvalue()
        digest = hashlib.sha256(raw).hexdigest()
        fields = chosen_fields(digest)
        try:
            joined, rep = parse_population(digest, raw, up_pop.name, tuple(sorted(fields.items())))
            st.success(f"人口表读取成功: {rep['rows']} 行, 对应到 {rep['matched']} / {len(units)} 个乡镇; "
                       f"列 {_shared.esc(describe_fields(rep['columns_used']))}; 60岁以上人口合计 "
                       f"{joined['elderly_population'].sum():,.0f} 人")
            population_report(rep)
            field_mapping_form(digest, "字段对应(人口表)", POPULATION_FIELDS, rep["columns_available"], rep["columns_used"],
                               ("code",), expanded=bool(rep["fields_ambiguous"]))
            if st.button("保存人口表并使用", disabled=rep["matched"] == 0,
                         help=None if rep["matched"] else "没有一行对应到当前边界的乡镇, 请检查乡镇代码"):
                _shared.ws().save_population_file("population", raw, up_pop.name, field_map=fields)
                st.success("已保存人口表。")
                st.rerun()
        except FieldMappingError as err:
            st.error(f"人口表无法使用: {_shared.esc(err)}")
            if err.columns:
                field_mapping_form(digest, "字段对应(人口表)", POPULATION_FIELDS, err.columns,
                                   detect_fields(err.columns, POPULATION_FIELDS, fields), ("code",), expanded=True)
        except CoverageError as err:
            st.error(f"人口表无法使用: {_shared.esc(err)}")
    if pop_saved is not None and st.button("不再使用已保存的人口表"):
        _shared.ws().remove_population_file("population")
        st.rerun()
with p2:
    points_saved = _shared.ws().population_file("demand_points")
    points, points_report = _shared.demand_points()
    if points_report and points_report.get("error"):
        st.error(_shared.esc(points_report["error"]))
    elif points is not None:
        st.markdown(f"正在使用村(社区)人口点 **{_shared.esc(points_saved[1].get('filename', ''))}**: "
                    f"{int(points.geometry.notna().sum())} 个点(地图的服务半径按这些点计算老年人口占比)。")
    point_system = st.selectbox("人口点坐标系", list(POINT_SYSTEMS)[1:] if "auto" in POINT_SYSTEMS else list(POINT_SYSTEMS),
                                format_func=POINT_SYSTEMS.get, key="points_system",
                                help="人口点的经纬度按所选坐标系换算为 WGS84; 不自动识别")
    up_points = st.file_uploader("村(社区)人口点(经度、纬度、人口)", type=["csv", "xlsx", "xls"], key="points_upload")
    if up_points is not None:
        raw = up_points.getvalue()
        digest = hashlib.sha256(raw).hexdigest()
        fields = chosen_fields(digest)
        try:
            new_points, rep = parse_points(digest, raw, up_points.name, point_system, tuple(sorted(fields.items())))
            placed = int(new_points.geometry.notna().sum())
            st.success(f"人口点读取成功: {rep['rows']} 行, 有效坐标 {placed} 个; 列 {_shared.esc(describe_fields(rep['columns_used']))}")
            if rep.get("bad_coordinates"):
                st.warning(f"{len(rep['bad_coordinates'])} 行坐标缺失或不在中国范围内, 未使用: "
                           + _shared.esc("、".join(map(str, rep["bad_coordinates"][:20]))))
            population_report(rep)
            field_mapping_form(digest, "字段对应(人口点)", DEMAND_FIELDS, rep["columns_available"], rep["columns_used"],
                               ("lon", "lat"), expanded=bool(rep["fields_ambiguous"]))
            if st.button("保存人口点并使用", disabled=placed == 0):
                _shared.ws().save_population_file("demand_points", raw, up_points.name, field_map=fields, system=point_system)
                st.success("已保存人口点。")
                st.rerun()
        except FieldMappingError as err:
            st.error(f"人口点表无法使用: {_shared.esc(err)}")
            if err.columns:
                field_mapping_form(digest, "字段对应(人口点)", DEMAND_FIELDS, err.columns,
                                   detect_fields(err.columns, DEMAND_FIELDS, fields), ("lon", "lat"), expanded=True)
        except CoverageError as err:
            st.error(f"人口点表无法使用: {_shared.esc(err)}")
    if points_saved is not None and st.button("不再使用已保存的人口点"):
        _shared.ws().remove_population_file("demand_points")
        st.rerun()
