"""Read township layers and facility ledgers into normalised tables (WGS84, EPSG:4326).

`read_units` accepts GeoJSON, GeoPackage, zipped Shapefile and KML; `read_facilities` accepts CSV
(UTF-8, UTF-8 with BOM, GBK/GB18030) and XLSX with longitude/latitude in WGS84. Both return the
data plus a report of what was read (columns used, encoding, CRS, repairs), for the page to show.
Every failure a planner can fix raises a `coverage.errors.CoverageError` with a Chinese message.
"""
from __future__ import annotations

import io
import tempfile
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from coverage.admin import township_kind, township_kinds
from coverage.catalog import DATA_DIR, FUNCTION_COLUMNS, ClassCatalog, normalize_label
from coverage.errors import (
    BoundaryValidationError, CRSError, FieldMappingError, InputFileError, UnsafeArchiveError,
)
from geodata.crs import county_lon_hint, infer_projected_crs
from geodata.fields import FACILITY_FIELDS, UNIT_FIELDS, ambiguous_fields, describe_fields, detect_fields
from geodata.tables import read_table
from geodata.pointcrs import POINT_SYSTEMS, convert_points, fix_swapped, parse_coordinate

WGS84 = "EPSG:4326"
MAX_FILE_BYTES = 200 * 1024 * 1024          # largest upload accepted
MAX_ZIP_MEMBERS = 500
MAX_ZIP_UNCOMPRESSED_BYTES = 1024 * 1024 * 1024
MAX_ZIP_RATIO = 200                          # uncompressed / compressed, per member over 1 MB
#: Rough bounding box of China (lon_min, lat_min, lon_max, lat_max), degrees.
CHINA_BBOX = (73.0, 3.0, 136.0, 54.0)
UNIT_KINDS = ("街道", "镇", "乡", "类似乡级单位")
YES_VALUES = {"是", "有", "y", "yes", "1", "true", "√", "✓", "t", "1.0"}


@dataclass
class ReadReport:
    """What a reader found, shown to the planner (all values plain and JSON-serialisable)."""

    filename: str
    rows: int = 0
    columns_used: dict[str, str] = field(default_factory=dict)
    columns_available: list[str] = field(default_factory=list)
    fields_ambiguous: dict[str, list[str]] = field(default_factory=dict)
    encoding: str | None = None
    crs: str | None = None
    notes: list[str] = field(default_factory=list)
    repaired_geometries: int = 0
    dropped_empty_geometries: int = 0
    bad_coordinates: list[str] = field(default_factory=list)
    unknown_classes: dict[str, int] = field(default_factory=dict)
    contained_classes: list[dict] = field(default_factory=list)
    swapped: list[str] = field(default_factory=list)
    sheets: list[str] = field(default_factory=list)
    crs_inferred: bool = False

    def as_dict(self) -> dict:
        return dict(self.__dict__)


#: How a reader's `encoding` value reads to a planner (format and, for text files, encoding).
FORMAT_LABELS = {"xlsx": "Excel 工作簿(.xlsx)", "xlsm": "Excel 启用宏的工作簿(.xlsm)", "xls": "Excel 97-2003 工作簿(.xls)",
                 "UTF-8": "文本文件, UTF-8 编码", "GBK/GB18030": "文本文件, GBK/GB18030 编码",
                 "UTF-16(Excel Unicode 文本)": "Excel Unicode 文本, UTF-16 编码", "GB18030": "GBK/GB18030 编码"}


def format_label(encoding: str | None) -> str:
    """'Excel 工作簿(.xlsx)' for "xlsx", '文本文件, UTF-8 编码' for "UTF-8"; '—' when unknown."""
    if not encoding:
        return "—"
    return FORMAT_LABELS.get(str(encoding), f"{encoding} 编码")


