"""The store's tables, described once and turned into DDL for SQLite (GeoPackage) and PostgreSQL.

Every editable thing lives in a *versioned* table: each row is one version of one record (`key`),
valid from the change that wrote it (`valid_from`, a change id) until the change that replaced or
removed it (`valid_to`, NULL while current). A record's version is its current row's `valid_from`,
so "as of change c" is `valid_from <= c AND (valid_to IS NULL OR valid_to > c)` and an undo is
"close what c wrote, reopen copies of what c closed".
"""
from __future__ import annotations

from dataclasses import dataclass

from coverage.catalog import BASELINE_COLUMNS, TARGET_COLUMNS

SCHEMA_VERSION = 1
APP_ID = "mz-coverage-store"
SRID = 4326


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # text | real | int | blob | geom (any geometry) | point


@dataclass(frozen=True)
class Table:
    name: str                     # versioned table, e.g. "facility_versions"
    entity: str                   # Chinese name of one record, for messages
    key: tuple[str, ...]
    columns: tuple[Column, ...]   # key columns included
    view: str | None = None       # view of the current rows (a GeoPackage feature layer when spatial)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def geometry(self) -> str | None:
        return next((c.name for c in self.columns if c.kind in ("geom", "point")), None)


def _cols(spec: str) -> tuple[Column, ...]:
    """"code:text name:text" -> Columns."""
    return tuple(Column(*item.split(":")) for item in spec.split())


#: Facility fields kept per row (the reader's columns, see geodata.io.read_facilities), lon/lat in WGS84.
FACILITY_COLUMNS = _cols(
    "uid:int facility_id:text record_no:int sheet:text name:text class_raw:text facility_class:text class_match:text "
    "x_raw:real y_raw:real lon:real lat:real address:text operating_status:text stated_township:text "
    "stated_district:text beds:real nursing_beds:real built_year:int full_time_care:int day_care_service:int "
    "home_service:int geom:point")
UNIT_COLUMNS = _cols("code:text name:text district_code:text district_name:text kind:text population:real "
                     "elderly_population:real geom:geom")

TABLES: dict[str, Table] = {t.name: t for t in (
    Table("dataset_versions", "数据集", ("name",), _cols("name:text info:text")),
    Table("township_versions", "乡镇", ("code",), UNIT_COLUMNS, view="townships"),
    Table("facility_versions", "设施", ("uid",), FACILITY_COLUMNS, view="facilities"),
    Table("target_versions", "规划指标", ("target_id",),
          _cols(" ".join(f"{c}:text" for c in TARGET_COLUMNS + BASELINE_COLUMNS) + " position:int")),
    Table("plan_versions", "规划", ("name",), _cols("name:text area_code:text note:text")),
    Table("scenario_versions", "规划方案", ("name",), _cols("name:text position:int sites:text")),
    Table("mapping_versions", "对应关系", ("kind", "label"), _cols("kind:text label:text value:text")),
    Table("setting_versions", "设置", ("key",), _cols("key:text value:text")),
    Table("file_versions", "文件", ("kind",), _cols("kind:text filename:text content:blob record:text")),
)}

_SQLITE_TYPES = {"text": "TEXT", "real": "REAL", "int": "INTEGER", "blob": "BLOB", "geom": "GEOMETRY", "point": "POINT"}
_PG_TYPES = {"text": "TEXT", "real": "DOUBLE PRECISION", "int": "BIGINT", "blob": "BYTEA",
             "geom": f"geometry(Geometry, {SRID})", "point": f"geometry(Point, {SRID})"}


def ddl(dialect: str) -> list[str]:
    """CREATE statements for `dialect` ("sqlite" or "postgresql"), tables before views."""
    pg = dialect == "postgresql"
    types = _PG_TYPES if pg else _SQLITE_TYPES
    auto = "BIGSERIAL PRIMARY KEY" if pg else "INTEGER PRIMARY KEY AUTOINCREMENT"
    stamp = "TIMESTAMPTZ" if pg else "TEXT"
    big = "BIGINT" if pg else "INTEGER"  # GeoPackage knows INTEGER (64-bit in SQLite), not BIGINT
    out = [
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)",
        f"CREATE TABLE changes (change_id {auto}, at {stamp} NOT NULL, user_name TEXT NOT NULL, kind TEXT NOT NULL, "
        f"summary TEXT NOT NULL, detail TEXT, undo_of {big}, undone_by {big})",
        "CREATE INDEX changes_at ON changes (at)",
        f"CREATE TABLE users (name TEXT PRIMARY KEY, password_hash TEXT NOT NULL, role TEXT NOT NULL, "
        f"created_at {stamp} NOT NULL, version {big} NOT NULL)",
    ]
    for t in TABLES.values():
        cols = ", ".join(f"{c.name} {types[c.kind]}" for c in t.columns)
        out.append(f"CREATE TABLE {t.name} (fid {auto}, {cols}, valid_from {big} NOT NULL, valid_to {big})")
        out.append(f"CREATE INDEX {t.name}_key ON {t.name} ({', '.join(t.key)}, valid_to)")
        out.append(f"CREATE INDEX {t.name}_from ON {t.name} (valid_from)")
        out.append(f"CREATE INDEX {t.name}_to ON {t.name} (valid_to)")
    for t in TABLES.values():
        if t.view:
            out.append(f"CREATE VIEW {t.view} AS SELECT fid, {', '.join(t.names)}, valid_from AS version "
                       f"FROM {t.name} WHERE valid_to IS NULL")
    return out
