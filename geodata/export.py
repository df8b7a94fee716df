"""Excel downloads: safe cells (no formulas from user text), readable widths, frozen header."""
from __future__ import annotations

import io

import pandas as pd
from openpyxl.utils import get_column_letter

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _safe(value):
    """Text that Excel would run as a formula is written as text (leading apostrophe)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def excel_bytes(sheets: dict[str, pd.DataFrame]) -> bytes:
    """An .xlsx with one sheet per entry (sheet names cut to Excel's 31 characters)."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            safe_name = "".join(ch for ch in name if ch not in '[]:*?/\\')[:31] or "Sheet"
            frame = frame.copy()
            for col in frame.columns:
                if not pd.api.types.is_numeric_dtype(frame[col]):
                    frame[col] = frame[col].map(_safe)
            frame.to_excel(writer, sheet_name=safe_name, index=False)
            ws = writer.sheets[safe_name]
            ws.freeze_panes = "A2"
            for i, col in enumerate(frame.columns, start=1):
                values = [str(col)] + [str(v) for v in frame[col].head(200)]
                width = max(len(v.encode("gbk", errors="replace")) for v in values)
                ws.column_dimensions[get_column_letter(i)].width = min(max(8, width + 2), 60)
    return buf.getvalue()
