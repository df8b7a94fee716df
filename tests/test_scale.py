"""The fast paths of issue 11 against straightforward references on generated data: topology (bulk
pairwise tests, coverage union) against a pair-by-pair loop and a union of everything; sampled
coordinate-system detection against detection on every row; address matching by look-up against
a search for every name; class matching per distinct label against matching every row; evaluate()
against counting by hand; near-duplicates against comparing every pair."""
import math
from difflib import SequenceMatcher

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Polygon, box

from coverage.assign import assign_facilities
from coverage.catalog import load_classes, normalize_label
from coverage.config import CoverageConfig
from coverage.evaluate import AREA_CODE, evaluate
from geodata import topology
from geodata.chinacoords import wgs84_to_bd09, wgs84_to_gcj02
from geodata.clean import near_duplicates
from geodata.crs import gk3_epsg
from geodata.io import _match_classes
from geodata.pointcrs import detect_point_system, detection_sample, match_address, match_district

CLASSES = load_classes()
CELL = 0.01  # degrees: ~1 km townships, so a 400-700 m GCJ-02 shift moves many points across borders


# ---------------------------------------------------------------- generated layers

def grid_layer(side: int = 12, *, seed: int = 1, wiggle: bool = True) -> gpd.GeoDataFrame:
    """side x side townships of CELL degrees near 110.5E 32.5N whose shared edges wiggle (drawn once
    for both neighbours), codes/names/districts as in real layers (4 x 4 townships per district)."""
    rng = np.random.default_rng(seed)
    k = 6
    t = np.linspace(0, 1, k + 1)
    amp = 0.15 if wiggle else 0.0
    horiz = amp * np.sin(np.pi * t) * rng.uniform(-1, 1, (side + 1, side, 1))
    vert = amp * np.sin(np.pi * t) * rng.uniform(-1, 1, (side, side + 1, 1))
    geoms, codes, names, dcodes, dnames = [], [], [], [], []
    for r in range(side):
        for c in range(side):
            ring = ([(c + s, r + h) for s, h in zip(t[:-1], horiz[r, c][:-1])]
                    + [(c + 1 + v, r + s) for s, v in zip(t[:-1], vert[r, c + 1][:-1])]
                    + [(c + s, r + 1 + h) for s, h in zip(t[::-1][:-1], horiz[r + 1, c][::-1][:-1])]
                    + [(c + v, r + s) for s, v in zip(t[::-1][:-1], vert[r, c][::-1][:-1])])
            geoms.append(Polygon([(110.5 + x * CELL, 32.5 + y * CELL) for x, y in ring]))
            d = (r // 4) * 10 + c // 4 + 1
            seq = (r % 4) * 4 + c % 4
            kind = ["街道", "镇", "乡"][seq % 3]
            codes.append(f"4203{d:02d}{[0, 100, 200][seq % 3] + seq + 1:03d}000")
            names.append(["青山", "城关", "黄龙", "白桑", "柳林", "向阳"][seq % 6] + f"{'甲乙丙丁'[seq % 4]}" + kind)
            dcodes.append(f"4203{d:02d}")
            dnames.append(f"{['张湾', '茅箭', '郧阳', '房'][d % 4]}{d}" + ("区" if d % 2 else "县"))
    return gpd.GeoDataFrame({"code": codes, "name": names, "district_code": dcodes, "district_name": dnames,
                             "kind": [n[-1] if not n.endswith("街道") else "街道" for n in names]},
                            geometry=geoms, crs=4326)


def with_defects(units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Overlaps (a township grown, one duplicated, one shifted), gaps (one shrunk, a hole cut in a
    township) and an enclave (a hole filled by another township) added to a clean layer."""
    out = units.copy()
    g = out.geometry.to_numpy().copy()
    g[5] = shapely.affinity.scale(g[5], 1.03, 1.03)
    g[30] = shapely.affinity.scale(g[30], 0.96, 0.96)
    g[50] = shapely.affinity.translate(g[50], CELL * 0.05, 0)
    c = g[70].centroid
    hole = box(c.x - CELL * 0.1, c.y - CELL * 0.1, c.x + CELL * 0.1, c.y + CELL * 0.1)
    g[70] = Polygon(g[70].exterior.coords, [hole.exterior.coords])
    c = g[90].centroid
    g[90] = Polygon(g[90].exterior.coords, [box(c.x - CELL * 0.1, c.y - CELL * 0.1, c.x, c.y).exterior.coords])
    out = out.set_geometry(g)
    extra = out.iloc[[20, 20]].copy()
    extra["code"] = ["420399900000", "420399901000"]
    extra = extra.set_geometry([g[20], hole])  # a duplicate of township 20, and the enclave filling 70's hole
    return pd.concat([out, extra], ignore_index=True)


def brute_force_topology(units: gpd.GeoDataFrame):
    """The pair-by-pair loop and union of everything that `topology_problems` replaced."""
    geoms = units.geometry.to_numpy()
    codes = units["code"].tolist()
    overlaps = []
    for i in range(len(geoms)):
        for j in range(i + 1, len(geoms)):
            inter = shapely.intersection(geoms[i], geoms[j])
            if shapely.area(inter) > 0:
                overlaps.append((f"{codes[i]},{codes[j]}", inter))
    union = shapely.union_all(geoms)
    gaps = [shapely.Polygon(ring) for poly in getattr(union, "geoms", [union]) for ring in poly.interiors]
    return overlaps, gaps


def _same(a, b) -> bool:
    """Equal regions: intersection points computed in another order may differ in the last bits."""
    return float(shapely.area(shapely.symmetric_difference(a, b))) <= 1e-9 * max(float(shapely.area(b)), 1e-30)


@pytest.mark.parametrize("wiggle,screen_chunk", [(True, topology.SCREEN_CHUNK), (False, topology.SCREEN_CHUNK), (True, 16), (False, 16)])
def test_topology_equals_pairwise_reference(wiggle, screen_chunk, monkeypatch):
    """Also with chunks of 16 townships screened by coverage union (`_overlap_free_chunks`), so
    that clean chunks skip their pairwise tests and the defects sit in chunks that must not."""
    monkeypatch.setattr(topology, "SCREEN_CHUNK", screen_chunk)
    units = with_defects(grid_layer(wiggle=wiggle))
    topology._cache.clear()
    problems = topology.topology_problems(units)
    overlaps, gaps = brute_force_topology(units)
    found = problems[problems["kind"] == "overlap"]
    assert sorted(found["unit_codes"]) == sorted(code for code, _ in overlaps)
    by_codes = dict(overlaps)
    assert all(shapely.equals(g, by_codes[c]) for c, g in zip(found["unit_codes"], found.geometry))
    got_gaps = problems[problems["kind"] == "gap"].geometry.to_numpy()
    assert len(got_gaps) == len(gaps) >= 3  # the shrunk township's ring, the shifted one's gap, 90's hole ...
    assert all(any(_same(g, ref) for ref in gaps) for g in got_gaps)
    assert len(found) >= 5  # the grown township with its neighbours, the shifted one, the duplicate


def test_overlap_screen_proves_clean_chunks_only(monkeypatch):
    """Chunks whose coverage union proves them free of overlaps are labelled; no overlapping pair
    lies inside one proven chunk (grown, shifted, duplicated townships, the enclave)."""
    monkeypatch.setattr(topology, "SCREEN_CHUNK", 16)
    units = with_defects(grid_layer(wiggle=True))
    geoms = units.geometry.to_numpy()
    label = topology._overlap_free_chunks(geoms)
    left, right, _ = topology.overlap_pairs(geoms)
    assert len(left) >= 5 and not ((label[left] >= 0) & (label[left] == label[right])).any()
    assert (label >= 0).sum() >= len(geoms) // 2  # most chunks are clean and proven so
    clean = grid_layer(side=12, wiggle=True).geometry.to_numpy()
    assert (topology._overlap_free_chunks(clean) >= 0).all()


def test_topology_with_unmatched_edges_falls_back_and_agrees():
    # T-junctions: the right square's shared edge has an extra vertex, so coverage union cannot run
    units = gpd.GeoDataFrame({"code": ["1", "2", "3", "4"]}, geometry=[
        box(0, 0, 1, 1), Polygon([(1, 0), (2, 0), (2, 1), (1, 1), (1, 0.5)]),
        box(0, 1, 2, 2).difference(box(0.2, 1.2, 0.4, 1.4)), box(0, -1, 2, 0)], crs=4326)
    units = units.set_geometry(units.geometry.scale(0.01, 0.01, origin=(0, 0)).translate(110, 32))
    topology._cache.clear()
    problems = topology.topology_problems(units)
    _, gaps = brute_force_topology(units)
    assert problems["kind"].tolist() == ["gap"] and _same(problems.geometry.iloc[0], gaps[0])


def test_topology_is_cached_per_layer_and_returns_copies():
    units = with_defects(grid_layer(side=10))
    topology._cache.clear()
    first = topology.topology_problems(units)
    first.loc[:, "kind"] = "changed"
    again = topology.topology_problems(units)
    assert (again["kind"] != "changed").all() and len(topology._cache) == 1
    moved = units.copy()
    moved.geometry = moved.geometry.translate(0.001, 0)
    topology.topology_problems(moved)
    assert len(topology._cache) == 2  # another geometry, another entry


# ---------------------------------------------------------------- coordinate systems and addresses

def ledger(units: gpd.GeoDataFrame, n: int, system: str, *, seed: int = 3, address_share: float = 0.7) -> pd.DataFrame:
    """Facilities spread over the layer, in `system`, most with an address naming their township."""
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = units.total_bounds
    lon, lat = rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n)
    pi, ui = units.sindex.query(shapely.points(lon, lat), predicate="within")
    home = np.full(n, -1)
    home[pi] = ui
    conv = {"wgs84": lambda x, y: (x, y), "gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}[system]
    x, y = conv(lon, lat)
    named = (rng.uniform(size=n) < address_share) & (home >= 0)
    u = units.iloc[np.where(home >= 0, home, 0)]
    address = np.where(named, "湖北省十堰市" + u["district_name"].to_numpy() + u["name"].to_numpy() + "幸福路1号", "")
    return pd.DataFrame({"facility_id": [f"F{i}" for i in range(n)], "x_raw": x, "y_raw": y, "address": address,
                         "stated_township": "", "stated_district": ""})


@pytest.mark.parametrize("system", ["wgs84", "gcj02", "bd09"])
def test_sampled_detection_gives_the_full_answer(system):
    units = grid_layer(side=16)
    fac = ledger(units, 3000, system)
    full = detect_point_system(fac, units, sample_size=10**9)
    sampled = detect_point_system(fac, units, sample_size=400)
    assert full.best == sampled.best == system
    assert "抽取 400 个" in sampled.evidence and "抽取" not in full.evidence
    assert int(sampled.table["with_hint"].iloc[0]) == 400  # rows naming a place are drawn first


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_detection_without_addresses_tests_every_point(system):
    units = grid_layer(side=16)
    fac = ledger(units, 3000, system, address_share=0.0)
    full = detect_point_system(fac, units, sample_size=10**9)
    small = detect_point_system(fac, units, sample_size=400)
    assert full.best == small.best == system
    pd.testing.assert_frame_equal(full.table, small.table)  # no sample: the points inside decide


@pytest.mark.parametrize("system", ["wgs84", "gcj02", "bd09"])
def test_detection_by_points_inside_counts_as_township_by_township(system, monkeypatch):
    """A long ledger without addresses is counted inside the layer by point-in-polygon tests on arrays: the same points
    inside, hence the same table and answer, as assigning township by township (gaps and a grid edge
    included: the generated layer has a hole and points fall outside it)."""
    import geodata.pointcrs as pointcrs

    units = grid_layer(side=16)
    units = units[~units.index.isin([40, 41, 57])]  # a hole inside the layer
    fac = ledger(units, 3000, system, address_share=0.0)
    monkeypatch.setattr(pointcrs, "COUNT_INSIDE_FROM", 10**9)
    township = detect_point_system(fac, units, sample_size=400)
    monkeypatch.setattr(pointcrs, "COUNT_INSIDE_FROM", 100)
    counted = detect_point_system(fac, units, sample_size=400)
    assert counted.best == township.best == system
    pd.testing.assert_frame_equal(counted.table, township.table)
    assert 0 < counted.table["inside"].min() < len(fac)


def test_detection_without_addresses_on_a_national_ledger_tests_the_larger_sample(monkeypatch):
    import geodata.pointcrs as pointcrs

    monkeypatch.setattr(pointcrs, "INSIDE_SAMPLE", 1_000)
    units = grid_layer(side=16)
    fac = ledger(units, 3000, "gcj02", address_share=0.0)
    found = detect_point_system(fac, units, sample_size=400)
    assert found.best == "gcj02" and "抽取 1000 个" in found.evidence
    assert int(found.table["inside"].max()) <= 1000


def test_detection_sample_is_seeded_and_prefers_rows_with_addresses():
    units = grid_layer(side=8)
    fac = ledger(units, 1000, "gcj02", address_share=0.1)
    rows = detection_sample(fac, 200)
    assert np.array_equal(rows, detection_sample(fac, 200)) and np.all(np.diff(rows) > 0)
    named = fac["address"].ne("").to_numpy()
    assert named[rows].sum() == min(200, named.sum())
    assert np.array_equal(detection_sample(fac, 5000), np.arange(len(fac)))  # small ledgers: every row


def reference_match_address(addresses: pd.Series, units: pd.DataFrame) -> list:
    """Every township name searched in every address, longest first (the loop the look-up replaced)."""
    by_name: dict = {}
    for code, name, district in units[["code", "name", "district_name"]].astype(str).itertuples(index=False):
        if len(name) >= 2:
            by_name.setdefault(name, []).append((code, district))
    ordered = sorted(by_name, key=len, reverse=True)
    out = []
    for addr in addresses.fillna("").astype(str):
        code = None
        for name in ordered:
            if name in addr:
                cands = by_name[name]
                if len(cands) > 1:
                    cands = [c for c in cands if c[1] and c[1] in addr]
                code = cands[0][0] if len(cands) == 1 else None
                break
        out.append(code)
    return out


def reference_match_district(addresses: pd.Series, units: pd.DataFrame) -> list:
    districts = units[["district_code", "district_name"]].drop_duplicates().astype(str)
    out = []
    for addr in addresses.fillna("").astype(str):
        hit = [c for c, n in districts.itertuples(index=False) if len(n) >= 2 and n in addr]
        out.append(hit[0] if len(hit) == 1 else None)
    return out


@pytest.mark.slow
def test_address_matching_equals_search_of_every_name():
    units = pd.DataFrame(grid_layer(side=8).drop(columns="geometry"))
    units.loc[3, "name"] = "城关甲街道办"  # a name containing another township's name
    units.loc[4, "name"] = "关"           # too short to match
    rng = np.random.default_rng(5)
    parts = list(units["name"]) + list(units["district_name"]) + ["湖北省", "十堰市", "城关", "幸福路", "", "大道"]
    addresses = pd.Series(["".join(rng.choice(parts, size=rng.integers(0, 5))) for _ in range(3000)]
                          + [None, "", "城关甲街道办城关甲街道"], dtype=object)
    assert match_address(addresses, units).tolist() == reference_match_address(addresses, units)
    assert match_district(addresses, units).tolist() == reference_match_district(addresses, units)
    assert match_address(addresses.iloc[0:0], units).empty


# ---------------------------------------------------------------- class matching

def test_class_matching_per_label_equals_per_row():
    labels = pd.Series(["养老服务中心", "社工站", "XX镇敬老院", "", "不明类型", "社 工 站", "幸福院", "儿童之家", "(空)"] * 50,
                       name="class_raw")
    mapping = {"不明类型": "none", "XX镇敬老院": "social_work_station", "幸福院": "not_a_class"}
    for frame in (labels, labels.astype(object)):
        cls, how = _match_classes(frame, CLASSES, mapping)
        expected = []
        for label in frame:
            chosen = {normalize_label(k): v for k, v in mapping.items()}.get(normalize_label(label))
            expected.append((None, "mapped_none") if chosen == "none" else (chosen, "mapped") if chosen == "social_work_station"
                            else CLASSES.match_how(label))
        assert [None if pd.isna(c) else c for c in cls] == [e[0] for e in expected]
        assert how.tolist() == [e[1] for e in expected]
        assert cls.dtype == object and cls.index.equals(frame.index)


# ---------------------------------------------------------------- evaluate

def target(tid, cls, level, value, measure="coverage"):
    return {"target_id": tid, "plan": "测试", "indicator": f"指标{tid}", "facility_class": cls, "measure": measure,
            "unit_level": level, "target_value": value, "target_year": 2025, "binding": "预期性"}


def test_evaluate_equals_counting_by_hand():
    units = grid_layer(side=8)
    units.loc[units.index % 11 == 0, "kind"] = "类似乡级单位"
    rng = np.random.default_rng(9)
    n = 400
    pts = units.geometry.sample_points(1, rng=rng).explode().to_numpy()[rng.integers(0, len(units), n)]
    kinds = ["social_work_station", "rescue_station", "day_care", "children_home"]
    fac = gpd.GeoDataFrame({"facility_id": [f"F{i}" for i in range(n)], "name": [f"设施{i}" for i in range(n)],
                            "facility_class": rng.choice(kinds, n, p=[0.2, 0.02, 0.3, 0.48]),
                            "operating_status": rng.choice(["运营", "运营", "在建"], n)}, geometry=pts, crs=4326)
    targets = pd.DataFrame([target("A", "social_work_station", "乡镇(街道)", 0.6), target("B", "day_care", "街道", 1.0),
                            target("C", "rescue_station", "县(市、区)", 1.0), target("D", "children_home", "乡镇", 0.5),
                            target("E", "day_care", "全市", 30, "count")])
    assigned = assign_facilities(units, fac)
    res = evaluate(pd.DataFrame(units.drop(columns="geometry")), assigned, targets, CLASSES)
    counted = assigned[assigned["status"].eq("assigned") & assigned["operating_status"].eq("运营")]
    plain = pd.DataFrame(units.drop(columns="geometry"))
    levels = {"乡镇(街道)": plain["kind"] != "类似乡级单位", "街道": plain["kind"] == "街道",
              "乡镇": plain["kind"].isin(["镇", "乡"])}
    for t in targets.itertuples():
        rows = res.coverage[res.coverage["target_id"] == t.target_id]
        have = counted[counted["facility_class"] == t.facility_class]
        if t.measure == "count":
            per = have.groupby("district_code").size()
            for r in rows.itertuples():
                assert r.units_covered == (len(have) if r.district_code == AREA_CODE else per.get(r.district_code, 0))
            area = rows[rows["district_code"] == AREA_CODE].iloc[0]
            assert area.units_needed == max(0, 30 - len(have)) and area.rate == len(have) / 30
            continue
        if t.unit_level == "县(市、区)":
            pool = plain.drop_duplicates("district_code")[["district_code"]].assign(code=lambda d: d["district_code"])
            covered = set(have["district_code"])
            unit_of = pool["district_code"]
        else:
            pool = plain[levels[t.unit_level]]
            covered = set(have["unit_code"])
            unit_of = pool["code"]
        is_cov = unit_of.isin(covered)
        expect = {d: (int(m.sum()), int(is_cov[m].sum())) for d, m in
                  ((d, pool["district_code"] == d) for d in sorted(pool["district_code"].unique()))}
        expect[AREA_CODE] = (len(pool), int(is_cov.sum()))
        got = {r.district_code: (r.units_total, r.units_covered) for r in rows.itertuples()}
        assert got == expect
        assert list(rows["district_code"]) == sorted(k for k in expect if k != AREA_CODE) + [AREA_CODE]
        for r in rows.itertuples():
            assert r.units_needed == max(0, math.ceil(round(t.target_value * r.units_total, 9)) - r.units_covered)
            assert r.met == (r.units_needed == 0) and r.rate == r.units_covered / r.units_total
        unc = res.uncovered[res.uncovered["target_id"] == t.target_id]
        assert sorted(unc["unit_code"]) == sorted(unit_of[~is_cov])
    assert list(res.coverage.columns[:5]) == ["district_code", "district_name", "target_id", "indicator", "facility_class"]
    assert res.coverage["units_total"].dtype == object and res.coverage["rate"].dtype == float  # count rows hold pd.NA


def test_evaluate_without_targets_or_facilities_keeps_the_empty_tables():
    units = pd.DataFrame(grid_layer(side=3).drop(columns="geometry"))
    empty = assign_facilities(grid_layer(side=3), gpd.GeoDataFrame(
        {"facility_id": [], "name": [], "facility_class": []}, geometry=[], crs=4326))
    res = evaluate(units, empty, pd.DataFrame([target("A", "social_work_station", "乡镇(街道)", 0.6)]), CLASSES)
    assert res.coverage["units_covered"].eq(0).all() and len(res.uncovered) == len(units)
    none = evaluate(units, empty, pd.DataFrame([target("A", "x", "街道", 1)]).iloc[0:0], CLASSES, config=CoverageConfig())
    assert none.coverage.empty and none.uncovered.empty and list(none.uncovered.columns)[0] == "district_code"


# ---------------------------------------------------------------- near-duplicates

def test_near_duplicates_equal_comparing_every_pair():
    units = grid_layer(side=4)
    rng = np.random.default_rng(2)
    n = 300
    base = units.geometry.sample_points(1, rng=rng).explode().to_numpy()[rng.integers(0, len(units), 60)]
    x = shapely.get_x(base)[rng.integers(0, 60, n)] + rng.normal(0, 0.0003, n)
    y = shapely.get_y(base)[rng.integers(0, 60, n)] + rng.normal(0, 0.0003, n)
    fac = gpd.GeoDataFrame({"facility_id": [f"F{i % 290}" for i in range(n)],
                            "name": rng.choice(["甲社工站", "甲社工站分站", "乙照料中心", "丙"], n),
                            "facility_class": rng.choice(["social_work_station", "day_care", None], n)},
                           geometry=shapely.points(x, y), crs=4326)
    got = near_duplicates(fac, units, radius_m=60).tolist()
    # reference: every pair in order, within 60 m in the area's GK zone, same township and class
    metric = fac.to_crs(gk3_epsg(110.5))
    mx, my = metric.geometry.x.to_numpy(), metric.geometry.y.to_numpy()
    township = [None] * n
    for i, p in enumerate(fac.geometry):
        hits = sorted(c for c, g in zip(units["code"], units.geometry) if g.covers(p))
        township[i] = hits[0] if hits else ""
    ref = [None] * n
    for i in range(n):
        for j in range(i + 1, n):
            if ref[j] is not None or ref[i] is not None or math.hypot(mx[i] - mx[j], my[i] - my[j]) > 60:
                continue
            a, b = normalize_label(fac["name"].iloc[i]), normalize_label(fac["name"].iloc[j])
            same = a == b or a in b or b in a or SequenceMatcher(None, a, b).ratio() >= 0.8
            cls = fac["facility_class"].iloc[i]
            if (township[i] == township[j] and isinstance(cls, str) and cls == fac["facility_class"].iloc[j] and same
                    and fac["facility_id"].iloc[i] != fac["facility_id"].iloc[j]):
                ref[j] = fac["facility_id"].iloc[i]
    assert got == ref and sum(r is not None for r in ref) > 10


def test_township_kinds_of_a_layer_equal_one_at_a_time():
    """`township_kinds` (column operations, each distinct ending decided once) gives `township_kind`
    of every row: suffixes, bracketed notes, full-width text, code segments, bad and missing codes."""
    from coverage.admin import township_kind, township_kinds

    rng = np.random.default_rng(5)
    pieces = ["镇", "乡", "街道", "林场", "农场", "区", "(新)", "（旧）", "办事处", "社区", " ", "ＡＢ", "管委会", "开发区"]
    names = ["城关镇", "某镇(一)(二)", "ＡＢ镇 ", None, "开发区管委会", "红星农场（原）", "", "xx"]
    codes = ["420302001", "420302 150", "42030212", None, "420302500123", "abc", "420302001", "420302399"]
    for _ in range(2_000):
        names.append("".join(rng.choice(list("东南西北中上下城关") + pieces, size=rng.integers(0, 6))) + rng.choice(pieces))
        codes.append(str(rng.integers(10**8, 10**12)) if rng.random() < 0.9 else ["", None, "12ab34567890"][rng.integers(3)])
    got = township_kinds(pd.Series(names), pd.Series(codes))
    assert list(got) == [township_kind(n, c) for n, c in zip(names, codes)]
    assert set(got) >= {"街道", "镇", "乡", "类似乡级单位", "其他"}
