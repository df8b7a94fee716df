"""What every part of the store shares: roles, the change record, authorisation, and the helpers
that read and write one version of one record.

A write is `_write(user, kind, body)`: one transaction that checks the acting account's role,
opens a change (id = the new version, `at` = UTC now, never earlier than the last change), runs
`body(conn, draft)` and stores the change's Chinese summary and before/after rows. Any exception
rolls the whole transaction back.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from coverage.errors import PermissionDenied, StoreConflict, StoreError, StoreInputError
from store._frames import dumps
from store._schema import TABLES, Table

VIEWER, EDITOR, ADMIN = "查看", "编辑", "管理"
#: Roles, least to most: 查看 reads; 编辑 also changes data (datasets, facilities, targets, scenarios,
#: mappings); 管理 also manages accounts and plans.
ROLES = (VIEWER, EDITOR, ADMIN)
_RANK = {r: i for i, r in enumerate(ROLES)}
_ROLE_ALIASES = {"viewer": VIEWER, "editor": EDITOR, "admin": ADMIN, "查看": VIEWER, "编辑": EDITOR, "管理": ADMIN}
BEIJING = timezone(timedelta(hours=8), "北京时间")
#: Change kinds: (Chinese label, role needed to make or undo one).
CHANGE_KINDS: dict[str, tuple[str, str]] = {
    "dataset_imported": ("导入数据", EDITOR),
    "workspace_migrated": ("迁移工作区", ADMIN),
    "facility_added": ("新增设施", EDITOR),
    "facility_edited": ("修改设施", EDITOR),
    "facility_moved": ("移动设施", EDITOR),
    "facility_removed": ("删除设施", EDITOR),
    "facilities_edited": ("批量修改设施", EDITOR),
    "targets_edited": ("修改规划指标", EDITOR),
    "plan_created": ("新建规划", ADMIN),
    "plan_edited": ("修改规划", ADMIN),
    "plan_removed": ("删除规划", ADMIN),
    "scenario_saved": ("保存规划方案", EDITOR),
    "scenario_removed": ("删除规划方案", EDITOR),
    "scenarios_saved": ("保存规划方案", EDITOR),
    "mapping_saved": ("保存对应关系", EDITOR),
    "settings_saved": ("保存设置", EDITOR),
    "population_saved": ("保存人口文件", EDITOR),
    "population_removed": ("停用人口文件", EDITOR),
    "undo": ("撤销", EDITOR),
    "user_created": ("新建账户", ADMIN),
    "role_changed": ("修改角色", ADMIN),
    "password_changed": ("修改密码", VIEWER),
    "user_removed": ("删除账户", ADMIN),
}
ACCOUNT_KINDS = ("user_created", "role_changed", "password_changed", "user_removed")
DETAIL_ROWS = 200  # before/after rows kept in a change record; larger changes keep counts
_NO_USER = "未登录"


def role_of(text: str) -> str:
    """查看/编辑/管理 (or viewer/editor/admin) -> the Chinese role; StoreInputError otherwise."""
    role = _ROLE_ALIASES.get(str(text).strip().lower()) or _ROLE_ALIASES.get(str(text).strip())
    if role is None:
        raise StoreInputError(f"角色 {text!r} 无效, 可选: {'、'.join(ROLES)}。")
    return role


def role_allows(role: str, needed: str) -> bool:
    return _RANK.get(role, -1) >= _RANK[needed]


@dataclass(frozen=True)
class User:
    """An account: name and role (查看/编辑/管理). Returned by `Store.authenticate`."""

    name: str
    role: str
    created_at: datetime | None = None


@dataclass(frozen=True)
class Change:
    """One recorded change: `change_id` is also the store's version after it."""

    change_id: int
    at: datetime                  # UTC
    user: str
    kind: str
    summary: str                  # Chinese, one line
    detail: dict = field(default_factory=dict, compare=False)  # {"rows": [{"table", "key", "label", "before", "after"}], ...}
    undo_of: int | None = None
    undone_by: int | None = None

    @property
    def kind_label(self) -> str:
        return CHANGE_KINDS.get(self.kind, (self.kind, EDITOR))[0]

    @property
    def at_beijing(self) -> datetime:
        return self.at.astimezone(BEIJING)

    def describe(self) -> str:
        """"张三 于 2026-06-30 10:02(北京时间) 修改设施: ...(变更 #12)"."""
        return f"{self.user} 于 {self.at_beijing:%Y-%m-%d %H:%M}(北京时间) {self.kind_label}: {self.summary}(变更 #{self.change_id})"


