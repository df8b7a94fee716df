"""Facility ledgers as tables: CSV (UTF-8, GBK/GB18030, UTF-16) and Excel (XLSX/XLS) with their
header row found below any title rows; several Excel sheets with a header are combined (column
`sheet` says where each row came from).

`read_table` fills the reader's report (encoding, sheets, notes) it is given.

Large and hostile files: a CSV is read in chunks by pandas' C parser once its encoding, separator
and header row are known from its first lines. Excel sheets are streamed cell by cell, and reading
stops as soon as the sheet (or the whole workbook) would exceed `MAX_CELLS` cells, counted as the
dense rectangle from A1 the table would occupy: a 5 KB workbook with one cell at A1 and one at
XFD1048576 is refused at once with a message telling the planner what to delete. The declared
<dimension> of a sheet is checked first, but is not trusted: the cap holds while reading too.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from coverage.errors import InputFileError
from geodata.fields import FACILITY_FIELDS, detect_fields

#: Most cells read from one upload (summed over the sheets read), counted as the dense rectangle
#: from A1 (row 1 of a CSV) that the table would fill. 20 million cells hold 300,000 rows of 66
#: columns or 1.3 million rows of 15: the largest genuine ledgers (a province, ~300,000 rows x 15
#: columns = 4.5 million cells) are far below it, and so is a 150 MB CSV (0.9 million rows x 8). At the
#: cap, reading takes about 660 MB and 66 s for an XLSX (1.2 million rows x 16), 690 MB and 4 s
#: for a CSV (2.4 million rows x 8), imports and the file itself included.
MAX_CELLS = 20_000_000
#: Largest uncompressed XML part of an .xlsx holding cells (a sheet or the shared strings), and of
#: any other part (styles, workbook, ...), which openpyxl parses whole; and all parts together.
MAX_XLSX_SHEET_BYTES = 1024 * 2**20
MAX_XLSX_PART_BYTES = 64 * 2**20
MAX_XLSX_TOTAL_BYTES = 2048 * 2**20
MAX_XLSX_MEMBERS = 5000
#: Cells handed to pandas at a time (bounds the Python objects alive while converting).
CHUNK_CELLS = 1_000_000
#: Excel's own limit; a row with more <c> elements than this is malformed (or hostile).
EXCEL_MAX_COLUMNS = 16_384
#: First bytes of a CSV decoded to find separator and header (grown until 11 rows are seen).
CSV_HEAD_BYTES = 1 << 20
#: Unnamed columns allowed to the right of a CSV header for rows with extra fields, at first; grown
#: when a row has more, up to CSV_MAX_COLUMNS.
CSV_SPARE_COLUMNS = 8
CSV_MAX_COLUMNS = EXCEL_MAX_COLUMNS

_XLS_SUFFIXES = (".xlsx", ".xlsm", ".xls")


def read_table(raw: bytes, filename: str, report, sheet: str | None,
               field_map: dict[str, str] | None = None) -> pd.DataFrame:
    """The ledger as one table with its header found; Excel sheets with a header are combined."""
    suffix = Path(filename).suffix.lower()
    if not raw:
        raise InputFileError(f"{filename} 是空文件。")
    if suffix in _XLS_SUFFIXES:
        names, book = (_xls_book if suffix == ".xls" else _xlsx_book)(raw, filename, sheet)
        report.encoding = suffix[1:]
        if sheet is not None:
            names = [sheet]
        tables = {name: _find_header(t, field_map) for name, t in book.items() if len(t)}
        usable = {n: t for n, t in tables.items()
                  if {"name", "facility_class"} <= set(detect_fields(t.columns, FACILITY_FIELDS, field_map))}
        report.sheets = list(names)
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
        return _read_csv(raw, filename, report, field_map)
    raise InputFileError(f"不支持的设施表格式 {suffix or '(无扩展名)'}, 请上传 CSV 或 Excel(.xlsx/.xls)文件。")


# ---------------------------------------------------------------- header

def _header_row(top: pd.DataFrame, field_map: dict[str, str] | None = None) -> int:
    """Index (0-9) of the header among a table's top rows: the first that names the required
    columns; else the first of the widest rows holding no numbers (a header, not a title or a data
    row), so the field-mapping form offers the real column names."""
    top = top.iloc[:10].fillna("").astype(str).apply(lambda col: col.str.strip())
    for i in range(len(top)):
        found = detect_fields(top.iloc[i].tolist(), FACILITY_FIELDS, field_map)
        if {"name", "facility_class"} <= set(found):
            return i
    filled = top.ne("").sum(axis=1)
    numeric = top.apply(lambda col: pd.to_numeric(col, errors="coerce").notna()).sum(axis=1)
    candidates = top.index[(filled == filled.max()) & (numeric == 0)]
    return top.index.get_loc(candidates[0]) if len(candidates) else 0


def _find_header(table: pd.DataFrame, field_map: dict[str, str] | None = None) -> pd.DataFrame:
    """Use the first of the top 10 rows that names the required columns as the header
    (ledgers often carry a title row above the header). `table` is indexed by row position
    (0, 1, ...; positions of left-out empty rows may be missing after the tenth)."""
    if not len(table):
        return table
    i = _header_row(table.iloc[:10], field_map)
    names = table.iloc[i].fillna("").astype(str).str.strip().tolist()
    body = table.iloc[i + 1:]
    # Renumbered from 0 below the header. The index is the row's position in the sheet: Excel
    # sheets leave out empty rows below the top ten, which dropna would drop anyway.
    body = body.set_axis(body.index - (i + 1), axis=0)
    body.columns = _unique(names)
    return body.dropna(how="all")


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        n = n or "列"
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}_{seen[n]}")
    return out


# ---------------------------------------------------------------- CSV

_CSV_ENCODINGS = {  # name tried -> (codec for pandas after the BOM, label in the report)
    "utf-8-sig": ("utf-8", "UTF-8"),
    "gb18030": ("gb18030", "GBK/GB18030"),
    "utf-16": (None, "UTF-16(Excel Unicode 文本)"),
}


class _WrongEncoding(Exception):
    pass


def _read_csv(raw: bytes, filename: str, report, field_map: dict[str, str] | None) -> pd.DataFrame:
    """A CSV (comma or tab separated) as strings, its header found among the first non-blank rows
    (title rows above it may have fewer fields); blank rows dropped, short rows padded."""
    encodings = ("utf-16",) if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else ("utf-8-sig", "gb18030")
    for encoding in encodings:
        try:
            table = _csv_with_encoding(raw, filename, encoding, report, field_map)
        except _WrongEncoding:
            continue
        report.encoding = _CSV_ENCODINGS[encoding][1]
        return table
    raise InputFileError(f"无法识别 {filename} 的文字编码(既不是 UTF-8 也不是 GBK), 请另存为 UTF-8 CSV 或 xlsx。")


def _csv_head(raw: bytes, encoding: str, size: int) -> tuple[str, bool]:
    """The first `size` bytes decoded (an incomplete last character left out) and whether that is
    the whole file; _WrongEncoding when they are not in `encoding`."""
    decoder = codecs.getincrementaldecoder(encoding)()
    final = size >= len(raw)
    try:
        return decoder.decode(raw[:size], final=final), final
    except UnicodeDecodeError as err:
        raise _WrongEncoding from err


def _csv_with_encoding(raw: bytes, filename: str, encoding: str, report, field_map) -> pd.DataFrame:
    size = CSV_HEAD_BYTES
    while True:
        head, whole = _csv_head(raw, encoding, size)
        sample = head[:20000].splitlines()[:20]
        sep = "\t" if sum(line.count("\t") for line in sample) > sum(line.count(",") for line in sample) else ","
        lines = list(io.StringIO(head if whole else head[: max(head.rfind("\n"), head.rfind("\r")) + 1], newline=""))
        rows: list[list[str]] = []
        ends: list[int] = []  # lines consumed up to the end of each non-blank row
        reader = csv.reader(iter(lines), delimiter=sep)
        try:
            for r in reader:
                if any(c.strip() for c in r):
                    rows.append(r)
                    ends.append(reader.line_num)
                    if len(rows) > 10:
                        break
        except csv.Error as err:
            raise InputFileError(f"CSV 文件 {filename} 格式有误(引号不配对或含有非文本内容): {err}") from err
        if whole or len(rows) > 10:
            break
        size *= 4
    if not rows:
        raise InputFileError(f"{filename} 中没有数据。")
    for k, r in enumerate(rows):
        if len(r) > CSV_MAX_COLUMNS:
            raise _too_wide(filename, ends[k], len(r))
    width = max(map(len, rows))
    top = pd.DataFrame([r + [""] * (width - len(r)) for r in rows[:10]], dtype=str)
    i = _header_row(top, field_map)
    names = top.iloc[i].fillna("").astype(str).str.strip().tolist()
    start_text = "".join(lines[: ends[i]])
    bom = len(codecs.BOM_UTF8) if encoding == "utf-8-sig" and raw.startswith(codecs.BOM_UTF8) else 0
    codec = _CSV_ENCODINGS[encoding][0]
    if encoding == "utf-16":
        bom, codec = 2, ("utf-16-le" if raw[:2] == b"\xff\xfe" else "utf-16-be")
    offset = bom + len(start_text.encode(codec))
    if raw[bom:offset].decode(codec, errors="replace") != start_text:  # cannot happen for these codecs; be safe
        raise InputFileError(f"无法定位 {filename} 的表头, 请另存为 UTF-8 CSV 或 xlsx 后上传。")
    if _has_nul(raw, bom, codec):  # the csv module refuses them; pandas would keep them in the text
        raise InputFileError(f"CSV 文件 {filename} 格式有误(含有非文本内容: 空字符), 可能不是文本文件或已损坏。"
                             "请在 Excel 中打开后另存为 CSV 或 xlsx 再上传。")
    return _csv_body(raw, offset, codec, sep, names, len(rows[i]), filename, ends[i], report)


def _has_nul(raw: bytes, bom: int, codec: str) -> bool:
    """Whether the text holds a NUL character (in UTF-16, a 0x0000 code unit at an even offset)."""
    if not codec.startswith("utf-16"):
        return b"\x00" in raw
    i = raw.find(b"\x00\x00", bom)
    while i != -1:
        if (i - bom) % 2 == 0:
            return True
        i = raw.find(b"\x00\x00", i + 1)
    return False


def _csv_body(raw: bytes, offset: int, codec: str, sep: str, header: list[str], fields: int,
              filename: str, header_lines: int, report) -> pd.DataFrame:
    """The rows after the header, read by pandas' C parser in chunks. Rows with more fields than the
    header keep the extras in unnamed columns (列, 列_2, ... as before), with a note; the table is
    read again, wider, when a row has more fields than allowed for."""
    spare = CSV_SPARE_COLUMNS  # header: the header row's names padded to the widest of the top rows
    while True:
        names = _unique(header + [""] * spare)
        try:
            return _csv_chunks(raw, offset, codec, sep, names, fields, len(header), filename, report)
        except pd.errors.ParserError as err:
            saw = re.search(r"Expected \d+ fields in line (\d+), saw (\d+)", str(err))
            quote = re.search(r"EOF inside string starting at row (\d+)", str(err))
            if quote:
                raise InputFileError(
                    f"CSV 文件 {filename} 约第 {header_lines + int(quote.group(1)) + 1} 行有未配对的引号, 其后的内容无法分行读取。"
                    "请检查该行的引号(单元格内的引号应写成两个 \"\")后另存, 或另存为 xlsx 后上传。") from err
            if not saw:
                raise InputFileError(f"CSV 文件 {filename} 格式有误(引号不配对或含有非文本内容): {err}") from err
            found = int(saw.group(2))
            if found > CSV_MAX_COLUMNS:
                raise _too_wide(filename, header_lines + int(saw.group(1)), found) from err
            spare = max(found - len(header), 2 * spare)
        except UnicodeDecodeError as err:
            raise _WrongEncoding from err


def _too_wide(filename: str, line: int, fields: int) -> InputFileError:
    return InputFileError(
        f"CSV 文件 {filename} 约第 {line} 行有 {fields:,} 个字段, 超出可读取的上限({CSV_MAX_COLUMNS:,} 列), 无法读取。"
        "请检查该行的分隔符和引号(如地址中含有未加引号的逗号), 或在 Excel 中打开后另存为 xlsx 再上传。")


def _csv_chunks(raw: bytes, offset: int, codec: str, sep: str, names: list[str], named: int,
                keep: int, filename: str, report) -> pd.DataFrame:
    """names: the columns pandas is given (header + spare); named: the header row's fields (more in
    a row gets a note); keep: columns kept even when empty (as wide as the widest of the top rows)."""
    buf = io.BytesIO(raw)
    buf.seek(offset)
    chunks, cells, extra_rows, first_extra, seen = [], 0, 0, None, 0
    reader = pd.read_csv(buf, sep=sep, header=None, names=names, dtype=str, encoding=codec, engine="c",
                         na_filter=False, index_col=False, skip_blank_lines=True, quotechar='"',
                         chunksize=max(1000, CHUNK_CELLS // len(names)))
    with reader:
        for chunk in reader:
            chunk = chunk.fillna("")
            blank = np.ones(len(chunk), dtype=bool)
            for col in chunk.columns:
                blank &= chunk[col].str.strip().eq("").to_numpy(dtype=bool)
            chunk = chunk[~blank]
            if len(chunk.columns) > named:  # fields beyond the header's names
                has = chunk[chunk.columns[named:]].ne("").any(axis=1).to_numpy()
                if has.any():
                    extra_rows += int(has.sum())
                    if first_extra is None:
                        first_extra = seen + int(np.flatnonzero(has)[0]) + 1
            extra = [c for c in chunk.columns[keep:] if chunk[c].ne("").any()]
            chunk = chunk[list(chunk.columns[:keep]) + extra]
            seen += len(chunk)
            cells += chunk.size
            if cells > MAX_CELLS:
                raise InputFileError(
                    f"CSV 文件 {filename} 超过可读取的上限({_count(MAX_CELLS)}个单元格): 已读到第 {seen:,} 条记录, "
                    f"每条 {len(chunk.columns)} 列。请删除多余的列, 或按区县拆分成几个文件分别上传。")
            chunks.append(chunk)
    if not chunks:
        return pd.DataFrame({n: pd.Series([], dtype=str) for n in names[:keep]})
    table = pd.concat(chunks, ignore_index=True)
    table = table[[n for n in names if n in table.columns]].fillna("")
    if extra_rows:
        report.notes.append(
            f"{extra_rows} 条记录的字段数多于表头(第一条是表头下第 {first_extra} 条), 多出的内容放在未命名的列"
            f"({', '.join(table.columns[named:][:5])}{' 等' if len(table.columns) > named + 5 else ''})中, 未被使用; "
            "如有错位请检查这些行的分隔符和引号。")
    return table


# ---------------------------------------------------------------- Excel

def _count(n: int) -> str:
    """A cell count in Chinese units: 172 亿, 2000 万, 5,000."""
    if n >= 10**8:
        return f"{n / 10**8:,.0f} 亿"
    if n >= 10**4:
        return f"{n / 10**4:,.0f} 万"
    return f"{n:,}"


def _col_letter(n: int) -> str:
    letters = ""
    while n > 0:
        n, r = divmod(n - 1, 26)
        letters = chr(65 + r) + letters
    return letters or "A"


def _too_big(sheet: str, rows: int, cols: int, used: int, declared: bool) -> InputFileError:
    extent = f"A1:{_col_letter(cols)}{rows}"
    what = f"范围为 {extent}" if declared else f"内容延伸到 {extent}"
    budget = f"整个文件最多读取 {_count(MAX_CELLS)}个单元格" + (f", 前面的工作表已读取 {_count(used)}个" if used else "")
    return InputFileError(
        f"工作表「{sheet}」的{what}(约 {_count(rows * cols)}个单元格), 超出可读取的上限({budget})。"
        "这通常是远处的单元格里有误输入的内容或设置过格式。请在 Excel 中按 Ctrl+End 找到最后一个单元格, "
        "删除数据下方多余的空行和右侧多余的空列(选中整行/整列后「删除」, 不是只清除内容)后另存, "
        "或把数据区域复制到新的工作簿后再上传。")


class _Budget:
    """Cells left for the rest of the workbook; each sheet's dense extent is charged against it."""

    def __init__(self) -> None:
        self.used = 0

    def check(self, sheet: str, rows: int, cols: int, declared: bool = False) -> None:
        if rows * cols > MAX_CELLS - self.used:
            raise _too_big(sheet, rows, cols, self.used, declared)