def report_rows(report: dict, prepare: dict | None = None) -> list[tuple[str, str]]:
    """(项目, 内容) rows describing what a reader found, in Chinese, for the 读取详情 tables."""
    rows = [("文件", report.get("filename") or "—"), ("记录数", str(report.get("rows", "—"))),
            ("格式/编码", format_label(report.get("encoding")))]
    if report.get("sheets"):
        rows.append(("工作表", "、".join(map(str, report["sheets"]))))
    if report.get("crs"):
        rows.append(("坐标系", str(report["crs"]) + ("(推断)" if report.get("crs_inferred") else "")))
    if prepare and prepare.get("point_system_label"):
        rows.append(("坐标系", str(prepare["point_system_label"])))
        evidence = (prepare.get("point_system_detection") or {}).get("evidence")
        if evidence:
            rows.append(("坐标系判断依据", str(evidence)))
    if report.get("columns_used"):
        rows.append(("字段对应", describe_fields(report["columns_used"])))
    if report.get("unknown_classes"):
        rows.append(("无法识别的类型", "、".join(f"{k}({v}条)" for k, v in report["unknown_classes"].items())))
    for note in report.get("notes") or []:
        rows.append(("说明", str(note)))
    return rows


# ---------------------------------------------------------------- townships

def read_units(data: bytes | Path | str, filename: str | None = None, *, layer: str | None = None,
               crs: str | int | None = None, field_map: dict[str, str] | None = None,
               ) -> tuple[gpd.GeoDataFrame, ReadReport]:
    """Read a township layer into code, name, district_code, district_name, kind (+ population
    columns when present), geometry in EPSG:4326.

    data
        File content (bytes) or a path. `filename` gives the format by its extension when
        `data` is bytes (.geojson/.json, .gpkg, .zip with a Shapefile, .shp, .kml, .kmz).
    crs
        Override the layer's CRS (e.g. 4549, or "EPSG:2379" for Xian 1980), for files whose .prj is
        missing or wrong. Without it, a missing CRS is inferred (see `geodata.crs.infer_projected_crs`).
    field_map
        The planner's column choices (field -> column, e.g. {"code": "XZDM"}), ahead of the
        automatic recognition; see `geodata.fields.detect_fields`.
    """
    raw, filename = _load_bytes(data, filename)
    report = ReadReport(filename=filename)
    gdf = _read_vector(raw, filename, layer, report)
    if gdf.empty:
        raise InputFileError(f"{filename} 中没有任何要素(空文件), 请检查是否导出了正确的图层。")
    if crs is not None:
        gdf = gdf.set_crs(crs, allow_override=True)
        report.notes.append(f"坐标系按用户选择: {CRS(gdf.crs).name}")
    gdf = _drop_nonfinite(gdf, report)
    gdf = _to_wgs84(gdf, report, field_map)
    gdf = _repair_geometries(gdf, report)
    units = normalize_units(gdf, report, field_map)
    report.rows = len(units)
    return units, report


def _load_bytes(data: bytes | Path | str, filename: str | None) -> tuple[bytes, str]:
    if isinstance(data, (str, Path)):
        path = Path(data)
        if not path.exists():
            raise InputFileError(f"找不到文件 {path}。")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InputFileError(f"文件 {path.name} 超过 {MAX_FILE_BYTES // 2**20} MB, 请先裁剪到本市范围再上传。")
        return path.read_bytes(), filename or path.name
    if len(data) > MAX_FILE_BYTES:
        raise InputFileError(f"文件超过 {MAX_FILE_BYTES // 2**20} MB, 请先裁剪到本市范围再上传。")
    return bytes(data), filename or "upload"


