"""The shared store (store/), on both back-ends: the GeoPackage file and PostgreSQL + PostGIS (a private
server started from Debian's binaries, see tests/pg_server.py; those tests skip with the reason when
the binaries are absent).

Round trip equal to the readers' frames; the CLI's compute from the store equal to compute from the
files; saves killed with SIGKILL at random moments leave the old or the new state; two concurrent
edits of one row: one wins, the other is refused naming the winner's change; history, undo, as-of
evaluation; roles (a viewer is refused by every mutating method and by the CLI); hashed passwords;
migration of a folder workspace.
"""
from __future__ import annotations

import itertools
import multiprocessing
import os
import signal
import sqlite3
import threading
import time
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

import store as store_api
from coverage.__main__ import load_inputs, main
from coverage.catalog import load_classes
from coverage.errors import (AuthenticationError, CatalogError, CoverageError, PermissionDenied, StoreConflict,
                             StoreError, StoreInputError)
from coverage.evaluate import evaluate_layers
from geodata.chinacoords import wgs84_to_gcj02
from geodata.clean import prepare_facilities
from store import open_store
from tests.pg_server import PgServer, schema_url

_SCHEMAS = itertools.count()
ORIGIN = (110.70, 32.55)   # inside 十堰 (plan 4203 is suggested by the codes)
SIDE = 0.04                # degrees per township square
PASSWORD = "s3cret-pass"


# ---------------------------------------------------------------- back-ends

@pytest.fixture(scope="session")
def pg():
    why = PgServer.unavailable()
    if why:
        pytest.skip(f"PostGIS back-end not tested here: {why}")
    server = PgServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch):
    """scrypt at a test cost (the stored format and the checks are the same)."""
    monkeypatch.setattr("store._passwords.SCRYPT_N", 2 ** 8)


@pytest.fixture(params=["gpkg", pytest.param("postgis", marks=pytest.mark.slow)])
def target(request, tmp_path) -> str:
    """Where a new, empty store lives: a .gpkg path or a postgresql:// URL (own schema). The PostGIS
    variants are marked slow (they start a server); .ci/run runs them."""
    if request.param == "gpkg":
        return str(tmp_path / "store.gpkg")
    return schema_url(request.getfixturevalue("pg"), f"t{next(_SCHEMAS)}")


# ---------------------------------------------------------------- small hand-made data

def township_layer(cols: int = 3, rows: int = 2) -> gpd.GeoDataFrame:
    """cols x rows squares of SIDE degrees from ORIGIN; districts 420302 (row 0) and 420303 (row 1)."""
    recs = []
    for r in range(rows):
        for c in range(cols):
            code = f"42030{2 + r}{(c + 1):03d}"
            x0, y0 = ORIGIN[0] + c * SIDE, ORIGIN[1] + r * SIDE
            recs.append({"code": code, "name": f"{'甲乙丙丁戊己'[c % 6]}{r}{'街道' if c == 0 else '镇'}",
                         "district_code": code[:6], "district_name": ["茅箭区", "张湾区"][r % 2],
                         "population": 10000 + 10 * c, "elderly_population": 2000 + c, "geometry": box(x0, y0, x0 + SIDE, y0 + SIDE)})
    return gpd.GeoDataFrame(recs, crs=4326)


LEDGER = [  # (编号, 名称, 类型, column, row, 状态, 床位数)
    ("F1", "甲街道综合养老服务中心", "区域养老服务中心", 0, 0, "运营", 50),
    ("F2", "乙镇社工站", "社工站", 1, 0, "运营", ""),
    ("F3", "丙镇日间照料中心", "社区日间照料中心", 2, 0, "在建", 10),
    ("F4", "甲1街道社工站", "社工站", 0, 1, "运营", ""),
    ("F5", "乙1镇敬老院", "敬老院", 1, 1, "运营", 80),
    ("F6", "丙1镇儿童之家", "儿童之家", 2, 1, "停业", ""),
    ("F7", "无坐标救助站", "救助站", None, None, "运营", ""),
]


def write_files(folder, *, extra: int = 0):
    """townships.geojson and a GCJ-02 ledger (ledger.csv) with `extra` more 社工站 rows."""
    folder.mkdir(parents=True, exist_ok=True)
    units_path, ledger_path = folder / "townships.geojson", folder / "ledger.csv"
    units_path.write_text(township_layer().to_json(ensure_ascii=False), encoding="utf-8")
    rows = list(LEDGER) + [(f"X{i}", f"补充社工站{i}", "社工站", i % 3, i % 2, "运营", "") for i in range(extra)]
    out = []
    for fid, name, kind, c, r, status, beds in rows:
        if c is None:
            lon = lat = ""
        else:
            lon, lat = wgs84_to_gcj02(ORIGIN[0] + (c + 0.3 + 0.01 * (hash(fid) % 20)) * SIDE, ORIGIN[1] + (r + 0.5) * SIDE)
            lon, lat = f"{float(lon):.6f}", f"{float(lat):.6f}"
        out.append({"编号": fid, "名称": name, "类型": kind, "经度": lon, "纬度": lat, "状态": status, "床位数": beds,
                    "地址": "湖北省十堰市" + name})
    pd.DataFrame(out).to_csv(ledger_path, index=False, encoding="utf-8")
    return units_path, ledger_path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return write_files(tmp_path_factory.mktemp("store-files"))


