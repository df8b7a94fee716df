"""The meeting pack: thematic maps, a Word report, slides, a PDF and an Excel ledger, in Chinese.

Every number comes from one `CoverageResult` through `coverage.evaluation`, so the report, the
slides, the PDF and the ledger agree with `coverage.csv`.

Targets whose class the ledger holds none of (`no_data`) are never shown as a gap or a failure:
tables, slides, maps and the ledger say `NO_DATA_MESSAGE`, their figures are marked `NO_DATA_MARK`.
File and zip-entry names built from plan names or target ids go through `safe_filename`; user text
is written as plain text everywhere (python-docx/pptx/openpyxl cells, fpdf2 without markdown,
matplotlib without mathtext). The data source (file names, encodings, sheets, coordinate systems)
comes from `PackData.quality` (see `source_lines`).

Fonts: Word gets 宋体/黑体 (w:eastAsia set on every style used, theme fonts removed so Word does
not substitute), slides 微软雅黑 (a:ea on every run); these are the fonts of a 民政局 Windows PC.
The PDF and the maps embed Noto Sans CJK SC (PyPI mplfonts), so they look the same everywhere.
"""
from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from coverage.evaluate import (
    AREA_CODE, COUNTY_LEVELS, NO_DATA_MESSAGE, CoverageResult, counting_facilities, county_pool, units_at_level,
)
from coverage.evaluation import (
    EVALUATION_COLUMNS, INDICATOR_COLUMNS, district_table, indicator_table, percent_text,
)
from geodata.export import _safe, fit_columns, plain_text, safe_filename

FORMATS = {"docx": "Word 报告", "pptx": "PPT 幻灯片", "pdf": "PDF 报告", "xlsx": "Excel 台账", "png": "专题图 PNG(300dpi) + 分区图册 PDF",
           "svg": "专题图 SVG(矢量)"}
WORD_BODY_FONT, WORD_HEADING_FONT, LATIN_FONT = "宋体", "黑体", "Times New Roman"
SLIDE_FONT = "微软雅黑"
#: Put after a figure that rests on a class the ledger holds none of.
NO_DATA_MARK = "※"
#: The 是否达标 cell of such a target (neither 是 nor 否).
NO_DATA_VERDICT = "待确认"
ZIP_NAME = "会议材料.zip"


@dataclass
class PackData:
    """Everything a pack is made from (already computed; building does no assignment)."""

    plan: str
    units: object  # GeoDataFrame of townships
    assigned: pd.DataFrame  # coverage.assign.assign_facilities output (with lon/lat)
    result: CoverageResult
    targets: pd.DataFrame  # the plan's catalogue rows
    classes: object  # ClassCatalog
    config: object  # CoverageConfig
    quality: dict = field(default_factory=dict)
    evaluation: pd.DataFrame | None = None  # coverage.evaluation.evaluation_table
    source: str = ""
    demo: bool = False
    made_on: date = field(default_factory=date.today)

    @property
    def date_text(self) -> str:
        return f"{self.made_on.year}年{self.made_on.month}月{self.made_on.day}日"

    @property
    def area_name(self) -> str:
        return self.plan.split("民政")[0].split("2022")[0] if "民政" in self.plan else "本地区"


def sheet_name(text: str, used: set[str]) -> str:
    """An Excel sheet name: no []:*?/\\, at most 31 characters, unique."""
    base = "".join(ch for ch in plain_text(text) if ch not in "[]:*?/\\").strip("'")[:31] or "Sheet"
    name, k = base, 2
    while name in used:
        name = f"{base[:28]}~{k}"
        k += 1
    used.add(name)
    return name


# ------------------------------------------------------------------ shared pieces

def _target_rows(data: PackData, target_ids: list[str] | None) -> pd.DataFrame:
    rows = data.targets
    if target_ids is not None:
        rows = rows[rows["target_id"].isin(target_ids)]
    return rows.reset_index(drop=True)


def _counting(data: PackData) -> pd.DataFrame:
    return counting_facilities(data.assigned, data.classes, data.config)


def _covered_codes(data: PackData, target) -> pd.Series:
    """Unit (or district) code -> covered, for the units the target counts (districts for the
    county levels, `COUNTY_LEVELS`, as the coverage rows give them)."""
    cov = data.result.coverage
    if target.measure == "count":
        return pd.Series(dtype=bool)
    unc = data.result.uncovered
    missing = set(unc.loc[unc["target_id"] == target.target_id, "unit_code"])
    if target.unit_level in COUNTY_LEVELS:
        codes = cov.loc[(cov["target_id"] == target.target_id) & (cov["district_code"] != AREA_CODE), "district_code"]
    else:
        codes = units_at_level(data.units, target.unit_level, data.config)["code"]
    return pd.Series({c: c not in missing for c in codes}, dtype=bool)


def _flag(value) -> bool:
    return False if value is None or (not isinstance(value, (bool, np.bool_)) and pd.isna(value)) else bool(value)


def _is_no_data(row: pd.Series) -> bool:
    """Whether a coverage row rests on a class the ledger holds none of."""
    return _flag(row.get("no_data", False))


def no_data_targets(data: PackData) -> set[str]:
    """Ids of the targets whose class the ledger holds none of (coverage column `no_data`)."""
    cov = data.result.coverage
    if "no_data" not in cov.columns:
        return set()
    return set(cov.loc[cov["no_data"].map(_flag), "target_id"])


def _mark(text: str) -> str:
    return f"{text}{NO_DATA_MARK}"


