"""Cached loaders and small helpers shared by the pages (the only Streamlit glue besides pages)."""
from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
from pathlib import Path

import pandas as pd
import streamlit as st

from coverage.catalog import (
    CLASSES_CSV, TARGETS_CSV, ClassCatalog, StatusVocabulary, load_classes, load_statuses, load_targets, plans, validate_targets,
)
from coverage.config import CoverageConfig
from coverage.plans import PlanSuggestion, load_plan_areas, suggest_plan
from coverage.errors import CoverageError
from coverage.evaluate import CoverageResult, evaluate_layers
from coverage.hierarchy import plan_area_code, result_for_area
from geodata import workspace
from geodata.demo import load_demo
from geodata.clean import prepare_facilities
from geodata.topology import topology_problems
from geodata.io import apply_class_mapping, read_facilities, read_units
from geodata.population import join_population, read_demand_points

COLUMN_LABELS = {
    "district_code": "区县代码", "district_name": "区县", "target_id": "指标编号", "indicator": "指标",
    "class_name": "设施类别", "level": "统计单元", "units_total": "单元总数(分母)", "units_covered": "已覆盖(分子)",
    "rate": "覆盖率", "target_rate": "目标", "units_needed": "差距(还需)", "met": "是否达标", "binding": "属性",
    "target_year": "目标年份", "unit_code": "乡镇代码", "unit_name": "乡镇(街道)", "unit_kind": "类型",
    "facility_id": "编号", "name": "名称", "class_raw": "原始类型", "lon": "经度", "lat": "纬度",
    "operating_status": "状态", "status": "归属情况", "address": "地址", "facilities_in_ledger": "台账中该类设施数",
    "target_value": "目标值", "value": "数值", "value_unit": "数值单位", "beds": "床位数", "nursing_beds": "护理型床位数",
    "elderly_population": "老年人口(60岁以上)", "no_data_reason": "无法计算的原因", "data_note": "数据说明",
}


_MARKDOWN_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character
# GFM turns bare URLs and e-mail addresses into links even when escaped: a zero-width space before
# "//", after "www" and before "@" keeps them text (what the planner sees is unchanged).
_AUTOLINK = re.compile(r"://|www\.|@", re.IGNORECASE)


def esc(value: object) -> str:
    """User text (file names, column headers, class labels, plan and indicator names, township
    names) made inert for the Markdown Streamlit renders in st.markdown, captions, alerts and widget
    labels: every ASCII punctuation character is backslash-escaped (CommonMark), so no image, link,
    HTML, LaTeX ($), emoji or colour directive (:red[...]) can form; line breaks become spaces."""
    text = "" if value is None else str(value)
    text = _AUTOLINK.sub(lambda m: m.group(0)[:-1] + "\u200b" + m.group(0)[-1], " ".join(text.splitlines()))
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def file_key(path: Path) -> tuple[str, float, int]:
    stat = path.stat()
    return str(path), stat.st_mtime, stat.st_size


_RUN = threading.local()  # the memo of the script run on this thread (Streamlit runs a session's script on its own thread)


@contextlib.contextmanager
def run_reads():
    """Within one run of the app (app.py wraps the run in it): the store handle, what is read from
    the store and the values derived from it (targets, the dataset key, the data source, ...) are
    computed once and shared by the sidebar and the page, instead of a few dozen times per run.

    A write through the store in this process (any session) empties the memo, so a run that saves
    and then reads sees what it saved. Values from the memo are shared: read-only. Outside a run
    (widget callbacks, download threads) nothing is kept."""
    _RUN.memo, _RUN.store = {}, None
    try:
        yield
    finally:
        _RUN.memo, _RUN.store = None, None


