"""Move a folder workspace (geodata.workspace: townships.geojson, facilities.csv, plan_targets.csv,
workspace.json, class/status mappings, scenarios.json, population files) into a store, in one
transaction recorded as one change ("workspace_migrated"). The folder is read, never changed."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from coverage.errors import StoreError
from store._base import Change
from store._planning import POPULATION_KINDS, TARGET_FIELDS, _text_rows

#: workspace.json keys that are kept elsewhere in the store (dataset record, population files).
_STATE_ELSEWHERE = ("source_record", "population_record", "demand_points_record")


def migrate_folder_workspace(folder: Path | str, store, user, *, classes=None) -> Change | None:
    """Import everything a folder workspace holds into an empty store (needs 管理 once the store has
    accounts). Returns the change, or None when the folder holds nothing to move. StoreError when
    the store already holds data (it is never merged or overwritten)."""
    from geodata import workspace  # noqa: PLC0415
    from geodata.clean import prepare_facilities  # noqa: PLC0415
    from geodata.io import read_facilities, read_units  # noqa: PLC0415

    root = Path(folder)
    if not root.is_dir():
        raise StoreError(f"工作区文件夹 {root} 不存在。")
    classes = classes or store.classes()
    state = workspace.state(root)
    mapping = workspace.class_mapping(root)
    statuses = workspace.status_mapping(root)
    units_path, facilities_path = workspace.dataset_paths(root)
    dataset = None
    if units_path.exists() and facilities_path.exists():
        units, unit_report = read_units(units_path)
        facilities, fac_report = read_facilities(facilities_path, None, classes, system="wgs84", class_mapping=mapping)
        facilities, prep = prepare_facilities(facilities, units, system="wgs84")
        dataset = (units, facilities, unit_report.as_dict(), fac_report.as_dict(), prep)
    targets = None
    saved = workspace.targets_path(root)
    if saved is not None:
        from coverage.catalog import validate_targets  # noqa: PLC0415

        targets = pd.read_csv(saved, dtype=str, keep_default_na=False).reindex(columns=TARGET_FIELDS, fill_value="")
        validate_targets(targets, classes)
    scenarios = workspace.load_scenarios(root)
    areas = workspace.plan_areas(root)
    files = {}
    for kind in POPULATION_KINDS:
        found = workspace.population_file(kind, root)
        if found is not None:
            path, record = found
            files[kind] = (path.read_bytes(), record)
    settings = {k: v for k, v in state.items() if k not in _STATE_ELSEWHERE}
    if dataset is None and targets is None and not scenarios and not mapping and not statuses and not files and not areas:
        return None

    def body(conn, draft):
        busy = [what for what, sql in (("数据", "dataset_versions"), ("规划指标", "target_versions"),
                                       ("规划方案", "scenario_versions"), ("规划", "plan_versions"))
                if conn.scalar(f"SELECT COUNT(*) FROM {sql}")]
        if busy:
            raise StoreError(f"数据库 {store.location} 中已有{'、'.join(busy)}, 不再迁移工作区(不会合并或覆盖)。")
        said = []
        if dataset is not None:
            units, facilities, ur, fr, pr = dataset
            store._import_in(conn, draft, units, facilities, facility_system="wgs84", unit_report=ur, facility_report=fr,
                             prepare_report=pr, source_record=state.get("source_record") or {}, based_on=None)
            said.append(draft.summary)
        from store._base import table  # noqa: PLC0415

        for name, area in areas.items():
            store._replace(conn, draft, table("plan_versions"), None, {"name": name, "area_code": area, "note": ""}, label=name)
        if areas:
            said.append(f"{len(areas)} 个自建规划")
        if targets is not None:
            store._targets_in(conn, draft, user, _text_rows(targets), {}, classes, plan_rows=True, seed=False)
            said.append(f"规划指标 {len(targets)} 项")
        if scenarios:
            store._scenarios_in(conn, draft, scenarios, {}, partial=True)
            said.append(f"规划方案 {len(scenarios)} 个")
        for kind, values in (("class", mapping), ("status", statuses)):
            if values:
                store._mapping_in(conn, draft, kind, values)
                said.append(f"{'类型' if kind == 'class' else '状态'}对应 {len(values)} 条")
        for kind, (raw, record) in files.items():
            how = {k: v for k, v in record.items() if k not in ("filename", "stored")}
            store._file_in(conn, draft, kind, raw, record.get("filename", kind), how)
            said.append(POPULATION_KINDS[kind])
        if settings:
            store._settings_in(conn, draft, settings)
        draft.summary = f"从工作区文件夹 {root.name} 迁移: " + "; ".join(said)
        draft.touched = max(draft.touched, 1)

    return store._write(user, "workspace_migrated", body)