@dataclass
class _Draft:
    """A change being written."""

    change_id: int
    at: datetime
    user: str
    kind: str
    summary: str = ""
    rows: list = field(default_factory=list)
    counts: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    undo_of: int | None = None
    touched: int = 0

    def record(self, table: Table, key: str, label: str, before: dict | None, after: dict | None) -> None:
        self.touched += 1
        if len(self.rows) < DETAIL_ROWS:
            self.rows.append({"table": table.entity, "key": key, "label": label, "before": _plain(before), "after": _plain(after)})

    @property
    def detail(self) -> dict:
        out = dict(self.extra)
        if self.rows:
            out["rows"] = self.rows
        if self.touched > len(self.rows):
            out["rows_omitted"] = self.touched - len(self.rows)
        if self.counts:
            out["counts"] = self.counts
        return out

    def as_change(self) -> Change:
        return Change(self.change_id, self.at, self.user, self.kind, self.summary, self.detail, self.undo_of)


def _plain(row: dict | None) -> dict | None:
    if row is None:
        return None
    return {k: v for k, v in row.items() if k not in ("fid", "valid_from", "valid_to", "geom", "content")}


class _Nothing(Exception):
    """Raised inside a write whose body found nothing to change: roll back, record no change."""


def user_name(user) -> str:
    return str(getattr(user, "name", user) or "").strip()