def _indicator_table(data: PackData, target_ids: list[str] | None) -> pd.DataFrame:
    """`indicator_table`, with the no-data targets' gap and verdict replaced and figures marked."""
    table = indicator_table(data.result, target_ids)
    nd = table["target_id"].isin(no_data_targets(data))
    if nd.any():
        table.loc[nd, "现状值"] = table.loc[nd, "现状值"].map(_mark)
        table.loc[nd, "差距"] = NO_DATA_MESSAGE
        table.loc[nd, "是否达标"] = NO_DATA_VERDICT
    return table


def _evaluation(data: PackData, target_ids: list[str] | None) -> pd.DataFrame | None:
    """The 评估 table of the chosen targets (None when there is none), no-data targets marked."""
    if data.evaluation is None or not len(data.evaluation):
        return None
    ev = data.evaluation if target_ids is None else data.evaluation[data.evaluation["target_id"].isin(target_ids)]
    ev = ev.copy()
    nd = ev["target_id"].isin(no_data_targets(data))
    if nd.any():
        for col in ("现状值", "完成率", "目标进度"):
            ev.loc[nd, col] = ev.loc[nd, col].astype(str).map(lambda v: v if v == "—" else _mark(v))
        ev.loc[nd, "状态"] = NO_DATA_MESSAGE
    return ev


def _no_data_note(data: PackData, target_ids: list[str] | None) -> str:
    """One sentence naming the chosen targets whose class the ledger holds none of ("" if none)."""
    rows = _target_rows(data, target_ids)
    names = rows.loc[rows["target_id"].isin(no_data_targets(data)), "indicator"].astype(str).tolist()
    if not names:
        return ""
    return (f"{NO_DATA_MARK} {NO_DATA_MESSAGE}: 以下 {len(names)} 项指标对应类别的设施在台账中没有任何记录 —— "
            f"{'、'.join(names)}。无法判断是确实没有还是未报送, 表中现状值只反映台账, 不据此判断差距或是否达标。")


def _summary_sentence(data: PackData, target_ids: list[str] | None) -> str:
    """How many chosen targets are met, not met, and cannot be judged (no ledger data)."""
    rows = indicator_table(data.result, target_ids)
    nd = rows["target_id"].isin(no_data_targets(data))
    met = rows["met"].map(_flag) & ~nd
    text = f"共 {len(rows)} 项指标: 已达标 {int(met.sum())} 项, 未达标 {int((~met & ~nd).sum())} 项"
    if nd.any():
        text += f", 台账中无此类设施、待确认 {int(nd.sum())} 项"
    return text + "。"


def _facility_points(data: PackData, class_id: str, counting: pd.DataFrame) -> pd.DataFrame:
    ids = set(counting.loc[counting["facility_class"] == class_id, "facility_id"])
    pts = data.assigned[data.assigned["facility_id"].isin(ids) & data.assigned["status"].isin(["assigned", "by_address"])]
    return pts.drop_duplicates("facility_id")


def _key_figures(row: pd.Series, districts: pd.DataFrame) -> list[tuple[str, str]]:
    """(label, value) pairs for a slide or a map subtitle; a no-data target has its figures marked
    and `NO_DATA_MESSAGE` for a gap (no 达标区县 count)."""
    no_data = _is_no_data(row)
    mark = _mark if no_data else str
    gap = NO_DATA_MESSAGE if no_data else ("已达标" if row["met"] else f"还需 {int(row['units_needed'])} 个")
    if row["measure"] == "count":
        return [("现有数量", mark(f"{int(row['units_covered'])} 个")), ("目标", f"{row['target_value']:g} 个({row['target_year']}年)"),
                ("差距", gap)]
    met = districts["met"].map(_flag)
    return [("覆盖率", mark(percent_text(row["rate"]))), ("目标", f"{row['target_rate'] * 100:g}%({row['target_year']}年)"),
            ("已覆盖", mark(f"{int(row['units_covered'])} / {int(row['units_total'])}")), ("差距", gap),
            ("达标区县", NO_DATA_VERDICT if no_data else f"{int(met.sum())} / {len(districts)}")]


def _subtitle(data: PackData, row: pd.Series) -> str:
    no_data = _is_no_data(row)
    if row["measure"] == "count":
        now = f"现有 {int(row['units_covered'])} 个"
        text = f"{now}{NO_DATA_MARK if no_data else ''} / 目标 {row['target_value']:g} 个({row['target_year']}年)"
        return f"{data.area_name} · " + (f"{NO_DATA_MESSAGE} · 台账{text}" if no_data else text)
    if no_data:
        return (f"{data.area_name} · {NO_DATA_MESSAGE} · 台账现状 {_mark(percent_text(row['rate']))} / 目标 "
                f"{row['target_rate'] * 100:g}%({row['target_year']}年)")
    gap = "已达标" if row["met"] else f"还需{int(row['units_needed'])}个单元"
    return (f"{data.area_name} · 现状 {percent_text(row['rate'])} / 目标 {row['target_rate'] * 100:g}%"
            f"({row['target_year']}年) · {gap}")


