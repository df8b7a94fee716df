"""Plans and their targets, planning scenarios, class/status mappings, settings and kept files."""
from __future__ import annotations

import json

import pandas as pd

from coverage.catalog import BASELINE_COLUMNS, TARGET_COLUMNS, TARGETS_CSV, targets_as_text, validate_targets
from coverage.errors import StoreInputError
from store._base import ADMIN, StoreBase, table
from store._frames import dumps

TARGET_FIELDS = TARGET_COLUMNS + BASELINE_COLUMNS
#: Columns of a saved planned site (as geodata.workspace.SCENARIO_SITE_FIELDS); lon/lat in WGS84.
SITE_FIELDS = ("site_id", "name", "facility_class", "lon", "lat", "unit_code", "status")
MAPPING_KINDS = {"class": "类型对应", "status": "状态对应"}
POPULATION_KINDS = {"population": "乡镇人口表", "demand_points": "村(社区)人口点"}


def builtin_targets() -> pd.DataFrame:
    """The built-in plan-target catalogue (data/plan_targets.csv) as text cells."""
    table_ = pd.read_csv(TARGETS_CSV, dtype=str, keep_default_na=False)
    return targets_as_text(table_.reindex(columns=TARGET_FIELDS, fill_value=""))


def _text_rows(frame: pd.DataFrame | None) -> dict[str, dict]:
    """target_id -> {field: text} (and "version" when the frame has it), in the frame's order."""
    if frame is None or not len(frame):
        return {}
    text = targets_as_text(frame.reindex(columns=TARGET_FIELDS, fill_value=""))
    versions = frame["version"].tolist() if "version" in frame.columns else [0] * len(frame)
    out = {}
    for (_, row), version in zip(text.iterrows(), versions):
        rec = {c: str(row[c]).strip() for c in TARGET_FIELDS}
        rec["version"] = 0 if version is None or pd.isna(version) else int(version)
        if rec["target_id"] in out:
            raise StoreInputError(f"指标编号重复: {rec['target_id']}。请为每项指标使用不同的编号。")
        out[rec["target_id"]] = rec
    return out


def _same_target(a: dict, b: dict) -> bool:
    return all(str(a.get(c) or "") == str(b.get(c) or "") for c in TARGET_FIELDS)


def sites_to_json(sites: pd.DataFrame) -> str:
    rows = []
    for rec in pd.DataFrame(sites).reindex(columns=list(SITE_FIELDS)).to_dict("records"):
        rows.append({k: (None if v is None or v is pd.NA or (isinstance(v, float) and pd.isna(v))
                         else (float(v) if k in ("lon", "lat") else str(v))) for k, v in rec.items()})
    return json.dumps(rows, ensure_ascii=False)


def sites_from_json(text: str) -> pd.DataFrame:
    """Sites as geodata.workspace.load_scenarios returns them."""
    sites = pd.DataFrame(json.loads(text or "[]"), columns=list(SITE_FIELDS))
    sites["lon"] = pd.to_numeric(sites["lon"], errors="coerce")
    sites["lat"] = pd.to_numeric(sites["lat"], errors="coerce")
    for col in ("site_id", "name", "facility_class", "status"):
        sites[col] = sites[col].astype(object).where(sites[col].notna(), "").astype(str)
    sites["unit_code"] = sites["unit_code"].map(lambda v: None if v is None or pd.isna(v) or str(v) == "" else str(v))
    return sites