@pytest.fixture(scope="module")
def loaded(files):
    """The files read and prepared as the CLI does: (units, facilities, unit_report, fac_report, prep_report)."""
    return load_inputs(*files, load_classes(), facility_crs="gcj02")


def import_loaded(st, loaded, user="张三", **kw):
    units, facilities, ur, fr, pr = loaded
    return st.import_dataset(units, facilities, user, facility_system="gcj02", unit_report=ur, facility_report=fr,
                             prepare_report=pr, **kw)


# ---------------------------------------------------------------- round trip and the CLI

def test_round_trip_equals_the_readers_frames(target, files, loaded):
    st = open_store(target)
    change = import_loaded(st, loaded)
    assert change.kind == "dataset_imported" and st.current_version() == change.change_id
    units, facilities = loaded[0], loaded[1]
    ds = st.dataset()
    pd.testing.assert_frame_equal(ds.units, units)
    assert ds.units.crs == units.crs
    same = [c for c in facilities.columns if c not in ("address_unit", "duplicate_of", "geometry")]
    pd.testing.assert_frame_equal(ds.facilities[same], facilities[same])
    assert (ds.facilities["version"] == change.change_id).all() and ds.facilities["uid"].is_unique
    from geodata.io import read_facilities  # the ledger exactly as the reader gives it, before preparation

    as_read, _ = read_facilities(files[1], None, load_classes(), system="gcj02")
    inputs = st.read_inputs()
    pd.testing.assert_frame_equal(inputs.facilities, as_read)
    assert inputs.unit_report == loaded[2] and inputs.facility_system == "gcj02"
    if st.kind == "gpkg":
        import pyogrio  # GIS software opens the file: the current townships are a feature layer

        layer = pyogrio.read_dataframe(target, layer="townships")
        assert layer["code"].tolist() == units["code"].tolist() and layer.crs.to_epsg() == 4326
        assert layer.geometry.geom_equals(units.geometry.reset_index(drop=True)).all()
        with closing(sqlite3.connect(target)) as raw:
            assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert raw.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47


@pytest.mark.slow
def test_cli_compute_from_store_equals_compute_from_files(target, files, tmp_path, capsys):
    units, ledger = files
    base = ["--facility-crs", "gcj02"]
    assert main(["store", "import", "--store", target, "--units", str(units), "--facilities", str(ledger), "--user", "张三",
                 *base]) == 0
    assert main(["compute", "--units", str(units), "--facilities", str(ledger), "--out", str(tmp_path / "files"), *base]) == 0
    assert main(["compute", "--store", target, "--out", str(tmp_path / "store")]) == 0
    for name in ("assignments.csv", "coverage.csv", "uncovered.csv", "quality.json"):
        assert (tmp_path / "store" / name).read_bytes() == (tmp_path / "files" / name).read_bytes(), name
    capsys.readouterr()
    assert main(["store", "log", "--store", target]) == 0
    assert "导入数据" in capsys.readouterr().out


