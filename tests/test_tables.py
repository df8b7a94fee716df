"""Ledger tables (geodata.tables): huge or sparse Excel sheets refused before memory is spent, the
cell cap held while streaming, Excel values as pandas.read_excel gives them, chunked CSV reading equal
to reading the whole file with the csv module, rows with extra fields noted, and the vectorised
coordinate parser equal to parse_coordinate."""
import csv
import io
import json
import struct
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from coverage.catalog import load_classes
from coverage.errors import InputFileError
from geodata import tables
from geodata.io import ReadReport, read_facilities
from geodata.pointcrs import parse_coordinate, parse_coordinates

CLASSES = load_classes()
ROOT = Path(__file__).resolve().parents[1]
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


# ---------------------------------------------------------------- hand-built files

def xlsx_parts(sheets: dict[str, str], sst: list[str] | None = None) -> bytes:
    """A workbook from the XML of each sheet's <sheetData> content plus an optional <dimension>
    (given as the sheet XML between <worksheet> and </worksheet>), and shared strings."""
    rels = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    overrides = "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{ct}.worksheet+xml"/>'
                        for i in range(1, len(sheets) + 1))
    if sst is not None:
        overrides += f'<Override PartName="/xl/sharedStrings.xml" ContentType="{ct}.sharedStrings+xml"/>'
    parts = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.main+xml"/>{overrides}</Types>',
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{rels}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<?xml version="1.0" encoding="UTF-8"?><workbook {NS} xmlns:r="{rels}"><sheets>'
        + "".join(f'<sheet name="{name}" sheetId="{i}" r:id="rId{i}"/>' for i, name in enumerate(sheets, start=1))
        + "</sheets></workbook>",
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        + "".join(f'<Relationship Id="rId{i}" Type="{rels}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                  for i in range(1, len(sheets) + 1))
        + (f'<Relationship Id="rId{len(sheets) + 1}" Type="{rels}/sharedStrings" Target="sharedStrings.xml"/>' if sst is not None else "")
        + "</Relationships>",
    }
    for i, body in enumerate(sheets.values(), start=1):
        parts[f"xl/worksheets/sheet{i}.xml"] = f'<?xml version="1.0" encoding="UTF-8"?><worksheet {NS}>{body}</worksheet>'
    if sst is not None:
        parts["xl/sharedStrings.xml"] = (f'<?xml version="1.0" encoding="UTF-8"?><sst {NS}>'
                                         + "".join(f"<si><t>{s}</t></si>" for s in sst) + "</sst>")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in parts.items():
            zf.writestr(name, text)
    return buf.getvalue()


def inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def sparse_xlsx(dimension: str | None) -> bytes:
    """名称 at A1 and 1 at XFD1048576: the reviewer's 5 KB workbook that took 9.4 GB."""
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return xlsx_parts({"台账": f'{dim}<sheetData><row r="1">{inline("A1", "名称")}</row>'
                               '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>'})


def grid_sheet(rows: int, cols: int, dimension: str | None = None) -> str:
    letters = [openpyxl.utils.get_column_letter(c) for c in range(1, cols + 1)]
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    body = "".join(f'<row r="{r}">' + "".join(f'<c r="{col}{r}"><v>{r}</v></c>' for col in letters) + "</row>"
                   for r in range(1, rows + 1))
    return f"{dim}<sheetData>{body}</sheetData>"


