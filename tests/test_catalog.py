"""The catalogues: classes, aliases, targets and their verbatim quotes."""
import pandas as pd
import pytest

from coverage.catalog import DATA_DIR, normalize_label, load_classes, load_targets, validate_targets
from coverage.errors import CatalogError
from tests.conftest import SEEDS

CLASSES = load_classes()
TARGETS = load_targets(capacity=True)  # every row, capacity targets (床位) included
REQUIRED = ["comprehensive_eldercare", "day_care", "rural_mutual_aid", "tekun_care", "social_work_station", "rescue_station",
            "minor_protection_station", "children_home", "funeral_home", "public_burial", "marriage_registry",
            "social_assistance_station", "child_welfare_regional", "child_welfare", "child_welfare_unit"]


def test_required_classes_present():
    assert set(REQUIRED) <= set(CLASSES.table["class_id"])


def test_every_target_names_an_existing_class():
    """A class id; capacity targets (床位) may name a class group instead (养老服务 = every class of it)."""
    from coverage.catalog import CAPACITY_MEASURES
    plain = TARGETS[~TARGETS["measure"].isin(CAPACITY_MEASURES)]
    assert set(plain["facility_class"]) <= set(CLASSES.table["class_id"])
    capacity = TARGETS[TARGETS["measure"].isin(CAPACITY_MEASURES)]
    assert set(capacity["facility_class"]) <= set(CLASSES.table["class_id"]) | set(CLASSES.table["group"])


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
    with pytest.raises(CatalogError, match="0%-100%"):
        validate_targets(bad, CLASSES)


def test_every_label_names_one_class():
    """Stricter than the loader: class ids, canonical names and aliases together never point at two classes."""
    owner: dict[str, str] = {}
    for r in CLASSES.table.itertuples():
        for label in [r.class_id, r.name, *r.aliases.split("|")]:
            key = normalize_label(label)
            assert key, f"{r.class_id}: empty alias"
            assert owner.setdefault(key, r.class_id) == r.class_id, f"{label!r}: {owner[key]} and {r.class_id}"


@pytest.mark.parametrize("label", [
    "社会救助站", "社会救助服务站", "乡镇社会救助服务站", "街道社会救助服务站", "乡镇（街道）社会救助服务站",
    "XX镇社会救助站", "社会救助服务窗口", "救助服务窗口", "一门受理窗口", "一站式“社会救助”窗口",
])
def test_township_social_assistance_is_not_a_rescue_station(label):
    assert CLASSES.match(label) == "social_assistance_station"


@pytest.mark.parametrize("label", ["救助站", "救助管理站", "XX县救助管理站", "区域性流浪乞讨人员救助管理站"])
def test_rescue_stations_still_match(label):
    assert CLASSES.match(label) == "rescue_station"


@pytest.mark.parametrize("label, expected", [
    ("儿童部", "child_welfare_unit"), ("儿童院", "child_welfare_unit"), ("XX县社会福利院儿童部", "child_welfare_unit"),
    ("儿童院（儿童部）", "child_welfare_unit"),
    ("儿童福利院", "child_welfare_regional"), ("区域性儿童福利机构", "child_welfare_regional"),
    ("孤儿区域性养育机构", "child_welfare_regional"), ("景德镇市儿童福利院", "child_welfare_regional"),
    ("非区域性儿童福利机构", "child_welfare"), ("儿童福利指导中心", "child_welfare"), ("浮梁县儿童福利院", "child_welfare"),
    ("儿童福利工作实体机构", "child_welfare"),
])
def test_child_welfare_classes_are_separate(label, expected):
    assert CLASSES.match(label) == expected


def _target(target_id):
    return TARGETS.set_index("target_id").loc[target_id]


def test_independent_child_welfare_excludes_children_units():
    jd08 = _target("JD-08")
    assert jd08["binding"] == "约束性"
    assert CLASSES.match("区域性儿童福利机构") == jd08["facility_class"]
    for label in ("儿童部", "社会福利院儿童部", "儿童院", "非区域性儿童福利机构", "儿童福利指导中心"):
        assert CLASSES.match(label) != jd08["facility_class"], label