def _per_run(key, compute):
    """`compute()` once per run and store state (see `run_reads`)."""
    memo = getattr(_RUN, "memo", None)
    if memo is None:
        return compute()
    writes = getattr(store(), "writes", 0)
    if memo.get("__writes__") != writes:
        memo.clear()
        memo["__writes__"] = writes
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def store():
    """The department's store (`store.open_store`: env MZ_STORE_URL, else <workspace>/store.gpkg),
    opened once per location and shared by every session. A folder workspace left by an earlier
    version is moved into a new, empty store once (one change in the history)."""
    import os  # noqa: PLC0415

    from store import default_store_path  # noqa: PLC0415

    if getattr(_RUN, "store", None) is not None:
        return _RUN.store
    handle = _store(os.environ.get("MZ_STORE_URL") or str(default_store_path()))
    if getattr(_RUN, "memo", None) is not None:
        _RUN.store = handle
    return handle


@st.cache_resource(show_spinner="正在打开数据库…")
def _store(target: str):
    from store import migrate_folder_workspace, open_store  # noqa: PLC0415

    handle = open_store(target)
    folder = workspace.workspace_dir()
    if handle.current_version() == 0 and not handle.has_users() and folder.is_dir():  # moves whatever the folder holds
        try:
            migrate_folder_workspace(folder, handle, "系统迁移")
        except CoverageError:
            pass  # the folder stays as it is; the store starts empty
    return handle


def user_name() -> str:
    """Who acts in this session: the signed-in account, or 本机 while the store has no accounts."""
    return str(st.session_state.get("user_name") or "本机")


def user_role() -> str:
    """查看, 编辑 or 管理 (管理 while the store has no accounts: the first-run set-up)."""
    return str(st.session_state.get("user_role") or "管理")


def can_edit() -> bool:
    return user_role() in ("编辑", "管理")


def ws():
    """This session's workspace on the store (`store.workspace.StoreWorkspace`)."""
    from store.workspace import StoreWorkspace  # noqa: PLC0415

    return StoreWorkspace(store(), user_name())


def refused(err: CoverageError) -> None:
    """A save the store refused, in Chinese: a conflict names the other planner's change."""
    from coverage.errors import PermissionDenied, StoreConflict  # noqa: PLC0415

    if isinstance(err, StoreConflict):
        st.error("保存失败: 数据已被他人修改, 您的修改未保存。" + esc(err) + " 请用本页的「重新载入」按钮载入最新数据后再修改。")
    elif isinstance(err, PermissionDenied):
        st.error("没有权限: " + esc(err))
    else:
        st.error("保存失败: " + esc(err))


@st.cache_resource
def class_catalog() -> ClassCatalog:
    return load_classes(CLASSES_CSV)


@st.cache_resource
def status_vocabulary() -> StatusVocabulary:
    return load_statuses()


@st.cache_resource(show_spinner="正在读取数据…", max_entries=4)
def _read_dataset(units_key: tuple, facilities_key: tuple, system: str = "auto", mapping: tuple = (), population: tuple = ()):
    """(units, facilities ready for counting, unit report, facility report incl. preparation).

    Held once per dataset and shared by every session and run, not copied (a national layer of
    40,000 townships costs a second per copy): callers read it and never change it in place
    (derive new frames; `tests/test_pages.py::test_pages_leave_the_shared_dataset_unchanged`).

    `population` (see `_population_key`): a saved 乡镇人口表 joined by township code
    (`geodata.population.join_population`); its report is the unit report's "population" entry,
    and a table that no longer fits the layer leaves the layer's own figures with "population_error"."""
    classes = class_catalog()
    if units_key[0] == "store":  # the department's data: ("store", location, dataset version)
        units, facilities, unit_report, fac_report = store().prepared_dataset(classes=classes)
        facilities = apply_class_mapping(facilities, classes, dict(mapping))
        unit_report = dict(unit_report)
        units, unit_report = _with_population(units, unit_report, population)
        return units, facilities, unit_report, fac_report
    units, unit_report = read_units(Path(units_key[0]))
    unit_report = unit_report.as_dict()
    units, unit_report = _with_population(units, unit_report, population)
    facilities, fac_report = read_facilities(Path(facilities_key[0]), None, classes, system=system, class_mapping=dict(mapping))
    facilities, prep = prepare_facilities(facilities, units, system=system)
    return units, facilities, unit_report, fac_report.as_dict() | {"prepare": prep}