def source_lines(data: PackData) -> list[str]:
    """Where the data came from, as read (from `data.quality`, never re-derived): the township file
    (name, encoding, CRS, units), the facility ledger (name, encoding, sheets, records, the points'
    coordinate system) and the evidence of the coordinate-system detection. Without file details in
    `quality`, `data.source` as given. The same lines open the report's 数据来源 section and every
    map footnote."""
    q = data.quality or {}
    lines = []
    u, f = q.get("unit_file") or {}, q.get("facility_file") or {}
    if u:
        parts = [f"编码 {u.get('encoding') or '—'}",
                 f"坐标系 {u.get('crs') or '—'}" + ("(文件未写明, 按坐标范围推断)" if u.get("crs_inferred") else "")]
        if u.get("rows") is not None:
            parts.append(f"{u['rows']} 个单元")
        lines.append(f"乡镇边界: {u.get('filename') or '—'}({'; '.join(parts)})")
    if f or q.get("point_system_label"):
        parts = [f"编码 {f.get('encoding') or '—'}"]
        sheets = f.get("sheets") or []
        if sheets:
            parts.append(f"工作表 {'、'.join(map(str, sheets))}")
        if f.get("rows") is not None:
            parts.append(f"{f['rows']} 条记录")
        label = q.get("point_system_label") or f.get("crs")
        how = "自动识别" if q.get("point_system_detection") else ("按指定" if label else "")
        parts.append(f"坐标系 {label or '—'}" + (f"({how})" if how else ""))
        lines.append(f"设施台账: {f.get('filename') or '—'}({'; '.join(parts)})")
    evidence = (q.get("point_system_detection") or {}).get("evidence")
    if evidence:
        lines.append(f"坐标系识别依据: {evidence}")
    if not lines:
        lines.append(data.source or "—")
    if data.demo:
        lines[0] = "演示数据(示意) " + lines[0]
    return [plain_text(line) for line in lines]


def map_source(data: PackData) -> str:
    """The map footnote's source: the files on one line, the detection evidence on the next."""
    lines = source_lines(data)
    files = [ln for ln in lines if not ln.startswith("坐标系识别依据")]
    return "; ".join(files) + "".join("\n" + ln for ln in lines if ln.startswith("坐标系识别依据"))


# ------------------------------------------------------------------ maps

def indicator_maps(data: PackData, target_ids: list[str] | None = None, *, districts: list[str] | None = None,
                   dpi: int = 300, progress: Callable[[str], None] | None = None) -> dict[str, object]:
    """target_id -> matplotlib Figure of that indicator (whole area, or the chosen districts)."""
    from geodata.thematic import coverage_map_figure, map_layers  # noqa: PLC0415

    counting = _counting(data)
    area = data.result.coverage[data.result.coverage["district_code"] == AREA_CODE].set_index("target_id")
    units = data.units if not districts else data.units[data.units["district_code"].isin(districts)]
    layers = map_layers(units)
    source = map_source(data)
    figures = {}
    for t in _target_rows(data, target_ids).itertuples(index=False):
        if progress:
            progress(f"绘制专题图: {t.indicator}")
        covered = _covered_codes(data, t)
        pts = _facility_points(data, t.facility_class, counting)
        if districts:
            pts = pts[pts["district_code"].isin(districts)]
        row = area.loc[t.target_id]
        figures[t.target_id] = coverage_map_figure(
            units, covered, pts, title=t.indicator, subtitle=_subtitle(data, row), level=t.unit_level,
            class_name=data.classes.names.get(t.facility_class, t.facility_class), source=source,
            date_text=data.date_text, layers=layers, no_data=_is_no_data(row))
    return figures


def district_map_book(data: PackData, target_id: str, districts: list[str] | None = None) -> bytes:
    """A PDF with one page per district: its townships for one indicator, named, with facilities."""
    from matplotlib.backends.backend_pdf import PdfPages  # noqa: PLC0415

    from geodata.thematic import coverage_map_figure  # noqa: PLC0415

    t = next(_target_rows(data, [target_id]).itertuples(index=False))
    covered = _covered_codes(data, t)
    pts = _facility_points(data, t.facility_class, _counting(data))
    rows = data.result.coverage[(data.result.coverage["target_id"] == target_id)].set_index("district_code")
    no_data = target_id in no_data_targets(data)
    source = map_source(data)
    buf = io.BytesIO()
    with PdfPages(buf) as pdf:
        for code, units in data.units.groupby("district_code", sort=True):
            if districts and code not in districts:
                continue
            name = units["district_name"].iloc[0]
            sub = ""
            if no_data:
                sub = f"{name} · {NO_DATA_MESSAGE}"
            elif code in rows.index and t.measure != "count":
                r = rows.loc[code]
                sub = (f"{name} · 覆盖率 {percent_text(r['rate'])}({int(r['units_covered'])}/{int(r['units_total'])}) · 目标 "
                       f"{r['target_rate'] * 100:g}% · " + ("已达标" if r["met"] else f"还需{int(r['units_needed'])}个"))
            fig = coverage_map_figure(units, covered, pts[pts["district_code"] == code], title=f"{name} · {t.indicator}",
                                      subtitle=sub, level=t.unit_level, label_townships=True,
                                      class_name=data.classes.names.get(t.facility_class, t.facility_class),
                                      source=source, date_text=data.date_text, no_data=no_data)
            pdf.savefig(fig)
        info = pdf.infodict()
        info["Title"] = plain_text(f"{data.plan} 分区图册")
    return buf.getvalue()




# ------------------------------------------------------------------ Excel ledger

