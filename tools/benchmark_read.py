"""Benchmark (run on demand, not a test): reading large facility ledgers with geodata.io.read_facilities.

Generates, in a temporary directory, ledgers in the planners' format (a title row above the header
编号, 名称, 类型, 经度, 纬度, 地址, 状态, 床位数; Chinese names and addresses; coordinates in China,
a few in DMS or full-width digits, a few blank or swapped):

  csv-300k    300,000 rows, GBK CSV
  xlsx-300k   300,000 rows, XLSX (shared strings, as Excel writes them)
  csv-150mb   ~150 MB UTF-8 CSV with BOM (about 0.9 million rows)
  sparse-xlsx a 2 KB workbook with one cell at A1 and one at XFD1048576 (must be refused quickly)

and reads each in a fresh subprocess, printing the read time (s) and the child's peak RSS (MB, from
resource.getrusage), next to its RSS before reading (imports only).

Usage:
  .venv/bin/python tools/benchmark_read.py              # full run (about a minute to generate, a minute to read)
  .venv/bin/python tools/benchmark_read.py --quick      # 30,000 rows and a 15 MB CSV
  options: --rows N, --big-mb M, --cases csv-300k,sparse-xlsx, --timeout S, --keep DIR (reuse
  generated files), --root PATH (benchmark another checkout, e.g. `git archive HEAD` unpacked),
  --profile CASE (print the top of a cProfile of read_facilities for that case), --limit-gb G
  (address space a child may take beyond its imports, default 6; a runaway read fails with MemoryError)
"""
from __future__ import annotations

import argparse
import io
import json
import random
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADER = ["编号", "名称", "类型", "经度", "纬度", "地址", "状态", "床位数"]

CITIES = [  # province, city, districts, centre lon, lat
    ("湖北省", "十堰市", ["张湾区", "茅箭区", "郧阳区", "丹江口市", "房县", "竹山县"], 110.79, 32.63),
    ("湖北省", "武汉市", ["江岸区", "武昌区", "洪山区", "汉阳区", "江夏区"], 114.30, 30.59),
    ("湖北省", "宜昌市", ["西陵区", "伍家岗区", "夷陵区", "宜都市"], 111.29, 30.70),
    ("河南省", "南阳市", ["宛城区", "卧龙区", "邓州市", "淅川县"], 112.53, 32.99),
    ("四川省", "成都市", ["锦江区", "青羊区", "武侯区", "双流区", "郫都区"], 104.07, 30.57),
    ("广东省", "广州市", ["越秀区", "海珠区", "天河区", "白云区", "番禺区"], 113.26, 23.13),
    ("山东省", "青岛市", ["市南区", "市北区", "黄岛区", "崂山区", "即墨区"], 120.38, 36.07),
    ("甘肃省", "兰州市", ["城关区", "七里河区", "安宁区", "榆中县"], 103.83, 36.06),
    ("黑龙江省", "哈尔滨市", ["道里区", "南岗区", "香坊区", "松北区"], 126.63, 45.75),
    ("云南省", "昆明市", ["五华区", "盘龙区", "官渡区", "西山区"], 102.83, 24.88),
]
TOWNS = ["花果街道", "红卫街道", "车城路街道", "大川镇", "黄龙镇", "方滩乡", "茅塔乡", "柏林镇", "城关镇", "新城街道",
         "东风街道", "向阳镇", "白桑关镇", "安阳镇", "杨溪铺镇", "青山镇", "石鼓镇", "官山镇", "龙坝乡", "土门镇"]
