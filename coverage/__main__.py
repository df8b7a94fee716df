"""Command line.

`python -m coverage compute --units U --facilities F [--plan NAME] --out DIR` writes
assignments.csv, coverage.csv, uncovered.csv (UTF-8 with BOM, so Excel opens them) and
quality.json into DIR.

`python -m coverage report --units U --facilities F [--plan NAME] [--org 编制单位] --format docx,pptx,pdf,xlsx,png --out DIR`
writes the meeting pack (see reporting.meeting_pack) and coverage.csv beside it.

`python -m coverage site --demand D.csv --candidates C.csv [--existing E.csv] --radius-km R
(--new-sites N | --cover-share S) --out DIR` chooses new sites exactly (coverage.siting: MCLP or
fewest sites for a share, PuLP/CBC) and writes chosen_sites.csv and summary.json.

`python -m coverage plan --units U --facilities F [--plan NAME] [--rank elderly|distance|regional] --out DIR`
proposes the fewest townships that meet each unmet coverage target (coverage.proposals) and writes
proposed_sites.csv and after_coverage.csv (coverage.csv columns, the proposals counted).

`python -m coverage store import --store STORE --units U --facilities F --user NAME [--password P]` saves
both files into a shared store (a .gpkg path or a postgresql:// URL, see store/) as one recorded change;
`store log --store STORE` lists the changes; `compute --store STORE [--as-of DATE] --out DIR` computes
from the store (as of a date) with the same outputs as from the files.

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
from coverage.hierarchy import plan_area_code, result_for_area
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
                facility_fields: dict[str, str] | None = None, units_read=None):
    """Read and prepare both layers: (units, facilities, unit_report, facility_report, prepare_report).
    `units_read(units)`, when given, is called as soon as the townships are read (to start work on
    them beside the reading of the ledger)."""
    from geodata.clean import prepare_facilities  # noqa: PLC0415 (the CLI is an edge, like the pages)
    from geodata.io import read_facilities, read_units  # noqa: PLC0415

    units, unit_report = read_units(units_path, crs=units_crs, field_map=unit_fields)
    if units_read is not None:
        units_read(units)
    system = facility_crs.lower() if not facility_crs.upper().startswith("EPSG:") else facility_crs.upper()
    facilities, fac_report = read_facilities(facilities_path, None, classes, system=system, field_map=facility_fields)
    facilities, prep_report = prepare_facilities(facilities, units, system=system)
    return units, facilities, unit_report.as_dict(), fac_report.as_dict(), prep_report


def load_store_inputs(target: str, classes, targets: pd.DataFrame, config: CoverageConfig, *, as_of: str | None = None,
                      targets_given: bool = False):
    """The dataset read out of a store into the frames the file readers produce, prepared as
    `load_inputs` prepares them: (units, facilities, unit_report, facility_report, prepare_report,
    targets, config); the store's targets (unless `targets_given`) and status mapping apply."""
    from dataclasses import replace  # noqa: PLC0415

    from coverage.catalog import CAPACITY_MEASURES, CAPACITY_TARGETS_ENABLED, validate_targets  # noqa: PLC0415
    from geodata.clean import prepare_facilities  # noqa: PLC0415
    from store import open_store  # noqa: PLC0415

    opened = open_store(target, create=False)
    try:
        inputs = opened.read_inputs(as_of, classes=classes)
        saved = opened.targets(as_of) if not targets_given and opened.has_targets() else None
    finally:
        opened.close()
    facilities, prep_report = prepare_facilities(inputs.facilities, inputs.units, system=inputs.facility_system)
    if saved is not None and len(saved):
        targets = validate_targets(saved.drop(columns="version"), classes)
        if not CAPACITY_TARGETS_ENABLED:
            targets = targets[~targets["measure"].isin(CAPACITY_MEASURES)].reset_index(drop=True)
    if inputs.status_mapping:
        config = replace(config, status_mapping=tuple(sorted(inputs.status_mapping.items())))
    return inputs.units, facilities, inputs.unit_report, inputs.facility_report, prep_report, targets, config


