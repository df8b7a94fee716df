"""The planner's saved workspace: their township layer, facility ledger and edited targets.

Stored in a folder (env `MZ_WORKSPACE`, default `<repo>/workspace/`) in the project's own formats,
so the next start reads them with the same readers. Every write goes to a temporary file first and
replaces the old file only once complete (`os.replace`), so a failed save never loses saved data.
Switching back to the demo keeps the saved files.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd

from coverage.catalog import DATA_DIR, FUNCTION_COLUMNS

UNITS_FILE = "townships.geojson"
FACILITIES_FILE = "facilities.csv"
TARGETS_FILE = "plan_targets.csv"
STATE_FILE = "workspace.json"
MAPPING_FILE = "class_mapping.json"
STATUS_MAPPING_FILE = "status_mapping.json"
#: Report fields kept as the record of where the saved data came from (shown wherever the source
#: is named: 数据, 数据质量, report footnotes), since the saved copy is a normalised WGS84 CSV.
UNIT_PROVENANCE = ("filename", "rows", "encoding", "crs", "crs_inferred", "columns_used", "columns_available", "notes",
                   "repaired_geometries", "dropped_empty_geometries")
FACILITY_PROVENANCE = ("filename", "rows", "encoding", "sheets", "columns_used", "notes", "swapped", "bad_coordinates")
PREPARE_PROVENANCE = ("point_system", "point_system_label", "point_system_detection")


def workspace_dir() -> Path:
    return Path(os.environ.get("MZ_WORKSPACE") or DATA_DIR.parent / "workspace")


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def state(root: Path | None = None) -> dict:
    """{"source": "demo" | "workspace", ...}; demo when nothing was saved."""
    root = root or workspace_dir()
    path = root / STATE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    has_data = (root / UNITS_FILE).exists() and (root / FACILITIES_FILE).exists()
    if data.get("source") != "workspace" or not has_data:
        data["source"] = "demo"
    return data


def set_source(source: str, root: Path | None = None, **info) -> None:
    root = root or workspace_dir()
    data = state(root) | info | {"source": source}
    _atomic_write(root / STATE_FILE, json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8"))


def provenance(unit_report: dict | None, facility_report: dict | None, prepare_report: dict | None) -> dict:
    """The parts of the readers' reports that say where the data came from (JSON-serialisable)."""
    def pick(report, keys):
        return {k: report.get(k) for k in keys if k in report} if report else {}
    return {"units": pick(unit_report, UNIT_PROVENANCE), "facilities": pick(facility_report, FACILITY_PROVENANCE),
            "prepare": pick(prepare_report, PREPARE_PROVENANCE)}


def save_dataset(units: gpd.GeoDataFrame, facilities: pd.DataFrame, root: Path | None = None, *,
                 source_record: dict | None = None, **info) -> None:
    """Save a township layer (normalised, EPSG:4326) and a facility table (as read) and make them
    the active data. `source_record` (see `provenance`) is kept in the state file so the original
    file names, sheets, encodings and coordinate systems stay on record."""
    root = root or workspace_dir()
    cols = [c for c in ("code", "name", "district_code", "district_name", "kind", "population", "elderly_population") if c in units]
    _atomic_write(root / UNITS_FILE, units[cols + [units.geometry.name]].to_json(ensure_ascii=False, drop_id=True).encode("utf-8"))
    ledger = pd.DataFrame({
        "编号": facilities["facility_id"], "名称": facilities["name"], "类型": facilities["class_raw"],
        "经度": facilities["lon"], "纬度": facilities["lat"], "地址": facilities.get("address", ""),
        "状态": facilities.get("operating_status", ""), "床位数": facilities.get("beds", ""),
        "护理型床位数": facilities.get("nursing_beds", ""),
        "建成年份": facilities.get("built_year", ""), "所属乡镇(街道)": facilities.get("stated_township", ""),
        "所属区县": facilities.get("stated_district", ""),
    })
    for zh, col in FUNCTION_COLUMNS.items():
        ledger[zh] = facilities[col].map({True: "是", False: "否"}) if col in facilities else ""
    _atomic_write(root / FACILITIES_FILE, ledger.to_csv(index=False).encode("utf-8-sig"))
    chosen = state(root).get("plans_chosen") if isinstance(state(root).get("plans_chosen"), dict) else {}
    chosen = {k: v for k, v in chosen.items() if k != "workspace"}  # new data: its plan is suggested afresh
    set_source("workspace", root, source_record=source_record or {}, plans_chosen=chosen, **info)