def _read_vector(raw: bytes, filename: str, layer: str | None, report: ReadReport) -> gpd.GeoDataFrame:
    suffix = Path(filename).suffix.lower()
    if not raw:
        raise InputFileError(f"{filename} 是空文件。")
    with tempfile.TemporaryDirectory(prefix="mz_units_") as tmp:
        if suffix == ".zip":
            path = _extract_shapefile(raw, Path(tmp), filename)
        elif suffix == ".kmz":
            path = _extract_kml(raw, Path(tmp), filename)
        elif suffix in (".geojson", ".json", ".gpkg", ".kml", ".shp"):
            path = Path(tmp) / f"upload{suffix}"
            path.write_bytes(raw)
        else:
            raise InputFileError(
                f"不支持的边界文件格式 {suffix or '(无扩展名)'}。请上传 GeoJSON、GeoPackage(.gpkg)、"
                "压缩的 Shapefile(.zip, 含 .shp/.shx/.dbf/.prj)或 KML/KMZ。"
            )
        kwargs: dict = {}
        if path.suffix.lower() == ".shp":
            encoding = _dbf_encoding(path)
            report.encoding = encoding
            kwargs["encoding"] = encoding
        if suffix == ".gpkg":
            layers = [name for name, geom in _list_layers(path, filename) if geom]
            if layer is None and len(layers) > 1:
                report.notes.append(f"GeoPackage 含多个图层 {layers}, 已读取第一个: {layers[0]}")
            layer = layer or (layers[0] if layers else None)
        try:
            gdf = gpd.read_file(path, layer=layer, engine="pyogrio", **kwargs)
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError,
                pyogrio.errors.FieldError, pyogrio.errors.GeometryError) as err:
            raise InputFileError(f"无法读取 {filename}: 文件损坏或不是有效的空间数据文件({err})。") from err
        except UnicodeDecodeError as err:
            raise InputFileError(f"无法读取 {filename}: 文字编码不是 UTF-8(GeoJSON 必须为 UTF-8), 请另存为 UTF-8 后上传。") from err
        except ValueError as err:
            raise InputFileError(f"无法读取 {filename}: {err}") from err
    if "geometry" not in gdf or gdf.geometry.isna().all():
        raise InputFileError(f"{filename} 中没有几何图形(可能是纯属性表), 请上传含乡镇面的图层。")
    return gdf


def _list_layers(path: Path, filename: str) -> list[tuple[str, str]]:
    try:
        return [(str(n), str(g) if g else "") for n, g in pyogrio.list_layers(path)]
    except pyogrio.errors.DataSourceError as err:
        raise InputFileError(f"无法打开 GeoPackage {filename}: {err}") from err