def _with_population(units, unit_report: dict, population: tuple):
    """The saved 乡镇人口表 joined to the layer (see `_read_dataset`)."""
    if population:
        _, filename, sheet, fields = population
        raw = ws().population_file("population")
        try:
            if raw is None:
                raise CoverageError("人口表已被移除")
            units, pop_report = join_population(units, raw[0], filename, sheet=sheet or None, field_map=dict(fields))
            unit_report["population"] = pop_report.as_dict()
        except CoverageError as err:
            unit_report["population_error"] = f"人口表「{filename}」无法使用: {err}"
    return units, unit_report


def _population_key() -> tuple:
    """The saved 乡镇人口表 as a cache key: (file key, original name, sheet, field choices), or ()."""
    found = ws().population_file("population")
    if found is None:
        return ()
    raw, record = found
    return (hashlib.sha256(raw).hexdigest(), str(record.get("filename", "人口表")), str(record.get("sheet") or ""),
            tuple(sorted((record.get("field_map") or {}).items())))


def _dataset_key() -> tuple:
    """Arguments of `_read_dataset` for the active data (saved workspace data is stored in WGS84)."""
    return _per_run("dataset_key", _dataset_key_now)


def _dataset_key_now() -> tuple:
    mapping = tuple(sorted(ws().class_mapping().items()))
    if not is_demo():
        return (("store", store().location), ("store", store().dataset_version()), "wgs84", mapping, _population_key())
    u, f = load_demo()
    return (file_key(u), file_key(f), "auto", mapping, _population_key())


@st.cache_data(show_spinner="正在读取村(社区)人口点…", max_entries=2)
def _demand_points(digest: str, _raw: bytes, filename: str, system: str, fields: tuple):  # noqa: ARG001 (digest keys it)
    return read_demand_points(_raw, filename, system=system, field_map=dict(fields))


def demand_points():
    """(points GeoDataFrame, report dict) of the saved village/community points, or (None, None);
    a saved file that cannot be read any more gives (None, {"error": message})."""
    found = ws().population_file("demand_points")
    if found is None:
        return None, None
    raw, record = found
    name = str(record.get("filename", "人口点"))
    try:
        points, report = _demand_points(hashlib.sha256(raw).hexdigest(), raw, name, str(record.get("system") or "wgs84"),
                                        tuple(sorted((record.get("field_map") or {}).items())))
    except CoverageError as err:
        return None, {"error": f"村(社区)人口点「{name}」无法使用: {err}"}
    return points, report.as_dict()


def active_source() -> dict:
    """The data in use and where it came from (`StoreWorkspace.state`), once per run: read-only."""
    return _per_run("active_source", lambda: ws().state())


def is_demo() -> bool:
    return active_source()["source"] == "demo"


def _run_through_entrypoint() -> None:
    """Make a deep link (e.g. /data) on a freshly started server go through app.py.

    Streamlit treats a `pages/` folder beside the entry script as an old-style (v1) multipage app
    until app.py has called `st.navigation` once. A first visitor who opens /data directly would
    then get that page alone: no plan selector, English page names. Clearing the flag and rerunning
    runs app.py, whose `st.navigation` then opens the requested page.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # internal module moved: the fallback is only the cosmetic issue above
        return
    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        st.rerun()


UI_ZH_CSV = Path(__file__).resolve().parents[1] / "data" / "ui_zh.csv"


@st.cache_data
def _ui_translations() -> list[dict]:
    table = pd.read_csv(UI_ZH_CSV, dtype=str, keep_default_na=False)
    return table[["kind", "english", "chinese"]].to_dict("records")


def install_ui_translation() -> None:
    """Streamlit's own interface texts (uploader, placeholders, toolbars, "Page not found" ...) in
    Chinese: a small script in the page replaces them as they appear, from `data/ui_zh.csv`
    (exact texts and regular expressions; text nodes and the title/placeholder/aria-label
    attributes). Streamlit has no locale setting; this is the one place those strings are decided."""
    import json  # noqa: PLC0415

    entries = json.dumps(_ui_translations(), ensure_ascii=False)
    st.html(f"""<script>
