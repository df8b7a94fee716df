"""The planner's review of the proposals (`plantext.extract.propose_targets`) before they become a plan.

- `review_table`: the proposals as rows of the accept/edit table (target proposals only; each baseline
  attached to the target it belongs to, the others returned apart), with the default choice
  (采用) and why a row is not taken by default.
- `catalogue_rows`: the accepted rows as rows of the plan-target catalogue (`coverage.catalog`),
  with new target ids, the verbatim quote and the source; every row that cannot be saved is named.
- `cards_html`: each proposal's sentence in its context, the quote highlighted and the value in
  bold, with the rules and the class reason (every piece of document text HTML-escaped).
- `default_plan_name`, `document_summary`, `filter_proposals`, `page_count`: small helpers of the page.

No Streamlit here; `pages/targets.py` draws the widgets.
"""
from __future__ import annotations

import hashlib
import html
import math
import re
import unicodedata
from collections.abc import Iterable
from itertools import pairwise

import pandas as pd

from coverage.catalog import (
    AREA_MEASURES, BASELINE_COLUMNS, MEASURE_LABELS, MEASURES, SHARE_MEASURES, TARGET_COLUMNS, UNIT_LEVELS,
    ClassCatalog, targets_from_editing, validate_targets,
)
from coverage.errors import CatalogError
from plantext.rules import PlanTextRules, load_rules

#: Measures whose values are shares 0-1 in the proposals and percent (60) in the editor.
PERCENT_MEASURES: tuple[str, ...] = (*SHARE_MEASURES, "share", "rate")
#: Columns of the accept/edit table and their Chinese headers ("baseline_from" stays hidden).
REVIEW_COLUMNS: dict[str, str] = {
    "accepted": "采用", "number": "序号", "indicator": "指标(按规划原文)", "facility_class": "设施类别",
    "measure": "类型", "unit_level": "统计单元", "target_value": "目标值", "target_year": "目标年份",
    "binding": "属性", "baseline_value": "基期值", "baseline_year": "基期年份", "remark": "提示",
    "quote": "原文摘录", "baseline_from": "基期值出处",
}
#: Unit levels a proposal can carry that the catalogue cannot evaluate (no village layer).
EXTRA_LEVELS: tuple[str, ...] = ("村(社区)",)
KIND_LABELS = {"target": "目标", "baseline": "现状"}
DOCUMENT_KINDS = {"plan": "规划", "annual": "年度工作要点/计划", "review": "评估/总结报告"}
SOURCE_REF = "规划文本"
PASTED = "粘贴文本"
NO_CLASS = "(未识别类别)"
#: An empty choice in the table's select columns (class, unit level, 属性); the grid would show
#: a blank cell as "None".
UNSET = "—"
#: Characters of context shown on each side of a quote.
CONTEXT_CHARS = 60
PAGE_SIZE = 20

_TITLE_WORDS = ("规划", "计划", "要点", "方案", "报告", "纲要")
_QUOTES = str.maketrans("", "", "“”\"'‘’「」")
_BOOK_TITLE = re.compile(r"《([^《》\n]{4,60})》")
_NOT_A_TITLE = re.compile(r"关于|通知|首页|>|:|:|当前位置|印发")
_WORDING = re.compile(r"[\W_]+")


# ---------------------------------------------------------------- document