def test_every_county_non_regional_child_welfare():
    t5 = _target("JD-T5")
    assert t5["unit_level"] == "县"
    assert t5["facility_class"] != _target("JD-08")["facility_class"]
    assert CLASSES.match("非区域性儿童福利机构") == t5["facility_class"]
    assert CLASSES.match("区域性儿童福利机构") != t5["facility_class"]
    assert CLASSES.match("儿童部") != t5["facility_class"]
    sy09 = _target("SY-09")  # text: 县(市、区)儿童福利工作实体机构建设项目
    assert sy09["unit_level"] == "县(市、区)" and sy09["facility_class"] == t5["facility_class"]


def test_shiyan_county_care_institutions_2022_and_2025():
    sy = TARGETS[TARGETS["plan"].str.startswith("十堰") & (TARGETS["facility_class"] == "county_care_center")]
    by_year = sy.set_index("target_year")
    assert {2022, 2025} <= set(by_year.index)
    assert "2022年底前" in by_year.loc[2022, "source_quote"] and "康复型、养护型" in by_year.loc[2022, "source_quote"]
    assert "县级供养服务设施" in by_year.loc[2025, "source_quote"]
    assert (sy["unit_level"] == "县(市、区)").all()


def test_jingdezhen_lottery_in_every_township():
    jd = TARGETS[TARGETS["plan"].str.startswith("景德镇") & (TARGETS["facility_class"] == "welfare_lottery")]
    row = jd[(jd["measure"] == "coverage") & (jd["unit_level"] == "乡镇")]
    assert len(row) == 1 and row["target_value"].iloc[0] == 1.0
    assert "所有乡镇" in row["source_quote"].iloc[0]


def test_manas_and_huzhou_have_targets():
    for prefix in ("玛纳斯县", "湖州市"):
        rows = TARGETS[TARGETS["plan"].str.startswith(prefix)]
        assert len(rows) >= 1 and (rows["source_quote"] != "").all(), prefix
    hz = TARGETS[TARGETS["plan"].str.startswith("湖州市")]
    assert "social_assistance_station" in set(hz["facility_class"])


def test_every_plan_has_an_area():
    plans = pd.read_csv(DATA_DIR / "plans.csv", dtype=str, keep_default_na=False)
    assert list(plans.columns) == ["plan", "area_code", "area_name", "note"]
    assert not plans["plan"].duplicated().any()
    assert set(plans["plan"]) == set(TARGETS["plan"])
    counties = pd.read_csv(DATA_DIR / "county_names.csv", dtype=str, keep_default_na=False)
    for r in plans.itertuples():
        if r.plan.startswith("通用"):
            assert r.area_code == ""
            continue
        assert r.area_code.isdigit() and len(r.area_code) in (2, 4, 6), r.plan
        hits = counties[counties["county_code"].str.startswith(r.area_code)]
        assert len(hits), f"{r.plan}: {r.area_code} not in county_names.csv"
        names = set(hits["county_name"]) | set(hits["city_name"]) | set(hits["province_name"])
        assert r.area_name in names, f"{r.plan}: {r.area_name} vs {sorted(names)[:5]}"


def test_targets_round_trip_through_the_editor_in_percent():
    from coverage.catalog import targets_as_text, targets_for_editing, targets_from_editing
    classes = load_classes()
    table = load_targets()
    shown = targets_for_editing(table, classes)
    sy01 = shown[shown["target_id"] == "SY-01"].iloc[0]
    assert (sy01["target_value"], sy01["measure"], sy01["facility_class"]) == (60, "覆盖率", "综合功能养老服务机构")
    back = validate_targets(targets_from_editing(shown, classes), classes)
    pd.testing.assert_frame_equal(back.reset_index(drop=True), table.reset_index(drop=True))
    assert targets_as_text(back).equals(targets_as_text(table))
