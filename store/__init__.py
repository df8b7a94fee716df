"""The department's shared store: one truth, many planners, nothing lost.

One interface, two back-ends, chosen by where the store is:

- a ``.gpkg`` path: an embedded GeoPackage file (SQLite in WAL mode; the default, one planner or a
  few on one machine; current townships and facilities open in QGIS as layers ``townships`` and
  ``facilities``);
- a ``postgresql://user:password@host:port/dbname`` URL (env ``MZ_STORE_URL``): PostgreSQL +
  PostGIS for a department (SQLAlchemy 2 + psycopg 3).

No Streamlit here: pages call this API. Every exception is a ``coverage.errors.CoverageError``
with a Chinese message (``str(err)``), so a page's one ``except CoverageError`` shows it.

Opening
-------
``open_store(target=None, *, create=True) -> Store``
    target: a .gpkg path or a postgresql:// URL; None = env ``MZ_STORE_URL``, else
    ``default_store_path()`` (``<workspace folder>/store.gpkg``). ``create=False`` refuses a missing
    file or an empty database (StoreError). Open once per process (``st.cache_resource``): a
    Store is safe to share between sessions/threads (one SQLite connection per thread, a
    connection pool for PostgreSQL) and holds no data itself.

Versions, history, as-of
------------------------
Every saved change gets an id; the store's version is the last id. Every editable record
(facility row, target row, plan, scenario) carries ``version`` = the change that last wrote it;
an edit states the version it was made on.

- ``current_version() -> int``; ``changed_since(version) -> list[Change]`` (oldest first): ask on
  each rerun; a non-empty list means "the department's data changed: reload" (each Change says
  who/when/what).
- ``log(limit=100, *, offset=0) -> list[Change]`` newest first (the 变更记录 view);
  ``change(id) -> Change`` with ``detail["rows"]``: ``[{"table", "key", "label", "before", "after"}]``
  (up to 200 rows; imports record counts in ``detail["counts"]``).
- ``undo(change_id, user) -> Change``: reverts one change as a new change (kind "undo"). Raises
  StoreConflict when a later change touched the same records (undo that first, newest first) or the
  change was already undone; StoreError for account changes; PermissionDenied as the change itself.
- ``version_at(when) -> int``. ``when``: datetime (naive = UTC), ``date``, or ISO text; a date alone
  ("2025-06-30") means the end of that day in China (24:00 北京时间). Every read below takes
  ``as_of=`` (such a moment, or an int version).
- ``Change``: change_id, at (UTC datetime), user, kind, kind_label (Chinese), summary (Chinese),
  detail, undo_of, undone_by; ``describe()`` -> "张三 于 2026-06-30 10:02(北京时间) 修改设施: …(变更 #12)".

Users and roles (``ROLES`` = 查看, 编辑, 管理)
------------------------------------------------
- ``has_users() -> bool``: False on a new store: show the first-run set-up, then
  ``create_user(name, password, "管理")`` (no ``by`` needed for the first account; it must be 管理).
  While a store has no accounts every action is allowed and recorded under the name given.
- ``authenticate(name, password) -> User`` (AuthenticationError, same message for unknown name and
  wrong password). ``users() -> list[User]``. ``create_user(name, password, role, *, by)``,
  ``set_role(name, role, by)``, ``remove_user(name, by)`` need 管理 (the last 管理 cannot be
  demoted or removed); ``set_password(name, password, by)``: one's own, or anyone's by 管理.
  Passwords: at least 8 characters, stored as scrypt hashes only.
- Every mutating method takes the acting ``user`` (a ``User`` or a name) and re-reads that
  account's role inside the write: 查看 can change nothing; 编辑 changes data; 管理 also plans and
  accounts. Refusal: PermissionDenied (nothing saved).

Data (township layer + facility ledger)
---------------------------------------
- ``import_dataset(units, facilities, user, *, facility_system, unit_report, facility_report,
  prepare_report, source_record, based_on=None) -> Change``: replace both in one transaction.
  units: ``geodata.io.read_units`` result; facilities: ``geodata.clean.prepare_facilities`` result
  (lon/lat WGS84); facility_system: the ``system`` it was read with ("auto", "wgs84", "gcj02",
  "bd09", "EPSG:n"); the reports are the readers' ``as_dict()`` and the preparation report;
  source_record: ``geodata.workspace.provenance(...)``. ``based_on``: the ``Dataset.version`` (=
  ``dataset_version()``) the planner replaced; StoreConflict naming the change if someone imported
  or edited a facility meanwhile.
- ``dataset(as_of=None) -> Dataset | None`` (units, facilities, info, version);
  ``dataset_as_of(when)``; ``units(as_of)``, ``facilities(as_of)``, ``facilities_as_of(when)``;
  ``dataset_version() -> int``. ``Dataset.facilities`` has the reader's columns, lon/lat (WGS84),
  point geometry, x_raw/y_raw in the ledger's own system, ``uid`` (the facility's key in the store)
  and ``version``. To count: ``prepared_dataset(as_of=None) -> (units, facilities, unit_report,
  facility_report)`` (what pages/_shared._read_dataset gives for files, facilities with uid/version),
  then ``evaluate_layers`` as for files; or ``prepare_facilities(facilities, units,
  system=info["facility_system"])`` yourself.
  ``Dataset.info``: facility_system, point_system, unit_report, facility_report, prepare_report,
  source_record.
- ``read_inputs(as_of=None) -> StoreInputs``: the frames exactly as the file readers return them
  plus their reports (what ``python -m coverage compute --store`` uses).
- Facility edits (编辑), each one change; ``version`` = the row's ``version`` as read:
  ``add_facility(fields, user)``, ``update_facility(uid, version, fields, user)``,
  ``move_facility(uid, version, lon, lat, user)`` (WGS84 degrees, e.g. a map click),
  ``remove_facility(uid, version, user)``, ``edit_facilities([{"op": "add"|"update"|"remove",
  "uid", "version", "fields"}], user)`` (all or nothing). Editable fields: ``EDITABLE``
  (facility_id, name, class_raw, facility_class, lon, lat, address, operating_status, beds,
  nursing_beds, built_year, 全托/日托/上门服务 flags, ...). Choosing ``facility_class`` by hand keeps it
  (class_match "edited"); changing only ``class_raw`` re-matches the class. Raises StoreConflict
  (stale version; the row was changed or removed meanwhile: ``err.change`` says by whom),
  StoreInputError (bad values), PermissionDenied.

Plans and targets
-----------------
- ``targets(as_of=None) -> DataFrame``: text cells of the plan-target table + ``version``; empty
  until first saved, then the built-in catalogue applies (``builtin_targets()``, version 0).
- ``edit_targets(table, user, *, based_on) -> Change | None``: the edited rows and the rows (with
  version) the planner started from; only changed rows are checked and saved; StoreConflict if one
  of them changed meanwhile; CatalogError if the resulting table is invalid; a row of an unknown
  plan needs 管理.
- ``create_plan(name, user, *, area_code="", note="", targets=None)``, ``edit_plan(name, version,
  user, *, area_code, note)``, ``remove_plan(name, version, user)`` (管理); ``plans()``,
  ``plan_areas() -> {plan: area code}``.

Scenarios, mappings, settings, files
------------------------------------
- ``scenarios(as_of=None) -> {name: sites}``, ``scenario_versions() -> {name: version}``,
  ``save_scenario(name, sites, user, *, version=None)`` (None = new), ``remove_scenario(name,
  version, user)``, ``save_scenarios({name: sites}, user, *, based_on={name: version})`` (the page's
  whole list; names left out are removed).
- ``class_mapping()``, ``save_class_mapping({label: class_id or "none"}, user)``; ``status_mapping()``,
  ``save_status_mapping({value: 运营/在建/规划/停用}, user)`` (merged, like the folder workspace's).
- ``settings() -> dict``, ``save_settings(user, **values)`` (e.g. plans_chosen; None removes a key).
- ``population_file(kind) -> (bytes, record) | None``, ``save_population_file(kind, raw, filename,
  user, **how)``, ``remove_population_file(kind, user)`` (kind "population" or "demand_points").
- ``migrate_folder_workspace(folder, store, user) -> Change | None``: the folder workspace into an
  empty store, one transaction, one change (StoreError when the store already holds data).

Exceptions (coverage.errors): StoreError (base: cannot open, no data, newer schema),
StoreInputError (values to fix), StoreConflict (``.change``, ``.key``), PermissionDenied,
AuthenticationError; CatalogError from target validation.
"""
from __future__ import annotations