def compute(units_path: Path, facilities_path: Path, out: Path, *, plan: str | None = None,
            targets_path: Path = TARGETS_CSV, config: CoverageConfig = CoverageConfig(),
            facility_crs: str = "auto", units_crs: str | None = None,
            unit_fields: dict[str, str] | None = None, facility_fields: dict[str, str] | None = None,
            store: str | None = None, as_of: str | None = None) -> dict:
    """Run the whole computation and write the four outputs; return the quality summary. With
    `store` (a .gpkg path or postgresql:// URL) the layers, targets and mappings come from the store,
    as of `as_of` (a date or time) when given, instead of the files."""
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    from geodata.topology import topology_problems, topology_summary  # noqa: PLC0415

    classes = load_classes()
    all_targets = load_targets(targets_path, classes)
    # the boundary check runs beside the reading of the ledger, the evaluation and the writing, from
    # the moment the townships are read (shapely releases the GIL)
    checking = ThreadPoolExecutor(max_workers=1)
    started = []

    def check(layer) -> None:
        started.append(checking.submit(topology_problems, layer))

    if store is not None:
        units, facilities, unit_report, fac_report, prep_report, all_targets, config = load_store_inputs(
            store, classes, all_targets, config, as_of=as_of, targets_given=targets_path != TARGETS_CSV)
        check(units)
    else:
        units, facilities, unit_report, fac_report, prep_report = load_inputs(
            units_path, facilities_path, classes, facility_crs=facility_crs, units_crs=units_crs,
            unit_fields=unit_fields, facility_fields=facility_fields, units_read=check)
    topology = started[0]
    targets, plan_reason = plan_for_data(all_targets, plan, units["code"])
    assigned, result = evaluate_layers(units, facilities, targets, classes, config=config)
    # a city's plan on a province's townships speaks for the city: its districts, its whole-area row
    result = result_for_area(result, plan_area_code(targets["plan"].iloc[0]))
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
    from geodata.export import write_csv_utf8_bom  # noqa: PLC0415  (Arrow's writer: big ledgers in a fraction of the time)

    write_csv_utf8_bom(assigned[ASSIGNMENT_COLUMNS], out / "assignments.csv")
    write_csv_utf8_bom(result.coverage, out / "coverage.csv")
    write_csv_utf8_bom(result.uncovered[["district_code", "unit_code", "unit_name", "indicator", "target_id", "district_name",
                                         "unit_kind"]], out / "uncovered.csv")
    problems = topology.result()
    checking.shutdown()
    quality = quality_summary(assigned, unit_report, fac_report, prep_report,
                              topology_summary(problems), config=config,
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


def _read_site_csv(path: Path, kind: str) -> pd.DataFrame:
    """A siting CSV (UTF-8, UTF-8 with BOM or GBK/GB18030; comma or tab separated) as text columns."""
    import io  # noqa: PLC0415

    from coverage.errors import SitingError  # noqa: PLC0415
    from coverage.siting import KIND_LABELS  # noqa: PLC0415

    label = KIND_LABELS[kind]
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise SitingError(f"无法读取{label}文件 {path}: {err.strerror or err}。") from err
    if not raw.strip():
        raise SitingError(f"{label}文件 {path.name} 是空文件。")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise SitingError(f"无法识别{label}文件 {path.name} 的文字编码(既不是 UTF-8 也不是 GBK), 请另存为 UTF-8 CSV。")
    first = text.lstrip().splitlines()[0] if text.strip() else ""
    sep = "\t" if first.count("\t") > first.count(",") else ","
    try:
        table = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, skip_blank_lines=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeError) as err:
        raise SitingError(f"{label}文件 {path.name} 不是有效的 CSV: {err}") from err
    table.columns = [str(c).strip() for c in table.columns]
    blank = table.apply(lambda col: col.astype(str).str.strip() == "").all(axis=1) if len(table) else None
    return table[~blank].reset_index(drop=True) if blank is not None and blank.any() else table  # Excel's ",,," rows


def _parse_share(text: str) -> float:
    """"0.9" or "90%" -> 0.9; anything else (incl. 90 without %) -> SitingError."""
    from coverage.errors import SitingError  # noqa: PLC0415

    t = text.strip().replace("％", "%")
    try:
        value = float(t[:-1]) / 100 if t.endswith("%") else float(t)
    except ValueError:
        raise SitingError(f"覆盖比例目标 {text!r} 不是数字; 请写 0.9 或 90%。") from None
    if not (0 < value <= 1):
        raise SitingError(f"覆盖比例目标 {text!r} 应在 0~1 之间(如 0.9 或 90%)。")
    return value