class StoreBase:
    """Back-end, clock, authorisation, the change record and single-record versions."""

    def __init__(self, backend, *, clock=None):
        self._b = backend
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._classes = None
        self.writes = 0  # writes attempted through this handle (this process): readers' memos compare it

    @property
    def kind(self) -> str:
        """"gpkg" or "postgis"."""
        return self._b.kind

    @property
    def location(self) -> str:
        """The file path or the URL without its password."""
        return self._b.location

    def close(self) -> None:
        self._b.close()

    def classes(self):
        """The facility-class catalogue (data/facility_classes.csv), loaded once."""
        if self._classes is None:
            from coverage.catalog import load_classes  # noqa: PLC0415

            self._classes = load_classes()
        return self._classes

    # ------------------------------------------------------------ writing

    def _write(self, user, kind: str, body, *, need: str | None = None) -> Change | None:
        """Run `body(conn, draft)` in one transaction as a change of `kind`; None when it changed nothing."""
        self.writes += 1
        try:
            with self._b.write() as conn:
                name = self._authorize(conn, user, need or CHANGE_KINDS[kind][1], kind)
                draft = self._open_change(conn, name, kind)
                body(conn, draft)
                if not draft.touched and not draft.extra.get("always"):
                    raise _Nothing
                draft.extra.pop("always", None)
                conn.run("UPDATE changes SET kind = :k, summary = :s, detail = :d, undo_of = :u WHERE change_id = :c",
                         {"k": draft.kind, "s": draft.summary or CHANGE_KINDS[draft.kind][0], "d": dumps(draft.detail),
                          "u": draft.undo_of, "c": draft.change_id})
        except _Nothing:
            return None
        return draft.as_change()

    def _authorize(self, conn, user, need: str, kind: str) -> str:
        """The acting account's name, after checking its current role allows `need`. A store with no
        accounts yet (embedded, single planner) allows everything and records the name given."""
        name = user_name(user)
        if not conn.scalar("SELECT COUNT(*) FROM users"):
            return name or _NO_USER
        label = CHANGE_KINDS.get(kind, (kind,))[0]
        role = conn.scalar("SELECT role FROM users WHERE name = :n", {"n": name}) if name else None
        if role is None:
            raise PermissionDenied(f"未登录或账户「{name}」不存在, 不能{label}。请先登录。" if name else f"未登录, 不能{label}。请先登录。")
        if not role_allows(role, need):
            raise PermissionDenied(f"账户「{name}」的角色是「{role}」, 不能{label}(需要「{need}」权限)。未作任何修改。")
        return name

    def _open_change(self, conn, name: str, kind: str) -> _Draft:
        at = self._clock().astimezone(timezone.utc)
        last = conn.scalar("SELECT at FROM changes ORDER BY change_id DESC LIMIT 1")
        if last is not None:
            last = conn.read_stamp(last)
            if at <= last:
                at = last + timedelta(microseconds=1)  # the record's clock never runs backwards
        cid = conn.scalar("INSERT INTO changes (at, user_name, kind, summary) VALUES (:at, :u, :k, '') RETURNING change_id",
                          {"at": conn.stamp(at), "u": name, "k": kind})
        return _Draft(int(cid), at, name, kind)

    # ------------------------------------------------------------ the change record

    _CHANGE_COLS = "change_id, at, user_name, kind, summary, detail, undo_of, undone_by"

    @staticmethod
    def _change_from(conn, row) -> Change:
        import json  # noqa: PLC0415

        cid, at, user, kind, summary, detail, undo_of, undone_by = row
        return Change(int(cid), conn.read_stamp(at), user, kind, summary, json.loads(detail) if detail else {},
                      None if undo_of is None else int(undo_of), None if undone_by is None else int(undone_by))

    def _change_in(self, conn, change_id: int) -> Change | None:
        row = conn.one(f"SELECT {self._CHANGE_COLS} FROM changes WHERE change_id = :c", {"c": int(change_id)})
        return None if row is None else self._change_from(conn, row)

    # ------------------------------------------------------------ one record's versions

    @staticmethod
    def _where_key(table: Table) -> str:
        return " AND ".join(f"{k} = :k_{k}" for k in table.key)

    @staticmethod
    def _key_params(table: Table, key: dict) -> dict:
        return {f"k_{k}": key[k] for k in table.key}

    def _current(self, conn, table: Table, key: dict) -> dict | None:
        """The record's current row (without geometry) with fid and valid_from, or None."""
        cols = [c.name for c in table.columns if c.kind not in ("geom", "point")]
        row = conn.one(f"SELECT fid, valid_from, {', '.join(cols)} FROM {table.name} "
                       f"WHERE {self._where_key(table)} AND valid_to IS NULL", self._key_params(table, key))
        return None if row is None else dict(zip(["fid", "valid_from", *cols], row))

    def _check_version(self, conn, table: Table, key: dict, version: int | None, label: str) -> dict | None:
        """The current row, after checking it is still the version the edit was made on (None or 0:
        the record is new). Raises StoreConflict naming the other person's change otherwise."""
        cur = self._current(conn, table, key)
        if not version:
            if cur is not None:
                raise self._conflict(conn, int(cur["valid_from"]), label, "已由他人先行新建", key)
            return None
        if cur is None:
            closer = conn.scalar(f"SELECT MAX(valid_to) FROM {table.name} WHERE {self._where_key(table)}",
                                 self._key_params(table, key))
            if closer is None:
                raise StoreInputError(f"找不到{table.entity}「{label}」。")
            raise self._conflict(conn, int(closer), label, "已被删除", key)
        if int(cur["valid_from"]) != int(version):
            raise self._conflict(conn, int(cur["valid_from"]), label, "已被修改", key)
        return cur

    def _conflict(self, conn, change_id: int, label: str, what: str, key) -> StoreConflict:
        change = self._change_in(conn, change_id)
        who = change.describe() if change else f"变更 #{change_id}"
        return StoreConflict(f"「{label}」在你打开之后{what}: {who}。你的修改基于旧数据, 未保存; 请刷新后在最新数据上重做。",
                             change=change, key=str(key if not isinstance(key, dict) else "/".join(map(str, key.values()))))

    def _replace(self, conn, draft: _Draft, table: Table, old: dict | None, new: dict | None, *, label: str,
                 geometry=None) -> None:
        """Close `old` (the current row, as `_current` gave it) and write `new` (all of the table's
        non-geometry columns) as of this change; `geometry` is the new row's shapely geometry."""
        if old is not None:
            conn.run(f"UPDATE {table.name} SET valid_to = :c WHERE fid = :f", {"c": draft.change_id, "f": old["fid"]})
        if new is not None:
            cols = {c: [new.get(c)] for c in table.names if c != table.geometry}
            cols["valid_from"] = [draft.change_id]
            conn.insert(table.name, cols, {table.geometry: [geometry]} if table.geometry else None)
        key = "/".join(str((new or old)[k]) for k in table.key)
        draft.record(table, key, label, old, new)

    def _require(self, ok: bool, message: str) -> None:
        if not ok:
            raise StoreError(message)


def table(name: str) -> Table:
    return TABLES[name]
