"""coverage.access: straight-line distance coverage in metres in the area's GK zone."""
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Geod
from shapely.geometry import Point, box

from coverage.access import (
    DEMAND_TOWNSHIPS, DEMAND_VILLAGES, METHOD, NO_FACILITY_REASON, class_access, counted_facilities,
    nearest_facility, project_points, radius_metres, service_areas, share_within, township_access, working_epsg,
)
from coverage.assign import assign_facilities
from coverage.catalog import load_classes
from coverage.errors import AccessError, CoverageError
from tests.conftest import facilities_at

GEOD = Geod(ellps="GRS80")  # CGCS2000's ellipsoid
X0, Y0 = 500_000.0, 4_000_000.0  # on the central meridian of EPSG:4549 (120 E), about 36 N


def strip(cols: int, elderly=None, crs=4549) -> gpd.GeoDataFrame:
    """`cols` townships, 1 km squares side by side along x (centres at X0+500, X0+1500, ...)."""
    data = {"code": [f"37020200{i + 1}" for i in range(cols)], "name": [f"乡镇{i + 1}" for i in range(cols)],
            "district_code": ["370202"] * cols}
    if elderly is not None:
        data["elderly_population"] = elderly
    geoms = [box(X0 + 1000 * i, Y0, X0 + 1000 * (i + 1), Y0 + 1000) for i in range(cols)]
    return gpd.GeoDataFrame(data, geometry=geoms, crs=crs)


def at(*xy, crs=4549, classes=None) -> gpd.GeoDataFrame:
    pts = [(X0 + x, Y0 + y) for x, y in xy]
    return facilities_at(pts, classes or ["day_care"] * len(pts), crs=crs)


def lonlat_cloud(lon0: float, lat0: float, n: int, seed: int) -> gpd.GeoDataFrame:
    """`n` points spread over about 50 km around (lon0, lat0), WGS84."""
    rng = np.random.default_rng(seed)
    lon = lon0 + rng.uniform(-0.28, 0.28, n)
    lat = lat0 + rng.uniform(-0.22, 0.22, n)
    return gpd.GeoDataFrame({"facility_id": [f"P{i}" for i in range(n)]}, geometry=gpd.points_from_xy(lon, lat), crs=4326)


# ---------------------------------------------------------------- distances against geodesics

@pytest.mark.parametrize(("lon0", "lat0", "epsg"), [
    (120.38, 36.07, 4549),   # Qingdao, on the central meridian 120 E
    (118.52, 32.05, 4549),   # Nanjing, 1.5 degrees from 120 E: the edge of the zone
    (112.40, 23.10, 4546),   # near 111 E + 1.4: the other side of a zone, further south
])
def test_distances_agree_with_geodesics(lon0, lat0, epsg):
    cloud = lonlat_cloud(lon0, lat0, 40, seed=7)
    assert working_epsg(cloud) == epsg
    xy = project_points(cloud, epsg)
    lon, lat = cloud.geometry.x.to_numpy(), cloud.geometry.y.to_numpy()
    for j in (0, 1, 2):  # one facility at a time: every distance is to that facility
        dist, idx = nearest_facility(xy, xy[j:j + 1])
        _, _, geodesic = GEOD.inv(np.full(len(lon), lon[j]), np.full(len(lat), lat[j]), lon, lat)
        far = geodesic > 1000
        assert (idx == 0).all()
        assert np.abs(dist[far] / geodesic[far] - 1).max() < 0.005
        assert dist[j] == 0.0
    assert (np.hypot(*(xy.max(axis=0) - xy.min(axis=0))) > 40_000)


def test_township_distances_from_wgs84_layers_agree_with_geodesics():
    cloud = lonlat_cloud(118.5, 32.0, 12, seed=3)
    units = gpd.GeoDataFrame({"code": [f"32011500{i:1d}" for i in range(12)], "name": list("ABCDEFGHIJKL"),
                              "district_code": ["320115"] * 12},
                             geometry=[box(p.x - 0.001, p.y - 0.001, p.x + 0.001, p.y + 0.001) for p in cloud.geometry], crs=4326)
    facility = gpd.GeoDataFrame({"facility_id": ["F1"]}, geometry=[Point(118.55, 32.02)], crs=4326)
    result = township_access(units, facility, 30, facility_class="day_care")
    rep = units.to_crs(result.crs).geometry.representative_point().to_crs(4326)
    _, _, geodesic = GEOD.inv(rep.x.to_numpy(), rep.y.to_numpy(), np.full(12, 118.55), np.full(12, 32.02))
    assert np.abs(result.by_unit["nearest_m"].to_numpy() / geodesic - 1).max() < 0.005
    assert result.crs in ("EPSG:4548", "EPSG:4549")
    assert (result.by_unit["method"] == METHOD).all() and result.method == "直线距离"