def site(demand_path: Path, candidates_path: Path, out: Path, *, radius_km: float, existing_path: Path | None = None,
         new_sites: int | None = None, cover_share: float | None = None, time_limit_s: float | None = None) -> dict:
    """Read the point CSVs, site new facilities (coverage.siting) and write chosen_sites.csv (id of each
    new site, UTF-8 with BOM) and summary.json into `out`; return the summary."""
    import math  # noqa: PLC0415

    from coverage.errors import SitingError  # noqa: PLC0415
    from coverage.siting import points_from_table, site_facilities  # noqa: PLC0415

    if not (math.isfinite(radius_km) and radius_km > 0):
        raise SitingError(f"服务半径 --radius-km 应为正数(公里), 收到 {radius_km:g}。")
    if time_limit_s is not None and not (math.isfinite(time_limit_s) and time_limit_s > 0):
        raise SitingError(f"求解时限 --time-limit 应为正数(秒), 收到 {time_limit_s:g}。")
    tables = {"demand": demand_path, "candidates": candidates_path}
    if existing_path is not None:
        tables["existing"] = existing_path
    points, problems = {}, []
    for kind, path in tables.items():
        try:
            points[kind] = points_from_table(_read_site_csv(path, kind), kind, name=path.name)
        except SitingError as err:
            problems.append(str(err))
    if problems:
        raise SitingError("输入文件有误:\n" + "\n".join(problems))
    result = site_facilities(points["demand"], points["candidates"], points.get("existing"), radius_m=radius_km * 1000,
                             new_sites=new_sites, cover_share=cover_share, time_limit_s=time_limit_s)
    out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"id": list(result.chosen_ids)}, dtype=str).to_csv(out / "chosen_sites.csv", index=False,
                                                                     encoding="utf-8-sig")
    summary = {
        "covered_weight": result.covered_weight, "total_weight": result.total_weight,
        "covered_share": result.covered_share, "new_sites": result.new_sites, "optimal": result.optimal,
        "model": "MCLP(最大覆盖)" if result.model == "mclp" else "LSCP(最少设施, 部分覆盖)",
        "radius_km": radius_km, "target_new_sites": new_sites, "target_cover_share": cover_share,
        "existing_sites": len(points.get("existing", ())), "existing_covered_weight": result.existing_weight,
        "candidates": len(points["candidates"]), "demand_points": len(points["demand"]),
        "solver_status": result.status, "solver": "PuLP + CBC", "crs": f"EPSG:{result.epsg}",
        "distance": "投影坐标系(CGCS2000 3度带高斯-克吕格)中的直线距离, 米; 实际道路距离更长",
        "build_seconds": round(result.build_s, 3), "solve_seconds": round(result.solve_s, 3),
        "notes": list(result.notes),
    }
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    return summary


def _site_command(args: argparse.Namespace) -> int:
    try:
        share = _parse_share(args.cover_share) if args.cover_share is not None else None
        summary = site(args.demand, args.candidates, args.out, radius_km=args.radius_km, existing_path=args.existing,
                       new_sites=args.new_sites, cover_share=share, time_limit_s=args.time_limit)
    except CoverageError as err:
        print(f"错误: {err}", file=sys.stderr)
        return 2
    proven = "已证明最优" if summary["optimal"] else "未证明最优(求解器未在时限内证明, 仅为可行解)"
    print(f"{summary['model']}: 新增 {summary['new_sites']} 处, 覆盖需求权重 {summary['covered_weight']:g} / "
          f"{summary['total_weight']:g}({summary['covered_share']:.1%}), 其中现有设施覆盖 "
          f"{summary['existing_covered_weight']:g}; {proven}。结果已写入 {args.out}")
    return 0