def biff8(sheets: dict[str, tuple[tuple[int, int] | None, list[tuple[int, int, object]]]]) -> bytes:
    """A BIFF8 workbook stream (what xlrd reads inside an .xls; xlrd also takes it bare): each sheet
    (DIMENSIONS (rows, cols) or None, [(row, col, str | number)])."""
    def rec(kind, data):
        return struct.pack("<HH", kind, len(data)) + data

    def bof(kind):
        return rec(0x0809, struct.pack("<HHHHII", 0x0600, kind, 0x0DBB, 0x07CC, 0, 6))

    def sheet_stream(dims, cells):
        out = bof(0x0010)
        if dims:
            out += rec(0x0200, struct.pack("<IIHHH", 0, dims[0], 0, dims[1], 0))
        for r, c, v in cells:
            if isinstance(v, str):
                out += rec(0x0204, struct.pack("<HHHHB", r, c, 15, len(v), 1) + v.encode("utf-16-le"))
            else:
                out += rec(0x0203, struct.pack("<HHHd", r, c, 15, float(v)))
        return out + rec(0x000A, b"")

    streams = [sheet_stream(*v) for v in sheets.values()]
    xf = rec(0x00E0, struct.pack("<HHHBBBBIiH", 0, 0, 0xFFF1, 0x20, 0, 0, 0, 0, 0, 0))
    glob = bof(0x0005) + rec(0x0042, struct.pack("<H", 1200)) + xf * 16
    pos = len(glob) + sum(12 + 2 * len(n) for n in sheets) + 4
    for name, stream in zip(sheets, streams):
        glob += rec(0x0085, struct.pack("<IBBBB", pos, 0, 0, len(name), 1) + name.encode("utf-16-le"))
        pos += len(stream)
    return glob + rec(0x000A, b"") + b"".join(streams)


def read(raw: bytes, name: str, sheet=None, field_map=None) -> tuple[pd.DataFrame, ReadReport]:
    report = ReadReport(filename=name)
    return tables.read_table(raw, name, report, sheet, field_map), report


# ---------------------------------------------------------------- huge and sparse Excel sheets

CHILD = r"""
import json, resource, sys
sys.path.insert(0, sys.argv[1])
from coverage.catalog import load_classes
from coverage.errors import CoverageError
from geodata.io import read_facilities
classes = load_classes()
files = json.loads(sys.argv[2])
# No more than 1 GB more address space: without the cap, reading fails with MemoryError at once
# instead of taking the machine's memory.
vm = int(open("/proc/self/statm").read().split()[0]) * resource.getpagesize()
resource.setrlimit(resource.RLIMIT_AS, (vm + 2**30, resource.RLIM_INFINITY))
out = []
for path in files:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        read_facilities(path, None, classes)
        result = "read"
    except CoverageError as err:
        result = str(err)
    except MemoryError:
        result = "MemoryError"
    out.append({"result": result, "growth_mb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024})
print(json.dumps(out, ensure_ascii=False))
"""


@pytest.mark.slow
def test_sparse_xlsx_refused_in_chinese_before_allocating(tmp_path):
    files = []
    for dimension in ("A1:XFD1048576", None, "A1"):  # declared, missing, lying
        raw = sparse_xlsx(dimension)
        assert len(raw) < 5000
        path = tmp_path / f"sparse-{dimension or 'none'}.xlsx".replace(":", "")
        path.write_bytes(raw)
        files.append(str(path))
    done = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), json.dumps(files)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    for (declared, r) in zip((True, False, False), results):
        message = r["result"]
        assert "工作表「台账」" in message and "A1:XFD1048576" in message and "172 亿" in message, message
        assert ("范围为" if declared else "内容延伸到") in message
        assert "上限" in message and "删除" in message and "另存" in message
        assert r["growth_mb"] < 300, r


def test_sparse_sheet_within_the_cap_costs_its_content_not_its_extent():
    sheet = ('<dimension ref="A1:D500000"/><sheetData><row r="1">' + inline("A1", "名称") + inline("B1", "类型")
             + inline("C1", "经度") + inline("D1", "纬度") + '</row><row r="2">' + inline("A2", "甲") + inline("B2", "社工站")
             + '<c r="C2"><v>110.5</v></c><c r="D2"><v>32.5</v></c></row>'
             + '<row r="500000"><c r="D500000"><v>7</v></c></row></sheetData>')
    table, report = read(xlsx_parts({"台账": sheet}), "a.xlsx")
    assert table["名称"].tolist() == ["甲", np.nan] and table["纬度"].tolist() == ["32.5", "7"]
    assert table.index.tolist() == [0, 499998]  # as pandas numbers them (row position below the header)


