"""A summary of what was odd in the input, for quality.json and the data page."""
from __future__ import annotations

import pandas as pd

from coverage.assign import ASSIGNMENT_STATUSES


def quality_summary(assigned: pd.DataFrame, unit_report: dict | None = None, facility_report: dict | None = None,
                    prepare_report: dict | None = None, topology: dict | None = None) -> dict:
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
    if facility_report:
        summary["unknown_class_labels"] = facility_report.get("unknown_classes", {})
        summary["swapped_coordinates"] = facility_report.get("swapped", [])
        summary["facility_file"] = {k: facility_report.get(k) for k in ("filename", "rows", "encoding", "sheets", "columns_used", "notes")}
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
