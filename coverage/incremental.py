"""Live coverage: add, remove or move one facility and update every indicator in microseconds.

`LiveCoverage` holds a `coverage.scenarios.CoverageState` as arrays: the number of counting
facilities per (township, class), which targets each class feeds, and, per coverage row, the
covered count. Adding a facility of class c to township u touches:

- nothing else when u already had a facility of c (coverage targets count townships, not
  facilities), except count targets, whose figure is the number of facilities;
- else, for each township-level target of c whose level counts u: the row of u's district and the
  whole-area row (covered +1, then rate, gap and met of those two rows);
- for each county-level target of c: the same two rows when u's district had no facility of c
  before (and is in the target's pool of districts);
- `facilities_in_ledger` / `no_data` of every row of c.

Removing is the same in reverse, moving is a removal then an addition. Capacity targets (beds) are
left as they are: counts carry no beds (`coverage.scenarios`' rule). The rows are the same numbers
`coverage.scenarios.coverage_from_counts` gives for the same counts (tests/test_incremental.py
checks random sequences of edits against it).
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import replace

import numpy as np
import pandas as pd

from coverage.catalog import CAPACITY_MEASURES
from coverage.errors import CoverageError
from coverage.evaluate import AREA_CODE, COUNTY_LEVELS, county_pool, units_at_level
from coverage.scenarios import CoverageState, _in_target_order


def _needed(target_rate: float, total: int, covered: int) -> int:
    return max(0, math.ceil(round(target_rate * total, 9)) - covered)


class LiveCoverage:
    """A coverage table kept up to date facility by facility (see the module docstring)."""

    def __init__(self, state: CoverageState):
        self.state = state
        units = state.units.reset_index(drop=True)
        self._unit_pos = {str(c): i for i, c in enumerate(units["code"])}
        self._unit_district = units["district_code"].astype(str).to_numpy()
        cov = state.coverage.reset_index(drop=True).copy()
        self._cov = cov
        self._row = {(t, d): i for i, (t, d) in enumerate(zip(cov["target_id"], cov["district_code"].astype(str)))}
        self._covered = cov["units_covered"].to_numpy(dtype=object).copy()
        counts = state.unit_counts
        self._n: dict[tuple[int, str], int] = defaultdict(int)
        for code, cls, n in zip(counts["unit_code"].astype(str), counts["facility_class"], counts["n"]):
            if code in self._unit_pos and n > 0:
                self._n[(self._unit_pos[code], cls)] += int(n)
        self._district_n: dict[tuple[str, str], int] = defaultdict(int)  # townships with the class, per district
        for (pos, cls), n in self._n.items():
            if n > 0:
                self._district_n[(self._unit_district[pos], cls)] += 1
        self._in_ledger = defaultdict(int, {k: int(v) for k, v in state.in_ledger.items()})
        # per class: the targets it feeds, with what each needs to know
        self._targets: dict[str, list[tuple]] = defaultdict(list)
        districts = units.drop_duplicates("district_code")[["district_code", "district_name"]].astype(str)
        for t in state.targets.itertuples(index=False):
            if t.measure in CAPACITY_MEASURES:
                continue
            if t.measure == "count":
                self._targets[t.facility_class].append((t.target_id, "count", None, float(t.target_value)))
            elif t.unit_level in COUNTY_LEVELS:
                pool = set(county_pool(districts, t.unit_level, state.config)["district_code"])
                self._targets[t.facility_class].append((t.target_id, "county", pool, float(t.target_value)))
            else:
                in_pool = np.zeros(len(units), dtype=bool)
                in_pool[units.index.get_indexer(units_at_level(units, t.unit_level, state.config).index)] = True
                self._targets[t.facility_class].append((t.target_id, "township", in_pool, float(t.target_value)))
        self._class_rows = cov.groupby("facility_class").indices
        self.changed_rows: set[int] = set()

    # ------------------------------------------------------------------ edits

    def add(self, unit_code: str, facility_class: str, n: int = 1) -> None:
        """A facility of `facility_class` counted in township `unit_code` (n of them; n < 0 removes)."""
        pos = self._unit_pos.get(str(unit_code))
        if pos is None:
            raise CoverageError(f"乡镇代码 {unit_code} 不在边界表中。")
        before = self._n[(pos, facility_class)]
        after = before + n
        if after < 0:
            raise CoverageError(f"乡镇 {unit_code} 没有可移除的「{facility_class}」设施。")
        self._n[(pos, facility_class)] = after
        district = self._unit_district[pos]
        township_flip = (before == 0) != (after == 0)
        step = 1 if after > before else -1
        district_before = self._district_n[(district, facility_class)]
        if township_flip:
            self._district_n[(district, facility_class)] = district_before + step
        district_flip = township_flip and (district_before == 0) != (self._district_n[(district, facility_class)] == 0)
        for target_id, kind, pool, goal in self._targets.get(facility_class, ()):
            if kind == "count":
                self._bump(target_id, district, n, goal, count=True)
            elif kind == "township" and township_flip and pool[pos]:
                self._bump(target_id, district, step, goal)
            elif kind == "county" and district_flip and district in pool:
                self._bump(target_id, district, step, goal)
        self._in_ledger[facility_class] += n
        rows = self._class_rows.get(facility_class, ())
        if len(rows):
            self._cov.loc[rows, "facilities_in_ledger"] = self._in_ledger[facility_class]
            self._cov.loc[rows, "no_data"] = self._in_ledger[facility_class] == 0
            self.changed_rows.update(int(r) for r in rows)

    def remove(self, unit_code: str, facility_class: str, n: int = 1) -> None:
        self.add(unit_code, facility_class, -n)

    def move(self, from_unit: str, to_unit: str, facility_class: str) -> None:
        """One facility moved between townships (a move within a township changes nothing)."""
        if str(from_unit) == str(to_unit):
            return
        self.remove(from_unit, facility_class)
        self.add(to_unit, facility_class)

    def _bump(self, target_id: str, district: str, step: int, goal: float, *, count: bool = False) -> None:
        for code in (district, AREA_CODE):
            i = self._row.get((target_id, code))
            if i is None:  # a district outside a county-level target's pool has no row
                continue
            covered = int(self._covered[i]) + step
            self._covered[i] = covered
            cov = self._cov
            cov.at[i, "units_covered"] = covered
            if count:
                if code == AREA_CODE:
                    needed = max(0, math.ceil(round(goal, 9)) - covered)
                    cov.at[i, "rate"] = covered / goal if goal else np.nan
                    cov.at[i, "units_needed"] = needed
                    cov.at[i, "met"] = needed == 0
            else:
                total = int(cov.at[i, "units_total"])
                needed = _needed(goal, total, covered)
                cov.at[i, "rate"] = covered / total if total else np.nan
                cov.at[i, "units_needed"] = needed
                cov.at[i, "met"] = needed == 0
            self.changed_rows.add(i)

    # ------------------------------------------------------------------ reading

    @property
    def coverage(self) -> pd.DataFrame:
        """The coverage table now (the live frame; copy it to keep a snapshot)."""
        return self._cov

    def unit_counts(self) -> pd.DataFrame:
        codes = np.array(list(self._unit_pos))
        rows = [(codes[pos], cls, n) for (pos, cls), n in self._n.items() if n > 0]
        return pd.DataFrame(rows, columns=["unit_code", "facility_class", "n"])

    def as_state(self) -> CoverageState:
        """A `CoverageState` of the counts now (for `coverage.scenarios`), with this coverage."""
        return replace(self.state, unit_counts=self.unit_counts(), in_ledger=dict(self._in_ledger),
                       coverage=_in_target_order(self._cov.copy(), self.state.targets))


__all__ = ["LiveCoverage"]