(() => {{
  if (window.__mzUiZh) return; window.__mzUiZh = true;
  const entries = {entries};
  const exact = new Map(entries.filter(e => e.kind === "exact").map(e => [e.english, e.chinese]));
  const rules = entries.filter(e => e.kind === "regex").map(e => [new RegExp(e.english), e.chinese]);
  const tr = (s) => {{
    const t = s.trim(); if (!t) return null;
    if (exact.has(t)) return s.replace(t, exact.get(t));
    for (const [re, zh] of rules) if (re.test(t)) return s.replace(t, t.replace(re, zh));
    return null;
  }};
  const ATTRS = ["title", "placeholder", "aria-label"];
  const fix = (root) => {{
    const tw = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    let n; while ((n = tw.nextNode())) {{ const v = tr(n.nodeValue); if (v !== null) n.nodeValue = v; }}
    const els = root.querySelectorAll ? root.querySelectorAll("[title],[placeholder],[aria-label]") : [];
    for (const el of [root, ...els]) {{
      if (!el.getAttribute) continue;
      for (const a of ATTRS) {{ const old = el.getAttribute(a); if (old) {{ const v = tr(old); if (v !== null) el.setAttribute(a, v); }} }}
    }}
  }};
  const doc = window.parent && window.parent.document ? window.parent.document : document;
  fix(doc.body);
  new MutationObserver((muts) => {{
    for (const m of muts) {{
      if (m.type === "characterData") {{ const v = tr(m.target.nodeValue); if (v !== null) m.target.nodeValue = v; }}
      else if (m.type === "attributes") fix(m.target);
      else for (const node of m.addedNodes) {{ if (node.nodeType === 3) {{ const v = tr(node.nodeValue); if (v !== null) node.nodeValue = v; }} else fix(node); }}
    }}
  }}).observe(doc.body, {{subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ATTRS}});
}})();
</script>""", unsafe_allow_javascript=True)


def remembered(key: str, default, options: list | None = None) -> dict:
    """Keyword arguments (key, on_change) for a widget whose value survives page changes.

    Streamlit forgets a widget's state when a run does not draw it (another page was open). The
    value is mirrored under "_keep_<key>" on every change and put back before the widget is drawn
    again; values no longer among `options` (another plan, other data) fall back to `default`.
    Create the widget without its own default/index/value: the session state provides it.
    """
    store = f"_keep_{key}"

    def valid(value):
        if options is None:
            return value
        if isinstance(value, list):
            return [v for v in value if v in options]
        return value if value in options else default

    if key not in st.session_state:
        st.session_state[key] = valid(st.session_state.get(store, default))
    else:
        st.session_state[key] = valid(st.session_state[key])
    st.session_state[store] = st.session_state[key]
    return {"key": key, "on_change": lambda: st.session_state.__setitem__(store, st.session_state[key])}


def page_header(title: str) -> None:
    """Page title, preceded on demo data by the notice that shapes and facilities are illustrative."""
    _run_through_entrypoint()
    if is_demo():
        st.info("当前为内置演示数据(十堰市): 县界与乡镇名称、代码真实, 乡镇边界形状与全部设施均为示意生成, 不代表实际情况。"
                "在「数据」页上传本地数据后即可替换。", icon="ℹ️")
    future = [s for s in config().counted_statuses if s in ("在建", "规划")]
    if future:
        st.warning(f"当前统计包含「{'、'.join(future)}」的设施: 数字是这些项目建成后的情形, 不是现状。"
                   "在左侧栏「计入覆盖的设施状态」中只保留「运营」即为现状。", icon="⚠️")
    st.title(title)


def dataset():
    """(units, facilities, unit_report, facility_report) of the active data (workspace or demo).

    A saved workspace that cannot be read any more falls back to the demo with a message; the
    saved files are left untouched.
    """
    key = _dataset_key()
    try:
        units, facilities, unit_report, fac_report = _read_dataset(*key)
    except CoverageError as err:
        st.error(f"已保存的工作区数据无法读取, 暂时显示演示数据(已保存的文件未改动): {esc(err)}")
        u, f = load_demo()
        return _read_dataset(file_key(u), file_key(f), "auto", key[3], key[4])
    if not is_demo():
        unit_report, fac_report = with_provenance(unit_report, fac_report, active_source().get("source_record") or {})
    return units, facilities, unit_report, fac_report


def with_provenance(unit_report: dict, fac_report: dict, record: dict) -> tuple[dict, dict]:
    """The reports of the saved (normalised WGS84) copy, with the original files' details put back:
    file names, sheets, encodings, detected coordinate systems and their evidence."""
    if not record:
        return unit_report, fac_report
    note = "工作区保存的是换算为 WGS84 后的副本; 以上为原始文件的信息。"
    units = unit_report | record.get("units", {})
    facilities = fac_report | record.get("facilities", {})
    prepare = dict(fac_report.get("prepare", {}))
    for k in ("point_system_detection",):
        prepare.pop(k, None)
    prepare |= record.get("prepare", {})
    facilities["prepare"] = prepare
    facilities["notes"] = list(facilities.get("notes") or []) + [note]
    return units, facilities


@st.cache_data(max_entries=4)
def _targets(path_key: tuple) -> pd.DataFrame:
    return load_targets(Path(path_key[0]), class_catalog())


@st.cache_data(max_entries=4)
def _store_targets(location: str, version: int) -> pd.DataFrame:  # noqa: ARG001 (the key)
    return validate_targets(store().targets().drop(columns="version"), class_catalog())


def targets() -> pd.DataFrame:
    """The plan-target table: the department's saved table when there is one, else the built-in one
    (once per run: `run_reads`)."""
    return _per_run("targets", _targets_now)


def _targets_now() -> pd.DataFrame:
    if store().has_targets():
        try:
            return _store_targets(store().location, store().current_version())
        except CoverageError as err:
            st.error(f"已保存的规划指标表有误, 暂用内置指标表: {esc(err)}")
    return _targets(file_key(TARGETS_CSV))


def target_rows() -> pd.DataFrame:
    """The saved target rows as text with their `version` (what an edit is based on); the built-in
    table (version 0) before the first save."""
    from store import builtin_targets  # noqa: PLC0415

    if store().has_targets():
        return store().targets()
    rows = builtin_targets()
    return rows if "version" in rows.columns else rows.assign(version=0)


def config() -> CoverageConfig:
    statuses = tuple(st.session_state.get("counted_statuses") or ("运营",))
    zones = bool(st.session_state.get("functional_zones", True))
    others = bool(st.session_state.get("count_other_units", False))
    mapping = tuple(sorted(ws().status_mapping().items()))
    return CoverageConfig(counted_statuses=statuses, functional_zones_as_districts=zones, count_other_units=others,
                          status_mapping=mapping)


def plan_suggestion() -> PlanSuggestion:
    """The plan whose area matches the active townships' codes (else 通用), with the reason
    (asked on every run by the sidebar: cached per data, plans and plan areas)."""
    return _per_run("plan_suggestion", lambda: _plan_suggestion(_active_key(), tuple(plans(targets())),
                                                                tuple(sorted(ws().plan_areas().items()))))


@st.cache_data(max_entries=16)
def _plan_suggestion(data_key: tuple, plan_names: tuple, extra_areas: tuple) -> PlanSuggestion:
    units = _read_dataset(*data_key)[0]
    return suggest_plan(units["code"], list(plan_names), load_plan_areas(), dict(extra_areas))


def current_plan() -> str:
    """The plan in use: this session's choice, else the one last chosen for this data (saved with
    the workspace), else the one suggested by the townships' codes."""
    names = plans(targets())
    plan = st.session_state.get("plan")
    if plan not in names:
        plan = ws().chosen_plan(active_source()["source"])
    if plan not in names:
        plan = plan_suggestion().plan
    if plan not in names:
        plan = names[0]
    return plan


