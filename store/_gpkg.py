"""The embedded back-end: one GeoPackage file (SQLite, WAL journal), written with the sqlite3 module.

Every write is one `BEGIN IMMEDIATE ... COMMIT` transaction: SQLite takes the file's single write
lock up front (other writers wait, up to `BUSY_TIMEOUT_S`), readers keep reading the last committed
state beside it (WAL), and a process killed mid-write leaves the journal to be rolled back on the
next open. Not safe on network shares (SQLite's locking needs a local disk).

Geometry is stored as GeoPackage binary (a "GP" header with the SRS id and envelope, then WKB); the
current townships and facilities are views registered as feature layers, so GIS software (and
`pyogrio.read_dataframe(path, layer="townships")`) opens them directly.
"""
from __future__ import annotations

import os
import sqlite3
import struct
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import shapely

from coverage.errors import StoreError
from store._schema import APP_ID, SCHEMA_VERSION, SRID, TABLES, ddl

BUSY_TIMEOUT_S = 60.0
GPKG_APPLICATION_ID = 0x47504B47  # "GPKG"
GPKG_USER_VERSION = 10400         # GeoPackage 1.4
_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}
_WGS84_WKT = ('GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],'
              'AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],'
              'UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4326"]]')
_GPKG_DDL = [
    "CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL, "
    "organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT)",
    "CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE, "
    "description TEXT DEFAULT '', last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')), "
    "min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER, "
    "CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id))",
    "CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL, "
    "geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL, "
    "CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name), "
    "CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name), "
    "CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id))",
]
_LAYER_LABELS = {"townships": "乡镇边界(当前)", "facilities": "设施台账(当前)",
                 "township_versions": "乡镇边界(全部版本)", "facility_versions": "设施台账(全部版本)"}


# ---------------------------------------------------------------- GeoPackage binary geometry

def encode_geometries(geoms) -> list[bytes | None]:
    """GeoPackage binary blobs (little-endian, SRS 4326, xy envelope except for points); None stays None."""
    geoms = np.asarray(geoms, dtype=object)
    out: list[bytes | None] = [None] * len(geoms)
    present = np.flatnonzero(~shapely.is_missing(geoms)) if len(geoms) else np.array([], int)
    if not len(present):
        return out
    g = geoms[present]
    wkb = shapely.to_wkb(g, byte_order=1, output_dimension=2)
    bounds = shapely.bounds(g)
    is_point = shapely.get_type_id(g) == 0
    empty = shapely.is_empty(g)
    point_head = b"GP\x00\x01" + struct.pack("<i", SRID)
    empty_head = b"GP\x00\x11" + struct.pack("<i", SRID)
    env_head = b"GP\x00\x03" + struct.pack("<i", SRID)
    pack = struct.Struct("<4d").pack
    for i, blob, b, pt, em in zip(present.tolist(), wkb.tolist(), bounds.tolist(), is_point.tolist(), empty.tolist()):
        if em:
            out[i] = empty_head + blob
        elif pt:
            out[i] = point_head + blob
        else:
            out[i] = env_head + pack(b[0], b[2], b[1], b[3]) + blob
    return out


def decode_geometries(blobs) -> np.ndarray:
    """Shapely geometries from GeoPackage binary blobs (None for NULL)."""
    wkb = []
    for blob in blobs:
        if blob is None:
            wkb.append(None)
            continue
        blob = bytes(blob)
        if blob[:2] != b"GP":
            raise StoreError("数据库中的几何数据不是 GeoPackage 格式, 文件可能已损坏。")
        wkb.append(blob[8 + _ENVELOPE_BYTES.get((blob[3] >> 1) & 0x07, 0):])
    return shapely.from_wkb(np.asarray(wkb, dtype=object)) if wkb else np.array([], dtype=object)


# ---------------------------------------------------------------- connection and transactions

