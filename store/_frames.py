"""Frames in and out of the store: the township layer and the facility ledger as the readers
(`geodata.io.read_units`, `read_facilities`) produce them, column order and dtypes included, so the
computation gives the same results from the store as from the files."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from store._schema import FACILITY_COLUMNS, UNIT_COLUMNS

#: Ledger fields recorded per facility besides its store key (uid) and geometry.
FACILITY_FIELDS = [c.name for c in FACILITY_COLUMNS if c.name not in ("uid", "geom")]
UNIT_FIELDS = [c.name for c in UNIT_COLUMNS if c.name != "geom"]
_KINDS = {c.name: c.kind for c in (*FACILITY_COLUMNS, *UNIT_COLUMNS)}
#: Columns the preparation step adds (recomputed on every read, never stored).
DERIVED = ("address_unit", "duplicate_of")


def column_spec(frame: pd.DataFrame, stored: list[str]) -> list[list[str]]:
    """[[column, dtype], ...] of the frame's stored columns and its geometry, in the frame's order."""
    from geopandas import GeoDataFrame  # noqa: PLC0415

    geometry = frame.geometry.name if isinstance(frame, GeoDataFrame) and frame._geometry_column_name in frame.columns else None
    return [[c, "geometry" if c == geometry else str(frame[c].dtype)] for c in frame.columns if c in stored or c == geometry]


def to_db(values, kind: str) -> list:
    """A column as plain Python values for the database (None for missing)."""
    s = pd.Series(values)
    if kind == "real":
        floats = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        return [None if v != v else v for v in floats.tolist()]
    missing = s.isna().to_numpy()
    if kind == "int":
        return [None if m else int(v) for v, m in zip(s.astype(object).tolist(), missing)]
    if kind == "text":
        return [None if m else str(v) for v, m in zip(s.astype(object).tolist(), missing)]
    return [None if m else v for v, m in zip(s.astype(object).tolist(), missing)]


def column_to_db(frame: pd.DataFrame, column: str, n: int) -> list:
    if column not in frame.columns:
        return [None] * n
    return to_db(frame[column], _KINDS.get(column, "text"))


def restore(values: list, dtype: str) -> pd.Series | np.ndarray:
    """A column read from the database cast back to the dtype it had when saved."""
    if dtype in ("str", "string"):
        return pd.Series(values, dtype=dtype)
    if dtype == "bool":
        return pd.Series([bool(v) for v in values], dtype=bool)
    if dtype == "Int64":
        return pd.Series(pd.array([None if v is None else int(v) for v in values], dtype="Int64"))
    if dtype.startswith(("float", "int", "uint")):
        floats = np.array([np.nan if v is None else v for v in values], dtype=float)
        if dtype.startswith("float") or np.isnan(floats).any():
            return pd.Series(floats.astype(dtype) if dtype.startswith("float") else floats)
        return pd.Series(floats.astype(dtype))
    return pd.Series(values, dtype=object)


def frame_from_columns(data: dict[str, list], spec: list[list[str]]) -> pd.DataFrame:
    """A DataFrame with the saved columns (without geometry) in their saved order and dtypes."""
    out = {}
    for column, dtype in spec:
        if dtype == "geometry":
            continue
        out[column] = restore(data[column], dtype).reset_index(drop=True) if column in data else None
    return pd.DataFrame(out)


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=_jsonable, sort_keys=False)


def _jsonable(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return None if np.isnan(value) else float(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (set, tuple)):
        return list(value)
    return str(value)
