"""地图: townships covered/uncovered for one indicator, facilities, details of what was clicked; a
print layout (one A4 landscape sheet) and the print-quality thematic map of the same view."""
import html

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from coverage.assign import COUNTED_STATUSES
from coverage.errors import CoverageError
from coverage.evaluate import AREA_CODE, UNIT_STATUSES, unit_statuses
from coverage.quality import quality_summary
from geodata.webmap import PRINT_MAP_SIZE_MM, boundary_attribution, catalog_colors, clicked_selection, coverage_map
from coverage.summary import no_data_notice
from pages import _shared
from reporting.excel import safe_filename
from reporting.meeting_pack import PackData, indicator_maps
from reporting.thematic import figure_bytes

MAP_HEIGHT = 600
# Printing: one A4 landscape sheet with the print title, the map (legend, scale bar, attribution
# inside it) and the caption; no sidebar, toolbar, widgets or details panel.
PRINT_CSS = """<style>
@page { size: A4 landscape; margin: 8mm; }
.mz-print-title { display: none; }
@media print {
  [data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stHeader"], [data-testid="stToolbar"],
  [data-testid="stDecoration"], [data-testid="stStatusWidget"], [data-testid="stAlert"], [data-testid="stBottom"],
  h1, .st-key-map_controls, .st-key-map_radius, .st-key-map_details, [data-testid="stColumn"]:has(.st-key-map_details) { display: none !important; }
  .mz-print-title { display: block; font-size: 17pt; font-weight: 600; margin: 0 0 2mm 0; }
  .mz-print-title small { font-size: 10pt; font-weight: 400; color: #444; }
  [data-testid="stAppViewContainer"], [data-testid="stMain"], section.main { position: static !important; overflow: visible !important; }
  [data-testid="stMainBlockContainer"] { padding: 0 !important; max-width: none !important; }
  [data-testid="stVerticalBlock"] { gap: 2mm !important; }
  [data-testid="stColumn"]:has(iframe) { width: 100% !important; flex: 1 1 100% !important; }
  iframe[title="streamlit_folium.st_folium"] { width: MAP_Wmm !important; height: MAP_Hmm !important; break-inside: avoid; }
}
</style>""".replace("MAP_W", str(PRINT_MAP_SIZE_MM[0])).replace("MAP_H", str(PRINT_MAP_SIZE_MM[1]))

plan = _shared.current_plan()
units, facilities, unit_report, fac_report = _shared.dataset()
assigned, res = _shared.result(plan)
classes = _shared.class_catalog()
cov = res.coverage[res.coverage["measure"] == "coverage"]

_shared.page_header("地图")
indicators = list(dict.fromkeys(cov["indicator"]))
district_names = ["全部"] + sorted(set(units["district_name"]))
with st.container(key="map_controls"):
    c1, c2, c3, c4 = st.columns([2.2, 0.9, 1.25, 0.9], vertical_alignment="bottom")
    indicator = c1.selectbox("指标", indicators, **_shared.remembered("map_indicator", indicators[0], indicators))
    district = c2.selectbox("区县", district_names, **_shared.remembered("map_district", "全部", district_names))
    show_all = c3.toggle("显示全部类别设施", **_shared.remembered("map_show_all", False))
    export = c4.popover("导出地图图片", width="stretch")
# service radius: its widgets are drawn below the map (so the map keeps its place); their values,
# kept in the session, decide the layer drawn now
radius_kwargs = (_shared.remembered("map_show_radius", False), _shared.remembered("map_radius_km", 5.0))
show_radius = bool(st.session_state["map_show_radius"])
radius_km = float(st.session_state["map_radius_km"])

target = cov[(cov["indicator"] == indicator) & (cov["district_code"] == AREA_CODE)].iloc[0]
status = unit_statuses(units, res, target["target_id"], _shared.config())
if bool(target["no_data"]):
    st.warning(_shared.esc(no_data_notice([target["class_name"]], "map")))

shown_units = units if district == "全部" else units[units["district_name"] == district]
pts = assigned[assigned["status"].eq("assigned") & assigned["unit_code"].isin(shown_units["code"])]
if not show_all:
    pts = pts[pts["facility_class"] == target["facility_class"]]
by_unit = pts.groupby("unit_code")["name"].apply(list).to_dict()
attribution = boundary_attribution(unit_report)


def _plain(value) -> str:
    """A cell as read: 92.0 -> "92"."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


config, plan_targets, demo = _shared.config(), _shared.plan_targets(plan), _shared.is_demo()


def print_map(fmt: str) -> bytes:
    """The thematic print map (reporting.thematic: legend, title, scale bar, north arrow, source) of
    the chosen indicator and district, as PNG (300 dpi) or PDF; built only when downloaded, on
    Streamlit's download thread (no session state there: everything it needs is read above)."""
    quality = quality_summary(assigned, unit_report, fac_report, fac_report.get("prepare", {}), None,
                              config=config, excluded_units=res.excluded_units)
    data = PackData(plan=plan, units=units, assigned=assigned, result=res, targets=plan_targets, classes=classes,
                    config=config, quality=quality, demo=demo)
    codes = None if district == "全部" else sorted(set(shown_units["district_code"]))
    fig = indicator_maps(data, [target["target_id"]], districts=codes)[target["target_id"]]
    if codes:
        fig.suptitle(f"{district} · {indicator}", fontsize=16, y=0.965, parse_math=False)
    if attribution:
        for text in fig.findobj(lambda a: getattr(a, "get_gid", lambda: None)() == "footer"):
            text.set_text(f"{text.get_text()}\n{attribution}")
    return figure_bytes(fig, fmt, dpi=300)