def dataset_paths(root: Path | None = None) -> tuple[Path, Path]:
    root = root or workspace_dir()
    return root / UNITS_FILE, root / FACILITIES_FILE


def targets_path(root: Path | None = None) -> Path | None:
    """The saved plan-target table, or None when the built-in catalogue is in use."""
    path = (root or workspace_dir()) / TARGETS_FILE
    return path if path.exists() else None


def save_targets(targets: pd.DataFrame, root: Path | None = None) -> None:
    """Save an already validated plan-target table (see coverage.catalog.validate_targets)."""
    _atomic_write((root or workspace_dir()) / TARGETS_FILE, targets.to_csv(index=False).encode("utf-8"))


def class_mapping(root: Path | None = None) -> dict[str, str]:
    """The planner's own type labels mapped to catalogue classes (label -> class_id)."""
    path = (root or workspace_dir()) / MAPPING_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def save_class_mapping(mapping: dict[str, str], root: Path | None = None) -> None:
    merged = class_mapping(root) | mapping
    _atomic_write((root or workspace_dir()) / MAPPING_FILE, json.dumps(merged, ensure_ascii=False, indent=1).encode("utf-8"))


def status_mapping(root: Path | None = None) -> dict[str, str]:
    """The planner's own 状态 values mapped to canonical statuses (value -> 运营/在建/规划/停用)."""
    path = (root or workspace_dir()) / STATUS_MAPPING_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def save_status_mapping(mapping: dict[str, str], root: Path | None = None) -> None:
    merged = status_mapping(root) | mapping
    _atomic_write((root or workspace_dir()) / STATUS_MAPPING_FILE, json.dumps(merged, ensure_ascii=False, indent=1).encode("utf-8"))


def chosen_plan(source: str, root: Path | None = None) -> str | None:
    """The plan last chosen for this data source ("demo" or "workspace"), if any."""
    value = state(root).get("plans_chosen", {})
    return value.get(source) if isinstance(value, dict) else None


def save_chosen_plan(source: str, plan: str, root: Path | None = None) -> None:
    root = root or workspace_dir()
    current = state(root)
    chosen = current.get("plans_chosen") if isinstance(current.get("plans_chosen"), dict) else {}
    if chosen.get(source) == plan:
        return
    _write_state(root, current | {"plans_chosen": chosen | {source: plan}})


def plan_areas(root: Path | None = None) -> dict[str, str]:
    """Area codes of the plans the planner created (plan -> leading digits of its townships' codes)."""
    value = state(root).get("plan_areas", {})
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def save_plan_area(plan: str, area_code: str, root: Path | None = None) -> None:
    root = root or workspace_dir()
    current = state(root)
    _write_state(root, current | {"plan_areas": plan_areas(root) | {plan: area_code}})


