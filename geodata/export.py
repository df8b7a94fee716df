"""Downloads: safe cells (no formulas from user text), readable widths, frozen header; file and
zip-entry names made safe from user text (`safe_filename`); text stripped of characters XML
documents (Word, PowerPoint, Excel) cannot hold (`plain_text`)."""
from __future__ import annotations

import io
import re
import unicodedata

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
            fit_columns(writer.sheets[safe_name], frame)
    return buf.getvalue()


def fit_columns(ws, frame: pd.DataFrame, sample_rows: int = 200) -> None:
    """Freeze the header row and size each column to its longest text (GBK width, 8-60)."""
    ws.freeze_panes = "A2"
    for i, col in enumerate(frame.columns, start=1):
        values = [str(col)] + [str(v) for v in frame[col].head(sample_rows)]
        width = max(len(v.encode("gbk", errors="replace")) for v in values)
        ws.column_dimensions[get_column_letter(i)].width = min(max(8, width + 2), 60)


def cleaned_facilities(assigned: pd.DataFrame, unit_names: dict[str, str], class_names: dict[str, str], *,
                       status_labels: dict[str, str], with_gcj02: bool = False) -> pd.DataFrame:
    """The cleaned ledger: WGS84 coordinates (and GCJ-02 on request), class, township, status."""
    from geodata.chinacoords import wgs84_to_gcj02  # noqa: PLC0415

    out = pd.DataFrame({
        "编号": assigned["facility_id"], "名称": assigned["name"], "原始类型": assigned.get("class_raw", ""),
        "设施类别": assigned["facility_class"].map(class_names).fillna("未识别"),
        "经度(WGS84)": assigned["lon"].round(7), "纬度(WGS84)": assigned["lat"].round(7),
        "乡镇代码": assigned["unit_code"], "乡镇(街道)": assigned["unit_code"].map(unit_names),
        "区县代码": assigned["district_code"], "状态": assigned.get("operating_status", ""),
        "归属情况": assigned["status"].map(status_labels), "地址": assigned.get("address", ""),
    })
    if with_gcj02:
        lon, lat = wgs84_to_gcj02(assigned["lon"].to_numpy(float), assigned["lat"].to_numpy(float))
        out.insert(6, "经度(GCJ-02)", pd.Series(lon).round(7).to_numpy())
        out.insert(7, "纬度(GCJ-02)", pd.Series(lat).round(7).to_numpy())
    return out


def geopackage_bytes(frame: pd.DataFrame, lon_col: str, lat_col: str, layer: str = "facilities") -> bytes:
    """A GeoPackage (EPSG:4326) of the rows with coordinates, as bytes for a download."""
    import tempfile  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    import geopandas as gpd  # noqa: PLC0415

    rows = frame.dropna(subset=[lon_col, lat_col])
    gdf = gpd.GeoDataFrame(rows, geometry=gpd.points_from_xy(rows[lon_col], rows[lat_col]), crs=4326)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "facilities.gpkg"
        gdf.to_file(path, layer=layer, driver="GPKG", engine="pyogrio")
        return path.read_bytes()