def _open_safe_zip(raw: bytes, filename: str) -> zipfile.ZipFile:
    """Open a zip after refusing path traversal, too many members and zip bombs."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile as err:
        raise InputFileError(f"{filename} 不是有效的 zip 压缩包(文件可能已损坏)。") from err
    members = zf.infolist()
    if len(members) > MAX_ZIP_MEMBERS:
        raise UnsafeArchiveError(f"压缩包内文件过多({len(members)} 个), 为安全起见已拒绝。请只打包 Shapefile 的各个文件。")
    total = 0
    for m in members:
        name = PurePosixPath(m.filename.replace("\\", "/"))
        if name.is_absolute() or ".." in name.parts or ":" in m.filename:
            raise UnsafeArchiveError(f"压缩包含不安全的路径 {m.filename!r}, 为安全起见已拒绝。")
        total += m.file_size
        if m.file_size > 2**20 and m.compress_size and m.file_size / m.compress_size > MAX_ZIP_RATIO:
            raise UnsafeArchiveError("压缩包压缩比异常(疑似压缩炸弹), 为安全起见已拒绝。")
    if total > MAX_ZIP_UNCOMPRESSED_BYTES:
        raise UnsafeArchiveError("压缩包解压后过大(超过 1 GB), 为安全起见已拒绝。")
    return zf


def _extract_kml(raw: bytes, dest: Path, filename: str) -> Path:
    with _open_safe_zip(raw, filename) as zf:
        kmls = sorted(m for m in zf.namelist() if m.lower().endswith(".kml"))
        if not kmls:
            raise InputFileError(f"KMZ 文件 {filename} 中没有 .kml。")
        target = dest / "doc.kml"
        target.write_bytes(_read_member(zf, kmls[0]))
    return target


def _read_member(zf: zipfile.ZipFile, name: str) -> bytes:
    try:
        with zf.open(name) as src:
            return src.read(MAX_ZIP_UNCOMPRESSED_BYTES + 1)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as err:
        raise InputFileError(f"压缩包中的 {name} 已损坏, 无法解压。") from err


def _extract_shapefile(raw: bytes, dest: Path, filename: str) -> Path:
    """Safely extract a zipped Shapefile; return the path of its .shp (the first, by name)."""
    with _open_safe_zip(raw, filename) as zf:
        members = zf.infolist()
        shps = sorted(m.filename for m in members if m.filename.lower().endswith(".shp") and not m.is_dir())
        if not shps:
            raise InputFileError(f"压缩包 {filename} 中没有 .shp 文件。请把 .shp、.shx、.dbf、.prj 一起打包上传。")
        stem = shps[0][:-4]
        wanted = [m for m in members if m.filename[: len(stem)] == stem and not m.is_dir()]
        exts = {PurePosixPath(m.filename).suffix.lower() for m in wanted}
        missing = [e for e in (".shx", ".dbf") if e not in exts]
        if missing:
            raise InputFileError(f"压缩包中的 Shapefile 缺少 {'、'.join(missing)} 文件, 请把同名的各个文件一起打包。")
        for m in wanted:
            target = dest / ("layer" + PurePosixPath(m.filename).suffix.lower())
            target.write_bytes(_read_member(zf, m.filename))
    return dest / "layer.shp"


def _dbf_encoding(shp: Path) -> str:
    """Encoding of the .dbf next to `shp`: the .cpg when present, else UTF-8 if the records
    decode as UTF-8, else GB18030 (a superset of GBK, the usual encoding of Chinese DBFs)."""
    cpg = shp.with_suffix(".cpg")
    if cpg.exists():
        name = cpg.read_text(errors="ignore").strip().lower()
        if name in ("utf-8", "utf8", "65001"):
            return "UTF-8"
        if name in ("gbk", "gb2312", "gb18030", "936", "cp936"):
            return "GB18030"
    dbf = shp.with_suffix(".dbf")
    body = dbf.read_bytes()[32:] if dbf.exists() else b""
    try:
        body.decode("utf-8")
        return "UTF-8"
    except UnicodeDecodeError:
        return "GB18030"


def _to_wgs84(gdf: gpd.GeoDataFrame, report: ReadReport, field_map: dict[str, str] | None = None) -> gpd.GeoDataFrame:
    bounds = gdf.total_bounds
    looks_degrees = bool(np.all(np.isfinite(bounds))) and -180 <= bounds[0] <= bounds[2] <= 180 and -90 <= bounds[1] <= bounds[3] <= 90
    if gdf.crs is None:
        if looks_degrees:
            report.notes.append("文件未声明坐标系, 坐标为经纬度, 按 WGS84/CGCS2000 读取。")
            gdf = gdf.set_crs(WGS84)
        else:
            code_col = detect_fields(gdf.columns, UNIT_FIELDS, field_map).get("code")
            hint = county_lon_hint(gdf[code_col].astype(str)) if code_col else None
            pts = gdf.geometry.representative_point()
            try:
                epsg, reason = infer_projected_crs(pts.x.to_numpy(), pts.y.to_numpy(), lon_hint=hint)
            except CRSError as err:
                raise CRSError("边界文件没有坐标系信息(Shapefile 缺少 .prj?)。" + str(err)) from err
            if hint is not None:
                center = gpd.GeoSeries(pts, crs=epsg).to_crs(WGS84).union_all().centroid
                if abs(center.x - hint) > 1.5:
                    raise CRSError(
                        f"边界文件没有坐标系信息, 推断的投影带({reason})与乡镇代码所在区县的位置(约 {hint:.1f}°E)不符。"
                        "请在「坐标系」中手动选择正确的投影带。")
            report.notes.append(f"文件未声明坐标系, 已推断: {reason}。大地基准无法从坐标判断, 默认 CGCS2000; 如为西安80/北京54请手动选择。")
            report.crs_inferred = True
            gdf = gdf.set_crs(epsg)
    report.crs = CRS(gdf.crs).name
    if CRS(gdf.crs).to_epsg() == 4490:
        # CGCS2000 longitude/latitude and WGS84 differ by centimetres (far below a township
        # boundary's precision): relabel instead of transforming every vertex (memory, time at scale)
        out = gdf.set_crs(WGS84, allow_override=True)
    else:
        out = gdf.to_crs(WGS84)
    b = out.total_bounds
    if not np.all(np.isfinite(b)):
        raise CRSError("坐标转换失败(出现无效坐标), 请检查坐标系设置是否正确。")
    margin = 2.0
    if (b[0] < CHINA_BBOX[0] - margin or b[2] > CHINA_BBOX[2] + margin
            or b[1] < CHINA_BBOX[1] - margin or b[3] > CHINA_BBOX[3] + margin):
        raise CRSError(
            f"按声明的坐标系({report.crs})换算后, 边界超出中国范围({b[0]:.4g},{b[1]:.4g} ~ {b[2]:.4g},{b[3]:.4g})。"
            "坐标系声明可能有误(如投影带号错误)或个别坐标异常, 请核对 .prj 与坐标值。"
        )
    return out


def _drop_nonfinite(gdf: gpd.GeoDataFrame, report: ReadReport) -> gpd.GeoDataFrame:
    """Drop features whose coordinates include NaN or infinity (GEOS cannot handle them)."""
    geoms = gdf.geometry.to_numpy()
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    bad_rows = np.unique(index[~np.isfinite(coords).all(axis=1)])
    if len(bad_rows) == len(gdf):
        raise BoundaryValidationError("边界文件的坐标全部无效(NaN 或无穷大), 请检查导出过程。")
    if len(bad_rows):
        report.notes.append(f"{len(bad_rows)} 个要素含无效坐标(NaN 或无穷大), 已忽略。")
        report.dropped_empty_geometries += len(bad_rows)
        gdf = gdf.drop(index=gdf.index[bad_rows])
    return gdf


def _repair_geometries(gdf: gpd.GeoDataFrame, report: ReadReport) -> gpd.GeoDataFrame:
    empty = gdf.geometry.isna() | gdf.geometry.is_empty
    report.dropped_empty_geometries = int(empty.sum())
    gdf = gdf[~empty].copy()
    invalid = ~gdf.geometry.is_valid
    report.repaired_geometries = int(invalid.sum())
    if invalid.any():
        fixed = shapely.make_valid(gdf.geometry[invalid].to_numpy())
        gdf.loc[invalid, gdf.geometry.name] = [_polygonal_part(g) for g in fixed]
    gdf["geometry"] = [_polygonal_part(g) for g in gdf.geometry]
    not_poly = gdf.geometry.isna() | gdf.geometry.is_empty
    if not_poly.all():
        raise BoundaryValidationError("边界文件中没有面要素(只有点或线), 请上传乡镇(街道)面图层。")
    if not_poly.any():
        report.notes.append(f"{int(not_poly.sum())} 个要素不是面(点或线), 已忽略。")
        report.dropped_empty_geometries += int(not_poly.sum())
    if report.repaired_geometries:
        report.notes.append(f"{report.repaired_geometries} 个无效几何(自相交等)已自动修复。")
    return gdf[~not_poly]


def _polygonal_part(geom):
    """Keep only the polygonal part of a geometry (None if there is none)."""
    if geom is None:
        return None
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    if not parts:
        return None
    return shapely.union_all(parts)


def _county_names() -> dict[str, str]:
    table = pd.read_csv(DATA_DIR / "county_names.csv", dtype=str)
    return dict(zip(table["county_code"], table["county_name"]))


def unit_kind(name: str, code: str) -> str:
    """街道/镇/乡/类似乡级单位/其他 (see `coverage.admin.township_kind`)."""
    return township_kind(name, code)


def normalize_units(gdf: gpd.GeoDataFrame, report: ReadReport | None = None,
                    field_map: dict[str, str] | None = None) -> gpd.GeoDataFrame:
    """Rename recognised columns to the unit data model and fill what can be derived."""
    report = report or ReadReport(filename="")
    attributes = [c for c in gdf.columns if c != gdf.geometry.name]
    if not attributes:
        raise FieldMappingError("边界文件没有任何属性字段(Shapefile 的 .dbf 可能已损坏), 需要乡镇代码和名称字段。")
    cols = detect_fields(attributes, UNIT_FIELDS, field_map)
    report.columns_used = cols
    report.columns_available = [str(c) for c in attributes]
    report.fields_ambiguous = ambiguous_fields(attributes, UNIT_FIELDS, cols)
    for field, candidates in report.fields_ambiguous.items():
        if field not in (field_map or {}):
            report.notes.append(f"「{describe_fields({field: candidates[0]})}」: 另有候选字段 {', '.join(candidates[1:])}, "
                                "如不对请在「字段对应」中改选。")
    missing = [f for f in ("code", "name") if f not in cols]
    if missing:
        label = {"code": "乡镇代码(如 code、XZQDM、乡镇代码)", "name": "乡镇名称(如 name、XZQMC、乡镇名称)"}
        raise FieldMappingError(
            "边界文件中找不到必需的字段: " + "、".join(label[m] for m in missing)
            + f"。文件中的字段有: {', '.join(map(str, attributes))}。请在下方「字段对应」中指定。",
            columns=attributes, missing=missing)
    out = gpd.GeoDataFrame({"code": gdf[cols["code"]].astype(str).str.strip()}, geometry=gdf.geometry.values, crs=gdf.crs)
    out["code"] = out["code"].str.replace(r"\.0$", "", regex=True)
    out["name"] = gdf[cols["name"]].astype(str).str.strip().to_numpy()
    problems = []
    bad_code = ~out["code"].str.fullmatch(r"\d{6,12}")
    if bad_code.any():
        problems.append(f"{int(bad_code.sum())} 个乡镇代码不是 6-12 位数字, 例如 {out.loc[bad_code, 'code'].iloc[0]!r}")
    if out["code"].duplicated().any():
        dup = out.loc[out["code"].duplicated(), "code"].unique()[:5]
        problems.append(f"乡镇代码重复: {', '.join(dup)}(同一乡镇被拆成多个要素时请先合并)")
    if problems:
        raise BoundaryValidationError("边界文件的乡镇代码有问题, 无法统计:", problems)
    if "district_code" in cols:
        out["district_code"] = gdf[cols["district_code"]].astype(str).str.strip().str.replace(r"\.0$", "", regex=True).to_numpy()
    else:
        out["district_code"] = out["code"].str[:6]
        report.notes.append("文件无区县代码字段, 已按乡镇代码前6位推导所属区县。")
    if "district_name" in cols:
        out["district_name"] = gdf[cols["district_name"]].astype(str).str.strip().to_numpy()
    else:
        names = _county_names()
        out["district_name"] = out["district_code"].map(lambda c: names.get(c[:6], c))
    derived = township_kinds(out["name"], out["code"])
    if "kind" in cols:
        given = gdf[cols["kind"]].astype(str).str.strip()
        out["kind"] = np.where(given.isin(UNIT_KINDS).to_numpy(), given.to_numpy(dtype=object), derived)
    else:
        out["kind"] = derived
    for f in ("population", "elderly_population"):
        if f in cols:
            out[f] = pd.to_numeric(gdf[cols[f]], errors="coerce").to_numpy()
    return out


# ---------------------------------------------------------------- facilities

def read_facilities(data: bytes | Path | str, filename: str | None, classes: ClassCatalog, *,
                    system: str = "wgs84", sheet: str | None = None, class_mapping: dict[str, str] | None = None,
                    field_map: dict[str, str] | None = None) -> tuple[gpd.GeoDataFrame, ReadReport]:
    """Read a facility ledger (CSV, XLSX or XLS).

    system
        Coordinate system of the ledger's coordinates: "wgs84", "cgcs2000", "gcj02", "bd09" or
        "EPSG:n" (a GK zone in metres). "auto" reads them as WGS84 for now; call
        `geodata.clean.prepare_facilities` with the township layer to decide.
    sheet
        Excel sheet to read; by default every sheet with a recognisable header is read and combined.
    class_mapping
        Planner's own type label -> class_id, applied before the catalogue's aliases.
    field_map
        The planner's column choices (field -> header, e.g. {"facility_class": "服务类型"}).

    Returns points in EPSG:4326 with facility_id, name, class_raw, facility_class (canonical
    class_id, missing when unrecognised), x_raw/y_raw (as given, swaps fixed), lon, lat (WGS84),
    address, operating_status, beds, function flags; rows without usable coordinates have no geometry.
    """
    raw, filename = _load_bytes(data, filename)
    report = ReadReport(filename=filename)
    table = read_table(raw, filename, report, sheet, field_map)
    cols = detect_fields(table.columns, FACILITY_FIELDS, field_map)
    report.columns_used = cols
    report.columns_available = [str(c) for c in table.columns]
    report.fields_ambiguous = ambiguous_fields(table.columns, FACILITY_FIELDS, cols)
    missing = [f for f in ("name", "facility_class") if f not in cols]
    if "address" not in cols:
        missing += [f for f in ("lon", "lat") if f not in cols]
    if missing:
        label = {"name": "名称", "facility_class": "类型(设施类型/机构类别)", "lon": "经度(lon/lng)", "lat": "纬度(lat)"}
        raise FieldMappingError(
            "设施表中找不到必需的列: " + "、".join(label[m] for m in missing)
            + f"。表中的列有: {', '.join(map(str, table.columns))}。请在下方「字段对应」中指定, 或下载模板对照修改表头。",
            columns=table.columns, missing=missing)
    out = pd.DataFrame(index=table.index)
    out["facility_id"] = _facility_ids(table, cols, report)
    out["record_no"] = np.arange(1, len(table) + 1)
    if "sheet" in table.columns:
        out["sheet"] = table["sheet"].fillna("").astype(str)
    out["name"] = table[cols["name"]].fillna("").astype(str).str.strip()
    out["class_raw"] = table[cols["facility_class"]].fillna("").astype(str).str.strip()
    out["facility_class"], out["class_match"] = _match_classes(out["class_raw"], classes, class_mapping)
    unknown = out.loc[out["facility_class"].isna() & out["class_match"].ne("mapped_none"), "class_raw"].replace("", "(空)")
    report.unknown_classes = {str(k): int(v) for k, v in unknown.value_counts().items()}
    contained = out[out["class_match"].eq("contains")]
    report.contained_classes = [
        {"label": str(label), "class_id": str(cid), "count": int(n)}
        for (label, cid), n in contained.groupby(["class_raw", "facility_class"]).size().items()]
    if report.contained_classes:
        report.notes.append(f"{len(report.contained_classes)} 种类型名称不是类别表中的写法, 按其中包含的类别名归类, "
                            "请在「数据质量」页确认。")
    x = parse_coordinate(table[cols["lon"]]) if "lon" in cols else np.full(len(table), np.nan)  # vectorised on a column
    y = parse_coordinate(table[cols["lat"]]) if "lat" in cols else np.full(len(table), np.nan)  # vectorised on a column
    degrees = system in ("wgs84", "cgcs2000", "gcj02", "bd09", "auto")
    if degrees:
        x, y, swapped = fix_swapped(x, y)
        report.swapped = out.loc[swapped, "facility_id"].tolist()
        if swapped.any():
            report.notes.append(f"{int(swapped.sum())} 条记录的经纬度填反了, 已自动对调。")
    out["x_raw"], out["y_raw"] = x, y
    for f in ("address", "operating_status", "stated_township", "stated_district"):
        out[f] = table[cols[f]].fillna("").astype(str).str.strip() if f in cols else ""
    out["beds"] = pd.to_numeric(table[cols["beds"]], errors="coerce") if "beds" in cols else np.nan
    if "nursing_beds" in cols:  # optional: absent means "not in the ledger" (护理型床位占比 then has no data)
        out["nursing_beds"] = pd.to_numeric(table[cols["nursing_beds"]], errors="coerce")
    out["built_year"] = (_year(table[cols["built_year"]]) if "built_year" in cols else pd.Series(pd.NA, index=table.index)).astype("Int64")
    functions = table[cols["functions"]].fillna("").astype(str) if "functions" in cols else None
    for zh, col in FUNCTION_COLUMNS.items():
        if col in cols:
            out[col] = table[cols[col]].fillna("").astype(str).str.strip().str.lower().isin(YES_VALUES)
        elif functions is not None:
            out[col] = functions.str.contains(zh, regex=False)
        else:
            out[col] = False
    out = out.reset_index(drop=True)
    gdf, bad = convert_points(out, "wgs84" if system == "auto" else system)
    report.crs = POINT_SYSTEMS.get(system, system)
    report.bad_coordinates = bad
    if bad:
        report.notes.append(f"{len(bad)} 条记录的坐标换算后不在中国范围内(坐标系选错或数值有误?), 按缺少坐标处理。")
    report.rows = len(gdf)
    return gdf, report


#: Class-mapping value meaning "the planner confirmed this label counts for no class".
NOT_COUNTED = "none"


def _facility_ids(table: pd.DataFrame, cols: dict[str, str], report: ReadReport) -> pd.Series:
    """编号 as text; blank ones become R<row>. 编号 is unique within a sheet, not across sheets: when
    several sheets reuse an 编号 (编号 1 on 一 and 编号 1 on 二 are different facilities), those rows
    are qualified with their sheet ("二:1")."""
    if "facility_id" not in cols:
        report.notes.append("设施表无编号列, 已按行号生成编号(R1, R2, ...)。")
        return pd.Series([f"R{i + 1}" for i in range(len(table))], index=table.index)
    ids = table[cols["facility_id"]].fillna("").astype(str).str.strip().str.replace(r"\.0$", "", regex=True)
    blank = ids.eq("")
    ids[blank] = [f"R{i + 1}" for i in np.flatnonzero(blank)]
    if "sheet" in table.columns and table["sheet"].nunique() > 1:
        sheets = table["sheet"].fillna("").astype(str)
        shared = pd.DataFrame({"id": ids, "sheet": sheets}).groupby("id")["sheet"].nunique()
        clash = ids.isin(shared.index[shared > 1]) & ~blank
        if clash.any():
            ids[clash] = sheets[clash] + ":" + ids[clash]
            report.notes.append(f"{int(clash.sum())} 条记录的编号在多个工作表中重复使用(各表各自编号), "
                                "已在编号前加工作表名以区分, 如「" + str(ids[clash].iloc[0]) + "」。")
    return ids


def _match_classes(labels: pd.Series, classes: ClassCatalog, class_mapping: dict[str, str] | None
                   ) -> tuple[pd.Series, pd.Series]:
    """(class_id or None, how) per row, decided once per distinct label: the planner's mapping first
    ("mapped"; "mapped_none" when they chose 不计入), then the catalogue ("exact" / "contains")."""
    mapping = {normalize_label(k): v for k, v in (class_mapping or {}).items()
               if v in classes.names or v == NOT_COUNTED}
    decided: dict[str, tuple[str | None, str]] = {}
    codes, uniques = pd.factorize(labels, use_na_sentinel=False)  # each distinct label decided once
    distinct = pd.Series(uniques, dtype=labels.dtype)
    for label in distinct:
        chosen = mapping.get(normalize_label(label))
        if chosen == NOT_COUNTED:
            decided[label] = (None, "mapped_none")
        elif chosen:
            decided[label] = (chosen, "mapped")
        else:
            decided[label] = classes.match_how(label)
    # typed as mapping every row would type them, then broadcast to the rows by position
    cls_of = distinct.map(lambda v: decided[v][0]).astype(object)
    how_of = distinct.map(lambda v: decided[v][1])
    cls = pd.Series(cls_of.array.take(codes), index=labels.index, name=labels.name, dtype=cls_of.dtype)
    how = pd.Series(how_of.array.take(codes), index=labels.index, name=labels.name, dtype=how_of.dtype)
    return cls, how


def _year(values: pd.Series) -> pd.Series:
    """Four-digit year from '2019', '2019年', '2019-06-01', '2019.6' or an Excel date; else missing."""
    text = values.fillna("").astype(str).map(lambda v: unicodedata.normalize("NFKC", v))
    year = pd.to_numeric(text.str.extract(r"((?:19|20)\d{2})", expand=False), errors="coerce")
    return year.where(year.between(1949, 2100))


def apply_class_mapping(facilities: pd.DataFrame, classes: ClassCatalog, class_mapping: dict[str, str]) -> pd.DataFrame:
    """The ledger with the planner's label mapping applied again (as `read_facilities` applies it):
    rows whose class was chosen by hand in the app (class_match "edited") keep it; a copy."""
    if not class_mapping or "class_raw" not in facilities.columns:
        return facilities
    out = facilities.copy()
    cls, how = _match_classes(out["class_raw"].fillna("").astype(str), classes, class_mapping)
    keep = out["class_match"].eq("edited").to_numpy() if "class_match" in out.columns else np.zeros(len(out), dtype=bool)
    out["facility_class"] = np.where(keep, out["facility_class"].astype(object), cls.astype(object).to_numpy())
    out["class_match"] = np.where(keep, "edited", how.astype(object).to_numpy())
    return out
