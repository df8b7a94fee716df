"""assign_facilities on hand-drawn geometry: holes, MultiPolygons, shared edges, outside points."""
import pandas as pd
import pytest

from coverage.assign import assign_facilities
from coverage.errors import CRSMismatchError
from tests.conftest import facilities_at


def codes(squares, points, classes=None):
    fac = facilities_at(points, classes or ["social_work_station"] * len(points))
    out = assign_facilities(squares(), fac)
    return out["unit_code"].where(out["unit_code"].notna(), None).tolist(), out


def test_point_in_filled_hole_goes_to_inner_unit(squares):
    got, _ = codes(squares, [(500, 500), (100, 100)])
    assert got == ["110101002", "110101001"]


def test_point_in_unfilled_hole_is_outside(squares):
    got, out = codes(squares, [(1500, 1500)])
    assert got == [None]
    assert out["status"].tolist() == ["outside"]


def test_multipolygon_exclave(squares):
    got, _ = codes(squares, [(3200, 3200)])
    assert got == ["110101100"]


@pytest.mark.parametrize("point, expected", [
    ((1000, 500), "110101001"),    # edge shared by A and C: lowest code wins
    ((1000, 1000), "110101001"),   # vertex shared by A, C, D, E
    ((500, 1000), "110101001"),    # edge A|D across districts
    ((1500, 1000), "110101100"),   # edge C|E
    ((400, 500), "110101001"),     # edge of the hole: A and B, lowest is A
])
def test_point_on_shared_edge_counted_once_lowest_code(squares, point, expected):
    got, out = codes(squares, [point])
    assert got == [expected]
    assert out["on_edge"].tolist() == [True]
    assert len(out) == 1


def test_edge_rule_is_independent_of_unit_order(squares):
    units = squares().iloc[::-1]
    out = assign_facilities(units, facilities_at([(1000, 500)], ["rescue_station"]))
    assert out["unit_code"].tolist() == ["110101001"]


def test_outside_missing_and_duplicate_are_reported_not_dropped(squares):
    fac = facilities_at([(100, 100), (9000, 9000), None, (100, 100), (200, 200)],
                        ["social_work_station", "social_work_station", "social_work_station", "social_work_station", None])
    fac.loc[3, "facility_id"] = "F1"  # same id as the first row
    out = assign_facilities(squares(), fac)
    assert len(out) == 5
    assert out["status"].tolist() == ["assigned", "outside", "no_coordinates", "duplicate", "unknown_class"]
    assert out.loc[4, "unit_code"] == "110101001"  # unknown class still located, but flagged


def test_district_code_attached(squares):
    _, out = codes(squares, [(500, 1500)])
    assert out["district_code"].tolist() == ["110102"]


def test_crs_mismatch_raises(squares):
    with pytest.raises(CRSMismatchError):
        assign_facilities(squares(), facilities_at([(1, 1)], ["rescue_station"], crs=4326))


def test_inputs_unchanged(squares):
    units = squares()
    fac = facilities_at([(100, 100)], ["rescue_station"])
    before_u, before_f = units.copy(), fac.copy()
    assign_facilities(units, fac)
    pd.testing.assert_frame_equal(units, before_u)
    pd.testing.assert_frame_equal(fac, before_f)
