"""The real Qingdao townships as a 自然资源-style Shapefile (CGCS2000 3-degree GK CM 120E, GBK DBF,
no .cpg) and facilities in GCJ-02 give the same assignments and coverage as the WGS84 originals."""
import io
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from coverage.__main__ import main
from geodata.chinacoords import wgs84_to_gcj02

pytestmark = pytest.mark.slow


def shapefile_zip(units: gpd.GeoDataFrame, folder, *, keep_prj: bool) -> bytes:
    folder.mkdir()
    shp = units[["township_code_stats2023", "name", "county_name"]].rename(
        columns={"township_code_stats2023": "XZQDM", "name": "XZQMC", "county_name": "区县名称"})
    gpd.GeoDataFrame(shp, geometry=units.geometry.to_crs(4549).values, crs=4549).to_file(
        folder / "乡镇界线.shp", encoding="GBK", engine="pyogrio")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for f in folder.iterdir():
            if f.suffix == ".cpg" or (f.suffix == ".prj" and not keep_prj):
                continue
            zf.write(f, f.name)
    return buf.getvalue()


@pytest.mark.parametrize("keep_prj", [True, False])
def test_gk_gbk_shapefile_and_gcj02_points_match_wgs84(qingdao_path, tmp_path, keep_prj):
    units = gpd.read_file(qingdao_path)
    rng = np.random.default_rng(11)
    rows = []
    for u in units.itertuples():
        inner = u.geometry.buffer(-0.002)
        if inner.is_empty:
            continue
        minx, miny, maxx, maxy = inner.bounds
        for k in range(4):  # up to 4 interior points per township, ~200 m from any boundary
            for _ in range(50):
                x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
                if inner.contains(gpd.points_from_xy([x], [y])[0]):
                    rows.append({"编号": f"{u.township_code_stats2023}-{k}", "名称": f"{u.name}社工站{k}",
                                 "类型": ["社工站", "养老服务中心", "救助站", "公墓"][k], "经度": x, "纬度": y,
                                 "地址": f"青岛市{u.county_name}{u.name}"})
                    break
    wgs = pd.DataFrame(rows)
    lon, lat = wgs84_to_gcj02(wgs["经度"].to_numpy(), wgs["纬度"].to_numpy())
    gcj = wgs.assign(经度=lon, 纬度=lat)
    wgs.to_csv(tmp_path / "wgs.csv", index=False)
    gcj.to_csv(tmp_path / "gcj.csv", index=False, encoding="gbk")
    (tmp_path / "units.zip").write_bytes(shapefile_zip(units, tmp_path / "shp", keep_prj=keep_prj))

    assert main(["compute", "--units", str(qingdao_path), "--facilities", str(tmp_path / "wgs.csv"),
                 "--facility-crs", "wgs84", "--out", str(tmp_path / "a")]) == 0
    assert main(["compute", "--units", str(tmp_path / "units.zip"), "--facilities", str(tmp_path / "gcj.csv"),
                 "--out", str(tmp_path / "b")]) == 0  # facility CRS detected (auto)

    def load(d, name):
        return pd.read_csv(tmp_path / d / name, dtype=str, encoding="utf-8-sig", keep_default_na=False)

    a, b = load("a", "assignments.csv"), load("b", "assignments.csv")
    assert len(a) == len(wgs) > 300
    assert a["unit_code"].tolist() == b["unit_code"].tolist()
    assert a["status"].tolist() == b["status"].tolist()
    assert (a["status"] == "assigned").all()
    cols = ["district_code", "indicator", "units_total", "units_covered", "rate", "units_needed", "met"]
    pd.testing.assert_frame_equal(load("a", "coverage.csv")[cols], load("b", "coverage.csv")[cols])
    import json
    q = json.loads((tmp_path / "b" / "quality.json").read_text(encoding="utf-8"))
    assert q["point_system"] == "gcj02"
    assert q["unit_file"]["encoding"] == "GB18030"
    assert q["unit_file"]["crs_inferred"] is (not keep_prj)
    names = load("b", "assignments.csv")["unit_name"]
    assert names.str.contains("街道").any()  # GBK names decoded, not mojibake