COMMUNITIES = ["红星社区", "幸福社区", "和平村", "新华村", "民主社区", "团结村", "光明社区", "胜利村", "五堰社区", "柳林村"]
ROADS = ["人民路", "解放路", "北京路", "朝阳路", "东岳路", "车城路", "公园路", "建设大道", "发展大道", "滨江路"]
TYPES = [  # (label, suffix used in the facility name, weight)
    ("养老服务中心", "养老服务中心", 8), ("社区日间照料中心", "日间照料中心", 14), ("农村幸福院", "幸福院", 14),
    ("敬老院", "敬老院", 6), ("社工站", "社工站", 6), ("儿童之家", "儿童之家", 12), ("救助管理站", "救助管理站", 1),
    ("未成年人保护工作站", "未成年人保护工作站", 4), ("社区综合服务站", "社区综合服务站", 14), ("党群服务中心", "党群服务中心", 8),
    ("福彩投注站点", "福彩投注站", 6), ("公益性公墓", "公益性公墓", 2), ("婚姻登记处", "婚姻登记处", 1), ("老年大学", "老年大学", 2),
    ("助餐服务点", "老年助餐点", 2),
]
STATUSES = ["运营", "运营", "运营", "运营", "在建", "停业", "筹建", "已撤销"]
FULLWIDTH = str.maketrans("0123456789.", "０１２３４５６７８９．")


def _dms(value: float, kind: str) -> str:
    d = int(value)
    m = int((value - d) * 60)
    s = (value - d - m / 60) * 3600
    return f"{'东经' if kind == 'lon' else '北纬'}{d}°{m}′{s:.2f}″" if random.random() < 0.5 else f"{d}度{m}分{s:.1f}秒"


def _coord(value: float, kind: str) -> str:
    r = random.random()
    if r < 0.01:
        return _dms(value, kind)
    if r < 0.015:
        return f"{value:.6f}".translate(FULLWIDTH)
    if r < 0.02:
        return ""
    if r < 0.021:
        return "待核实"
    return f"{value:.6f}"


def ledger_rows(n: int, seed: int = 1):
    """Yield n data rows of a provincial facility ledger (strings)."""
    random.seed(seed)
    labels = [t for t in TYPES for _ in range(t[2])]
    for i in range(n):
        province, city, districts, lon0, lat0 = random.choice(CITIES)
        district, town, comm = random.choice(districts), random.choice(TOWNS), random.choice(COMMUNITIES)
        label, suffix, _ = random.choice(labels)
        if label == "敬老院" and random.random() < 0.3:
            label = f"{town[:-2] if town.endswith('街道') else town[:-1]}敬老院"  # "XX镇敬老院": a few hundred labels
        lon, lat = lon0 + random.uniform(-0.4, 0.4), lat0 + random.uniform(-0.3, 0.3)
        x, y = _coord(lon, "lon"), _coord(lat, "lat")
        if random.random() < 0.002:
            x, y = y, x
        beds = str(random.choice([0, 10, 20, 30, 50, 80, 120, 200])) if label not in ("社工站", "儿童之家") and random.random() < 0.8 else ""
        yield [f"{city[:2]}{i + 1:07d}", f"{city}{district}{town}{comm}{suffix}", label, x, y,
               f"{province}{city}{district}{town}{random.choice(ROADS)}{random.randint(1, 999)}号", random.choice(STATUSES), beds]


TITLE = "XX省民政服务设施台账(截至2025年12月31日)"


def write_csv(path: Path, n: int | None, encoding: str, target_bytes: int | None = None) -> int:
    """Write a ledger CSV; n rows, or rows until the file reaches target_bytes. Returns the row count."""
    count = 0
    with open(path, "w", encoding=encoding, newline="") as f:
        f.write(TITLE + "\r\n")
        f.write("填报单位: 省民政厅,,,,,,,\r\n")
        f.write(",".join(HEADER) + "\r\n")
        rows = ledger_rows(n if n is not None else 10**9)
        batch = []
        for row in rows:
            batch.append(",".join(row))
            count += 1
            if len(batch) == 10000:
                f.write("\r\n".join(batch) + "\r\n")
                batch = []
                if target_bytes is not None and f.tell() >= target_bytes:
                    break
        if batch:
            f.write("\r\n".join(batch) + "\r\n")
    return count


