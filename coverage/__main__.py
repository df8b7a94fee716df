"""Command line.

`python -m coverage compute --units U --facilities F [--plan NAME] --out DIR` writes
assignments.csv, coverage.csv, uncovered.csv (UTF-8 with BOM, so Excel opens them) and
quality.json into DIR.

`python -m coverage report --units U --facilities F [--plan NAME] [--org 编制单位] --format docx,pptx,pdf,xlsx,png --out DIR`
writes the meeting pack (see reporting.meeting_pack) and coverage.csv beside it.

Exit status 2 with a Chinese message on input a planner can fix.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from coverage.assign import ASSIGNMENT_STATUSES, COUNTED_STATUSES
from coverage.catalog import TARGETS_CSV, load_classes, load_targets, plans
from coverage.config import CoverageConfig
from coverage.errors import CoverageError, FieldMappingError
from coverage.evaluate import evaluate_layers, operating_statuses
from coverage.plans import load_plan_areas, suggest_plan
from coverage.quality import quality_summary

DEFAULT_PLAN = "通用(无本地规划时)"
ASSIGNMENT_COLUMNS = ["facility_id", "name", "class_raw", "facility_class", "class_name", "class_match", "unit_code",
                      "unit_name", "district_code", "lon", "lat", "x_raw", "y_raw", "address", "operating_status",
                      "operating_status_read", "counted", "on_edge", "duplicate_of", "duplicate_rule", "status", "status_label"]


def select_plan(targets: pd.DataFrame, plan: str | None) -> pd.DataFrame:
    """Rows of the plan named `plan` (exact name, or a unique substring such as "十堰")."""
    names = plans(targets)
    wanted = plan or DEFAULT_PLAN
    hits = [n for n in names if n == wanted] or [n for n in names if wanted in n]
    if len(hits) != 1:
        raise CoverageError(f"找不到唯一匹配 {wanted!r} 的规划。可选: {'; '.join(names)}")
    return targets[targets["plan"] == hits[0]]


def plan_for_data(targets: pd.DataFrame, plan: str | None, unit_codes: pd.Series) -> tuple[pd.DataFrame, str]:
    """The plan's rows and why it was used: the named plan, else the plan whose area matches the
    townships' codes (`coverage.plans.suggest_plan`), else the 通用 profile."""
    if plan:
        rows = select_plan(targets, plan)
        return rows, f"按命令行参数 --plan 使用「{rows['plan'].iloc[0]}」。"
    suggestion = suggest_plan(unit_codes, plans(targets), load_plan_areas())
    return select_plan(targets, suggestion.plan), suggestion.reason


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
    all_targets = load_targets(targets_path, classes)
    units, facilities, unit_report, fac_report, prep_report = load_inputs(
        units_path, facilities_path, classes, facility_crs=facility_crs, units_crs=units_crs,
        unit_fields=unit_fields, facility_fields=facility_fields)
    targets, plan_reason = plan_for_data(all_targets, plan, units["code"])
    assigned, result = evaluate_layers(units, facilities, targets, classes, config=config)
    out.mkdir(parents=True, exist_ok=True)
    read_as = operating_statuses(assigned, config)
    assigned = assigned.assign(
        class_name=assigned["facility_class"].map(classes.names),
        unit_name=assigned["unit_code"].map(dict(zip(units["code"], units["name"]))),
        status_label=assigned["status"].map(ASSIGNMENT_STATUSES),
        operating_status_read=read_as,
        counted=assigned["status"].isin(COUNTED_STATUSES) & read_as.isin(config.counted_statuses),
    )
    for col in ("class_match", "duplicate_rule"):
        if col not in assigned.columns:
            assigned[col] = ""
    assigned[ASSIGNMENT_COLUMNS].to_csv(out / "assignments.csv", index=False, encoding="utf-8-sig")
    result.coverage.to_csv(out / "coverage.csv", index=False, encoding="utf-8-sig")
    result.uncovered[["district_code", "unit_code", "unit_name", "indicator", "target_id", "district_name", "unit_kind"]].to_csv(
        out / "uncovered.csv", index=False, encoding="utf-8-sig")
    from geodata.topology import topology_problems, topology_summary  # noqa: PLC0415

    quality = quality_summary(assigned, unit_report, fac_report, prep_report,
                              topology_summary(topology_problems(units)), config=config,
                              excluded_units=result.excluded_units)
    quality["plan"] = targets["plan"].iloc[0]
    quality["plan_choice"] = plan_reason
    quality["facilities_counted"] = int(assigned["counted"].sum())
    (out / "quality.json").write_text(json.dumps(quality, ensure_ascii=False, indent=2), encoding="utf-8")
    return quality


def report(units_path: Path, facilities_path: Path, out: Path, *, formats: list[str], plan: str | None = None,
           targets_path: Path = TARGETS_CSV, config: CoverageConfig = CoverageConfig(), facility_crs: str = "auto",
           units_crs: str | None = None, unit_fields: dict[str, str] | None = None,
           facility_fields: dict[str, str] | None = None, target_ids: list[str] | None = None,
           districts: list[str] | None = None, baseline_year: int = 2020, org: str = "") -> list[Path]:
    """Build the meeting pack into `out`; returns the files written. `org` is the 编制单位 on the cover."""
    from reporting.meeting_pack import build_pack, pack_data  # noqa: PLC0415
    from geodata.topology import topology_problems, topology_summary  # noqa: PLC0415

    classes = load_classes()
    units, facilities, unit_report, fac_report, prep_report = load_inputs(
        units_path, facilities_path, classes, facility_crs=facility_crs, units_crs=units_crs,
        unit_fields=unit_fields, facility_fields=facility_fields)
    targets, _ = plan_for_data(load_targets(targets_path, classes), plan, units["code"])
    data = pack_data(units, facilities, targets, classes, config, plan=targets["plan"].iloc[0], baseline_year=baseline_year,
                     source=f"{units_path.name}; {facilities_path.name}", org=org)
    data.quality = quality_summary(data.assigned, unit_report, fac_report, prep_report,
                                   topology_summary(topology_problems(units)), config=config,
                                   excluded_units=data.result.excluded_units)
    files = build_pack(data, formats, target_ids=target_ids, districts=districts,
                       progress=lambda f, msg: print(f"[{f:4.0%}] {msg}", file=sys.stderr))
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in files.items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        written.append(path)
    data.result.coverage.to_csv(out / "coverage.csv", index=False, encoding="utf-8-sig")
    return written + [out / "coverage.csv"]


