"""`python -m coverage compute`: outputs on the demo, and agreement with an independent shapely
computation on the real Qingdao OSM townships."""
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import shape

from coverage.__main__ import main
from geodata.demo import load_demo
from tests.conftest import ROOT


@pytest.mark.slow
def test_cli_on_demo_writes_all_outputs(tmp_path):
    units, facilities = load_demo()
    assert main(["compute", "--units", str(units), "--facilities", str(facilities), "--plan", "十堰", "--out", str(tmp_path)]) == 0
    assign = pd.read_csv(tmp_path / "assignments.csv", dtype=str, encoding="utf-8-sig")
    ledger = pd.read_csv(facilities, dtype=str)
    assert len(assign) == len(ledger)
    assert assign["facility_id"].tolist() == ledger["编号"].tolist()
    assert {"facility_id", "facility_class", "unit_code", "status"} <= set(assign.columns)
    cov = pd.read_csv(tmp_path / "coverage.csv", dtype={"district_code": str}, encoding="utf-8-sig")
    assert {"district_code", "district_name", "indicator", "facility_class", "level", "units_total", "units_covered",
            "rate", "target_rate", "units_needed", "met"} <= set(cov.columns)
    area = cov[(cov["district_code"] == "ALL") & (cov["target_id"] == "SY-01")].iloc[0]
    per_district = cov[(cov["district_code"] != "ALL") & (cov["target_id"] == "SY-01")]
    assert area["units_total"] == 119 == per_district["units_total"].sum()
    assert area["units_covered"] == per_district["units_covered"].sum()
    unc = pd.read_csv(tmp_path / "uncovered.csv", dtype=str, encoding="utf-8-sig")
    assert (unc["indicator"] == area["indicator"]).sum() == 119 - area["units_covered"]
    quality = json.loads((tmp_path / "quality.json").read_text(encoding="utf-8"))
    for kind in ("outside", "duplicate", "unknown_class", "no_coordinates"):
        assert quality["problems"][kind]["count"] == 1
    assert quality["unknown_class_labels"] == {"老年大学": 1}


@pytest.mark.slow
def test_cli_bad_input_exits_2_with_chinese_message(tmp_path):
    bad = tmp_path / "bad.geojson"
    bad.write_text("not geojson", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "coverage", "compute", "--units", str(bad), "--facilities", str(bad),
                           "--out", str(tmp_path / "o")], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert "错误" in proc.stderr and "Traceback" not in proc.stderr


def test_cli_unknown_plan(tmp_path):
    units, facilities = load_demo()
    assert main(["compute", "--units", str(units), "--facilities", str(facilities), "--plan", "不存在", "--out", str(tmp_path)]) == 2


@pytest.mark.slow
def test_cli_field_mapping_for_unusual_headers(tmp_path):
    units, facilities = load_demo()
    ledger = pd.read_csv(facilities, dtype=str).rename(columns={"名称": "机构名", "类型": "服务类型"})
    ledger.to_csv(tmp_path / "f.csv", index=False)
    args = ["compute", "--units", str(units), "--facilities", str(tmp_path / "f.csv"), "--plan", "十堰"]
    assert main(args + ["--out", str(tmp_path / "a")]) == 2  # 名称/类型 not recognised
    assert main(args + ["--facility-field", "name=机构名", "--facility-field", "facility_class=服务类型",
                        "--out", str(tmp_path / "b")]) == 0
    assert main(["compute", "--units", str(units), "--facilities", str(facilities), "--plan", "十堰",
                 "--out", str(tmp_path / "c")]) == 0
    b = pd.read_csv(tmp_path / "b" / "coverage.csv", encoding="utf-8-sig")
    c = pd.read_csv(tmp_path / "c" / "coverage.csv", encoding="utf-8-sig")
    pd.testing.assert_frame_equal(b, c)
    assert main(args + ["--facility-field", "机构名", "--out", str(tmp_path / "d")]) == 2  # malformed pair


@pytest.mark.slow
def test_qingdao_assignments_match_independent_shapely(qingdao_path, tmp_path):
    raw = json.loads(qingdao_path.read_text(encoding="utf-8"))
    codes = [f["properties"]["township_code_stats2023"] for f in raw["features"]]
    polys = [shape(f["geometry"]) for f in raw["features"]]
    rng = np.random.default_rng(7)
    minx, miny, maxx, maxy = shapely.total_bounds(polys)
    random_pts = np.c_[rng.uniform(minx, maxx, 1500), rng.uniform(miny, maxy, 1500)]
    # vertices of township boundaries: many lie on an edge shared by two townships
    verts = np.vstack([shapely.get_coordinates(p.boundary)[::97] for p in polys])
    pts = np.vstack([random_pts, verts[:400]])
    ledger = pd.DataFrame({"编号": [f"Q{i}" for i in range(len(pts))], "名称": [f"点{i}" for i in range(len(pts))],
                           "类型": "社工站", "经度": pts[:, 0], "纬度": pts[:, 1]})
    fac_path = tmp_path / "qd.csv"
    ledger.to_csv(fac_path, index=False)
    assert main(["compute", "--units", str(qingdao_path), "--facilities", str(fac_path), "--out", str(tmp_path / "o")]) == 0
    got = pd.read_csv(tmp_path / "o" / "assignments.csv", dtype=str, encoding="utf-8-sig", keep_default_na=False)

    tree = shapely.STRtree(polys)
    expected = []
    for x, y in pts:
        p = shapely.Point(x, y)
        hits = [codes[i] for i in tree.query(p) if polys[i].covers(p)]
        expected.append(min(hits) if hits else "")
    assert got["unit_code"].tolist() == expected
    assert sum(e != "" for e in expected) > 1000
    assert (got["status"] == "outside").sum() == sum(e == "" for e in expected)
    on_edge = got["on_edge"] == "True"
    assert on_edge.sum() > 50  # the shared-edge rule was really exercised