def text_key(text: str) -> str:
    """A short fingerprint of the text, for widget keys that must change with the document."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def default_plan_name(text: str, existing: Iterable[str] = (), *, lines: int = 60) -> str:
    """The document's title as a plan name: a title line among the first `lines` lines (ending in
    规划/计划/要点/方案/报告/纲要, not a 通知 or a breadcrumb), else the first 《...》 naming such
    a document; quotation marks removed. A name already in `existing` gets "(文本提取)" appended;
    "" when no title is found."""
    found = ""
    for raw in text.splitlines()[:lines]:
        line = unicodedata.normalize("NFKC", raw).strip().translate(_QUOTES)
        line = "".join(line.split())
        if 6 <= len(line) <= 40 and line.endswith(_TITLE_WORDS) and not _NOT_A_TITLE.search(line):
            found = line
            break
        titles = [t.translate(_QUOTES) for t in _BOOK_TITLE.findall(line)]
        titles = [t for t in titles if t.endswith(_TITLE_WORDS)]
        if titles:
            found = titles[0]
            break
    if found and found in set(existing):
        found += "(文本提取)"
    return found


def document_summary(proposals: pd.DataFrame) -> dict:
    """What was recognised: document kind and period (Chinese), how, and the counts of proposals."""
    doc = proposals.attrs.get("document") or {}
    kinds = proposals["kind"] if len(proposals) else pd.Series(dtype=str)
    return {
        "kind": DOCUMENT_KINDS.get(doc.get("kind", ""), doc.get("kind", "") or "未识别"),
        "period": doc.get("period") or "未识别",
        "reason": doc.get("reason", ""),
        "targets": int((kinds == "target").sum()),
        "baselines": int((kinds == "baseline").sum()),
        "with_class": int(((kinds == "target") & (proposals["facility_class"] != "")).sum()) if len(proposals) else 0,
    }


# ---------------------------------------------------------------- accept/edit table

def _missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _wording(text: str) -> str:
    return _WORDING.sub("", unicodedata.normalize("NFKC", str(text)))


def _percent(value, measure: str):
    if _missing(value):
        return float("nan")
    return round(float(value) * 100, 6) if measure in PERCENT_MEASURES else float(value)


def _evaluable(measure: str, level: str) -> str:
    """Why the catalogue cannot take this measure at this level ("" when it can)."""
    if measure not in MEASURES:
        return "类型本工具不评估"
    if measure in AREA_MEASURES:
        return ""
    if level not in UNIT_LEVELS or level == "全市":
        return f"统计单元「{level or '未识别'}」不可评估"
    return ""


def review_table(proposals: pd.DataFrame, classes: ClassCatalog) -> tuple[pd.DataFrame, pd.DataFrame]:
    """
    The accept/edit table and the baselines not attached to any target.

    Parameters
    ----------
    proposals
        `propose_targets` output.
    classes
        The class catalogue (names shown instead of ids).

    Returns
    -------
    rows
        One row per target proposal (the rows checked by default first, then in text order),
        columns `REVIEW_COLUMNS` (internal names): `number` is the
        proposal's 1-based position in `proposals` (as on the highlighted cards); class and measure
        by their Chinese names (`UNSET` for no class, unit level or 属性); coverage, shares and
        rates in percent (60). `accepted` is checked
        for a target with a class, a value and a year that the catalogue can evaluate, except a
        repeat of an earlier accepted row; `remark` says why a row is not checked. A baseline
        proposal fills `baseline_value`/`baseline_year` of the first target without one that has
        the same class, measure and unit level, or the same indicator wording (accepted targets
        first; the baseline's year must be before the target's); `baseline_from` is its number.
    baselines
        The baseline proposals attached to no target: number, indicator, class, measure, value as
        written, year, quote (shown for information, never made into targets).
    """
    frame = proposals.reset_index(drop=True)
    rows = []
    seen: dict[tuple, int] = {}
    for i, p in frame.iterrows():
        if p["kind"] != "target":
            continue
        number = i + 1
        why = []
        if not p["facility_class"]:
            why.append("未识别设施类别")
        if _missing(p["target_value"]):
            why.append("原文未给出数值")
        if _missing(p["target_year"]):
            why.append("缺少目标年份")
        reason = _evaluable(p["measure"], p["unit_level"])
        if reason:
            why.append(reason)
        key = (p["facility_class"], p["measure"], p["unit_level"],
               None if _missing(p["target_value"]) else round(float(p["target_value"]), 9),
               None if _missing(p["target_year"]) else int(p["target_year"]))
        if not why and key in seen:
            why.append(f"与第{seen[key]}条相同")
        accepted = not why
        if accepted:
            seen[key] = number
        rows.append({
            "accepted": accepted, "number": number, "indicator": p["indicator"],
            "facility_class": classes.names.get(p["facility_class"], p["facility_class"]) or UNSET,
            "measure": MEASURE_LABELS.get(p["measure"], p["measure_label"] or p["measure"]),
            "unit_level": p["unit_level"] or UNSET,
            "target_value": _percent(p["target_value"], p["measure"]),
            "target_year": p["target_year"], "binding": p["binding"] or UNSET,
            "baseline_value": _percent(p["baseline_value"], p["measure"]), "baseline_year": p["baseline_year"],
            "remark": "; ".join(why), "quote": p["quote"], "baseline_from": pd.NA,
            "_class": p["facility_class"], "_measure": p["measure"], "_level": p["unit_level"],
            "_wording": _wording(p["indicator"]),
        })
    table = pd.DataFrame(rows, columns=[*REVIEW_COLUMNS, "_class", "_measure", "_level", "_wording"])
    loose = []
    for i, b in frame.iterrows():
        if b["kind"] != "baseline" or _missing(b["baseline_value"]):
            continue
        target = _matching_target(table, b)
        if target is None:
            loose.append({"number": i + 1, "indicator": b["indicator"], "class_name": b["class_name"],
                          "measure": b["measure_label"], "value": b["value_text"], "year": b["baseline_year"],
                          "quote": b["quote"]})
            continue
        table.at[target, "baseline_value"] = _percent(b["baseline_value"], b["measure"])
        table.at[target, "baseline_year"] = b["baseline_year"]
        table.at[target, "baseline_from"] = i + 1
        remark = table.at[target, "remark"]
        table.at[target, "remark"] = "; ".join(filter(None, [remark, f"基期值取自第{i + 1}条"]))
    table = table.drop(columns=["_class", "_measure", "_level", "_wording"]).astype(
        {"accepted": bool, "number": "int64", "target_value": "float64", "target_year": "Int64",
         "baseline_value": "float64", "baseline_year": "Int64", "baseline_from": "Int64"})
    table = table.sort_values(["accepted", "number"], ascending=[False, True], kind="stable").reset_index(drop=True)
    loose = pd.DataFrame(loose, columns=["number", "indicator", "class_name", "measure", "value", "year", "quote"])
    return table, loose.astype({"year": "Int64"})


def _matching_target(table: pd.DataFrame, baseline: pd.Series):
    """Index of the target row the baseline belongs to, or None (see `review_table`)."""
    if table.empty:
        return None
    free = table["baseline_value"].isna()
    year = baseline["baseline_year"]
    if not _missing(year):
        free &= table["target_year"].isna() | (table["target_year"].astype("Float64") > int(year)).fillna(True)
    same_class = (baseline["facility_class"] != "") & (table["_class"] == baseline["facility_class"]) \
        & (table["_measure"] == baseline["measure"]) & (table["_level"] == baseline["unit_level"])
    same_words = (table["_wording"] == _wording(baseline["indicator"])) & (table["_wording"] != "")
    candidates = table[free & (same_class | same_words)]
    if candidates.empty:
        return None
    accepted = candidates[candidates["accepted"]]
    return (accepted if len(accepted) else candidates).index[0]


def measure_options(rules: PlanTextRules | None = None) -> list[str]:
    """Measure labels for the table: the catalogue's (which can be saved) first, then the others
    the proposals can carry (shown so the planner sees what was read; they cannot be saved)."""
    labels = list(MEASURE_LABELS.values())
    others = (rules or load_rules()).measure_labels
    return labels + [v for k, v in others.items() if k not in MEASURE_LABELS and v not in labels]


def class_options(classes: ClassCatalog) -> list[str]:
    """`UNSET`, the class names, then the class groups (for 床位 targets, e.g. 养老服务 = every
    class of the group)."""
    names = list(classes.names.values())
    return [UNSET, *names, *(g for g in dict.fromkeys(classes.table["group"]) if g not in names)]


def level_options() -> list[str]:
    """`UNSET`, the catalogue's unit levels, then those it cannot evaluate (村(社区))."""
    return [UNSET, *UNIT_LEVELS, *(lv for lv in EXTRA_LEVELS if lv not in UNIT_LEVELS)]


