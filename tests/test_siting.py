"""coverage.siting and `python -m coverage site`: exact MCLP / partial LSCP against brute force,
GK distances against geodesics, existing sites kept, and every bad input refused in Chinese."""
import itertools
import json
import re

import numpy as np
import pandas as pd
import pytest
from pyproj import Geod

from coverage.__main__ import main
from coverage.errors import SitingError
from coverage.siting import (coverage_matrix, maximize_coverage, minimize_sites, points_from_table,
                             site_facilities, to_working_xy)

CJK = re.compile(r"[\u4e00-\u9fff]")


def make_instance(seed: int, *, lon0: float = 114.3, lat0: float = 30.6, span_deg: float = 0.12):
    """Demand (30-60 points, integer weights), candidates (8-12), existing (0-2) in WGS84 over a
    ~12 km square near Wuhan (CGCS2000 3-degree zone CM 114E)."""
    rng = np.random.default_rng(seed)
    n_d, n_c, n_e = int(rng.integers(30, 61)), int(rng.integers(8, 13)), int(rng.integers(0, 3))

    def pts(n, prefix):
        return pd.DataFrame({"id": [f"{prefix}{i}" for i in range(n)],
                             "lon": lon0 + rng.uniform(0, span_deg, n), "lat": lat0 + rng.uniform(0, span_deg, n)})

    demand = pts(n_d, "D").assign(weight=rng.integers(1, 100, n_d).astype(float))
    return demand, pts(n_c, "C"), pts(n_e, "E")


def matrices(demand, candidates, existing, radius_m):
    (dxy, cxy, exy), _ = to_working_xy(demand, candidates, existing)
    return coverage_matrix(dxy, cxy, radius_m), coverage_matrix(dxy, exy, radius_m).any(axis=1)


def covered(cover, already, weights, subset):
    hit = already | (cover[:, list(subset)].any(axis=1) if subset else False)
    return float(weights[hit].sum())


# ---------------------------------------------------------------- synthetic: brute force

@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("n_new", [1, 2, 3])
def test_mclp_equals_brute_force(seed, n_new):
    demand, candidates, existing = make_instance(seed)
    radius = 2500.0
    result = site_facilities(demand, candidates, existing, radius_m=radius, new_sites=n_new)
    cover, already = matrices(demand, candidates, existing, radius)
    w = demand["weight"].to_numpy()
    best = max(covered(cover, already, w, s) for s in itertools.combinations(range(len(candidates)), n_new))
    assert result.optimal is True
    assert result.new_sites == n_new
    assert result.covered_weight == pytest.approx(best)
    assert covered(cover, already, w, result.chosen) == pytest.approx(result.covered_weight)
    assert set(result.chosen_ids) <= set(candidates["id"])


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("share", [0.4, 0.6, 0.8])
def test_partial_lscp_equals_brute_force(seed, share):
    demand, candidates, existing = make_instance(seed + 100)
    radius = 2500.0
    cover, already = matrices(demand, candidates, existing, radius)
    w = demand["weight"].to_numpy()
    total, n_c = w.sum(), len(candidates)
    reachable = covered(cover, already, w, tuple(range(n_c)))
    if reachable < share * total:
        with pytest.raises(SitingError, match="无法达到"):
            site_facilities(demand, candidates, existing, radius_m=radius, cover_share=share)
        return
    result = site_facilities(demand, candidates, existing, radius_m=radius, cover_share=share)
    k_min = next(k for k in range(n_c + 1)
                 if any(covered(cover, already, w, s) >= share * total - 1e-9
                        for s in itertools.combinations(range(n_c), k)))
    best_at_k = max(covered(cover, already, w, s) for s in itertools.combinations(range(n_c), k_min))
    assert result.optimal is True
    assert result.new_sites == k_min
    assert result.covered_weight == pytest.approx(best_at_k)  # fewest sites, then most weight
    assert result.covered_share >= share - 1e-9


