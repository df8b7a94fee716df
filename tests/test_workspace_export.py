"""Workspace persistence and Excel downloads."""
import io

import openpyxl
import pandas as pd
import pytest

from coverage.catalog import load_classes, load_targets
from geodata import workspace
from geodata.demo import load_demo
from reporting.excel import excel_bytes
from geodata.io import read_facilities, read_units
from geodata.templates import facility_template

CLASSES = load_classes()


def test_saved_dataset_round_trips_and_survives_switch_to_demo(tmp_path):
    u, f = load_demo()
    units, _ = read_units(u)
    fac, _ = read_facilities(f, None, CLASSES)
    workspace.save_dataset(units, fac, tmp_path, units_file="a.geojson", facilities_file="b.csv")
    assert workspace.state(tmp_path)["source"] == "workspace"
    up, fp = workspace.dataset_paths(tmp_path)
    units2, _ = read_units(up)
    fac2, _ = read_facilities(fp, None, CLASSES)
    assert units2["code"].tolist() == units["code"].tolist()
    pd.testing.assert_series_equal(fac2["facility_class"], fac["facility_class"])
    assert fac2["full_time_care"].sum() == fac["full_time_care"].sum()
    workspace.set_source("demo", tmp_path)
    assert workspace.state(tmp_path)["source"] == "demo" and up.exists() and fp.exists()
    workspace.set_source("workspace", tmp_path)
    assert workspace.state(tmp_path)["source"] == "workspace"


def test_failed_save_keeps_previous_file(tmp_path, monkeypatch):
    targets = load_targets()
    workspace.save_targets(targets, tmp_path)
    before = (tmp_path / workspace.TARGETS_FILE).read_bytes()

    class Boom(Exception):
        pass

    def broken_write(*a, **k):
        raise Boom

    monkeypatch.setattr("os.fdopen", broken_write)
    with pytest.raises(Boom):
        workspace.save_targets(targets.head(1), tmp_path)
    assert (tmp_path / workspace.TARGETS_FILE).read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [workspace.TARGETS_FILE]  # no temp file left


def test_excel_cells_never_hold_formulas():
    frame = pd.DataFrame({"名称": ["=HYPERLINK(\"http://x\")", "+1", "正常名称"], "n": [1, 2, 3]})
    wb = openpyxl.load_workbook(io.BytesIO(excel_bytes({"表": frame})))
    ws = wb["表"]
    assert [ws.cell(row=r, column=1).data_type for r in (2, 3, 4)] == ["s", "s", "s"]
    assert ws.cell(row=2, column=1).value.startswith("'=")
    assert ws.freeze_panes == "A2"


def test_template_reads_back_as_a_ledger():
    raw = facility_template(CLASSES)
    fac, report = read_facilities(raw, "模板.xlsx", CLASSES)
    assert fac["facility_class"].tolist() == ["comprehensive_eldercare", "social_work_station"]
    assert not report.unknown_classes
