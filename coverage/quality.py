"""A summary of what was odd in the input, for quality.json and the data page."""
from __future__ import annotations

import pandas as pd

from coverage.assign import ASSIGNMENT_STATUSES, DUPLICATE_RULES
from coverage.config import CoverageConfig
from coverage.evaluate import operating_statuses


def status_summary(assigned: pd.DataFrame, config: CoverageConfig = CoverageConfig()) -> dict:
    """How the ledger's 状态 values were read: counts per canonical status, and every value the
    vocabulary does not know (not counted) or reads as 停用 (never counted), with facility ids."""
    canon = operating_statuses(assigned, config)
    raw = (assigned["operating_status"] if "operating_status" in assigned.columns
           else pd.Series("", index=assigned.index)).fillna("").astype(str).str.strip()
    out: dict = {"counts": {k: int(v) for k, v in canon.value_counts().items()},
                 "counted": list(config.counted_statuses)}
    for key, status in (("unknown", "未知"), ("never_counted", "停用")):
        hit = canon.eq(status).to_numpy()
        out[key] = [{"value": str(v), "count": int(len(g)), "facility_ids": g.astype(str).tolist()}
                    for v, g in assigned.loc[hit, "facility_id"].groupby(raw[hit].to_numpy())]
    return out


def quality_summary(assigned: pd.DataFrame, unit_report: dict | None = None, facility_report: dict | None = None,
                    prepare_report: dict | None = None, topology: dict | None = None, *,
                    config: CoverageConfig = CoverageConfig(), excluded_units: pd.DataFrame | None = None) -> dict:
    """Counts and id lists of every kind of problem found (JSON-serialisable)."""
    summary: dict = {"facilities_total": int(len(assigned))}
    status_counts = assigned["status"].value_counts()
    summary["status_counts"] = {k: int(status_counts.get(k, 0)) for k in ASSIGNMENT_STATUSES}
    problems = {}
    for status in ("outside", "no_coordinates", "duplicate", "unknown_class", "by_address"):
        ids = assigned.loc[assigned["status"] == status, "facility_id"].astype(str).tolist()
        problems[status] = {"label": ASSIGNMENT_STATUSES[status], "count": len(ids), "facility_ids": ids}
    edge = assigned.loc[assigned["on_edge"], "facility_id"].astype(str).tolist()
    problems["on_shared_edge"] = {"label": "位于乡镇交界线上(按最小代码归属一次)", "count": len(edge), "facility_ids": edge}
    summary["problems"] = problems
    summary["operating_status"] = status_summary(assigned, config)
    if "duplicate_of" in assigned.columns:
        dup = assigned[assigned["status"].eq("duplicate")]
        kept = assigned[assigned["status"].ne("duplicate")].drop_duplicates("facility_id")
        names = pd.Series(kept["name"].astype(str).to_numpy(), index=kept["facility_id"].astype(str).to_numpy())
        names = names[~names.index.duplicated(keep="last")]  # of ids that read alike as text, the last (as a dict keeps)
        kept_names = dup["duplicate_of"].astype(str).map(names).fillna("").tolist()
        summary["duplicates"] = [
            {"facility_id": str(r.facility_id), "name": str(r.name), "duplicate_of": str(r.duplicate_of),
             "duplicate_of_name": kept_name,
             "rule": DUPLICATE_RULES.get(str(getattr(r, "duplicate_rule", "")), str(getattr(r, "duplicate_rule", "")))}
            for r, kept_name in zip(dup.itertuples(index=False), kept_names)]
    if excluded_units is not None:
        summary["excluded_units"] = excluded_units.astype(str).to_dict("records")
    if facility_report:
        summary["unknown_class_labels"] = facility_report.get("unknown_classes", {})
        summary["classes_matched_by_containment"] = facility_report.get("contained_classes", [])
        summary["swapped_coordinates"] = facility_report.get("swapped", [])
        summary["facility_file"] = {k: facility_report.get(k) for k in (
            "filename", "rows", "encoding", "sheets", "columns_used", "notes")}
    if prepare_report:
        summary["point_system"] = prepare_report.get("point_system")
        summary["point_system_label"] = prepare_report.get("point_system_label")
        if "point_system_detection" in prepare_report:
            summary["point_system_detection"] = prepare_report["point_system_detection"]
        summary["bad_coordinates"] = prepare_report.get("bad_coordinates", [])
        summary["near_duplicates"] = prepare_report.get("near_duplicates", [])
        summary["unplaceable"] = prepare_report.get("unplaceable", [])
    if topology:
        summary["topology"] = topology
    if unit_report:
        summary["unit_file"] = {k: unit_report.get(k) for k in (
            "filename", "rows", "encoding", "crs", "crs_inferred", "columns_used", "notes", "repaired_geometries",
            "dropped_empty_geometries")}
    return summary