def binding_options() -> list[str]:
    return [UNSET, "约束性", "预期性"]


def _choice(value) -> str:
    """A select cell as text: "" for blank or `UNSET`."""
    return "" if _missing(value) or str(value) == UNSET else str(value)


def next_plan_number(used_ids: Iterable[str]) -> int:
    """The first k such that no target id starts with "N{k}-" (the ids of plans made in the app)."""
    used = [str(t) for t in used_ids]
    return next(k for k in range(1, 100_000) if not any(t.startswith(f"N{k}-") for t in used))


def catalogue_rows(edited: pd.DataFrame, proposals: pd.DataFrame, classes: ClassCatalog, *, plan: str,
                   used_ids: Iterable[str], existing_plans: Iterable[str] = (), source_seed: str = PASTED,
                   rules: PlanTextRules | None = None) -> pd.DataFrame:
    """
    The accepted rows of the accept/edit table as catalogue rows (text cells, `TARGET_COLUMNS` +
    `BASELINE_COLUMNS`), ready to join the catalogue and pass `validate_targets`.

    Target ids are N{k}-01, N{k}-02, ... with the first k unused by `used_ids`; `source_quote` is
    the proposal's verbatim quote, `source_ref` "规划文本", `source_seed` the file name (or
    "粘贴文本"). Count and 床位 measures are counted for the whole area (unit level 全市).

    Raises
    ------
    CatalogError
        In Chinese, listing every accepted row that cannot be saved (by its 序号 and wording):
        no class, a measure or unit level the catalogue cannot evaluate, no value or year, or a
        value the catalogue refuses; also when no row is accepted, the plan has no name or the
        name is taken.
    """
    plan = (plan or "").strip()
    if not plan:
        raise CatalogError("请填写新规划名称。")
    if plan in set(existing_plans):
        raise CatalogError(f"已有名为「{plan}」的规划: 请换一个名称, 或在「编辑现有规划」中修改它。")
    accepted = edited[edited["accepted"].fillna(False).astype(bool)]
    if accepted.empty:
        raise CatalogError("没有采用任何指标: 请在「采用」列勾选要保存的指标。")
    by_label = {v: k for k, v in (rules or load_rules()).measure_labels.items()} | {v: k for k, v in MEASURE_LABELS.items()}
    by_name = {v: k for k, v in classes.names.items()}
    groups = set(classes.table["group"])
    k = next_plan_number(used_ids)
    quotes = proposals.reset_index(drop=True)["quote"]
    problems: list[str] = []
    out = []
    for i, r in enumerate(accepted.itertuples(index=False)):
        indicator = "" if _missing(r.indicator) else str(r.indicator).strip()
        where = f"第{r.number}条「{indicator or '无指标名称'}」"
        class_text = _choice(r.facility_class)
        class_id = by_name.get(class_text, class_text)
        measure_text = "" if _missing(r.measure) else str(r.measure)
        measure = by_label.get(measure_text, measure_text)
        level = _choice(r.unit_level)
        own = []
        if not class_id:
            own.append("未选设施类别, 不能保存: 请在「设施类别」列选择类别, 或取消「采用」")
        elif class_id not in classes.names and class_id not in groups:
            own.append(f"设施类别「{class_text}」不在类别表中")
        if measure not in MEASURES:
            own.append(f"类型「{measure_text or '未填'}」本工具无法评估(可评估: {'、'.join(MEASURE_LABELS.values())}), "
                       "请修改类型或取消「采用」")
        if measure in AREA_MEASURES:
            level = "全市"
        elif level not in UNIT_LEVELS:
            own.append(f"统计单元「{level or '未填'}」本工具无法评估(没有村级边界), 请改为乡镇(街道)等或取消「采用」")
        if _missing(r.target_value):
            own.append("缺少目标值")
        if _missing(r.target_year):
            own.append("缺少目标年份")
        row = {
            "target_id": f"N{k}-{i + 1:02d}", "plan": plan, "indicator": indicator,
            "facility_class": class_id, "measure": measure, "unit_level": level,
            "target_value": r.target_value, "target_year": r.target_year,
            "binding": _choice(r.binding),
            "source_seed": source_seed or PASTED, "source_ref": SOURCE_REF,
            "source_quote": quotes.iloc[int(r.number) - 1],
            "note": _note(r, quotes),
            "baseline_value": r.baseline_value,
            "baseline_year": r.baseline_year,
        }
        text_row = targets_from_editing(pd.DataFrame([row]), classes)
        if not own:
            try:
                validate_targets(text_row, classes)
            except CatalogError as err:
                own += [p.split(": ", 1)[-1] for p in err.problems] or [err.message]
        problems += [f"{where}: {p}" for p in own]
        out.append(text_row)
    if problems:
        raise CatalogError("以下采用的指标不能保存, 请修改或取消「采用」后再保存(其他已填内容保留):", problems)
    return pd.concat(out, ignore_index=True)[TARGET_COLUMNS + BASELINE_COLUMNS]


