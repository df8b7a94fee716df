"""Excel downloads and download names.

Sheets planners can use as they are: numbers stored as numbers (shares with a % number format,
never "0.5454545" in General, never digits as text), an optional title row above the header
(area, what, plan, date), the header frozen, columns sized to their text; cells from user text
never run as formulas. File and zip-entry names are made safe from user text (`safe_filename`,
`download_name`); text is stripped of characters XML documents cannot hold (`plain_text`).
"""
from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import date

import numpy as np
import pandas as pd
from openpyxl.utils import get_column_letter

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

#: Characters Windows forbids in file names, plus both path separators.
_FORBIDDEN_CHARS = frozenset('<>:"/\\|?*')
#: Device names Windows reserves, with or without an extension (CON, CON.txt ...).
_WINDOWS_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"] + [f"{p}{i}" for p in ("COM", "LPT") for i in "0123456789¹²³"])
#: Longest name `safe_filename` returns, in UTF-8 bytes (file systems allow 255; a suffix is often added).
MAX_NAME_BYTES = 120
# Characters not allowed in XML 1.0 (C0 controls except tab/newline/return, surrogates, U+FFFE/U+FFFF).
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def safe_filename(text: object, fallback: str = "未命名", *, max_chars: int = 80, max_bytes: int = MAX_NAME_BYTES) -> str:
    """`text` as one safe file name and zip-entry name (one path part, never a path).

    Path separators, the characters Windows forbids (``<>:"|?*``), control and format characters
    become "_"; runs of dots collapse to one (so ".." never appears); dots, spaces and "_" are
    removed from both ends; a Windows device name (CON, NUL, COM1 ...) gets a "_"
    prefix; the result is cut to `max_chars` characters and `max_bytes` UTF-8 bytes (at a character
    boundary). Chinese and other letters are kept. An empty result gives `fallback` (made safe the
    same way, or "file").

    >>> safe_filename("../../etc/x:<>|?*")
    'etc_x'
    """
    text = unicodedata.normalize("NFC", "" if text is None else str(text))
    out = []
    for ch in text:
        category = unicodedata.category(ch)
        if ch in _FORBIDDEN_CHARS or category in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            out.append("_")
        elif category.startswith("Z"):  # any space (incl. U+3000) becomes a plain space
            out.append(" ")
        else:
            out.append(ch)
    name = "".join(out)
    name = re.sub(r"\.{2,}", ".", name)
    name = re.sub(r" {2,}", " ", name)
    name = re.sub(r"_{2,}", "_", name)
    name = name.strip(" ._")
    name = _cut(name, max_chars, max_bytes).rstrip(" ._")
    if name.split(".")[0].strip().upper() in _WINDOWS_RESERVED:
        name = _cut("_" + name, max_chars, max_bytes)
    if not name:  # the fallback "file" is safe as it is, so this ends
        return "file" if fallback == "file" else safe_filename(fallback, "file", max_chars=max_chars, max_bytes=max_bytes)
    return name


def _cut(text: str, max_chars: int, max_bytes: int) -> str:
    text = text[:max_chars]
    while len(text.encode("utf-8")) > max_bytes:
        text = text[:-1]
    return text


def plain_text(value: object) -> str:
    """`value` as text a .docx/.pptx/.xlsx can hold: characters XML 1.0 forbids (NUL, most control
    characters, lone surrogates) are removed; everything else, markup-looking text included, is kept
    as it is (those formats store plain text, nothing is interpreted)."""
    return _XML_ILLEGAL.sub("", "" if value is None else str(value))


def _safe(value):
    """Text that Excel would run as a formula is written as text (leading apostrophe)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _safe(value):
    """Text that Excel would run as a formula is written as text (leading apostrophe)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


#: Number formats used in the sheets.
PERCENT_FORMAT = "0.0%"
INTEGER_FORMAT = "0"
TITLE_FONT_PT = 13
HEADER_FILL = "DDEBF7"


def download_name(area: object, what: object, indicator: object = None, day: date | str | None = None,
                  ext: str = "xlsx") -> str:
    """A download file name from its parts, each made safe: area_what[_indicator]_YYYYMMDD.ext.

    >>> download_name("十堰市", "未覆盖乡镇清单", "SY-01", date(2026, 11, 25))
    '十堰市_未覆盖乡镇清单_SY-01_20261125.xlsx'
    """
    if day is None:
        day = date.today()
    if isinstance(day, date):
        day_text = day.strftime("%Y%m%d")
    else:
        digits = re.sub(r"\D", "", str(day))
        day_text = digits if len(digits) == 8 else str(day)
    parts = [safe_filename(area, "", max_chars=40) if area else "", safe_filename(what, "", max_chars=40),
             safe_filename(indicator, "", max_chars=40) if indicator else "", safe_filename(day_text, "")]
    stem = "_".join(p for p in parts if p and p != "未命名")
    ext = safe_filename(ext, "xlsx", max_chars=8).lstrip(".")
    return safe_filename(f"{stem}.{ext}", f"下载.{ext}", max_chars=110)


