"""报告导出: the meeting pack (Word, slides, PDF, Excel ledger, thematic maps) for the chosen plan.

The generated files are kept with the key of everything they were made from (data, plan, settings,
target table, choices on this page, date); when any of it changes the page says the files are out
of date and offers them no more until they are generated again.
"""
from datetime import date

import pandas as pd
import streamlit as st

from coverage.errors import CoverageError
from coverage.proposals import RANKS
from coverage.scenarios import ScenarioError, apply_scenario, make_scenario, state_from_result
from coverage.quality import quality_summary
from geodata.topology import topology_summary
from pages import _shared
from reporting.excel import safe_filename
from reporting.meeting_pack import FORMATS, ZIP_NAME, build_pack, indicator_maps, pack_data, pack_file_name
from reporting.thematic import figure_bytes

STALE = "以下文件是按之前的设置生成的, 已过期, 请重新生成。"

_shared.page_header("报告导出")
plan = _shared.current_plan()
targets = _shared.plan_targets()
units, facilities, unit_report, fac_report = _shared.dataset()
assigned, result = _shared.result()
cfg = _shared.config()
st.caption(f"规划: {_shared.esc(plan)}(在左侧栏切换) · 计入状态: {_shared.esc('、'.join(cfg.counted_statuses))}")

labels = dict(zip(targets["target_id"], targets["indicator"]))
districts = units.drop_duplicates("district_code").sort_values("district_code")
district_names = dict(zip(districts["district_code"], districts["district_name"]))
c1, c2 = st.columns(2)
chosen = c1.multiselect("指标", list(labels), default=list(labels), format_func=lambda t: f"{t} {labels[t]}")
chosen_districts = c2.multiselect("区县(留空为全部)", list(district_names), format_func=district_names.get, placeholder="全部区县",
                                  help="只影响分区表、未覆盖名单、台账和地图范围; 全市指标表始终为全市数字。")
c3, c4, c5 = st.columns([2, 2, 1])
formats = c3.multiselect("格式", list(FORMATS), default=["docx", "pptx", "pdf", "xlsx", "png"], format_func=FORMATS.get)
book = c4.selectbox("分区图册的指标", chosen or list(labels), format_func=lambda t: f"{t} {labels[t]}")
baseline_year = c5.number_input("评估基期", min_value=2000, max_value=2100, value=2020, step=1,
                                help="规划未载明基期值时, 按设施「建成年份」推算该年年底的现状")
org = st.text_input("编制单位(印在封面和首张幻灯片)", max_chars=60, placeholder="如: 十堰市民政局",
                    **_shared.remembered("pack_org", ""))
try:
    scenarios = _shared.ws().load_scenarios()
except ScenarioError as err:
    st.warning(f"规划方案文件无法读取, 报告不含方案对比: {_shared.esc(err)}")
    scenarios = {}
c6, c7 = st.columns(2)
rank_label = c6.selectbox("建议选址的排序依据", ["不含建议选址"] + list(RANKS.values()), index=1,
                          help="报告增加「建议选址」一节和每项指标一张幻灯片: 各区县达标至少需新增覆盖的乡镇(街道)及建议顺序")
rank = {v: k for k, v in RANKS.items()}.get(rank_label)
scenario_name = c7.selectbox("附规划方案实施前后对比", ["不附方案"] + list(scenarios),
                             help="在「规划方案」页建立的方案; 报告增加方案实施前后的指标对比表")
scenario_name = scenario_name if scenario_name in scenarios else ""


def _pack_inputs(extras: bool = True):
    """PackData for the page's choices; `extras` False leaves out 建议选址 and the scenario (map preview)."""
    quality = quality_summary(assigned, unit_report, fac_report, fac_report.get("prepare", {}),
                              topology_summary(_shared.topology()), config=cfg, excluded_units=result.excluded_units)
    source = f"{unit_report.get('filename', '')}; {fac_report.get('filename', '')}"
    scenario = None
    if scenario_name and extras:
        state = state_from_result(units, targets, _shared.class_catalog(), result, config=cfg)
        outcome = apply_scenario(state, make_scenario(scenario_name, scenarios[scenario_name], _shared.class_catalog()), units)
        scenario = (scenario_name, outcome.comparison)
    return pack_data(units, facilities, targets, _shared.class_catalog(), cfg, plan=plan, quality=quality,
                     source=("演示数据 " if _shared.is_demo() else "") + source, demo=_shared.is_demo(),
                     baseline_year=int(baseline_year), assigned=assigned, result=result, org=org, rank=rank if extras else None,
                     scenario=scenario)


def _targets_digest(frame: pd.DataFrame) -> str:
    """A digest of the plan's target rows (edited targets change it)."""
    return str(int(pd.util.hash_pandas_object(frame.astype(str), index=False).sum()))


# Everything the files depend on: when any of it differs from the key stored with the files, they are stale.
scenario_digest = _targets_digest(scenarios[scenario_name]) if scenario_name else ""
run_key = (_shared._dataset_key(), plan, cfg, _targets_digest(targets), tuple(chosen), tuple(chosen_districts),
           tuple(formats), book, int(baseline_year), org.strip(), date.today().isoformat(), rank, scenario_name, scenario_digest)


@st.cache_data(show_spinner="正在绘制预览…", max_entries=8)
def preview_png(key: tuple, target_id: str, district_codes: tuple) -> bytes:
    data = _pack_inputs(extras=False)
    fig = indicator_maps(data, [target_id], districts=list(district_codes) or None)[target_id]
    return figure_bytes(fig, "png", dpi=90)


if chosen:
    st.subheader("预览: " + _shared.esc(labels[chosen[0]]))
    key = (_shared._dataset_key(), plan, cfg, _targets_digest(targets))
    st.image(preview_png(key, chosen[0], tuple(chosen_districts)), width="stretch")

if st.button("生成会议材料", type="primary", disabled=not (chosen and formats)):
    bar = st.progress(0.0, text="准备数据…")
    try:
        data = _pack_inputs()
        files = build_pack(data, formats, target_ids=chosen, districts=chosen_districts or None, book_target=book,
                           progress=lambda share, message: bar.progress(share, text=_shared.esc(message)))
    except CoverageError as err:
        st.error(f"生成失败: {_shared.esc(err)}")
    else:
        st.session_state["pack"] = {"key": run_key, "files": files, "zip_name": pack_file_name(data, "会议材料", "zip")}
        bar.progress(1.0, text=f"已生成 {len(files) - 1} 个文件")

pack = st.session_state.get("pack")
if pack and pack["key"] != run_key:
    st.warning(STALE, icon="⚠️")
    st.caption("改动了规划、数据、设置、指标表或本页的选择后, 之前生成的文件不再提供下载。")
elif pack:
    files = pack["files"]
    st.subheader("下载")
    st.download_button("全部下载 (zip)", files[ZIP_NAME], file_name=safe_filename(pack["zip_name"], "会议材料.zip"),
                       type="primary", key="dl_zip")
    for name, content in files.items():
        if name == ZIP_NAME:
            continue
        st.download_button(f"{_shared.esc(name)} ({len(content) / 1024:,.0f} KB)", content,
                           file_name=safe_filename(name.replace("/", "_"), "会议材料"), key=f"dl_{name}")