def _write_state(root: Path, data: dict) -> None:
    """Write the state file as is (keeping its `source`)."""
    _atomic_write(root / STATE_FILE, json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8"))


# ------------------------------------------------------------------ planning scenarios

SCENARIOS_FILE = "scenarios.json"
#: Columns of a saved planned site (as `coverage.scenarios.SITE_COLUMNS`); lon/lat in WGS84 degrees.
SCENARIO_SITE_FIELDS = ("site_id", "name", "facility_class", "lon", "lat", "unit_code", "status")


def scenarios_path(root: Path | None = None) -> Path:
    return (root or workspace_dir()) / SCENARIOS_FILE


def load_scenarios(root: Path | None = None) -> dict[str, pd.DataFrame]:
    """The saved planning scenarios, name -> sites (`SCENARIO_SITE_FIELDS`), in saved order.

    No file: no scenarios. A file that cannot be read (not JSON, wrong structure) raises
    `coverage.scenarios.ScenarioError` with a Chinese message; the file is never changed here.
    """
    from coverage.scenarios import ScenarioError  # noqa: PLC0415

    path = scenarios_path(root)
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ScenarioError(f"规划方案文件 {path.name} 无法读取(不是有效的 JSON: {err})。文件未改动; "
                            "请修复或移走该文件后刷新页面。") from err
    items = data.get("scenarios") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ScenarioError(f"规划方案文件 {path.name} 格式不对(缺少 scenarios 列表)。文件未改动; 请修复或移走该文件后刷新页面。")
    out: dict[str, pd.DataFrame] = {}
    for i, item in enumerate(items, start=1):
        if not (isinstance(item, dict) and isinstance(item.get("name"), str) and isinstance(item.get("sites"), list)
                and all(isinstance(s, dict) for s in item["sites"])):
            raise ScenarioError(f"规划方案文件 {path.name} 第 {i} 个方案格式不对(需要 name 与 sites)。文件未改动; "
                                "请修复或移走该文件后刷新页面。")
        sites = pd.DataFrame(item["sites"], columns=list(SCENARIO_SITE_FIELDS))
        sites["lon"] = pd.to_numeric(sites["lon"], errors="coerce")
        sites["lat"] = pd.to_numeric(sites["lat"], errors="coerce")
        for col in ("site_id", "name", "facility_class", "status"):
            sites[col] = sites[col].astype(object).where(sites[col].notna(), "").astype(str)
        sites["unit_code"] = sites["unit_code"].map(lambda v: None if v is None or pd.isna(v) or str(v) == "" else str(v))
        out[item["name"]] = sites
    return out


def save_scenarios(scenarios: dict[str, pd.DataFrame], root: Path | None = None) -> None:
    """Write every scenario (name -> sites) to the workspace's scenarios file in one atomic replace."""
    def records(sites: pd.DataFrame) -> list[dict]:
        rows = []
        for rec in pd.DataFrame(sites).reindex(columns=list(SCENARIO_SITE_FIELDS)).to_dict("records"):
            rows.append({k: (None if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NA
                             else (float(v) if k in ("lon", "lat") else str(v))) for k, v in rec.items()})
        return rows
    data = {"version": 1, "scenarios": [{"name": str(name), "sites": records(s)} for name, s in scenarios.items()]}
    _atomic_write(scenarios_path(root), json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8"))


# ------------------------------------------------------------------ population tables and demand points
#: Saved as uploaded (the bytes as the planner gave them), with how to read them in the state file,
#: so the join is redone on every read with the readers of `geodata.population` and the original
#: file stays on record. kind -> (file stem, state key).
POPULATION_KINDS = {"population": ("population_table", "population_record"),
                    "demand_points": ("demand_points", "demand_points_record")}


def save_population_file(kind: str, raw: bytes, filename: str, root: Path | None = None, **how) -> None:
    """Keep an uploaded population table (kind "population": 乡镇人口表, joined by township code) or
    village/community points (kind "demand_points") with its original name and reading options
    (`how`: field_map, sheet, system); replaces an earlier one of the same kind."""
    root = root or workspace_dir()
    stem, key = POPULATION_KINDS[kind]
    suffix = Path(filename).suffix.lower() or ".csv"
    for old in root.glob(f"{stem}.*"):
        if old.suffix.lower() != suffix:
            old.unlink(missing_ok=True)
    _atomic_write(root / f"{stem}{suffix}", raw)
    data = state(root)
    data[key] = {"filename": str(filename), "stored": f"{stem}{suffix}", **how}
    _atomic_write(root / STATE_FILE, json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8"))


def population_file(kind: str, root: Path | None = None) -> tuple[Path, dict] | None:
    """(stored path, record with filename and reading options) of a saved population file, or None."""
    root = root or workspace_dir()
    record = state(root).get(POPULATION_KINDS[kind][1])
    if not isinstance(record, dict) or not record.get("stored"):
        return None
    path = root / str(record["stored"])
    return (path, record) if path.exists() else None
