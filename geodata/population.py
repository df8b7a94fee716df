"""Population per township (总人口, 60岁以上) and village/community demand points.

`join_population` joins a statistics table (CSV in UTF-8/GBK, or Excel; title rows above the header
are skipped as for facility ledgers, see `geodata.tables.read_table`) to the township layer by
township code. Codes are compared on 9 digits: a 12-digit 统计用区划代码 of a township ends in 000
(370102001000 -> 370102001); a 12-digit code not ending in 000 is a village (村/社区) code and is
reported, not matched. Nothing is dropped silently: every table row that is not joined is listed in
the report with the reason, and so is every township left without figures.

`read_demand_points` reads village/community points (lon, lat in WGS84 by default, population,
60+ population) as finer demand for `coverage.access`.

Every failure a planner can fix raises a `coverage.errors.CoverageError` with a Chinese message.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from coverage.errors import FieldMappingError, InputFileError, PopulationTableError
from geodata.fields import FACILITY_FIELDS, UNIT_FIELDS, ambiguous_fields, detect_fields
from geodata.pointcrs import POINT_SYSTEMS, fix_swapped, parse_coordinate, points_in_china, to_wgs84
from geodata.tables import read_table

WGS84 = "EPSG:4326"
POPULATION_COLUMNS = ("population", "elderly_population")
#: Columns of a township population table (canonical field -> synonyms).
POPULATION_FIELDS: dict[str, tuple[str, ...]] = {
    "code": UNIT_FIELDS["code"],
    "name": UNIT_FIELDS["name"],
    "population": UNIT_FIELDS["population"],
    "elderly_population": UNIT_FIELDS["elderly_population"],
}
#: Columns of a village/community point table.
DEMAND_FIELDS: dict[str, tuple[str, ...]] = {
    "point_id": ("point_id", "id", "编号", "序号", "村代码", "社区代码", "村(社区)代码", "统计用区划代码", "区划代码", "代码"),
    "name": ("name", "名称", "村名", "村(社区)", "村(社区)名称", "村庄名称", "社区名称", "村名称", "村庄", "社区"),
    "lon": FACILITY_FIELDS["lon"],
    "lat": FACILITY_FIELDS["lat"],
    "population": UNIT_FIELDS["population"],
    "elderly_population": UNIT_FIELDS["elderly_population"],
}
FIELD_LABELS = {"code": "乡镇代码", "name": "名称", "population": "总人口", "elderly_population": "60岁以上人口",
                "point_id": "编号", "lon": "经度", "lat": "纬度"}
#: Problems listed one by one before "等 N 处".
MAX_LISTED = 20


@dataclass
class PopulationReport:
    """What `join_population` did, for the page to show (plain, JSON-serialisable values).

    matched
        Townships that received figures from the table.
    unmatched_codes
        Table rows whose code names no township of the layer: dicts row (1-based data row), code, name, reason.
    units_without_data
        Township codes of the layer that no table row names (their figures stay missing, or keep
        the layer's own values when it had them).
    non_numeric
        Cells that are not a number (left missing): dicts row, column, value.
    """

    filename: str
    rows: int = 0
    encoding: str | None = None
    sheets: list[str] = field(default_factory=list)
    columns_used: dict[str, str] = field(default_factory=dict)
    columns_available: list[str] = field(default_factory=list)
    fields_ambiguous: dict[str, list[str]] = field(default_factory=dict)
    matched: int = 0
    unmatched_codes: list[dict] = field(default_factory=list)
    units_without_data: list[str] = field(default_factory=list)
    non_numeric: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    crs: str | None = None
    bad_coordinates: list[str] = field(default_factory=list)
    swapped: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def township_code(value: object) -> str | None:
    """The 9-digit township code of a cell: '370102001', '370102001000' (统计用区划代码, 12 digits
    ending in 000), 370102001.0 from Excel, full-width digits; None when it is none of these
    (blank, a village code, text)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    text = unicodedata.normalize("NFKC", str(value)).strip().replace(" ", "")
    text = text.removesuffix(".0")
    if not text.isdigit() or not text.isascii():
        return None
    if len(text) == 9:
        return text
    if len(text) == 12 and text.endswith("000"):
        return text[:9]
    return None


def _code_problem(value: object) -> str:
    text = unicodedata.normalize("NFKC", "" if value is None else str(value)).strip()
    text = text.removesuffix(".0")
    if not text or text.lower() == "nan":
        return "代码为空(合计行或说明行?)"
    if text.isdigit() and len(text) == 12:
        return "12 位代码末三位不是 000, 是村(社区)级代码, 不是乡镇代码"
    if text.isdigit():
        return f"代码为 {len(text)} 位, 乡镇代码应为 9 位(或 12 位统计用区划代码)"
    return "代码不是数字"


def parse_count(value: object) -> float:
    """A head count from a cell: 12345, '12,345', '１２３４５', '12345人'; NaN when blank; None when not a number."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return np.nan
    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        return float(value)
    text = unicodedata.normalize("NFKC", str(value)).strip().replace(",", "").replace(" ", "")
    if text in ("", "-", "—", "/"):
        return np.nan
    text = text.removesuffix("人")
    try:
        return float(text)
    except ValueError:
        return None  # type: ignore[return-value]


def _counts(table: pd.DataFrame, column: str, label: str, report: PopulationReport, row_labels) -> np.ndarray:
    """Numbers of one column; cells that are not a non-negative number become NaN and are reported."""
    out = np.full(len(table), np.nan)
    for i, value in enumerate(table[column].tolist()):
        n = parse_count(value)
        if n is None or (np.isfinite(n) and n < 0) or (n is not None and np.isinf(n)):
            report.non_numeric.append({"row": row_labels[i], "column": label, "value": str(value)})
        elif n is not None:
            out[i] = n
    return out


def _load(data: bytes | Path | str, filename: str | None) -> tuple[bytes, str]:
    if isinstance(data, (str, Path)):
        path = Path(data)
        return path.read_bytes(), filename or path.name
    if not filename:
        raise InputFileError("未提供文件名, 无法判断文件格式(CSV 或 Excel)。")
    return bytes(data), filename


def _read(raw: bytes, filename: str, report: PopulationReport, sheet: str | None,
          fields: dict[str, tuple[str, ...]], required: tuple[str, ...],
          field_map: dict[str, str] | None) -> tuple[pd.DataFrame, dict[str, str]]:
    """The table with its header row found (read_table, then a second look among the first data rows
    when the header it chose does not name the required columns)."""
    if Path(filename).suffix.lower() not in (".csv", ".txt", ".xlsx", ".xlsm", ".xls"):
        raise InputFileError(f"不支持的人口表格式 {Path(filename).suffix or '(无扩展名)'}, 请上传 CSV 或 Excel(.xlsx/.xls)文件。")
    table = read_table(raw, filename, report, sheet)
    cols = detect_fields(table.columns, fields, field_map)
    if not set(required) <= set(cols):
        for i in range(min(10, len(table))):
            names = table.iloc[i].fillna("").astype(str).str.strip().tolist()
            found = detect_fields(names, fields, field_map)
            if set(required) <= set(found):
                body = table.iloc[i + 1:].copy()
                body.columns = [n or f"列{k + 1}" for k, n in enumerate(names)]
                table, cols = body.reset_index(drop=True), found
                report.notes.append(f"表头在第 {i + 2} 行(其上为标题或说明行)。")
                break
    report.columns_used = cols
    report.columns_available = [str(c) for c in table.columns]
    report.fields_ambiguous = ambiguous_fields(table.columns, fields, cols)
    return table.reset_index(drop=True), cols


def join_population(units: pd.DataFrame, table_bytes: bytes | Path | str, filename: str | None = None, *,
                    sheet: str | None = None, field_map: dict[str, str] | None = None
                    ) -> tuple[pd.DataFrame, PopulationReport]:
    """Join a township population table to the township layer by code.

    Parameters
    ----------
    units
        Township layer (`geodata.io.read_units`) with a `code` column (9 or 12 digits).
    table_bytes, filename
        The table (CSV in UTF-8/GBK/UTF-16, XLSX or XLS) and its name (the suffix decides the format).
        Columns are recognised from their headers: code (乡镇代码, 区划代码, 统计用区划代码 ...),
        optional name, population (总人口, 常住人口, 户籍人口 ...; persons) and elderly_population
        (60岁及以上人口, 60周岁以上, 老年人口 ...; persons). At least one of the two counts is needed.
    sheet
        Excel sheet to read; by default the first sheet with data.
    field_map
        The planner's column choices (field -> header), e.g. {"population": "户籍人口"}.

    Returns
    -------
    units, report
        A copy of `units` with `population` and `elderly_population` (persons; float, NaN when
        unknown): a township named in the table takes the table's figures, one the table does not
        name keeps the layer's own (if any); and a `PopulationReport`.

    Raises `PopulationTableError` (duplicate codes: two rows for one township, refused rather than
    summed or picked) and `FieldMappingError` (no code column, no count column).
    """
    raw, filename = _load(table_bytes, filename)
    report = PopulationReport(filename=filename)
    table, cols = _read(raw, filename, report, sheet, POPULATION_FIELDS, ("code",), field_map)
    counts = [f for f in POPULATION_COLUMNS if f in cols]
    missing = (["code"] if "code" not in cols else []) + (["population"] if not counts else [])
    if missing:
        label = {"code": "乡镇代码(如 乡镇代码、区划代码、统计用区划代码)",
                 "population": "人口数(如 总人口、常住人口、户籍人口, 或 60岁及以上人口)"}
        raise FieldMappingError(
            "人口表中找不到必需的列: " + "、".join(label[m] for m in missing)
            + f"。表中的列有: {', '.join(map(str, table.columns))}。请在「字段对应」中指定。",
            columns=table.columns, missing=missing)
    report.rows = len(table)
    row_labels = list(range(1, len(table) + 1))
    codes = table[cols["code"]].map(township_code)
    names = table[cols["name"]].fillna("").astype(str).str.strip() if "name" in cols else pd.Series("", index=table.index)
    dup = codes.notna() & codes.duplicated(keep=False)
    if dup.any():
        shown = [f"{c}(第 {', '.join(str(i + 1) for i in np.flatnonzero(codes.eq(c)))} 行)"
                 for c in codes[dup].unique()[:MAX_LISTED]]
        raise PopulationTableError(
            f"人口表中有 {int(codes[dup].nunique())} 个乡镇代码出现了不止一次(9 位代码与 12 位统计用区划代码按前 9 位视为同一乡镇)。"
            "同一乡镇只能有一行, 请合并或删除重复行后重新上传:", shown)
    values = {f: _counts(table, cols[f], FIELD_LABELS[f], report, row_labels) for f in counts}
    unit_codes = units["code"].map(township_code)
    known = set(unit_codes.dropna())
    for i, (code, name) in enumerate(zip(codes, names)):
        if pd.isna(code) or code not in known:
            reason = _code_problem(table[cols["code"]].iloc[i]) if pd.isna(code) else "边界图层中没有此乡镇代码"
            report.unmatched_codes.append({"row": row_labels[i], "code": str(table[cols["code"]].iloc[i]),
                                           "name": name, "reason": reason})
    by_code = {f: dict(zip(codes, v)) for f, v in values.items()}
    out = units.copy()
    in_table = unit_codes.isin(set(codes.dropna()))
    report.matched = int(in_table.sum())
    report.units_without_data = units.loc[~in_table.to_numpy(), "code"].astype(str).tolist()
    for f in POPULATION_COLUMNS:
        layer = pd.to_numeric(out[f], errors="coerce") if f in out.columns else pd.Series(np.nan, index=out.index)
        if f in by_code:
            joined = unit_codes.map(by_code[f]).astype(float)
            if in_table.any() and layer[in_table].notna().any():
                report.notes.append(f"边界图层自带的{FIELD_LABELS[f]}已由人口表中的数字替换({int(in_table.sum())} 个乡镇)。")
            out[f] = joined.where(in_table, layer).astype(float).to_numpy()
        else:
            out[f] = layer.astype(float).to_numpy()
            report.notes.append(f"人口表中没有{FIELD_LABELS[f]}列" + ("; 保留边界图层自带的数字。" if layer.notna().any() else "。"))
    _describe(report, out)
    return out, report


def _describe(report: PopulationReport, out: pd.DataFrame) -> None:
    if report.unmatched_codes:
        report.notes.append(f"人口表中 {len(report.unmatched_codes)} 行未能对应到乡镇(见未匹配列表), 未使用。")
    if report.units_without_data:
        report.notes.append(f"{len(report.units_without_data)} 个乡镇在人口表中没有对应行: "
                            + _listed(report.units_without_data) + "。")
    if report.non_numeric:
        report.notes.append(f"{len(report.non_numeric)} 个单元格不是有效人数(文字或负数), 按缺失处理。")
    both = out[["population", "elderly_population"]].astype(float)
    over = both["elderly_population"] > both["population"]
    if over.any():
        report.notes.append(f"{int(over.sum())} 个乡镇的60岁以上人口大于总人口, 请核对: "
                            + _listed(out.loc[over.to_numpy(), "code"].astype(str).tolist()) + "。")


def _listed(items: list[str]) -> str:
    return "、".join(items[:MAX_LISTED]) + (f" 等 {len(items)} 个" if len(items) > MAX_LISTED else "")


def read_demand_points(data: bytes | Path | str, filename: str | None = None, *, system: str = "wgs84",
                       sheet: str | None = None, field_map: dict[str, str] | None = None
                       ) -> tuple[gpd.GeoDataFrame, PopulationReport]:
    """Read village/community points (村/社区 with population) as demand for `coverage.access`.

    Parameters
    ----------
    data, filename
        CSV (UTF-8/GBK) or Excel table with longitude, latitude, and population and/or
        elderly_population (60岁以上, persons); optional point_id and name.
    system
        Coordinate system of lon/lat: "wgs84" (default), "cgcs2000", "gcj02" (高德/腾讯),
        "bd09" (百度) or "EPSG:n". No automatic detection here: the planner states it.

    Returns
    -------
    points, report
        Points in EPSG:4326 with point_id, name, lon, lat, population, elderly_population
        (persons; NaN when missing). Rows whose coordinates are missing or outside China get no
        geometry and are listed in `report.bad_coordinates`; swapped lon/lat are fixed and listed.
    """
    raw, filename = _load(data, filename)
    report = PopulationReport(filename=filename)
    table, cols = _read(raw, filename, report, sheet, DEMAND_FIELDS, ("lon", "lat"), field_map)
    missing = [f for f in ("lon", "lat") if f not in cols]
    if not any(f in cols for f in POPULATION_COLUMNS):
        missing.append("population")
    if missing:
        label = {"lon": "经度(lon/lng)", "lat": "纬度(lat)", "population": "人口数(如 总人口 或 60岁及以上人口)"}
        raise FieldMappingError(
            "村(社区)点表中找不到必需的列: " + "、".join(label[m] for m in missing)
            + f"。表中的列有: {', '.join(map(str, table.columns))}。请在「字段对应」中指定。",
            columns=table.columns, missing=missing)
    report.rows = len(table)
    row_labels = list(range(1, len(table) + 1))
    ids = (table[cols["point_id"]].fillna("").astype(str).str.strip().str.replace(r"\.0$", "", regex=True)
           if "point_id" in cols else pd.Series("", index=table.index))
    ids = pd.Series([v or f"R{i + 1}" for i, v in enumerate(ids)], index=table.index)
    out = pd.DataFrame({"point_id": ids,
                        "name": table[cols["name"]].fillna("").astype(str).str.strip() if "name" in cols else ""})
    for f in POPULATION_COLUMNS:
        out[f] = _counts(table, cols[f], FIELD_LABELS[f], report, row_labels) if f in cols else np.nan
        if f not in cols:
            report.notes.append(f"表中没有{FIELD_LABELS[f]}列。")
    x = parse_coordinate(table[cols["lon"]])
    y = parse_coordinate(table[cols["lat"]])
    if system in ("wgs84", "cgcs2000", "gcj02", "bd09"):
        x, y, swapped = fix_swapped(x, y)
        report.swapped = ids[swapped].tolist()
        if swapped.any():
            report.notes.append(f"{int(swapped.sum())} 个点的经纬度填反了, 已自动对调。")
    lon, lat = to_wgs84(x, y, system)
    ok = points_in_china(np.asarray(lon), np.asarray(lat))
    out["lon"] = np.where(ok, lon, np.nan)
    out["lat"] = np.where(ok, lat, np.nan)
    report.bad_coordinates = ids[~ok].tolist()
    if report.bad_coordinates:
        report.notes.append(f"{len(report.bad_coordinates)} 个点缺少坐标或坐标不在中国范围内, 不参与计算: "
                            + _listed(report.bad_coordinates) + "。")
    report.crs = POINT_SYSTEMS.get(system, system)
    geometry = np.full(len(out), None, dtype=object)
    geometry[ok] = shapely.points(np.asarray(lon)[ok], np.asarray(lat)[ok])
    return gpd.GeoDataFrame(out.reset_index(drop=True), geometry=geometry, crs=WGS84), report