def plan_sites(units_path: Path, facilities_path: Path, out: Path, *, rank: str = "elderly", plan: str | None = None,
               targets_path: Path = TARGETS_CSV, config: CoverageConfig = CoverageConfig(), facility_crs: str = "auto",
               units_crs: str | None = None, unit_fields: dict[str, str] | None = None,
               facility_fields: dict[str, str] | None = None) -> dict:
    """Fewest townships that meet every unmet coverage target (coverage.proposals), and coverage with
    them counted (coverage.scenarios); writes proposed_sites.csv and after_coverage.csv."""
    from coverage.proposals import PROPOSAL_COLUMNS, RANKS, propose_sites  # noqa: PLC0415
    from coverage.scenarios import apply_scenario, proposal_to_scenario, state_from_result  # noqa: PLC0415

    if rank not in RANKS:  # checked before reading anything
        raise CoverageError(f"排序方式 {rank!r} 无效, 可选: " + "; ".join(f"{k}({v})" for k, v in RANKS.items()))
    classes = load_classes()
    units, facilities, *_ = load_inputs(units_path, facilities_path, classes, facility_crs=facility_crs,
                                        units_crs=units_crs, unit_fields=unit_fields, facility_fields=facility_fields)
    targets, plan_reason = plan_for_data(load_targets(targets_path, classes), plan, units["code"])
    assigned, result = evaluate_layers(units, facilities, targets, classes, config=config)
    proposal = propose_sites(units, result, rank=rank, facilities=facilities, assigned=assigned, classes=classes,
                             config=config)
    scenario = proposal_to_scenario(proposal)
    outcome = apply_scenario(state_from_result(units, targets, classes, result, config=config), scenario, units)
    out.mkdir(parents=True, exist_ok=True)
    proposal.sites[PROPOSAL_COLUMNS].to_csv(out / "proposed_sites.csv", index=False, encoding="utf-8-sig")
    outcome.state.coverage.to_csv(out / "after_coverage.csv", index=False, encoding="utf-8-sig")
    area = outcome.comparison[outcome.comparison["district_code"] == "ALL"]
    return {"plan": targets["plan"].iloc[0], "plan_choice": plan_reason, "rows": len(proposal.sites),
            "townships": len(scenario.sites), "targets": int(proposal.sites["target_id"].nunique()),
            "met_before": int((area["met_before"] == True).sum()), "met_after": int((area["met_after"] == True).sum()),  # noqa: E712
            "area_targets": len(area), "notes": [f"{n.target_id or '全部'}: {n.note}" for n in proposal.notes.itertuples()]}


def _plan_command(args: argparse.Namespace) -> int:
    config = CoverageConfig(counted_statuses=tuple(s for s in args.count_status.split(",") if s),
                            functional_zones_as_districts=not args.exclude_functional_zones,
                            count_other_units=args.count_other_units)
    try:
        summary = plan_sites(args.units, args.facilities, args.out, rank=args.rank, plan=args.plan,
                             targets_path=args.targets, config=config, facility_crs=args.facility_crs,
                             units_crs=args.units_crs, unit_fields=parse_field_map(args.unit_field),
                             facility_fields=parse_field_map(args.facility_field))
    except CoverageError as err:
        print(f"错误: {err}", file=sys.stderr)
        return 2
    print(f"{summary['plan_choice']}\n为 {summary['targets']} 项未达标指标提出 {summary['townships']} 个乡镇新增点位"
          f"({summary['rows']} 条指标-乡镇记录); 全市达标指标 {summary['met_before']} -> {summary['met_after']} / "
          f"{summary['area_targets']}。结果已写入 {args.out}")
    for note in summary["notes"]:
        print(f"说明: {note}")
    return 0


def _targets_from_text_command(args: argparse.Namespace) -> int:
    """`targets-from-text FILE --out proposals.csv`: read a plan (.txt/.docx/.pdf) and write the targets
    and baselines proposed from its text (plantext.propose_targets), UTF-8 with BOM."""
    from plantext import PROPOSAL_COLUMNS, propose_targets, read_plan_text  # noqa: PLC0415

    try:
        proposals = propose_targets(read_plan_text(args.file), load_classes())
    except CoverageError as err:
        print(f"错误: {err}", file=sys.stderr)
        return 2
    first = ["indicator", "facility_class", "measure", "unit_level", "target_value", "target_year", "binding", "quote"]
    columns = first + [c for c in PROPOSAL_COLUMNS if c not in first]
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        proposals[columns].to_csv(args.out, index=False, encoding="utf-8-sig")
    except OSError as err:
        print(f"错误: 无法写入 {args.out}: {err.strerror or err}", file=sys.stderr)
        return 2
    kinds = proposals["kind"].value_counts()
    print(f"从 {args.file.name} 提出 {kinds.get('target', 0)} 项目标、{kinds.get('baseline', 0)} 项现状值"
          f"(其中 {int((proposals['facility_class'] != '').sum())} 项已对应设施类别), 已写入 {args.out}。"
          "请逐项核对原文摘录后再作为规划指标使用。")
    return 0


