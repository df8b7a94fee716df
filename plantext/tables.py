"""Indicator tables flattened to one cell per line (web pages, Word tables read by
`plantext.read`): find them and read each row as indicator, unit, values by column, 属性.

A table is a run of short lines with a header (序号 / 指标 / 单位 / 2020年 / 2025年目标值 / 属性 ...).
Rows start at the next sequence number when the table has a 序号 column (so a value "1" is not
mistaken for a row), otherwise at the next indicator name after a row that has values. Value
columns are baseline or target by their header words (现状/基期 vs 目标/规划) or, for a bare year,
by whether the year is before the plan period.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from plantext.document import DocumentContext, Line
from plantext.numbers import NUMBER, cell_value
from plantext.rules import PlanTextRules

#: Cells of a flattened table are short lines without a sentence end.
MAX_CELL_CHARS = 40
MIN_TABLE_CELLS = 6
#: A table row written on one line, cells separated by spaces, is at most this long.
MAX_ROW_CHARS = 100
#: A table without a readable header needs at least this many rows ending in 约束性/预期性.
MIN_HEADERLESS_ROWS = 2
LABEL_UNIT = re.compile(r"\(\s*([^()]{1,10})\s*\)?\s*$")


@dataclass(frozen=True)
class Column:
    """A header column: role is seq, label, unit, binding, status, baseline or target."""

    role: str
    header: str
    year: int | None = None
    pattern_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class CellValue:
    """A value cell read under a value column."""

    column: Column
    raw: str
    value: float | None
    unit_kind: str
    comparator: str
    line: Line


@dataclass(frozen=True)
class TableRow:
    """One indicator row: [start, end) spans its cells in the normalised text."""

    start: int
    end: int
    label: str
    label_line: Line
    unit: str
    values: tuple[CellValue, ...]
    binding: str
    status: str
    pattern_ids: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """A table: [start, end) from its header to its last row; the lines it consumed by index."""

    start: int
    end: int
    title: str
    columns: tuple[Column, ...]
    rows: tuple[TableRow, ...]
    line_indexes: frozenset[int] = field(default_factory=frozenset)


def _full(rules: PlanTextRules, kind: str, text: str) -> str:
    """The id of the first pattern of `kind` that matches `text` (search), or ""."""
    for pattern in rules.of(kind):
        if pattern.regex.search(text):
            return pattern.pattern_id
    return ""


def _is_number(text: str) -> bool:
    return bool(re.fullmatch(r"[<>≥≤]?=?\s*\d+(?:\.\d+)?\s*[%‰]?\s*(?:以上|以下)?", text))


def _header_column(text: str, rules: PlanTextRules, context: DocumentContext) -> Column | None:
    """The column a header cell stands for, or None when the cell is not a header."""
    for kind, role in (("table_header_seq", "seq"), ("table_header_label", "label"), ("table_header_unit", "unit"),
                       ("table_header_binding", "binding"), ("table_header_status", "status")):
        pid = _full(rules, kind, text)
        if pid:
            return Column(role, text, None, (pid,))
    if len(text) > 30:
        return None
    year_match = rules.one("table_header_year").regex.match(text)
    period = next((tok for tok in sorted(rules.periods, key=len, reverse=True) if tok in text), "")
    base = _full(rules, "table_header_baseline", text)
    target = _full(rules, "table_header_target", text)
    digits = re.sub(r"(?:19|20)\d\d", "", text)
    if not (year_match or base or target) or re.search(r"\d", digits):
        return None
    year = int(year_match["year"]) if year_match else (rules.periods[period][1] if period else None)
    start = context.period[0] if context.period else None
    if base and not target:
        role = "baseline"
    elif target:
        role = "target"
    else:  # a bare year: before the plan period it is the base year
        role = "baseline" if start is not None and year is not None and year < start else "target"
    pids = tuple(p for p in (base or target, "T-H-YEAR" if year_match else "") if p)
    if year is None:
        year = context.baseline_year if role == "baseline" else context.target_year
    return Column(role, text, year, pids)


def _cell_kind(text: str, rules: PlanTextRules) -> str:
    """binding, status, unit, empty, value, label or heading."""
    if _full(rules, "table_end", text):
        return "heading"
    if _full(rules, "binding", text) and len(text) <= 6:
        return "binding"
    if _full(rules, "table_unit", text):
        return "unit"
    if _full(rules, "table_placeholder", text):
        return "empty"
    if _is_number(text) or _full(rules, "table_value_text", text):
        return "value"
    if _full(rules, "table_status", text):
        return "status"
    if rules.one("table_row_label").regex.search(text):
        return "label"
    return "value" if NUMBER.search(text) else "empty"


def find_tables(lines: list[Line], rules: PlanTextRules, context: DocumentContext) -> list[Table]:
    """Every flattened indicator table among the lines. A line that is a whole table row with its
    cells separated by spaces (as PDF text often is: "1 养老机构护理型床位占比 % 60 约束性") is read
    as one cell per token; `Table.line_indexes` are indexes into `lines`."""
    cells, parents = _cells(lines, rules)
    tables = []
    i = 0
    while i < len(cells):
        if not _is_cell(cells[i]):
            i += 1
            continue
        j = i
        while j < len(cells) and _is_cell(cells[j]):
            j += 1
        if j - i >= MIN_TABLE_CELLS:
            table = _read_table(cells, i, j, rules, context)
            if table is not None:
                tables.append(replace(table, line_indexes=frozenset(parents[k] for k in table.line_indexes)))
        i = j
    return tables


def _cells(lines: list[Line], rules: PlanTextRules) -> tuple[list[Line], list[int]]:
    """The lines, with table rows written on one line split into their cells."""
    cells: list[Line] = []
    parents: list[int] = []
    binding = rules.one("binding").regex
    seq = rules.one("table_row_seq").regex
    for index, line in enumerate(lines):
        tokens = list(re.finditer(r"\S+", line.text))
        row_like = len(tokens) >= 3 and len(line.text) <= MAX_ROW_CHARS and (
            binding.fullmatch(tokens[-1].group(0))
            or (seq.fullmatch(tokens[0].group(0)) and any(NUMBER.fullmatch(t.group(0).rstrip("%‰")) for t in tokens[2:])))
        if not row_like:
            cells.append(line)
            parents.append(index)
            continue
        for token in tokens:
            cells.append(Line(line.start + token.start(), line.start + token.end(), token.group(0)))
            parents.append(index)
    return cells, parents


def _is_cell(line: Line) -> bool:
    return len(line.text) <= MAX_CELL_CHARS and "。" not in line.text


def _read_table(lines: list[Line], first: int, stop: int, rules: PlanTextRules,
                context: DocumentContext) -> Table | None:
    for head in range(first, stop):
        start = _header_column(lines[head].text, rules, context)
        if start is None or start.role not in ("seq", "label"):
            continue
        columns, k = _read_header(lines, head, stop, rules, context)
        if any(c.role in ("baseline", "target") for c in columns):
            return _read_rows(lines, first, head, k, stop, columns, rules)
    return _read_headerless(lines, first, stop, rules, context)


def _read_headerless(lines: list[Line], first: int, stop: int, rules: PlanTextRules,
                     context: DocumentContext) -> Table | None:
    """A table whose header cannot be read (glued or missing) but whose rows end in 约束性/预期性:
    one value column, read as the target of the plan's default year."""
    kinds = [_cell_kind(lines[k].text, rules) for k in range(first, stop)]
    if kinds.count("binding") < MIN_HEADERLESS_ROWS:
        return None
    for k in range(first, stop - 1):
        if lines[k].text in ("1", "01") and kinds[k + 1 - first] == "label":
            break
    else:
        k = next((i for i in range(first, stop - 1) if kinds[i - first] == "label"
                  and kinds[i + 1 - first] in ("value", "unit")), stop)
    if k >= stop:
        return None
    note = ("T-NO-HEADER",)
    columns = [Column("label", "", None, note), Column("unit", "", None, note),
               Column("target", "", context.target_year, note), Column("binding", "", None, note)]
    if lines[k].text in ("1", "01"):
        columns.insert(0, Column("seq", "", None, note))
    return _read_rows(lines, first, k, k, stop, columns, rules)


