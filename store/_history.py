"""The change record: the log, versions for sessions ("has anything changed?"), time -> version, undo."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from coverage.errors import StoreConflict, StoreError, StoreInputError
from store._base import ACCOUNT_KINDS, BEIJING, CHANGE_KINDS, Change, StoreBase
from store._schema import TABLES


def parse_time(value) -> datetime:
    """A moment in UTC from a datetime (naive = UTC), a date, or ISO text. A date alone
    ("2025-06-30") means the end of that day in China (24:00 北京时间 = 16:00 UTC)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    if isinstance(value, date):
        return datetime.combine(value + timedelta(days=1), time(0), BEIJING).astimezone(timezone.utc)
    text = str(value).strip()
    try:
        if len(text) == 10:
            return parse_time(date.fromisoformat(text))
        return parse_time(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        raise StoreInputError(f"时间 {value!r} 无法识别, 请写成 2025-06-30 或 2025-06-30T18:00:00+08:00。") from None


class HistoryMixin(StoreBase):

    def current_version(self) -> int:
        """The store's version: the id of the last change (0 when nothing was ever saved). A session
        remembers it and asks `changed_since` on each rerun."""
        with self._b.read() as conn:
            return int(conn.scalar("SELECT COALESCE(MAX(change_id), 0) FROM changes"))

    def changed_since(self, version: int) -> list[Change]:
        """Changes after `version`, oldest first (empty when the session's data is current)."""
        with self._b.read() as conn:
            rows = conn.rows(f"SELECT {self._CHANGE_COLS} FROM changes WHERE change_id > :v ORDER BY change_id",
                             {"v": int(version)})
            return [self._change_from(conn, r) for r in rows]

    def log(self, limit: int = 100, *, offset: int = 0) -> list[Change]:
        """The most recent changes, newest first."""
        with self._b.read() as conn:
            rows = conn.rows(f"SELECT {self._CHANGE_COLS} FROM changes ORDER BY change_id DESC LIMIT :n OFFSET :o",
                             {"n": int(limit), "o": int(offset)})
            return [self._change_from(conn, r) for r in rows]

    def change(self, change_id: int) -> Change:
        """One change with its detail (before/after rows); StoreInputError when there is none."""
        with self._b.read() as conn:
            found = self._change_in(conn, change_id)
        if found is None:
            raise StoreInputError(f"没有编号为 #{change_id} 的变更。")
        return found

    def version_at(self, when) -> int:
        """The store's version at a moment (see `parse_time`): the last change made at or before it, 0 if none."""
        moment = parse_time(when)
        with self._b.read() as conn:
            return int(conn.scalar("SELECT COALESCE(MAX(change_id), 0) FROM changes WHERE at <= :t",
                                   {"t": conn.stamp(moment)}))

    def _as_of(self, as_of) -> int | None:
        """None (current) or a version: an int is a version (change id), anything else a moment."""
        if as_of is None:
            return None
        if isinstance(as_of, int) and not isinstance(as_of, bool):
            return as_of
        return self.version_at(as_of)

    @staticmethod
    def _valid(as_of: int | None) -> str:
        """SQL condition for the rows valid at version `as_of` (parameter :asof) or now."""
        return "valid_to IS NULL" if as_of is None else "valid_from <= :asof AND (valid_to IS NULL OR valid_to > :asof)"

    def undo(self, change_id: int, user) -> Change:
        """Revert one change, recorded as a new change ("undo"). Refused with StoreConflict when a
        later change touched the same records (undo that one first), and for account changes."""
        target = self.change(change_id)
        if target.kind in ACCOUNT_KINDS:
            raise StoreError(f"账户变更(#{change_id} {target.kind_label})不能撤销, 请直接修改账户。")
        need = CHANGE_KINDS.get(target.kind, ("", "管理"))[1]
        if target.kind == "undo" and target.undo_of:
            need = CHANGE_KINDS.get(self.change(target.undo_of).kind, ("", "管理"))[1]

        def body(conn, draft):
            current = self._change_in(conn, change_id)
            if current.undone_by:
                raise StoreConflict(f"变更 #{change_id} 已被撤销(变更 #{current.undone_by}), 不能再次撤销。",
                                    change=self._change_in(conn, current.undone_by), key=str(change_id))
            c = int(change_id)
            for t in TABLES.values():
                later = conn.scalar(f"SELECT MIN(valid_to) FROM {t.name} WHERE valid_from = :c AND valid_to IS NOT NULL",
                                    {"c": c})
                if later is None:
                    keys = " AND ".join(f"n.{k} = o.{k}" for k in t.key)
                    later = conn.scalar(f"SELECT MIN(n.valid_from) FROM {t.name} n JOIN {t.name} o ON {keys} "
                                        "WHERE o.valid_to = :c AND n.valid_from > :c", {"c": c})
                if later is not None:
                    raise self._conflict(conn, int(later), f"变更 #{c}", "之后又有修改, 不能直接撤销(请先撤销后面的变更)", c)
            restored = closed = 0
            for t in TABLES.values():
                cols = ", ".join(t.names)
                restored += conn.run(f"INSERT INTO {t.name} ({cols}, valid_from) SELECT {cols}, :n FROM {t.name} "
                                     "WHERE valid_to = :c ORDER BY fid", {"n": draft.change_id, "c": c})
                closed += conn.run(f"UPDATE {t.name} SET valid_to = :n WHERE valid_from = :c AND valid_to IS NULL",
                                   {"n": draft.change_id, "c": c})
            conn.run("UPDATE changes SET undone_by = :n WHERE change_id = :c", {"n": draft.change_id, "c": c})
            draft.undo_of = c
            draft.summary = f"撤销变更 #{c}({current.user} {current.kind_label}: {current.summary})"
            draft.counts = {"restored_rows": restored, "closed_rows": closed}
            draft.touched = max(restored + closed, 1)

        return self._write(user, "undo", body, need=need)