def test_array_core_hand_instance():
    # rows: demand points; columns: candidates. Row 0 is already covered by an existing site.
    cover = np.array([[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 1, 1], [0, 0, 1]], dtype=bool)
    w = np.array([50, 5, 10, 10, 30], dtype=float)
    already = np.array([True, False, False, False, False])
    r = maximize_coverage(cover, w, 1, covered_already=already)
    assert r.chosen == (2,) and r.covered_weight == 90 and r.existing_weight == 50 and r.optimal
    r = minimize_sites(cover, w, 0.99, covered_already=already)
    assert r.new_sites == 3 and r.covered_weight == 105 and r.optimal
    r = minimize_sites(cover, w, 0.45, covered_already=already)  # existing alone: 50/105
    assert r.new_sites == 0 and r.optimal


# ---------------------------------------------------------------- distances

def test_coverage_matrix_agrees_with_geodesic_distances():
    rng = np.random.default_rng(7)
    # a 1-degree-wide area whose eastern edge lies ~1.5 degrees off the central meridian (111E zone)
    lon0, lat0 = 111.0 + 0.5, 32.0
    demand = pd.DataFrame({"id": [f"d{i}" for i in range(80)], "lon": lon0 + rng.uniform(0, 1.0, 80),
                           "lat": lat0 + rng.uniform(0, 0.5, 80)})
    sites = pd.DataFrame({"id": [f"s{i}" for i in range(30)], "lon": lon0 + rng.uniform(0, 1.0, 30),
                          "lat": lat0 + rng.uniform(0, 0.5, 30)})
    (dxy, sxy), epsg = to_working_xy(demand, sites)
    assert epsg == 4546  # CGCS2000 3-degree GK, CM 111E
    planar = np.hypot(dxy[:, None, 0] - sxy[None, :, 0], dxy[:, None, 1] - sxy[None, :, 1])
    lon1, lon2 = np.meshgrid(demand["lon"], sites["lon"], indexing="ij")
    lat1, lat2 = np.meshgrid(demand["lat"], sites["lat"], indexing="ij")
    _, _, geodesic = Geod(ellps="GRS80").inv(lon1.ravel(), lat1.ravel(), lon2.ravel(), lat2.ravel())
    geodesic = geodesic.reshape(planar.shape)
    assert np.abs(planar / geodesic - 1).max() < 0.005
    for radius in (5_000.0, 20_000.0, 40_000.0):
        cover = coverage_matrix(dxy, sxy, radius)
        clear = np.abs(geodesic / radius - 1) > 0.005  # pairs not within 0.5 % of the radius
        assert np.array_equal(cover[clear], (geodesic <= radius)[clear])
        assert cover.any() and not cover.all()


# ---------------------------------------------------------------- existing sites

def test_existing_sites_kept_and_their_coverage_counted():
    # cluster A (heavy) at the existing site and candidate CA; cluster B (light) at candidate CB.
    a = dict(lon=114.30, lat=30.60)
    b = dict(lon=114.40, lat=30.60)  # ~9.6 km east
    demand = pd.DataFrame({"id": ["a1", "a2", "b1"], "lon": [a["lon"], a["lon"] + 0.002, b["lon"]],
                           "lat": [a["lat"], a["lat"], b["lat"]], "weight": [500.0, 300.0, 20.0]})
    candidates = pd.DataFrame({"id": ["CA", "CB"], "lon": [a["lon"] + 0.001, b["lon"]], "lat": [a["lat"], b["lat"]]})
    existing = pd.DataFrame({"id": ["E1"], "lon": [a["lon"]], "lat": [a["lat"]]})
    alone = site_facilities(demand, candidates, None, radius_m=1000, new_sites=1)
    assert alone.chosen_ids == ("CA",) and alone.covered_weight == 800
    with_existing = site_facilities(demand, candidates, existing, radius_m=1000, new_sites=1)
    assert with_existing.chosen_ids == ("CB",)
    assert with_existing.existing_weight == 800 and with_existing.covered_weight == 820
    assert with_existing.optimal
    fewest = site_facilities(demand, candidates, existing, radius_m=1000, cover_share=0.9)
    assert fewest.new_sites == 0 and fewest.covered_weight == 800 and fewest.optimal


# ---------------------------------------------------------------- CLI

