"""总览: one card per indicator of the chosen plan: where it stands, which districts miss it and
by how much, and a way to its details."""
import streamlit as st

from coverage.catalog import CAPACITY_MEASURES, MEASURE_LABELS
from coverage.evaluate import AREA_CODE, NO_DATA_MESSAGE
from coverage.evaluation import MEASURE_UNITS, current_text, target_text
from coverage.hierarchy import coverage_by_level, levels_present
from coverage.summary import area_sentence, district_gaps, district_sentence, no_data_notice
from pages import _shared

plan = _shared.current_plan()
assigned, res = _shared.result(plan)
# data of several cities (provinces): the cards speak of cities (provinces), 指标 drills down to counties
top = levels_present(res.coverage.loc[res.coverage["district_code"] != AREA_CODE, "district_code"])[-1]
view = coverage_by_level(res.coverage, top)
UNIT_WORD = {"县": "区县", "市": "市(州)", "省": "省份"}[top]
area = view[view["district_code"] == AREA_CODE]
by_district = view[view["district_code"] != AREA_CODE]
years = sorted(set(area["target_year"]))
unjudged = area[area["no_data"].astype(bool)]
# no ledger rows of the class (said once, in the notice) vs. a capacity figure without beds / elderly population
missing = unjudged["no_data_reason"].fillna("").ne("") & unjudged["no_data_reason"].ne(NO_DATA_MESSAGE) \
    if "no_data_reason" in unjudged else unjudged["no_data"] & False
no_data, cannot = unjudged[~missing], unjudged[missing]
checked = area[~area["no_data"].astype(bool)]


def open_details(indicator: str) -> None:
    """Card button: open 指标 with this indicator chosen (see _shared.remembered)."""
    st.session_state["indicator_choice"] = indicator
    st.session_state["_keep_indicator_choice"] = indicator


def district_bar(n_met: int, n_all: int) -> None:
    """Share of districts meeting the target: green when all do, orange otherwise (plain HTML, no user text)."""
    share = n_met / n_all if n_all else 0.0
    color = "#2e8b57" if n_met == n_all else "#e8912d"
    st.html(f'<div style="font-size:0.85rem;color:#555;margin:2px 0">达标{UNIT_WORD} {n_met}/{n_all}</div>'
            f'<div style="background:#eee;border-radius:4px;height:8px"><div style="width:{share * 100:.0f}%;'
            f'background:{color};height:8px;border-radius:4px"></div></div>')


def gap_lines(target_id: str) -> str:
    """The districts furthest from the target, as Markdown list lines (user text escaped), or ""."""
    gaps = district_gaps(view, target_id)
    if not len(gaps):
        return ""
    lines = [_shared.esc(district_sentence(r)) for _, r in gaps.head(4).iterrows()]
    more = f"  \n…另有 {len(gaps) - 4} 个{UNIT_WORD}" if len(gaps) > 4 else ""
    return "\n\n" + "\n".join(f"- {line}" for line in lines) + more


_shared.page_header("总览")
st.caption(f"规划: {_shared.esc(plan)} · 目标年份: {'、'.join(map(str, years))} · 指标 {len(area)} 项, "
           f"已达标 {int(checked['met'].fillna(False).astype(bool).sum())} 项"
           + (f", {len(no_data)} 项台账中无此类设施(待确认)" if len(no_data) else "")
           + (f", {len(cannot)} 项数据不足无法计算" if len(cannot) else ""))
if len(no_data):
    st.warning(_shared.esc(no_data_notice(no_data["class_name"], "overview")))
if len(cannot):
    st.info(_shared.esc("数据不足、无法计算(不作达标判断): "
                        + "; ".join(f"{r.indicator}: {r.no_data_reason}" for r in cannot.itertuples())
                        + "。补充后重新计算: 床位数、护理型床位数在设施台账中, 老年人口在「数据」页上传。"))

cols = st.columns(3)
for i, row in enumerate(area.itertuples(index=False)):
    with cols[i % 3].container(border=True):
        if row.no_data:
            badge = ":gray[**待确认**]"
        else:
            badge = ":green[**已达标**]" if row.met else ":red[**未达标**]"
        tag = f" · {_shared.esc(row.binding)}" if row.binding else ""
        # one element per part of the card (a page of 25 cards draws faster with fewer elements)
        st.markdown(f"**{_shared.esc(row.indicator)}**  \n"
                    f":gray[{_shared.esc(row.class_name)} · {_shared.esc(row.level)} · {row.target_year}年{tag}]")
        if row.measure in CAPACITY_MEASURES:
            unit = MEASURE_UNITS[row.measure].replace("%", "")
            st.metric(MEASURE_LABELS[row.measure], f"{current_text(row._asdict())} {unit}".strip())
            st.markdown(f"目标 {target_text(row._asdict())} {unit} · {badge}  \n{_shared.esc(area_sentence(row._asdict()))}")
            sub = by_district[(by_district["target_id"] == row.target_id) & by_district["met"].notna()]
            if not row.no_data and row.measure != "beds" and len(sub):
                district_bar(int(sub["met"].astype(bool).sum()), len(sub))
        elif row.measure == "count":
            st.metric("现有数量", f"{row.units_covered} 个")
            gap = NO_DATA_MESSAGE if row.no_data else ("已达到目标" if row.met else f"还需 {row.units_needed} 个")
            st.markdown(f"目标 {row.target_value:.0f} 个 · {badge} · {gap}")
        else:
            st.metric("覆盖率", _shared.pct(row.rate))
            st.markdown(f"目标 {_shared.pct(row.target_rate)} · {badge}  \n{_shared.esc(area_sentence(row._asdict()))}"
                        + ("" if row.no_data else gap_lines(row.target_id)))
            if not row.no_data:
                sub = by_district[by_district["target_id"] == row.target_id]
                district_bar(int(sub["met"].fillna(False).astype(bool).sum()), len(sub))
        if st.button("查看详情", key=f"details_{row.target_id}", on_click=open_details, args=(row.indicator,)):
            st.switch_page("pages/indicators.py")
