"""The catalogues: classes, aliases, targets and their verbatim quotes."""
import pandas as pd
import pytest

from coverage.catalog import load_classes, load_targets, validate_targets
from coverage.errors import CatalogError
from tests.conftest import SEEDS

CLASSES = load_classes()
TARGETS = load_targets()
REQUIRED = ["comprehensive_eldercare", "day_care", "rural_mutual_aid", "tekun_care", "social_work_station", "rescue_station",
            "minor_protection_station", "children_home", "funeral_home", "public_burial", "marriage_registry"]


def test_required_classes_present():
    assert set(REQUIRED) <= set(CLASSES.table["class_id"])


def test_every_target_names_an_existing_class():
    assert set(TARGETS["facility_class"]) <= set(CLASSES.table["class_id"])


def test_plans_covered():
    plans = set(TARGETS["plan"])
    assert {"十堰市民政事业发展十四五规划", "景德镇市民政事业发展十四五规划", "咸宁市2022年全市民政工作要点", "通用(无本地规划时)"} <= plans
    generic = TARGETS[TARGETS["plan"] == "通用(无本地规划时)"].set_index("facility_class")
    assert generic.loc["comprehensive_eldercare", "target_value"] == 0.6
    assert generic.loc["social_work_station", "target_value"] == 1.0
    assert generic.loc["minor_protection_station", "target_value"] == 0.5
    assert generic.loc["rescue_station", "unit_level"] == "县(市、区)"
    assert generic.loc["public_burial", "unit_level"] == "县(市、区)"
    sy = TARGETS[TARGETS["plan"].str.startswith("十堰")]
    assert {"表1第7项", "表1第9项", "表1第10项"} <= set(sy["source_ref"])
    assert sy.set_index("source_ref").loc["表1第7项", "binding"] == "约束性"


def test_every_quote_is_verbatim_in_the_seeds():
    if not SEEDS.exists():
        pytest.skip("../shared/seeds is absent")
    quoted = TARGETS[TARGETS["source_seed"] != ""]
    assert len(quoted) >= 25
    for r in quoted.itertuples():
        text = (SEEDS / r.source_seed).read_text(encoding="utf-8")
        for piece in r.source_quote.split("…"):
            assert piece and piece in text, f"{r.target_id}: {piece!r} not in {r.source_seed}"


@pytest.mark.parametrize("label, expected", [
    ("养老服务中心", "comprehensive_eldercare"), ("社工站", "social_work_station"), ("救助站", "rescue_station"),
    ("公墓", "public_burial"), ("经营性公墓", "commercial_cemetery"), ("XX镇敬老院", "tekun_care"),
    ("社会工作服务站", "social_work_station"), ("社工总站", "social_work_hub"), ("  养老服务中心 ", "comprehensive_eldercare"),
    ("公益性安葬（放）设施", "public_burial"), ("老年大学", None), ("", None), (None, None),
])
def test_alias_matching(label, expected):
    assert CLASSES.match(label) == expected


def test_invalid_target_rows_are_all_reported():
    bad = TARGETS.astype(str).copy()
    bad.loc[0, "facility_class"] = "no_such_class"
    bad.loc[1, "target_value"] = "六成"
    bad.loc[2, "unit_level"] = "村"
    with pytest.raises(CatalogError) as err:
        validate_targets(bad, CLASSES)
    assert len(err.value.problems) == 3
    assert "no_such_class" in str(err.value)


def test_coverage_target_must_be_a_share():
    bad = TARGETS.astype(str).copy()
    bad.loc[0, "target_value"] = "60"
    with pytest.raises(CatalogError, match="0-1"):
        validate_targets(bad, CLASSES)