def _store_command(args: argparse.Namespace) -> int:
    """`store import`: read the files and save them into the store as one change (the acting account
    must be allowed to, once the store has accounts); `store log`: the latest changes."""
    import os  # noqa: PLC0415

    from coverage.errors import AuthenticationError, PermissionDenied  # noqa: PLC0415
    from geodata.workspace import provenance  # noqa: PLC0415
    from store import VIEWER, open_store  # noqa: PLC0415

    try:
        opened = open_store(args.store, create=args.store_command == "import")
    except CoverageError as err:
        print(f"错误: {err}", file=sys.stderr)
        return 2
    try:
        if args.store_command == "log":
            for change in opened.log(args.limit):
                print(f"#{change.change_id}\t{change.at_beijing:%Y-%m-%d %H:%M:%S}\t{change.user}\t{change.kind_label}\t{change.summary}")
            return 0
        user = args.user
        if opened.has_users():
            password = args.password or os.environ.get("MZ_STORE_PASSWORD")
            if not password:
                raise AuthenticationError(f"数据库 {opened.location} 已设账户: 请用 --password 或环境变量 MZ_STORE_PASSWORD 提供账户「{user}」的密码。")
            user = opened.authenticate(user, password)
            if user.role == VIEWER:
                raise PermissionDenied(f"账户「{user.name}」的角色是「{VIEWER}」, 不能导入数据。未作任何修改。")
        system = args.facility_crs.lower() if not args.facility_crs.upper().startswith("EPSG:") else args.facility_crs.upper()
        units, facilities, unit_report, fac_report, prep_report = load_inputs(
            args.units, args.facilities, load_classes(), facility_crs=args.facility_crs, units_crs=args.units_crs,
            unit_fields=parse_field_map(args.unit_field), facility_fields=parse_field_map(args.facility_field))
        change = opened.import_dataset(units, facilities, user, facility_system=system, unit_report=unit_report,
                                       facility_report=fac_report, prepare_report=prep_report,
                                       source_record=provenance(unit_report, fac_report, prep_report))
    except CoverageError as err:
        print(f"错误: {err}", file=sys.stderr)
        return 2
    finally:
        opened.close()
    print(f"{change.summary}。已保存到 {opened.location}(变更 #{change.change_id})。")
    return 0


def _store_arguments(sub) -> None:
    s = sub.add_parser("store", help="共享数据库(.gpkg 文件或 postgresql:// 地址): 导入数据、查看变更记录")
    ss = s.add_subparsers(dest="store_command", required=True)
    i = ss.add_parser("import", help="把乡镇边界和设施表导入数据库(一次保存, 记入变更记录)")
    i.add_argument("--store", required=True, help="数据库: .gpkg 文件路径或 postgresql://用户:密码@主机/库名")
    i.add_argument("--units", type=Path, required=True, help="乡镇边界: GeoJSON / GeoPackage / 压缩 Shapefile")
    i.add_argument("--facilities", type=Path, required=True, help="设施表: CSV / XLSX")
    i.add_argument("--user", required=True, help="操作人(数据库已设账户时为账户名)")
    i.add_argument("--password", help="账户密码(也可用环境变量 MZ_STORE_PASSWORD)")
    i.add_argument("--facility-crs", default="auto", help="设施坐标系: auto|wgs84|cgcs2000|gcj02|bd09|EPSG:n(默认 auto)")
    i.add_argument("--units-crs", help="边界坐标系(文件缺少或写错 .prj 时), 如 EPSG:4549")
    i.add_argument("--unit-field", action="append", metavar="FIELD=COLUMN", help="边界字段对应, 可重复")
    i.add_argument("--facility-field", action="append", metavar="FIELD=COLUMN", help="设施表列对应, 可重复")
    g = ss.add_parser("log", help="变更记录(最新的在前)")
    g.add_argument("--store", required=True, help="数据库: .gpkg 文件路径或 postgresql:// 地址")
    g.add_argument("--limit", type=int, default=50, help="显示条数(默认 50)")


