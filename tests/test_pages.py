"""Every page runs under AppTest, on the demo and on uploaded (saved workspace) data."""
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from coverage.catalog import load_classes
from geodata import workspace
from geodata.io import read_facilities, read_units
from tests.conftest import ROOT

APP = str(ROOT / "app.py")
PAGES = ["pages/overview.py", "pages/coverage_map.py", "pages/indicators.py", "pages/uncovered.py", "pages/data.py",
         "pages/quality.py", "pages/targets.py", "pages/report.py", "pages/facilities.py", "pages/history.py", "pages/accounts.py"]


def run_page(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page(page).run()
    return at


@pytest.fixture(autouse=True)
def navigation_as_on_a_running_server(monkeypatch):
    """AppTest resets Streamlit's "pages/ folder means v1 multipage app" flag before every run, so
    each run would start as a fresh server's first visit (a page script run alone, then the
    rerun through app.py by `_shared._run_through_entrypoint`, which drops button clicks). Start
    every run as a server does once app.py has run: through app.py's `st.navigation`. The first
    visit itself is covered by the browser test `test_deep_link_on_fresh_server_goes_through_app`."""
    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)


@pytest.fixture
def empty_workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("MZ_WORKSPACE", str(tmp_path / "ws"))
    return tmp_path / "ws"


@pytest.mark.parametrize("page", PAGES)
def test_page_on_demo(page, empty_workspace):
    at = run_page(page)
    assert not at.exception, at.exception
    assert any("演示数据" in i.value for i in at.info)


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_page_on_uploaded_qingdao(page, empty_workspace, qingdao_path):
    units, _ = read_units(qingdao_path)
    ledger = ("编号,名称,类型,经度,纬度\nQ1,香港路街道养老服务中心,养老服务中心,120.38,36.07\n"
              "Q2,某社工站,社工站,120.45,36.15\nQ3,黄岛区救助站,救助站,120.03,35.90\n").encode()
    facilities, _ = read_facilities(ledger, "f.csv", load_classes())
    workspace.save_dataset(units, facilities, units_file="qingdao.geojson", facilities_file="f.csv")
    at = run_page(page)
    assert not at.exception, at.exception
    assert not any("演示数据" in i.value for i in at.info)


def cards(at: AppTest) -> list[str]:
    """The 总览 cards' HTML blocks."""
    return [h.proto.body for h in at.get("html") if 'class="mz-card"' in h.proto.body]


def card_metrics(at: AppTest) -> list[tuple[str, str]]:
    """(label, figure) of each 总览 card."""
    import re

    found = [(re.search(r'mz-metric-label"[^>]*>(.*?)</div>', c), re.search(r'mz-metric-value"[^>]*>(.*?)</div>', c))
             for c in cards(at)]
    return [(label.group(1), value.group(1)) for label, value in found]


def test_overview_shows_plan_cards(empty_workspace):
    at = run_page("pages/overview.py")
    labels = [label for label, _ in card_metrics(at)]
    assert labels.count("覆盖率") >= 10
    values = [value for label, value in card_metrics(at) if label == "覆盖率"]
    assert "47.1%" in values  # 十堰 综合功能养老服务机构 on the demo: 56 / 119
    assert len(cards(at)) == len([b for b in at.button if b.label == "查看详情"])  # each card leads to its details


@pytest.mark.slow
def test_switching_plan_changes_cards(empty_workspace):
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.sidebar.selectbox[0].select("通用(无本地规划时)").run()
    assert not at.exception
    assert len([label for label, _ in card_metrics(at) if label == "覆盖率"]) == 5


@pytest.mark.slow
def test_saving_edited_targets_persists(empty_workspace):
    at = run_page("pages/targets.py")
    assert not at.exception
    next(b for b in at.button if b.label == "保存指标").click().run()  # save the plan unchanged
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    from store import open_store

    assert open_store(empty_workspace / "store.gpkg").has_targets()  # the first save keeps the table in the store