def ledger_xlsx(data: PackData, target_ids: list[str] | None = None, districts: list[str] | None = None) -> bytes:
    """Sheets: 指标汇总, (评估), one per indicator with every unit covered or not and its facilities,
    and 设施 with each facility's assigned township. Widths fitted, header frozen, no formulas."""
    from openpyxl import Workbook  # noqa: PLC0415
    from openpyxl.styles import Alignment, Font, PatternFill  # noqa: PLC0415

    counting = _counting(data)
    units = data.units if not districts else data.units[data.units["district_code"].isin(districts)]
    names = dict(zip(data.assigned["facility_id"], data.assigned["name"]))
    no_data = no_data_targets(data)
    sheets: list[tuple[str, pd.DataFrame]] = [("指标汇总", _indicator_table(data, target_ids)[INDICATOR_COLUMNS])]
    ev = _evaluation(data, target_ids)
    if ev is not None:
        sheets.append(("评估", ev[EVALUATION_COLUMNS]))
    for t in _target_rows(data, target_ids).itertuples(index=False):
        rows = counting[counting["facility_class"] == t.facility_class]
        if t.unit_level in COUNTY_LEVELS:
            base = units.drop_duplicates("district_code")[["district_code", "district_name"]].sort_values("district_code")
            base = county_pool(base, t.unit_level, data.config)
            key, frame = "district_code", pd.DataFrame({"区县代码": base["district_code"], "区县": base["district_name"]})
        else:
            pool = units_at_level(units, t.unit_level, data.config).sort_values("code")
            key, frame = "unit_code", pd.DataFrame({"乡镇代码": pool["code"], "乡镇(街道)": pool["name"], "类型": pool["kind"],
                                                     "区县": pool["district_name"]})
        codes = frame.iloc[:, 0]
        grouped = rows.groupby(key)["facility_id"].agg(list)
        lists = codes.map(grouped).map(lambda v: v if isinstance(v, list) else [])
        frame["设施数"] = lists.map(len).astype(int)
        if t.target_id in no_data:
            frame["是否覆盖" if t.measure == "coverage" else "说明"] = NO_DATA_MESSAGE
        elif t.measure == "coverage":
            frame["是否覆盖"] = np.where(frame["设施数"] > 0, "已覆盖", "未覆盖")
        frame["设施名称"] = lists.map(lambda ids: "、".join(str(names.get(i, i)) for i in ids))
        sheets.append((f"{t.target_id} {t.indicator}", frame.reset_index(drop=True)))
    fac = data.assigned
    if districts:
        fac = fac[fac["district_code"].isin(districts) | fac["district_code"].isna()]
    unit_names = dict(zip(data.units["code"], data.units["name"]))
    from coverage.assign import ASSIGNMENT_STATUSES  # noqa: PLC0415

    sheets.append(("设施", pd.DataFrame({
        "编号": fac["facility_id"], "名称": fac["name"], "设施类别": fac["facility_class"].map(data.classes.names).fillna("未识别"),
        "经度(WGS84)": fac["lon"].round(6), "纬度(WGS84)": fac["lat"].round(6), "乡镇代码": fac["unit_code"],
        "所属乡镇(街道)": fac["unit_code"].map(unit_names), "区县代码": fac["district_code"],
        "状态": fac.get("operating_status", ""), "归属情况": fac["status"].map(ASSIGNMENT_STATUSES),
    })))
    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    head_fill = PatternFill("solid", fgColor="DDEBF7")
    for title, frame in sheets:
        ws = wb.create_sheet(sheet_name(title, used))
        ws.append([plain_text(c) for c in frame.columns])
        for values in frame.itertuples(index=False):
            ws.append([_cell(v) for v in values])
        for cell in ws[1]:
            cell.font = Font(bold=True)
            cell.fill = head_fill
            cell.alignment = Alignment(horizontal="center", vertical="center")
        fit_columns(ws, frame, sample_rows=300)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _cell(value):
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (bool, np.bool_)):
        return "是" if value else "否"
    return _safe(plain_text(value)) if isinstance(value, str) else str(value)


# ------------------------------------------------------------------ content shared by Word and PDF

def _quality_lines(data: PackData) -> list[str]:
    q = data.quality or {}
    lines = source_lines(data)
    excluded = data.result.excluded_units
    if excluded is not None and len(excluded):
        names = "、".join(excluded["unit_name"].astype(str).head(20)) + (" 等" if len(excluded) > 20 else "")
        lines.append(f"未计入乡镇(街道)指标的类似乡级单位 {len(excluded)} 个: {names}(林场、农场、开发区等; 可在设置中计入)。")
    counts = q.get("status_counts", {})
    if counts:
        lines.append(f"归属情况: 已归属 {counts.get('assigned', 0)} 条, 按地址归属 {counts.get('by_address', 0)} 条, "
                     f"不在任何乡镇范围内 {counts.get('outside', 0)} 条, 重复 {counts.get('duplicate', 0)} 条, "
                     f"类别无法识别 {counts.get('unknown_class', 0)} 条, 缺少坐标 {counts.get('no_coordinates', 0)} 条。")
    topo = q.get("topology")
    if topo:
        lines.append(f"边界拓扑: 重叠 {topo.get('overlaps', 0)} 处({topo.get('overlap_area_m2', 0):,.0f} 平方米), "
                     f"缝隙 {topo.get('gaps', 0)} 处({topo.get('gap_area_m2', 0):,.0f} 平方米)。")
    statuses = "、".join(data.config.counted_statuses)
    lines.append(f"统计口径: 计入状态为「{statuses}」的设施; 位于乡镇交界线上的设施按最小乡镇代码归属一次; "
                 "覆盖 = 该单元内至少有 1 处该类设施。")
    if data.demo:
        lines.append("注意: 本报告使用内置演示数据, 乡镇边界形状与设施均为示意生成, 不代表实际情况。")
    return lines


def _uncovered_text(data: PackData, target_id: str, districts: list[str] | None) -> list[tuple[str, str]]:
    """(district, uncovered unit names) pairs; none for a no-data target (nothing to call uncovered)."""
    if target_id in no_data_targets(data):
        return []
    unc = data.result.uncovered
    unc = unc[unc["target_id"] == target_id]
    if districts:
        unc = unc[unc["district_code"].isin(districts)]
    return [(name, "、".join(g["unit_name"])) for name, g in unc.groupby("district_name", sort=False)]


