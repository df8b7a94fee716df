"""Benchmark (run on demand, not a test): the shared store at national scale.

Generated in a temporary folder:
- townships: a grid of 0.05 x 0.04 degree squares (lon 98-, lat 24-, EPSG:4326) whose edges are
  densified to ~300 vertices each (straight edges: simpler than real boundaries, same vertex count),
  12-digit codes (400 townships per county), written as a GeoPackage layer;
- a ledger CSV with PER_TOWNSHIP facilities per township (编号, 名称, 类型, 经度, 纬度, 状态, 床位数), WGS84.

Timed (wall clock; each CLI run in its own process, as a planner runs it):
- `store import` of both files into a new GeoPackage store and into PostgreSQL + PostGIS (a private
  server started as in tests/pg_server.py, skipped when the binaries are absent), and inside that the
  store's own `import_dataset` (the transaction alone);
- `compute` from the files and `compute --store` from each store; the outputs are compared byte for byte.

Usage: .venv/bin/python tools/benchmark_store.py [--townships 40000] [--per-township 10] [--no-postgis] [--keep DIR]
"""
from __future__ import annotations

import argparse
import filecmp
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CELL = (0.05, 0.04)
EDGE_VERTICES = 75  # per edge: 4 x 75 = 300 per ring


def generate(folder: Path, n: int, per: int) -> tuple[Path, Path]:
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    import shapely

    side = int(np.ceil(np.sqrt(n)))
    i = np.arange(n)
    x0, y0 = 98.0 + (i % side) * CELL[0], 24.0 + (i // side) * CELL[1]
    t = np.linspace(0, 1, EDGE_VERTICES, endpoint=False)
    rings = []
    for a, b in zip(x0, y0):
        w, h = CELL
        xs = np.concatenate([a + w * t, np.full_like(t, a + w), a + w - w * t, np.full_like(t, a)])
        ys = np.concatenate([np.full_like(t, b), b + h * t, np.full_like(t, b + h), b + h - h * t])
        rings.append(np.column_stack([np.append(xs, xs[0]), np.append(ys, ys[0])]))
    geoms = shapely.polygons(rings)
    county = i // 400
    codes = [f"{42 + c // 100:02d}{(c // 10) % 10 + 1:02d}{c % 10 + 1:02d}{(k % 400) + 1:03d}000" for c, k in zip(county, i)]
    units = gpd.GeoDataFrame({"code": codes, "name": [f"第{k}镇" for k in i], "district_code": [c[:6] for c in codes]},
                             geometry=geoms, crs=4326)
    units_path = folder / "townships.gpkg"
    units.to_file(units_path, driver="GPKG", layer="townships", engine="pyogrio")
    rng = np.random.default_rng(3)
    m = n * per
    owner = np.repeat(i, per)
    kinds = ["社工站", "区域养老服务中心", "社区日间照料中心", "儿童之家", "敬老院", "救助站", "农村互助幸福院", "殡仪馆"]
    ledger = pd.DataFrame({
        "编号": [f"F{k:07d}" for k in range(m)], "名称": [f"设施{k}" for k in range(m)],
        "类型": rng.choice(kinds, m), "经度": np.round(x0[owner] + rng.uniform(0.002, CELL[0] - 0.002, m), 6),
        "纬度": np.round(y0[owner] + rng.uniform(0.002, CELL[1] - 0.002, m), 6),
        "状态": rng.choice(["运营"] * 18 + ["在建", "停业"], m), "床位数": rng.integers(0, 200, m)})
    ledger_path = folder / "ledger.csv"
    ledger.to_csv(ledger_path, index=False, encoding="utf-8")
    return units_path, ledger_path


def run(argv: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "coverage", *argv], cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(argv)}\n{done.stderr[-2000:]}")
    return seconds


def transaction_seconds(target: str, units_path: Path, ledger_path: Path) -> float:
    """The store's import_dataset alone (files read and prepared beforehand), into a fresh store."""
    from coverage.__main__ import load_inputs
    from coverage.catalog import load_classes
    from store import open_store

    units, facilities, ur, fr, pr = load_inputs(units_path, ledger_path, load_classes(), facility_crs="wgs84")
    st = open_store(target)
    start = time.perf_counter()
    st.import_dataset(units, facilities, "基准", facility_system="wgs84", unit_report=ur, facility_report=fr,
                      prepare_report=pr)
    seconds = time.perf_counter() - start
    st.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--townships", type=int, default=40_000)
    parser.add_argument("--per-township", type=int, default=10)
    parser.add_argument("--no-postgis", action="store_true")
    parser.add_argument("--keep", type=Path, help="keep the generated files and stores here")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="mz-bench-store-"))
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    server = None
    try:
        t = time.perf_counter()
        units_path, ledger_path = generate(folder, args.townships, args.per_township)
        print(f"generated {args.townships:,} townships (~{4 * EDGE_VERTICES} vertices each) and "
              f"{args.townships * args.per_township:,} facilities in {time.perf_counter() - t:.1f} s "
              f"({units_path.stat().st_size / 1e6:.0f} MB + {ledger_path.stat().st_size / 1e6:.0f} MB)", flush=True)
        files = ["--units", str(units_path), "--facilities", str(ledger_path), "--facility-crs", "wgs84"]
        rows.append(("compute from files", run(["compute", *files, "--out", str(folder / "out-files")])))
        targets = {"GeoPackage": str(folder / "store.gpkg")}
        if not args.no_postgis:
            from tests.pg_server import PgServer

            why = PgServer.unavailable()
            if why:
                print(f"PostGIS skipped: {why}")
            else:
                server = PgServer()
                server.start()
                targets["PostGIS"] = server.create_database("bench")
                server.create_database("bench_tx")
        for name, target in targets.items():
            rows.append((f"store import -> {name} (CLI, end to end)",
                         run(["store", "import", "--store", target, *files, "--user", "基准"])))
            rows.append((f"compute --store {name}", run(["compute", "--store", target, "--out", str(folder / f"out-{name}")])))
            same = all(filecmp.cmp(folder / "out-files" / f, folder / f"out-{name}" / f, shallow=False)
                       for f in ("assignments.csv", "coverage.csv", "uncovered.csv", "quality.json"))
            rows.append((f"  outputs identical to compute from files ({name})", "yes" if same else "NO"))
            tx_target = str(folder / "store-tx.gpkg") if name == "GeoPackage" else server.url("bench_tx")
            rows.append((f"  import_dataset transaction alone -> {name}", transaction_seconds(tx_target, units_path, ledger_path)))
        if (folder / "store.gpkg").exists():
            size = sum(p.stat().st_size for p in folder.glob("store.gpkg*"))
            rows.append(("GeoPackage store size (MB)", f"{size / 1e6:.0f}"))
    finally:
        if server is not None:
            server.stop()
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"\n{args.townships:,} townships / {args.townships * args.per_township:,} facilities")
    for label, value in rows:
        print(f"{label:<58} {value:>8.1f} s" if isinstance(value, float) else f"{label:<58} {value:>8}")


if __name__ == "__main__":
    main()