@pytest.mark.slow
def test_upload_with_unusual_headers_mapped_in_form_then_saved(empty_workspace, tmp_path):
    """Data page: a ledger whose headers are not recognised gets an error and a field-mapping form;
    after mapping, it reads, saves as the workspace, and every page runs on it."""
    import pandas as pd

    from geodata.demo import load_demo

    units_path, fac_path = load_demo()
    ledger = pd.read_csv(fac_path, dtype=str).rename(columns={"名称": "机构名", "类型": "服务类型"})
    raw = ("设施台账\n" + ledger.to_csv(index=False)).encode("gbk")
    at = run_page("pages/data.py")
    at.file_uploader[1].set_value(("台账.csv", raw, "text/csv")).run()
    assert not at.exception
    assert any("找不到必需的列" in e.value for e in at.error)
    name_box = next(s for s in at.selectbox if s.label == "名称 *")
    assert "服务类型" in name_box.options  # the real header row offered, not the title row
    name_box.set_value("机构名")
    next(s for s in at.selectbox if s.label == "类型 *").set_value("服务类型")
    next(b for b in at.button if b.label == "应用字段对应").click().run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    assert any("设施表读取成功: 1178 条记录" in s.value for s in at.success)
    next(b for b in at.button if b.label == "保存为工作区并使用").click().run()
    assert not at.exception
    from store import open_store

    assert open_store(empty_workspace / "store.gpkg").dataset_version() > 0  # saved in the department's store
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, page


@pytest.mark.slow
def test_report_page_builds_the_pack(empty_workspace):
    at = run_page("pages/report.py")
    assert not at.exception
    at.multiselect[0].set_value(["SY-01", "SY-06"])
    at.multiselect[2].set_value(["xlsx", "docx"])
    next(b for b in at.button if b.label == "生成会议材料").click().run()
    assert not at.exception
    labels = [b.label for b in at.get("download_button")]
    assert any(".docx" in l for l in labels) and any(".xlsx" in l for l in labels)


def _demo_ledger_without(classes_dropped: tuple[str, ...] = (), gcj02: bool = False) -> bytes:
    """The demo ledger as an .xlsx (optionally in GCJ-02, optionally without some 类型 values)."""
    import io

    import pandas as pd

    from geodata.chinacoords import wgs84_to_gcj02
    from geodata.demo import load_demo

    ledger = pd.read_csv(load_demo()[1], dtype=str)
    ledger = ledger[~ledger["类型"].isin(classes_dropped)]
    if gcj02:
        lon, lat = pd.to_numeric(ledger["经度"]), pd.to_numeric(ledger["纬度"])
        glon, glat = wgs84_to_gcj02(lon.to_numpy(), lat.to_numpy())
        ledger["经度"], ledger["纬度"] = glon.round(6), glat.round(6)
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        ledger.to_excel(writer, sheet_name="养老机构", index=False)
    return buf.getvalue()


@pytest.mark.slow
def test_saved_xlsx_in_gcj02_keeps_its_source_on_record(empty_workspace):
    """After 保存, the quality page, the data page and the pack's source still name the .xlsx and
    GCJ-02 (the saved copy is a WGS84 CSV: saying so would tell a meeting the 高德 offset was ignored)."""
    at = run_page("pages/data.py")
    at.file_uploader[1].set_value(("民政设施台账.xlsx", _demo_ledger_without(gcj02=True), "application/vnd.ms-excel")).run()
    assert not at.exception
    assert any("GCJ" in s.value for s in at.success), [s.value for s in at.success]
    next(b for b in at.button if b.label == "保存为工作区并使用").click().run()
    assert not at.exception
    at.switch_page("pages/quality.py").run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown) + " ".join(c.value for c in at.caption)
    assert "民政设施台账" in text and "xlsx" in text and "GCJ" in text, text[:500]
    assert "facilities.csv" not in text
    at.switch_page("pages/data.py").run()
    assert any("民政设施台账" in m.value and "GCJ" in m.value for m in at.markdown)