def _district_rows(data: PackData, target_id: str, districts: list[str] | None) -> pd.DataFrame:
    table = district_table(data.result, target_id)
    if districts and len(table):
        keep = data.result.coverage.loc[(data.result.coverage["target_id"] == target_id)
                                        & data.result.coverage["district_code"].isin(districts), "district_name"]
        table = table[table["区县"].isin(set(keep))]
    if len(table) and target_id in no_data_targets(data):
        table = table.copy()
        if "覆盖率" in table.columns:
            table["覆盖率"] = table["覆盖率"].map(_mark)
            table["差距"] = NO_DATA_MESSAGE
            table["是否达标"] = NO_DATA_VERDICT
        else:
            table["现有数量"] = table["现有数量"].astype(str).map(_mark)
            table["说明"] = NO_DATA_MESSAGE
    return table


def _no_data_text(data: PackData, target) -> str:
    """The paragraph a no-data target gets instead of a list of uncovered units."""
    name = data.classes.names.get(target.facility_class, target.facility_class)
    return (f"{NO_DATA_MESSAGE}: 台账中没有「{name}」类设施(0 条记录), 无法判断是确实没有还是未报送, "
            "本指标不列未覆盖单元、不作达标判断。")


# ------------------------------------------------------------------ Word

def _set_east_asian(style_or_run_element, east_asian: str, latin: str = LATIN_FONT) -> None:
    from docx.oxml import OxmlElement  # noqa: PLC0415
    from docx.oxml.ns import qn  # noqa: PLC0415

    rpr = style_or_run_element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(theme), None)
    fonts.set(qn("w:ascii"), latin)
    fonts.set(qn("w:hAnsi"), latin)
    fonts.set(qn("w:eastAsia"), east_asian)


def report_docx(data: PackData, maps_png: dict[str, bytes], target_ids: list[str] | None = None,
                districts: list[str] | None = None) -> bytes:
    from docx import Document  # noqa: PLC0415
    from docx.enum.table import WD_TABLE_ALIGNMENT  # noqa: PLC0415
    from docx.enum.text import WD_ALIGN_PARAGRAPH  # noqa: PLC0415
    from docx.shared import Cm, Pt  # noqa: PLC0415

    doc = Document()
    section = doc.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21.0)
    section.left_margin = section.right_margin = Cm(2.2)
    for name in ("Normal", "Title", "Heading 1", "Heading 2", "Heading 3", "Caption", "Table Grid", "List Bullet"):
        style = doc.styles[name]
        heading = name.startswith(("Heading", "Title"))
        _set_east_asian(style.element, WORD_HEADING_FONT if heading else WORD_BODY_FONT)
    doc.styles["Normal"].font.size = Pt(11)

    def paragraph(text: str, style: str | None = None):  # user text goes in as plain text
        return doc.add_paragraph(plain_text(text), style=style)

    def heading(text: str, level: int):
        return doc.add_heading(plain_text(text), level=level)

    title = paragraph(f"{data.plan}\n设施覆盖评估报告", style="Title")
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    meta = paragraph(f"编制日期: {data.date_text}")
    meta.alignment = WD_ALIGN_PARAGRAPH.CENTER

    heading("一、数据来源与数据质量", level=1)
    for line in _quality_lines(data):
        paragraph(line, style="List Bullet")

    def add_table(frame: pd.DataFrame, widths_cm: list[float] | None = None):
        table = doc.add_table(rows=1, cols=len(frame.columns), style="Table Grid")
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        for cell, col in zip(table.rows[0].cells, frame.columns):
            cell.text = plain_text(col)
            for run in cell.paragraphs[0].runs:
                run.font.bold = True
        for values in frame.itertuples(index=False):
            cells = table.add_row().cells
            for cell, v in zip(cells, values):
                cell.text = "" if v is None or (not isinstance(v, str) and pd.isna(v)) else plain_text(v)
        for row in table.rows:
            for k, cell in enumerate(row.cells):
                for p in cell.paragraphs:
                    for run in p.runs:
                        run.font.size = Pt(9)
                if widths_cm:
                    cell.width = Cm(widths_cm[k])
        return table

    heading("二、主要指标完成情况", level=1)
    paragraph(_summary_sentence(data, target_ids))
    paragraph(f"表1  {data.area_name}民政设施主要指标(全市)", style="Caption")
    add_table(_indicator_table(data, target_ids)[INDICATOR_COLUMNS], [6.0, 1.1, 1.5, 1.6, 3.4, 1.4, 1.6])
    note = _no_data_note(data, target_ids)
    if note:
        paragraph(note)
    ev = _evaluation(data, target_ids)
    if ev is not None:
        heading("三、规划实施评估", level=1)
        paragraph("完成率 = 现状值 ÷ 目标值; 目标进度 = (现状值 − 基期值) ÷ (目标值 − 基期值), 与规划期已过时间的比例对照"
                          "判断是否符合序时进度。基期值按规划所载, 规划未载明的按设施建成年份推算(未填建成年份的设施不计入基期)。")
        paragraph("表2  规划实施评估", style="Caption")
        add_table(ev[["指标", "基期值", "现状值", "目标值", "完成率", "目标进度", "状态"]], [5.2, 1.6, 1.6, 1.6, 1.6, 1.6, 2.4])
    heading("四、分指标情况", level=1)
    no_data = no_data_targets(data)
    for i, t in enumerate(_target_rows(data, target_ids).itertuples(index=False), start=1):
        heading(f"{i}. {t.indicator}", level=2)
        if t.target_id in no_data:
            paragraph(_no_data_text(data, t))
        table = _district_rows(data, t.target_id, districts)
        if len(table):
            add_table(table)
        if t.target_id in maps_png:
            doc.add_picture(io.BytesIO(maps_png[t.target_id]), width=Cm(16.5))
            doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
            paragraph(f"图{i}  {t.indicator}", style="Caption").alignment = WD_ALIGN_PARAGRAPH.CENTER
        uncovered = _uncovered_text(data, t.target_id, districts)
        if uncovered:
            paragraph("未覆盖单元:")
            for district, names in uncovered:
                paragraph(f"{district}: {names}", style="List Bullet")
        elif t.measure == "coverage" and t.target_id not in no_data:
            paragraph("全部单元均已覆盖。")
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