def _note(row, quotes: pd.Series) -> str:
    note = "从规划文本提取, 经规划人员确认"
    source = getattr(row, "baseline_from", pd.NA)
    if not _missing(source) and not _missing(row.baseline_value):
        note += f"; 基期值出自原文「{quotes.iloc[int(source) - 1]}」"
    return note


# ---------------------------------------------------------------- highlighted cards

def filter_proposals(proposals: pd.DataFrame, kind: str | None = None, class_name: str | None = None) -> pd.DataFrame:
    """Proposals of one kind ("target"/"baseline", None for all) and one class name (`NO_CLASS`
    for those without a class, None for all), keeping the index (position = number - 1)."""
    frame = proposals.reset_index(drop=True)
    keep = pd.Series(True, index=frame.index)
    if kind:
        keep &= frame["kind"] == kind
    if class_name == NO_CLASS:
        keep &= frame["facility_class"] == ""
    elif class_name:
        keep &= frame["class_name"] == class_name
    return frame[keep]


def page_count(n: int, size: int = PAGE_SIZE) -> int:
    return max(1, math.ceil(n / size))


def highlight_segments(text: str, start: int, end: int, value_start: int, value_end: int,
                       width: int = CONTEXT_CHARS) -> list[tuple[str, str]]:
    """The quote text[start:end] with up to `width` characters either side, as (piece, role)
    pieces in order: role "before"/"after" (context), "quote", "value" (the value, inside or next
    to the quote) and "more" (an ellipsis where the context was cut)."""
    lo, hi = max(0, start - width), min(len(text), end + width)
    cuts = sorted({lo, start, end, hi, *(p for p in (value_start, value_end) if lo <= p <= hi)})
    out: list[tuple[str, str]] = [("…", "more")] if lo > 0 else []
    for a, b in pairwise(cuts):
        if a >= b:
            continue
        if value_start <= a and b <= value_end and value_end > value_start:
            role = "value"
        elif start <= a and b <= end:
            role = "quote"
        else:
            role = "before" if b <= start else "after"
        out.append((text[a:b], role))
    if hi < len(text):
        out.append(("…", "more"))
    return out