@pytest.mark.slow
def test_ledger_lacking_a_class_says_no_data_instead_of_a_gap(empty_workspace):
    at = run_page("pages/data.py")
    raw = _demo_ledger_without(("未成年人保护工作站", "未保工作站", "未成年人保护站"))
    at.file_uploader[1].set_value(("养老殡葬台账.xlsx", raw, "application/vnd.ms-excel")).run()
    next(b for b in at.button if b.label == "保存为工作区并使用").click().run()
    at.switch_page("pages/overview.py").run()
    assert not at.exception
    assert any("台账中没有" in w.value and "未成年人保护工作站" in w.value for w in at.warning), [w.value for w in at.warning]
    assert "台账中无此类设施, 请确认" in " ".join(cards(at))


@pytest.mark.slow
def test_chosen_plan_is_remembered_for_the_next_session(empty_workspace):
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert at.sidebar.selectbox[0].value == "十堰市民政事业发展十四五规划"  # suggested from the demo's 4203 codes
    at.sidebar.selectbox[0].select("通用(无本地规划时)").run()
    assert not at.exception
    fresh = AppTest.from_file(APP, default_timeout=60)
    fresh.run()
    assert fresh.sidebar.selectbox[0].value == "通用(无本地规划时)"


@pytest.mark.slow
def test_table_headers_are_chinese(empty_workspace):
    """st.dataframe draws on a canvas the browser test cannot read: check every table's headers here."""
    import re

    allowed = {"GCJ", "WGS", "Excel"}
    for page in PAGES:
        at = run_page(page)
        for frame in at.dataframe:
            value = frame.value
            names = [str(c) for c in value.columns] + [str(n) for n in (value.index.names or []) if n]
            english = [n for n in names if any(w not in allowed for w in re.findall(r"[A-Za-z]{3,}", n))]
            assert not english, (page, english)


@pytest.mark.slow
def test_filters_survive_a_page_change(empty_workspace):
    at = run_page("pages/uncovered.py")
    districts = at.multiselect[1].options
    at.multiselect[1].set_value([districts[2]]).run()
    at.switch_page("pages/overview.py").run()
    at.switch_page("pages/uncovered.py").run()
    assert not at.exception
    assert at.multiselect[1].value == [districts[2]]
    at.switch_page("pages/indicators.py").run()
    options = at.selectbox[0].options
    at.selectbox[0].select(options[3]).run()
    at.switch_page("pages/data.py").run()
    at.switch_page("pages/indicators.py").run()
    assert at.selectbox[0].value == options[3]


@pytest.mark.slow
def test_first_screen_names_the_districts_that_miss_each_target(empty_workspace):
    from coverage.evaluate import AREA_CODE
    from coverage.summary import district_gaps, district_sentence

    at = run_page("pages/overview.py")
    text = " ".join(cards(at))
    _, res = _compute_demo()
    gaps = district_gaps(res.coverage, "SY-01")
    assert len(gaps) >= 3
    for _, r in gaps.head(4).iterrows():
        assert district_sentence(r) in text, district_sentence(r)
    assert "郧阳区还需" in text
    # the card leads to its details
    next(b for b in at.button if b.key == "details_SY-05").click().run()
    assert not at.exception
    sy05 = res.coverage[(res.coverage["target_id"] == "SY-05") & (res.coverage["district_code"] == AREA_CODE)].iloc[0]
    assert at.selectbox[0].value == sy05["indicator"]


def _compute_demo():
    import pandas as pd

    from coverage.catalog import load_classes, load_targets
    from coverage.evaluate import evaluate_layers
    from geodata.clean import prepare_facilities
    from geodata.demo import load_demo

    classes = load_classes()
    u, f = load_demo()
    units, _ = read_units(u)
    fac, _ = read_facilities(f, None, classes, system="auto")
    fac, _ = prepare_facilities(fac, units, system="auto")
    targets = load_targets()
    return evaluate_layers(units, fac, targets[targets["plan"] == "十堰市民政事业发展十四五规划"], classes)