def write_xlsx(path: Path, n: int) -> None:
    """The ledger as Excel saves it: shared strings, a <dimension>, numbers as numbers (coordinates
    typed as decimals, beds), DMS and full-width coordinates as text. Written directly (openpyxl's
    write-only mode writes inline strings and no <dimension>, unlike Excel)."""
    from xml.sax.saxutils import escape

    strings: dict[str, int] = {}

    def cell(ref: str, value: str) -> str:
        if value == "":
            return ""
        try:
            number = float(value)
        except ValueError:
            number = None
        if number is not None and value.isascii():
            return f'<c r="{ref}"><v>{value}</v></c>'
        return f'<c r="{ref}" t="s"><v>{strings.setdefault(value, len(strings))}</v></c>'

    letters = "ABCDEFGH"
    rows = [[TITLE], HEADER] + [r for r in ledger_rows(n)]
    body = []
    for i, row in enumerate(rows, start=1):
        body.append(f'<row r="{i}">' + "".join(cell(f"{letters[j]}{i}", v) for j, v in enumerate(row)) + "</row>")
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    sheet = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet {ns}><dimension ref="A1:H{len(rows)}"/>'
             f'<sheetViews><sheetView workbookViewId="0"/></sheetViews><sheetFormatPr defaultRowHeight="14.4"/>'
             f'<sheetData>{"".join(body)}</sheetData></worksheet>')
    sst = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst {ns} count="{len(strings)}" uniqueCount="{len(strings)}">'
           + "".join(f"<si><t>{escape(s)}</t></si>" for s in strings) + "</sst>")
    parts = _package_parts(sheet, sst)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in parts.items():
            zf.writestr(name, text)


def _package_parts(sheet_xml: str, sst_xml: str | None = None) -> dict[str, str]:
    """The parts of a one-sheet workbook (sheet named 设施台账/台账) around a sheet's XML."""
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel_ns = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    rels = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    parts = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{ct}.worksheet+xml"/>'
        + (f'<Override PartName="/xl/sharedStrings.xml" ContentType="{ct}.sharedStrings+xml"/>' if sst_xml else "")
        + "</Types>",
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{rels}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<?xml version="1.0" encoding="UTF-8"?><workbook {ns} {rel_ns}><sheets>'
        '<sheet name="设施台账" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{rels}/worksheet" Target="worksheets/sheet1.xml"/>'
        + (f'<Relationship Id="rId2" Type="{rels}/sharedStrings" Target="sharedStrings.xml"/>' if sst_xml else "")
        + "</Relationships>",
        "xl/worksheets/sheet1.xml": sheet_xml,
    }
    if sst_xml:
        parts["xl/sharedStrings.xml"] = sst_xml
    return parts


def write_sparse_xlsx(path: Path) -> None:
    """One cell at A1 and one at XFD1048576, dimension A1:XFD1048576 (a few KB on disk)."""
    path.write_bytes(sparse_xlsx_bytes())


def sparse_xlsx_bytes(dimension: str | None = "A1:XFD1048576", far: str = "XFD1048576") -> bytes:
    """A workbook with "名称" at A1 and 1 at `far`, declaring `dimension` (none when None)."""
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    row = far.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    sheet = (f'<?xml version="1.0" encoding="UTF-8"?><worksheet {ns}>{dim}<sheetData>'
             '<row r="1"><c r="A1" t="inlineStr"><is><t>名称</t></is></c></row>'
             f'<row r="{row}"><c r="{far}"><v>1</v></c></row></sheetData></worksheet>')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in _package_parts(sheet).items():
            zf.writestr(name, text)
    return buf.getvalue()


CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from coverage.catalog import load_classes
from coverage.errors import CoverageError
from geodata.io import read_facilities
classes = load_classes()
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
out = {"rss_before_mb": rss0}
profile = sys.argv[3] == "1"
limit_gb = float(sys.argv[4])
if limit_gb > 0:  # address space allowed beyond what the imports took: a runaway read fails with MemoryError
    vm = int(open("/proc/self/statm").read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (vm + int(limit_gb * 2**30), resource.RLIM_INFINITY))
if profile:
    import cProfile, pstats
    prof = cProfile.Profile()
    prof.enable()
t = time.perf_counter()
try:
    fac, report = read_facilities(sys.argv[2], None, classes)
    out.update(status="ok", rows=len(fac), with_coords=int(fac["lon"].notna().sum()), notes=report.notes[:4])
except CoverageError as err:
    out.update(status="refused", message=str(err))
except MemoryError:
    out.update(status="MemoryError (address-space limit reached)")
out["seconds"] = time.perf_counter() - t
out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
if profile:
    prof.disable()
    pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(35)
