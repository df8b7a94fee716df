"""总览: one card per indicator of the chosen plan: where it stands, which districts miss it and
by how much, and a way to its details."""
import html

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


#: Verdict of a card: text and colour.
VERDICTS = {"no_data": ("待确认", "#808495"), "met": ("已达标", "#21a366"), "missed": ("未达标", "#d93a3a")}


def district_bar(n_met: int, n_all: int) -> str:
    """Share of districts meeting the target: green when all do, orange otherwise (no user text)."""
    share = n_met / n_all if n_all else 0.0
    color = "#2e8b57" if n_met == n_all else "#e8912d"
    return (f'<div style="font-size:0.85rem;color:#555;margin:6px 0 2px">达标{UNIT_WORD} {n_met}/{n_all}</div>'
            f'<div style="background:#eee;border-radius:4px;height:8px"><div style="width:{share * 100:.0f}%;'
            f'background:{color};height:8px;border-radius:4px"></div></div>')


def gap_items(target_id: str) -> str:
    """The districts furthest from the target, as an HTML list (user text escaped), or ""."""
    gaps = district_gaps(view, target_id)
    if not len(gaps):
        return ""
    items = "".join(f"<li>{html.escape(district_sentence(r))}</li>" for _, r in gaps.head(4).iterrows())
    more = f'<div style="margin-left:1.2em">…另有 {len(gaps) - 4} 个{UNIT_WORD}</div>' if len(gaps) > 4 else ""
    return f'<ul style="margin:6px 0 0;padding-left:1.2em">{items}</ul>{more}'


def card_html(row) -> str:
    """One indicator's card as one HTML block (a page of 25 cards draws much faster as 25 blocks
    than as 150 elements): name, class, level and year; the figure; the target and verdict; the
    whole-area sentence; the districts furthest from it; the share of districts meeting it.
    Every user text (indicator, class, district names, plan wording) is HTML-escaped."""
    esc = html.escape
    verdict, color = VERDICTS["no_data" if row.no_data else "met" if row.met else "missed"]
    badge = f'<b style="color:{color}">{verdict}</b>'
    tag = f" · {esc(str(row.binding))}" if row.binding else ""
    sub = by_district[by_district["target_id"] == row.target_id]
    if row.measure in CAPACITY_MEASURES:
        unit = MEASURE_UNITS[row.measure].replace("%", "")
        label, figure = MEASURE_LABELS[row.measure], f"{current_text(row._asdict())} {unit}".strip()
        body = f"目标 {esc(target_text(row._asdict()))} {unit} · {badge}<br>{esc(area_sentence(row._asdict()))}"
        sub = sub[sub["met"].notna()]
        bar = district_bar(int(sub["met"].astype(bool).sum()), len(sub)) \
            if not row.no_data and row.measure != "beds" and len(sub) else ""
    elif row.measure == "count":
        label, figure = "现有数量", f"{row.units_covered} 个"
        gap = NO_DATA_MESSAGE if row.no_data else ("已达到目标" if row.met else f"还需 {row.units_needed} 个")
        body, bar = f"目标 {row.target_value:.0f} 个 · {badge} · {gap}", ""
    else:
        label, figure = "覆盖率", _shared.pct(row.rate)
        body = f"目标 {_shared.pct(row.target_rate)} · {badge}<br>{esc(area_sentence(row._asdict()))}"
        if not row.no_data:
            body += gap_items(row.target_id)
        bar = "" if row.no_data else district_bar(int(sub["met"].fillna(False).astype(bool).sum()), len(sub))
    return (f'<div class="mz-card" style="line-height:1.6">'
            f'<div style="font-weight:600">{esc(str(row.indicator))}</div>'
            f'<div style="color:#808495;font-size:0.9rem">{esc(str(row.class_name))} · {esc(str(row.level))} · '
            f'{row.target_year}年{tag}</div>'
            f'<div class="mz-metric-label" style="font-size:0.875rem;margin-top:10px">{label}</div>'
            f'<div class="mz-metric-value" style="font-size:2.25rem;line-height:1.3">{esc(figure)}</div>'
            f'<div style="margin-top:6px">{body}</div>{bar}</div>')


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
        st.html(card_html(row))
        if st.button("查看详情", key=f"details_{row.target_id}", on_click=open_details, args=(row.indicator,)):
            st.switch_page("pages/indicators.py")