def _stamp(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _Conn:
    """One open transaction: SQL with :named parameters."""

    def __init__(self, raw: sqlite3.Connection):
        self.raw = raw

    def rows(self, sql: str, params: dict | None = None) -> list[tuple]:
        return self.raw.execute(sql, params or {}).fetchall()

    def one(self, sql: str, params: dict | None = None) -> tuple | None:
        return self.raw.execute(sql, params or {}).fetchone()

    def scalar(self, sql: str, params: dict | None = None):
        row = self.one(sql, params)
        return None if row is None else row[0]

    def run(self, sql: str, params: dict | None = None) -> int:
        return self.raw.execute(sql, params or {}).rowcount

    def many(self, sql: str, params: list[dict]) -> None:
        if params:
            self.raw.executemany(sql, params)

    def insert(self, table: str, columns: dict[str, list], geometry: dict[str, object] | None = None) -> None:
        """Insert rows given as columns of plain Python values (None for NULL); `geometry` maps a
        geometry column to an array of shapely geometries."""
        data = dict(columns)
        for col, geoms in (geometry or {}).items():
            data[col] = encode_geometries(geoms)
        names = list(data)
        if not names:
            return
        sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        self.raw.executemany(sql, zip(*data.values()))

    def geom_sql(self, column: str) -> str:
        return column

    def geoms(self, values) -> np.ndarray:
        return decode_geometries(values)

    def stamp(self, value: datetime) -> str:
        return _stamp(value)

    @staticmethod
    def read_stamp(value) -> datetime:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


class GeoPackageBackend:
    """A store in one .gpkg file; one connection per thread (and per process after a fork)."""

    kind = "gpkg"
    dialect = "sqlite"

    def __init__(self, path: str | os.PathLike, *, create: bool = True):
        self.path = Path(path)
        self.location = str(self.path)
        if not self.path.exists():
            if not create:
                raise StoreError(f"数据库文件 {self.path} 不存在。请检查路径, 或先用 `python -m coverage store import` 建立。")
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise StoreError(f"无法建立数据库文件夹 {self.path.parent}: {err.strerror or err}") from err
        self._local = threading.local()
        self._init()

    def _connect(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            conn.execute("PRAGMA synchronous = FULL")
        except sqlite3.DatabaseError as err:
            raise StoreError(f"{self.path.name} 不是可用的 GeoPackage 数据库文件({err})。") from err
        if str(mode).lower() != "wal":
            raise StoreError(f"数据库文件 {self.path} 无法使用 WAL 日志模式(只读或网络共享文件夹?), 请放在本机磁盘上。")
        self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    @contextmanager
    def read(self):
        """A consistent snapshot for several SELECTs."""
        raw = self._connect()
        raw.execute("BEGIN")
        try:
            yield _Conn(raw)
        finally:
            if raw.in_transaction:
                raw.execute("ROLLBACK")

    @contextmanager
    def write(self):
        """One atomic transaction; the file's write lock is held from the start."""
        raw = self._connect()
        try:
            raw.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as err:
            raise StoreError(f"数据库正被他人写入, 等待 {BUSY_TIMEOUT_S:.0f} 秒后仍未轮到, 请稍后重试({err})。") from err
        try:
            yield _Conn(raw)
        except BaseException:
            if raw.in_transaction:
                raw.execute("ROLLBACK")
            raise
        raw.execute("COMMIT")

    def _init(self) -> None:
        raw = self._connect()
        try:
            names = {r[0] for r in raw.execute("SELECT name FROM sqlite_master").fetchall()}
        except sqlite3.DatabaseError as err:
            raise StoreError(f"{self.path.name} 不是可用的 GeoPackage 数据库文件({err})。") from err
        if "meta" in names:
            self._check_meta(raw)
            return
        if names - {"gpkg_spatial_ref_sys", "gpkg_contents", "gpkg_geometry_columns"} or \
                ("gpkg_contents" in names and raw.execute("SELECT COUNT(*) FROM gpkg_contents").fetchone()[0]):
            raise StoreError(f"{self.path.name} 已有其他内容, 不是本系统的数据库; 请换一个新文件名。")
        with self.write() as conn:
            if conn.scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'meta'"):
                return  # created meanwhile by another process
            conn.run(f"PRAGMA application_id = {GPKG_APPLICATION_ID}")
            conn.run(f"PRAGMA user_version = {GPKG_USER_VERSION}")
            for sql in _GPKG_DDL:
                if sql.split()[2] not in names:
                    conn.run(sql)
            conn.raw.executemany("INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)", [
                ("Undefined cartesian SRS", -1, "NONE", -1, "undefined", "undefined cartesian coordinate reference system"),
                ("Undefined geographic SRS", 0, "NONE", 0, "undefined", "undefined geographic coordinate reference system"),
                ("WGS 84 geodetic", SRID, "EPSG", SRID, _WGS84_WKT, "longitude/latitude coordinates in decimal degrees")])
            for sql in ddl("sqlite"):
                conn.run(sql)
            for t in TABLES.values():
                if not t.geometry:
                    continue
                kind = "POINT" if t.name == "facility_versions" else "GEOMETRY"
                for layer in (t.view, t.name):
                    conn.run("INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) "
                             "VALUES (:t, 'features', :t, :d, :s)", {"t": layer, "d": _LAYER_LABELS.get(layer, ""), "s": SRID})
                    conn.run("INSERT INTO gpkg_geometry_columns VALUES (:t, :c, :k, :s, 0, 0)",
                             {"t": layer, "c": t.geometry, "k": kind, "s": SRID})
            conn.raw.executemany("INSERT INTO meta VALUES (?, ?)",
                                 [("app", APP_ID), ("schema_version", str(SCHEMA_VERSION))])
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the header (application_id) into the file itself

    def _check_meta(self, raw: sqlite3.Connection) -> None:
        meta = dict(raw.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("app") != APP_ID:
            raise StoreError(f"{self.path.name} 不是本系统的数据库。")
        if int(meta.get("schema_version", 0)) > SCHEMA_VERSION:
            raise StoreError(f"数据库 {self.path.name} 由更新版本的程序建立(结构版本 {meta['schema_version']}), 请先升级本程序。")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            conn.close()
        self._local = threading.local()
