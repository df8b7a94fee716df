"""The department back-end: PostgreSQL + PostGIS through SQLAlchemy 2 (engine, pool, URL) and psycopg 3.

Writes are serialised by a transaction-level advisory lock, so change ids are handed out in commit
order (a session told "version 41" never misses a change 40 committed later) and every write is one
transaction. Reads run in REPEATABLE READ READ ONLY transactions: one consistent snapshot. Large
inserts use COPY. Geometry: `geometry(..., 4326)` columns, read back as WKB.
"""
from __future__ import annotations

import os
import re
import weakref
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import lru_cache

import numpy as np
import shapely

from coverage.errors import StoreError
from store._schema import APP_ID, SCHEMA_VERSION, SRID, TABLES, ddl

WRITE_LOCK_KEY = 0x6D7A5354  # "mzST": one writer at a time
LOCK_TIMEOUT = "60s"
_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@lru_cache(maxsize=512)
def _pyformat(sql: str) -> str:
    """":name" placeholders (as sqlite3 takes them) -> psycopg's "%(name)s"."""
    return _PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))


def _dispose(engine, pid: int) -> None:
    if os.getpid() == pid:  # never close a parent's sockets from a forked child
        engine.dispose()


def is_postgres_url(target: str) -> bool:
    return bool(re.match(r"^postgres(ql)?(\+psycopg)?://", str(target)))


def _short(err: BaseException) -> str:
    text = str(getattr(err, "orig", None) or err).strip()
    return text.splitlines()[0] if text else type(err).__name__


class _Conn:
    """One open transaction on a psycopg connection: SQL with :named parameters."""

    def __init__(self, raw):
        self.raw = raw

    def rows(self, sql: str, params: dict | None = None) -> list[tuple]:
        with self.raw.cursor() as cur:
            cur.execute(_pyformat(sql), params or {})
            return cur.fetchall() if cur.description else []

    def one(self, sql: str, params: dict | None = None) -> tuple | None:
        with self.raw.cursor() as cur:
            cur.execute(_pyformat(sql), params or {})
            return cur.fetchone()

    def scalar(self, sql: str, params: dict | None = None):
        row = self.one(sql, params)
        return None if row is None else row[0]

    def run(self, sql: str, params: dict | None = None) -> int:
        with self.raw.cursor() as cur:
            cur.execute(_pyformat(sql), params or {})
            return cur.rowcount

    def many(self, sql: str, params: list[dict]) -> None:
        if params:
            with self.raw.cursor() as cur:
                cur.executemany(_pyformat(sql), params)

    def insert(self, table: str, columns: dict[str, list], geometry: dict[str, object] | None = None) -> None:
        """COPY rows given as columns of plain Python values (None for NULL); geometry as shapely arrays."""
        data = dict(columns)
        for col, geoms in (geometry or {}).items():
            geoms = np.asarray(geoms, dtype=object)
            hexed = np.full(len(geoms), None, dtype=object)
            present = ~shapely.is_missing(geoms) if len(geoms) else np.array([], bool)
            if present.any():
                blobs = shapely.to_wkb(shapely.set_srid(geoms[present], SRID), include_srid=True, output_dimension=2)
                hexed[present] = [b.hex() for b in blobs]  # EWKB as hex text; 5x faster than GEOS's hex writer
            data[col] = hexed.tolist()
        names = list(data)
        if not names:
            return
        with self.raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
            for row in zip(*data.values()):
                copy.write_row(row)

    def geom_sql(self, column: str) -> str:
        return f"ST_AsBinary({column})"

    def geoms(self, values) -> np.ndarray:
        return shapely.from_wkb(np.asarray([None if v is None else bytes(v) for v in values], dtype=object)) \
            if len(values) else np.array([], dtype=object)

    def stamp(self, value: datetime) -> datetime:
        return value.astimezone(timezone.utc)

    @staticmethod
    def read_stamp(value) -> datetime:
        return value.astimezone(timezone.utc)


