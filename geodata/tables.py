"""Facility ledgers as tables: CSV (UTF-8, GBK/GB18030, UTF-16) and Excel (XLSX/XLS) with their
header row found below any title rows; several Excel sheets with a header are combined (column
`sheet` says where each row came from).

`read_table` fills the reader's report (encoding, sheets, notes) it is given.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from coverage.errors import InputFileError
from geodata.fields import FACILITY_FIELDS, detect_fields


def read_table(raw: bytes, filename: str, report, sheet: str | None,
                 field_map: dict[str, str] | None = None) -> pd.DataFrame:
    """The ledger as one table with its header found; Excel sheets with a header are combined."""
    suffix = Path(filename).suffix.lower()
    if not raw:
        raise InputFileError(f"{filename} 是空文件。")
    if suffix in (".xlsx", ".xlsm", ".xls"):
        engine = "xlrd" if suffix == ".xls" else "openpyxl"
        try:
            book = pd.read_excel(io.BytesIO(raw), dtype=str, header=None, sheet_name=None, engine=engine)
        except Exception as err:  # openpyxl/xlrd raise many kinds on corrupt files
            raise InputFileError(f"无法读取 Excel 文件 {filename}(文件损坏、加密或格式不符): {type(err).__name__}") from err
        report.encoding = suffix[1:]
        if sheet is not None:
            if sheet not in book:
                raise InputFileError(f"Excel 中没有名为 {sheet!r} 的工作表, 现有: {', '.join(book)}")
            book = {sheet: book[sheet]}
        tables = {name: _find_header(t, field_map) for name, t in book.items() if len(t)}
        usable = {n: t for n, t in tables.items()
                  if {"name", "facility_class"} <= set(detect_fields(t.columns, FACILITY_FIELDS, field_map))}
        report.sheets = list(book)
        if not usable:
            first = next(iter(tables.values()), pd.DataFrame())
            return first
        if len(usable) > 1:
            report.notes.append(f"已合并 {len(usable)} 个工作表: {', '.join(usable)}")
        if len(usable) == 1:
            return next(iter(usable.values()))
        canonical = []
        for name, t in usable.items():  # sheets may name their columns differently
            found = detect_fields(t.columns, FACILITY_FIELDS, field_map)
            canonical.append(t.rename(columns={col: field for field, col in found.items()}).assign(sheet=name))
        return pd.concat(canonical, ignore_index=True)
    if suffix in (".csv", ".txt"):
        encodings = ("utf-16",) if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else ("utf-8-sig", "gb18030")
        for encoding in encodings:
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError:
                continue
            report.encoding = {"utf-8-sig": "UTF-8", "gb18030": "GBK/GB18030", "utf-16": "UTF-16(Excel Unicode 文本)"}[encoding]
            return _find_header(_csv_table(text, filename), field_map)
        raise InputFileError(f"无法识别 {filename} 的文字编码(既不是 UTF-8 也不是 GBK), 请另存为 UTF-8 CSV 或 xlsx。")
    raise InputFileError(f"不支持的设施表格式 {suffix or '(无扩展名)'}, 请上传 CSV 或 Excel(.xlsx/.xls)文件。")


def _csv_table(text: str, filename: str) -> pd.DataFrame:
    """All cells of a CSV (comma or tab separated) as strings, ragged rows padded: a title row
    such as "XX市养老机构台账" above the header has fewer fields than the rows below it."""
    head = text[:20000].splitlines()[:20]
    sep = "\t" if sum(line.count("\t") for line in head) > sum(line.count(",") for line in head) else ","
    try:
        rows = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=sep) if any(c.strip() for c in r)]
    except csv.Error as err:
        raise InputFileError(f"CSV 文件 {filename} 格式有误(引号不配对或含有非文本内容): {err}") from err
    if not rows:
        raise InputFileError(f"{filename} 中没有数据。")
    width = max(map(len, rows))
    return pd.DataFrame([r + [""] * (width - len(r)) for r in rows], dtype=str)


def _find_header(table: pd.DataFrame, field_map: dict[str, str] | None = None) -> pd.DataFrame:
    """Use the first of the top 10 rows that names the required columns as the header
    (ledgers often carry a title row above the header)."""
    for i in range(min(10, len(table))):
        names = table.iloc[i].fillna("").astype(str).str.strip().tolist()
        found = detect_fields(names, FACILITY_FIELDS, field_map)
        if {"name", "facility_class"} <= set(found):
            body = table.iloc[i + 1:].reset_index(drop=True)
            body.columns = _unique(names)
            return body.dropna(how="all")
    if not len(table):
        return table
    # No recognised header: take the first of the top rows that is as wide as the table's widest
    # and holds no numbers (a header, not a title or a data row), so the field-mapping form
    # offers the real column names.
    top = table.iloc[:10].fillna("").astype(str).apply(lambda col: col.str.strip())
    filled = top.ne("").sum(axis=1)
    numeric = top.apply(lambda col: pd.to_numeric(col, errors="coerce").notna()).sum(axis=1)
    candidates = top.index[(filled == filled.max()) & (numeric == 0)]
    i = top.index.get_loc(candidates[0]) if len(candidates) else 0
    body = table.iloc[i + 1:].reset_index(drop=True)
    body.columns = _unique(top.iloc[i].tolist())
    return body.dropna(how="all")


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        n = n or "列"
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}_{seen[n]}")
    return out


