"""Command line: `python -m coverage compute --units U --facilities F [--plan NAME] --out DIR`.

Writes assignments.csv, coverage.csv, uncovered.csv (UTF-8 with BOM, so Excel opens them) and
quality.json into DIR. Exit status 2 with a Chinese message on input a planner can fix.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from coverage.assign import ASSIGNMENT_STATUSES
from coverage.catalog import TARGETS_CSV, load_classes, load_targets, plans
from coverage.config import CoverageConfig
from coverage.errors import CoverageError, FieldMappingError
from coverage.evaluate import evaluate_layers
from coverage.quality import quality_summary

DEFAULT_PLAN = "通用(无本地规划时)"
ASSIGNMENT_COLUMNS = ["facility_id", "name", "class_raw", "facility_class", "class_name", "unit_code", "unit_name",
                      "district_code", "lon", "lat", "x_raw", "y_raw", "address", "operating_status", "on_edge",
                      "duplicate_of", "status", "status_label"]


def select_plan(targets: pd.DataFrame, plan: str | None) -> pd.DataFrame:
    """Rows of the plan named `plan` (exact name, or a unique substring such as "十堰")."""
    names = plans(targets)
    wanted = plan or DEFAULT_PLAN
    hits = [n for n in names if n == wanted] or [n for n in names if wanted in n]
    if len(hits) != 1:
        raise CoverageError(f"找不到唯一匹配 {wanted!r} 的规划。可选: {'; '.join(names)}")
    return targets[targets["plan"] == hits[0]]


def parse_field_map(pairs: list[str] | None) -> dict[str, str]:
    """["code=XZDM", "name=MC"] -> {"code": "XZDM", "name": "MC"}."""
    out = {}
    for pair in pairs or []:
        field, sep, column = pair.partition("=")
        if not sep or not field.strip():
            raise FieldMappingError(f"字段对应 {pair!r} 的格式应为 字段=列名, 例如 code=XZDM。")
        out[field.strip()] = column.strip()
    return out


def load_inputs(units_path: Path, facilities_path: Path, classes, *, facility_crs: str = "auto",
                units_crs: str | None = None, unit_fields: dict[str, str] | None = None,
                facility_fields: dict[str, str] | None = None):
    """Read and prepare both layers: (units, facilities, unit_report, facility_report, prepare_report)."""
    from geodata.clean import prepare_facilities  # noqa: PLC0415 (the CLI is an edge, like the pages)
    from geodata.io import read_facilities, read_units  # noqa: PLC0415

    units, unit_report = read_units(units_path, crs=units_crs, field_map=unit_fields)
    system = facility_crs.lower() if not facility_crs.upper().startswith("EPSG:") else facility_crs.upper()
    facilities, fac_report = read_facilities(facilities_path, None, classes, system=system, field_map=facility_fields)
    facilities, prep_report = prepare_facilities(facilities, units, system=system)
    return units, facilities, unit_report.as_dict(), fac_report.as_dict(), prep_report


def compute(units_path: Path, facilities_path: Path, out: Path, *, plan: str | None = None,
            targets_path: Path = TARGETS_CSV, config: CoverageConfig = CoverageConfig(),
            facility_crs: str = "auto", units_crs: str | None = None,
            unit_fields: dict[str, str] | None = None, facility_fields: dict[str, str] | None = None) -> dict:
    """Run the whole computation and write the four outputs; return the quality summary."""
    classes = load_classes()
    targets = select_plan(load_targets(targets_path, classes), plan)
    units, facilities, unit_report, fac_report, prep_report = load_inputs(
        units_path, facilities_path, classes, facility_crs=facility_crs, units_crs=units_crs,
        unit_fields=unit_fields, facility_fields=facility_fields)
    assigned, result = evaluate_layers(units, facilities, targets, classes, config=config)
    out.mkdir(parents=True, exist_ok=True)
    assigned = assigned.assign(
        class_name=assigned["facility_class"].map(classes.names),
        unit_name=assigned["unit_code"].map(dict(zip(units["code"], units["name"]))),
        status_label=assigned["status"].map(ASSIGNMENT_STATUSES),
    )
    assigned[ASSIGNMENT_COLUMNS].to_csv(out / "assignments.csv", index=False, encoding="utf-8-sig")
    result.coverage.to_csv(out / "coverage.csv", index=False, encoding="utf-8-sig")
    result.uncovered[["district_code", "unit_code", "unit_name", "indicator", "target_id", "district_name", "unit_kind"]].to_csv(
        out / "uncovered.csv", index=False, encoding="utf-8-sig")
    from geodata.topology import topology_problems, topology_summary  # noqa: PLC0415

    quality = quality_summary(assigned, unit_report, fac_report, prep_report,
                              topology_summary(topology_problems(units)))
    quality["plan"] = targets["plan"].iloc[0]
    (out / "quality.json").write_text(json.dumps(quality, ensure_ascii=False, indent=2), encoding="utf-8")
    return quality


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coverage", description="乡镇(街道)设施覆盖率计算")
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("compute", help="计算覆盖率并输出 CSV/JSON")
    c.add_argument("--units", type=Path, required=True, help="乡镇边界: GeoJSON / GeoPackage / 压缩 Shapefile")
    c.add_argument("--facilities", type=Path, required=True, help="设施表: CSV / XLSX, WGS84 经纬度")
    c.add_argument("--plan", help=f"规划名称或其中一段文字(默认: {DEFAULT_PLAN})")
    c.add_argument("--targets", type=Path, default=TARGETS_CSV, help="规划指标表 CSV(默认: data/plan_targets.csv)")
    c.add_argument("--out", type=Path, required=True, help="输出目录")
    c.add_argument("--facility-crs", default="auto", help="设施坐标系: auto|wgs84|cgcs2000|gcj02|bd09|EPSG:n(默认 auto, 按乡镇边界检验识别)")
    c.add_argument("--units-crs", help="边界坐标系(文件缺少或写错 .prj 时), 如 EPSG:4549")
    c.add_argument("--count-status", default="运营", help="计入覆盖的设施状态, 逗号分隔(默认: 运营)")
    c.add_argument("--exclude-functional-zones", action="store_true", help="县级指标分母不计开发区、特区等功能区")
    c.add_argument("--unit-field", action="append", metavar="FIELD=COLUMN",
                   help="边界字段对应(自动识别不对时), 可重复: code=XZDM name=MC district_name=QXMC")
    c.add_argument("--facility-field", action="append", metavar="FIELD=COLUMN",
                   help="设施表列对应, 可重复: name=机构名 facility_class=服务类型 lon=东经 lat=北纬 address=地址")
    args = parser.parse_args(argv)
    config = CoverageConfig(counted_statuses=tuple(s for s in args.count_status.split(",") if s),
                            functional_zones_as_districts=not args.exclude_functional_zones)
    try:
        quality = compute(args.units, args.facilities, args.out, plan=args.plan, targets_path=args.targets, config=config,
                          facility_crs=args.facility_crs, units_crs=args.units_crs,
                          unit_fields=parse_field_map(args.unit_field), facility_fields=parse_field_map(args.facility_field))
    except CoverageError as err:
        print(f"错误: {err}", file=sys.stderr)
        return 2
    counts = quality["status_counts"]
    print(f"{quality['facilities_total']} 个设施: 已归属 {counts['assigned']}, 范围外 {counts['outside']}, "
          f"按地址归属 {counts['by_address']}, 重复 {counts['duplicate']}, 类别未识别 {counts['unknown_class']}, "
          f"无法定位 {counts['no_coordinates']}。设施坐标系: {quality.get('point_system_label', '')}。"
          f"结果已写入 {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
