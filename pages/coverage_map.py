"""地图: townships covered/uncovered for one indicator, facilities, details of what was clicked; a
print layout (one A4 landscape sheet) and the print-quality thematic map of the same view."""
import html

import pandas as pd
import streamlit as st

from coverage.assign import COUNTED_STATUSES
from coverage.errors import CoverageError
from coverage.evaluate import AREA_CODE, UNIT_STATUSES
from coverage.quality import quality_summary
from coverage.summary import no_data_notice
from geodata.mapview import LEVEL_LABELS, scope_mask
from geodata.webmap import (PRINT_MAP_SIZE_MM, boundary_attribution, catalog_colors, clicked_selection, map_frame_parts,
                            names_by_unit, style_payload)
from pages import _map, _shared
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
  h1, .st-key-map_controls, .st-key-map_radius, .st-key-map_details, .st-key-map_district_crumbs, [data-testid="stColumn"]:has(.st-key-map_details) { display: none !important; }
  .mz-print-title { display: block; font-size: 17pt; font-weight: 600; margin: 0 0 2mm 0; }
  .mz-print-title small { font-size: 10pt; font-weight: 400; color: #444; }
  [data-testid="stAppViewContainer"], [data-testid="stMain"], section.main { position: static !important; overflow: visible !important; }
  [data-testid="stMainBlockContainer"] { padding: 0 !important; max-width: none !important; }
  [data-testid="stVerticalBlock"] { gap: 2mm !important; }
  [data-testid="stColumn"]:has(iframe) { width: 100% !important; flex: 1 1 100% !important; }
  iframe[title$=".mz_map"] { width: MAP_Wmm !important; height: MAP_Hmm !important; break-inside: avoid; }
}
</style>""".replace("MAP_W", str(PRINT_MAP_SIZE_MM[0])).replace("MAP_H", str(PRINT_MAP_SIZE_MM[1]))

plan = _shared.current_plan()
units, facilities, unit_report, fac_report = _shared.dataset()
assigned, res = _shared.result(plan)
classes = _shared.class_catalog()
cov = res.coverage[res.coverage["measure"] == "coverage"]

_shared.page_header("地图")
indicators = list(cov["indicator"].unique())  # in plan order
if not indicators:
    st.info(f"规划「{_shared.esc(plan)}」没有覆盖率类指标(只有数量或床位指标), 地图按覆盖率着色, 无可显示的内容。"
            "请在「指标」页查看这些指标, 或在左侧栏选择其他规划。")
    st.stop()
scopes = _map.scopes(units)
with st.container(key="map_controls"):
    c1, c2, c3, c4, c5 = st.columns([2.2, 1.1, 1.0, 1.2, 0.9], vertical_alignment="bottom")
    indicator = c1.selectbox("指标", indicators, **_shared.remembered("map_indicator", indicators[0], indicators))
    scope = c2.selectbox("区县", list(scopes), format_func=scopes.get, **_shared.remembered("map_district", "", list(scopes)))
    basemap, tile_key = _map.basemap_choice(c3)
    show_all = c4.toggle("显示全部类别设施", **_shared.remembered("map_show_all", False))
    export = c5.popover("导出地图图片", width="stretch")
# service radius: its widgets are drawn below the map (so the map keeps its place); their values,
# kept in the session, decide the layer drawn now
radius_kwargs = (_shared.remembered("map_show_radius", False), _shared.remembered("map_radius_km", 5.0))
show_radius = bool(st.session_state["map_show_radius"])
radius_km = float(st.session_state["map_radius_km"])

target = cov[(cov["indicator"] == indicator) & (cov["district_code"] == AREA_CODE)].iloc[0]
if bool(target["no_data"]):
    st.warning(_shared.esc(no_data_notice([target["class_name"]], "map")))

layer = _map.layer(units, scope, basemap.system)
in_scope = scope_mask(units, scope)
shown_units = units[in_scope]
township_view = layer.kind == "township"
# per-township status: township views only (district views are coloured by the district rates)
status = _shared.statuses(target["target_id"], scope, plan) if township_view else pd.Series(dtype=object)
placed = assigned[assigned["status"].eq("assigned") & assigned["unit_code"].isin(set(layer.codes))] if township_view \
    else assigned.iloc[0:0]
pts = placed if show_all else placed[placed["facility_class"] == target["facility_class"]]
of_class = placed[placed["facility_class"] == target["facility_class"]]
by_unit = names_by_unit(of_class)
attribution = boundary_attribution(unit_report)
scope_name = _map.label(units, scope)


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
    codes = None if not scope else sorted(set(shown_units["district_code"]))
    fig = indicator_maps(data, [target["target_id"]], districts=codes)[target["target_id"]]
    if codes:
        fig.suptitle(f"{scope_name} · {indicator}", fontsize=16, y=0.965, parse_math=False)
    if attribution:
        for text in fig.findobj(lambda a: getattr(a, "get_gid", lambda: None)() == "footer"):
            text.set_text(f"{text.get_text()}\n{attribution}")
    return figure_bytes(fig, fmt, dpi=300)


stem = safe_filename(f"{indicator}_{scope_name}", "地图", max_chars=60)
with export:
    st.caption("打印用专题图: 本指标的覆盖情况与该类设施, 含图例、标题、比例尺、指北针和数据来源。点击后生成, 需几秒钟。")
    st.download_button("PNG 图片(300dpi)", lambda: print_map("png"), file_name=f"{stem}.png", mime="image/png",
                       on_click="ignore", width="stretch")
    st.download_button("PDF(矢量)", lambda: print_map("pdf"), file_name=f"{stem}.pdf", mime="application/pdf",
                       on_click="ignore", width="stretch")

subject = f"{indicator} · {scope_name if scope else '全部区县'}"
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
_map.show_breadcrumb(units, scope, "map_district")
left, right = st.columns([3, 1])
frame_box = left.container()
# Details first: a click's answer goes out before the (unchanged) map. The last click is kept in
# the session by the map component's on_change; a township or facility outside the view is not shown.
selection = clicked_selection(st.session_state.get("coverage_map"))


def township(code: str):
    """The row of township `code` in the view (None when not there): a look-up, not an index of
    the whole layer built on every run."""
    rows = shown_units[shown_units["code"] == code]
    return rows.iloc[0] if len(rows) else None


with right, st.container(key="map_details"):
    st.subheader("详情")
    if selection and selection.kind == "facility" and selection.key in set(placed["facility_id"].astype(str)):
        f = assigned[assigned["facility_id"].astype(str) == selection.key].iloc[0]
        home = township(f["unit_code"])
        rows = [("类别", classes.names.get(f["facility_class"], "未识别类别")), ("状态", f.get("operating_status")),
                ("地址", f.get("address")), ("所属乡镇(街道)", f"{home['name']}({home['district_name']})" if home is not None else None),
                ("编号", f["facility_id"]), ("床位数", f.get("beds")), ("建成年份", f.get("built_year"))]
        lines = [f"**{label}**: {_shared.esc(_plain(value))}" for label, value in rows if pd.notna(value) and str(value).strip()]
        st.markdown(f"##### {_shared.esc(f['name'])}\n\n" + "  \n".join(lines))
    elif selection and selection.kind == "unit" and township_view and selection.key in set(layer.codes):
        u, code = township(selection.key), selection.key
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
    elif township_view:
        st.caption("点击地图上的乡镇(街道)或设施查看详情。")
    else:
        st.caption(f"乡镇(街道)较多, 地图按{LEVEL_LABELS[layer.kind]}显示本指标的覆盖率。点击{LEVEL_LABELS[layer.kind]}"
                   "进入其乡镇(街道)与设施; 也可在上方「区县」中直接选择。")
# Then the style (small: restyles the drawn map), then the map frame (the same as last run: sent
# as a reference, no geometry; a new view sends its layer once).
colors = catalog_colors(classes.table)
district_rows = cov[(cov["target_id"] == target["target_id"]) & (cov["district_code"] != AREA_CODE)]
_map.style(left, "coverage_map", style_payload(
    layer, indicator=indicator, unit_status=status, facilities_by_unit=by_unit, district_rows=district_rows,
    facilities=placed, visible_classes=None if show_all else [target["facility_class"]], class_names=classes.names,
    colors=colors, service_area=areas, system=basemap.system))
parts = map_frame_parts(layer, placed if township_view else None, class_names=classes.names, map_key="coverage_map",
                        colors=colors, basemap=basemap, tile_key=tile_key, height=MAP_HEIGHT, attribution=attribution)
with frame_box:
    _map.frame(parts, key="coverage_map", height=MAP_HEIGHT, returned_objects=["last_active_drawing"],
               on_change=_map.drill_on_area_click("coverage_map", "map_district", scopes))
with st.container(border=True, key="map_radius"):
    r1, r2 = st.columns([1.2, 3], vertical_alignment="bottom")
    r1.toggle("显示服务半径", **radius_kwargs[0])
    r2.number_input("服务半径(千米, 直线距离)", min_value=0.1, max_value=100.0, step=0.5, disabled=not show_radius,
                    **radius_kwargs[1])
shift = "高德底图为 GCJ-02 坐标: 乡镇与设施仅在显示时偏移以对齐底图, 计算仍用原始坐标。" if basemap.system == "gcj02" else ""
where = (f"显示 {len(pts)} 个设施" if township_view else
         f"按{LEVEL_LABELS[layer.kind]}显示 {len(layer.codes)} 个区域(点击进入其乡镇与设施)")
st.caption(f"共 {len(shown_units)} 个乡镇(街道), {where}。底图: {_shared.esc(basemap.label)}。{shift}"
           "边界为显示而简化, 计算使用原始边界。")
