"""规划方案: named lists of planned sites saved in the department's store (map click, uncovered townships,
imported list, table edits); the fewest new sites per target as a starting scenario; coverage
before/after on every indicator and district, recomputed incrementally (coverage.scenarios)."""
import time

import pandas as pd
import streamlit as st

from coverage.errors import CoverageError
from coverage.evaluate import AREA_CODE, COUNTY_LEVELS, unit_statuses
from coverage.proposals import NOT_SITED
from coverage.scenarios import (
    COMPARISON_HEADERS, PLANNED, SITE_COLUMNS, ScenarioError, apply_scenario, comparison_table, make_scenario,
    proposal_to_scenario, state_from_result, statuses_with_sites,
)
from geodata.clean import prepare_facilities
from geodata.io import read_facilities
from geodata.webmap import catalog_colors, map_frame_parts, style_payload
from pages import _map, _shared

RANK_CHOICES = {"老年人口": "elderly", "距最近同类设施": "distance", "区域性中心(每2-3个乡镇)": "regional"}
MAP_HEIGHT = 520
HEADERS = COMPARISON_HEADERS

plan = _shared.current_plan()
units, facilities, _, _ = _shared.dataset()
assigned, res = _shared.result(plan)
classes, cfg = _shared.class_catalog(), _shared.config()
_shared.page_header("规划方案")
try:
    saved = _shared.ws().load_scenarios()
    # the scenarios as this session first saw them: a save is checked against these versions
    loaded_versions = st.session_state.setdefault("scn_versions", _shared.ws().scenario_versions())
except ScenarioError as err:
    st.error(_shared.esc(err))
    st.stop()
if flash := st.session_state.pop("scn_flash", None):
    st.success(_shared.esc(flash))


def store(scenarios: dict, *, select: str | None = None, message: str | None = None) -> None:
    """Save every scenario (atomic write), then rerun with `select` chosen."""
    try:
        _shared.ws().save_scenarios(scenarios, based_on=st.session_state.get("scn_versions") or {})
    except CoverageError as err:
        _shared.refused(err)
        st.session_state.pop("scn_versions", None)  # the next run starts from the department's current scenarios
        return
    st.session_state["scn_versions"] = _shared.ws().scenario_versions()
    st.session_state["scn_pending"] = select
    st.session_state["scn_flash"] = message
    st.rerun()


def unique_name(base: str) -> str:
    name, i = base, 2
    while name in saved:
        name, i = f"{base}({i})", i + 1
    return name


