"""Shared fixtures: hand-drawn township squares (EPSG:4549, metres), paths to real data."""
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import MultiPolygon, Point, Polygon, box

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
QINGDAO = SHARED / "data" / "qingdao-osm" / "townships.geojson"
SEEDS = SHARED / "seeds"


def pytest_xdist_auto_num_workers(config) -> int:
    """Workers for `-n auto` (pytest.ini): two for the quick set (`-m "not slow and not browser"`:
    plain computations and AppTest pages, safe side by side), none (one process, in order) when
    browser or slow tests are selected, as in `.ci/run`: those start servers and Chromium whose
    timings should not share two cores with another worker."""
    expr = (config.option.markexpr or "").replace(" ", "")
    return 2 if "notslow" in expr and "notbrowser" in expr else 0


@pytest.fixture
def squares():
    """Factory: a small township layer.

    A 110101001 街道 [0,1000]^2 with a hole [400,600]^2 filled by B 110101002 街道
    C 110101100 镇 [1000,2000]x[0,1000] plus an exclave [3000,3500]^2 (MultiPolygon)
    D 110102200 乡 [0,1000]x[1000,2000] (another district, 110102)
    E 110101101 镇 [1000,2000]x[1000,2000] with an unfilled hole [1400,1600]x[1400,1600]
    """
    def make():
        a = Polygon(box(0, 0, 1000, 1000).exterior.coords, [box(400, 400, 600, 600).exterior.coords])
        b = box(400, 400, 600, 600)
        c = MultiPolygon([box(1000, 0, 2000, 1000), box(3000, 3000, 3500, 3500)])
        d = box(0, 1000, 1000, 2000)
        e = Polygon(box(1000, 1000, 2000, 2000).exterior.coords, [box(1400, 1400, 1600, 1600).exterior.coords])
        return gpd.GeoDataFrame({
            "code": ["110101001", "110101002", "110101100", "110102200", "110101101"],
            "name": ["甲街道", "乙街道", "丙镇", "丁乡", "戊镇"],
            "district_code": ["110101", "110101", "110101", "110102", "110101"],
            "district_name": ["一区", "一区", "一区", "二县", "一区"],
            "kind": ["街道", "街道", "镇", "乡", "镇"],
        }, geometry=[a, b, c, d, e], crs=4549)
    return make


def facilities_at(points: list[tuple[float, float]], classes: list[str | None], crs=4549, **extra) -> gpd.GeoDataFrame:
    """Facility points with ids F1..Fn."""
    data = {"facility_id": [f"F{i + 1}" for i in range(len(points))], "name": [f"设施{i + 1}" for i in range(len(points))],
            "facility_class": classes}
    data.update(extra)
    geoms = [Point(p) if p is not None else None for p in points]
    return gpd.GeoDataFrame(pd.DataFrame(data), geometry=geoms, crs=crs)


@pytest.fixture
def qingdao_path():
    if not QINGDAO.exists():
        pytest.skip("../shared/data/qingdao-osm is absent")
    return QINGDAO


def target_row(tid, cls, level="乡镇(街道)", value=0.6, measure="coverage") -> dict:
    """One plan-target row (catalogue columns) for hand-built cases."""
    return {"target_id": tid, "plan": "测试", "indicator": f"指标{tid}", "facility_class": cls, "measure": measure,
            "unit_level": level, "target_value": value, "target_year": 2025, "binding": "预期性",
            "source_seed": "", "source_ref": "", "source_quote": "", "note": ""}


@pytest.fixture(scope="session")
def demo():
    """The built-in demo (十堰) read as the CLI reads it and evaluated on the 十堰 plan:
    (units, facilities, targets, assigned, CoverageResult). Shared: treat as read-only."""
    from coverage.__main__ import load_inputs, plan_for_data
    from coverage.catalog import load_classes, load_targets
    from coverage.evaluate import evaluate_layers
    from geodata.demo import load_demo

    classes = load_classes()
    u, f = load_demo()
    units, fac, *_ = load_inputs(u, f, classes)
    targets, _ = plan_for_data(load_targets(classes=classes), "十堰", units["code"])
    assigned, res = evaluate_layers(units, fac, targets, classes)
    return units, fac, targets, assigned, res