import os
from pathlib import Path

from coverage.errors import AuthenticationError, PermissionDenied, StoreConflict, StoreError, StoreInputError
from store._accounts import AccountsMixin
from store._base import ADMIN, BEIJING, CHANGE_KINDS, EDITOR, ROLES, VIEWER, Change, User
from store._datasets import EDITABLE, Dataset, DatasetMixin, StoreInputs
from store._history import HistoryMixin, parse_time
from store._planning import POPULATION_KINDS, SITE_FIELDS, PlanningMixin, builtin_targets
from store.migrate import migrate_folder_workspace

ENV_URL = "MZ_STORE_URL"
DEFAULT_FILE = "store.gpkg"


class Store(DatasetMixin, PlanningMixin, HistoryMixin, AccountsMixin):
    """The store's one interface (see the module docstring); make one with `open_store`."""

    def __repr__(self) -> str:
        return f"Store({self.kind}: {self.location})"


def default_store_path() -> Path:
    """`<workspace folder>/store.gpkg` (the folder is env MZ_WORKSPACE or `<repo>/workspace`)."""
    from geodata.workspace import workspace_dir  # noqa: PLC0415

    return workspace_dir() / DEFAULT_FILE


def open_store(target: str | os.PathLike | None = None, *, create: bool = True, clock=None) -> Store:
    """Open (and on first use create) a store: a `.gpkg` path or a `postgresql://` URL; None =
    env MZ_STORE_URL, else `default_store_path()`. `clock` (a function returning an aware
    datetime) replaces the wall clock for tests."""
    from store._postgres import is_postgres_url  # noqa: PLC0415

    target = target if target not in (None, "") else (os.environ.get(ENV_URL) or default_store_path())
    text = str(target).strip()
    if is_postgres_url(text):
        from store._postgres import PostgisBackend  # noqa: PLC0415

        return Store(PostgisBackend(text, create=create), clock=clock)
    if "://" in text:
        raise StoreError(f"数据库地址 {text.split('://')[0]}://… 不支持: 请用 .gpkg 文件路径或 postgresql:// 地址。")
    if Path(text).suffix.lower() != ".gpkg":
        raise StoreError(f"数据库 {text} 应为 .gpkg 文件(GeoPackage)或 postgresql:// 地址。")
    from store._gpkg import GeoPackageBackend  # noqa: PLC0415

    return Store(GeoPackageBackend(text, create=create), clock=clock)


__all__ = [
    "ADMIN", "BEIJING", "CHANGE_KINDS", "EDITABLE", "EDITOR", "ENV_URL", "POPULATION_KINDS", "ROLES", "SITE_FIELDS",
    "VIEWER", "AuthenticationError", "Change", "Dataset", "PermissionDenied", "Store", "StoreConflict", "StoreError",
    "StoreInputError", "StoreInputs", "User", "builtin_targets", "default_store_path", "migrate_folder_workspace",
    "open_store", "parse_time",
]