CARD_STYLE = """<style>
.mz-cards{font-size:0.95rem;line-height:1.7}
.mz-card{border:1px solid rgba(49,51,63,.2);border-radius:.5rem;padding:.6rem .9rem;margin:0 0 .7rem 0}
.mz-head{font-weight:600;margin-bottom:.2rem}
.mz-no{color:#555;margin-right:.4rem}
.mz-kind{display:inline-block;border-radius:.3rem;padding:0 .4rem;margin-right:.4rem;font-size:.8rem;font-weight:600}
.mz-kind.target{background:#e3f1e6;color:#1b5e20}.mz-kind.baseline{background:#e8eaf6;color:#283593}
.mz-facts{color:#444;font-size:.85rem;margin-bottom:.3rem}
.mz-text{background:#fafafa;border-left:3px solid #bbb;padding:.3rem .6rem;margin:.2rem 0}
.mz-text mark{background:#fff3a3;padding:0 .1rem}
.mz-text b{color:#b71c1c}
.mz-text .nl{color:#aaa;margin:0 .25rem}
.mz-text .more{color:#999}
.mz-why{color:#555;font-size:.85rem}
</style>"""


_LINE_BREAKS = re.compile(r"[ \t\u3000]*\n[\s]*")


def _text_html(piece: str) -> str:
    """Escaped document text; line breaks (with blank lines: table cell boundaries in flattened
    tables) as one light separator."""
    return '<span class="nl">│</span>'.join(html.escape(line) for line in _LINE_BREAKS.split(piece))