def test_cell_cap_holds_while_reading(monkeypatch):
    monkeypatch.setattr(tables, "MAX_CELLS", 1000)
    with pytest.raises(InputFileError, match=r"内容延伸到 A1:H126"):  # no <dimension>: stopped at row 126
        read(xlsx_parts({"表": grid_sheet(200, 8)}), "a.xlsx")
    with pytest.raises(InputFileError, match=r"范围为 A1:H200"):
        read(xlsx_parts({"表": grid_sheet(200, 8, "A1:H200")}), "a.xlsx")
    # The cap is for the whole workbook: two sheets of 800 cells are too many together.
    with pytest.raises(InputFileError, match="前面的工作表已读取 800"):
        read(xlsx_parts({"一": grid_sheet(100, 8), "二": grid_sheet(100, 8)}), "a.xlsx")
    table, _ = read(xlsx_parts({"一": grid_sheet(100, 8), "二": grid_sheet(100, 8)}), "a.xlsx", sheet="二")
    assert len(table) == 99  # the chosen sheet alone fits (its first row is taken as the header)
    with pytest.raises(InputFileError, match="共享字符串"):
        read(xlsx_parts({"表": "<sheetData/>"}, sst=[f"s{i}" for i in range(1001)]), "a.xlsx")


def test_malformed_workbooks_refused_in_chinese(monkeypatch):
    crowded = '<sheetData><row r="1">' + '<c r="A1"><v>1</v></c>' * 20000 + "</row></sheetData>"
    with pytest.raises(InputFileError, match="单元格过多或有重复"):
        read(xlsx_parts({"表": crowded}), "a.xlsx")
    monkeypatch.setattr(tables, "MAX_XLSX_SHEET_BYTES", 10_000)
    with pytest.raises(InputFileError, match="解压后有"):
        read(xlsx_parts({"表": grid_sheet(100, 8)}), "a.xlsx")
    with pytest.raises(InputFileError, match="无法读取 Excel"):
        read(xlsx_parts({"表": "<sheetData><row><c><v>1</v>"}), "a.xlsx")


# ---------------------------------------------------------------- Excel values as pandas gives them

def varied_workbook() -> bytes:
    import datetime as dt
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "台账"
    ws["A1"] = "十堰市养老服务设施台账"
    ws.append([])
    ws.append(["编号", "名称", "类型", "经度", "纬度", "建成时间", "床位数", "备注"])
    ws.append([1, "甲", "社工站", 110.05, 32.05, dt.datetime(2019, 6, 1), 30, True])
    ws.append(["A2", "乙", "救助站", "110°47'12\"", "32.5", dt.date(2020, 1, 1), 12.5, None])
    ws.append([3.0, "NA", "None", 1e20, -0.0, dt.time(10, 30), "=1+1", "#N/A"])
    ws.cell(row=9, column=3, value="远处")
    ws.cell(row=25, column=2, value="更远")
    ws.cell(row=40, column=20).border = openpyxl.styles.Border(left=openpyxl.styles.Side(style="thin"))
    wb.create_sheet("说明")["B2"] = "填报说明"
    wb.create_sheet("空表")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


HAND_SHEET = (  # inline and rich strings, errors, booleans, ISO dates, rows/cells without numbers, rows out of order
    '<dimension ref="A1"/><sheetData>'
    '<row r="2">' + inline("B2", "名称") + '<c r="C2" t="inlineStr"><is><r><t>类</t></r><r><t>型</t></r><rPh sb="0" eb="1"><t>ルイ</t></rPh></is></c>'
    + inline("D2", "经度") + '</row>'
    '<row><c t="inlineStr"><is><t>x</t></is></c><c t="str"><f>A1</f><v>社工站</v></c><c><v>110.5</v></c></row>'
    '<row r="6"><c r="B6" t="e"><v>#N/A</v></c><c r="C6" t="b"><v>1</v></c><c r="D6"><v>7</v></c><c r="E6" s="0"/></row>'
    '<row r="5"><c r="A5"><v>1</v></c></row>'
    '<row r="8"><c r="D8"><v>1</v></c><c r="B8" t="s"><v>0</v></c></row>'
    '<row r="9"><c r="A9" t="d"><v>2020-01-02T03:04:05</v></c><c r="B9"><v>0.1</v></c><c r="C9"><v>1E3</v></c></row>'
    '<row r="30"><c r="C30" t="s"><v>1</v></c></row><row r="31"/>'
    "</sheetData>")


def pandas_sheets(raw: bytes, engine: str) -> dict[str, pd.DataFrame]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas deprecates its xlrd engine
        return pd.read_excel(io.BytesIO(raw), sheet_name=None, header=None, dtype=str, engine=engine)