class PlanningMixin(StoreBase):

    # ------------------------------------------------------------ targets

    def targets(self, as_of=None) -> pd.DataFrame:
        """The stored plan-target table as text cells (`coverage.catalog.TARGET_COLUMNS` + baseline
        columns) plus `version`, in table order; empty until targets are first saved (then the
        built-in catalogue applies: `builtin_targets()`, version 0). Validate with
        `coverage.catalog.validate_targets(frame.drop(columns="version"), classes)`."""
        at = self._as_of(as_of)
        with self._b.read() as conn:
            rows = conn.rows(f"SELECT {', '.join(TARGET_FIELDS)}, valid_from FROM target_versions "
                             f"WHERE {self._valid(at)} ORDER BY position, fid", {"asof": at})
        frame = pd.DataFrame([list(r[:-1]) for r in rows], columns=TARGET_FIELDS, dtype=object).fillna("")
        frame["version"] = [int(r[-1]) for r in rows]
        return frame

    def has_targets(self) -> bool:
        with self._b.read() as conn:
            return bool(conn.scalar("SELECT COUNT(*) FROM target_versions"))

    def edit_targets(self, table_: pd.DataFrame, user, *, based_on: pd.DataFrame | None, classes=None):
        """Save edited targets: `table_` is the rows as the planner left them, `based_on` the rows
        (with `version`) they started from. Rows of `based_on` missing from `table_` are removed;
        rows of `table_` not in `based_on` are added; other rows are saved when changed. Only changed
        rows are checked: a row someone else changed meanwhile raises StoreConflict naming that
        change (nothing is saved); two planners editing different rows both succeed. The whole
        resulting table must pass `validate_targets` (CatalogError). A row of a plan that does not
        exist yet needs 管理 (`create_plan`). Returns the change, or None when nothing changed.
        The first save stores the built-in catalogue with it (rows from it have version 0)."""
        new, old = _text_rows(table_), _text_rows(based_on)
        return self._write(user, "targets_edited", lambda conn, draft: self._targets_in(
            conn, draft, user, new, old, classes or self.classes()))

    def _targets_in(self, conn, draft, user, new: dict, old: dict, classes, *, plan_rows: bool = False,
                    seed: bool = True) -> None:
        t = table("target_versions")
        seeded = self._seed_targets(conn, draft) if seed else 0
        current = self._current_targets(conn)
        known_plans = {r["plan"] for r in current.values()} | set(self._plan_names(conn)) | set(builtin_targets()["plan"])
        added, edited, removed = [], [], []
        next_pos = max((int(r["position"] or 0) for r in current.values()), default=0) + 1
        for tid in list(new) + [k for k in old if k not in new]:
            n, o, cur = new.get(tid), old.get(tid), current.get(tid)
            if n is not None and o is not None and _same_target(n, o):
                continue
            if o is None:
                if cur is not None:
                    if _same_target(cur, n):
                        continue
                    raise self._conflict(conn, int(cur["valid_from"]), f"指标 {tid}", "已由他人先行新建(编号相同)", tid)
            elif cur is None:
                if n is None:
                    continue
                closer = conn.scalar("SELECT MAX(valid_to) FROM target_versions WHERE target_id = :t", {"t": tid})
                if closer is not None:
                    raise self._conflict(conn, int(closer), f"指标 {tid}", "已被删除", tid)
            elif int(cur["valid_from"]) != o["version"] and not _same_target(cur, o):
                raise self._conflict(conn, int(cur["valid_from"]), f"指标 {tid}「{cur['indicator']}」", "已被修改", tid)
            if n is not None and n["plan"] not in known_plans and not plan_rows:
                self._authorize(conn, user, ADMIN, "plan_created")
            row = None
            if n is not None:
                row = {c: n[c] for c in TARGET_FIELDS}
                row["position"] = cur["position"] if cur is not None else next_pos
                next_pos += cur is None
            label = f"{tid} {(n or cur or o)['indicator']}"
            if cur is None and row is not None:
                added.append(tid)
            elif row is None:
                removed.append(tid)
            else:
                edited.append(_target_diff(tid, cur, row))
            self._replace(conn, draft, t, cur, row, label=label)
        if draft.touched:
            result = pd.DataFrame(list(self._current_targets(conn).values()), columns=TARGET_FIELDS)
            validate_targets(result, classes)  # CatalogError rolls the whole change back
        parts = []
        if seeded:
            parts.append(f"首次保存, 载入内置指标表 {seeded} 项")
        if edited:
            parts.append("修改 " + "; ".join(edited[:5]) + ("……" if len(edited) > 5 else ""))
        if added:
            parts.append("新增 " + "、".join(added[:8]) + ("……" if len(added) > 8 else ""))
        if removed:
            parts.append("删除 " + "、".join(removed[:8]) + ("……" if len(removed) > 8 else ""))
        draft.summary = "规划指标: " + "; ".join(parts) if parts else ""
        draft.counts |= {"edited": len(edited), "added": len(added), "removed": len(removed), "seeded": seeded}
        if seeded and draft.touched == seeded:  # only the seed: nothing the planner changed
            draft.touched = 0

    def _seed_targets(self, conn, draft) -> int:
        """Store the built-in catalogue before the first save of targets; the count stored."""
        if conn.scalar("SELECT COUNT(*) FROM target_versions"):
            return 0
        seed = builtin_targets()
        cols = {c: seed[c].tolist() for c in TARGET_FIELDS}
        cols["position"] = list(range(1, len(seed) + 1))
        cols["valid_from"] = [draft.change_id] * len(seed)
        conn.insert("target_versions", cols)
        draft.touched += len(seed)
        return len(seed)

    def _current_targets(self, conn) -> dict[str, dict]:
        rows = conn.rows(f"SELECT fid, valid_from, position, {', '.join(TARGET_FIELDS)} FROM target_versions "
                         "WHERE valid_to IS NULL ORDER BY position, fid")
        return {r[3]: dict(zip(["fid", "valid_from", "position", *TARGET_FIELDS], r)) for r in rows}

    # ------------------------------------------------------------ plans

    def plans(self, as_of=None) -> pd.DataFrame:
        """Plans created in the store (not the built-in ones): name, area_code, note, version."""
        at = self._as_of(as_of)
        with self._b.read() as conn:
            rows = conn.rows(f"SELECT name, area_code, note, valid_from FROM plan_versions WHERE {self._valid(at)} ORDER BY fid",
                             {"asof": at})
        return pd.DataFrame(rows, columns=["name", "area_code", "note", "version"])

    def plan_areas(self) -> dict[str, str]:
        """Plan -> area code (leading digits of its townships' codes) of the plans created here."""
        return {r.name: r.area_code for r in self.plans().itertuples() if r.area_code}

    def _plan_names(self, conn) -> list[str]:
        return [r[0] for r in conn.rows("SELECT name FROM plan_versions WHERE valid_to IS NULL")]

    def create_plan(self, name: str, user, *, area_code: str = "", note: str = "", targets: pd.DataFrame | None = None,
                    classes=None):
        """Create a plan (管理), optionally with its target rows (their `plan` is set to `name`; target
        ids must be new). StoreConflict when someone created a plan of that name meanwhile."""
        name = str(name or "").strip()
        if not name:
            raise StoreInputError("规划名称不能为空。")
        rows = {}
        if targets is not None and len(targets):
            rows = _text_rows(targets.assign(plan=name).drop(columns=["version"], errors="ignore"))

        def body(conn, draft):
            t = table("plan_versions")
            cur = self._current(conn, t, {"name": name})
            if cur is not None:
                raise self._conflict(conn, int(cur["valid_from"]), f"规划「{name}」", "已由他人先行新建", name)
            if name in set(builtin_targets()["plan"]) or conn.scalar(
                    "SELECT COUNT(*) FROM target_versions WHERE plan = :p AND valid_to IS NULL", {"p": name}):
                raise StoreInputError(f"规划「{name}」已存在(指标表中已有), 请换一个名称。")
            self._replace(conn, draft, t, None, {"name": name, "area_code": str(area_code or ""), "note": str(note or "")},
                          label=name)
            if rows:
                self._targets_in(conn, draft, user, rows, {}, classes or self.classes(), plan_rows=True)
            draft.summary = f"新建规划「{name}」" + (f", 地区代码 {area_code}" if area_code else "") + \
                (f", {len(rows)} 项指标" if rows else "")

        return self._write(user, "plan_created", body)

    def edit_plan(self, name: str, version: int, user, *, area_code: str | None = None, note: str | None = None):
        """Change a created plan's area code or note (管理)."""
        def body(conn, draft):
            t = table("plan_versions")
            cur = self._check_version(conn, t, {"name": name}, version, f"规划「{name}」")
            new = {"name": name, "area_code": cur["area_code"] if area_code is None else str(area_code),
                   "note": cur["note"] if note is None else str(note)}
            if new["area_code"] == cur["area_code"] and new["note"] == cur["note"]:
                return
            self._replace(conn, draft, t, cur, new, label=name)
            draft.summary = f"修改规划「{name}」: 地区代码 {cur['area_code'] or '(空)'} → {new['area_code'] or '(空)'}"

        return self._write(user, "plan_edited", body)

    def remove_plan(self, name: str, version: int | None, user):
        """Remove a plan and all its target rows (管理). `version`: the plan's (None for a plan that
        only exists as target rows, e.g. a built-in one)."""
        def body(conn, draft):
            t = table("plan_versions")
            cur = self._check_version(conn, t, {"name": name}, version, f"规划「{name}」") if version else None
            if cur is not None:
                self._replace(conn, draft, t, cur, None, label=name)
            self._seed_targets(conn, draft)
            tt = table("target_versions")
            gone = [r for r in self._current_targets(conn).values() if r["plan"] == name]
            for row in gone:
                self._replace(conn, draft, tt, row, None, label=f"{row['target_id']} {row['indicator']}")
            if cur is None and not gone:
                raise StoreInputError(f"没有名为「{name}」的规划。")
            draft.summary = f"删除规划「{name}」及其 {len(gone)} 项指标"

        return self._write(user, "plan_removed", body)

    # ------------------------------------------------------------ scenarios

    def scenarios(self, as_of=None) -> dict[str, pd.DataFrame]:
        """Saved planning scenarios, name -> sites (`SITE_FIELDS`), in saved order."""
        at = self._as_of(as_of)
        with self._b.read() as conn:
            rows = conn.rows(f"SELECT name, sites FROM scenario_versions WHERE {self._valid(at)} ORDER BY position, fid",
                             {"asof": at})
        return {name: sites_from_json(sites) for name, sites in rows}

    def scenario_versions(self) -> dict[str, int]:
        with self._b.read() as conn:
            return {n: int(v) for n, v in conn.rows("SELECT name, valid_from FROM scenario_versions WHERE valid_to IS NULL")}

    def save_scenario(self, name: str, sites: pd.DataFrame, user, *, version: int | None = None):
        """Save one scenario; `version` is the one it was loaded at (None: a new scenario)."""
        return self.save_scenarios({name: sites}, user, based_on={name: version} if version else {}, partial=True)

    def remove_scenario(self, name: str, version: int, user):
        return self._write(user, "scenario_removed", lambda conn, draft: self._scenarios_in(
            conn, draft, {}, {name: version}, partial=False, only={name}))

    def save_scenarios(self, scenarios: dict[str, pd.DataFrame], user, *, based_on: dict[str, int] | None = None,
                       partial: bool = False):
        """Save scenarios (name -> sites) made on `based_on` (name -> version as loaded). Without
        `partial`, scenarios in `based_on` but not in `scenarios` are removed (the page's whole list)."""
        based_on = dict(based_on or {})
        return self._write(user, "scenario_saved" if len(scenarios) == 1 and partial else "scenarios_saved",
                           lambda conn, draft: self._scenarios_in(conn, draft, scenarios, based_on, partial=partial))

    def _scenarios_in(self, conn, draft, scenarios, based_on, *, partial: bool, only=None) -> None:
        t = table("scenario_versions")
        names = list(scenarios) + ([] if partial else [n for n in based_on if n not in scenarios])
        if only:
            names = list(only)
        position = int(conn.scalar("SELECT COALESCE(MAX(position), 0) FROM scenario_versions")) + 1
        said = []
        for name in names:
            name = str(name).strip()
            if not name:
                raise StoreInputError("规划方案名称不能为空。")
            cur = self._check_version(conn, t, {"name": name}, based_on.get(name), f"规划方案「{name}」")
            if name not in scenarios:
                self._replace(conn, draft, t, cur, None, label=name)
                said.append(f"删除「{name}」")
                continue
            sites = sites_to_json(scenarios[name])
            if cur is not None and cur["sites"] == sites:
                continue
            row = {"name": name, "position": cur["position"] if cur is not None else position, "sites": sites}
            position += cur is None
            self._replace(conn, draft, t, cur, row, label=name)
            said.append(f"「{name}」({len(json.loads(sites))} 个点位)")
        draft.summary = "规划方案: " + "、".join(said) if said else ""

    # ------------------------------------------------------------ mappings

    def class_mapping(self, as_of=None) -> dict[str, str]:
        """The planner's type labels -> class ids (or "none": 不计入)."""
        return self._mapping_now("class", as_of)

    def status_mapping(self, as_of=None) -> dict[str, str]:
        """The planner's 状态 values -> 运营/在建/规划/停用."""
        return self._mapping_now("status", as_of)

    def _mapping_now(self, kind: str, as_of) -> dict[str, str]:
        at = self._as_of(as_of)
        with self._b.read() as conn:
            return self._mapping(conn, kind, at)

    def save_class_mapping(self, mapping: dict[str, str], user, *, classes=None):
        """Add or change labels (merged into the saved mapping); values: class ids or "none"."""
        known = set((classes or self.classes()).names) | {"none"}
        bad = [f"{k} → {v}" for k, v in mapping.items() if v not in known]
        if bad:
            raise StoreInputError("这些类型对应的类别不在类别表中:", bad)
        return self._write(user, "mapping_saved", lambda conn, draft: self._mapping_in(conn, draft, "class", mapping))

    def save_status_mapping(self, mapping: dict[str, str], user):
        from coverage.catalog import load_statuses  # noqa: PLC0415

        known = set(load_statuses().statuses)
        bad = [f"{k} → {v}" for k, v in mapping.items() if v not in known]
        if bad:
            raise StoreInputError(f"状态只能对应为 {'、'.join(sorted(known))}:", bad)
        return self._write(user, "mapping_saved", lambda conn, draft: self._mapping_in(conn, draft, "status", mapping))

    def _mapping_in(self, conn, draft, kind: str, mapping: dict[str, str]) -> None:
        t = table("mapping_versions")
        said = []
        for label, value in mapping.items():
            label, value = str(label), str(value)
            cur = self._current(conn, t, {"kind": kind, "label": label})
            if cur is not None and cur["value"] == value:
                continue
            self._replace(conn, draft, t, cur, {"kind": kind, "label": label, "value": value}, label=label)
            said.append(f"{label} → {value}")
        draft.summary = f"{MAPPING_KINDS[kind]}: " + "; ".join(said[:8]) + ("……" if len(said) > 8 else "") if said else ""

    # ------------------------------------------------------------ settings and kept files

    def settings(self, as_of=None) -> dict:
        """Saved settings (the folder workspace's workspace.json keys: plans_chosen, ...), key -> JSON value."""
        at = self._as_of(as_of)
        with self._b.read() as conn:
            rows = conn.rows(f"SELECT key, value FROM setting_versions WHERE {self._valid(at)} ORDER BY fid", {"asof": at})
        return {k: json.loads(v) for k, v in rows}

    def save_settings(self, user, **values):
        """Merge settings (a value of None removes the key); one change."""
        return self._write(user, "settings_saved", lambda conn, draft: self._settings_in(conn, draft, values))

    def _settings_in(self, conn, draft, values: dict) -> None:
        t = table("setting_versions")
        said = []
        for key, value in values.items():
            cur = self._current(conn, t, {"key": key})
            text = None if value is None else dumps(value)
            if (cur is None and text is None) or (cur is not None and cur["value"] == text):
                continue
            self._replace(conn, draft, t, cur, None if text is None else {"key": key, "value": text}, label=key)
            said.append(key)
        draft.summary = "设置: " + "、".join(said) if said else ""

    def population_file(self, kind: str, as_of=None) -> tuple[bytes, dict] | None:
        """(the bytes as uploaded, record with filename and reading options) of a kept population file."""
        at = self._as_of(as_of)
        with self._b.read() as conn:
            row = conn.one(f"SELECT content, record FROM file_versions WHERE kind = :k AND {self._valid(at)}",
                           {"k": kind, "asof": at})
        return None if row is None else (bytes(row[0]), json.loads(row[1]))

    def save_population_file(self, kind: str, raw: bytes, filename: str, user, **how):
        """Keep an uploaded 乡镇人口表 (kind "population") or village points ("demand_points")."""
        if kind not in POPULATION_KINDS:
            raise StoreInputError(f"文件种类 {kind!r} 无效, 可选: {', '.join(POPULATION_KINDS)}")
        return self._write(user, "population_saved", lambda conn, draft: self._file_in(conn, draft, kind, raw, filename, how))

    def _file_in(self, conn, draft, kind: str, raw: bytes | None, filename: str, how: dict) -> None:
        t = table("file_versions")
        cur = self._current(conn, t, {"kind": kind})
        new = None if raw is None else {"kind": kind, "filename": str(filename), "content": bytes(raw),
                                        "record": dumps({"filename": str(filename), **how})}
        if cur is None and new is None:
            return
        self._replace(conn, draft, t, cur, new, label=POPULATION_KINDS[kind])
        draft.summary = f"{POPULATION_KINDS[kind]}: " + (f"保存 {filename}({len(raw):,} 字节)" if raw is not None
                                                         else f"停用 {cur['filename']}")

    def remove_population_file(self, kind: str, user):
        return self._write(user, "population_removed", lambda conn, draft: self._file_in(conn, draft, kind, None, "", {}))


def _target_diff(tid: str, cur: dict, new: dict) -> str:
    labels = {"target_value": "目标值", "baseline_value": "基期值", "indicator": "指标", "target_year": "目标年份",
              "facility_class": "类别", "unit_level": "统计单元", "binding": "属性", "plan": "规划", "note": "备注"}
    diffs = [f"{labels.get(c, c)} {cur[c] or '(空)'} → {new[c] or '(空)'}" for c in TARGET_FIELDS
             if str(cur.get(c) or "") != str(new.get(c) or "")]
    return f"{tid} " + ", ".join(diffs[:3])
