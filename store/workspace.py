"""The app's workspace on the shared store: what `geodata.workspace` did with a folder of files, done
in the store as one user (every save one transaction, recorded in the history with who and when).

`StoreWorkspace(store, user)` is what the pages hold for a session: its methods mirror the folder
workspace's (state, save_dataset, class/status mappings, scenarios, chosen plans, plan areas,
population files) so the pages keep their shape. Reading is open to every role; writing raises
`PermissionDenied` for 查看 (the store checks the role inside each write, so a crafted request from a
viewer's session is refused all the same).

Settings kept in the store (`Store.settings()`): ``source`` ("workspace" or "demo": which data the
department looks at), ``units_file`` / ``facilities_file`` / ``source_record`` (where the data came
from), ``plans_chosen`` ({source: plan}).
"""
from __future__ import annotations

import pandas as pd

from coverage.errors import PermissionDenied


class StoreWorkspace:
    """The workspace of one session: a `store.Store` and the acting user's name."""

    def __init__(self, store, user: str):
        self.store, self.user = store, user

    # ------------------------------------------------------------------ which data
    def state(self) -> dict:
        """{"source": "workspace" | "demo", "units_file", "facilities_file", "source_record", ...}:
        "workspace" only when the department chose its data and the store holds a dataset."""
        data = dict(self.store.settings())
        has_data = self.store.dataset_version() > 0
        data["source"] = "workspace" if has_data and data.get("source", "workspace") != "demo" else "demo"
        return data

    def set_source(self, source: str, **info) -> None:
        self.store.save_settings(self.user, source=source, **info)

    def save_dataset(self, units, facilities, *, units_file: str, facilities_file: str, source_record: dict | None = None,
                     facility_system: str = "wgs84", unit_report: dict | None = None, facility_report: dict | None = None,
                     prepare_report: dict | None = None, based_on: int | None = None):
        """Replace the township layer and the ledger (one change), then make them the data in use."""
        change = self.store.import_dataset(units, facilities, self.user, facility_system=facility_system,
                                           unit_report=unit_report, facility_report=facility_report,
                                           prepare_report=prepare_report, source_record=source_record or {},
                                           based_on=based_on)
        chosen = self.state().get("plans_chosen") if isinstance(self.state().get("plans_chosen"), dict) else {}
        self.store.save_settings(self.user, source="workspace", units_file=units_file, facilities_file=facilities_file,
                                 source_record=source_record or {},
                                 plans_chosen={k: v for k, v in chosen.items() if k != "workspace"})
        return change

    # ------------------------------------------------------------------ mappings
    def class_mapping(self) -> dict[str, str]:
        return self.store.class_mapping()

    def save_class_mapping(self, mapping: dict[str, str]):
        return self.store.save_class_mapping(mapping, self.user)

    def status_mapping(self) -> dict[str, str]:
        return self.store.status_mapping()

    def save_status_mapping(self, mapping: dict[str, str]):
        return self.store.save_status_mapping(mapping, self.user)

    # ------------------------------------------------------------------ plans
    def chosen_plan(self, source: str) -> str | None:
        value = self.store.settings().get("plans_chosen", {})
        return value.get(source) if isinstance(value, dict) else None

    def save_chosen_plan(self, source: str, plan: str) -> None:
        """Remember the plan chosen for this data (not for a viewer: choosing is not a change)."""
        chosen = self.store.settings().get("plans_chosen", {})
        chosen = chosen if isinstance(chosen, dict) else {}
        if chosen.get(source) == plan:
            return
        try:
            self.store.save_settings(self.user, plans_chosen=chosen | {source: plan})
        except PermissionDenied:
            pass

    def plan_areas(self) -> dict[str, str]:
        return self.store.plan_areas()

    # ------------------------------------------------------------------ scenarios
    def load_scenarios(self) -> dict[str, pd.DataFrame]:
        return self.store.scenarios()

    def scenario_versions(self) -> dict[str, int]:
        return self.store.scenario_versions()

    def save_scenarios(self, scenarios: dict[str, pd.DataFrame], *, based_on: dict[str, int] | None = None):
        return self.store.save_scenarios(scenarios, self.user, based_on=based_on)

    # ------------------------------------------------------------------ population files
    def population_file(self, kind: str):
        """(bytes as uploaded, record) or None."""
        return self.store.population_file(kind)

    def save_population_file(self, kind: str, raw: bytes, filename: str, **how):
        return self.store.save_population_file(kind, raw, filename, self.user, **how)

    def remove_population_file(self, kind: str):
        return self.store.remove_population_file(kind, self.user)


__all__ = ["StoreWorkspace"]


#: The ledger columns the 设施编辑 table shows and lets a planner change (store `EDITABLE` subset).
EDIT_COLUMNS = ("facility_id", "name", "facility_class", "operating_status", "beds", "nursing_beds", "lon", "lat", "address")


def _same(a, b) -> bool:
    if (a is None or (not isinstance(a, str) and pd.isna(a))) and (b is None or (not isinstance(b, str) and pd.isna(b))):
        return True
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(float(a) - float(b)) < 1e-9
    return str(a) == str(b)


def facility_edits(before: pd.DataFrame, after: pd.DataFrame) -> list[dict]:
    """The store edits (`Store.edit_facilities`) that turn the table a planner was shown (`before`,
    with uid and version) into the table they left (`after`, same columns): changed cells as updates
    made on the row's version, rows deleted as removals, rows added (no uid) as additions."""
    edits: list[dict] = []
    old = before.set_index("uid")
    kept = set()
    for row in after.to_dict("records"):
        uid = row.get("uid")
        fields = {c: row.get(c) for c in EDIT_COLUMNS if c in row}
        if uid is None or (not isinstance(uid, str) and pd.isna(uid)) or uid not in old.index:
            if any(v is not None and not (not isinstance(v, str) and pd.isna(v)) and v != "" for v in fields.values()):
                edits.append({"op": "add", "fields": {k: v for k, v in fields.items() if not _same(v, None)}})
            continue
        kept.add(uid)
        was = old.loc[uid]
        changed = {c: v for c, v in fields.items() if not _same(v, was.get(c))}
        if changed:
            edits.append({"op": "update", "uid": int(uid), "version": int(was["version"]), "fields": changed})
    for uid in old.index:
        if uid not in kept:
            edits.append({"op": "remove", "uid": int(uid), "version": int(old.loc[uid, "version"])})
    return edits


def coverage_as_of(store, when, targets: pd.DataFrame, classes, config):
    """(assigned, CoverageResult) of the department's data as it stood at `when` (a date means the
    end of that day, Beijing time); None when the store held no data then."""
    from coverage.evaluate import evaluate_layers  # noqa: PLC0415

    version = store.version_at(when)
    if version == 0 or store.dataset(as_of=version) is None:
        return None
    units, facilities, _, _ = store.prepared_dataset(as_of=version, classes=classes)
    return evaluate_layers(units, facilities, targets, classes, config=config)