class PostgisBackend:
    """A store in a PostgreSQL database with the postgis extension."""

    kind = "postgis"
    dialect = "postgresql"

    def __init__(self, url: str, *, create: bool = True):
        from sqlalchemy.engine import make_url  # noqa: PLC0415 (only the department mode needs SQLAlchemy)

        try:
            parsed = make_url(str(url))
        except Exception as err:  # SQLAlchemy's ArgumentError for a malformed URL
            raise StoreError(f"数据库地址格式不对: {err}。应为 postgresql://用户:密码@主机:端口/数据库名") from None
        self.url = parsed.set(drivername="postgresql+psycopg")
        self.location = self.url.render_as_string(hide_password=True).replace("postgresql+psycopg://", "postgresql://")
        self._create = create
        self._engine = None
        self._pid = None
        self._init()

    def _engine_now(self):
        from sqlalchemy import create_engine  # noqa: PLC0415

        if self._engine is None or self._pid != os.getpid():
            if self._engine is not None:
                self._engine.dispose(close=False)  # a forked child must not share its parent's sockets
            self._engine = create_engine(self.url, pool_pre_ping=True, pool_size=4, max_overflow=8)
            self._pid = os.getpid()
            weakref.finalize(self, _dispose, self._engine, self._pid)  # pooled connections closed with the store
        return self._engine

    @contextmanager
    def _raw(self):
        try:
            fairy = self._engine_now().raw_connection()
        except Exception as err:  # sqlalchemy.exc.OperationalError and the like
            raise StoreError(f"无法连接数据库 {self.location}: {_short(err)}") from None
        try:
            yield fairy.driver_connection
        finally:
            fairy.close()

    @contextmanager
    def read(self):
        with self._raw() as raw:
            try:
                raw.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                yield _Conn(raw)
            finally:
                raw.rollback()

    @contextmanager
    def write(self):
        import psycopg  # noqa: PLC0415

        with self._raw() as raw:
            try:
                raw.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                try:
                    raw.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,))
                except psycopg.errors.LockNotAvailable as err:
                    raise StoreError(f"数据库正被他人写入, 等待 {LOCK_TIMEOUT} 后仍未轮到, 请稍后重试。") from err
                yield _Conn(raw)
            except BaseException:
                raw.rollback()
                raise
            raw.commit()

    def _init(self) -> None:
        import psycopg  # noqa: PLC0415

        with self.read() as conn:
            exists = conn.scalar("SELECT to_regclass('meta') IS NOT NULL")
            meta = dict(conn.rows("SELECT key, value FROM meta")) if exists else None
        if meta is not None:
            if meta.get("app") != APP_ID:
                raise StoreError(f"数据库 {self.location} 中的 meta 表不是本系统的, 请使用一个专用数据库。")
            if int(meta.get("schema_version", 0)) > SCHEMA_VERSION:
                raise StoreError(f"数据库 {self.location} 由更新版本的程序建立(结构版本 {meta['schema_version']}), 请先升级本程序。")
            return
        if not self._create:
            raise StoreError(f"数据库 {self.location} 还没有本系统的数据表。请先用 `python -m coverage store import` 建立。")
        try:
            with self.write() as conn:
                if conn.scalar("SELECT to_regclass('meta') IS NOT NULL"):
                    return  # created meanwhile by another process
                if not conn.scalar("SELECT COUNT(*) FROM pg_extension WHERE extname = 'postgis'"):
                    conn.run("CREATE EXTENSION postgis")
                clash = [t for t in ["changes", "users", *TABLES, *(t.view for t in TABLES.values() if t.view)]
                         if conn.scalar("SELECT to_regclass(:t) IS NOT NULL", {"t": t})]
                if clash:
                    raise StoreError(f"数据库 {self.location} 中已有同名的表({', '.join(clash)}), 请使用一个专用数据库。")
                for sql in ddl("postgresql"):
                    conn.run(sql)
                conn.run("INSERT INTO meta VALUES ('app', :a), ('schema_version', :v)",
                         {"a": APP_ID, "v": str(SCHEMA_VERSION)})
        except psycopg.errors.InsufficientPrivilege as err:
            raise StoreError(f"数据库 {self.location} 的账户无权建立数据表或启用 PostGIS({_short(err)})。请由数据库管理员执行 "
                             "CREATE EXTENSION postgis; 并授予该账户建表权限。") from None
        except psycopg.errors.FeatureNotSupported as err:
            raise StoreError(f"数据库 {self.location} 未安装 PostGIS 扩展({_short(err)})。") from None
        except psycopg.errors.UndefinedFile as err:
            raise StoreError(f"数据库服务器未安装 PostGIS({_short(err)}); Debian 上: apt-get install postgresql-postgis") from None

    def close(self) -> None:
        if self._engine is not None and self._pid == os.getpid():
            self._engine.dispose()
        self._engine = None
