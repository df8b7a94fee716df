"""The meeting pack: thematic maps, a Word report, slides, a PDF and an Excel ledger, in Chinese.

Every number comes from one `CoverageResult` through `coverage.evaluation`, so the report, the
slides, the PDF and the ledger agree with `coverage.csv`.

The report tells the story in this order: a cover (area, plan, 编制单位, date), a one-page 摘要
written from the numbers (per indicator and per district), then numbered sections (一、二、…,
consecutive whatever is left out): 统计口径说明 (only the counting rules that apply), 数据来源与数据
质量, 主要指标完成情况, 规划实施评估 (when there is a baseline), 分指标情况 (a per-district table
with its 全市 row, the map, the uncovered units). Word and PDF are drawn from the same list of
blocks (`report_blocks`), so they cannot disagree.

Names: with the 通用 plan (no local plan) the title and file names are by area ("十堰市民政设施覆盖
评估报告(通用指标)", "十堰市_通用指标_..."), never by the generic plan's name; every file name ends
with the date.

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
import math
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from coverage.admin import OTHER_TOWNSHIP_KIND, district_kind
from coverage.capacity import capacity_table
from coverage.catalog import AREA_MEASURES, CAPACITY_MEASURES, DATA_DIR, SHARE_MEASURES
from coverage.config import FUNCTIONAL_ZONE_MARKERS
from coverage.hierarchy import division_names
from coverage.evaluate import (
    AREA_CODE, COUNTY_LEVELS, NO_DATA_MESSAGE, CoverageResult, counting_facilities, county_pool, units_at_level,
)
from coverage.evaluation import (
    BINDING_NOTE, INDICATOR_COLUMNS, MEASURE_UNITS, binding_text, current_text, current_value, district_sentences,
    district_table, gap_text, indicator_sentence, indicator_sentences, indicator_table, overall_sentence, percent_text,
    target_text, value_text,
)
from coverage.plans import GENERIC_PLAN, area_code_of, load_plan_areas
from coverage.proposals import RANKS
from reporting import siting
from reporting.excel import INTEGER_FORMAT, PERCENT_FORMAT, download_name, plain_text, safe_filename, sheet_name, write_frame

FORMATS = {"docx": "Word 报告", "pptx": "PPT 幻灯片", "pdf": "PDF 报告", "xlsx": "Excel 台账", "png": "专题图 PNG(300dpi) + 分区图册 PDF",
           "svg": "专题图 SVG(矢量)"}
WORD_BODY_FONT, WORD_HEADING_FONT, LATIN_FONT = "宋体", "黑体", "Times New Roman"
SLIDE_FONT = "微软雅黑"
#: Put after a figure that rests on a class the ledger holds none of.
NO_DATA_MARK = "※"
#: The 是否达标 cell of such a target (neither 是 nor 否).
NO_DATA_VERDICT = "待确认"
ZIP_NAME = "会议材料.zip"
#: Chinese section numbers (一、二、…).
SECTION_NUMBERS = "一二三四五六七八九十"


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
    area: str = ""  # the area's name (十堰市); empty: from the plan catalogue or the township codes
    org: str = ""  # 编制单位 on the cover; empty: no line
    proposals: object = None  # coverage.proposals.ProposalResult (建议选址); None: no such section
    proposal_rank: str = "elderly"  # the key of coverage.proposals.RANKS the proposals are ordered by
    scenario_name: str = ""  # a planning scenario shown before/after ("" : none)
    scenario_comparison: pd.DataFrame | None = None  # coverage.scenarios.compare_states of that scenario

    @property
    def date_text(self) -> str:
        return f"{self.made_on.year}年{self.made_on.month}月{self.made_on.day}日"

    @property
    def generic(self) -> bool:
        """Whether the plan is the 通用 profile (no local plan): names are then by area."""
        return is_generic_plan(self.plan)

    @property
    def area_name(self) -> str:
        return self.area or area_name_for(self.plan, self.units["code"] if self.units is not None else [])

    @property
    def title(self) -> str:
        """"十堰市民政设施覆盖评估报告", with "(通用指标)" for the 通用 profile."""
        return f"{self.area_name}民政设施覆盖评估报告" + ("(通用指标)" if self.generic else "")

    @property
    def basis(self) -> str:
        """What the targets come from, for the cover and the slides."""
        if self.generic:
            return "未找到本地规划, 按通用参考指标评估"
        return f"对照《{self.plan}》"


def is_generic_plan(plan: str) -> bool:
    return plan == GENERIC_PLAN or str(plan).startswith("通用")


def area_name_for(plan: str, unit_codes) -> str:
    """The area a pack speaks for: the plan's area in `data/plans.csv` (十堰市), else the county,
    city or province holding nearly all township codes (`coverage.plans.area_code_of`), else 本地区."""
    areas = load_plan_areas()
    stated = dict(zip(areas["plan"], areas["area_name"])).get(plan, "")
    if stated and not is_generic_plan(plan):
        return stated
    code = area_code_of(pd.Series(list(unit_codes), dtype=str))
    return division_names().get(code, "") or "本地区"


def pack_stem(data: PackData) -> str:
    """The first part of every file name of a pack: the plan's name (it starts with the area), or
    for the 通用 profile the area + "通用指标" (never the generic plan's name)."""
    if data.generic:
        return safe_filename(f"{data.area_name}_通用指标", "会议材料", max_chars=40)
    return safe_filename(data.plan, "会议材料", max_chars=40)


def pack_file_name(data: PackData, what: str, ext: str) -> str:
    """A pack file's name: stem_what_YYYYMMDD.ext (see `pack_stem`; made safe by `download_name`)."""
    return download_name(pack_stem(data), what, day=data.made_on, ext=ext)


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
    if target.measure in AREA_MEASURES:  # counts and beds: no unit is covered or not
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
    """Ids of the targets the data cannot judge (coverage column `no_data` on the whole-area row):
    the ledger holds none of the class, or a capacity figure lacks its beds / elderly population."""
    cov = data.result.coverage
    if "no_data" not in cov.columns:
        return set()
    area = cov[cov["district_code"] == AREA_CODE]
    return set(area.loc[area["no_data"].map(_flag), "target_id"])


def no_data_reason(row) -> str:
    """Why a no-data row cannot be judged: the capacity reason (no 床位数, no 老年人口 ...) when the
    row has one, else `NO_DATA_MESSAGE` (the ledger holds none of the class)."""
    reason = row.get("no_data_reason", "") if hasattr(row, "get") else ""
    return reason if isinstance(reason, str) and reason else NO_DATA_MESSAGE


def _mark(text: str) -> str:
    return f"{text}{NO_DATA_MARK}"


def _indicator_table(data: PackData, target_ids: list[str] | None) -> pd.DataFrame:
    """`indicator_table`, with the no-data targets' gap and verdict replaced and figures marked."""
    table = indicator_table(data.result, target_ids)
    nd = table["target_id"].isin(no_data_targets(data))
    if nd.any():
        area = data.result.coverage[data.result.coverage["district_code"] == AREA_CODE].set_index("target_id")
        table.loc[nd, "现状值"] = table.loc[nd, "现状值"].map(_mark)
        table.loc[nd, "差距"] = [no_data_reason(area.loc[t]) for t in table.loc[nd, "target_id"]]
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
        area = data.result.coverage[data.result.coverage["district_code"] == AREA_CODE].set_index("target_id")
        ev.loc[nd, "状态"] = [no_data_reason(area.loc[t]) for t in ev.loc[nd, "target_id"]]
    return ev


def _no_data_note(data: PackData, target_ids: list[str] | None) -> str:
    """One sentence naming the chosen targets whose class the ledger holds none of ("" if none)."""
    rows = _target_rows(data, target_ids)
    area = data.result.coverage[data.result.coverage["district_code"] == AREA_CODE].set_index("target_id")
    chosen = rows[rows["target_id"].isin(no_data_targets(data))]
    reasons = [no_data_reason(area.loc[t]) for t in chosen["target_id"]]
    names = [n for n, r in zip(chosen["indicator"].astype(str), reasons) if r == NO_DATA_MESSAGE]
    short = [f"{n}({r})" for n, r in zip(chosen["indicator"].astype(str), reasons) if r != NO_DATA_MESSAGE]
    text = ""
    if names:
        text = (f"{NO_DATA_MARK} {NO_DATA_MESSAGE}: 以下 {len(names)} 项指标对应类别的设施在台账中没有任何记录 —— "
                f"{'、'.join(names)}。无法判断是确实没有还是未报送, 表中现状值只反映台账, 不据此判断差距或是否达标。")
    if short:
        text += (f"{NO_DATA_MARK} 数据不足、无法计算 {len(short)} 项(不作达标判断): {'、'.join(short)}。")
    return text


def _facility_points(data: PackData, class_id: str, counting: pd.DataFrame) -> pd.DataFrame:
    """Counted facilities of a class, or of every class of a group (a 养老服务 bed target)."""
    of_class = counting["facility_class"] == class_id
    if not of_class.any() and class_id in set(data.classes.groups.values()):
        of_class = counting["facility_class"].map(data.classes.groups).eq(class_id)
    ids = set(counting.loc[of_class, "facility_id"])
    pts = data.assigned[data.assigned["facility_id"].isin(ids) & data.assigned["status"].isin(["assigned", "by_address"])]
    return pts.drop_duplicates("facility_id")


def _key_figures(row: pd.Series, districts: pd.DataFrame) -> list[tuple[str, str]]:
    """(label, value) pairs for a slide or a map subtitle; a no-data target has its figures marked
    and `NO_DATA_MESSAGE` for a gap (no 达标区县 count)."""
    no_data = _is_no_data(row)
    mark = _mark if no_data else str
    gap = no_data_reason(row) if no_data else ("已达标" if row["met"] else f"还需 {int(row['units_needed'])} 个")
    if row["measure"] in CAPACITY_MEASURES:
        unit = MEASURE_UNITS[row["measure"]].replace("%", "")
        out = [("现状", mark(f"{current_text(row)} {unit}".strip())), ("目标", f"{target_text(row)} {unit}({row['target_year']}年)".replace(" (", "(")),
               ("差距", gap if no_data else gap_text(row))]
        if row["measure"] != "beds" and not no_data:
            met = districts["met"].map(_flag)
            out.append(("达标区县", f"{int(met.sum())} / {len(districts)}"))
        return out
    if row["measure"] == "count":
        return [("现有数量", mark(f"{int(row['units_covered'])} 个")), ("目标", f"{row['target_value']:g} 个({row['target_year']}年)"),
                ("差距", gap)]
    met = districts["met"].map(_flag)
    return [("覆盖率", mark(percent_text(row["rate"]))), ("目标", f"{row['target_rate'] * 100:g}%({row['target_year']}年)"),
            ("已覆盖", mark(f"{int(row['units_covered'])} / {int(row['units_total'])}")), ("差距", gap),
            ("达标区县", NO_DATA_VERDICT if no_data else f"{int(met.sum())} / {len(districts)}")]


def _subtitle(data: PackData, row: pd.Series) -> str:
    no_data = _is_no_data(row)
    if row["measure"] in CAPACITY_MEASURES:
        unit = MEASURE_UNITS[row["measure"]].replace("%", "")
        goal = f"目标 {target_text(row)}{unit}({row['target_year']}年)"
        if no_data:
            return f"{data.area_name} · {no_data_reason(row)} · {goal}"
        return f"{data.area_name} · 现状 {current_text(row)}{unit} / {goal} · {gap_text(row)}"
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
    from reporting.thematic import coverage_map_figure, map_layers  # noqa: PLC0415

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

    from reporting.thematic import coverage_map_figure  # noqa: PLC0415

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
            elif code in rows.index and t.measure == "coverage":
                r = rows.loc[code]
                sub = (f"{name} · 覆盖率 {percent_text(r['rate'])}({int(r['units_covered'])}/{int(r['units_total'])}) · 目标 "
                       f"{r['target_rate'] * 100:g}% · " + ("已达标" if r["met"] else f"还需{int(r['units_needed'])}个"))
            fig = coverage_map_figure(units, covered, pts[pts["district_code"] == code], title=f"{name} · {t.indicator}",
                                      subtitle=sub, level=t.unit_level, label_townships=True,
                                      class_name=data.classes.names.get(t.facility_class, t.facility_class),
                                      source=source, date_text=data.date_text, no_data=no_data)
            pdf.savefig(fig)
        info = pdf.infodict()
        info["Title"] = plain_text(f"{data.area_name} 分区图册 · {t.indicator}")
    return buf.getvalue()




# ------------------------------------------------------------------ Excel ledger

def _summary_sheet(data: PackData, target_ids: list[str] | None) -> tuple[pd.DataFrame, dict]:
    """指标汇总 with numbers as numbers: shares (format %) for coverage targets, counts (format 0) for
    count targets, per row; 说明 says when the ledger holds none of the class (no gap, 待确认)."""
    rows = indicator_table(data.result, target_ids)
    coverage = rows["measure"].eq("coverage").to_numpy()
    nd = rows["target_id"].isin(no_data_targets(data)).to_numpy()
    cov = data.result.coverage
    area = cov[cov["district_code"] == AREA_CODE].set_index("target_id").loc[rows["target_id"]]
    target_value = np.where(coverage, area["target_rate"].to_numpy(float), area["target_value"].to_numpy(float))
    current = [current_value(r) for _, r in area.reset_index().iterrows()]
    frame = pd.DataFrame({
        "指标编号": rows["target_id"], "指标": rows["指标"], "统计单元": rows["level"], "单位": rows["单位"],
        "目标值": target_value, "现状值": current,
        "已覆盖(分子)": [int(v) if c else None for c, v in zip(coverage, rows["units_covered"])],
        "单元总数(分母)": [int(v) if c else None for c, v in zip(coverage, rows["units_total"])],
        "还需": [None if n or pd.isna(v) else int(v) for n, v in zip(nd, rows["units_needed"])],
        "是否达标": np.where(nd, NO_DATA_VERDICT, rows["是否达标"]),
        "属性": rows["属性"], "目标年份": rows["target_year"].astype(int),
        "说明": [no_data_reason(r) if n else _capacity_basis(r) for n, (_, r) in zip(nd, area.reset_index().iterrows())],
    })
    per_row = [MEASURE_FORMATS.get(m, INTEGER_FORMAT) for m in rows["measure"]]
    return frame, {"目标值": per_row, "现状值": per_row}


#: Excel number format of a measure's figures.
MEASURE_FORMATS = {"coverage": PERCENT_FORMAT, "nursing_bed_share": PERCENT_FORMAT, "count": INTEGER_FORMAT,
                   "beds": INTEGER_FORMAT, "beds_per_1000_elderly": "0.0"}


def _capacity_basis(row) -> str:
    """What a capacity figure is made of ('床位 13,139 张 / 老年人口 756,164 人'), '' for other measures."""
    measure = row["measure"]
    if measure not in CAPACITY_MEASURES:
        return ""
    if measure == "beds":
        text = f"床位 {value_text('beds', row['beds'])} 张"
    elif measure == "beds_per_1000_elderly":
        text = f"床位 {value_text('beds', row['beds'])} 张 / 老年人口 {value_text('beds', row['elderly_population'])} 人 × 1000"
    else:
        text = f"护理型床位 {value_text('beds', row['nursing_beds'])} 张 / 床位 {value_text('beds', row['units_total'])} 张"
    note = row.get("data_note", "")
    return text + (f"; {note}" if isinstance(note, str) and note else "")


def _capacity_sheet(data: PackData, target, districts: list[str] | None) -> pd.DataFrame:
    """The townships of a capacity target: facilities of its class or group, 床位数, 护理型床位数,
    老年人口 and the ratios, as `coverage.capacity.capacity_table` computes them (townships only)."""
    table = capacity_table(data.units, data.assigned, data.classes, target.facility_class, data.config)
    table = table[table["level"] == "乡镇(街道)"]
    if districts:
        table = table[table["district_code"].isin(districts)]
    return pd.DataFrame({
        "乡镇代码": table["unit_code"], "乡镇(街道)": table["unit_name"], "区县": table["district_name"],
        "设施数": table["facilities"].astype(int), "床位数": table["beds"], "护理型床位数": table["nursing_beds"],
        "老年人口": table["elderly_population"], "每千名老年人床位数": table["beds_per_1000_elderly"].round(1),
        "护理型床位占比": table["nursing_bed_share"].round(3),
    }).reset_index(drop=True)


def _evaluation_sheet(data: PackData, target_ids: list[str] | None) -> tuple[pd.DataFrame, dict] | None:
    """评估 with numbers as numbers (基期值, 现状值, 目标值 as shares or counts; 完成率, 目标进度 as %)."""
    ev = _evaluation(data, target_ids)
    if ev is None:
        return None
    measures = data.result.coverage.drop_duplicates("target_id").set_index("target_id")["measure"]
    formats = [MEASURE_FORMATS.get(measures.get(t), INTEGER_FORMAT) for t in ev["target_id"]]
    frame = pd.DataFrame({
        "指标": ev["指标"], "基期值": ev["baseline_value"], "基期来源": ev["基期来源"], "现状值": ev["current_value"],
        "目标值": ev["target_value"], "完成率": ev["completion"], "目标进度": ev["progress"], "状态": ev["状态"],
        "属性": ev["属性"]}).reset_index(drop=True)
    per_row = formats
    return frame, {"基期值": per_row, "现状值": per_row, "目标值": per_row, "完成率": PERCENT_FORMAT,
                   "目标进度": PERCENT_FORMAT}


def ledger_xlsx(data: PackData, target_ids: list[str] | None = None, districts: list[str] | None = None) -> bytes:
    """Sheets: 指标汇总, (评估), one per indicator with every unit covered or not and its facilities,
    and 设施 with each facility's assigned township. Each sheet has a title row (area, what, plan,
    date) above a frozen Chinese header; numbers are numbers (shares with a % format); no formulas."""
    from openpyxl import Workbook  # noqa: PLC0415

    counting = _counting(data)
    units = data.units if not districts else data.units[data.units["district_code"].isin(districts)]
    names = dict(zip(data.assigned["facility_id"], data.assigned["name"]))
    no_data = no_data_targets(data)
    summary, summary_formats = _summary_sheet(data, target_ids)
    sheets: list[tuple[str, str, pd.DataFrame, dict]] = [("指标汇总", "指标汇总", summary, summary_formats)]
    ev = _evaluation_sheet(data, target_ids)
    if ev is not None:
        sheets.append(("评估", "规划实施评估", *ev))
    for t in _target_rows(data, target_ids).itertuples(index=False):
        if t.measure in CAPACITY_MEASURES:  # beds per township: what the figure is summed from
            sheets.append((f"{t.target_id} {t.indicator}", t.indicator, _capacity_sheet(data, t, districts), {}))
            continue
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
        sheets.append((f"{t.target_id} {t.indicator}", t.indicator, frame.reset_index(drop=True), {}))
    fac = data.assigned
    if districts:
        fac = fac[fac["district_code"].isin(districts) | fac["district_code"].isna()]
    unit_names = dict(zip(data.units["code"], data.units["name"]))
    from coverage.assign import ASSIGNMENT_STATUSES  # noqa: PLC0415

    sheets.append(("设施", "设施台账(归属结果)", pd.DataFrame({
        "编号": fac["facility_id"], "名称": fac["name"], "设施类别": fac["facility_class"].map(data.classes.names).fillna("未识别"),
        "经度(WGS84)": pd.to_numeric(fac["lon"], errors="coerce").round(6),
        "纬度(WGS84)": pd.to_numeric(fac["lat"], errors="coerce").round(6), "乡镇代码": fac["unit_code"],
        "所属乡镇(街道)": fac["unit_code"].map(unit_names), "区县代码": fac["district_code"],
        "状态": fac.get("operating_status", ""), "归属情况": fac["status"].map(ASSIGNMENT_STATUSES),
    }), {"经度(WGS84)": "0.000000", "纬度(WGS84)": "0.000000"}))
    if data.proposals is not None and len(siting.proposal_targets(data.proposals.sites, target_ids, districts)):
        sheets.append(("建议选址", f"建议选址({RANKS.get(data.proposal_rank, data.proposal_rank)})",
                       siting.proposal_sheet(data.proposals.sites, target_ids, districts),
                       {"经度(WGS84)": "0.000000", "纬度(WGS84)": "0.000000"}))
    if data.scenario_comparison is not None:
        from coverage.scenarios import COMPARISON_HEADERS, comparison_table  # noqa: PLC0415

        sheets.append(("方案前后对比", f"规划方案「{data.scenario_name}」实施前后", comparison_table(data.scenario_comparison),
                       {COMPARISON_HEADERS["rate_before"]: PERCENT_FORMAT, COMPARISON_HEADERS["rate_after"]: PERCENT_FORMAT}))
    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    for name, what, frame, formats in sheets:
        ws = wb.create_sheet(sheet_name(name, used))
        write_frame(ws, frame, title=sheet_title(data, what), number_formats=formats)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def sheet_title(data: PackData, what: str) -> str:
    """The title row of a ledger sheet: area, what, plan (or 通用指标), date."""
    basis = "通用指标" if data.generic else data.plan
    return plain_text(f"{data.area_name} {what} · {basis} · {data.date_text}" + (" · 演示数据(示意)" if data.demo else ""))


# ------------------------------------------------------------------ content shared by Word and PDF

def _quality_lines(data: PackData) -> list[str]:
    q = data.quality or {}
    lines = source_lines(data)
    counts = q.get("status_counts", {})
    if counts:
        lines.append(f"归属情况: 已归属 {counts.get('assigned', 0)} 条, 按地址归属 {counts.get('by_address', 0)} 条, "
                     f"不在任何乡镇范围内 {counts.get('outside', 0)} 条, 重复 {counts.get('duplicate', 0)} 条, "
                     f"类别无法识别 {counts.get('unknown_class', 0)} 条, 缺少坐标 {counts.get('no_coordinates', 0)} 条。")
    topo = q.get("topology")
    if topo:
        lines.append(f"边界拓扑: 重叠 {topo.get('overlaps', 0)} 处({topo.get('overlap_area_m2', 0):,.0f} 平方米), "
                     f"缝隙 {topo.get('gaps', 0)} 处({topo.get('gap_area_m2', 0):,.0f} 平方米)。")
    if data.demo:
        lines.append("注意: 本报告使用内置演示数据, 乡镇边界形状与设施均为示意生成, 不代表实际情况。")
    return lines


def _problem_count(data: PackData, key: str) -> int | None:
    problems = (data.quality or {}).get("problems") or {}
    return problems.get(key, {}).get("count") if key in problems else None


def counting_rules(data: PackData, target_ids: list[str] | None = None) -> list[str]:
    """The counting rules behind the numbers, only those that apply to the chosen targets, the data
    and the settings (the report's 统计口径说明)."""
    rows = _target_rows(data, target_ids)
    coverage_levels = set(rows.loc[rows["measure"] == "coverage", "unit_level"])
    township_levels = coverage_levels - set(COUNTY_LEVELS)
    county_levels = coverage_levels & set(COUNTY_LEVELS)
    cfg = data.config
    out = []
    if coverage_levels:
        out.append("覆盖: 一个统计单元(乡镇、街道或县(市、区))内至少有 1 处该类设施即为已覆盖; 覆盖率 = 已覆盖单元数 ÷ 单元总数; "
                   "还需 = 目标 × 单元总数(向上取整) − 已覆盖单元数。全市目标按全市合计计算, 各区县的差距按本区县单元数分别计算。")
    statuses = "、".join(cfg.counted_statuses)
    out.append(f"计入的设施: 只计状态为「{statuses}」的设施(台账未填状态的按运营计); 停用(停业、撤销、已拆除等)和无法识别的"
               "状态不计入, 列在数据质量清单中。")
    dup = _problem_count(data, "duplicate")
    out.append("重复记录只计一次: 编号相同, 或名称、类别、坐标完全相同, 或同一乡镇(街道)内同一类别、名称相近且相距 50 米以内的记录"
               + (f"(本次 {dup} 条)" if dup else "") + "。")
    edge = _problem_count(data, "on_shared_edge")
    out.append("恰好位于两个乡镇(街道)交界线上的设施只计一次, 归入区划代码最小的乡镇(街道)"
               + (f"(本次 {edge} 处)" if edge else "") + "。")
    by_address = _problem_count(data, "by_address")
    if by_address:
        out.append(f"没有坐标、但地址写明乡镇(街道)的设施按地址归属(本次 {by_address} 条); 坐标和地址都无法定位的不计入。")
    kinds = set(data.units["kind"]) if "kind" in data.units.columns else set()
    if "乡镇(街道)" in township_levels and OTHER_TOWNSHIP_KIND in kinds:
        n = int((data.units["kind"] == OTHER_TOWNSHIP_KIND).sum())
        if cfg.count_other_units:
            out.append(f"按设置, 乡镇(街道)指标计入类似乡级单位(林场、农场、开发区等, 本次 {n} 个)。")
        else:
            out.append(f"乡镇(街道)指标只计街道、镇、乡; 类似乡级单位(林场、农场、开发区等, 区划代码第 7-9 位为 400-599, "
                       f"本次 {n} 个)不计入分母, 可在设置中计入。")
    if "街道" in township_levels:
        out.append("「街道」类指标只计街道。")
    if "乡镇" in township_levels:
        out.append("「乡镇」类指标只计镇和乡, 不含街道。")
    districts = data.units.drop_duplicates("district_code")[["district_code", "district_name"]]
    if "县" in county_levels:
        urban = [n for n, c in zip(districts["district_name"], districts["district_code"]) if district_kind(n, c) == "市辖区"]
        out.append("「县级」(县)指标只计县和县级市, 不含市辖区" + (f"({'、'.join(urban)})" if urban else "") + "。")
    zones = [n for n in districts["district_name"] if any(m in str(n) for m in FUNCTIONAL_ZONE_MARKERS)]
    if county_levels and zones:
        how = "计入" if cfg.functional_zones_as_districts else "不计入"
        out.append(f"功能区({'、'.join(zones)})按设置{how}县(市、区)指标的分母; 其乡镇(街道)始终计入乡镇(街道)指标。")
    for class_id in dict.fromkeys(rows["facility_class"]):
        functions = data.classes.qualifying_functions(class_id)
        if functions:
            out.append(f"「{data.classes.names.get(class_id, class_id)}」按功能认定: 同时具备{'、'.join(functions)}功能的养老服务设施"
                       "才计入(按台账的功能列判断)。")
    if "count" in set(rows["measure"]):
        out.append("数量类指标以全市合计与规划目标比较; 分区县的数量仅供参考(规划只给出全市目标)。")
    if set(rows["measure"]) & set(CAPACITY_MEASURES):
        out.append("床位类指标: 床位数、护理型床位数取台账所填(计入的设施同覆盖率指标: 在运营、已落入乡镇、去重后); "
                   "老年人口取乡镇(街道)图层的 60 岁以上人口; 每千名老年人床位数 = 床位数 ÷ 老年人口 × 1000; "
                   "护理型床位占比只按填写了护理型床位数的设施计算。床位总数以全市合计与目标比较, 比例类指标也按区县判断。")
    if set(rows["target_id"]) & no_data_targets(data):
        out.append(f"台账中一条记录都没有的设施类别, 无法区分确实没有还是未报送, 相应指标不作达标判断, 标「{NO_DATA_VERDICT}」"
                   f"并以 {NO_DATA_MARK} 标注数字。")
    return out


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
    """The per-district table of one target with its 全市 row last (the whole area, also when only
    some districts are chosen); a no-data target's figures marked, no gap, no verdict."""
    table = district_table(data.result, target_id, districts)
    if districts and len(table):
        table = table.copy()
        table.iloc[-1, 0] = f"{table.iloc[-1, 0]}(全部区县)"
    if len(table) and target_id in no_data_targets(data):
        table = table.copy()
        if "覆盖率" in table.columns:
            table["覆盖率"] = table["覆盖率"].map(_mark)
            table["差距"] = NO_DATA_MESSAGE
            table["是否达标"] = NO_DATA_VERDICT
        elif "现有数量" not in table.columns:  # capacity: the district rows say why themselves
            pass
        else:
            table["现有数量"] = table["现有数量"].astype(str).map(_mark)
            table["说明"] = NO_DATA_MESSAGE
    return table


def _no_data_text(data: PackData, target) -> str:
    """The paragraph a no-data target gets instead of a list of uncovered units."""
    cov = data.result.coverage
    area = cov[(cov["target_id"] == target.target_id) & (cov["district_code"] == AREA_CODE)]
    if len(area) and no_data_reason(area.iloc[0]) != NO_DATA_MESSAGE:
        return f"数据不足, 无法计算: {no_data_reason(area.iloc[0])}。本指标不作达标判断; 补充数据后重新计算。"
    name = data.classes.names.get(target.facility_class, target.facility_class)
    return (f"{NO_DATA_MESSAGE}: 台账中没有「{name}」类设施(0 条记录), 无法判断是确实没有还是未报送, "
            "本指标不列未覆盖单元、不作达标判断。")


@dataclass(frozen=True)
class Block:
    """One piece of the report, drawn the same way in Word and PDF.

    kind: cover (lines: [(text, size_pt, bold)]), h1, h2, p, bullet, note, caption, table (frame,
    weights = relative column widths; a last row named 全市… is shaded), image (target_id), break
    (new page). `small`: a smaller type (the 摘要 fits one page)."""

    kind: str
    text: str = ""
    frame: pd.DataFrame | None = None
    weights: tuple[float, ...] = ()
    lines: tuple[tuple[str, float, bool], ...] = ()
    small: bool = False


def _em_width(text: str) -> float:
    """Width of `text` in em: wide (CJK) characters 1, others 0.5."""
    import unicodedata  # noqa: PLC0415

    return sum(1.0 if unicodedata.east_asian_width(ch) in ("W", "F") else 0.5 for ch in text)


def summary_font_size(blocks: list[Block], width_mm: float, height_mm: float, *, sizes=(10.5, 10, 9.5, 9, 8.5, 8, 7.5),
                      line_factor: float = 1.5, heading_mm: float = 12.0) -> float:
    """The largest size of `sizes` (pt) at which the 摘要's small blocks fit `height_mm` (estimated
    from character widths: lines x size x `line_factor`, plus `heading_mm` per heading)."""
    small = [b.text for b in blocks if b.small]
    headings = sum(1 for b in blocks if b.kind in ("h1", "h2", "p") and not b.small)
    for size in sizes:
        per_line = width_mm / (size * 0.3528)
        lines = sum(max(1, math.ceil((_em_width(t) + 1.5) / per_line)) for t in small)
        if lines * size * 0.3528 * line_factor + headings * heading_mm <= height_mm:
            return size
    return sizes[-1]


def _summary_blocks(blocks: list[Block]) -> list[Block]:
    """The blocks of the 摘要 page (between the first and the second page break)."""
    breaks = [k for k, b in enumerate(blocks) if b.kind == "break"]
    return blocks[breaks[0] + 1:breaks[1]] if len(breaks) >= 2 else []


def _section_number(k: int) -> str:
    if k <= 10:
        return SECTION_NUMBERS[k - 1]
    tens, ones = divmod(k, 10)
    return (SECTION_NUMBERS[tens - 1] if tens > 1 else "") + "十" + (SECTION_NUMBERS[ones - 1] if ones else "")


def cover_lines(data: PackData) -> list[tuple[str, float, bool]]:
    """The cover: (text, size in pt, bold) lines — title, basis (plan), area, 编制单位, date."""
    lines = [(data.title, 26, True), (data.basis, 14, False), ("", 12, False), (f"地区: {data.area_name}", 14, False)]
    if data.org:
        lines.append((f"编制单位: {data.org}", 14, False))
    lines.append((f"编制日期: {data.date_text}", 14, False))
    if data.demo:
        lines.append(("演示数据(示意): 乡镇边界形状与设施均为示意生成, 不代表实际情况", 11, False))
    return lines


def report_blocks(data: PackData, maps: dict[str, bytes], target_ids: list[str] | None = None,
                  districts: list[str] | None = None) -> list[Block]:
    """The report as a list of blocks: cover, 摘要 (one page of sentences), then the sections
    numbered 一、二、… in the order they appear (a section left out leaves no gap)."""
    blocks = [Block("cover", lines=tuple(cover_lines(data))), Block("break")]
    blocks += [Block("h1", "摘要"), Block("p", overall_sentence(data.result, target_ids))]
    blocks += [Block("h2", "分指标")] + [Block("bullet", s, small=True)
                                      for s in indicator_sentences(data.result, target_ids, districts)]
    per_district = district_sentences(data.result, target_ids, districts)
    if per_district:
        blocks += [Block("h2", "分区县")] + [Block("bullet", s, small=True) for s in per_district]
    blocks.append(Block("break"))
    number = [0]

    def section(title: str) -> Block:
        number[0] += 1
        return Block("h1", f"{_section_number(number[0])}、{title}")

    blocks += [section("统计口径说明")] + [Block("bullet", s) for s in counting_rules(data, target_ids)]
    blocks += [section("数据来源与数据质量")] + [Block("bullet", s) for s in _quality_lines(data)]
    excluded = data.result.excluded_units
    if excluded is not None and len(excluded):
        names = "、".join(excluded["unit_name"].astype(str).head(20)) + (" 等" if len(excluded) > 20 else "")
        blocks.append(Block("bullet", f"未计入乡镇(街道)指标的类似乡级单位 {len(excluded)} 个: {names}。"))
    blocks += [section("主要指标完成情况"), Block("p", overall_sentence(data.result, target_ids)),
               Block("caption", f"表1  {data.area_name}民政设施主要指标"),
               Block("table", frame=_indicator_table(data, target_ids)[INDICATOR_COLUMNS], weights=(5.6, 0.9, 1.4, 1.5, 3.2, 1.6, 2.0)),
               Block("note", BINDING_NOTE)]
    note = _no_data_note(data, target_ids)
    if note:
        blocks.append(Block("note", note))
    ev = _evaluation(data, target_ids)
    tables = 1
    if ev is not None:
        tables += 1
        blocks += [section("规划实施评估"),
                   Block("p", "完成率 = 现状值 ÷ 目标值; 目标进度 = (现状值 − 基期值) ÷ (目标值 − 基期值), 与规划期已过时间的比例对照"
                              "判断是否符合序时进度。基期值按规划所载, 规划未载明的按设施建成年份推算(未填建成年份的设施不计入基期)。"),
                   Block("caption", f"表{tables}  规划实施评估"),
                   Block("table", frame=ev[["指标", "基期值", "现状值", "目标值", "完成率", "目标进度", "状态"]],
                         weights=(5.2, 1.6, 1.6, 1.6, 1.6, 1.6, 2.4))]
    blocks.append(section("分指标情况"))
    no_data = no_data_targets(data)
    for i, t in enumerate(_target_rows(data, target_ids).itertuples(index=False), start=1):
        blocks.append(Block("h2", f"{i}. {t.indicator}"))
        if t.target_id in no_data:
            blocks.append(Block("p", _no_data_text(data, t)))
        else:
            blocks.append(Block("p", indicator_sentence(data.result, t.target_id, districts)))
        table = _district_rows(data, t.target_id, districts)
        if len(table):
            tables += 1
            weights = (1.6, 1, 1.1, 1, 1, 2.3, 1) if len(table.columns) == 7 else ()
            blocks += [Block("caption", f"表{tables}  {t.indicator}(分区县)"), Block("table", frame=table, weights=weights)]
        if t.target_id in maps:
            blocks += [Block("image", t.target_id), Block("caption", f"图{i}  {t.indicator}")]
        uncovered = _uncovered_text(data, t.target_id, districts)
        if uncovered:
            blocks.append(Block("p", "未覆盖单元:"))
            blocks += [Block("bullet", f"{district}: {names}") for district, names in uncovered]
        elif t.measure == "coverage" and t.target_id not in no_data:
            blocks.append(Block("p", "全部单元均已覆盖。"))
    if data.proposals is not None:
        proposed = siting.proposal_targets(data.proposals.sites, target_ids, districts)
        blocks += [section("建议选址"), Block("p", siting.intro(data.proposal_rank))]
        if not proposed:
            blocks.append(Block("p", "所选指标均已达标(或台账中无此类设施、不作判断), 无需新增选址。"))
        for k, (tid, indicator) in enumerate(proposed, start=1):
            tables += 1
            blocks += [Block("h2", f"({k}) {indicator}"), Block("caption", f"表{tables}  {indicator}: 各区县建议新增覆盖的乡镇(街道)"),
                       Block("table", frame=siting.proposal_table(data.proposals.sites, tid, districts), weights=(1.4, 1.2, 7.4))]
            blocks += [Block("note", n) for n in siting.proposal_notes(data.proposals.notes, tid)]
    if data.scenario_comparison is not None:
        tables += 1
        blocks += [section(f"规划方案「{data.scenario_name}」实施前后"),
                   Block("p", "规划点位按建成运营计入(状态「规划」, 尚未建成); 方案后的覆盖率、差距只说明这些点位建成后的情形。"),
                   Block("caption", f"表{tables}  规划方案实施前后主要指标(全市)"),
                   Block("table", frame=siting.scenario_table(data.scenario_comparison, target_ids),
                         weights=(5.6, 1.4, 1.4, 1.4, 1.4, 2.4))]
    return blocks


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
    """The report (`report_blocks`) as A4 Word: the cover and the 摘要 each in their own section
    (new page), page numbers in the footer of the body."""
    from docx import Document  # noqa: PLC0415
    from docx.enum.section import WD_SECTION  # noqa: PLC0415
    from docx.enum.table import WD_TABLE_ALIGNMENT  # noqa: PLC0415
    from docx.enum.text import WD_ALIGN_PARAGRAPH  # noqa: PLC0415
    from docx.shared import Cm, Pt  # noqa: PLC0415

    doc = Document()
    doc.core_properties.title = plain_text(data.title)
    doc.core_properties.author = plain_text(data.org)
    section = doc.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21.0)
    section.left_margin = section.right_margin = Cm(2.2)
    usable_cm = 21.0 - 2 * 2.2
    for name in ("Normal", "Title", "Heading 1", "Heading 2", "Heading 3", "Caption", "Table Grid", "List Bullet"):
        style = doc.styles[name]
        heading = name.startswith(("Heading", "Title"))
        _set_east_asian(style.element, WORD_HEADING_FONT if heading else WORD_BODY_FONT)
    doc.styles["Normal"].font.size = Pt(11)

    def paragraph(text: str, style: str | None = None):  # user text goes in as plain text
        return doc.add_paragraph(plain_text(text), style=style)

    def add_table(frame: pd.DataFrame, weights: tuple[float, ...]):
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
        widths = [usable_cm * w / sum(weights) for w in weights] if weights else None
        if widths:  # grid columns and cells both (Word reads the cells, LibreOffice the grid)
            table.autofit = False
            for k, column in enumerate(table.columns):
                column.width = Cm(widths[k])
        if len(frame) and _is_area_row(frame.iloc[-1, 0]):
            for cell in table.rows[-1].cells:
                _shade(cell, "F2F2F2")
        for row in table.rows:
            for k, cell in enumerate(row.cells):
                for p in cell.paragraphs:
                    for run in p.runs:
                        run.font.size = Pt(9)
                if widths:
                    cell.width = Cm(widths[k])
        return table

    sections_started = 0
    blocks = report_blocks(data, maps_png, target_ids, districts)
    small_pt = summary_font_size(_summary_blocks(blocks), usable_cm * 10 - 8, 29.7 * 10 - 2 * 25.4 - 10,
                                 sizes=(10.5, 10, 9.5, 9, 8.5, 8), line_factor=1.6, heading_mm=14)
    for block in blocks:
        if block.kind == "cover":
            for _ in range(6):
                doc.add_paragraph()
            for k, (text, size, bold) in enumerate(block.lines):
                p = paragraph(text, style="Title" if k == 0 else None)
                p.alignment = WD_ALIGN_PARAGRAPH.CENTER
                for run in p.runs:
                    run.font.size = Pt(size)
                    run.font.bold = bold
                if k == 1:
                    for _ in range(8):
                        doc.add_paragraph()
        elif block.kind == "break":
            doc.add_section(WD_SECTION.NEW_PAGE)
            sections_started += 1
            if sections_started == 1:  # body sections get page numbers; the cover has none
                _page_number_footer(doc.sections[-1])
        elif block.kind == "h1":
            doc.add_heading(plain_text(block.text), level=1)
        elif block.kind == "h2":
            doc.add_heading(plain_text(block.text), level=2)
        elif block.kind == "p":
            paragraph(block.text)
        elif block.kind == "bullet":
            p = paragraph(block.text, style="List Bullet")
            if block.small:
                p.paragraph_format.space_after = Pt(2)
                for run in p.runs:
                    run.font.size = Pt(small_pt)
        elif block.kind == "note":
            p = paragraph(block.text)
            for run in p.runs:
                run.font.size = Pt(9)
        elif block.kind == "caption":
            p = paragraph(block.text, style="Caption")
            if block.text.startswith("图"):
                p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        elif block.kind == "table":
            add_table(block.frame, block.weights)
        elif block.kind == "image":
            doc.add_picture(io.BytesIO(maps_png[block.text]), width=Cm(16.5))
            doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def _is_area_row(first_cell) -> bool:
    """Whether a table row is the whole-area (全市) row."""
    return isinstance(first_cell, str) and first_cell.startswith("全市")