def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def files(tmp_path):
    """Factory writing the three CSVs (defaults: a small valid instance); returns their paths."""
    def make(demand=None, candidates=None, existing=None):
        d = write(tmp_path / "d.csv", demand if demand is not None else
                  "id,lon,lat,weight\nD1,120.00,36.00,100\nD2,120.02,36.00,50\nD3,120.10,36.10,70\nD4,120.30,36.30,10\n")
        c = write(tmp_path / "c.csv", candidates if candidates is not None else
                  "id,lon,lat\nC1,120.01,36.00\nC2,120.10,36.10\nC3,120.30,36.30\n")
        e = write(tmp_path / "e.csv", existing if existing is not None else "id,lon,lat\nE1,120.00,36.00\n")
        return d, c, e
    return make


def run(capsys, d, c, e, out, *extra):
    args = ["site", "--demand", str(d), "--candidates", str(c), "--radius-km", "1", "--out", str(out)]
    if e is not None:
        args += ["--existing", str(e)]
    code = main(args + list(extra))
    return code, capsys.readouterr()


def test_cli_site_writes_outputs(files, tmp_path, capsys):
    d, c, e = files()
    code, cap = run(capsys, d, c, e, tmp_path / "o", "--new-sites", "1")
    assert code == 0, cap.err
    raw = (tmp_path / "o" / "chosen_sites.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    chosen = pd.read_csv(tmp_path / "o" / "chosen_sites.csv", dtype=str, encoding="utf-8-sig")
    assert chosen.columns.tolist() == ["id"] and chosen["id"].tolist() == ["C2"]
    summary = json.loads((tmp_path / "o" / "summary.json").read_text(encoding="utf-8"))
    assert {k: summary[k] for k in ("covered_weight", "total_weight", "new_sites", "optimal")} == {
        "covered_weight": 170.0, "total_weight": 230.0, "new_sites": 1, "optimal": True}
    assert summary["covered_share"] == pytest.approx(170 / 230)
    code, cap = run(capsys, d, c, e, tmp_path / "o2", "--cover-share", "95%")
    assert code == 0, cap.err
    assert pd.read_csv(tmp_path / "o2" / "chosen_sites.csv", dtype=str, encoding="utf-8-sig")["id"].tolist() == ["C1", "C2"]
    assert json.loads((tmp_path / "o2" / "summary.json").read_text(encoding="utf-8"))["optimal"] is True


def test_cli_site_reads_gbk_with_chinese_headers(files, tmp_path, capsys):
    d, c, e = files(demand="编号,经度,纬度,老年人口\n甲村,120.00,36.00,100\n乙村,120.02,36.00,50\n",
                    candidates="编号,经度,纬度\n候选一,120.01,36.00\n,,\n")  # Excel's blank row
    write(d, d.read_text(encoding="utf-8"), encoding="gbk")
    write(c, c.read_text(encoding="utf-8"), encoding="gbk")
    code, cap = run(capsys, d, c, None, tmp_path / "o", "--new-sites", "1")
    assert code == 0, cap.err
    assert pd.read_csv(tmp_path / "o" / "chosen_sites.csv", dtype=str, encoding="utf-8-sig")["id"].tolist() == ["候选一"]


BAD = {  # case -> (files() overrides, extra args, text expected in the message)
    "zero radius": ({}, ["--radius-km", "0", "--new-sites", "1"], "服务半径"),
    "negative radius": ({}, ["--radius-km", "-2", "--new-sites", "1"], "服务半径"),
    "no weight column": ({"demand": "id,lon,lat\nD1,120,36\n"}, ["--new-sites", "1"], "权重"),
    "non-numeric weight": ({"demand": "id,lon,lat,weight\nD1,120,36,多\nD2,120,36,5\n"}, ["--new-sites", "1"], "D1"),
    "blank weight": ({"demand": "id,lon,lat,weight\nD1,120,36,\nD2,120,36,5\n"}, ["--new-sites", "1"], "D1"),
    "negative weight": ({"demand": "id,lon,lat,weight\nD1,120,36,-5\nD2,120,36,5\n"}, ["--new-sites", "1"], "负数"),
    "candidate outside China": ({"candidates": "id,lon,lat\nC1,120,36\nC9,36,120\n"}, ["--new-sites", "1"], "C9"),
    "demand outside China": ({"demand": "id,lon,lat,weight\nD1,120,36,5\nD7,2.35,48.85,5\n"}, ["--new-sites", "1"], "D7"),
    "demand without coordinates": ({"demand": "id,lon,lat,weight\nD1,120,36,5\nD8,,,5\n"}, ["--new-sites", "1"], "D8"),
    "existing without coordinates": ({"existing": "id,lon,lat\nE5,abc,36\n"}, ["--new-sites", "1"], "E5"),
    "infeasible share": ({}, ["--radius-km", "0.1", "--cover-share", "0.9"], "最多也只能覆盖 78.26%"),
    "share above one": ({}, ["--cover-share", "90"], "覆盖比例"),
    "N above candidates": ({}, ["--new-sites", "4"], "候选点只有 3 个"),
    "empty demand file": ({"demand": ""}, ["--new-sites", "1"], "空文件"),
    "header-only candidates": ({"candidates": "id,lon,lat\n"}, ["--new-sites", "1"], "没有数据"),
    "missing lat column": ({"candidates": "id,lon\nC1,120\n"}, ["--new-sites", "1"], "lat"),
    "duplicate ids": ({"candidates": "id,lon,lat\nC1,120,36\nC1,120.1,36\n"}, ["--new-sites", "1"], "重复"),
    "zero time limit": ({}, ["--new-sites", "1", "--time-limit", "0"], "时限"),
    "zone too wide": ({"demand": "id,lon,lat,weight\nD1,100,36,5\nD2,120,36,5\n"}, ["--new-sites", "1"], "跨度"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_cli_site_bad_input_exits_2_in_chinese(case, files, tmp_path, capsys):
    overrides, extra, expected = BAD[case]
    d, c, e = files(**overrides)
    args = ["site", "--demand", str(d), "--candidates", str(c), "--existing", str(e), "--out", str(tmp_path / "o")]
    if "--radius-km" not in extra:
        args += ["--radius-km", "1"]
    code = main(args + extra)
    cap = capsys.readouterr()
    assert code == 2
    assert cap.err.startswith("错误") and CJK.search(cap.err) and "Traceback" not in cap.err
    assert expected in cap.err
    assert not (tmp_path / "o" / "summary.json").exists()


def test_points_from_table_collects_every_problem():
    table = pd.DataFrame({"编号": ["a", "a", "b"], "经度": ["120", "x", "120"], "纬度": ["36", "36", "95"],
                          "权重": ["1", "-1", "2"]})
    with pytest.raises(SitingError) as err:
        points_from_table(table, "demand", name="d.csv")
    assert len(err.value.problems) == 4  # duplicate id, no coordinates, outside China, negative weight


def test_unproven_solution_is_never_called_optimal(files, tmp_path, capsys, monkeypatch):
    """A solve stopped by the time limit (feasible, not proven) gives optimal=False everywhere."""
    import coverage.siting as siting

    real = siting._solve

    def stopped_early(prob, time_limit_s):
        assert real(prob, time_limit_s)[2]
        return False, "未证明最优(测试)", True  # as _solve reports CBC's "Solution Found" at the time limit

    monkeypatch.setattr(siting, "_solve", stopped_early)
    d, c, e = files()
    code, cap = run(capsys, d, c, e, tmp_path / "o", "--new-sites", "1", "--time-limit", "5")
    assert code == 0, cap.err
    assert json.loads((tmp_path / "o" / "summary.json").read_text(encoding="utf-8"))["optimal"] is False
    assert "未证明最优" in cap.out
    code, cap = run(capsys, d, c, e, tmp_path / "o2", "--cover-share", "0.95")
    assert json.loads((tmp_path / "o2" / "summary.json").read_text(encoding="utf-8"))["optimal"] is False


@pytest.mark.slow
def test_time_limit_gives_unproven_flag(monkeypatch):
    """A real CBC run stopped by its time limit: PuLP says "Optimal", the flag must say False."""
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "tools"))
    from benchmark_siting import generate

    demand, candidates, existing = generate(5000, 1000, 10, 0)
    (dxy, cxy, exy), _ = to_working_xy(demand, candidates, existing)
    cover = coverage_matrix(dxy, cxy, 5000)
    already = coverage_matrix(dxy, exy, 5000).any(axis=1)
    r = maximize_coverage(cover, demand["weight"].to_numpy(), 30, covered_already=already, time_limit_s=2)
    assert r.optimal is False and "未证明最优" in r.status and r.new_sites == 30