def _input_arguments(c: argparse.ArgumentParser) -> None:
    c.add_argument("--units", type=Path, required=True, help="乡镇边界: GeoJSON / GeoPackage / 压缩 Shapefile")
    c.add_argument("--facilities", type=Path, required=True, help="设施表: CSV / XLSX, WGS84 经纬度")
    c.add_argument("--plan", help=f"规划名称或其中一段文字(默认: 按乡镇区划代码选择所在地区的规划, 没有则用 {DEFAULT_PLAN})")
    c.add_argument("--targets", type=Path, default=TARGETS_CSV, help="规划指标表 CSV(默认: data/plan_targets.csv)")
    c.add_argument("--out", type=Path, required=True, help="输出目录")
    c.add_argument("--facility-crs", default="auto", help="设施坐标系: auto|wgs84|cgcs2000|gcj02|bd09|EPSG:n(默认 auto, 按乡镇边界检验识别)")
    c.add_argument("--units-crs", help="边界坐标系(文件缺少或写错 .prj 时), 如 EPSG:4549")
    c.add_argument("--count-status", default="运营", help="计入覆盖的设施状态, 逗号分隔(默认: 运营)")
    c.add_argument("--exclude-functional-zones", action="store_true", help="县级指标分母不计开发区、特区等功能区")
    c.add_argument("--count-other-units", action="store_true",
                   help="乡镇(街道)指标也计入类似乡级单位(林场、农场、开发区等, 代码第7-9位400-599); 默认不计入")
    c.add_argument("--unit-field", action="append", metavar="FIELD=COLUMN",
                   help="边界字段对应(自动识别不对时), 可重复: code=XZDM name=MC district_name=QXMC")
    c.add_argument("--facility-field", action="append", metavar="FIELD=COLUMN",
                   help="设施表列对应, 可重复: name=机构名 facility_class=服务类型 lon=东经 lat=北纬 address=地址")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coverage", description="乡镇(街道)设施覆盖率计算")
    sub = parser.add_subparsers(dest="command", required=True)
    _input_arguments(sub.add_parser("compute", help="计算覆盖率并输出 CSV/JSON"))
    r = sub.add_parser("report", help="生成会议材料: Word/PPT/PDF/Excel/专题图")
    _input_arguments(r)
    r.add_argument("--format", default="docx,pptx,pdf,xlsx,png", help="逗号分隔: docx,pptx,pdf,xlsx,png,svg(默认除 svg 外全部)")
    r.add_argument("--indicators", help="只输出这些指标编号, 逗号分隔(如 SY-01,SY-05)")
    r.add_argument("--districts", help="只输出这些区县代码, 逗号分隔")
    r.add_argument("--baseline-year", type=int, default=2020, help="评估基期年份(默认 2020)")
    r.add_argument("--org", default="", help="编制单位, 印在报告封面和幻灯片首页(如 十堰市民政局)")
    args = parser.parse_args(argv)
    config = CoverageConfig(counted_statuses=tuple(s for s in args.count_status.split(",") if s),
                            functional_zones_as_districts=not args.exclude_functional_zones,
                            count_other_units=args.count_other_units)
    common = dict(plan=args.plan, targets_path=args.targets, config=config, facility_crs=args.facility_crs,
                  units_crs=args.units_crs)
    try:
        unit_fields, facility_fields = parse_field_map(args.unit_field), parse_field_map(args.facility_field)
        if args.command == "report":
            written = report(args.units, args.facilities, args.out, formats=[f.strip() for f in args.format.split(",") if f.strip()],
                             unit_fields=unit_fields, facility_fields=facility_fields,
                             target_ids=args.indicators.split(",") if args.indicators else None,
                             districts=args.districts.split(",") if args.districts else None,
                             baseline_year=args.baseline_year, org=args.org, **common)
            print(f"已生成 {len(written)} 个文件, 写入 {args.out}")
            return 0
        quality = compute(args.units, args.facilities, args.out, unit_fields=unit_fields, facility_fields=facility_fields,
                          **common)
    except CoverageError as err:
        print(f"错误: {err}", file=sys.stderr)
        return 2
    counts = quality["status_counts"]
    print(f"{quality['facilities_total']} 个设施: 已归属 {counts['assigned']}(其中计入覆盖 {quality.get('facilities_counted', 0)}), "
          f"范围外 {counts['outside']}, "
          f"按地址归属 {counts['by_address']}, 重复 {counts['duplicate']}, 类别未识别 {counts['unknown_class']}, "
          f"无法定位 {counts['no_coordinates']}。设施坐标系: {quality.get('point_system_label', '')}。"
          f"结果已写入 {args.out}")
    print(quality.get("plan_choice", ""))
    unknown = quality["operating_status"]["unknown"]
    if unknown:
        print("注意: 以下状态无法识别, 相应设施未计入覆盖: "
              + "、".join(f"{u['value']}({u['count']}条)" for u in unknown), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