@pytest.mark.slow
def test_banner_when_planned_or_building_facilities_count(empty_workspace):
    at = run_page("pages/overview.py")
    assert not any("不是现状" in w.value for w in at.warning)
    at.sidebar.multiselect[0].set_value(["运营", "规划"]).run()
    assert not at.exception
    assert any("规划" in w.value and "不是现状" in w.value for w in at.warning)


@pytest.mark.slow
def test_indicators_page_shows_a_capacity_target_in_beds():
    """指标 on a bed target of the demo plan: the district table in 张 with the 全市 row first, no exception."""
    at = run_page("pages/indicators.py")
    box = next(b for b in at.selectbox if b.label == "指标")
    options = [o for o in box.options if "每千名老年人" in o]
    assert options, box.options
    box.select(options[0]).run()
    assert not at.exception
    frames = [d.value for d in at.dataframe]
    beds = next(f for f in frames if "每千名老年人床位(张)" in f.columns)
    assert beds["区县"].iloc[0] == "全市" and beds["目标"].iloc[0] == "50"
    assert any("床位数 ÷ 老年人口" in c.value for c in at.caption)


@pytest.mark.slow
def test_saved_population_table_feeds_the_bed_figures(empty_workspace):
    """A 乡镇人口表 saved in the workspace (as 数据 saves it) is joined by code on every read: 总览's
    每千名老年人 card uses its 60+ total, and 数据 names the table; a table that no longer fits
    (two rows for one township) is reported there, with the layer's own figures kept."""
    from geodata.demo import load_demo

    units, _ = read_units(load_demo()[0])
    codes = units["code"].astype(str).tolist()
    table = "乡镇人口统计表(2024)\n乡镇代码,乡镇名称,总人口,60岁及以上人口\n" + "".join(
        f"{c}{'000' if len(c) == 9 else ''},x,10000,2000\n" for c in codes)
    from store import open_store

    department = open_store(empty_workspace / "store.gpkg")  # the store the app opens for this workspace
    department.save_population_file("population", table.encode("gbk"), "人口.csv", "测试", field_map={})
    at = run_page("pages/overview.py")
    assert not at.exception
    assert any(f"老年人口 {2000 * len(codes):,} 人" in c for c in cards(at)), "the table's total"
    at = run_page("pages/data.py")
    assert not at.exception
    assert any("正在使用乡镇人口表" in m.value and f"{len(codes)} / {len(codes)}" in m.value for m in at.markdown)
    bad = table + f"{codes[0]},重复,1,1\n"
    department.save_population_file("population", bad.encode("gbk"), "人口.csv", "测试", field_map={})
    at = run_page("pages/data.py")
    assert not at.exception
    assert any("人口表「人口.csv」无法使用" in e.value.replace("\\", "") for e in at.error)
    department.remove_population_file("population", "测试")
    assert department.population_file("population") is None
    earlier = department.version_at("2100-01-01") - 1  # the store keeps the table as it was before the removal
    assert department.population_file("population", as_of=earlier) is not None


