"""Settings of one coverage computation, passed explicitly (never module globals)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

EdgeRule = Literal["lowest_code"]
EDGE_RULES: tuple[str, ...] = ("lowest_code",)


@dataclass(frozen=True)
class CoverageConfig:
    """How facilities are counted.

    edge_rule
        "lowest_code": a facility exactly on a boundary shared by several townships is counted
        once, in the township with the lexicographically lowest `code`. Deterministic and
        independent of row order.
    counted_statuses
        Facility operating statuses (运营/在建/规划, canonical names of `data/operating_statuses.csv`)
        that count towards coverage. Default: only facilities in operation (运营). Rows with no
        status are 运营; synonyms (运营中, 正常运营 ...) are read through the vocabulary; 停用 and
        unrecognised values never count (they are listed in the quality report).
    count_other_units
        Whether 乡镇(街道) targets also count 类似乡级单位 (林场, 农场, 管委会, 开发区 ...; township code
        segment 400-599). Default False: 街道 + 镇 + 乡, as the indicator is worded; the units left
        out are listed with the result.
    status_mapping
        The planner's own operating-status values mapped to canonical ones ((raw, status) pairs),
        applied before the vocabulary in `data/operating_statuses.csv`.
    functional_zones_as_districts
        Whether districts whose name marks a functional zone (开发区, 特区, 度假区, 新区, 高新区,
        管委会) count as county units in county-level denominators. Their townships always count
        in township-level indicators.
    """

    edge_rule: EdgeRule = "lowest_code"
    counted_statuses: tuple[str, ...] = ("运营",)
    functional_zones_as_districts: bool = True
    count_other_units: bool = False
    status_mapping: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.edge_rule not in EDGE_RULES:
            raise ValueError(f"`edge_rule` was {self.edge_rule!r}; expected one of {list(EDGE_RULES)}.")


FUNCTIONAL_ZONE_MARKERS: tuple[str, ...] = ("开发区", "特区", "度假区", "新区", "高新区", "管委会", "管理区")