def remember_plan(plan: str) -> None:
    """Save the chosen plan with the workspace, so the next browser session opens with it."""
    try:
        ws().save_chosen_plan(active_source()["source"], plan)
    except OSError as err:
        st.warning(f"规划选择未能保存(工作区不可写): {esc(err)}")


def plan_targets(plan: str | None = None) -> pd.DataFrame:
    """The target rows of `plan` (default: the plan in use), once per run and plan."""
    plan = plan or current_plan()
    return _per_run(("plan_targets", plan), lambda: targets()[targets()["plan"] == plan])


def targets_key(frame: pd.DataFrame) -> str:
    """A digest of a plan-target table's content (columns, dtypes, cells): the cache key of the
    computations below, which take the table itself unhashed (Streamlit's hashing of it cost
    ~9 ms per call, several calls per run; this ~0.5 ms)."""
    body = [list(map(str, frame.columns)), list(map(str, frame.dtypes)), frame.to_numpy(dtype=object).tolist()]
    return hashlib.sha256(json.dumps(body, ensure_ascii=False, default=str).encode()).hexdigest()


def _targets_args(plan: str | None) -> tuple[str, pd.DataFrame]:
    plan = plan or current_plan()
    return _per_run(("targets_args", plan), lambda: (targets_key(plan_targets(plan)), plan_targets(plan)))