# ------------------------------------------------------------------ slides

def _ea_run(run, size_pt: float | None = None, bold: bool = False, colour: str | None = None) -> None:
    from pptx.dml.color import RGBColor  # noqa: PLC0415
    from pptx.oxml.ns import qn  # noqa: PLC0415
    from pptx.util import Pt  # noqa: PLC0415

    font = run.font
    font.name = SLIDE_FONT  # a:latin
    if size_pt:
        font.size = Pt(size_pt)
    font.bold = bold
    if colour:
        font.color.rgb = RGBColor.from_string(colour)
    rpr = run._r.get_or_add_rPr()
    for tag in ("a:ea", "a:cs"):
        el = rpr.find(qn(tag))
        if el is None:
            el = rpr.makeelement(qn(tag), {})
            latin = rpr.find(qn("a:latin"))
            if latin is not None:
                latin.addnext(el)
            else:
                rpr.append(el)
        el.set("typeface", SLIDE_FONT)


def _text_box(slide, left, top, width, height, lines: list[tuple[str, float, bool, str | None]]):
    from pptx.util import Emu  # noqa: PLC0415

    box = slide.shapes.add_textbox(Emu(left), Emu(top), Emu(width), Emu(height))
    frame = box.text_frame
    frame.word_wrap = True
    for k, (text, size, bold, colour) in enumerate(lines):
        p = frame.paragraphs[0] if k == 0 else frame.add_paragraph()
        run = p.add_run()
        run.text = plain_text(text)
        _ea_run(run, size, bold, colour)
    return box


def slides_pptx(data: PackData, maps_png: dict[str, bytes], target_ids: list[str] | None = None,
                districts: list[str] | None = None) -> bytes:
    from pptx import Presentation  # noqa: PLC0415
    from pptx.util import Inches  # noqa: PLC0415

    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(13.333), Inches(7.5)
    blank = prs.slide_layouts[6]
    W, H = prs.slide_width, prs.slide_height
    inch = Inches(1)

    s = prs.slides.add_slide(blank)
    _text_box(s, int(0.8 * inch), int(2.3 * inch), int(W - 1.6 * inch), int(3 * inch), [
        (data.plan, 34, True, "1F3B73"), ("设施覆盖评估", 28, False, "1F3B73"),
        (data.date_text + ("  ·  演示数据(示意)" if data.demo else ""), 16, False, "555555")])

    area = data.result.coverage[data.result.coverage["district_code"] == AREA_CODE].set_index("target_id")
    no_data = no_data_targets(data)
    for t in _target_rows(data, target_ids).itertuples(index=False):
        s = prs.slides.add_slide(blank)
        _text_box(s, int(0.5 * inch), int(0.25 * inch), int(W - inch), int(0.9 * inch), [(t.indicator, 26, True, "1F3B73")])
        if t.target_id in maps_png:
            s.shapes.add_picture(io.BytesIO(maps_png[t.target_id]), int(0.4 * inch), int(1.15 * inch), height=int(6.1 * inch))
        per = data.result.coverage[(data.result.coverage["target_id"] == t.target_id) & (data.result.coverage["district_code"] != AREA_CODE)]
        lines = [("关键数字", 18, True, "1F3B73")]
        for label, value in _key_figures(area.loc[t.target_id], per):
            long = value in (NO_DATA_MESSAGE, NO_DATA_VERDICT)
            lines += [(label, 13, False, "666666"), (value, 16 if long else 22, True, "9A6B00" if long else "222222")]
        if t.target_id in no_data:
            lines.append((f"{NO_DATA_MARK} 台账中没有该类设施记录, 不作达标判断", 11, False, "9A6B00"))
        lines.append((f"属性: {t.binding or '—'}", 12, False, "666666"))
        _text_box(s, int(8.9 * inch), int(1.3 * inch), int(4.0 * inch), int(5.8 * inch), lines)

    # summary: what is still needed per district (targets without ledger data are named, never listed as failures)
    s = prs.slides.add_slide(blank)
    _text_box(s, int(0.5 * inch), int(0.25 * inch), int(W - inch), int(0.9 * inch), [("各区县仍需补齐的指标", 26, True, "1F3B73")])
    cov = data.result.coverage
    chosen = _target_rows(data, target_ids)
    judged = set(chosen["target_id"]) - no_data
    per = cov[(cov["district_code"] != AREA_CODE) & cov["target_id"].isin(judged) & (cov["measure"] == "coverage")]
    if districts:
        per = per[per["district_code"].isin(districts)]
    rows = []
    for (code, name), g in per.groupby(["district_code", "district_name"], sort=True):
        short = g[~g["met"].map(_flag)]
        needs = "; ".join(f"{r.class_name}{'(' + r.level + ')' if r.level in ('街道', '乡镇') else ''} {int(r.units_needed)}"
                          for r in short.itertuples())
        rows.append((name, f"{len(short)} / {len(g)}", needs or "全部达标"))
    unjudged = chosen.loc[chosen["target_id"].isin(no_data), "indicator"].astype(str).tolist()
    top = 1.2
    if unjudged:
        _text_box(s, int(0.5 * inch), int(1.05 * inch), int(W - inch), int(0.7 * inch), [
            (f"{NO_DATA_MARK} {NO_DATA_MESSAGE}(未列入下表, 不作达标判断): {'、'.join(unjudged)}", 12, False, "9A6B00")])
        top = 1.85
    if rows:
        _needs_table(s, rows, int(0.5 * inch), int(top * inch), int(W - inch), inch)
    else:
        _text_box(s, int(0.5 * inch), int(top * inch), int(W - inch), int(0.6 * inch),
                  [("没有可判断达标情况的覆盖率指标。", 14, False, "555555")])
    buf = io.BytesIO()
    prs.save(buf)
    return buf.getvalue()