@pytest.mark.parametrize("raw, name, engine", [
    (varied_workbook(), "v.xlsx", "openpyxl"),
    (xlsx_parts({"手写": HAND_SHEET}, sst=["乱序", "远&amp;处"]), "h.xlsx", "openpyxl"),
    (biff8({"台账": ((5, 8), [(0, 0, "XX台账"), (2, 0, "名称"), (2, 1, "类型"), (2, 2, "经度"), (3, 0, "甲"),
                              (3, 1, "社工站"), (3, 2, 110.5), (4, 0, "乙"), (4, 6, 3), (30, 1, "远")]),
            "说明": (None, [(0, 0, "说明")])}), "b.xls", "xlrd"),
])
def test_excel_cells_as_pandas_read_excel_gives_them(raw, name, engine):
    """The streamed reader keeps pandas.read_excel(header=None, dtype=str)'s values and row numbers;
    only empty rows below the top ten are left out (they are dropped below the header anyway)."""
    expected = pandas_sheets(raw, engine)
    names, book = (tables._xls_book if name.endswith(".xls") else tables._xlsx_book)(raw, name, None)
    assert names == list(expected)
    for sheet, theirs in expected.items():
        ours = book[sheet]
        if theirs.empty:
            assert ours.empty
            continue
        assert list(ours.columns) == list(theirs.columns)
        left_out = theirs.index.difference(ours.index)
        assert (left_out >= 10).all() and theirs.loc[left_out].isna().all(axis=None)
        pd.testing.assert_frame_equal(ours, theirs.loc[ours.index], check_index_type=False)
    for fm in (None, {"name": "名称"}):  # and the header found the same way
        table, report = read(raw, name, field_map=fm)
        assert report.sheets == list(expected) and report.encoding == name.rsplit(".", 1)[1]


def test_xls_cells_counted_as_xlrd_stores_them(monkeypatch):
    monkeypatch.setattr(tables, "MAX_CELLS", 1000)
    with pytest.raises(InputFileError, match="范围为 A1:IV65536"):
        read(biff8({"台账": ((65536, 256), [(0, 0, "名称"), (65535, 255, 1)])}), "s.xls")
    with pytest.raises(InputFileError, match="内容延伸到 A1:IV65536"):  # DIMENSIONS missing
        read(biff8({"台账": (None, [(0, 0, "名称"), (65535, 255, 1)])}), "s.xls")
    with pytest.raises(InputFileError, match="没有名为"):
        read(biff8({"台账": (None, [(0, 0, "名称")])}), "s.xls", sheet="别的")


# ---------------------------------------------------------------- CSV

def reference_csv(text: str, field_map=None) -> pd.DataFrame:
    """The whole text through the csv module: blank rows dropped, rows padded, header found."""
    sample = text[:20000].splitlines()[:20]
    sep = "\t" if sum(line.count("\t") for line in sample) > sum(line.count(",") for line in sample) else ","
    rows = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=sep) if any(c.strip() for c in r)]
    width = max(map(len, rows))
    table = pd.DataFrame([r + [""] * (width - len(r)) for r in rows], dtype=str)
    return tables._find_header(table, field_map)


HEAD = "编号,名称,类型,经度,纬度,地址\n"
CSV_CASES = {
    "title and blank rows": "\n,,,\n  ,\t\nXX市养老机构台账\n\n" + HEAD + "\n1,甲,社工站,110.05,32.05,某地\n , , \n2,乙,救助站,1,2,3\n",
    "quoted newline and quotes": HEAD + '1,"甲\n中心",社工站,110.05,32.05,"某,地"\n2,"乙""站",救助站,1,2,3\n',
    "crlf": (HEAD + "1,甲,社工站,110.05,32.05,某地\n2,乙,救助站\n").replace("\n", "\r\n"),
    "cr": (HEAD + "1,甲,社工站,110.05,32.05,某地\n").replace("\n", "\r"),
    "no final newline": HEAD + "1,甲,社工站,110.05,32.05,某地",
    "header only": HEAD.strip(),
    "header late": "".join(f"说明{i}\n" for i in range(9)) + HEAD + "1,甲,社工站,110,32,x\n",
    "no recognised header": "台账\n机构名,服务类型,东经,北纬\n甲中心,养老服务中心,110.05,32.05\n",
    "tabs": (HEAD + "1,甲,社工站,110,32,某地\n").replace(",", "\t"),
    "NA kept as text": HEAD + "NA,None,null,#N/A,nan, \n",
    "wide title": "XX台账,,,,,,,,,,\n" + HEAD + "1,甲,社工站,110,32,x\n",
    "many rows": HEAD + "".join(f"{i},名{i},社工站,110.{i},32,地址{i}\n" for i in range(300)),
}