def _read_header(lines: list[Line], head: int, stop: int, rules: PlanTextRules,
                 context: DocumentContext) -> tuple[list[Column], int]:
    """The header columns from line `head` on, and the index of the first line after them."""
    columns: list[Column] = []
    k = head
    while k < stop:
        column = _header_column(lines[k].text, rules, context)
        if column is None or (column.role == "seq" and columns) or lines[k].text in ("1", "01"):
            break
        if column.role == "label" and any(c.role in ("baseline", "target") for c in columns):
            k += 1  # a header cell split over two lines ("...十三五规划" / "主要指标")
            continue
        columns.append(column)
        k += 1
    return columns, k


def _read_rows(lines: list[Line], first: int, head: int, k: int, stop: int, columns: list[Column],
               rules: PlanTextRules) -> Table | None:
    value_columns = [c for c in columns if c.role in ("baseline", "target")]
    seq_mode = any(c.role == "seq" for c in columns) or (k < stop and lines[k].text in ("1", "01"))
    has_binding = any(c.role == "binding" for c in columns)
    has_status = any(c.role == "status" for c in columns)
    rows: list[list[int]] = []
    last_seq = 0
    end_index = k
    while k < stop:
        text = lines[k].text
        kind = _cell_kind(text, rules)
        if kind == "heading":
            break
        starts = False
        if seq_mode:
            nxt = lines[k + 1].text if k + 1 < stop else ""
            starts = bool(rules.one("table_row_seq").regex.fullmatch(text)) and last_seq < int(text) <= last_seq + 3 \
                and _cell_kind(nxt, rules) == "label"
            if starts:
                last_seq = int(text)
        elif kind == "label":
            starts = not rows or _row_has_value(lines, rows[-1], rules)
        if starts:
            rows.append([k])
        elif rows and not _row_complete(lines, rows[-1], rules, has_binding, has_status, len(value_columns)):
            rows[-1].append(k)
        else:
            break
        end_index = k + 1
        k += 1
    parsed = tuple(r for r in (_parse_row(lines, idx, seq_mode, value_columns, rules) for idx in rows) if r is not None)
    if not parsed:
        return None
    title = " ".join(line.text for line in lines[first:head])
    consumed = frozenset(range(head, end_index))
    return Table(lines[head].start, parsed[-1].end, title, tuple(columns), parsed, consumed)