def _needs_table(slide, rows: list[tuple[str, str, str]], left: int, top: int, width: int, inch: int) -> None:
    """The 区县 / 未达标指标 / 还需补齐 table of the summary slide."""
    from pptx.util import Emu  # noqa: PLC0415

    shape = slide.shapes.add_table(len(rows) + 1, 3, left, top, width, int(0.4 * inch * (len(rows) + 1)))
    table = shape.table
    table.columns[0].width, table.columns[1].width = Emu(int(1.8 * inch)), Emu(int(1.6 * inch))
    table.columns[2].width = Emu(int(width - 3.4 * inch))
    for j, head in enumerate(["区县", "未达标指标", "还需补齐(类别 个数)"]):
        table.cell(0, j).text = head
    for i, row in enumerate(rows, start=1):
        for j, value in enumerate(row):
            table.cell(i, j).text = plain_text(value)
    for r in table.rows:
        for c in r.cells:
            for p in c.text_frame.paragraphs:
                for run in p.runs:
                    _ea_run(run, 12 if len(rows) < 12 else 10)


# ------------------------------------------------------------------ PDF

def report_pdf(data: PackData, maps_png: dict[str, bytes], target_ids: list[str] | None = None,
               districts: list[str] | None = None) -> bytes:
    """The Word report's content as an A4 PDF with Noto Sans CJK SC embedded (subset).

    Text goes through fpdf2's plain-text cells (`markdown=False`, no HTML), so user text such as
    "<b>x</b>" or "**x**" is printed as written."""
    from fpdf import FPDF  # noqa: PLC0415
    from fpdf.enums import WrapMode, XPos, YPos  # noqa: PLC0415
    from fpdf.fonts import FontFace  # noqa: PLC0415

    from geodata.thematic import cjk_font_path  # noqa: PLC0415

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_font("cjk", "", str(cjk_font_path()))
    pdf.set_title(plain_text(f"{data.plan} 设施覆盖评估报告"))
    pdf.set_creator("民政设施覆盖分析")
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def para(text: str, size: float = 10.5, h: float = 6.0, align: str = "L"):
        pdf.set_font("cjk", size=size)
        pdf.multi_cell(width, h, plain_text(text), wrapmode=WrapMode.CHAR, align=align, new_x=XPos.LMARGIN,
                       new_y=YPos.NEXT, markdown=False)

    def heading(text: str, size: float = 15):
        pdf.ln(2)
        para(text, size, h=size * 0.55)
        pdf.ln(1)

    def table(frame: pd.DataFrame, widths: list[float] | None = None, size: float = 8.5):
        pdf.set_font("cjk", size=size)
        cols = list(frame.columns)
        widths = widths or [width / len(cols)] * len(cols)
        with pdf.table(col_widths=widths, text_align="CENTER", line_height=size * 0.55, width=width, markdown=False,
                       wrapmode=WrapMode.CHAR, headings_style=FontFace(emphasis="", fill_color=(221, 235, 247))) as tbl:
            tbl.row([plain_text(c) for c in cols])
            for values in frame.itertuples(index=False):
                tbl.row(["" if v is None or (not isinstance(v, str) and pd.isna(v)) else plain_text(v) for v in values])
        pdf.ln(2)

    para(f"{data.plan}\n设施覆盖评估报告", 20, h=11, align="C")
    para(f"编制日期: {data.date_text}", 11, align="C")
    heading("一、数据来源与数据质量")
    for line in _quality_lines(data):
        para("• " + line, 10)
    heading("二、主要指标完成情况")
    para(_summary_sentence(data, target_ids), 10)
    para(f"表1  {data.area_name}民政设施主要指标(全市)", 9.5, align="C")
    table(_indicator_table(data, target_ids)[INDICATOR_COLUMNS], [62, 10, 16, 18, 34, 14, 16])
    note = _no_data_note(data, target_ids)
    if note:
        para(note, 9.5)
    ev = _evaluation(data, target_ids)
    if ev is not None:
        heading("三、规划实施评估")
        para("完成率 = 现状值 ÷ 目标值; 目标进度 = (现状值 − 基期值) ÷ (目标值 − 基期值), 与规划期已过时间的比例对照判断是否符合序时进度。", 9.5)
        table(ev[["指标", "基期值", "现状值", "目标值", "完成率", "目标进度", "状态"]], [58, 16, 16, 16, 16, 18, 30])
    heading("四、分指标情况")
    no_data = no_data_targets(data)
    for i, t in enumerate(_target_rows(data, target_ids).itertuples(index=False), start=1):
        heading(f"{i}. {t.indicator}", 12.5)
        if t.target_id in no_data:
            para(_no_data_text(data, t), 10)
        rows = _district_rows(data, t.target_id, districts)
        if len(rows):
            table(rows)
        if t.target_id in maps_png:
            img_w = width
            if pdf.get_y() + img_w * 0.75 > pdf.h - pdf.b_margin:
                pdf.add_page()
            pdf.image(io.BytesIO(maps_png[t.target_id]), x=pdf.l_margin, w=img_w)
            para(f"图{i}  {t.indicator}", 9, align="C")
        for district, names in _uncovered_text(data, t.target_id, districts):
            para(f"未覆盖 · {district}: {names}", 9.5)
    return bytes(pdf.output())


