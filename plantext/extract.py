"""Propose checkable targets (and baselines) from the text of a plan.

`propose_targets(text, classes)` returns one row per indicator value found: rows of the indicator
tables (`plantext.tables`) and values in sentences (`plantext.sentences`). Every row quotes the
input verbatim (`quote == text[start:end]`), names the rules that fired (`rule`, explained in
Chinese in `explanation`) and how the facility class was chosen (`class_reason`), so a planner can
check each proposal against the highlighted text before it becomes a target.
"""
from __future__ import annotations

import pandas as pd

from coverage.catalog import ClassCatalog, load_classes
from plantext.classes import ClassMatcher, choose_class, level_for
from plantext.document import (
    DocumentContext, document_context, find_headings, normalise, section_states, split_lines, split_spans,
)
from plantext.proposal import PROPOSAL_COLUMN_LABELS, PROPOSAL_COLUMNS, Proposal, proposals_frame
from plantext.rules import PlanTextRules, load_rules
from plantext.sentences import from_sentence, level_in, nearest_measure
from plantext.tables import TableRow, find_tables

__all__ = ["PROPOSAL_COLUMNS", "PROPOSAL_COLUMN_LABELS", "propose_targets"]


def propose_targets(text: str, classes: ClassCatalog | None = None, *, rules: PlanTextRules | None = None) -> pd.DataFrame:
    """
    Propose targets and baselines found in the text of a plan.

    Parameters
    ----------
    text
        The plan as text (see `plantext.read.read_plan_text`); indicator tables may be flattened
        to one cell per line.
    classes
        The facility-class catalogue (default `coverage.catalog.load_classes()`); its aliases name
        the class of each proposal.
    rules
        The extraction rules (default `plantext.rules.load_rules()`).

    Returns
    -------
    proposals
        One row per value, in text order, columns `PROPOSAL_COLUMNS`: `target_value` and
        `baseline_value` are numbers (coverage, shares and rates as 0-1, e.g. 0.6 for 60%; counts,
        beds and beds per 1,000 elderly as written, 2.8万 -> 28000); `kind` is "target" or
        "baseline" (a baseline row may still carry the old target it was measured against, e.g.
        the 十三五 table in a 十四五 plan); `quote == text[start:end]`; `facility_class` is a
        class id, a class group for 床位 measures, or "" when no class fits.
    """
    rules = rules or load_rules()
    classes = classes or load_classes()
    matcher = ClassMatcher(classes, rules)
    norm = normalise(text)
    lines = split_lines(norm.text)
    context = document_context(lines, rules)
    tables = find_tables(lines, rules, context)
    consumed = frozenset().union(*(t.line_indexes for t in tables)) if tables else frozenset()
    headings = find_headings(lines, rules)
    states = section_states(lines, headings)
    proposals: list[Proposal] = []
    for table in tables:
        proposals += [_from_row(row, context, rules, matcher) for row in table.rows]
    for i, line in enumerate(lines):
        if i in consumed or i in headings:
            continue
        for sentence in split_spans(line):
            proposals += from_sentence(sentence, states[i], context, rules, matcher)
    return proposals_frame(proposals, norm, context, rules, matcher)


# ---------------------------------------------------------------- table rows

def _from_row(row: TableRow, context: DocumentContext, rules: PlanTextRules,
              matcher: ClassMatcher) -> Proposal:
    label = row.label
    measure, measure_pid = _measure_of_label(label, row, rules)
    hits = matcher.find(label, 0)
    class_id, reason, class_pid = choose_class(hits, measure, matcher, "表格指标名称")
    level, level_pid = level_in(label, rules)
    level = level_for(measure, level, class_id, matcher)
    target = next((v for v in row.values if v.column.role == "target"), None)
    base = next((v for v in row.values if v.column.role == "baseline"), None)
    start = context.period[0] if context.period else None
    past = target is not None and start is not None and target.column.year is not None and target.column.year < start
    kind = "target" if target is not None and not past else "baseline"
    shown = target or base
    pids = list(row.pattern_ids) + [p for p in (measure_pid, class_pid, level_pid) if p]
    if past:
        pids.append("P-PERIOD")
    return Proposal(
        indicator=label, facility_class=class_id, class_reason=reason, measure=measure, unit_level=level,
        target_value=target.value if target else None, comparator=(target.comparator if target else ""),
        target_year=target.column.year if target else None, binding=row.binding, kind=kind,
        baseline_value=base.value if base else None, baseline_year=base.column.year if base else None,
        value_text=shown.raw if shown else "", unit=row.unit, span=(row.start, row.end),
        value_span=(shown.line.start, shown.line.end) if shown else (row.start, row.start),
        rules=pids, source="table")


def _measure_of_label(label: str, row: TableRow, rules: PlanTextRules) -> tuple[str, str]:
    """Measure of a table row from its name and unit."""
    pid, measure = nearest_measure(label, rules)
    unit_kind = next((v.unit_kind for v in row.values if v.unit_kind), "")
    if measure == "growth":
        measure, pid = "rate", ""
    if measure:
        return measure, pid
    if unit_kind == "bed":
        return "beds", ""
    if unit_kind in ("percent", "permille"):
        return "share", ""
    if unit_kind == "money":
        return "money", ""
    if unit_kind == "person" or row.unit.endswith("人"):
        return "persons", ""
    if unit_kind == "area" or "面积" in label:
        return "area_per_100_households" if "每百户" in label else "other", ""
    if label.endswith(("数", "个数", "数量", "总数")) or unit_kind == "facility":
        return "count", ""
    return "other", ""