class _Frame:
    """Rows of one sheet converted as pandas.read_excel(header=None, dtype=str) converts them, handed
    to pandas' TextParser a chunk at a time, indexed by their position in the sheet. The dense extent
    (rows so far x widest row) is checked against the budget as rows arrive. Empty rows below the
    first ten (where the header is looked for) are not materialised: they are all-NaN rows that
    `_find_header` drops, so a sparse sheet costs its content, not its extent."""

    def __init__(self, sheet: str, budget: _Budget) -> None:
        self.sheet, self.budget = sheet, budget
        self.rows: list[list] = []
        self.index: list[int] = []
        self.chunks: list[pd.DataFrame] = []
        self.count = 0      # rows of the table so far (their positions are 0 .. count - 1)
        self.width = 0
        self.empty = 0      # empty rows waiting for a row with data (trailing ones are dropped)

    def add(self, values: list) -> None:
        """The next row of the sheet."""
        while values and values[-1] == "":
            values.pop()
        if not values:
            self.add_empty(1)
            return
        width = max(self.width, len(values))
        self.budget.check(self.sheet, self.count + self.empty + 1, width)
        self.width = width
        for position in range(self.count, min(self.count + self.empty, 10)):
            self.rows.append([])
            self.index.append(position)
        self.count += self.empty
        self.empty = 0
        self.rows.append(values)
        self.index.append(self.count)
        self.count += 1
        if len(self.rows) * self.width >= CHUNK_CELLS:
            self.flush()

    def add_empty(self, n: int) -> None:
        """n empty rows (also rows missing from the file, which openpyxl yields as empty rows)."""
        self.empty += n
        if self.width:
            self.budget.check(self.sheet, self.count + self.empty, self.width)

    def flush(self) -> None:
        if not self.rows:
            return
        from pandas.io.parsers import TextParser
        width = self.width
        data = [r + [""] * (width - len(r)) for r in self.rows]
        chunk = TextParser(data, header=None, dtype=str, skip_blank_lines=False).read()
        chunk.index = pd.Index(self.index)
        self.chunks.append(chunk)
        self.rows, self.index = [], []

    def frame(self) -> pd.DataFrame:
        self.flush()
        self.budget.used += self.count * self.width
        if not self.chunks:
            return pd.DataFrame()
        table = pd.concat(self.chunks) if len(self.chunks) > 1 else self.chunks[0]
        table = table.reindex(columns=range(self.width))
        for col in table.columns:
            if table[col].dtype != "str":
                table[col] = table[col].astype("str")
        if len(table) == self.count:
            table.index = pd.RangeIndex(self.count)
        return table