@st.cache_resource(show_spinner="正在计算覆盖率…", max_entries=16)
def _compute(data_key: tuple, targets_digest: str, _targets_frame: pd.DataFrame,
             cfg: CoverageConfig) -> tuple[pd.DataFrame, CoverageResult]:
    """(assigned, result), shared read-only like `_read_dataset`'s frames; cached per data,
    target table content (`targets_key`) and settings."""
    units, facilities, _, _ = _read_dataset(*data_key)
    assigned, result = evaluate_layers(units, facilities, _targets_frame, class_catalog(), config=cfg)
    if len(_targets_frame):  # a city's plan on a province's townships speaks for the city (coverage.hierarchy)
        result = result_for_area(result, plan_area_code(str(_targets_frame["plan"].iloc[0]), ws().plan_areas()))
    return assigned, result


def _active_key() -> tuple:
    """`_read_dataset`'s key of the data in use (the demo's when the saved workspace cannot be read)."""
    return _per_run("active_key", _active_key_now)


def _active_key_now() -> tuple:
    key = _dataset_key()
    try:
        _read_dataset(*key)
    except CoverageError:
        u, f = load_demo()
        key = (file_key(u), file_key(f), "auto", key[3], key[4])
    return key


@st.cache_data(show_spinner="正在测算最少新增点位…", max_entries=16)
def _proposals(data_key: tuple, targets_digest: str, _targets_frame: pd.DataFrame, cfg: CoverageConfig, rank: str):
    from coverage.proposals import propose_sites  # noqa: PLC0415

    units, facilities, _, _ = _read_dataset(*data_key)
    assigned, res = _compute(data_key, targets_digest, _targets_frame, cfg)
    return propose_sites(units, res, rank=rank, facilities=facilities, assigned=assigned, classes=class_catalog(), config=cfg)


def proposals(rank: str, plan: str | None = None):
    """`coverage.proposals.propose_sites` for the active data, plan and settings (cached)."""
    return _proposals(_active_key(), *_targets_args(plan), config(), rank)


@st.cache_data(show_spinner="正在计算服务半径…", max_entries=16)
def _access(data_key: tuple, targets_digest: str, _targets_frame: pd.DataFrame, cfg: CoverageConfig, facility_class: str,
            radius_km: float, points_key: tuple):
    from coverage.access import class_access, counted_facilities, service_areas  # noqa: PLC0415

    units, facilities, _, _ = _read_dataset(*data_key)
    assigned, _ = _compute(data_key, targets_digest, _targets_frame, cfg)
    access = class_access(units, facilities, assigned, class_catalog(), facility_class, radius_km, config=cfg,
                          demand_points=demand_points()[0] if points_key else None)
    areas = service_areas(counted_facilities(facilities, assigned, class_catalog(), facility_class, config=cfg),
                          radius_km, dissolve=True)
    return access, areas


