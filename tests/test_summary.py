"""Sentences written from the coverage table (coverage/summary.py)."""
import pandas as pd

from coverage.summary import area_sentence, district_gaps, district_sentence, target_summary


def cov_rows():
    base = {"target_id": "T", "indicator": "社工站覆盖率", "class_name": "社工站", "level": "乡镇(街道)", "measure": "coverage",
            "target_rate": 0.6, "target_value": 0.6, "no_data": False}
    rows = [
        {**base, "district_code": "ALL", "district_name": "全市", "units_total": 30, "units_covered": 10, "units_needed": 8},
        {**base, "district_code": "420304", "district_name": "郧阳区", "units_total": 19, "units_covered": 6, "units_needed": 6},
        {**base, "district_code": "420302", "district_name": "茅箭区", "units_total": 7, "units_covered": 2, "units_needed": 3},
        {**base, "district_code": "420303", "district_name": "张湾区", "units_total": 4, "units_covered": 3, "units_needed": 0},
    ]
    county = {**base, "target_id": "K", "class_name": "救助站", "level": "县(市、区)", "target_rate": 1.0}
    rows += [{**county, "district_code": "ALL", "district_name": "全市", "units_total": 3, "units_covered": 2, "units_needed": 1},
             {**county, "district_code": "420322", "district_name": "郧西县", "units_total": 1, "units_covered": 0, "units_needed": 1},
             {**county, "district_code": "420302", "district_name": "茅箭区", "units_total": 1, "units_covered": 1, "units_needed": 0}]
    return pd.DataFrame(rows)


def test_district_sentences_largest_gap_first():
    gaps = district_gaps(cov_rows(), "T")
    assert [district_sentence(r) for _, r in gaps.iterrows()] == ["郧阳区还需 6 个乡镇(街道)", "茅箭区还需 3 个乡镇(街道)"]
    assert [district_sentence(r) for _, r in district_gaps(cov_rows(), "K").iterrows()] == ["郧西县尚无救助站"]


def test_target_summary_reads_from_the_numbers():
    text = target_summary(cov_rows(), "T")
    assert text == ("全市已覆盖 10/30 个乡镇(街道), 还需 8 个乡镇(街道)才能达到 60%。"
                    "2 个区县未达标: 郧阳区还需 6 个乡镇(街道)、茅箭区还需 3 个乡镇(街道)。")
    nd = cov_rows().assign(no_data=True)
    assert "台账中无此类设施" in target_summary(nd, "T") and "郧阳区" not in target_summary(nd, "T")
    count = {"measure": "count", "units_covered": 425, "units_needed": 75, "target_value": 500.0, "no_data": False,
             "class_name": "福彩", "level": "全市"}
    assert area_sentence(count) == "全市现有 425 个, 还需 75 个才能达到 500 个"


def test_uncovered_list_says_how_many_are_needed():
    from coverage.summary import uncovered_summary, uncovered_with_gaps
    cov = cov_rows()
    unc = pd.DataFrame({"target_id": ["T"] * 16, "indicator": ["社工站覆盖率"] * 16,
                        "district_code": ["420304"] * 13 + ["420303"] * 1 + ["420302"] * 2,
                        "district_name": ["郧阳区"] * 13 + ["张湾区"] + ["茅箭区"] * 2,
                        "unit_code": [str(i) for i in range(16)], "unit_name": ["x"] * 16, "unit_kind": ["镇"] * 16})
    rows = uncovered_with_gaps(cov, unc)
    assert rows.loc[0, "district_needed"] == 6 and rows.loc[0, "district_uncovered"] == 13
    summary = uncovered_summary(cov, unc).set_index("district_name")
    assert summary.loc["郧阳区", "sentence"] == "郧阳区 13 个未覆盖, 补齐其中 6 个即可达标"
    assert summary.loc["张湾区", "needed"] == 0
