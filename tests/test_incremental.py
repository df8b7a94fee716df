"""LiveCoverage: facility-by-facility updates equal a recomputation from the same counts."""
import numpy as np
import pandas as pd
import pytest

from coverage.catalog import load_classes
from coverage.errors import CoverageError
from coverage.evaluate import AREA_CODE
from coverage.incremental import LiveCoverage
from coverage.scenarios import coverage_from_counts, state_from_result

CLASSES = load_classes()


@pytest.fixture(scope="module")
def state(demo):
    units, _, targets, _, res = demo
    return state_from_result(units, targets, CLASSES, res)


@pytest.mark.slow
def test_random_edits_equal_a_recomputation(state):
    live = LiveCoverage(state)
    rng = np.random.default_rng(7)
    codes = state.units["code"].tolist()
    classes = sorted(set(state.targets["facility_class"]) & set(CLASSES.names))
    added: list[tuple[str, str]] = []
    for step in range(300):
        what = rng.integers(3)
        if what == 0 or not added:
            code, cls = codes[rng.integers(len(codes))], classes[rng.integers(len(classes))]
            live.add(code, cls)
            added.append((code, cls))
        elif what == 1:
            code, cls = added.pop(rng.integers(len(added)))
            live.remove(code, cls)
        else:
            i = rng.integers(len(added))
            code, cls = added[i]
            to = codes[rng.integers(len(codes))]
            live.move(code, to, cls)
            added[i] = (to, cls)
        if step % 60 == 59:
            now = live.as_state()
            pd.testing.assert_frame_equal(now.coverage, coverage_from_counts(now))


def test_one_site_moves_only_its_district_and_area_rows(state):
    live = LiveCoverage(state)
    unc = state.coverage[(state.coverage["target_id"] == "SY-01") & (state.coverage["district_code"] != AREA_CODE)]
    district = unc.sort_values("units_needed").iloc[-1]["district_code"]
    units = state.units[state.units["district_code"] == district]
    covered = set(state.unit_counts.loc[state.unit_counts["facility_class"] == "comprehensive_eldercare", "unit_code"])
    code = next(c for c in units["code"] if c not in covered)
    before = live.coverage.copy()
    live.changed_rows.clear()
    live.add(code, "comprehensive_eldercare")
    after = live.coverage
    def covered(frame):  # NA (bed rows) as -1: pandas compares NA != NA as NA
        return pd.to_numeric(frame["units_covered"], errors="coerce").fillna(-1).to_numpy()
    moved = before.index[covered(before) != covered(after)]
    touched = after.loc[moved, ["target_id", "district_code"]].apply(tuple, axis=1).tolist()
    assert ("SY-01", district) in touched and ("SY-01", AREA_CODE) in touched
    assert all(code_ in (district, AREA_CODE) for _, code_ in touched), touched
    a = after.set_index(["target_id", "district_code"]).loc[("SY-01", district)]
    b = before.set_index(["target_id", "district_code"]).loc[("SY-01", district)]
    assert a["units_covered"] == b["units_covered"] + 1 and a["units_needed"] == max(0, b["units_needed"] - 1)
    live.add(code, "comprehensive_eldercare")  # a second one in the same township changes no coverage row
    assert after.set_index(["target_id", "district_code"]).loc[("SY-01", district), "units_covered"] == a["units_covered"]


def test_bad_edits_are_refused_in_chinese(state):
    live = LiveCoverage(state)
    with pytest.raises(CoverageError, match="不在边界表中"):
        live.add("999999999", "day_care")
    empty = next(c for c in state.units["code"]
                 if c not in set(state.unit_counts.loc[state.unit_counts["facility_class"] == "marriage_registry", "unit_code"]))
    with pytest.raises(CoverageError, match="没有可移除"):
        live.remove(empty, "marriage_registry")