def cell_value(value):
    """A value as openpyxl should store it: numbers as int/float (NaN -> empty), bools as 是/否,
    text without XML-illegal characters and never as a formula, dates as they are."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return "是" if value else "否"
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if np.isnan(value) else float(value)
    if isinstance(value, str):
        return _safe(plain_text(value))
    if isinstance(value, (pd.Timestamp, date)):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return _safe(plain_text(value))


def write_frame(ws, frame: pd.DataFrame, *, title: str | None = None, percent_columns: Iterable[str] = (),
                number_formats: Mapping[str, object] | None = None, sample_rows: int = 300) -> None:
    """Write `frame` into an empty worksheet: optional title row (merged over the columns), a bold
    header, the rows, number formats, frozen header, fitted widths. The title is not merged: it
    runs over the empty cells to its right however narrow the columns are.

    percent_columns
        Columns holding shares 0-1, shown as "47.1%" (the cell holds 0.4706).
    number_formats
        Column -> an Excel number format for the whole column, or a sequence of formats (one per
        row, None to leave a cell alone), for columns mixing shares and counts.
    """
    from openpyxl.styles import Alignment, Font, PatternFill  # noqa: PLC0415

    columns = [plain_text(c) for c in frame.columns]
    formats: dict[int, object] = {}
    for col in percent_columns:
        if col in frame.columns:
            formats[list(frame.columns).index(col)] = PERCENT_FORMAT
    for col, fmt in (number_formats or {}).items():
        if col in frame.columns:
            formats[list(frame.columns).index(col)] = fmt
    header_row = 1
    if title:
        ws.append([plain_text(title)])
        ws.cell(row=1, column=1).font = Font(bold=True, size=TITLE_FONT_PT)
        ws.cell(row=1, column=1).alignment = Alignment(horizontal="left", vertical="center")
        ws.row_dimensions[1].height = 24
        header_row = 2
    ws.append(columns)
    fill = PatternFill("solid", fgColor=HEADER_FILL)
    for cell in ws[header_row]:
        cell.font = Font(bold=True)
        cell.fill = fill
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for values in frame.itertuples(index=False):
        ws.append([cell_value(v) for v in values])
    for k, fmt in formats.items():
        per_row = not isinstance(fmt, str)
        for i, cell in enumerate(ws.iter_rows(min_row=header_row + 1, min_col=k + 1, max_col=k + 1), start=0):
            f = fmt[i] if per_row else fmt
            if f and isinstance(cell[0].value, (int, float)):
                cell[0].number_format = f
    fit_columns(ws, frame, sample_rows=sample_rows, header_row=header_row, formats=formats)


def excel_bytes(sheets: Mapping[str, pd.DataFrame], *, title: str | Mapping[str, str] | None = None,
                percent_columns: Iterable[str] = (), headers: Mapping[str, str] | None = None,
                number_formats: Mapping[str, object] | None = None) -> bytes:
    """An .xlsx with one sheet per entry (sheet names cut to Excel's 31 characters).

    title
        A title row above the header (e.g. "十堰市 未覆盖乡镇清单 · 十堰市民政事业发展十四五规划 ·
        2026年11月25日"): one text for every sheet, or sheet name -> text. None: header in row 1.
    percent_columns
        Columns holding shares 0-1 (before or after renaming by `headers`), stored as numbers with
        a "0.0%" format.
    headers
        Column -> Chinese header (e.g. `pages._shared.COLUMN_LABELS`); other columns keep their name.
    number_formats
        Column -> Excel number format (see `write_frame`).

    Numbers stay numbers; text that Excel would run as a formula is written as text; booleans
    become 是/否; the header row is frozen and columns sized to their text.
    """
    from openpyxl import Workbook  # noqa: PLC0415

    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    percent = set(percent_columns)
    for name, frame in sheets.items():
        ws = wb.create_sheet(sheet_name(name, used))
        if headers:
            percent |= {headers[c] for c in percent_columns if c in headers}
            formats = {headers.get(c, c): f for c, f in (number_formats or {}).items()}
            frame = frame.rename(columns=headers)
        else:
            formats = dict(number_formats or {})
        sheet_title = title.get(name) if isinstance(title, Mapping) else title
        write_frame(ws, frame, title=sheet_title, percent_columns=[c for c in frame.columns if c in percent],
                    number_formats=formats)
    if not wb.sheetnames:
        wb.create_sheet("Sheet")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def sheet_name(text: str, used: set[str]) -> str:
    """An Excel sheet name: no []:*?/\\, at most 31 characters, unique within `used`."""
    base = "".join(ch for ch in plain_text(text) if ch not in "[]:*?/\\").strip("'")[:31] or "Sheet"
    name, k = base, 2
    while name in used:
        name = f"{base[:28]}~{k}"
        k += 1
    used.add(name)
    return name


def _display_width(value, fmt=None) -> int:
    if isinstance(value, float) and fmt == PERCENT_FORMAT:
        text = f"{value * 100:.1f}%"
    elif isinstance(value, float):
        text = f"{value:.6g}"
    else:
        text = "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)
    return max((len(line.encode("gbk", errors="replace")) for line in text.split("\n")), default=0)


def fit_columns(ws, frame: pd.DataFrame, sample_rows: int = 200, *, header_row: int = 1,
                formats: Mapping[int, object] | None = None) -> None:
    """Freeze the rows down to the header and size each column to its longest text (GBK width,
    8-60; a wrapped header counts its longest line)."""
    ws.freeze_panes = f"A{header_row + 1}"
    formats = formats or {}
    for i, col in enumerate(frame.columns, start=1):
        fmt = formats.get(i - 1)
        fmt = fmt if isinstance(fmt, str) else None
        values = [_display_width(str(col))] + [_display_width(v, fmt) for v in frame[col].head(sample_rows)]
        ws.column_dimensions[get_column_letter(i)].width = min(max(8, max(values) + 2), 60)