def with_sites(sites: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """`sites` plus `new` (name, facility_class, lon, lat, unit_code), numbered S0001, S0002, ..."""
    taken = pd.to_numeric(sites["site_id"].astype(str).str.extract(r"^S(\d+)$")[0], errors="coerce").max()
    start = 0 if pd.isna(taken) else int(taken)
    new = new.assign(site_id=[f"S{start + i + 1:04d}" for i in range(len(new))], status=PLANNED)
    return pd.concat([sites, new.reindex(columns=SITE_COLUMNS)], ignore_index=True)


# ---------------------------------------------------------------- choose / create / rename / delete
names = list(saved)
pending = st.session_state.pop("scn_pending", None)
if pending in names:
    st.session_state["scn_current"] = st.session_state["_keep_scn_current"] = pending
c1, c2, c3 = st.columns([2, 2, 1], vertical_alignment="bottom")
current = c1.selectbox("当前方案", names, placeholder="还没有方案, 请先新建", **_shared.remembered("scn_current", names[0] if names else None, names))
EDITOR = _shared.can_edit()  # 查看 accounts see the scenarios and their effect, no control that changes them
new_name = c2.text_input("新方案名称", key="scn_new_name", placeholder="如: 2025年补短板方案") if EDITOR else ""
if EDITOR and c3.button("新建方案", width="stretch"):
    name = (new_name or "").strip()
    if not name or len(name) > 60 or name in saved:
        st.error("方案名称不能为空、不超过60字, 且不能与已有方案重名。")
    else:
        store(saved | {name: pd.DataFrame(columns=SITE_COLUMNS)}, select=name, message=f"已新建方案「{name}」。")
if current and EDITOR:
    with st.expander("重命名或删除当前方案"):
        r1, r2, r3 = st.columns([2, 1, 1], vertical_alignment="bottom")
        renamed = r1.text_input("新名称", key="scn_rename")
        if r2.button("重命名", width="stretch"):
            name = (renamed or "").strip()
            if not name or len(name) > 60 or name in saved:
                st.error("新名称不能为空、不超过60字, 且不能与已有方案重名。")
            else:
                store({(name if k == current else k): v for k, v in saved.items()}, select=name, message=f"已重命名为「{name}」。")
        if r3.button("删除当前方案", type="primary", width="stretch"):
            store({k: v for k, v in saved.items() if k != current}, message=f"已删除方案「{current}」。")

# ---------------------------------------------------------------- before / after (incremental)
state = state_from_result(units, _shared.plan_targets(plan), classes, res, config=cfg)
sites = saved.get(current, pd.DataFrame(columns=SITE_COLUMNS)) if current else None
outcome = None
if current:
    try:
        started = time.perf_counter()
        outcome = apply_scenario(state, make_scenario(current, sites, classes), units)
        took_ms = (time.perf_counter() - started) * 1000
    except ScenarioError as err:
        st.error(_shared.esc(err))
if outcome is not None:
    st.info(f"当前视图包含方案「{_shared.esc(current)}」的 {len(sites)} 个规划点位(状态「规划」, 尚未建成; 地图上为 ◇): 覆盖率与差距按这些点位建成运营计算。")
    st.caption(f"增量重算(不重读台账)用时 {took_ms:.0f} 毫秒。")
    if len(outcome.unplaced):
        st.warning(f"{len(outcome.unplaced)} 个点位不在任何乡镇范围内, 未计入: "
                   + "、".join(_shared.esc(n) for n in outcome.unplaced["name"]))

# ---------------------------------------------------------------- map (planned sites, click to add)
cov = res.coverage[res.coverage["measure"] == "coverage"]
indicators = list(dict.fromkeys(cov["indicator"]))
if not indicators:  # a plan of count or bed targets only (玛纳斯县): nothing to colour the map by
    st.info(f"规划「{_shared.esc(plan)}」没有覆盖率类指标, 不显示方案地图; 下方仍可添加点位并查看数量类指标的前后对比。")
else:
    map_c1, map_c2 = st.columns([3, 1], vertical_alignment="bottom")
    indicator = map_c1.selectbox("地图指标", indicators, **_shared.remembered("scn_indicator", indicators[0], indicators))
    target = cov[(cov["indicator"] == indicator) & (cov["district_code"] == AREA_CODE)].iloc[0]
    status = unit_statuses(units, res, target["target_id"], cfg)
    if outcome is not None and len(outcome.placed):
        status = statuses_with_sites(status, units, outcome.placed, target["facility_class"], target["level"])
    # the map of geodata.webmap's frame and style (pages/_map.py): adding a site or another indicator
    # restyles the drawn map; large layers open on districts and drill down (区县 / breadcrumb)
    scopes = _map.scopes(units)
    scope = map_c2.selectbox("地图范围", list(scopes), format_func=scopes.get, **_shared.remembered("scn_scope", "", list(scopes)))
    layer = _map.layer(units, scope, "wgs84")
    pts = assigned[assigned["status"].eq("assigned") & assigned["unit_code"].isin(set(layer.codes))] \
        if layer.kind == "township" else None  # every class: the indicator's is shown by the style
    cov_now = outcome.state.coverage if outcome is not None else res.coverage
    _map.show_breadcrumb(units, scope, "scn_scope")
    left, right = st.columns([3, 1])
    frame_box = left.container()
    _map.style(left, "scn_map", style_payload(
        layer, indicator=f"{indicator}(含规划点位)" if outcome else indicator, unit_status=status,
        district_rows=cov_now[(cov_now["target_id"] == target["target_id"]) & (cov_now["district_code"] != AREA_CODE)],
        facilities=pts, visible_classes=[target["facility_class"]], class_names=classes.names,
        colors=catalog_colors(classes.table), planned=sites if outcome is not None else None))
    with frame_box:
        event = _map.frame(map_frame_parts(layer, pts, class_names=classes.names, map_key="scn_map",
                                           colors=catalog_colors(classes.table), height=MAP_HEIGHT, planned_layer=True),
                           key="scn_map", returned_objects=["last_clicked", "last_active_drawing"], height=MAP_HEIGHT,
                           on_change=_map.drill_on_area_click("scn_map", "scn_scope", scopes))
    with right:
        st.subheader("在地图上添加")
        clicked = ((event or {}).get("last_clicked") or {}) if layer.kind == "township" else {}
        if not EDITOR:
            st.caption("您的账号为「查看」权限: 不能添加或修改点位。")
        elif not current:
            st.caption("先新建或选择一个方案。")
        elif layer.kind != "township":
            st.caption("乡镇(街道)较多, 地图按区域显示: 点击区域(或在「地图范围」中选择区县)进入其乡镇后, 再点击位置添加点位。")
        elif not clicked:
            st.caption("点击地图上的位置, 再在此选类别、填名称后添加(◇ 为规划点位)。")
        else:
            with st.form("scn_click_form", clear_on_submit=True):
                st.caption(f"位置: 经度 {clicked['lng']:.5f}, 纬度 {clicked['lat']:.5f}")
                cls = st.selectbox("设施类别", list(classes.names), format_func=classes.names.get,
                                   index=list(classes.names).index(target["facility_class"]))
                site_name = st.text_input("名称", placeholder="如: 某某镇养老服务中心(规划)")
                if st.form_submit_button("添加到方案"):
                    new = pd.DataFrame({"name": [site_name.strip() or f"{classes.names[cls]}(规划)"], "facility_class": [cls],
                                        "lon": [float(clicked["lng"])], "lat": [float(clicked["lat"])], "unit_code": [None]})
                    store(saved | {current: with_sites(sites, new)}, select=current, message="已添加 1 个规划点位。")

tab_cmp, tab_sites, tab_fewest = st.tabs(["现状与方案后对比", "添加与编辑点位", "最少新增点位"])

with tab_cmp:
    if outcome is None:
        st.caption("选择或新建一个方案后, 这里列出每项指标、每个区县的现状与方案后的覆盖率、差距和达标情况。")
    else:
        table = comparison_table(outcome.comparison)
        only = st.toggle("只显示有变化的行", key="scn_only_changed")
        shown = table[outcome.comparison["changed"].to_numpy(dtype=bool)] if only else table
        st.dataframe(shown, hide_index=True, width="stretch", height=420, column_config={
            h: st.column_config.NumberColumn(h, format="percent") for h in (HEADERS["rate_before"], HEADERS["rate_after"])})
        planned_sheet = sites.rename(columns={"site_id": "编号", "name": "名称", "facility_class": "类别", "lon": "经度",
                                              "lat": "纬度", "unit_code": "乡镇代码", "status": "状态"})
        planned_sheet["类别"] = planned_sheet["类别"].map(classes.names).fillna(planned_sheet["类别"])
        _shared.excel_download("下载前后对比 (Excel)", {"前后对比": table, "规划点位": planned_sheet}, f"规划方案前后对比_{current}",
                               percent_columns=(HEADERS["rate_before"], HEADERS["rate_after"]), key="scn_download")

with tab_sites:
    if not EDITOR:
        st.caption("您的账号为「查看」权限: 不能添加或修改点位。")
    elif not current:
        st.caption("先新建或选择一个方案。")
    else:
        st.markdown("**从未覆盖乡镇添加**(点位放在乡镇的代表点, 计入该乡镇)")
        own_level = cov[(cov["district_code"] == AREA_CODE) & ~cov["level"].isin(COUNTY_LEVELS)]
        pick_ind = st.selectbox("指标", list(own_level["indicator"]), key="scn_pick_indicator")
        if pick_ind:
            t = own_level[own_level["indicator"] == pick_ind].iloc[0]
            unc = res.uncovered[res.uncovered["target_id"] == t["target_id"]]
            have = set(sites.loc[sites["facility_class"] == t["facility_class"], "unit_code"].dropna())
            unc = unc[unc["unit_code"].isin(set(units["code"])) & ~unc["unit_code"].isin(have)]
            label = dict(zip(unc["unit_code"], unc["unit_name"] + "(" + unc["district_name"] + ")"))
            chosen = st.multiselect(f"未覆盖乡镇({len(label)} 个)", list(label), format_func=label.get, key="scn_pick_units")
            if st.button("添加所选乡镇", disabled=not chosen):
                geo = units.set_index("code").loc[chosen]
                rep = geo.geometry.representative_point()
                new = pd.DataFrame({"name": [f"{n}{classes.names.get(t['facility_class'], '')}(规划)" for n in geo["name"]],
                                    "facility_class": t["facility_class"], "lon": rep.x.to_numpy(), "lat": rep.y.to_numpy(),
                                    "unit_code": list(chosen)})
                store(saved | {current: with_sites(sites, new)}, select=current, message=f"已添加 {len(new)} 个规划点位。")
        st.markdown("**从清单导入**(Excel/CSV, 表头同设施台账: 名称、类型、经度、纬度或地址; 坐标系按乡镇边界自动识别)")
        upload = st.file_uploader("点位清单", type=["csv", "xlsx", "xls"], key="scn_import")
        if upload is not None and st.button("导入到当前方案"):
            try:
                read, _ = read_facilities(upload.getvalue(), upload.name, classes, system="auto",
                                          class_mapping=_shared.ws().class_mapping())
                read, prep = prepare_facilities(read, units, system="auto")
            except CoverageError as err:
                st.error(f"清单无法导入: {_shared.esc(err)}")
            else:
                has_xy = read.geometry.notna() & ~read.geometry.is_empty
                ok = read["facility_class"].notna() & (has_xy | read["address_unit"].notna())
                rows = read[ok]
                new = pd.DataFrame({"name": rows["name"].to_numpy(), "facility_class": rows["facility_class"].to_numpy(),
                                    "lon": [g.x if g is not None and not g.is_empty else None for g in rows.geometry],
                                    "lat": [g.y if g is not None and not g.is_empty else None for g in rows.geometry],
                                    "unit_code": [None if h else u for h, u in zip(has_xy[ok], rows["address_unit"])]})
                skipped = int((~ok).sum())
                store(saved | {current: with_sites(sites, new)}, select=current,
                      message=f"已导入 {len(new)} 个点位(坐标系: {prep['point_system_label']})"
                              + (f"; {skipped} 行因类别无法识别或没有位置未导入。" if skipped else "。"))
        st.markdown(f"**点位列表**(共 {len(sites)} 个; 可直接修改名称、类别、经纬度, 选中行后按删除键可移除)")
        names_by_label = {v: k for k, v in classes.names.items()}
        editable = sites.assign(facility_class=sites["facility_class"].map(classes.names).fillna(sites["facility_class"]))
        edited = st.data_editor(editable[SITE_COLUMNS], key="scn_editor", hide_index=True, width="stretch", num_rows="delete",
                                disabled=["site_id", "unit_code", "status"], column_config={
                                    "site_id": "编号", "name": "名称", "unit_code": "乡镇代码", "status": "状态",
                                    "facility_class": st.column_config.SelectboxColumn("类别", options=list(classes.names.values())),
                                    "lon": st.column_config.NumberColumn("经度", format="%.5f"),
                                    "lat": st.column_config.NumberColumn("纬度", format="%.5f")})
        if st.button("保存点位修改"):
            out = edited.assign(facility_class=edited["facility_class"].map(names_by_label).fillna(edited["facility_class"]))
            old = sites.set_index("site_id")
            def same(x, y) -> bool:
                return (pd.isna(x) and pd.isna(y)) or (not pd.isna(x) and not pd.isna(y) and abs(float(x) - float(y)) < 1e-9)
            moved = [sid in old.index and not (same(old.at[sid, "lon"], lo) and same(old.at[sid, "lat"], la))
                     for sid, lo, la in zip(out["site_id"], out["lon"], out["lat"])]
            out.loc[moved, "unit_code"] = None  # moved on the map: its township is found again from lon/lat
            try:
                make_scenario(current, out, classes)
            except ScenarioError as err:
                st.error(_shared.esc(err))
            else:
                store(saved | {current: out.reset_index(drop=True)}, select=current, message="点位修改已保存。")

with tab_fewest:
    st.markdown("每项未达标的覆盖率指标, 各区县**至少**还需覆盖几个乡镇, 以及按所选依据建议的乡镇(距离为直线距离, 仅作初步参考)。")
    rank_label = st.radio("排序依据", list(RANK_CHOICES), horizontal=True,
                          **_shared.remembered("scn_rank", "老年人口", list(RANK_CHOICES)))
    try:
        proposal = _shared.proposals(RANK_CHOICES[rank_label], plan)
    except CoverageError as err:
        st.error(_shared.esc(err))
        st.stop()
    p = proposal.sites
    st.dataframe(p.rename(columns={"indicator": "指标", "district_name": "区县", "unit_name": "建议乡镇(街道)", "rank": "顺序",
                                   "reason": "理由", "at_least": "本区县至少需"})[
        ["指标", "区县", "顺序", "建议乡镇(街道)", "理由", "本区县至少需"]], hide_index=True, width="stretch", height=360)
    notes = proposal.notes
    counting = notes["note"].str.endswith(NOT_SITED)
    for n in notes[~counting].itertuples():
        st.caption(f"{_shared.esc(n.target_id or '全部')}: {_shared.esc(n.note)}")
    if counting.any():
        st.caption(f"数量、床位类指标{NOT_SITED}: " + "、".join(_shared.esc(t) for t in notes.loc[counting, "target_id"]))
    addressed = list(dict.fromkeys(p["indicator"]))
    which = st.selectbox("转为方案的指标", ["全部指标"] + addressed, key="scn_fewest_target") if EDITOR else None
    if EDITOR and st.button("生成为新方案", disabled=p.empty):
        part = p if which == "全部指标" else p[p["indicator"] == which]
        name = unique_name(f"最少新增点位·{rank_label}" + ("" if which == "全部指标" else f"·{part['target_id'].iloc[0]}"))
        scenario = proposal_to_scenario(part, name=name)
        store(saved | {name: scenario.sites}, select=name, message=f"已生成方案「{name}」: {len(scenario.sites)} 个规划点位。")
