"""The 报告导出 page under AppTest: generated files are offered only while the plan, data, settings,
targets and choices they were made from are unchanged."""
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from tests.test_pages import navigation_as_on_a_running_server  # noqa: F401 (autouse fixture)

# Renders documents or runs whole pages: in the full run (.ci/run), not the quick set.
pytestmark = pytest.mark.slow

APP = str(ROOT / "app.py")
STALE = "已过期"


@pytest.fixture
def empty_workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("MZ_WORKSPACE", str(tmp_path / "ws"))
    return tmp_path / "ws"


def report_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("pages/report.py").run()
    assert not at.exception, at.exception
    return at


def generate(at: AppTest, formats: list[str]) -> None:
    """Generate the pack for the first indicator only, in `formats` (fast)."""
    next(m for m in at.multiselect if m.label == "格式").set_value(formats).run()
    indicators = next(m for m in at.multiselect if m.label == "指标")
    indicators.set_value(indicators.value[:1]).run()
    next(b for b in at.button if b.label == "生成会议材料").click().run()
    assert not at.exception, at.exception


def download_labels(at: AppTest) -> list[str]:
    return [el.proto.label for el in at.get("download_button")]


def test_downloads_go_stale_when_the_plan_changes(empty_workspace):
    at = report_page()
    generate(at, ["xlsx"])
    labels = download_labels(at)
    assert labels and labels[0] == "全部下载 (zip)" and any(label.startswith("十堰市") and "xlsx" in label for label in labels)
    assert not any(STALE in w.value for w in at.warning)
    at.run()  # a rerun with nothing changed keeps them
    assert download_labels(at) == labels

    plans = at.sidebar.selectbox[0].options
    other = next(p for p in plans if p != at.sidebar.selectbox[0].value)
    at.sidebar.selectbox[0].select(other).run()
    assert not at.exception, at.exception
    assert any(STALE in w.value for w in at.warning)
    assert download_labels(at) == []


def test_downloads_go_stale_when_a_setting_or_the_cover_changes(empty_workspace):
    at = report_page()
    generate(at, ["xlsx"])
    assert download_labels(at)
    at.sidebar.checkbox(key="count_other_units").check().run()
    assert any(STALE in w.value for w in at.warning) and download_labels(at) == []
    generate(at, ["xlsx"])
    assert download_labels(at) and not any(STALE in w.value for w in at.warning)
    at.text_input(key="pack_org").input("十堰市民政局").run()
    assert any(STALE in w.value for w in at.warning) and download_labels(at) == []