# ------------------------------------------------------------------ the whole pack

def build_pack(data: PackData, formats: list[str], *, target_ids: list[str] | None = None,
               districts: list[str] | None = None, book_target: str | None = None,
               progress: Callable[[float, str], None] | None = None) -> dict[str, bytes]:
    """filename -> bytes for the chosen formats (see FORMATS), plus "会议材料.zip" holding them all.

    Maps are drawn once (300 dpi PNG) and reused, downscaled, in Word, slides and PDF. Every name
    (a key, and the same name inside the zip) is built from `safe_filename` parts joined by "/"
    (only the fixed folder 专题图/), so a plan name or target id can never make a path.
    """
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        from coverage.errors import InputFileError  # noqa: PLC0415

        raise InputFileError(f"不支持的输出格式: {', '.join(unknown)}; 可选 {', '.join(FORMATS)}。")
    chosen = _target_rows(data, target_ids)
    ids = chosen["target_id"].tolist()
    steps = len(ids) + len(formats) + 1
    done = [0]

    def tick(message: str):
        done[0] += 1
        if progress:
            progress(min(done[0] / steps, 1.0), message)

    out: dict[str, bytes] = {}
    need_maps = any(f in formats for f in ("png", "svg", "docx", "pptx", "pdf"))
    figures, png300, small = {}, {}, {}
    if need_maps:
        from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

        from geodata.thematic import encode_png_and_preview, raster_image  # noqa: PLC0415

        figures = indicator_maps(data, ids, districts=districts, progress=tick)
        with ThreadPoolExecutor(max_workers=2) as pool:  # encode one map while drawing the next
            pending = {tid: pool.submit(encode_png_and_preview, raster_image(fig, 300)) for tid, fig in figures.items()}
            for tid, job in pending.items():
                png300[tid], small[tid] = job.result()
    order = {tid: i for i, tid in enumerate(ids, start=1)}
    stem = pack_stem(data.plan)

    def map_name(tid: str, ext: str) -> str:
        return f"专题图/{order[tid]:02d}_{safe_filename(tid, '指标', max_chars=40)}.{ext}"

    if "png" in formats:
        for tid, png in png300.items():
            out[map_name(tid, "png")] = png
        target = book_target or (ids[0] if ids else None)
        if target is not None:
            out[f"专题图/分区图册_{safe_filename(target, '指标', max_chars=40)}.pdf"] = district_map_book(data, target, districts)
        tick("专题图与分区图册")
    if "svg" in formats:
        from geodata.thematic import figure_bytes  # noqa: PLC0415

        for tid, fig in figures.items():
            out[map_name(tid, "svg")] = figure_bytes(fig, "svg")
        tick("SVG 矢量图")
    if "xlsx" in formats:
        out[f"{stem}_设施覆盖台账.xlsx"] = ledger_xlsx(data, ids, districts)
        tick("Excel 台账")
    if "docx" in formats:
        out[f"{stem}_设施覆盖评估报告.docx"] = report_docx(data, small, ids, districts)
        tick("Word 报告")
    if "pptx" in formats:
        out[f"{stem}_汇报.pptx"] = slides_pptx(data, small, ids, districts)
        tick("幻灯片")
    if "pdf" in formats:
        out[f"{stem}_设施覆盖评估报告.pdf"] = report_pdf(data, small, ids, districts)
        tick("PDF 报告")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in out.items():
            zf.writestr(name, content)
    out[ZIP_NAME] = buf.getvalue()
    if progress:
        progress(1.0, "完成")
    return out


def pack_stem(plan: str) -> str:
    """The safe file-name stem of a pack from the plan name (also for the zip's download name:
    f"{pack_stem(plan)}_会议材料.zip")."""
    return safe_filename(plan, "会议材料", max_chars=40)


def pack_data(units, facilities, targets: pd.DataFrame, classes, config, *, plan: str, quality: dict | None = None,
              source: str = "", demo: bool = False, baseline_year: int = 2020, made_on: date | None = None,
              assigned: pd.DataFrame | None = None, result: CoverageResult | None = None) -> PackData:
    """Evaluate (unless `assigned`/`result` are given) and add the 中期/总结评估 table: baselines as
    stated in the plan, else computed from the facilities' 建成年份 when the ledger has them."""
    from coverage.evaluate import evaluate_layers  # noqa: PLC0415
    from coverage.evaluation import evaluation_table, facilities_built_by, has_built_years  # noqa: PLC0415

    if assigned is None or result is None:
        assigned, result = evaluate_layers(units, facilities, targets, classes, config=config)
    made_on = made_on or date.today()
    baseline = None
    if has_built_years(facilities):
        before, _ = facilities_built_by(facilities, baseline_year)
        _, baseline = evaluate_layers(units, before, targets, classes, config=config)
    has_stated = targets["baseline_value"].notna().any() if "baseline_value" in targets.columns else False
    evaluation = None
    if baseline is not None or has_stated:
        year = min(made_on.year, int(targets["target_year"].max()))
        evaluation = evaluation_table(targets, result, baseline, baseline_year=baseline_year, evaluation_year=year)
    return PackData(plan=plan, units=units, assigned=assigned, result=result, targets=targets, classes=classes,
                    config=config, quality=quality or {}, evaluation=evaluation, source=source, demo=demo, made_on=made_on)
