"""Benchmark (run on demand, not a test): exact siting (coverage.siting, PuLP + bundled CBC) at
county scale: 1,000 demand points, 200 candidates, 10 existing sites, generated (seeded) over a
~60 x 60 km area in one CGCS2000 3-degree GK zone (CM 114E, around Wuhan).

Usage: python tools/benchmark_siting.py [--demand 1000] [--candidates 200] [--radius-km 5] [--seed 0] [--time-limit S]
Prints, per model: matrix time (projection + coverage matrix), model build time, CBC solve time,
proven-optimal flag and the result.
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coverage.errors import SitingError  # noqa: E402
from coverage.siting import coverage_matrix, maximize_coverage, minimize_sites, to_working_xy  # noqa: E402


def generate(n_demand: int, n_candidates: int, n_existing: int, seed: int):
    """Demand clustered around 12 towns (weights ~ elderly per village), candidates and existing
    sites spread uniformly; WGS84 degrees."""
    rng = np.random.default_rng(seed)
    lon0, lat0, span = 114.0, 30.3, 0.6
    towns = np.column_stack([lon0 + rng.uniform(0, span, 12), lat0 + rng.uniform(0, span, 12)])
    pick = rng.integers(0, 12, n_demand)
    lon = np.clip(towns[pick, 0] + rng.normal(0, 0.05, n_demand), lon0, lon0 + span)
    lat = np.clip(towns[pick, 1] + rng.normal(0, 0.05, n_demand), lat0, lat0 + span)
    demand = pd.DataFrame({"id": [f"D{i}" for i in range(n_demand)], "lon": lon, "lat": lat,
                           "weight": rng.integers(20, 800, n_demand).astype(float)})

    def uniform(n, prefix):
        return pd.DataFrame({"id": [f"{prefix}{i}" for i in range(n)], "lon": lon0 + rng.uniform(0, span, n),
                             "lat": lat0 + rng.uniform(0, span, n)})

    return demand, uniform(n_candidates, "C"), uniform(n_existing, "E")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--demand", type=int, default=1000)
    ap.add_argument("--candidates", type=int, default=200)
    ap.add_argument("--existing", type=int, default=10)
    ap.add_argument("--radius-km", type=float, default=5.0)
    ap.add_argument("--new-sites", type=int, default=20)
    ap.add_argument("--cover-share", type=float, default=0.8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--time-limit", type=float, default=None, help="CBC time limit per solve, seconds")
    args = ap.parse_args()
    demand, candidates, existing = generate(args.demand, args.candidates, args.existing, args.seed)
    t = time.perf_counter()
    (dxy, cxy, exy), epsg = to_working_xy(demand, candidates, existing)
    cover = coverage_matrix(dxy, cxy, args.radius_km * 1000)
    already = coverage_matrix(dxy, exy, args.radius_km * 1000).any(axis=1)
    matrix_s = time.perf_counter() - t
    w = demand["weight"].to_numpy()
    print(f"{args.demand} demand points, {args.candidates} candidates, {args.existing} existing, "
          f"radius {args.radius_km:g} km, EPSG:{epsg}; cover matrix {cover.sum()} pairs "
          f"({cover.any(axis=1).mean():.1%} of demand reachable by some candidate)")
    print(f"{'projection + coverage matrix':<34} {matrix_s:7.3f} s")
    runs = [(f"MCLP N={args.new_sites}", lambda: maximize_coverage(cover, w, args.new_sites, covered_already=already,
                                                                 time_limit_s=args.time_limit)),
            (f"LSCP share={args.cover_share:g}", lambda: minimize_sites(cover, w, args.cover_share, covered_already=already,
                                                                    time_limit_s=args.time_limit))]
    for label, fn in runs:
        t = time.perf_counter()
        try:
            r = fn()
        except SitingError as err:
            print(f"{label:<34} refused: {err}")
            continue
        wall = time.perf_counter() - t
        print(f"{label:<34} build {r.build_s:7.3f} s  solve {r.solve_s:7.3f} s  (wall {wall:.3f} s)  "
              f"optimal={r.optimal}  status={r.status}  new_sites={r.new_sites}  "
              f"covered={r.covered_share:.2%} (existing alone {r.existing_weight / r.total_weight:.2%})")


if __name__ == "__main__":
    main()