# ---------------------------------------------------------------- hand cases (EPSG:4549, metres)

def test_share_within_hand_case_township_points():
    units = strip(4, elderly=[100, 200, 300, np.nan])
    result = township_access(units, at((500, 500)), 1.2, facility_class="day_care")
    by = result.by_unit.set_index("code")
    assert by["nearest_m"].tolist() == pytest.approx([0, 1000, 2000, 3000], abs=1e-6)
    assert by["within_radius"].tolist() == [True, True, False, False]
    assert by["nearest_facility_id"].tolist() == ["F1"] * 4
    assert result.share_within == 0.5          # (100 + 200) / (100 + 200 + 300); the unknown one left out
    assert (result.elderly_within, result.elderly_total) == (300, 600)
    assert result.demand == DEMAND_TOWNSHIPS and result.radius_m == 1200 and result.crs == "EPSG:4549"
    assert by["share_within"].iloc[:3].tolist() == [1.0, 1.0, 0.0] and math.isnan(by["share_within"].iloc[3])
    assert any("1 个乡镇缺少60岁以上人口" in n for n in result.notes)
    assert any("直线距离" in n for n in result.notes)


def test_share_within_hand_case_village_points():
    units = strip(3, elderly=[1, 1, 1])  # ignored: the villages are the demand
    villages = gpd.GeoDataFrame({"point_id": ["V1", "V2", "V3", "V4"], "elderly_population": [10, 30, 60, 5]},
                                geometry=[Point(X0 + 500, Y0 + 500), Point(X0 + 1900, Y0 + 500),
                                          Point(X0 + 2100, Y0 + 500), Point(X0 + 9000, Y0 + 500)], crs=4549)
    result = township_access(units, at((500, 500)), 1.5, demand_points=villages)
    assert result.demand == DEMAND_VILLAGES
    assert result.share_within == pytest.approx(40 / 105)   # V1 (0 m) and V2 (1400 m) within 1.5 km
    by = result.by_unit.set_index("code")
    assert by["elderly_population"].tolist() == [10, 30, 60]
    assert by["elderly_within"].tolist() == [10, 30, 0]
    assert by["share_within"].tolist() == [1.0, 1.0, 0.0]
    assert any("1 个村(社区)点不在任何乡镇范围内" in n for n in result.notes)
    points = result.by_point.set_index("point_id")
    assert points["nearest_m"].tolist() == pytest.approx([0, 1400, 1600, 8500])
    assert points["within_radius"].tolist() == [True, True, False, False]
    assert points["unit_code"].iloc[:3].tolist() == ["370202001", "370202002", "370202003"]
    assert pd.isna(points["unit_code"].iloc[3])
    assert township_access(units, at((500, 500)), 1.5).by_point is None


def test_nearest_picks_the_closest_facility_and_ties_go_first():
    dist, idx = nearest_facility(np.array([[0, 0], [10, 0], [5, 0]]), np.array([[10, 0], [0, 0], [np.nan, 0]]))
    assert dist.tolist() == [0, 0, 5] and idx.tolist() == [1, 0, 0]


def test_zero_facilities_distance_nan_with_reason_share_zero_with_note():
    units = strip(2, elderly=[100, 50])
    result = township_access(units, at(), 1.0, facility_class="tekun_care")
    assert result.by_unit["nearest_m"].isna().all()
    assert (result.by_unit["reason"] == NO_FACILITY_REASON).all()
    assert result.by_unit["nearest_facility_id"].isna().all()
    assert result.share_within == 0.0 and result.facilities_used == 0
    assert any("覆盖比例为 0" in n for n in result.notes)


def test_missing_elderly_is_said_and_never_divides_by_zero():
    units = strip(2)  # no elderly_population column at all
    with np.errstate(all="raise"):
        result = township_access(units, at((500, 500)), 1.0)
    assert math.isnan(result.share_within) and result.elderly_total == 0
    assert result.by_unit["share_within"].isna().all()
    assert result.by_unit["nearest_m"].tolist() == pytest.approx([0, 1000])
    assert any("缺少60岁以上人口" in n for n in result.notes)
    zero = township_access(strip(2, elderly=[0, 0]), at(), 1.0)
    assert math.isnan(zero.share_within)
    assert any("合计为 0" in n for n in zero.notes) and not any("覆盖比例为 0" in n for n in zero.notes)
    assert share_within(np.array([1.0]), np.array([0.0]), 5.0) == (0.0, 0.0, pytest.approx(float("nan"), nan_ok=True))


def test_facility_without_coordinates_is_noted():
    facilities = facilities_at([(X0 + 500, Y0 + 500), None], ["day_care", "day_care"], crs=4549)
    result = township_access(strip(1, elderly=[10]), facilities, 1.0)
    assert result.facilities_used == 1 and result.share_within == 1.0
    assert any("1 个设施没有坐标" in n for n in result.notes)