@pytest.mark.parametrize("case", list(CSV_CASES))
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "utf-16"])
def test_chunked_csv_equals_reading_it_whole(case, encoding, monkeypatch):
    monkeypatch.setattr(tables, "CHUNK_CELLS", 30)     # many chunks
    monkeypatch.setattr(tables, "CSV_HEAD_BYTES", 40)  # the head grown until the header is in it
    text = CSV_CASES[case]
    table, report = read(text.encode(encoding), "f.csv")
    expected = reference_csv(text)
    assert list(table.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(table.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False)
    assert report.encoding == {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "gbk": "GBK/GB18030",
                               "utf-16": "UTF-16(Excel Unicode 文本)"}[encoding]


def test_gbk_ledger_with_title_row_and_ragged_rows():
    text = ("十堰市民政服务设施台账(2025年12月)\n填报单位:市民政局,,\n" + HEAD.replace("\n", ",床位数\n")
            + '1,武当路街道社工站,社工站,110.786667,32.652345,"十堰市茅箭区武当路街道人民路1号,2楼",\n'
            + "2,大川镇敬老院,敬老院,110°47′12″,北纬32度30分\n"
            + "3,茅塔乡幸福院,农村幸福院,１１０．５,32.1,茅塔乡,20\n")
    fac, report = read_facilities(text.encode("gbk"), "台账.csv", CLASSES)
    assert report.encoding == "GBK/GB18030" and not report.notes[:0]
    assert fac["name"].tolist() == ["武当路街道社工站", "大川镇敬老院", "茅塔乡幸福院"]
    assert fac["address"].tolist() == ["十堰市茅箭区武当路街道人民路1号,2楼", "", "茅塔乡"]
    assert fac["x_raw"].tolist() == pytest.approx([110.786667, 110 + 47 / 60 + 12 / 3600, 110.5])
    assert fac["y_raw"].tolist() == pytest.approx([32.652345, 32.5, 32.1])
    assert fac["beds"].iloc[2] == 20


def test_gbk_found_even_when_the_first_lines_are_ascii(monkeypatch):
    monkeypatch.setattr(tables, "CSV_HEAD_BYTES", 64)
    text = "name,type,lon,lat\n" + "a,社工站,110.1,32.1\n".replace("社工站", "x") * 50 + "乙,社工站,110.2,32.2\n"
    table, report = read(text.encode("gbk"), "f.csv")
    assert report.encoding == "GBK/GB18030" and table["name"].iloc[-1] == "乙" and len(table) == 51


@pytest.mark.parametrize("head_bytes", [1 << 20, 64])  # the wide row among the first lines, or met by pandas later
def test_row_with_more_fields_than_the_header_is_kept_with_a_note(head_bytes, monkeypatch):
    text = HEAD + "1,甲,社工站,110.05,32.05,地址\n" * 30 + "2,乙,社工站,110.06,32.06,地址,多余,更多\n3,丙,社工站,110.07,32.07,地址\n"
    monkeypatch.setattr(tables, "CHUNK_CELLS", 50)
    monkeypatch.setattr(tables, "CSV_HEAD_BYTES", head_bytes)
    monkeypatch.setattr(tables, "CSV_SPARE_COLUMNS", 1)  # so that pandas meets a row wider than expected
    fac, report = read_facilities(text.encode(), "f.csv", CLASSES)
    assert len(fac) == 32 and fac["name"].tolist()[-2:] == ["乙", "丙"]
    note = [n for n in report.notes if "多于表头" in n]
    assert note and "1 条记录" in note[0] and "第 31 条" in note[0] and "列, 列_2" in note[0]
    assert {"列", "列_2"} <= set(report.columns_available)
    # A row far wider than allowed for is refused with its line and the likely cause.
    monkeypatch.setattr(tables, "CSV_MAX_COLUMNS", 20)
    wide = HEAD + "1,甲,社工站,110.05,32.05,地址\n" * 20 + "2,乙" + ",x" * 30 + "\n"
    with pytest.raises(InputFileError, match=r"第 22 行有 32 个字段.*上限.*分隔符和引号"):
        read_facilities(wide.encode(), "f.csv", CLASSES)


def test_unmatched_quote_refused_with_its_line():
    text = HEAD + "1,甲,社工站,110.05,32.05,地址\n" + '2,"乙,社工站,110.06,32.06,地址\n3,丙,社工站,110.07,32.07,地址\n'
    with pytest.raises(InputFileError, match="第 3 行有未配对的引号"):
        read_facilities(text.encode(), "f.csv", CLASSES)


@pytest.mark.parametrize("encoding", ["utf-8", "gbk", "utf-16"])
def test_nul_characters_refused_as_before(encoding, monkeypatch):
    monkeypatch.setattr(tables, "CSV_HEAD_BYTES", 64)  # the NUL beyond the first lines, where pandas reads
    text = HEAD + "1,A一,社工站,110.05,32.05,地址\n" * 20 + "2,乙\x00丙,社工站,110.06,32.06,地址\n"
    with pytest.raises(InputFileError, match="空字符"):
        read(text.encode(encoding), "f.csv")
    table, _ = read(text.replace("\x00", "").encode(encoding), "f.csv")  # "A一" is 0x0041 0x4E00: no NUL
    assert table["名称"].iloc[-1] == "乙丙"


def test_csv_cell_cap(monkeypatch):
    monkeypatch.setattr(tables, "MAX_CELLS", 100)
    monkeypatch.setattr(tables, "CHUNK_CELLS", 30)
    with pytest.raises(InputFileError, match="超过可读取的上限.*拆分"):
        read(("名称,类型,经度,纬度\n" + "甲,社工站,110,32\n" * 40).encode(), "f.csv")


# ---------------------------------------------------------------- coordinates

TRICKY = ["110.786667", "１１０．５", "110°47'12\"", "110°47′12″", "110度47分12秒", "东经110°47'12\"", "32°30'N",
          "110:30:00", "", "abc", "110°75'00\"", " 110.5 ", "\t32.1\n", "+110", "-110.5", ".5", "5.", "1e3", "1E-3",
          "1e400", "nan", "inf", "1_000", "110,5", "110。5", "西经 110°30′", "S32.5", "北纬32度30分", "１１０°３０′",
          "110° 30' 15.5\"", "  ", "\u3000110.5", "110.5\x0b", "待核实", "110度", "110 30", "1,100.5", "0x10",
          "32.123456789012345678", "2.4703282292062327e-324", "0.1000000000000000055511151231257827"]


@pytest.mark.parametrize("as_input", [
    lambda v: pd.Series(v, dtype="str"),
    lambda v: pd.Series(v, dtype="str", index=np.arange(len(v)) * 3 + 7),  # as a table below its header
    lambda v: pd.Series(v + [None, np.nan, 110.5, 32, True, np.float32(110.1), pd.NA], dtype=object),
    lambda v: v + [None, 110.5],
    lambda v: np.array(v, dtype=object),
])
def test_vectorised_coordinates_equal_parse_coordinate(as_input):
    values = as_input(list(TRICKY))
    expected = np.array([parse_coordinate(v) for v in values], dtype=float)
    got = parse_coordinates(values)
    assert got.dtype == float and np.array_equal(got, expected, equal_nan=True)
    assert np.array_equal(parse_coordinate(values), expected, equal_nan=True)  # the column form


def test_vectorised_coordinates_on_many_decimals():
    rng = np.random.default_rng(3)
    values = [f"{v:.{d}f}" for v, d in zip(rng.uniform(-180, 180, 20000), rng.integers(0, 18, 20000))]
    values += [repr(float(v)) for v in rng.uniform(0, 1, 2000)]
    expected = np.array([parse_coordinate(v) for v in values])
    assert np.array_equal(parse_coordinates(pd.Series(values, dtype="str")), expected)
    assert np.array_equal(parse_coordinates(pd.Series([110.5, np.nan])), [110.5, np.nan], equal_nan=True)
    assert parse_coordinates(pd.Series([], dtype="str")).shape == (0,)