def access(facility_class: str, radius_km: float, plan: str | None = None):
    """(`coverage.access.AccessResult`, service areas) of a class within `radius_km` for the active
    data (village/community points when saved), cached per data, plan, settings, class and radius."""
    found = ws().population_file("demand_points")
    points_key = (hashlib.sha256(found[0]).hexdigest(), tuple(sorted(map(str, found[1].items())))) if found else ()
    return _access(_active_key(), *_targets_args(plan), config(), facility_class, float(radius_km), points_key)


@st.cache_data(max_entries=64)
def _statuses(data_key: tuple, targets_digest: str, _targets_frame: pd.DataFrame, cfg: CoverageConfig, target_id: str,
              scope: str) -> pd.Series:
    from coverage.evaluate import unit_statuses  # noqa: PLC0415
    from geodata.mapview import scope_mask  # noqa: PLC0415

    units = _read_dataset(*data_key)[0]
    return unit_statuses(units[scope_mask(units, scope)], _compute(data_key, targets_digest, _targets_frame, cfg)[1],
                         target_id, cfg)


def statuses(target_id: str, scope: str = "", plan: str | None = None) -> pd.Series:
    """`coverage.evaluate.unit_statuses` of the townships in `scope` (see `geodata.mapview.scope_mask`)
    for one target, cached per data, plan, settings, target and scope: the map asks on every click."""
    return _statuses(_active_key(), *_targets_args(plan), config(), target_id, scope)


def result(plan: str | None = None) -> tuple[pd.DataFrame, CoverageResult]:
    """(assigned facilities, CoverageResult) for the active data, plan and settings (cached)."""
    return _compute(_active_key(), *_targets_args(plan), config())


def area_name() -> str:
    """The area the active data speaks for (十堰市), for titles and file names."""
    from reporting.meeting_pack import area_name_for  # noqa: PLC0415

    return area_name_for(current_plan(), dataset()[0]["code"])