def _fmt(value, measure: str) -> str:
    if _missing(value):
        return ""
    if measure in PERCENT_MEASURES:
        return f"{float(value) * 100:.6g}%"
    return f"{float(value):,.6g}"


def card_html(text: str, proposal: pd.Series, number: int, width: int = CONTEXT_CHARS) -> str:
    """One proposal as an HTML card: kind, number and wording; what was read (class, measure, unit
    level, value, year, 约束性/预期性); the quote highlighted in its context with the value in
    bold; why (the rules' explanations and the class reason). Every text piece is escaped."""
    e = html.escape
    p = proposal
    kind = p["kind"] if p["kind"] in KIND_LABELS else "target"
    segments = highlight_segments(text, int(p["start"]), int(p["end"]), int(p["value_start"]), int(p["value_end"]), width)
    inside = _inside(p)
    body = []
    in_mark = False
    for piece, role in segments:
        want_mark = role == "quote" or (role == "value" and inside)
        if want_mark != in_mark:
            body.append("<mark>" if want_mark else "</mark>")
            in_mark = want_mark
        if role == "value":
            body.append(f"<b>{_text_html(piece)}</b>")
        elif role == "more":
            body.append(f'<span class="more">{e(piece)}</span>')
        else:
            body.append(_text_html(piece))
    if in_mark:
        body.append("</mark>")
    if kind == "target":
        value = _fmt(p["target_value"], p["measure"])
        year = "" if _missing(p["target_year"]) else f"{int(p['target_year'])}年"
        facts_value = f"目标值 {value}" if value else "未给出目标值"
    else:
        value = _fmt(p["baseline_value"], p["measure"])
        year = "" if _missing(p["baseline_year"]) else f"{int(p['baseline_year'])}年"
        facts_value = f"现状值 {value}" if value else "未给出现状值"
    facts = [f"设施类别: {p['class_name'] or NO_CLASS}", f"类型: {p['measure_label']}",
             f"统计单元: {p['unit_level'] or '未识别'}", facts_value, year, p["binding"]]
    why = [f"为何提取: {p['explanation'] or '—'}", f"为何此类别: {p['class_reason'] or '未找到类别表中的别名或词语'}"]
    return (f'<div class="mz-card"><div class="mz-head"><span class="mz-no">#{number}</span>'
            f'<span class="mz-kind {kind}">{KIND_LABELS[kind]}</span>{e(str(p["indicator"]))}</div>'
            f'<div class="mz-facts">{e(" · ".join(str(f) for f in facts if f))}</div>'
            f'<div class="mz-text">{"".join(body)}</div>'
            f'<div class="mz-why">{"<br>".join(e(w) for w in why)}</div></div>')


def _inside(p: pd.Series) -> bool:
    return int(p["start"]) <= int(p["value_start"]) and int(p["value_end"]) <= int(p["end"])


def cards_html(text: str, proposals: pd.DataFrame, width: int = CONTEXT_CHARS) -> str:
    """Cards of the given proposals (index = position in the full proposal table, so #number is
    index + 1), with their style, as one HTML string for `st.html`."""
    cards = [card_html(text, p, int(i) + 1, width) for i, p in proposals.iterrows()]
    return CARD_STYLE + '<div class="mz-cards">' + "".join(cards) + "</div>"