def _xlsx_error(filename: str, err: Exception) -> InputFileError:
    return InputFileError(f"无法读取 Excel 文件 {filename}(文件损坏、加密或格式不符): {type(err).__name__}")


def _xlsx_book(raw: bytes, filename: str, sheet: str | None) -> tuple[list[str], dict[str, pd.DataFrame]]:
    """Sheets of an .xlsx as pandas.read_excel(sheet_name=None, header=None, dtype=str) gives them
    (openpyxl read-only, data_only), streamed within the cell cap. openpyxl reads the workbook,
    its sheet list and styles; shared strings and sheets are parsed here with expat, holding
    nothing but the cells kept."""
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet
    from openpyxl.xml.constants import SHARED_STRINGS

    try:
        members = zipfile.ZipFile(io.BytesIO(raw)).infolist()
    except Exception as err:  # BadZipFile, and worse on mangled headers
        raise _xlsx_error(filename, err) from err
    _check_parts(members, filename)

    class Sheet(ReadOnlyWorksheet):
        def _get_size(self):  # openpyxl would parse the whole sheet when <dimension> is missing
            pass

    class CappedReader(ExcelReader):
        def read_strings(self):
            ct = self.package.find(SHARED_STRINGS)
            if ct is not None:
                with self.archive.open(ct.PartName[1:]) as src:
                    self.shared_strings = _shared_strings(src, filename)

        def read_worksheets(self):  # openpyxl's, read-only branch, without sizing each sheet
            for sheet, rel in self.parser.find_sheets():
                if rel.target not in self.valid_files:
                    continue
                if "chartsheet" in rel.Type:  # not a worksheet: pandas leaves it out, its chart is not parsed
                    continue
                ws = Sheet(self.wb, sheet.name, rel.target, self.shared_strings)
                ws.sheet_state = sheet.state
                self.wb._sheets.append(ws)

    try:
        reader = CappedReader(io.BytesIO(raw), read_only=True, data_only=True, keep_links=False)
        reader.read()
        wb = reader.wb
    except Exception as err:  # openpyxl raises many kinds on corrupt files
        if isinstance(err.__cause__, InputFileError):  # ours, from read_strings, wrapped by openpyxl
            raise err.__cause__ from None
        if isinstance(err, InputFileError):
            raise
        raise _xlsx_error(filename, err) from err
    try:
        names = [ws.title for ws in wb.worksheets]
        if sheet is not None and sheet not in names:
            raise InputFileError(f"Excel 中没有名为 {sheet!r} 的工作表, 现有: {', '.join(names)}")
        budget = _Budget()
        book = {}
        for name in ([sheet] if sheet is not None else names):
            ws = wb[name]
            try:
                with wb._archive.open(ws._worksheet_path) as src:
                    book[name] = _read_sheet(src, name, budget, ws._shared_strings, wb)
            except InputFileError:
                raise
            except Exception as err:
                raise _xlsx_error(filename, err) from err
        return names, book
    finally:
        wb.close()


