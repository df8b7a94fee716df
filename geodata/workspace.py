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


def save_dataset(units: gpd.GeoDataFrame, facilities: pd.DataFrame, root: Path | None = None, **info) -> None:
    """Save a township layer (normalised, EPSG:4326) and a facility table (as read) and make them
    the active data."""
    root = root or workspace_dir()
    cols = [c for c in ("code", "name", "district_code", "district_name", "kind", "population", "elderly_population") if c in units]
    _atomic_write(root / UNITS_FILE, units[cols + [units.geometry.name]].to_json(ensure_ascii=False, drop_id=True).encode("utf-8"))
    ledger = pd.DataFrame({
        "编号": facilities["facility_id"], "名称": facilities["name"], "类型": facilities["class_raw"],
        "经度": facilities["lon"], "纬度": facilities["lat"], "地址": facilities.get("address", ""),
        "状态": facilities.get("operating_status", ""), "床位数": facilities.get("beds", ""),
    })
    for zh, col in FUNCTION_COLUMNS.items():
        ledger[zh] = facilities[col].map({True: "是", False: "否"}) if col in facilities else ""
    _atomic_write(root / FACILITIES_FILE, ledger.to_csv(index=False).encode("utf-8-sig"))
    set_source("workspace", root, **info)


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