@pytest.mark.slow
def test_indicators_per_city_when_the_data_spans_several(empty_workspace):
    """Townships of two cities: 指标 offers 市(州) and 区县, shows one row per city with the
    city's name, and the Excel has a sheet per level."""
    from geodata.demo import load_demo

    units, _ = read_units(load_demo()[0])
    # most districts recoded into 襄阳 (4206): no city's plan holds half the townships, so 通用 applies to all
    moved = ["420304", "420322", "420323", "420324", "420325"]
    other = units[units["district_code"].isin(moved)].copy()
    other["district_code"] = "4206" + other["district_code"].str[4:]
    other["code"] = other["district_code"] + other["code"].str[6:]
    both = pd.concat([units[~units["district_code"].isin(moved)], other], ignore_index=True)
    ledger = ("编号,名称,类型,经度,纬度\nQ1,某社工站,社工站,110.79,32.65\n").encode()
    facilities, _ = read_facilities(ledger, "f.csv", load_classes())
    workspace.save_dataset(both, facilities, units_file="two.geojson", facilities_file="f.csv")
    at = run_page("pages/indicators.py")
    assert not at.exception
    level = next(r for r in at.radio if r.label == "统计层级")
    assert level.value == "市"
    names = set(next(d.value for d in at.dataframe if "市(州)" in d.value.columns)["市(州)"])
    assert {"十堰市", "襄阳市"} <= names
    level.set_value("县").run()
    assert not at.exception
    assert any("区县" in d.value.columns for d in at.dataframe)
    at = run_page("pages/overview.py")  # the cards speak of cities, the whole area is 全省
    assert not at.exception
    html = " ".join(str(h.proto) for h in at.get("html"))
    assert "达标市(州)" in html
    assert any("全省已覆盖" in c for c in cards(at))


def test_server_config_is_hardened():
    """No traceback reaches a user, the toolbar is the viewer's, and the upload cap is the readers' cap."""
    import tomllib

    from geodata.io import MAX_FILE_BYTES

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["showErrorDetails"] == "none"
    assert config["client"]["toolbarMode"] == "viewer"
    assert config["server"]["maxUploadSize"] * 2**20 == MAX_FILE_BYTES


def _fingerprint(value) -> str:
    """A digest of a cached value's content: frames by their cells (geometry as WKB), index, columns
    and dtypes; dicts and lists by their JSON; CoverageResult by its tables."""
    import dataclasses
    import hashlib
    import json

    import geopandas as gpd

    h = hashlib.sha256()
    if isinstance(value, pd.DataFrame):
        plain = pd.DataFrame(value.drop(columns=value.geometry.name)) if isinstance(value, gpd.GeoDataFrame) else value
        h.update(repr((list(value.columns), [str(t) for t in value.dtypes], list(value.index))).encode())
        h.update(pd.util.hash_pandas_object(plain.astype(str), index=True).to_numpy().tobytes())
        if isinstance(value, gpd.GeoDataFrame):
            h.update(b"".join(b"-" if g is None else g for g in value.geometry.to_wkb()))
    elif dataclasses.is_dataclass(value):
        for field in dataclasses.fields(value):
            h.update(_fingerprint(getattr(value, field.name)).encode())
    elif isinstance(value, (tuple, list)) and any(isinstance(v, pd.DataFrame) or dataclasses.is_dataclass(v) for v in value):
        for v in value:
            h.update(_fingerprint(v).encode())
    else:
        h.update(json.dumps(value, ensure_ascii=False, sort_keys=True, default=str).encode())
    return h.hexdigest()


@pytest.mark.slow
def test_pages_leave_the_shared_dataset_unchanged(empty_workspace):
    """The loaded dataset and its evaluation are held once (st.cache_resource) and shared by every
    session, not copied: every page, run in one session with its usual first interactions, leaves
    them exactly as they were, and a later run gets the same objects back."""
    from coverage.catalog import load_classes, load_targets
    from geodata.demo import load_demo
    from pages import _shared
    from pages._shared import file_key

    at = run_page("pages/overview.py")
    plan = at.sidebar.selectbox[0].value
    u, f = load_demo()
    key = (file_key(u), file_key(f), "auto", (), ())
    dataset = _shared._read_dataset(*key)
    everything = load_targets(_shared.TARGETS_CSV, load_classes(_shared.CLASSES_CSV))
    frame = everything[everything["plan"] == plan]
    computed = _shared._compute(key, _shared.targets_key(frame), frame, _shared.config())
    before = [_fingerprint(v) for v in (*dataset, *computed)]
    for page in [*PAGES, "pages/scenarios.py"]:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        if page == "pages/uncovered.py" or page == "pages/indicators.py":
            for box in at.selectbox[:2]:
                if len(box.options) > 1:
                    box.select(box.options[-1]).run()
                    assert not at.exception, (page, at.exception)
    again = _shared._read_dataset(*key)
    assert all(a is b for a, b in zip(again, dataset)), "the dataset was read again instead of shared"
    assert _shared._compute(key, _shared.targets_key(frame), frame, _shared.config())[1] is computed[1]
    assert [_fingerprint(v) for v in (*dataset, *computed)] == before