def _check_parts(members: list[zipfile.ZipInfo], filename: str) -> None:
    """Refuse workbooks whose parts would take too long or too much memory to parse (the sizes are
    those zipfile enforces while decompressing). Sheets and shared strings are streamed; openpyxl
    parses the other parts it reads (content types, relationships, workbook, styles, properties)
    whole, so these get the lower limit. Pictures are never read."""
    if len(members) > MAX_XLSX_MEMBERS:
        raise InputFileError(f"Excel 文件 {filename} 内部含有 {len(members)} 个部件, 不像正常的工作簿, 已拒绝读取。")
    total = 0
    for m in members:
        total += m.file_size
        name = m.filename.lower()
        if name.startswith(("xl/media/", "xl/embeddings/")):
            continue
        streamed = name.startswith("xl/worksheets/") or name.endswith("sharedstrings.xml")
        limit = MAX_XLSX_SHEET_BYTES if streamed else MAX_XLSX_PART_BYTES
        if m.file_size > limit:
            raise InputFileError(
                f"Excel 文件 {filename} 中的 {m.filename} 解压后有 {m.file_size / 2**20:,.0f} MB, 超出可读取的上限"
                f"({limit // 2**20} MB)。请删除多余的空行空列和格式后另存, 或另存为 CSV 后上传。")
    if total > MAX_XLSX_TOTAL_BYTES:
        raise InputFileError(
            f"Excel 文件 {filename} 解压后共 {total / 2**30:.1f} GB, 超出可读取的上限({MAX_XLSX_TOTAL_BYTES // 2**30} GB)。"
            "请删除不需要的工作表、多余的空行空列后另存, 或另存为 CSV 后上传。")