def excel_download(label: str, sheets: dict[str, pd.DataFrame], what: str, *, indicator: str | None = None,
                   percent_columns: tuple[str, ...] = (), key: str | None = None, disabled: bool = False) -> None:
    """A download button for an Excel file named and titled by area, content, indicator and date
    ("十堰市_未覆盖乡镇清单_SY-01_20261125.xlsx", title row "十堰市 未覆盖乡镇清单 · 规划 · 2026年11月25日"),
    rates stored as numbers in % format. The workbook is written when the planner clicks, not on
    every run of the page (a ledger of thousands of rows takes a noticeable part of a second)."""
    from datetime import date  # noqa: PLC0415

    from reporting.excel import download_name, excel_bytes  # noqa: PLC0415

    today = date.today()
    area = area_name()
    title = f"{area} {what}" + (f" · {indicator}" if indicator else "") + f" · {current_plan()} · {today:%Y年%m月%d日}"
    st.download_button(esc(label), lambda: excel_bytes(sheets, title=title, percent_columns=percent_columns),
                       file_name=download_name(area, what, indicator, today), key=key, disabled=disabled,
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def labelled(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns renamed to their Chinese labels, for display and downloads."""
    out = frame.copy()
    if "met" in out:
        out["met"] = out["met"].map({True: "达标", False: "未达标"}).fillna("—")
    return out.rename(columns=COLUMN_LABELS)


def pct(x) -> str:
    return "—" if x is None or pd.isna(x) else f"{x * 100:.1f}%"


@st.cache_resource(show_spinner="正在检查边界拓扑…", max_entries=4)
def _topology(data_key: tuple):
    units = _read_dataset(*data_key)[0]
    return topology_problems(units)


def topology():
    """Gaps and overlaps between the active townships (GeoDataFrame, EPSG:4326)."""
    key = _dataset_key()
    try:
        return _topology(key)
    except CoverageError:
        u, f = load_demo()
        return _topology((file_key(u), file_key(f), "auto", key[3], key[4]))


# ------------------------------------------------------------------ accounts

def _oidc_configured() -> bool:
    """Department mode: an OIDC provider in .streamlit/secrets.toml ([auth] section) → st.login."""
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file at all
        return False


def sign_in() -> bool:
    """Who is using the app, before any page runs. True when the page may be drawn.

    - Department mode (OIDC in secrets): 单位账号登录 through `st.login`; the account's role comes
      from the store (an e-mail without an account is 查看).
    - Local accounts (the default): while the store has no account the app is open (a notice in the
      sidebar offers the first-run set-up of a 管理 account); once it has one, everyone signs in.
    The role is read from the store on every run, so a changed role applies at once."""
    department = store()
    if _oidc_configured():
        if not st.user.is_logged_in:
            st.title("民政设施覆盖分析")
            st.button("使用单位账号登录", type="primary", on_click=st.login)
            return False
        name = str(st.user.get("email") or st.user.get("name") or "")
        roles = {u.name: u.role for u in department.users()}
        st.session_state["user_name"], st.session_state["user_role"] = name, roles.get(name, "查看")
        return True
    if not department.has_users():
        st.session_state.pop("user_name", None)
        st.session_state.pop("user_role", None)
        return True
    name = st.session_state.get("user_name")
    roles = {u.name: u.role for u in department.users()}
    if name in roles:
        st.session_state["user_role"] = roles[name]
        return True
    st.session_state.pop("user_name", None)
    _login_form(department)
    return False


def _login_form(department) -> None:
    st.title("民政设施覆盖分析")
    st.caption("请用本单位分配的账号登录。忘记密码请联系管理员。")
    with st.form("login"):
        name = st.text_input("账号")
        password = st.text_input("密码", type="password")
        if st.form_submit_button("登录", type="primary"):
            try:
                account = department.authenticate(name.strip(), password)
            except CoverageError as err:
                st.error(esc(err))
            else:
                st.session_state["user_name"], st.session_state["user_role"] = account.name, account.role
                st.rerun()


def first_admin_form() -> None:
    """Sidebar: the first-run set-up of a 管理 account (shown while the store has no account)."""
    with st.expander("⚠️ 尚未设置账号: 任何人都可修改数据"):
        st.caption("创建第一个「管理」账号后, 所有人须登录; 管理员可在「账号管理」中为同事开设 查看/编辑 账号。")
        with st.form("first_admin"):
            name = st.text_input("管理员账号")
            password = st.text_input("密码(至少 8 位)", type="password")
            again = st.text_input("再次输入密码", type="password")
            if st.form_submit_button("创建管理员账号"):
                if password != again:
                    st.error("两次输入的密码不一致。")
                else:
                    try:
                        store().create_user(name.strip(), password, "管理")
                    except CoverageError as err:
                        st.error(esc(err))
                    else:
                        st.session_state["user_name"], st.session_state["user_role"] = name.strip(), "管理"
                        st.rerun()


def account_box() -> None:
    """Sidebar: who is signed in, the role, sign out; the set-up form while there is no account."""
    if not store().has_users() and not _oidc_configured():
        first_admin_form()
        return
    st.caption(f"当前用户: {esc(user_name())}({esc(user_role())})")
    if _oidc_configured():
        st.button("退出登录", on_click=st.logout)
    elif st.button("退出登录"):
        st.session_state.pop("user_name", None)
        st.session_state.pop("user_role", None)
        st.rerun()


def data_changed_notice() -> None:
    """Tell the planner when someone else changed the department's data since this session last
    looked (the pages then show the new data)."""
    seen = st.session_state.get("seen_version")
    now = store().current_version()
    if seen is not None and now > seen:
        # someone else's change to the data (a remembered plan choice is not news)
        others = [c for c in store().changed_since(seen) if c.user != user_name() and c.kind != "settings_saved"]
        if others:
            st.toast(f"部门数据已更新: {others[-1].describe()}" + (f" 等 {len(others)} 项" if len(others) > 1 else ""),
                     icon=":material/sync:")
    st.session_state["seen_version"] = now