stem = safe_filename(f"{indicator}_{district}", "地图", max_chars=60)
with export:
    st.caption("打印用专题图: 本指标的覆盖情况与该类设施, 含图例、标题、比例尺、指北针和数据来源。点击后生成, 需几秒钟。")
    st.download_button("PNG 图片(300dpi)", lambda: print_map("png"), file_name=f"{stem}.png", mime="image/png",
                       on_click="ignore", width="stretch")
    st.download_button("PDF(矢量)", lambda: print_map("pdf"), file_name=f"{stem}.pdf", mime="application/pdf",
                       on_click="ignore", width="stretch")

subject = f"{indicator} · {district if district != '全部' else '全部区县'}"
demo_note = "<small>(演示数据, 示意)</small>" if demo else ""
st.html(f'{PRINT_CSS}<div class="mz-print-title">{html.escape(subject)} {demo_note}</div>')

access, areas = None, None
if show_radius:
    try:
        access, areas = _shared.access(target["facility_class"], radius_km)
    except CoverageError as err:
        st.error(_shared.esc(err))
    else:
        share = "—" if pd.isna(access.share_within) else f"{access.share_within * 100:.1f}%"
        st.info(f"60岁以上人口中 {share} 在「{_shared.esc(target['class_name'])}」{radius_km:g} 千米范围内"
                f"({int(access.elderly_within):,} / {int(access.elderly_total):,} 人; 按{_shared.esc(access.demand)}计; "
                "直线距离, 实际道路距离更长)。")
        for note in access.notes:
            st.caption(_shared.esc(note))
fmap = coverage_map(shown_units, status, pts, class_names=classes.names, indicator=indicator, facilities_by_unit=by_unit,
                    colors=catalog_colors(classes.table), attribution=attribution, height=MAP_HEIGHT, service_area=areas)
left, right = st.columns([3, 1])
with left:
    event = st_folium(fmap, key="coverage_map", returned_objects=["last_active_drawing"], height=MAP_HEIGHT,
                      use_container_width=True)
with right, st.container(key="map_details"):
    st.subheader("详情")
    selection = clicked_selection(event)
    unit_names = units.set_index("code")
    if selection and selection.kind == "facility" and selection.key in set(assigned["facility_id"].astype(str)):
        f = assigned[assigned["facility_id"].astype(str) == selection.key].iloc[0]
        home = unit_names.loc[f["unit_code"]] if f["unit_code"] in unit_names.index else None
        rows = [("类别", classes.names.get(f["facility_class"], "未识别类别")), ("状态", f.get("operating_status")),
                ("地址", f.get("address")), ("所属乡镇(街道)", f"{home['name']}({home['district_name']})" if home is not None else None),
                ("编号", f["facility_id"]), ("床位数", f.get("beds")), ("建成年份", f.get("built_year"))]
        lines = [f"**{label}**: {_shared.esc(_plain(value))}" for label, value in rows if pd.notna(value) and str(value).strip()]
        st.markdown(f"##### {_shared.esc(f['name'])}\n\n" + "  \n".join(lines))
    elif selection and selection.kind == "unit" and selection.key in unit_names.index:
        u, code = unit_names.loc[selection.key], selection.key
        st.markdown(f"##### {_shared.esc(u['name'])}\n\n{_shared.esc(u['district_name'])} · {_shared.esc(u['kind'])} · 代码 {_shared.esc(code)}")
        if "population" in u and pd.notna(u.get("population")):
            st.write(f"人口 {int(u['population']):,}; 老年人口 {int(u.get('elderly_population') or 0):,}")
        st.markdown(f"本指标: **{UNIT_STATUSES.get(status.get(code), UNIT_STATUSES['out_of_scope'])}**")
        if access is not None and code in set(access.by_unit["code"]):
            near = access.by_unit.set_index("code").loc[code, "nearest_m"]
            st.markdown("最近的同类设施: " + ("无" if pd.isna(near) else f"**{near / 1000:.1f} 千米**(直线距离)"))
        here = assigned[(assigned["unit_code"] == code) & assigned["status"].isin(COUNTED_STATUSES)]
        st.caption(f"本乡镇(街道)的设施: {len(here)} 个")
        with st.container(height=320, border=False):
            st.markdown("\n".join(
                f"- **{_shared.esc(r.name)}**  \n{_shared.esc(classes.names.get(r.facility_class, '未识别类别'))}"
                f" · {_shared.esc(r.operating_status if pd.notna(r.operating_status) and str(r.operating_status) else '状态未填')}"
                for r in here.itertuples()) or "无")
    else:
        st.caption("点击地图上的乡镇(街道)或设施查看详情。")
with st.container(border=True, key="map_radius"):
    r1, r2 = st.columns([1.2, 3], vertical_alignment="bottom")
    r1.toggle("显示服务半径", **radius_kwargs[0])
    r2.number_input("服务半径(千米, 直线距离)", min_value=0.1, max_value=100.0, step=0.5, disabled=not show_radius,
                    **radius_kwargs[1])
st.caption(f"共 {len(shown_units)} 个乡镇(街道), 显示 {len(pts)} 个设施。底图: 无(离线模式)。边界为显示而简化, 计算使用原始边界。")