_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
#: Longest text of one cell or shared string (Excel's own limit is 32,767 characters).
MAX_CELL_CHARS = 1_000_000


class _Done(Exception):
    """Raised from an expat handler to stop parsing (the cells have all been read)."""


def _expat(src, start, end, chars) -> None:
    """Feed a zip member to an expat parser with these handlers (element names as "ns}local")."""
    from xml.parsers import expat

    parser = expat.ParserCreate(namespace_separator="}")
    parser.buffer_text = True
    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, chars
    try:
        while chunk := src.read(1 << 20):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except _Done:
        pass


def _shared_strings(src, filename: str) -> list[str]:
    """openpyxl's read_string_table (plain text plus rich-text runs, phonetic runs left out,
    "x005F_" removed), streamed with expat; refused beyond MAX_CELLS strings."""
    si, t, r = f"{_MAIN_NS}}}si", f"{_MAIN_NS}}}t", f"{_MAIN_NS}}}r"
    strings: list[str] = []
    state = {"depth": 0, "si": 0, "run": False, "plain": None, "runs": [], "run_t": None, "text": None, "n": 0}

    def start(tag, attrs):
        state["depth"] += 1
        d = state["depth"] - state["si"]
        if tag == si:
            state.update(si=state["depth"], plain=None, runs=[], run=False)
        elif state["si"] and d == 1 and tag == r:
            state.update(run=True, run_t=None)
        elif state["si"] and tag == t and (d == 1 or (d == 2 and state["run"])):
            state.update(text=[], n=0)

    def end(tag):
        d = state["depth"] - state["si"]
        if state["text"] is not None and tag == t:
            text = "".join(state["text"])
            state["text"] = None
            if d == 1:
                state["plain"] = text
            else:
                state["run_t"] = text
        elif state["si"] and d == 1 and tag == r:
            if state["run_t"] is not None:
                state["runs"].append(state["run_t"])
            state["run"] = False
        elif tag == si and d == 0:
            content = ([state["plain"]] if state["plain"] is not None else []) + state["runs"]
            strings.append("".join(content).replace("x005F_", ""))
            state["si"] = 0
            if len(strings) > MAX_CELLS:
                raise InputFileError(
                    f"Excel 文件 {filename} 的共享字符串超过 {_count(MAX_CELLS)}个, 超出可读取的上限。"
                    "请删除多余的内容后另存, 或另存为 CSV 后上传。")
        state["depth"] -= 1

    def chars(data):
        if state["text"] is not None:
            state["text"].append(data)
            state["n"] += len(data)
            if state["n"] > MAX_CELL_CHARS:
                raise InputFileError(f"Excel 文件 {filename} 中有超过 {MAX_CELL_CHARS:,} 个字符的单元格, 文件可能已损坏。")

    _expat(src, start, end, chars)
    return strings