@pytest.mark.slow
def test_every_page_runs_for_every_plan(empty_workspace):
    """A plan may have no coverage target (玛纳斯县: one count target) or no count target: every
    page still runs, and says what it cannot show instead of failing."""
    from coverage.catalog import load_targets, plans

    at = run_page("pages/overview.py")
    for plan in plans(load_targets()):
        at.sidebar.selectbox[0].select(plan).run()
        for page in [*PAGES, "pages/scenarios.py"]:
            at.switch_page(page).run()
            assert not at.exception, (plan, page, at.exception)


def test_targets_key_follows_the_target_table_content():
    from pages._shared import targets_key

    table = pd.read_csv(ROOT / "data/plan_targets.csv", dtype=str, keep_default_na=False)
    key = targets_key(table)
    assert targets_key(table.copy()) == key
    edited = table.copy()
    edited.iloc[0, edited.columns.get_loc("target_value")] = "0.99"
    assert targets_key(edited) != key
    assert targets_key(table.rename(columns={"plan": "规划"})) != key
    assert targets_key(table.iloc[1:]) != key


def magic_expressions(source: str) -> list[str]:
    """Statements Streamlit's "magic" would write to the page: bare expressions other than calls,
    yields, awaits and docstrings (streamlit.runtime.scriptrunner.magic)."""
    import ast

    out = []
    for node in ast.walk(ast.parse(source)):
        for field in ("body", "orelse", "finalbody", "handlers"):
            body = getattr(node, field, None)
            for i, stmt in enumerate(body if isinstance(body, list) else []):
                if not isinstance(stmt, ast.Expr) or isinstance(stmt.value, (ast.Call, ast.Yield, ast.YieldFrom, ast.Await)):
                    continue
                docstring = i == 0 and isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                    and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)
                if not docstring:
                    out.append(f"{stmt.lineno}: {ast.unparse(stmt)[:60]}")
    return out


def test_no_page_relies_on_magic():
    """.streamlit/config.toml turns magic off (runner.magicEnabled): a bare expression in a page
    would silently show nothing."""
    import tomllib

    assert tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["runner"]["magicEnabled"] is False
    assert magic_expressions('"""doc"""\nimport streamlit as st\nx = 1\nx\nif x:\n    "shown"\nst.write(x)\n') == \
        ["4: x", "6: 'shown'"]
    for path in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]:
        assert magic_expressions(path.read_text(encoding="utf-8")) == [], path.name


def test_store_reads_are_kept_for_one_run_and_dropped_after_a_write(empty_workspace, monkeypatch):
    """`_shared.run_reads`: within a run the target table is read once; a write through the store
    (here: a saved class mapping) makes the next read fresh; outside a run nothing is kept."""
    from pages import _shared

    reads = []
    real = _shared._targets_now
    monkeypatch.setattr(_shared, "_targets_now", lambda: reads.append(1) or real())
    with _shared.run_reads():
        first = _shared.targets()
        assert _shared.targets() is first and _shared.plan_targets("通用(无本地规划时)") is \
            _shared.plan_targets("通用(无本地规划时)")
        assert len(reads) == 1
        before = _shared._dataset_key()
        _shared.ws().save_class_mapping({"某某养老院": "day_care"})   # a write in the same run
        assert _shared._dataset_key() != before and ("某某养老院", "day_care") in _shared._dataset_key()[3]
        _shared.targets()
        assert len(reads) == 2
    _shared.targets()
    _shared.targets()
    assert len(reads) == 4
    assert _shared._RUN.memo is None and _shared._RUN.store is None