def _shade(cell, fill: str) -> None:
    from docx.oxml import OxmlElement  # noqa: PLC0415
    from docx.oxml.ns import qn  # noqa: PLC0415

    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shd)


def _page_number_footer(section) -> None:
    """A centred "第 N 页" footer (a PAGE field) for `section`, not linked to the cover's footer."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH  # noqa: PLC0415
    from docx.oxml import OxmlElement  # noqa: PLC0415
    from docx.oxml.ns import qn  # noqa: PLC0415

    footer = section.footer
    footer.is_linked_to_previous = False
    p = footer.paragraphs[0] if footer.paragraphs else footer.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.add_run("第 ")
    run = p.add_run()
    for tag, attrs in (("w:fldChar", {"w:fldCharType": "begin"}), ("w:instrText", {}), ("w:fldChar", {"w:fldCharType": "end"})):
        el = OxmlElement(tag)
        for k, v in attrs.items():
            el.set(qn(k), v)
        if tag == "w:instrText":
            el.set(qn("xml:space"), "preserve")
            el.text = " PAGE "
        run._r.append(el)
    p.add_run(" 页")


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
    W = prs.slide_width
    inch = Inches(1)

    s = prs.slides.add_slide(blank)
    cover = [(data.title, 34, True, "1F3B73"), (data.basis, 20, False, "1F3B73"), ("", 12, False, None)]
    if data.org:
        cover.append((data.org, 18, False, "333333"))
    cover.append((data.date_text + ("  ·  演示数据(示意)" if data.demo else ""), 16, False, "555555"))
    _text_box(s, int(0.8 * inch), int(2.0 * inch), int(W - 1.6 * inch), int(3.5 * inch), cover)

    s = prs.slides.add_slide(blank)
    _text_box(s, int(0.5 * inch), int(0.25 * inch), int(W - inch), int(0.9 * inch), [("主要结论", 26, True, "1F3B73")])
    _text_box(s, int(0.6 * inch), int(1.2 * inch), int(W - 1.2 * inch), int(5.9 * inch), _key_point_lines(data, target_ids))

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
        lines.append((f"属性(约束性/预期性): {binding_text(t.binding)}", 12, False, "666666"))
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
    if data.proposals is not None:  # 建议选址: one slide per indicator with proposed townships
        for tid, indicator in siting.proposal_targets(data.proposals.sites, target_ids, districts):
            s = prs.slides.add_slide(blank)
            _text_box(s, int(0.5 * inch), int(0.25 * inch), int(W - inch), int(0.9 * inch),
                      [(f"建议选址 · {indicator}", 24, True, "1F3B73")])
            _text_box(s, int(0.5 * inch), int(1.0 * inch), int(W - inch), int(0.6 * inch),
                      [(f"按「{RANKS.get(data.proposal_rank, data.proposal_rank)}」排序; " + siting.CAVEAT, 11, False, "666666")])
            table = siting.proposal_table(data.proposals.sites, tid, districts)
            _needs_table(s, list(table.itertuples(index=False, name=None)), int(0.5 * inch), int(1.65 * inch), int(W - inch),
                         inch, headers=tuple(table.columns))
    if data.scenario_comparison is not None:
        s = prs.slides.add_slide(blank)
        _text_box(s, int(0.5 * inch), int(0.25 * inch), int(W - inch), int(0.9 * inch),
                  [(f"规划方案「{data.scenario_name}」实施前后", 24, True, "1F3B73")])
        table = siting.scenario_table(data.scenario_comparison, target_ids)
        _needs_table(s, list(table.itertuples(index=False, name=None)), int(0.5 * inch), int(1.2 * inch), int(W - inch), inch,
                     headers=tuple(table.columns), widths=(4.6, 1.2, 1.2, 1.2, 1.2))
    buf = io.BytesIO()
    prs.save(buf)
    return buf.getvalue()


def _key_point_lines(data: PackData, target_ids: list[str] | None) -> list[tuple[str, float, bool, str | None]]:
    """The 主要结论 slide: how many targets are met, then one short line per target not met
    (现状 / 目标, 还需), then the met and the no-data targets by name; smaller type when long."""
    area = data.result.coverage[data.result.coverage["district_code"] == AREA_CODE].set_index("target_id")
    no_data = no_data_targets(data)
    rows = _target_rows(data, target_ids)
    short, met = [], []
    for t in rows.itertuples(index=False):
        if t.target_id in no_data:
            continue
        r = area.loc[t.target_id]
        if _flag(r["met"]):
            met.append(t.indicator)
        elif r["measure"] in CAPACITY_MEASURES:
            unit = MEASURE_UNITS[r["measure"]].replace("%", "")
            short.append(f"{t.indicator}: {current_text(r)}{unit} / 目标 {target_text(r)}{unit}, {gap_text(r)}")
        elif r["measure"] == "count":
            short.append(f"{t.indicator}: 现有 {int(r['units_covered'])} 个 / 目标 {r['target_value']:g} 个, 还需 {int(r['units_needed'])} 个")
        else:
            noun = {"县": "县", "县(市、区)": "县(市、区)"}.get(r["level"], r["level"])
            short.append(f"{t.indicator}: {percent_text(r['rate'])} / 目标 {r['target_rate'] * 100:g}%, 还需 {int(r['units_needed'])} 个{noun}")
    n_lines = len(short) + 3 + (len(met) + len(rows)) // 12  # the lists of names wrap
    size = max(11, min(18, int(420 / (n_lines * 1.3))))  # fill the 5.9-inch box without overflowing
    lines = [(overall_sentence(data.result, target_ids), size + 2, True, "222222")]
    lines += [("• " + text, size, False, "333333") for text in short]
    if met:
        lines.append((f"已达标: {'、'.join(met)}", size, False, "2E6B4F"))
    chosen = rows[rows["target_id"].isin(no_data)]
    reasons = [no_data_reason(area.loc[t]) for t in chosen["target_id"]]
    nd = [n for n, r in zip(chosen["indicator"].astype(str), reasons) if r == NO_DATA_MESSAGE]
    if nd:
        lines.append((f"{NO_DATA_MARK} {NO_DATA_MESSAGE}(不作达标判断): {'、'.join(nd)}", size, False, "9A6B00"))
    cannot = [n for n, r in zip(chosen["indicator"].astype(str), reasons) if r != NO_DATA_MESSAGE]
    if cannot:
        lines.append((f"{NO_DATA_MARK} 数据不足、无法计算(不作达标判断): {'、'.join(cannot)}", size, False, "9A6B00"))
    return lines


def _needs_table(slide, rows: list[tuple], left: int, top: int, width: int, inch: int, *,
                 headers: tuple[str, ...] = ("区县", "未达标指标", "还需补齐(类别 个数)"),
                 widths: tuple[float, ...] = (1.8, 1.6)) -> None:
    """A plain table on a slide: `headers`, then `rows` (text); column widths in inches for all
    columns but the last, which takes the rest (the summary slide's 区县 / 未达标指标 / 还需补齐 by default)."""
    from pptx.util import Emu  # noqa: PLC0415

    shape = slide.shapes.add_table(len(rows) + 1, len(headers), left, top, width, int(0.4 * inch * (len(rows) + 1)))
    table = shape.table
    for j, w in enumerate(widths[:len(headers) - 1]):
        table.columns[j].width = Emu(int(w * inch))
    table.columns[len(headers) - 1].width = Emu(int(width - sum(widths[:len(headers) - 1]) * inch))
    for j, head in enumerate(headers):
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
    """The Word report's content (`report_blocks`) as an A4 PDF with Noto Sans CJK SC embedded
    (subset): page 1 the cover, page 2 the 摘要, then the sections; page numbers below the body;
    every heading a bookmark (the PDF's outline).

    Text goes through fpdf2's plain-text cells (`markdown=False`, no HTML), so user text such as
    "<b>x</b>" or "**x**" is printed as written."""
    from fpdf import FPDF  # noqa: PLC0415
    from fpdf.enums import WrapMode, XPos, YPos  # noqa: PLC0415
    from fpdf.fonts import FontFace  # noqa: PLC0415

    from reporting.thematic import cjk_font_path  # noqa: PLC0415

    class _PDF(FPDF):
        def footer(self):
            if self.page_no() > 1:
                self.set_y(-12)
                self.set_font("cjk", size=8)
                self.cell(0, 5, f"第 {self.page_no() - 1} 页", align="C")

    pdf = _PDF(format="A4")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_font("cjk", "", str(cjk_font_path()))
    pdf.set_title(plain_text(data.title))
    pdf.set_creator("民政设施覆盖分析")
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def para(text: str, size: float = 10.5, h: float = 6.0, align: str = "L"):
        pdf.set_font("cjk", size=size)
        pdf.multi_cell(width, h, _kinsoku_wrap(plain_text(text), lambda t: pdf.get_string_width(t), width - 2 * pdf.c_margin - 0.5),
                       wrapmode=WrapMode.CHAR, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT, markdown=False)

    def heading(text: str, size: float = 15):
        pdf.ln(2)
        para(text, size, h=size * 0.55)
        pdf.ln(1)

    def table(frame: pd.DataFrame, weights: tuple[float, ...], size: float = 8.5):
        pdf.set_font("cjk", size=size)
        cols = list(frame.columns)
        widths = [width * w / sum(weights) for w in weights] if weights else [width / len(cols)] * len(cols)
        with pdf.table(col_widths=widths, text_align="CENTER", line_height=size * 0.55, width=width, markdown=False,
                       wrapmode=WrapMode.CHAR, headings_style=FontFace(emphasis="", fill_color=(221, 235, 247))) as tbl:
            tbl.row([plain_text(c) for c in cols])
            for k, values in enumerate(frame.itertuples(index=False)):
                style = FontFace(fill_color=(242, 242, 242)) if k == len(frame) - 1 and _is_area_row(values[0]) else None
                tbl.row(["" if v is None or (not isinstance(v, str) and pd.isna(v)) else plain_text(v) for v in values],
                        style=style)
        pdf.ln(2)

    blocks = report_blocks(data, maps_png, target_ids, districts)
    summary = _summary_blocks(blocks)
    room = pdf.h - pdf.t_margin - pdf.b_margin - 2

    def summary_height(size: float) -> float:
        total = 0.0
        for b in summary:
            font = size if b.small else {"h1": 15, "h2": 12.5}.get(b.kind, 10)
            pdf.set_font("cjk", size=font)
            text = ("• " if b.kind == "bullet" else "") + plain_text(b.text)
            h = size * 0.53 if b.small else ({"h1": 15, "h2": 12.5}.get(b.kind, 10) * 0.55 if b.kind in ("h1", "h2") else 6.0)
            text = _kinsoku_wrap(text, lambda t: pdf.get_string_width(t), width - 2 * pdf.c_margin - 0.5)
            total += pdf.multi_cell(width, h, text, wrapmode=WrapMode.CHAR, dry_run=True, output="HEIGHT", markdown=False)
            total += 3 if b.kind in ("h1", "h2") else 0
        return total

    small_pt = next((size for size in (10, 9.5, 9, 8.5, 8) if summary_height(size) <= room), 7.5)
    for block in blocks:
        if block.kind == "cover":
            pdf.set_y(70)
            for k, (text, size, _bold) in enumerate(block.lines):
                para(text, size, h=size * 0.62, align="C")
                pdf.ln(22 if k == 1 else 2)
        elif block.kind == "break":
            pdf.add_page()
        elif block.kind == "h1":
            pdf.start_section(plain_text(block.text), level=0)  # a bookmark in the PDF's outline
            heading(block.text, 15)
        elif block.kind == "h2":
            pdf.start_section(plain_text(block.text), level=1)
            heading(block.text, 12.5)
        elif block.kind == "p":
            para(block.text, 10)
        elif block.kind == "bullet":
            para("• " + block.text, small_pt if block.small else 10, h=small_pt * 0.53 if block.small else 6.0)
        elif block.kind == "note":
            para(block.text, 8.5, h=5)
        elif block.kind == "caption":
            para(block.text, 9, align="C")
        elif block.kind == "table":
            table(block.frame, block.weights)
        elif block.kind == "image":
            if pdf.get_y() + width * 0.75 > pdf.h - pdf.b_margin:
                pdf.add_page()
            pdf.image(io.BytesIO(maps_png[block.text]), x=pdf.l_margin, w=width)
    return bytes(pdf.output())


#: Characters a Chinese line must not start with (closing punctuation).
_NO_LINE_START = set("。，、；：？！）》」』】,.;:?!)%")


def _kinsoku_wrap(text: str, width_of: Callable[[str], float], width: float) -> str:
    """`text` with line breaks put in so that no line is wider than `width`, numbers and Latin words
    ("100%", "2025", "SY-01") are not split, and no line starts with closing punctuation (the piece
    before it moves down with it), as Chinese typesetting asks."""
    import re  # noqa: PLC0415

    out = []
    for para in text.split("\n"):
        tokens = re.findall(r"[0-9A-Za-z.%\-]+|.", para)
        line: list[str] = []
        for tok in tokens:
            if line and width_of("".join(line) + tok) > width:
                if tok[0] in _NO_LINE_START and len(line) > 1:
                    out.append("".join(line[:-1]))
                    line = [line[-1]]
                else:
                    out.append("".join(line))
                    line = []
            line.append(tok)
        out.append("".join(line))
    return "\n".join(out)


# ------------------------------------------------------------------ the whole pack

def build_pack(data: PackData, formats: list[str], *, target_ids: list[str] | None = None,
               districts: list[str] | None = None, book_target: str | None = None,
               progress: Callable[[float, str], None] | None = None) -> dict[str, bytes]:
    """filename -> bytes for the chosen formats (see FORMATS), plus "会议材料.zip" holding them all
    (its download name: `pack_file_name(data, "会议材料", "zip")`). Documents are named
    `pack_file_name(data, what, ext)`, maps "专题图/01_<indicator>.png" (`map_stems`).

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

        from reporting.thematic import encode_png_and_preview, raster_image  # noqa: PLC0415

        figures = indicator_maps(data, ids, districts=districts, progress=tick)
        with ThreadPoolExecutor(max_workers=2) as pool:  # encode one map while drawing the next
            pending = {tid: pool.submit(encode_png_and_preview, raster_image(fig, 300)) for tid, fig in figures.items()}
            for tid, job in pending.items():
                png300[tid], small[tid] = job.result()
    stems = map_stems(chosen)

    def map_name(tid: str, ext: str) -> str:
        return f"专题图/{stems[tid]}.{ext}"

    if "png" in formats:
        for tid, png in png300.items():
            out[map_name(tid, "png")] = png
        target = book_target or (ids[0] if ids else None)
        if target is not None:
            label = stems[target].split("_", 1)[1] if target in stems else safe_filename(target, "指标", max_chars=40)
            out[f"专题图/分区图册_{label}.pdf"] = district_map_book(data, target, districts)
        tick("专题图与分区图册")
    if "svg" in formats:
        from reporting.thematic import figure_bytes  # noqa: PLC0415

        for tid, fig in figures.items():
            out[map_name(tid, "svg")] = figure_bytes(fig, "svg")
        tick("SVG 矢量图")
    if "xlsx" in formats:
        out[pack_file_name(data, "设施覆盖台账", "xlsx")] = ledger_xlsx(data, ids, districts)
        tick("Excel 台账")
    if "docx" in formats:
        out[pack_file_name(data, "设施覆盖评估报告", "docx")] = report_docx(data, small, ids, districts)
        tick("Word 报告")
    if "pptx" in formats:
        out[pack_file_name(data, "汇报", "pptx")] = slides_pptx(data, small, ids, districts)
        tick("幻灯片")
    if "pdf" in formats:
        out[pack_file_name(data, "设施覆盖评估报告", "pdf")] = report_pdf(data, small, ids, districts)
        tick("PDF 报告")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in out.items():
            zf.writestr(name, content)
    out[ZIP_NAME] = buf.getvalue()
    if progress:
        progress(1.0, "完成")
    return out


def map_stems(targets: pd.DataFrame) -> dict[str, str]:
    """target_id -> "01_社工站覆盖率": the map's number in the pack and its indicator text, made safe
    (`safe_filename`); the target id is added where two indicators read the same."""
    stems, seen = {}, set()
    for i, t in enumerate(targets.itertuples(index=False), start=1):
        label = safe_filename(t.indicator, "", max_chars=40)
        if not label or label in seen:
            label = safe_filename(f"{label}_{t.target_id}" if label else t.target_id, "指标", max_chars=50)
        seen.add(label)
        stems[t.target_id] = f"{i:02d}_{label}"
    return stems


def pack_data(units, facilities, targets: pd.DataFrame, classes, config, *, plan: str, quality: dict | None = None,
              source: str = "", demo: bool = False, baseline_year: int = 2020, made_on: date | None = None,
              assigned: pd.DataFrame | None = None, result: CoverageResult | None = None, org: str = "",
              area: str | None = None, rank: str | None = "elderly",
              scenario: tuple[str, pd.DataFrame] | None = None) -> PackData:
    """Evaluate (unless `assigned`/`result` are given) and add the 中期/总结评估 table: baselines as
    stated in the plan, else computed from the facilities' 建成年份 when the ledger has them.

    org
        编制单位 for the cover (blank: no line).
    area
        The area's name; None: from the plan catalogue or the township codes (`area_name_for`).
    rank
        How the 建议选址 section orders the proposed townships (a key of `coverage.proposals.RANKS`);
        None leaves the section out.
    scenario
        (name, `coverage.scenarios.compare_states` of it): the scenario's before/after section."""
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
    area = area if area is not None else area_name_for(plan, units["code"])
    proposals = None
    if rank is not None:
        from coverage.proposals import propose_sites  # noqa: PLC0415

        proposals = propose_sites(units, result, rank=rank, facilities=facilities, assigned=assigned, classes=classes,
                                  config=config)
    return PackData(plan=plan, units=units, assigned=assigned, result=result, targets=targets, classes=classes,
                    config=config, quality=quality or {}, evaluation=evaluation, source=source, demo=demo, made_on=made_on,
                    area=area, org=str(org or "").strip(), proposals=proposals, proposal_rank=rank or "elderly",
                    scenario_name=scenario[0] if scenario else "", scenario_comparison=scenario[1] if scenario else None)