def _read_sheet(src, name: str, budget: _Budget, shared: list[str], wb) -> pd.DataFrame:
    """One worksheet's cells, as openpyxl's read-only worksheet yields them to pandas (missing rows
    as empty rows, each row as wide as its last cell, rows numbered out of order skipped; cells as
    WorkSheetParser.parse_cell reads them with data_only) and converted as pandas' openpyxl reader
    converts them; parsed with expat, keeping nothing but the cells.

    The declared <dimension> is checked before any cell is read; then every row is checked against
    the budget as it arrives, so a lying or missing <dimension> does not matter."""
    from openpyxl.utils.cell import coordinate_to_tuple, range_boundaries
    from openpyxl.utils.datetime import from_excel, from_ISO8601

    ns = _MAIN_NS + "}"
    ROW, C, V, IS, T, R, DATA, DIM = (ns + k for k in ("row", "c", "v", "is", "t", "r", "sheetData", "dimension"))
    date_formats, timedelta_formats, epoch = wb._date_formats, wb._timedelta_formats, wb.epoch
    frame = _Frame(name, budget)
    columns: dict[str, int] = {}   # column letters -> number
    most = 2 * MAX_CELLS           # <c> elements parsed, empty ones included
    depth = row_depth = cell_depth = 0
    expected = 1                   # next row number openpyxl would yield
    row_counter = col_counter = parsed = nchars = 0
    cells: list = []
    cell_attrs: dict = {}
    text: list | None = None       # characters of the <v> or <t> being read
    value = plain = run_t = None
    runs: list = []
    v_done = inline = inline_done = run = False

    def start(tag, attrs):
        nonlocal depth, row_depth, cell_depth, row_counter, col_counter, parsed, cells, cell_attrs, text, nchars
        nonlocal value, plain, run_t, runs, v_done, inline, inline_done, run
        depth += 1
        if cell_depth:
            d = depth - cell_depth
            if d == 1:
                if tag == V:
                    if not v_done:
                        text, nchars = [], 0
                elif tag == IS:
                    inline, plain, runs = True, None, []
            elif inline:
                if d == 2:
                    if tag == T:
                        text, nchars = [], 0
                    elif tag == R:
                        run, run_t = True, None
                elif d == 3 and run and tag == T:
                    text, nchars = [], 0
            return
        if row_depth:
            if tag == C and depth == row_depth + 1:
                parsed += 1
                if len(cells) >= EXCEL_MAX_COLUMNS or parsed > most:
                    raise InputFileError(
                        f"工作表「{name}」中的单元格过多或有重复(第 {row_counter} 行), 超出可读取的上限, 文件可能已损坏。"
                        "请在 Excel 中打开后另存, 或把数据复制到新的工作簿后再上传。")
                cell_depth, cell_attrs, value = depth, attrs, None
                v_done = inline = inline_done = run = False
            return
        if tag == ROW:  # WorkSheetParser.parse_row, up to the cells
            r = attrs.get("r")
            if r is not None:
                try:
                    row_counter = int(r)
                except ValueError:
                    val = float(r)
                    if not val.is_integer():
                        raise ValueError(f"{r} is not a valid row number") from None
                    row_counter = int(val)
            else:
                row_counter += 1
            col_counter, row_depth, cells = 0, depth, []
        elif tag == DIM:
            try:
                _, _, max_col, max_row = range_boundaries((attrs.get("ref") or "").upper())
            except (ValueError, TypeError):
                return  # a damaged <dimension> is ignored: the rows are checked as they come
            if max_row and max_col:
                budget.check(name, max_row, max_col, declared=True)

    def end(tag):
        nonlocal depth, row_depth, cell_depth, expected, col_counter, text, value, plain, run_t, v_done
        nonlocal inline, inline_done, run
        if cell_depth:
            d = depth - cell_depth
            depth -= 1
            if d == 0:
                cell_depth = 0
                cells.append(finish_cell())
            elif text is not None and (tag == V or tag == T):
                got, text = "".join(text), None
                if tag == V:
                    value, v_done = got, True
                elif d == 2:
                    plain = got
                else:
                    run_t = got
            elif inline:
                if d == 2 and tag == R:
                    if run_t is not None:
                        runs.append(run_t)
                    run = False
                elif d == 1 and tag == IS:
                    inline, inline_done = False, True
            return
        if row_depth and depth == row_depth:
            row_depth = 0
            idx = row_counter
            if idx >= expected:  # openpyxl skips rows numbered out of order
                frame.add_empty(idx - expected)
                expected = idx + 1
                if cells:
                    width = cells[-1][0]  # ReadOnlyWorksheet._get_row: as wide as the row's last cell
                    values: list = [""] * width
                    for col, v in cells:
                        if 1 <= col <= width:
                            values[col - 1] = v
                    frame.add(values)
                else:
                    frame.add_empty(1)
        elif tag == DATA:
            raise _Done
        depth -= 1

    def chars(data):
        nonlocal nchars
        if text is not None:
            text.append(data)
            nchars += len(data)
            if nchars > MAX_CELL_CHARS:
                raise InputFileError(f"工作表「{name}」中有超过 {MAX_CELL_CHARS:,} 个字符的单元格, 文件可能已损坏。")

    def finish_cell():
        """(column, value): WorkSheetParser.parse_cell (data_only), then pandas' _convert_cell."""
        nonlocal col_counter
        attrs = cell_attrs
        data_type = attrs.get("t", "n")
        style_id = attrs.get("s", 0)
        if style_id:
            style_id = int(style_id)
        coordinate = attrs.get("r")
        if coordinate:
            letters = coordinate.rstrip("0123456789")
            column = columns.get(letters)
            if column is None:
                column = columns[letters] = coordinate_to_tuple(coordinate)[1]
            col_counter = column
        else:
            col_counter += 1
            column = col_counter
        val = None if data_type == "inlineStr" else (value or None)
        if val is not None:
            if data_type == "s":
                return column, shared[int(val)]
            if data_type == "n":
                val = float(val) if ("." in val or "E" in val or "e" in val) else int(val)
                if style_id in date_formats:
                    try:
                        return column, from_excel(val, epoch, timedelta=style_id in timedelta_formats)
                    except (OverflowError, ValueError):
                        return column, np.nan  # openpyxl: an error cell (#VALUE!)
                whole = int(val)
                return column, (whole if whole == val else float(val))
            if data_type == "b":
                return column, bool(int(val))
            if data_type == "e":
                return column, np.nan
            if data_type == "d":
                return column, from_ISO8601(val)
            return column, val  # "str" (a formula's text) and unknown types: the text
        if data_type == "inlineStr" and inline_done:
            return column, "".join(([plain] if plain is not None else []) + runs)
        return column, ""

    _expat(src, start, end, chars)
    return frame.frame()