def _row_has_value(lines: list[Line], row: list[int], rules: PlanTextRules) -> bool:
    return any(_cell_kind(lines[k].text, rules) in ("value", "empty") for k in row[1:])


def _row_complete(lines: list[Line], row: list[int], rules: PlanTextRules, has_binding: bool, has_status: bool,
                  n_values: int) -> bool:
    kinds = [_cell_kind(lines[k].text, rules) for k in row[1:]]
    if has_binding:
        return "binding" in kinds
    if has_status:
        return "status" in kinds
    return kinds.count("value") + kinds.count("empty") >= n_values


def _parse_row(lines: list[Line], idx: list[int], seq_mode: bool, value_columns: list[Column],
               rules: PlanTextRules) -> TableRow | None:
    cells = [lines[k] for k in idx]
    body = cells[1:] if seq_mode else cells
    if not body:
        return None
    label_line = body[0]
    label = label_line.text
    unit = ""
    raw_values: list[Line] = []
    binding = status = ""
    for cell in body[1:]:
        kind = _cell_kind(cell.text, rules)
        if kind == "binding":
            binding = rules.one("binding").regex.search(cell.text).group(0)
        elif kind == "unit" and not raw_values:
            unit = cell.text.strip("()")
        elif kind in ("value", "empty"):
            raw_values.append(cell)
        elif kind == "status" or raw_values:
            status = status or cell.text
        elif kind == "label" and not raw_values:
            label = label + cell.text  # a name split over two lines
    if not unit:
        found = LABEL_UNIT.search(label)
        if found and (found.group(1) in rules.units or found.group(1).startswith(("元", "万", "%"))):
            unit = found.group(1)
    values = []
    for column, cell in zip(value_columns, raw_values):
        if _cell_kind(cell.text, rules) == "empty":
            continue
        number, kind, comparator = cell_value(cell.text, unit, rules)
        values.append(CellValue(column, cell.text, number, kind, comparator, cell))
    if not values:
        return None
    pids = ["T-SEQ-ROW" if seq_mode else "T-LABEL-ROW"]
    pids += [pid for v in values for pid in v.column.pattern_ids]
    if binding:
        pids.append("B-BINDING")
    return TableRow(cells[0].start, cells[-1].end, label, label_line, unit, tuple(values), binding, status,
                    tuple(dict.fromkeys(pids)))