def _input_arguments(c: argparse.ArgumentParser, *, store: bool = False) -> None:
    c.add_argument("--units", type=Path, required=not store, help="乡镇边界: GeoJSON / GeoPackage / 压缩 Shapefile")
    c.add_argument("--facilities", type=Path, required=not store, help="设施表: CSV / XLSX, WGS84 经纬度")
    if store:
        c.add_argument("--store", help="从共享数据库读取数据(代替 --units/--facilities): .gpkg 文件或 postgresql:// 地址")
        c.add_argument("--as-of", help="与 --store 同用: 按某一时刻的数据计算, 如 2025-06-30(当日 24 时, 北京时间)")
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
    _input_arguments(sub.add_parser("compute", help="计算覆盖率并输出 CSV/JSON"), store=True)
    _store_arguments(sub)
    pl = sub.add_parser("plan", help="最少新增点位: 为未达标覆盖率指标提出最少的乡镇, 并给出计入后的覆盖率")
    _input_arguments(pl)
    pl.add_argument("--rank", default="elderly",
                    help="乡镇排序: elderly 老年人口多者优先(默认); distance 距最近同类设施远者优先(投影直线距离);"
                         " regional 区域性中心, 相邻未覆盖乡镇多者优先")
    r = sub.add_parser("report", help="生成会议材料: Word/PPT/PDF/Excel/专题图")
    _input_arguments(r)
    r.add_argument("--format", default="docx,pptx,pdf,xlsx,png", help="逗号分隔: docx,pptx,pdf,xlsx,png,svg(默认除 svg 外全部)")
    r.add_argument("--indicators", help="只输出这些指标编号, 逗号分隔(如 SY-01,SY-05)")
    r.add_argument("--districts", help="只输出这些区县代码, 逗号分隔")
    r.add_argument("--baseline-year", type=int, default=2020, help="评估基期年份(默认 2020)")
    r.add_argument("--org", default="", help="编制单位, 印在报告封面和幻灯片首页(如 十堰市民政局)")
    t = sub.add_parser("site", help="新设施选址: 最大覆盖(指定新增数)或最少设施(指定覆盖比例), 现有设施保留")
    t.add_argument("--demand", type=Path, required=True, help="需求点 CSV: id/编号, lon/经度, lat/纬度, weight/权重/老年人口(WGS84)")
    t.add_argument("--candidates", type=Path, required=True, help="候选点 CSV: id/编号, lon/经度, lat/纬度(WGS84)")
    t.add_argument("--existing", type=Path, help="现有设施 CSV(始终保留并计入覆盖): id/编号, lon/经度, lat/纬度")
    t.add_argument("--radius-km", type=float, required=True, help="服务半径(公里, 投影坐标系中的直线距离)")
    goal = t.add_mutually_exclusive_group(required=True)
    goal.add_argument("--new-sites", type=int, help="新增设施数 N: 选 N 处使覆盖的需求权重最大(MCLP)")
    goal.add_argument("--cover-share", help="覆盖比例目标 S(如 0.9 或 90%%): 用最少的新增设施达到(LSCP)")
    t.add_argument("--time-limit", type=float, help="求解时限(秒, 默认不限); 超时的结果标为未证明最优")
    t.add_argument("--out", type=Path, required=True, help="输出目录")
    x = sub.add_parser("targets-from-text", help="从规划文本(.txt/.docx/.pdf)提出可核查的指标(目标值与现状值), 输出 CSV")
    x.add_argument("file", type=Path, help="规划文本: .txt(UTF-8 或 GBK)、.docx 或带文字的 .pdf")
    x.add_argument("--out", type=Path, required=True, help="输出 CSV 文件(UTF-8 带 BOM, Excel 可直接打开)")
    args = parser.parse_args(argv)
    if args.command == "targets-from-text":
        return _targets_from_text_command(args)
    if args.command == "plan":
        return _plan_command(args)
    if args.command == "site":
        return _site_command(args)
    if args.command == "store":
        return _store_command(args)
    if args.command == "compute" and (args.store is None) == (args.units is None or args.facilities is None):
        print("错误: 请给出 --units 与 --facilities(从文件计算), 或只给 --store(从数据库计算)。", file=sys.stderr)
        return 2
    if args.command == "compute" and args.as_of and not args.store:
        print("错误: --as-of 只能与 --store 同用。", file=sys.stderr)
        return 2
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
                          store=args.store, as_of=args.as_of, **common)
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