def _xls_book(raw: bytes, filename: str, sheet: str | None) -> tuple[list[str], dict[str, pd.DataFrame]]:
    """Sheets of an .xls as pandas.read_excel(engine="xlrd", header=None, dtype=str) gives them;
    each sheet is loaded by xlrd with every cell counted against the cap as it is stored."""
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=raw, on_demand=True, ragged_rows=True)
    except Exception as err:  # xlrd raises many kinds on corrupt files
        raise _xlsx_error(filename, err) from err
    try:
        names = book.sheet_names()
        if sheet is not None and sheet not in names:
            raise InputFileError(f"Excel 中没有名为 {sheet!r} 的工作表, 现有: {', '.join(names)}")
        budget = _Budget()
        out = {}
        for name in ([sheet] if sheet is not None else names):
            index = names.index(name)
            try:
                sh = _xls_sheet(book, index, name, budget)
                out[name] = _xls_frame(book, sh, name, budget)
            except InputFileError:
                raise
            except Exception as err:
                raise _xlsx_error(filename, err) from err
            book.unload_sheet(index)
        return names, out
    finally:
        book.release_resources()


def _xls_sheet(book, index: int, name: str, budget: _Budget):
    """xlrd's Book.get_sheet, with a sheet that refuses cells beyond the budget as they arrive."""
    from xlrd.biffh import XL_WORKSHEET
    from xlrd.sheet import Sheet

    class CappedSheet(Sheet):
        def __init__(self, *args):
            super().__init__(*args)
            store, checked = self.put_cell, [False]

            def put_cell(rowx, colx, ctype, value, xf_index):
                if not checked[0]:  # the DIMENSIONS record precedes the cells
                    checked[0] = True
                    budget.check(name, self._dimnrows, self._dimncols, declared=True)
                if rowx >= self.nrows or colx >= self.ncols:
                    budget.check(name, max(rowx + 1, self.nrows), max(colx + 1, self.ncols))
                store(rowx, colx, ctype, value, xf_index)
            self.put_cell = put_cell

    book._position = book._sh_abs_posn[index]
    book.getbof(XL_WORKSHEET)
    sh = CappedSheet(book, book._position, book._sheet_names[index], index)
    sh.read(book)
    book._sheet_list[index] = sh
    return sh


