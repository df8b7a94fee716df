"""Benchmark (run on demand, not a test): one planned site added, incremental vs full recompute.

Generated townships: a grid of 1 km squares in EPSG:4549 (CGCS2000 GK CM 120E), 100 per district
(codes DDDDDD001..DDDDDD100, the first 10 街道, the rest 镇), about one facility per township of
three classes, and the 十堰 plan's kinds of target (乡镇(街道) 60 %, 街道 100 %, county 100 %, a count).

Compared, for one site of the township-level class:
- full: assign the whole ledger + site to the townships and evaluate (what a page did before);
- evaluate only: evaluate on the already assigned ledger + site (no spatial join);
- incremental: `coverage.scenarios.apply_scenario` on the counts (site given by unit_code, and by
  lon/lat, the latter locating the one point in the township layer).
The incremental coverage table is checked equal to the full one at every size.

Usage: python tools/benchmark_scenarios.py [N ...]   (default 1300 40000; prints seconds, best of 3)
"""
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import box

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coverage.assign import assign_facilities  # noqa: E402
from coverage.catalog import load_classes  # noqa: E402
from coverage.evaluate import evaluate  # noqa: E402
from coverage.incremental import LiveCoverage  # noqa: E402
from coverage.scenarios import apply_scenario, make_scenario, state_from_result  # noqa: E402

CLASSES = load_classes()
KINDS = ["social_work_station", "comprehensive_eldercare", "rescue_station"]


def target(tid, cls, level, value, measure="coverage"):
    return {"target_id": tid, "plan": "基准", "indicator": f"指标{tid}", "facility_class": cls, "measure": measure,
            "unit_level": level, "target_value": value, "target_year": 2025, "binding": "预期性",
            "source_seed": "", "source_ref": "", "source_quote": "", "note": ""}


TARGETS = pd.DataFrame([
    target("B1", "social_work_station", "乡镇(街道)", 0.6), target("B2", "comprehensive_eldercare", "街道", 1.0),
    target("B3", "rescue_station", "县(市、区)", 1.0), target("B4", "social_work_station", "全市", 500, "count"),
    target("B5", "comprehensive_eldercare", "乡镇(街道)", 0.6),
])


def grid_units(n: int) -> gpd.GeoDataFrame:
    side = int(np.ceil(np.sqrt(n)))
    i = np.arange(n)
    x, y = 400_000 + (i % side) * 1000.0, 3_600_000 + (i // side) * 1000.0
    district = 110000 + i // 100
    seq = i % 100 + 1
    return gpd.GeoDataFrame({
        "code": [f"{d:06d}{s:03d}" for d, s in zip(district, seq)], "name": [f"乡镇{k}" for k in i],
        "district_code": [f"{d:06d}" for d in district], "district_name": [f"区县{d}" for d in district],
        "kind": np.where(seq <= 10, "街道", "镇"),
    }, geometry=[box(a, b, a + 1000, b + 1000) for a, b in zip(x, y)], crs=4549)


def ledger(units: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    n = len(units)
    cells = rng.choice(n, size=n, replace=True)
    b = units.geometry.bounds.to_numpy()[cells]
    px = b[:, 0] + rng.uniform(50, 950, n)
    py = b[:, 1] + rng.uniform(50, 950, n)
    cls = rng.choice(KINDS, size=n, p=[0.5, 0.45, 0.05])
    return gpd.GeoDataFrame({"facility_id": [f"F{k}" for k in range(n)], "name": [f"设施{k}" for k in range(n)],
                             "facility_class": cls}, geometry=gpd.points_from_xy(px, py), crs=4549)


def best(fn, repeat=3):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def run(n: int) -> None:
    rng = np.random.default_rng(20251231)
    units = grid_units(n)
    plain_units = pd.DataFrame(units.drop(columns="geometry"))
    fac = ledger(units, rng)
    assigned = assign_facilities(units, fac)
    res = evaluate(plain_units, assigned, TARGETS, CLASSES)
    state = state_from_result(units, TARGETS, CLASSES, res)
    # one site in an uncovered township of the 60 % class
    covered = set(res.unit_counts.loc[res.unit_counts["facility_class"] == "social_work_station", "unit_code"])
    spot = units[~units["code"].isin(covered)].iloc[len(units) // 3]
    pt = gpd.GeoSeries([spot.geometry.representative_point()], crs=4549).to_crs(4326).iloc[0]
    by_code = make_scenario("一处", pd.DataFrame({"site_id": ["S1"], "facility_class": ["social_work_station"],
                                                 "unit_code": [spot["code"]]}))
    by_point = make_scenario("一处", pd.DataFrame({"site_id": ["S1"], "facility_class": ["social_work_station"],
                                                  "lon": [pt.x], "lat": [pt.y]}))
    site_fac = gpd.GeoDataFrame({"facility_id": ["S1"], "name": ["规划点"], "facility_class": ["social_work_station"],
                                 "operating_status": ["运营"]},
                                geometry=gpd.GeoSeries([pt], crs=4326).to_crs(4549), crs=4549)
    both = pd.concat([fac, site_fac], ignore_index=True)
    t_full, full = best(lambda: evaluate(plain_units, assign_facilities(units, both), TARGETS, CLASSES))
    assigned_site = assign_facilities(units, site_fac)
    assigned_both = pd.concat([assigned, assigned_site], ignore_index=True)
    t_eval, _ = best(lambda: evaluate(plain_units, assigned_both, TARGETS, CLASSES))
    t_code, out_code = best(lambda: apply_scenario(state, by_code))
    apply_scenario(state, by_point, units)  # builds the township index once, as a page's cached layer would
    t_point, out_point = best(lambda: apply_scenario(state, by_point, units))
    pd.testing.assert_frame_equal(out_code.state.coverage, full.coverage)
    pd.testing.assert_frame_equal(out_point.state.coverage, full.coverage)
    # live: one facility added / removed / moved in place (coverage.incremental), the table already built
    t_build, live = best(lambda: LiveCoverage(state), repeat=1)
    adds = []
    for _ in range(200):
        t = time.perf_counter()
        live.add(spot["code"], "social_work_station")
        adds.append(time.perf_counter() - t)
        live.remove(spot["code"], "social_work_station")
    live.add(spot["code"], "social_work_station")
    live_cov = live.as_state().coverage
    pd.testing.assert_frame_equal(live_cov, full.coverage)
    print(f"{n:>6} townships, {len(fac):>6} facilities, {len(full.coverage):>5} coverage rows: "
          f"full (assign + evaluate) {t_full:7.3f} s | evaluate only {t_eval:7.3f} s | "
          f"incremental by unit_code {t_code:7.3f} s | by lon/lat {t_point:7.3f} s | "
          f"speed-up vs full {t_full / t_code:5.1f}x (equal: yes)")
    print(f"{'':>6} live (coverage.incremental): build {t_build:6.3f} s once; one facility added "
          f"median {np.median(adds) * 1000:6.3f} ms, max {max(adds) * 1000:6.3f} ms (target < 10 ms; equal: yes)")


if __name__ == "__main__":
    for size in [int(a) for a in sys.argv[1:]] or [1300, 40000]:
        run(size)
