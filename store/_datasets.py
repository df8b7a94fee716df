"""The township layer and the facility ledger: import, read (now or as of a moment), edit facilities."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from coverage.catalog import FUNCTION_COLUMNS
from coverage.errors import StoreConflict, StoreError, StoreInputError
from store._base import StoreBase, table
from store._frames import DERIVED, FACILITY_FIELDS, UNIT_FIELDS, column_spec, column_to_db, dumps, frame_from_columns
from store._schema import SRID

DATASET = "current"  # the name of the one active dataset record
CHINA_BBOX = (73.0, 3.0, 136.0, 54.0)
#: Facility fields an edit may change (lon/lat in WGS84 degrees).
EDITABLE = ("facility_id", "name", "class_raw", "facility_class", "lon", "lat", "address", "operating_status",
            "stated_township", "stated_district", "beds", "nursing_beds", "built_year", *FUNCTION_COLUMNS.values())
FIELD_LABELS = {"facility_id": "编号", "name": "名称", "class_raw": "类型", "facility_class": "设施类别", "lon": "经度",
                "lat": "纬度", "address": "地址", "operating_status": "状态", "stated_township": "所属乡镇(街道)",
                "stated_district": "所属区县", "beds": "床位数", "nursing_beds": "护理型床位数", "built_year": "建成年份",
                **{col: zh for zh, col in FUNCTION_COLUMNS.items()}}
EDITED = "edited"  # class_match of a row whose class a planner chose by hand (kept as chosen on read)


@dataclass(frozen=True)
class Dataset:
    """The township layer and facility ledger at one version of the store.

    units: as `geodata.io.read_units` returns them (EPSG:4326). facilities: the ledger with lon/lat
    in WGS84 (as prepared when it was saved), x_raw/y_raw in the ledger's own system
    (`info["point_system"]`), point geometry, and per row `uid` (the store's key of the facility)
    and `version` (give it back with an edit). To count, prepare it with the saved system:
    `prepare_facilities(facilities, units, system=info["facility_system"])`, or use
    `Store.prepared_dataset`. info: facility_system (how the ledger's
    x_raw/y_raw are read: "auto", "wgs84", "gcj02", ...), point_system (the system decided),
    unit_report, facility_report, prepare_report, source_record.
    """

    units: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    info: dict = field(default_factory=dict)
    version: int = 0              # the last change to this data (import or facility edit): `based_on` of a re-import
    as_of: int | None = None      # the store version read (None: current)


@dataclass(frozen=True)
class StoreInputs:
    """The dataset as the file readers return it, for the computation (see `coverage.__main__.compute`):
    `facilities` as `read_facilities` gives it (before `geodata.clean.prepare_facilities`, which is
    to be called with `facility_system`)."""

    units: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    unit_report: dict
    facility_report: dict
    facility_system: str
    status_mapping: dict
    uid: list = field(default_factory=list, repr=False)       # per facility row: the store's key
    version: list = field(default_factory=list, repr=False)   # per facility row: its version


def _haversine_m(lon1, lat1, lon2, lat2) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(a))


def raw_from_wgs84(lon: float, lat: float, system: str) -> tuple[float, float]:
    """Coordinates in the ledger's own system (`system` as decided on import) for a WGS84 point."""
    from geodata import chinacoords  # noqa: PLC0415

    if system in ("wgs84", "cgcs2000", "auto", "", None):
        return lon, lat
    if system == "gcj02":
        x, y = chinacoords.wgs84_to_gcj02(lon, lat)
    elif system == "bd09":
        x, y = chinacoords.wgs84_to_bd09(lon, lat)
    else:
        from pyproj import Transformer  # noqa: PLC0415

        x, y = Transformer.from_crs(4326, system, always_xy=True).transform(lon, lat)
    return float(np.asarray(x).reshape(-1)[0]), float(np.asarray(y).reshape(-1)[0])


class DatasetMixin(StoreBase):

    # ------------------------------------------------------------ import

    def import_dataset(self, units: gpd.GeoDataFrame, facilities: pd.DataFrame, user, *, facility_system: str = "wgs84",
                       unit_report: dict | None = None, facility_report: dict | None = None,
                       prepare_report: dict | None = None, source_record: dict | None = None,
                       based_on: int | None = None):
        """Replace the township layer and the facility ledger, in one transaction (one change).

        units
            As `geodata.io.read_units` returns them (EPSG:4326).
        facilities
            As `geodata.clean.prepare_facilities` returns them: the reader's columns, lon/lat in WGS84.
        facility_system
            The `system` the ledger was read with ("auto", "wgs84", "gcj02", "bd09", "EPSG:n"): on
            reading from the store the ledger is prepared again with it.
        based_on
            The dataset version (`Dataset.version`) the planner saw; when another dataset was saved
            meanwhile the import is refused (StoreConflict) instead of replacing it. None: replace.
        """
        return self._write(user, "dataset_imported", lambda conn, draft: self._import_in(
            conn, draft, units, facilities, facility_system=facility_system, unit_report=unit_report,
            facility_report=facility_report, prepare_report=prepare_report, source_record=source_record,
            based_on=based_on))

    def _import_in(self, conn, draft, units, facilities, *, facility_system, unit_report, facility_report,
                   prepare_report, source_record, based_on) -> None:
        units, facilities = self._check_frames(units, facilities)
        ds = table("dataset_versions")
        current = self._current(conn, ds, {"name": DATASET})
        latest = self._data_version(conn, None)
        if based_on is not None and latest != based_on:
            raise self._conflict(conn, latest, "乡镇边界与设施台账", "已被他人修改", DATASET) if latest else \
                StoreConflict("数据已被他人删除(撤销了导入), 你的导入基于旧数据, 未保存; 请刷新后重做。")
        old_units = conn.run("UPDATE township_versions SET valid_to = :c WHERE valid_to IS NULL", {"c": draft.change_id})
        old_facilities = conn.run("UPDATE facility_versions SET valid_to = :c WHERE valid_to IS NULL", {"c": draft.change_id})
        n, m = len(units), len(facilities)
        cols = {c: column_to_db(units, c, n) for c in UNIT_FIELDS}
        cols["valid_from"] = [draft.change_id] * n
        conn.insert("township_versions", cols, {"geom": units.geometry.to_numpy()})
        first_uid = int(conn.scalar("SELECT COALESCE(MAX(uid), 0) FROM facility_versions")) + 1
        cols = {"uid": list(range(first_uid, first_uid + m))}
        cols |= {c: column_to_db(facilities, c, m) for c in FACILITY_FIELDS}
        cols["valid_from"] = [draft.change_id] * m
        lon = pd.to_numeric(facilities["lon"], errors="coerce").to_numpy(float)
        lat = pd.to_numeric(facilities["lat"], errors="coerce").to_numpy(float)
        points = np.full(m, None, dtype=object)
        ok = np.isfinite(lon) & np.isfinite(lat)
        points[ok] = shapely.points(lon[ok], lat[ok])
        conn.insert("facility_versions", cols, {"geom": points})
        prepare_report = prepare_report or {}
        decided = prepare_report.get("point_system") or ("wgs84" if facility_system == "auto" else facility_system)
        info = {"unit_columns": column_spec(units, UNIT_FIELDS),
                "facility_columns": [c for c in column_spec(facilities, FACILITY_FIELDS) if c[0] not in ("lon", "lat")
                                     and c[1] != "geometry"],
                "facility_system": facility_system, "point_system": decided, "units": n, "facilities": m,
                "unit_report": unit_report or {}, "facility_report": facility_report or {},
                "prepare_report": prepare_report, "source_record": source_record or {}}
        self._replace(conn, draft, ds, current, {"name": DATASET, "info": dumps(info)}, label="数据集")
        uname = (unit_report or {}).get("filename") or "乡镇边界"
        fname = (facility_report or {}).get("filename") or "设施台账"
        draft.summary = f"导入乡镇边界 {uname}({n} 个乡镇)与设施台账 {fname}({m} 条设施)"
        if old_units or old_facilities:
            draft.summary += f", 替换原有 {old_units} 个乡镇、{old_facilities} 条设施"
        draft.counts |= {"townships": n, "facilities": m, "townships_replaced": old_units, "facilities_replaced": old_facilities}
        draft.rows = []  # one record per dataset, not per row: the rows are in the versioned tables
        draft.touched = 1

    @staticmethod
    def _check_frames(units, facilities):
        problems = []
        if not isinstance(units, gpd.GeoDataFrame):
            problems.append("乡镇边界应为 GeoDataFrame(geodata.io.read_units 的结果)")
        else:
            problems += [f"乡镇边界缺少字段 {c}" for c in ("code", "name") if c not in units.columns]
            if units.crs is None:
                problems.append("乡镇边界没有坐标系")
            elif not units.crs.equals("EPSG:4326"):
                units = units.to_crs(4326)
            if "code" in units.columns and units["code"].duplicated().any():
                problems.append("乡镇代码重复: " + ", ".join(units.loc[units["code"].duplicated(), "code"].astype(str)[:5]))
        problems += [f"设施台账缺少字段 {c}" for c in ("facility_id", "name", "class_raw", "lon", "lat")
                     if c not in facilities.columns]
        if problems:
            raise StoreInputError("无法保存数据:", problems)
        return units, facilities

    # ------------------------------------------------------------ reading

    def dataset_version(self) -> int:
        """The last change to the township layer or the ledger (an import, a facility edit or an
        undo of one); 0 when there never was data. Give it as `import_dataset(based_on=...)`."""
        with self._b.read() as conn:
            return self._data_version(conn, None)

    @staticmethod
    def _data_version(conn, at: int | None) -> int:
        bound = "" if at is None else " AND {col} <= :asof"
        parts = [f"SELECT MAX({col}) AS v FROM {t} WHERE {col} IS NOT NULL" + bound.format(col=col)
                 for t in ("dataset_versions", "township_versions", "facility_versions") for col in ("valid_from", "valid_to")]
        return int(conn.scalar(f"SELECT COALESCE(MAX(v), 0) FROM ({' UNION ALL '.join(parts)}) AS latest", {"asof": at}) or 0)

    def dataset(self, as_of=None, *, classes=None) -> Dataset | None:
        """The dataset now, or as of a moment or version (see `version_at`); None when there is none."""
        at = self._as_of(as_of)
        with self._b.read() as conn:
            info, _ = self._info(conn, at)
            if info is None:
                return None
            version = self._data_version(conn, at)
            units = self._units(conn, info, at)
            base, lonlat, keys = self._facility_rows(conn, info, at)
            mapping = self._mapping(conn, "class", at)
        base = self._rematch(base, classes or self.classes(), mapping)
        facilities = base.assign(lon=lonlat[0], lat=lonlat[1], uid=keys[0], version=keys[1])
        points = np.full(len(base), None, dtype=object)
        ok = np.isfinite(lonlat[0]) & np.isfinite(lonlat[1])
        points[ok] = shapely.points(lonlat[0][ok], lonlat[1][ok])
        return Dataset(units, gpd.GeoDataFrame(facilities, geometry=points, crs=SRID), info, version, at)

    def dataset_as_of(self, when, *, classes=None) -> Dataset | None:
        """The dataset as it was at `when` (datetime, date or ISO text; a date alone = the end of that
        day, 北京时间): evaluate it for "coverage as of 2025-06-30"."""
        return self.dataset(self.version_at(when), classes=classes)

    def units(self, as_of=None) -> gpd.GeoDataFrame | None:
        at = self._as_of(as_of)
        with self._b.read() as conn:
            info, _ = self._info(conn, at)
            return None if info is None else self._units(conn, info, at)

    def facilities(self, as_of=None, *, classes=None) -> gpd.GeoDataFrame | None:
        """The facility ledger (see `Dataset.facilities`) now or as of a moment or version."""
        found = self.dataset(as_of, classes=classes)
        return None if found is None else found.facilities

    def facilities_as_of(self, when, *, classes=None) -> gpd.GeoDataFrame | None:
        return self.facilities(self.version_at(when), classes=classes)

    def read_inputs(self, as_of=None, *, classes=None) -> StoreInputs:
        """The dataset as the file readers return it (same columns, dtypes and values), with their
        reports: what `coverage.__main__.compute` needs to give the same outputs as from the files."""
        from geodata.pointcrs import convert_points  # noqa: PLC0415

        at = self._as_of(as_of)
        with self._b.read() as conn:
            info, _ = self._info(conn, at)
            if info is None:
                raise StoreError(f"数据库 {self.location} 中还没有乡镇边界和设施台账" +
                                 ("(在所指时间之前)。" if at is not None else "。请先导入。"))
            units = self._units(conn, info, at)
            base, _, keys = self._facility_rows(conn, info, at)
            mapping = self._mapping(conn, "class", at)
            statuses = self._mapping(conn, "status", at)
        base = self._rematch(base, classes or self.classes(), mapping)
        system = info["facility_system"]
        facilities, _ = convert_points(base, "wgs84" if system == "auto" else system)
        report = dict(info["facility_report"])
        unknown = base.loc[base["facility_class"].isna() & base["class_match"].ne("mapped_none"), "class_raw"].replace("", "(空)")
        report["unknown_classes"] = {str(k): int(v) for k, v in unknown.value_counts().items()}
        contained = base[base["class_match"].eq("contains")]
        report["contained_classes"] = [{"label": str(lb), "class_id": str(cid), "count": int(n)} for (lb, cid), n
                                       in contained.groupby(["class_raw", "facility_class"]).size().items()]
        return StoreInputs(units, facilities, dict(info["unit_report"]), report, system, statuses, keys[0], keys[1])

    def prepared_dataset(self, as_of=None, *, classes=None):
        """(units, facilities ready for counting, unit_report, facility_report with its "prepare"
        entry): what the pages' loader gives for files (`read_inputs`, then
        `geodata.clean.prepare_facilities` with the saved system); facilities also carry `uid` and
        `version` for edits. Pass to `coverage.evaluate.evaluate_layers` as usual."""
        from geodata.clean import prepare_facilities  # noqa: PLC0415

        inputs = self.read_inputs(as_of, classes=classes)
        facilities, prepare = prepare_facilities(inputs.facilities, inputs.units, system=inputs.facility_system)
        facilities = facilities.assign(uid=inputs.uid, version=inputs.version)
        return inputs.units, facilities, inputs.unit_report, inputs.facility_report | {"prepare": prepare}

    def _info(self, conn, at: int | None) -> tuple[dict | None, int]:
        row = conn.one(f"SELECT info, valid_from FROM dataset_versions WHERE name = :n AND {self._valid(at)}",
                       {"n": DATASET, "asof": at})
        return (None, 0) if row is None else (json.loads(row[0]), int(row[1]))

    def _units(self, conn, info: dict, at: int | None) -> gpd.GeoDataFrame:
        rows = conn.rows(f"SELECT {', '.join(UNIT_FIELDS)}, {conn.geom_sql('geom')} FROM township_versions "
                         f"WHERE {self._valid(at)} ORDER BY fid", {"asof": at})
        data = {c: [r[i] for r in rows] for i, c in enumerate(UNIT_FIELDS)}
        frame = frame_from_columns(data, info["unit_columns"])
        geometry = conn.geoms([r[-1] for r in rows])
        name = next((c for c, d in info["unit_columns"] if d == "geometry"), "geometry")
        position = [c for c, _ in info["unit_columns"]].index(name) if name in [c for c, _ in info["unit_columns"]] else len(frame.columns)
        frame.insert(position, name, geometry)
        return gpd.GeoDataFrame(frame, geometry=name, crs=SRID)

    def _facility_rows(self, conn, info: dict, at: int | None):
        """(the reader's columns as saved, (lon, lat) arrays, (uid, version) lists), in ledger order."""
        rows = conn.rows(f"SELECT uid, valid_from, {', '.join(FACILITY_FIELDS)} FROM facility_versions "
                         f"WHERE {self._valid(at)} ORDER BY uid", {"asof": at})
        data = {c: [r[i + 2] for r in rows] for i, c in enumerate(FACILITY_FIELDS)}
        base = frame_from_columns(data, info["facility_columns"])
        lon = np.array([np.nan if v is None else v for v in data["lon"]], dtype=float)
        lat = np.array([np.nan if v is None else v for v in data["lat"]], dtype=float)
        return base, (lon, lat), ([int(r[0]) for r in rows], [int(r[1]) for r in rows])

    @staticmethod
    def _rematch(base: pd.DataFrame, classes, mapping: dict) -> pd.DataFrame:
        """Classes matched again from the type labels with the current class mapping, as the reader
        would (rows whose class was chosen by hand keep it)."""
        from geodata.io import _match_classes  # noqa: PLC0415 (the reader's own rule, not a copy of it)

        if "class_raw" not in base.columns or not len(base):
            return base
        cls, how = _match_classes(base["class_raw"], classes, mapping)
        keep = base["class_match"].eq(EDITED).to_numpy()
        if keep.any():
            cls = cls.astype(object).where(~keep, base["facility_class"])
            how = how.where(~keep, base["class_match"])
        return base.assign(facility_class=cls.astype(object), class_match=how)

    def _mapping(self, conn, kind: str, at: int | None) -> dict[str, str]:
        return dict(conn.rows(f"SELECT label, value FROM mapping_versions WHERE kind = :k AND {self._valid(at)} ORDER BY fid",
                              {"k": kind, "asof": at}))

    # ------------------------------------------------------------ facility edits

    def add_facility(self, fields: dict, user):
        """Add one facility (fields: name, class_raw and/or facility_class, lon/lat in WGS84, ...)."""
        return self.edit_facilities([{"op": "add", "fields": fields}], user)

    def update_facility(self, uid: int, version: int, fields: dict, user):
        """Change fields of one facility, made on `version` (its `version` column when read)."""
        return self.edit_facilities([{"op": "update", "uid": uid, "version": version, "fields": fields}], user)

    def move_facility(self, uid: int, version: int, lon: float, lat: float, user):
        """Move one facility to lon/lat (WGS84 degrees, e.g. a map click)."""
        return self.update_facility(uid, version, {"lon": lon, "lat": lat}, user)

    def remove_facility(self, uid: int, version: int, user):
        return self.edit_facilities([{"op": "remove", "uid": uid, "version": version}], user)

    def edit_facilities(self, edits, user):
        """Several facility edits in one change: dicts {"op": "add"|"update"|"remove", "uid", "version",
        "fields"}. All or nothing: one stale version (StoreConflict) or bad value (StoreInputError)
        and none is saved."""
        edits = list(edits)
        if not edits:
            return None
        ops = {e.get("op") for e in edits}
        if len(edits) > 1:
            kind = "facilities_edited"
        elif ops == {"add"}:
            kind = "facility_added"
        elif ops == {"remove"}:
            kind = "facility_removed"
        else:
            kind = "facility_moved" if set(edits[0].get("fields") or {}) <= {"lon", "lat"} else "facility_edited"
        return self._write(user, kind, lambda conn, draft: self._edit_in(conn, draft, edits))

    def _edit_in(self, conn, draft, edits) -> None:
        info, _ = self._info(conn, None)
        if info is None:
            raise StoreError("数据库中还没有设施台账, 请先导入数据。")
        classes = self.classes()
        mapping = self._mapping(conn, "class", None)
        t = table("facility_versions")
        ops = [e.get("op") for e in edits]
        bad = sorted({str(o) for o in ops if o not in ("add", "update", "remove")})
        if bad:
            raise StoreInputError(f"设施修改类型 {', '.join(bad)} 无效(add/update/remove)。")
        uids = [int(e.get("uid") or 0) for e, op in zip(edits, ops) if op != "add"]
        if len(set(uids)) < len(uids):
            raise StoreInputError("同一条设施在一次保存中被修改了两次, 请合并为一次修改。")
        current = self._current_facilities(conn, uids)
        next_uid = int(conn.scalar("SELECT COALESCE(MAX(uid), 0) FROM facility_versions")) + 1
        next_record = int(conn.scalar("SELECT COALESCE(MAX(record_no), 0) FROM facility_versions WHERE valid_to IS NULL")) + 1
        ids_in_use = None  # facility_id -> uid of current rows, read only when an id is added or changed
        counts = {"add": 0, "update": 0, "remove": 0}
        summaries, closing, writing = [], [], []
        for edit, op in zip(edits, ops):
            if op == "add":
                old = None
                row = {c: None for c in FACILITY_FIELDS} | {c: "" for c in (
                    "sheet", "class_match", "address", "operating_status", "stated_township", "stated_district", "class_raw")}
                row |= {c: 0 for c in FUNCTION_COLUMNS.values()}
                row |= {"uid": next_uid, "record_no": next_record, "facility_id": f"N{next_uid}"}
                next_uid, next_record = next_uid + 1, next_record + 1
            else:
                uid, version = int(edit.get("uid") or 0), int(edit.get("version") or -1)
                old = current.get(uid)
                if old is None or int(old["valid_from"]) != version:  # stale: say who changed it
                    known = conn.one("SELECT name, facility_id FROM facility_versions WHERE uid = :u ORDER BY fid DESC LIMIT 1",
                                     {"u": uid})
                    self._check_version(conn, t, {"uid": uid}, version, f"{known[0]}(编号 {known[1]})" if known else f"设施 uid={uid}")
                row = dict(old)
            fields = dict(edit.get("fields") or {})
            unknown = set(fields) - set(EDITABLE)
            if unknown:
                raise StoreInputError(f"这些设施字段不能修改: {', '.join(sorted(unknown))}。可改: {', '.join(EDITABLE)}")
            if op != "remove":
                self._apply_fields(conn, row, fields, info, classes, mapping)
                if old is None or row["facility_id"] != old["facility_id"]:
                    if ids_in_use is None:
                        ids_in_use = dict(conn.rows("SELECT facility_id, uid FROM facility_versions WHERE valid_to IS NULL"))
                    if ids_in_use.get(row["facility_id"], row["uid"]) != row["uid"]:
                        raise StoreInputError(f"编号 {row['facility_id']} 已被另一条设施使用, 请换一个编号。")
                    ids_in_use[row["facility_id"]] = row["uid"]
            shown = old if op == "remove" else row
            label = f"{shown['name']}(编号 {shown['facility_id']})"
            new = None if op == "remove" else {k: v for k, v in row.items() if k not in ("fid", "valid_from")}
            if op == "update" and all(_same(new.get(k), old.get(k)) for k in FACILITY_FIELDS):
                continue
            if old is not None:
                closing.append({"c": draft.change_id, "f": old["fid"]})
            if new is not None:
                writing.append(new)
            draft.record(t, str(shown["uid"]), label, old, new)
            counts[op] += 1
            summaries.append(_facility_summary(op, old, new, label))
        conn.many("UPDATE facility_versions SET valid_to = :c WHERE fid = :f", closing)
        if writing:
            cols = {c: [r.get(c) for r in writing] for c in ["uid", *FACILITY_FIELDS]}
            cols["valid_from"] = [draft.change_id] * len(writing)
            points = [shapely.Point(r["lon"], r["lat"]) if r.get("lon") is not None and r.get("lat") is not None else None
                      for r in writing]
            conn.insert("facility_versions", cols, {"geom": np.array(points, dtype=object)})
        if len(edits) == 1:
            draft.summary = summaries[0] if summaries else ""
        else:
            parts = [f"{w} {n_} 条" for w, n_ in (("新增", counts["add"]), ("修改", counts["update"]), ("删除", counts["remove"])) if n_]
            draft.summary = "设施" + "、".join(parts) + ": " + "; ".join(summaries[:5]) + ("……" if len(summaries) > 5 else "")
        draft.counts |= counts

    def _current_facilities(self, conn, uids: list[int]) -> dict[int, dict]:
        """uid -> current row (without geometry, with fid and valid_from), read in chunks."""
        cols = ["fid", "valid_from", "uid", *FACILITY_FIELDS]
        out = {}
        for i in range(0, len(uids), 500):
            params = {f"u{j}": u for j, u in enumerate(uids[i:i + 500])}
            rows = conn.rows(f"SELECT {', '.join(cols)} FROM facility_versions WHERE valid_to IS NULL AND uid IN "
                             f"({', '.join(':' + k for k in params)})", params)
            out |= {int(r[2]): dict(zip(cols, r)) for r in rows}
        return out

    def _apply_fields(self, conn, row: dict, fields: dict, info: dict, classes, mapping: dict) -> None:
        from geodata.io import _match_classes  # noqa: PLC0415

        problems = []
        for key in ("facility_id", "name", "class_raw", "address", "operating_status", "stated_township", "stated_district"):
            if key in fields:
                row[key] = "" if fields[key] is None else str(fields[key]).strip()
        if not row.get("name"):
            problems.append("名称不能为空")
        if not row.get("facility_id"):
            problems.append("编号不能为空")
        if "facility_class" in fields:
            cls = fields["facility_class"] or None
            if cls is not None and cls not in classes.names:
                problems.append(f"设施类别 {cls!r} 不在类别表中")
            row["facility_class"], row["class_match"] = cls, EDITED
        elif "class_raw" in fields:
            cls, how = _match_classes(pd.Series([row["class_raw"]], dtype="str"), classes, mapping)
            row["facility_class"], row["class_match"] = cls.iloc[0], str(how.iloc[0])
        if "lon" in fields or "lat" in fields:
            lon, lat = _number(fields.get("lon", row.get("lon"))), _number(fields.get("lat", row.get("lat")))
            if (lon is None) != (lat is None):
                problems.append("经度和纬度应同时填写或同时留空")
            elif lon is not None and not (CHINA_BBOX[0] <= lon <= CHINA_BBOX[2] and CHINA_BBOX[1] <= lat <= CHINA_BBOX[3]):
                problems.append(f"坐标 ({lon}, {lat}) 不在中国范围内(经度 73-136, 纬度 3-54, WGS84)")
            else:
                row["lon"], row["lat"] = lon, lat
                row["x_raw"], row["y_raw"] = raw_from_wgs84(lon, lat, info.get("point_system")) if lon is not None else (None, None)
        for key in ("beds", "nursing_beds"):
            if key in fields:
                value = _number(fields[key])
                if value is not None and value < 0:
                    problems.append(f"{FIELD_LABELS[key]}不能为负")
                row[key] = value
        if "built_year" in fields:
            year = _number(fields["built_year"])
            if year is not None and not (1949 <= year <= 2100 and float(year).is_integer()):
                problems.append(f"建成年份 {fields['built_year']!r} 应为 1949-2100 之间的年份")
            row["built_year"] = None if year is None else int(year)
        for col in FUNCTION_COLUMNS.values():
            if col in fields:
                row[col] = int(bool(fields[col]))
        if problems:
            raise StoreInputError("设施信息有误, 未保存:", problems)


def _number(value) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise StoreInputError(f"{value!r} 不是数字。") from None
    return None if math.isnan(f) else f


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        try:
            return float(a) == float(b)
        except (TypeError, ValueError):
            return False
    return a == b


def _facility_summary(op: str, old: dict | None, new: dict | None, label: str) -> str:
    if op == "add":
        return f"新增设施「{label}」, 类型 {new.get('class_raw') or new.get('facility_class') or '未填'}"
    if op == "remove":
        return f"删除设施「{label}」"
    moved = not (_same(old.get("lon"), new.get("lon")) and _same(old.get("lat"), new.get("lat")))
    parts = []
    for key in EDITABLE:
        if key in ("lon", "lat") or _same(old.get(key), new.get(key)):
            continue
        parts.append(f"{FIELD_LABELS[key]} {_show(old.get(key))} → {_show(new.get(key))}")
    if moved:
        if old.get("lon") is not None and new.get("lon") is not None:
            parts.insert(0, f"位置移动约 {_haversine_m(old['lon'], old['lat'], new['lon'], new['lat']):,.0f} 米")
        else:
            parts.insert(0, f"坐标 {_show(old.get('lon'))},{_show(old.get('lat'))} → {_show(new.get('lon'))},{_show(new.get('lat'))}")
    return f"修改设施「{label}」: " + "; ".join(parts)


def _show(value) -> str:
    if value is None or value == "":
        return "(空)"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


__all__ = ["Dataset", "DatasetMixin", "StoreInputs", "DERIVED", "EDITABLE"]
