"""The app on the shared store: sign-in, roles, facility edits and the history page (AppTest)."""
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from coverage.catalog import load_classes
from coverage.errors import PermissionDenied, StoreConflict
from geodata.clean import prepare_facilities
from geodata.demo import load_demo
from geodata.io import read_facilities, read_units
from store import open_store
from store.workspace import EDIT_COLUMNS, StoreWorkspace, facility_edits
from tests.test_pages import APP, empty_workspace, navigation_as_on_a_running_server  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow  # AppTest runs on a store holding the demo (still run by .ci/run)


@pytest.fixture
def department(empty_workspace):  # noqa: F811
    """The store the app opens for this workspace, holding the demo data, with three accounts."""
    store = open_store(empty_workspace / "store.gpkg")
    u, f = load_demo()
    units, _ = read_units(u)
    fac, _ = read_facilities(f, None, load_classes())
    fac, _ = prepare_facilities(fac, units)
    store.create_user("admin", "admin-pass-1", "管理")
    store.create_user("editor", "editor-pass-1", "编辑", by="admin")
    store.create_user("viewer", "viewer-pass-1", "查看", by="admin")
    StoreWorkspace(store, "admin").save_dataset(units, fac, units_file="demo.geojson", facilities_file="demo.csv")
    return store


def run_as(user: str | None, page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if user:
        at.session_state["user_name"] = user
    at.run()
    if user:
        at.switch_page(page).run()
    return at


def test_login_required_once_an_account_exists(department):
    at = run_as(None, "")
    assert not at.exception
    assert [b.label for b in at.button] == ["登录"] and not at.metric  # no page before signing in
    at.text_input[0].input("editor")
    at.text_input[1].input("wrong-password")
    at.button[0].click().run()
    assert any("密码不正确" in e.value for e in at.error)
    at.text_input[1].input("editor-pass-1")
    at.button[0].click().run()
    assert not at.exception and at.session_state["user_role"] == "编辑"
    assert any("当前用户: editor" in c.value for c in at.sidebar.caption)


def test_viewer_pages_have_no_edit_controls(department):
    for page in ("pages/facilities.py", "pages/targets.py", "pages/data.py", "pages/quality.py", "pages/history.py"):
        at = run_as("viewer", page)
        assert not at.exception, page
        labels = {b.label for b in at.button}
        assert not labels & {"保存修改", "保存指标", "保存为工作区并使用", "撤销这项变更", "移动到点击的位置"}, (page, labels)
        assert not at.get("file_uploader"), page
    with pytest.raises(PermissionDenied):  # a crafted request in the viewer's name
        department.remove_facility(int(department.facilities()["uid"].iloc[0]), 0, "viewer")


def test_editor_sees_the_ledger_editor_and_the_history(department):
    at = run_as("editor", "pages/facilities.py")
    assert not at.exception
    assert {"保存修改", "放弃修改, 载入最新数据"} <= {b.label for b in at.button}
    at = run_as("editor", "pages/history.py")
    assert not at.exception
    assert "新建账户" in " ".join(at.dataframe[0].value["类型"].astype(str)) or len(at.dataframe[0].value) >= 4


def test_facility_edits_from_the_table_and_a_stale_edit_refused(department):
    fac = department.facilities()
    before = fac.reindex(columns=["uid", "version", *EDIT_COLUMNS]).head(3).reset_index(drop=True)
    after = before.copy()
    after.loc[0, "beds"] = 99
    after.loc[1, "operating_status"] = "停用"
    after = after.drop(index=2)
    after = pd.concat([after, pd.DataFrame([{"name": "新建养老服务中心", "facility_class": "comprehensive_eldercare",
                                             "lon": 110.79, "lat": 32.65, "operating_status": "运营"}])], ignore_index=True)
    edits = facility_edits(before, after)
    assert sorted(e["op"] for e in edits) == ["add", "remove", "update", "update"]
    assert next(e for e in edits if e["op"] == "update" and e["uid"] == before.loc[0, "uid"])["fields"] == {"beds": 99}
    department.edit_facilities(edits, "editor")
    now = department.facilities().set_index("uid")
    assert now.loc[before.loc[0, "uid"], "beds"] == 99 and before.loc[2, "uid"] not in now.index
    assert (now["name"] == "新建养老服务中心").sum() == 1
    stale = facility_edits(before.head(1), before.head(1).assign(beds=5))  # made on the version before the edit
    with pytest.raises(StoreConflict) as err:
        department.edit_facilities(stale, "admin")
    assert "editor" in str(err.value)