@pytest.mark.parametrize("radius", [0, -1, float("nan"), float("inf"), "abc", None, 1000])
def test_bad_radius_is_refused_in_chinese(radius):
    with pytest.raises(AccessError, match="服务半径") as err:
        township_access(strip(1), at((500, 500)), radius)
    assert isinstance(err.value, CoverageError) and isinstance(err.value, ValueError)
    with pytest.raises(AccessError, match="服务半径"):
        service_areas(at((500, 500)), radius)


def test_radius_in_kilometres_becomes_metres():
    assert radius_metres(1) == 1000.0 and radius_metres("1.5") == 1500.0


def test_inputs_unchanged():
    units, facilities = strip(3, elderly=[1, 2, 3]), at((500, 500))
    before_u, before_f = units.copy(), facilities.copy()
    township_access(units, facilities, 1.0)
    service_areas(facilities, 1.0)
    pd.testing.assert_frame_equal(units, before_u)
    pd.testing.assert_frame_equal(facilities, before_f)


# ---------------------------------------------------------------- which facilities count

def test_class_access_counts_what_the_evaluation_counts():
    classes = load_classes()
    units = strip(3, elderly=[100, 100, 100])
    facilities = at((500, 500), (2500, 500), (1500, 500), (9000, 500),
                    classes=["day_care", "day_care", "tekun_care", "day_care"])
    facilities["operating_status"] = ["运营", "停用", "运营", "运营"]  # F2 closed, F4 outside every township
    assigned = assign_facilities(units, facilities)
    chosen = counted_facilities(facilities, assigned, classes, "day_care")
    assert chosen["facility_id"].tolist() == ["F1"]
    result = class_access(units, facilities, assigned, classes, "day_care", 1.0)
    assert result.facilities_used == 1 and result.facility_class == "day_care"
    assert result.share_within == pytest.approx(2 / 3)


# ---------------------------------------------------------------- service-radius layer

def test_service_areas_built_in_metres_returned_in_wgs84():
    facilities = gpd.GeoDataFrame({"facility_id": ["F1", "F2"], "name": ["甲", "乙"]},
                                  geometry=[Point(120.38, 36.07), Point(120.40, 36.07)], crs=4326)
    circles = service_areas(facilities, 1.0)
    assert circles.crs.to_epsg() == 4326
    assert circles["radius_m"].tolist() == [1000.0, 1000.0] and (circles["method"] == METHOD).all()
    area = circles.to_crs(4549).area.to_numpy()
    assert area == pytest.approx(math.pi * 1e6, rel=2e-3)
    ring = np.asarray(circles.geometry.iloc[0].exterior.coords)
    _, _, d = GEOD.inv(np.full(len(ring), 120.38), np.full(len(ring), 36.07), ring[:, 0], ring[:, 1])
    assert np.abs(d / 1000 - 1).max() < 0.005
    merged = service_areas(facilities, 1.0, dissolve=True)
    assert len(merged) == 1 and merged["n_facilities"].iloc[0] == 2
    assert merged.to_crs(4549).area.iloc[0] < 2 * math.pi * 1e6


def test_service_areas_of_no_facilities_is_empty():
    assert service_areas(at(), 1.0).empty
    assert service_areas(at(), 1.0, dissolve=True).empty


def test_layer_without_crs_is_refused():
    units = strip(1).set_crs(None, allow_override=True)
    with pytest.raises(CoverageError, match="坐标系"):
        township_access(units, at((500, 500)), 1.0)


# ---------------------------------------------------------------- demo county (Shiyan)

def test_demo_county_nearest_distances_match_geodesics():
    from pathlib import Path

    from geodata.io import read_facilities, read_units

    demo = Path(__file__).resolve().parents[1] / "data" / "demo"
    classes = load_classes()
    units, _ = read_units(demo / "shiyan_townships.geojson")
    facilities, _ = read_facilities(demo / "shiyan_facilities.csv", None, classes)
    assigned = assign_facilities(units, facilities)
    result = class_access(units, facilities, assigned, classes, "tekun_care", 10)
    assert len(result.by_unit) == len(units) and 0 < result.share_within < 1
    assert result.crs == "EPSG:4546" and result.elderly_total == pytest.approx(units["elderly_population"].sum())
    by_id = counted_facilities(facilities, assigned, classes, "tekun_care").set_index("facility_id").geometry
    rep = units.to_crs(4546).geometry.representative_point().to_crs(4326)
    nearest = by_id.loc[result.by_unit["nearest_facility_id"]]
    _, _, geodesic = GEOD.inv(rep.x.to_numpy(), rep.y.to_numpy(), nearest.x.to_numpy(), nearest.y.to_numpy())
    assert np.abs(result.by_unit["nearest_m"].to_numpy() / geodesic - 1).max() < 0.005