print(json.dumps(out, ensure_ascii=False))
"""


def run_case(root: Path, path: Path, timeout: float, profile: bool = False, limit_gb: float = 0) -> dict:
    cmd = [sys.executable, "-c", CHILD, str(root), str(path), "1" if profile else "0", str(limit_gb)]
    t = time.perf_counter()
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"status": f"timeout (> {timeout:.0f} s, killed)", "seconds": time.perf_counter() - t}
    if profile:
        print(done.stderr[-12000:])
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or [f"exit code {done.returncode}"]
        return {"status": f"crashed: {tail[0][:200]}", "seconds": time.perf_counter() - t}
    return json.loads(done.stdout.strip().splitlines()[-1])


def make(case: str, path: Path, rows: int, big_mb: float) -> None:
    {"csv-300k": lambda: write_csv(path, rows, "gbk"),
     "xlsx-300k": lambda: write_xlsx(path, rows),
     "csv-150mb": lambda: write_csv(path, None, "utf-8-sig", target_bytes=int(big_mb * 2**20)),
     "sparse-xlsx": lambda: write_sparse_xlsx(path)}[case]()


def main() -> None:
    if sys.argv[1:2] == ["--make"]:
        make(sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="30,000 rows and a 15 MB CSV")
    ap.add_argument("--rows", type=int, help="rows of the CSV/XLSX ledgers (default 300,000)")
    ap.add_argument("--big-mb", type=float, help="size of the big CSV in MB (default 150)")
    ap.add_argument("--cases", default="csv-300k,xlsx-300k,csv-150mb,sparse-xlsx")
    ap.add_argument("--timeout", type=float, default=900, help="seconds before a case is killed")
    ap.add_argument("--keep", type=Path, help="directory for the generated files (reused when present)")
    ap.add_argument("--root", type=Path, default=ROOT, help="checkout whose geodata.io is benchmarked")
    ap.add_argument("--profile", help="case to run under cProfile (top functions printed)")
    ap.add_argument("--limit-gb", type=float, default=6,
                    help="address space a child may use beyond its imports (0: no limit); keeps a runaway "
                         "read, e.g. the sparse workbook on code without the cap, from taking the machine")
    args = ap.parse_args()
    rows = args.rows or (30_000 if args.quick else 300_000)
    big_mb = args.big_mb or (15 if args.quick else 150)
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    tmp = None
    if args.keep:
        folder = args.keep
        folder.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="mz_bench_")
        folder = Path(tmp.name)
    files = {
        "csv-300k": folder / f"ledger_{rows}_gbk.csv",
        "xlsx-300k": folder / f"ledger_{rows}.xlsx",
        "csv-150mb": folder / f"ledger_{big_mb:g}mb_utf8bom.csv",
        "sparse-xlsx": folder / "sparse_A1_XFD1048576.xlsx",
    }
    print(f"code under test: {args.root}   data: {folder}")
    try:
        for case in cases:
            path = files[case]
            if not path.exists():  # in a subprocess: a child's ru_maxrss starts from its parent's
                t = time.perf_counter()
                subprocess.run([sys.executable, __file__, "--make", case, str(path), str(rows), str(big_mb)], check=True)
                print(f"  generated {path.name} ({path.stat().st_size / 2**20:.1f} MB) in {time.perf_counter() - t:.1f} s", flush=True)
        print(f"{'case':<12} {'file MB':>8} {'read s':>8} {'peak RSS MB':>12} {'RSS before':>11}  result")
        for case in cases:
            path = files[case]
            r = run_case(args.root, path, args.timeout, profile=(case == args.profile), limit_gb=args.limit_gb)
            result = r["status"]
            if result == "ok":
                result = f"ok, {r['rows']:,} rows ({r['with_coords']:,} with coordinates)"
            elif result == "refused":
                result = "refused: " + r["message"].splitlines()[0][:150]
            peak = f"{r['peak_rss_mb']:12.0f}" if "peak_rss_mb" in r else f"{'-':>12}"
            before = f"{r['rss_before_mb']:11.0f}" if "rss_before_mb" in r else f"{'-':>11}"
            print(f"{case:<12} {path.stat().st_size / 2**20:8.1f} {r['seconds']:8.1f} {peak} {before}  {result}", flush=True)
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    main()
