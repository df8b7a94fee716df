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
        Facility operating statuses (运营/在建/规划) that count towards coverage. Default: only
        facilities in operation (运营). Rows with no status are treated as 运营.
    functional_zones_as_districts
        Whether districts whose name marks a functional zone (开发区, 特区, 度假区, 新区, 高新区,
        管委会) count as county units in county-level denominators. Their townships always count
        in township-level indicators.
    """

    edge_rule: EdgeRule = "lowest_code"
    counted_statuses: tuple[str, ...] = ("运营",)
    functional_zones_as_districts: bool = True

    def __post_init__(self) -> None:
        if self.edge_rule not in EDGE_RULES:
            raise ValueError(f"`edge_rule` was {self.edge_rule!r}; expected one of {list(EDGE_RULES)}.")


FUNCTIONAL_ZONE_MARKERS: tuple[str, ...] = ("开发区", "特区", "度假区", "新区", "高新区", "管委会", "管理区")