def _xls_frame(book, sh, name: str, budget: _Budget) -> pd.DataFrame:
    """pandas' xlrd conversion (dates as datetime/time, errors NaN, whole numbers int), rows padded."""
    import datetime as dt
    import math

    from xlrd import XL_CELL_BOOLEAN, XL_CELL_DATE, XL_CELL_ERROR, XL_CELL_NUMBER, xldate

    epoch1904 = book.datemode

    def cell(value, typ):
        if typ == XL_CELL_DATE:
            try:
                value = xldate.xldate_as_datetime(value, epoch1904)
            except OverflowError:
                return value
            year = value.timetuple()[0:3]
            if (not epoch1904 and year == (1899, 12, 31)) or (epoch1904 and year == (1904, 1, 1)):
                value = dt.time(value.hour, value.minute, value.second, value.microsecond)
        elif typ == XL_CELL_ERROR:
            value = np.nan
        elif typ == XL_CELL_BOOLEAN:
            value = bool(value)
        elif typ == XL_CELL_NUMBER and math.isfinite(value):
            whole = int(value)
            if whole == value:
                value = whole
        return value

    frame = _Frame(name, _Budget())  # charged cell by cell while xlrd loaded the sheet
    for i in range(sh.nrows):
        frame.add([cell(v, t) for v, t in zip(sh.row_values(i), sh.row_types(i), strict=True)])
    frame.width = max(frame.width, sh.ncols) if frame.count else 0  # pandas pads rows to the sheet's width
    table = frame.frame()
    budget.used += sh.nrows * sh.ncols
    return table