def test_cli_bad_store_exits_2_with_a_chinese_message(tmp_path, capsys):
    for store_arg in (str(tmp_path / "missing.gpkg"), "mysql://x/y", str(tmp_path / "plain.txt")):
        assert main(["compute", "--store", store_arg, "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err
        assert err.startswith("错误: ") and "Traceback" not in err
    assert main(["compute", "--out", str(tmp_path / "o")]) == 2  # neither files nor store
    assert "--store" in capsys.readouterr().err


# ---------------------------------------------------------------- concurrency

def test_concurrent_edits_of_one_row_one_wins_the_other_is_told(target, loaded):
    import_loaded(open_store(target), loaded)
    a, b = open_store(target), open_store(target)  # two sessions, two connections
    row = a.facilities().iloc[0]
    uid, version = int(row["uid"]), int(row["version"])
    barrier, results = threading.Barrier(2), {}

    def edit(who, st, beds):
        barrier.wait()
        try:
            results[who] = st.update_facility(uid, version, {"beds": beds}, who)
        except StoreConflict as err:
            results[who] = err

    threads = [threading.Thread(target=edit, args=("甲", a, 61)), threading.Thread(target=edit, args=("乙", b, 62))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    won = [w for w, r in results.items() if isinstance(r, store_api.Change)]
    lost = [w for w, r in results.items() if isinstance(r, StoreConflict)]
    assert len(won) == 1 and len(lost) == 1
    err, winner = results[lost[0]], results[won[0]]
    assert err.change.change_id == winner.change_id and err.change.user == won[0]
    assert won[0] in str(err) and "修改设施" in str(err)
    assert a.facilities().iloc[0]["beds"] == {"甲": 61, "乙": 62}[won[0]]  # the loser's value was not written
    # an edit on the fresh version goes through
    assert b.update_facility(uid, winner.change_id, {"beds": 70}, lost[0]).kind == "facility_edited"


def test_a_second_import_on_stale_data_is_refused(target, loaded):
    st = open_store(target)
    first = import_loaded(st, loaded)
    assert st.dataset().version == st.dataset_version() == first.change_id
    second = import_loaded(st, loaded, user="李四", based_on=first.change_id)
    with pytest.raises(StoreConflict, match="李四"):
        import_loaded(st, loaded, user="王五", based_on=first.change_id)
    row = st.facilities().iloc[0]
    edit = st.update_facility(int(row["uid"]), int(row["version"]), {"beds": 3}, "赵六")
    assert st.dataset_version() == edit.change_id != second.change_id
    with pytest.raises(StoreConflict, match="赵六"):  # a facility edited since: not silently replaced either
        import_loaded(st, loaded, user="王五", based_on=second.change_id)
    assert import_loaded(st, loaded, user="王五", based_on=edit.change_id).kind == "dataset_imported"


def test_targets_two_planners_rows_and_plans(target):
    st = open_store(target)
    builtin = store_api.builtin_targets().assign(version=0)
    plan = builtin[builtin["plan"] == builtin["plan"].iloc[0]].reset_index(drop=True)
    a, b = plan.copy(), plan.copy()
    a.loc[0, "target_value"] = "0.7"
    b.loc[1, "target_value"] = "0.9"
    assert st.edit_targets(a, "甲", based_on=plan).kind == "targets_edited"  # first save stores the catalogue too
    assert st.edit_targets(b, "乙", based_on=plan) is not None          # another row: both kept
    saved = st.targets().set_index("target_id")
    assert saved.loc[plan.loc[0, "target_id"], "target_value"] == "0.7"
    assert saved.loc[plan.loc[1, "target_id"], "target_value"] == "0.9"
    c = plan.copy()
    c.loc[0, "target_value"] = "0.5"  # the row 甲 changed, from stale data
    with pytest.raises(StoreConflict) as err:
        st.edit_targets(c, "丙", based_on=plan)
    assert err.value.change.user == "甲"
    assert st.edit_targets(plan, "丙", based_on=plan) is None  # nothing changed, nothing recorded
    # plans: two new plans in a row (the folder workspace failed the second with 指标编号重复)
    st.create_user("admin", PASSWORD, "管理")
    st.create_user("editor", PASSWORD, "编辑", by="admin")
    rows = plan.head(2).drop(columns="version").assign(target_id=["N1-01", "N1-02"])
    st.create_plan("某县养老服务体系建设规划", "admin", area_code="420302", targets=rows)
    st.create_plan("另一县规划", "admin", targets=rows.assign(target_id=["N2-01", "N2-02"]))
    assert st.plan_areas() == {"某县养老服务体系建设规划": "420302"}
    fresh = st.targets()
    new_plan_row = fresh.head(1).assign(target_id="N3-01", plan="编辑新建的规划").drop(columns="version")
    with pytest.raises(PermissionDenied, match="管理"):
        st.edit_targets(pd.concat([fresh, new_plan_row]), "editor", based_on=fresh)
    with pytest.raises(CatalogError, match="目标值"):
        bad = fresh.copy()
        bad.loc[0, "target_value"] = "abc"
        st.edit_targets(bad, "editor", based_on=fresh)


# ---------------------------------------------------------------- history, undo, as of

def test_history_and_undo(target, loaded):
    st = open_store(target)
    imported = import_loaded(st, loaded)
    fac = st.facilities().set_index("facility_id")
    f1, f2 = fac.loc["F1"], fac.loc["F2"]
    moved = st.move_facility(int(f1["uid"]), int(f1["version"]), float(f1["lon"]) + 0.002, float(f1["lat"]), "李四")
    assert moved.kind == "facility_moved" and "米" in moved.summary
    edited = st.update_facility(int(f2["uid"]), int(f2["version"]), {"operating_status": "停用", "beds": 5}, "王五")
    assert "状态 运营 → 停用" in edited.summary
    detail = st.change(edited.change_id).detail["rows"][0]
    assert detail["before"]["operating_status"] == "运营" and detail["after"]["operating_status"] == "停用"
    added = st.add_facility({"name": "新建社工站", "class_raw": "社工站", "lon": ORIGIN[0] + 0.05, "lat": ORIGIN[1] + 0.01}, "王五")
    assert [c.change_id for c in st.log(10)] == [added.change_id, edited.change_id, moved.change_id, imported.change_id]
    assert [c.change_id for c in st.changed_since(moved.change_id)] == [edited.change_id, added.change_id]
    # a GCJ-02 ledger: the moved point's own coordinates follow in GCJ-02
    row = st.facilities().set_index("facility_id").loc["F1"]
    gx, gy = wgs84_to_gcj02(row["lon"], row["lat"])
    assert abs(row["x_raw"] - float(gx)) < 1e-9 and abs(row["y_raw"] - float(gy)) < 1e-9
    # undo the status edit: the row is back as it was, recorded as a new change
    undo = st.undo(edited.change_id, "张三")
    assert undo.kind == "undo" and undo.undo_of == edited.change_id and "撤销变更" in undo.summary
    back = st.facilities().set_index("facility_id").loc["F2"]
    assert back["operating_status"] == "运营" and back["version"] == undo.change_id
    with pytest.raises(StoreConflict, match="已被撤销"):
        st.undo(edited.change_id, "张三")
    # the import cannot be undone under later edits of its rows; the move is undone first
    with pytest.raises(StoreConflict, match="之后又有修改"):
        st.undo(imported.change_id, "张三")
    st.undo(moved.change_id, "张三")
    assert st.facilities().set_index("facility_id").loc["F1", "lon"] == f1["lon"]
    redo = st.undo(undo.change_id, "张三")  # undoing the undo redoes the edit
    assert st.facilities().set_index("facility_id").loc["F2", "operating_status"] == "停用"
    assert st.change(undo.change_id).undone_by == redo.change_id
    new_row = st.facilities().set_index("name").loc["新建社工站"]
    assert new_row["facility_id"] == f"N{new_row['uid']}" and new_row["version"] == added.change_id
    st.remove_facility(int(new_row["uid"]), int(new_row["version"]), "王五")
    assert "新建社工站" not in set(st.facilities()["name"])


def test_stale_edit_of_a_removed_facility_names_the_removal(target, loaded):
    st = open_store(target)
    import_loaded(st, loaded)
    row = st.facilities().iloc[2]
    st.remove_facility(int(row["uid"]), int(row["version"]), "李四")
    with pytest.raises(StoreConflict, match="已被删除") as err:
        st.update_facility(int(row["uid"]), int(row["version"]), {"beds": 1}, "王五")
    assert err.value.change.kind == "facility_removed"
    with pytest.raises(StoreInputError, match="不在中国范围"):
        st.add_facility({"name": "x", "class_raw": "社工站", "lon": 10, "lat": 10}, "王五")
    with pytest.raises(StoreInputError, match="编号"):
        st.add_facility({"facility_id": "F1", "name": "重号", "class_raw": "社工站"}, "王五")


@pytest.mark.slow
def test_evaluation_as_of_a_date(target, loaded):
    now = [datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)]
    st = open_store(target, clock=lambda: now[0])
    import_loaded(st, loaded)
    now[0] = datetime(2025, 7, 10, 2, 0, tzinfo=timezone.utc)
    fac = st.facilities().set_index("facility_id")
    st.edit_facilities([{"op": "remove", "uid": int(fac.loc[f, "uid"]), "version": int(fac.loc[f, "version"])}
                        for f in ("F2", "F4")], "李四")  # both 社工站 closed in July
    classes = load_classes()
    targets = pd.DataFrame([{"target_id": "T-1", "plan": "测试", "indicator": "乡镇(街道)社工站覆盖率",
                             "facility_class": "social_work_station", "measure": "coverage", "unit_level": "乡镇(街道)",
                             "target_value": "1", "target_year": "2025", "binding": "约束性", "source_seed": "",
                             "source_ref": "", "source_quote": "", "note": ""}])
    from coverage.catalog import validate_targets

    targets = validate_targets(targets, classes)

    def covered(units, facilities):
        prepared, _ = prepare_facilities(facilities, units, system="gcj02")  # x_raw/y_raw: the ledger's own
        _, result = evaluate_layers(units, prepared, targets, classes)
        return int(result.coverage.loc[result.coverage["district_code"] == "ALL", "units_covered"].iloc[0])

    assert covered(loaded[0], loaded[1]) == 2                       # the files as imported
    then = st.dataset_as_of("2025-06-30")                            # end of that day, 北京时间
    assert covered(then.units, then.facilities) == 2
    assert then.facilities["facility_id"].tolist() == loaded[1]["facility_id"].tolist()
    current = st.dataset()
    assert covered(current.units, current.facilities) == 0 and current.info["facility_system"] == "gcj02"
    units, prepared, _, report = st.prepared_dataset("2025-06-30")
    _, result = evaluate_layers(units, prepared, targets, classes)
    assert int(result.coverage.loc[result.coverage["district_code"] == "ALL", "units_covered"].iloc[0]) == 2
    assert report["prepare"]["point_system"] == "gcj02" and {"uid", "version"} <= set(prepared.columns)
    assert st.facilities_as_of("2025-06-30")["facility_id"].tolist() == then.facilities["facility_id"].tolist()
    assert st.version_at("2025-01-01") == 0 and st.dataset_as_of("2025-01-01") is None
    with pytest.raises(StoreInputError):
        st.version_at("去年")


# ---------------------------------------------------------------- accounts and roles

READ_ONLY = {"authenticate", "change", "prepared_dataset", "changed_since", "class_mapping", "classes", "close", "current_version", "dataset",
             "dataset_as_of", "dataset_version", "facilities", "facilities_as_of", "has_targets", "has_users", "kind",
             "location", "log", "plan_areas", "plans", "population_file", "read_inputs", "scenario_versions", "scenarios",
             "settings", "status_mapping", "targets", "units", "users", "version_at", "writes"}


def mutators(st, loaded, fac, folder):
    """Every mutating method of the Store, called as `who` would call it."""
    targets = store_api.builtin_targets().assign(version=0)
    edited = targets.copy()
    edited.loc[0, "target_value"] = "0.8"
    sites = pd.DataFrame([{"site_id": "S1", "name": "新点", "facility_class": "social_work_station", "lon": ORIGIN[0] + 0.01,
                           "lat": ORIGIN[1] + 0.01, "unit_code": "420302001", "status": "规划"}])
    uid, version = int(fac["uid"]), int(fac["version"])
    return {
        "import_dataset": lambda who: import_loaded(st, loaded, user=who),
        "add_facility": lambda who: st.add_facility({"name": "x", "class_raw": "社工站"}, who),
        "update_facility": lambda who: st.update_facility(uid, version, {"beds": 1}, who),
        "move_facility": lambda who: st.move_facility(uid, version, ORIGIN[0] + 0.01, ORIGIN[1] + 0.01, who),
        "remove_facility": lambda who: st.remove_facility(uid, version, who),
        "edit_facilities": lambda who: st.edit_facilities([{"op": "update", "uid": uid, "version": version,
                                                            "fields": {"beds": 2}}], who),
        "edit_targets": lambda who: st.edit_targets(edited, who, based_on=targets),
        "create_plan": lambda who: st.create_plan("新规划", who),
        "edit_plan": lambda who: st.edit_plan("已有规划", 1, who, area_code="4203"),
        "remove_plan": lambda who: st.remove_plan("已有规划", None, who),
        "save_scenario": lambda who: st.save_scenario("方案一", sites, who),
        "save_scenarios": lambda who: st.save_scenarios({"方案二": sites}, who),
        "remove_scenario": lambda who: st.remove_scenario("方案一", 1, who),
        "save_class_mapping": lambda who: st.save_class_mapping({"街道为老服务站": "day_care"}, who),
        "save_status_mapping": lambda who: st.save_status_mapping({"试运营": "运营"}, who),
        "save_settings": lambda who: st.save_settings(who, plans_chosen={"workspace": "x"}),
        "save_population_file": lambda who: st.save_population_file("population", b"code,pop\n", "p.csv", who),
        "remove_population_file": lambda who: st.remove_population_file("population", who),
        "undo": lambda who: st.undo(1, who),
        "create_user": lambda who: st.create_user("newcomer", PASSWORD, "编辑", by=who),
        "set_role": lambda who: st.set_role("editor", "管理", who),
        "set_password": lambda who: st.set_password("admin", "another-pass", who),
        "remove_user": lambda who: st.remove_user("editor", who),
        "migrate_folder_workspace": lambda who: store_api.migrate_folder_workspace(folder, st, who),
    }


def test_a_viewer_is_refused_by_every_mutating_method(target, loaded, tmp_path):
    st = open_store(target)
    import_loaded(st, loaded)
    st.create_user("admin", PASSWORD, "管理")
    st.create_user("editor", PASSWORD, "编辑", by="admin")
    st.create_user("viewer", PASSWORD, "查看", by="admin")
    viewer = st.authenticate("viewer", PASSWORD)
    from geodata import workspace

    workspace.save_class_mapping({"街道为老服务站": "day_care"}, tmp_path / "ws")
    calls = mutators(st, loaded, st.facilities().iloc[0], tmp_path / "ws")
    public = {n for n in dir(st) if not n.startswith("_")}
    assert public - READ_ONLY - set(calls) == set(), "a new public method: list it as read-only or test it as a mutator"
    before = st.current_version()
    for name, call in calls.items():
        with pytest.raises(PermissionDenied) as err:
            call(viewer)
        assert "查看" in str(err.value) or "他人密码" in str(err.value), name
        with pytest.raises(PermissionDenied):
            call("somebody-unknown")  # a crafted request from no account
    assert st.current_version() == before
    editor = st.authenticate("editor", PASSWORD)
    for name in ("create_plan", "edit_plan", "remove_plan", "create_user", "set_role", "remove_user", "migrate_folder_workspace"):
        with pytest.raises(PermissionDenied, match="管理"):
            calls[name](editor)
    assert st.current_version() == before
    assert calls["save_status_mapping"](editor).kind == "mapping_saved"


def test_cli_refuses_a_viewer(target, files, capsys):
    st = open_store(target)
    st.create_user("admin", PASSWORD, "管理")
    st.create_user("viewer", PASSWORD, "查看", by="admin")
    argv = ["store", "import", "--store", target, "--units", str(files[0]), "--facilities", str(files[1])]
    assert main([*argv, "--user", "viewer", "--password", PASSWORD]) == 2
    assert "查看" in capsys.readouterr().err
    assert main([*argv, "--user", "admin"]) == 2                      # no password given
    assert "MZ_STORE_PASSWORD" in capsys.readouterr().err
    assert main([*argv, "--user", "admin", "--password", "wrong-password"]) == 2
    assert "密码不正确" in capsys.readouterr().err
    assert st.dataset() is None
    os.environ["MZ_STORE_PASSWORD"] = PASSWORD
    try:
        assert main([*argv, "--user", "admin"]) == 0
    finally:
        del os.environ["MZ_STORE_PASSWORD"]
    assert st.log(1)[0].user == "admin"


def test_passwords_are_stored_hashed(target):
    st = open_store(target)
    assert not st.has_users()
    with pytest.raises(StoreInputError, match="管理"):
        st.create_user("first", PASSWORD, "编辑")  # the first account administers the others
    st.create_user("管理员", PASSWORD, "admin")
    assert st.has_users() and st.users()[0].role == "管理"
    with pytest.raises(StoreInputError, match="8"):
        st.create_user("short", "abc", "查看", by="管理员")
    with pytest.raises(AuthenticationError):
        st.authenticate("管理员", "wrong-password")
    with pytest.raises(AuthenticationError):
        st.authenticate("nobody", PASSWORD)
    assert st.authenticate("管理员", PASSWORD).role == "管理"
    with st._b.read() as conn:
        (stored,) = conn.one("SELECT password_hash FROM users")
        details = " ".join(r[0] or "" for r in conn.rows("SELECT detail FROM changes"))
    assert stored.startswith("scrypt$") and PASSWORD not in stored and PASSWORD not in details
    if st.kind == "gpkg":
        st.close()
        with closing(sqlite3.connect(target)) as raw:
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        raw_bytes = Path(target).read_bytes()
        assert PASSWORD.encode() not in raw_bytes and stored.encode() in raw_bytes
    with pytest.raises(StoreInputError, match="唯一"):
        open_store(target).set_role("管理员", "查看", "管理员")


# ---------------------------------------------------------------- migration and the rest of the workspace

@pytest.mark.slow
def test_migrate_folder_workspace(target, files, tmp_path):
    from geodata import workspace
    from geodata.io import read_facilities, read_units

    root = tmp_path / "workspace"
    classes = load_classes()
    units, _ = read_units(files[0])
    facilities, _ = read_facilities(files[1], None, classes, system="gcj02")
    facilities, _ = prepare_facilities(facilities, units, system="gcj02")
    workspace.save_dataset(units, facilities, root, source_record={"units": {"filename": "原始边界.shp"}})
    targets = store_api.builtin_targets()
    targets.loc[0, "target_value"] = "0.75"
    workspace.save_targets(targets, root)
    workspace.save_plan_area(targets.loc[0, "plan"], "4203", root)
    workspace.save_class_mapping({"街道为老服务站": "day_care"}, root)
    workspace.save_status_mapping({"试运营": "运营"}, root)
    sites = pd.DataFrame([{"site_id": "S1", "name": "新点", "facility_class": "social_work_station", "lon": 110.7,
                           "lat": 32.56, "unit_code": "420302001", "status": "规划"}])
    workspace.save_scenarios({"方案一": sites}, root)
    workspace.save_population_file("population", "乡镇代码,老年人口\n420302001,100\n".encode(), "人口.csv", root)
    st = open_store(target)
    change = store_api.migrate_folder_workspace(root, st, "张三")
    assert change.kind == "workspace_migrated" and st.log() == [st.change(change.change_id)]
    ds = st.dataset()
    assert ds.facilities["facility_id"].tolist() == facilities["facility_id"].tolist()
    assert np.allclose(ds.facilities["lon"].astype(float), facilities["lon"].astype(float), equal_nan=True)
    assert ds.info["source_record"] == {"units": {"filename": "原始边界.shp"}}
    assert st.targets().iloc[0]["target_value"] == "0.75" and len(st.targets()) == len(targets)
    assert st.class_mapping() == {"街道为老服务站": "day_care"} and st.status_mapping() == {"试运营": "运营"}
    pd.testing.assert_frame_equal(st.scenarios()["方案一"], workspace.load_scenarios(root)["方案一"])
    raw, record = st.population_file("population")
    assert raw.startswith("乡镇代码".encode()) and record["filename"] == "人口.csv"
    assert st.plan_areas() == {targets.loc[0, "plan"]: "4203"}
    with pytest.raises(StoreError, match="已有"):
        store_api.migrate_folder_workspace(root, st, "张三")
    undone = st.undo(change.change_id, "张三")  # one change, so one undo takes it all back
    assert undone and st.dataset() is None and st.targets().empty and st.scenarios() == {}


def test_scenarios_versions(target):
    st = open_store(target)
    sites = pd.DataFrame([{"site_id": "S1", "name": "新点", "facility_class": "day_care", "lon": 110.7, "lat": 32.56,
                           "unit_code": None, "status": "规划"}])
    first = st.save_scenario("方案一", sites, "甲")
    with pytest.raises(StoreConflict, match="先行新建"):
        st.save_scenario("方案一", sites, "乙")  # 乙 thought it was new
    st.save_scenario("方案一", sites.assign(name="改名"), "甲", version=first.change_id)
    with pytest.raises(StoreConflict, match="已被修改"):
        st.save_scenario("方案一", sites, "乙", version=first.change_id)
    assert st.scenarios()["方案一"]["name"].tolist() == ["改名"]
    assert st.scenarios(as_of=first.change_id)["方案一"]["name"].tolist() == ["新点"]


def test_open_store_refuses_what_is_not_a_store(tmp_path):
    for path, words in ((tmp_path / "x.txt", "gpkg"), (tmp_path / "none.gpkg", "不存在")):
        with pytest.raises(StoreError, match=words):
            open_store(path, create=False)
    other = tmp_path / "other.gpkg"
    township_layer().to_file(other, driver="GPKG", layer="units")
    with pytest.raises(StoreError, match="不是本系统"):
        open_store(other)
    assert isinstance(StoreError("x"), CoverageError)


# ---------------------------------------------------------------- kill -9 during saves

KILL_TRIALS = 32


def _synthetic(n_units: int, per_unit: int, seed: int):
    """A bigger dataset for the kill trials: (units, facilities) frames as the readers and
    preparation give them (codes and ids differ by seed)."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n_units)))
    units = gpd.GeoDataFrame({
        "code": [f"4203{seed:02d}{i:06d}" for i in range(n_units)],
        "name": [f"第{i}镇" for i in range(n_units)], "district_code": [f"4203{seed:02d}"] * n_units,
        "district_name": ["某区"] * n_units, "kind": ["镇"] * n_units},
        geometry=[box(100 + (i % side) * 0.01, 30 + (i // side) * 0.01, 100.01 + (i % side) * 0.01, 30.01 + (i // side) * 0.01)
                  for i in range(n_units)], crs=4326)
    m = n_units * per_unit
    lon = 100 + rng.uniform(0, side * 0.01, m)
    lat = 30 + rng.uniform(0, side * 0.01, m)
    facilities = pd.DataFrame({
        "facility_id": [f"S{seed}-{i}" for i in range(m)], "record_no": np.arange(1, m + 1), "name": [f"设施{i}" for i in range(m)],
        "class_raw": "社工站", "facility_class": "social_work_station", "class_match": "exact", "x_raw": lon, "y_raw": lat,
        "address": "", "operating_status": "运营", "stated_township": "", "stated_district": "",
        "beds": rng.integers(0, 100, m).astype(float), "built_year": pd.array([2020] * m, dtype="Int64"),
        "full_time_care": False, "day_care_service": False, "home_service": False, "lon": lon, "lat": lat})
    return units, facilities


def _signature(target) -> dict:
    st = open_store(target, create=False)
    try:
        ds = st.dataset()
        with st._b.read() as conn:
            last = conn.one("SELECT change_id, kind FROM changes ORDER BY change_id DESC LIMIT 1")
        if st.kind == "gpkg":
            with closing(sqlite3.connect(target)) as raw:
                assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        fac = ds.facilities
        return {"version": ds.version, "codes": tuple(ds.units["code"]), "ids": tuple(fac["facility_id"]),
                "row_versions": tuple(sorted(set(fac["version"]))), "beds": float(fac["beds"].sum()),
                "last": (int(last[0]), last[1])}
    finally:
        st.close()


def _child(target, job, writing):
    """In the forked child: open the store, tell the parent when the write transaction begins, save."""
    from contextlib import contextmanager

    st = open_store(target)
    begin = st._b.write

    @contextmanager
    def write():
        with begin() as conn:
            writing.set()
            yield conn
    st._b.write = write
    job(st)
    os._exit(0)


def _run_child(ctx, target, job, delay: float | None) -> tuple[bool, float]:
    """Run `job(store)` in a forked child; SIGKILL it `delay` s after its write transaction began
    (None: let it finish). Returns (killed while running, seconds from the write's start to the end)."""
    writing = ctx.Event()
    child = ctx.Process(target=_child, args=(target, job, writing))
    child.start()
    assert writing.wait(120)
    start = time.perf_counter()
    if delay is None:
        child.join(300)
        assert child.exitcode == 0
        return False, time.perf_counter() - start
    time.sleep(delay)
    try:
        os.kill(child.pid, signal.SIGKILL)
    except ProcessLookupError:  # it had finished and been reaped
        pass
    child.join(30)
    return child.exitcode == -signal.SIGKILL, time.perf_counter() - start


@pytest.mark.slow
def test_saves_killed_at_random_moments_leave_the_old_or_the_new_state(target, capsys):
    """>= 30 trials: a child process saves (a whole dataset import, or a batch edit of every
    facility) and is killed with SIGKILL at a random moment from the start of its write transaction
    to a little after its usual end; the store is then exactly at the state before or exactly at
    the state after that save, never between."""
    ctx = multiprocessing.get_context("fork")
    datasets = [_synthetic(1500, 8, 1), _synthetic(1800, 7, 2)]
    st = open_store(target)
    st.import_dataset(*datasets[0], "准备", facility_system="wgs84")
    st.close()

    def import_other(before):
        units, facilities = datasets[1] if before["codes"] == tuple(datasets[0][0]["code"]) else datasets[0]

        def job(s):
            s.import_dataset(units, facilities, "导入", facility_system="wgs84")
        return job, tuple(facilities["facility_id"]), float(facilities["beds"].sum()), "dataset_imported"

    def edit_all(before):
        def job(s):
            fac = s.facilities()
            s.edit_facilities([{"op": "update", "uid": int(u), "version": int(v), "fields": {"beds": float(b) + 1}}
                               for u, v, b in zip(fac["uid"], fac["version"], fac["beds"])], "批量")
        return job, before["ids"], before["beds"] + len(before["ids"]), "facilities_edited"

    kinds = {"dataset_imported": import_other, "facilities_edited": edit_all}
    durations = {}
    for name, make in kinds.items():  # calibration: how long each save takes when left alone
        durations[name] = _run_child(ctx, target, make(_signature(target))[0], None)[1]
    rng = np.random.default_rng(12)
    outcome = {"old": 0, "new": 0, "killed_while_writing": 0}
    for trial in range(KILL_TRIALS):
        before = _signature(target)
        job, new_ids, new_beds, kind = (edit_all if trial % 3 == 2 else import_other)(before)
        # a random moment in the write (and a little after its usual end); every 8th trial waits
        # long enough for the save to commit, so a completed save is checked on each run too
        delay = durations[kind] * rng.uniform(0, 1.25) if trial % 8 != 7 else 3 * durations[kind] + 2
        alive, _ = _run_child(ctx, target, job, delay)
        outcome["killed_while_writing"] += alive
        after = _signature(target)
        if after == before:
            outcome["old"] += 1
            continue
        outcome["new"] += 1
        assert after["last"][1] == kind, (trial, after["last"])
        assert after["ids"] == new_ids and abs(after["beds"] - new_beds) < 1e-6, trial
        assert after["row_versions"] == (after["last"][0],), trial  # every current row written by that one change
        if kind == "dataset_imported":
            assert after["version"] == after["last"][0] and len(after["codes"]) in (1500, 1800)
    backend = open_store(target).kind
    with capsys.disabled():
        print(f"\n[kill -9, {backend}] {KILL_TRIALS} trials: {outcome}; save alone: "
              + ", ".join(f"{k} {v:.2f} s" for k, v in durations.items()))
    assert outcome["old"] + outcome["new"] == KILL_TRIALS
    assert outcome["new"] and outcome["killed_while_writing"] >= KILL_TRIALS // 4  # kills inside the write, and commits
