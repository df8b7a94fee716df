"""The facility-class and plan-target catalogues (data files in `data/`), loaded and validated.

One source of truth: `data/facility_classes.csv` (canonical classes, Chinese aliases, the level a
class is counted at) and `data/plan_targets.csv` (one row per plan target, with its verbatim quote).
"""
from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from coverage.errors import CatalogError

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
CLASSES_CSV = DATA_DIR / "facility_classes.csv"
TARGETS_CSV = DATA_DIR / "plan_targets.csv"
STATUSES_CSV = DATA_DIR / "operating_statuses.csv"
PLANS_CSV = DATA_DIR / "plans.csv"

#: Unit levels a target can be evaluated at, with their meaning.
UNIT_LEVELS: dict[str, str] = {
    "乡镇(街道)": "街道, 镇 and 乡 (类似乡级单位 such as 林场/农场/开发区 only when the setting adds them)",
    "街道": "街道 only",
    "乡镇": "镇 and 乡 only (no 街道)",
    "县(市、区)": "county-level districts: a district is covered when any of its units has a facility",
    "县": "county-level units that are 县 or 县级市, not 市辖区 (for wording such as 每个县)",
    "全市": "the whole area, for count targets",
}
MEASURES: dict[str, str] = {
    "coverage": "share of units with at least one facility of the class (0-1)",
    "count": "number of facilities of the class in the whole area",
    "beds": "number of beds (床位数) of the class or class group in the whole area",
    "beds_per_1000_elderly": "beds per 1,000 people aged 60+ (每千名老年人床位数), per district and whole area",
    "nursing_bed_share": "nursing-type beds / all beds (护理型床位占比, 0-1), per district and whole area",
}
#: Capacity measures (床位): evaluated by `coverage.capacity`, unit level 全市 (rows per district and
#: whole area); their `facility_class` may name a class or a class group (e.g. 养老服务 = every class
#: of the group, for 养老床位 targets).
CAPACITY_MEASURES: tuple[str, ...] = ("beds", "beds_per_1000_elderly", "nursing_bed_share")
#: Measures whose target is the whole area (unit level 全市).
AREA_MEASURES: tuple[str, ...] = ("count", *CAPACITY_MEASURES)
#: Measures whose target and baseline are shares 0-1 (shown in percent in the editor).
SHARE_MEASURES: tuple[str, ...] = ("coverage", "nursing_bed_share")
#: How measures read to a planner (editor, tables).
MEASURE_LABELS: dict[str, str] = {"coverage": "覆盖率", "count": "数量", "beds": "床位数",
                                  "beds_per_1000_elderly": "每千名老年人床位数", "nursing_bed_share": "护理型床位占比"}
#: Column headers of the target table as planners read them (editor, downloads).
TARGET_COLUMN_LABELS: dict[str, str] = {"target_id": "编号", "indicator": "指标(按规划原文)", "facility_class": "设施类别", "measure": "类型", "unit_level": "统计单元", "target_value": "目标值", "target_year": "目标年份", "binding": "属性", "source_seed": "来源文件", "source_ref": "出处", "source_quote": "原文摘录", "note": "备注", "baseline_value": "基期值", "baseline_year": "基期年份"}
TARGET_COLUMNS = [
    "target_id", "plan", "indicator", "facility_class", "measure", "unit_level", "target_value",
    "target_year", "binding", "source_seed", "source_ref", "source_quote", "note",
]
#: Optional columns (blank when a plan states no baseline): the value at the plan's base year, as a
#: share 0-1 for coverage and 护理型床位占比 targets or a number for count, 床位数 and 每千名老年人床位数
#: targets, for the 中期/总结评估 table.
BASELINE_COLUMNS = ["baseline_value", "baseline_year"]
#: Function flags of elder-care facilities: Chinese name -> facility column (bool).
FUNCTION_COLUMNS: dict[str, str] = {"全托": "full_time_care", "日托": "day_care_service", "上门服务": "home_service"}


def normalize_label(text: object) -> str:
    """Normalise a Chinese label for matching: NFKC (full-width to half-width), no spaces."""
    if text is None or (isinstance(text, float) and pd.isna(text)):
        return ""
    s = unicodedata.normalize("NFKC", str(text))
    return "".join(s.split()).replace("(", "(").replace(")", ")")


@dataclass(frozen=True)
class ClassCatalog:
    """Canonical facility classes with their aliases. Build with `load_classes()`."""

    table: pd.DataFrame  # class_id, name, group, count_level, aliases, qualifying_functions, note

    @cached_property
    def names(self) -> dict[str, str]:
        """class_id -> Chinese canonical name."""
        return dict(zip(self.table["class_id"], self.table["name"]))

    @cached_property
    def _alias_index(self) -> list[tuple[str, str]]:
        """(normalised alias, class_id), longest alias first; canonical names and ids included."""
        pairs: dict[str, str] = {}
        for row in self.table.itertuples():
            for alias in [row.class_id, row.name, *str(row.aliases).split("|")]:
                key = normalize_label(alias)
                if key:
                    pairs.setdefault(key, row.class_id)
        return sorted(pairs.items(), key=lambda kv: -len(kv[0]))

    def match(self, raw: object) -> str | None:
        """The class_id a raw type label (e.g. 类型 = "养老服务中心") stands for, or None.
        See `match_how` for the rule."""
        return self.match_how(raw)[0]

    def match_how(self, raw: object) -> tuple[str | None, str]:
        """(class_id or None, how): how is "exact" (the label is an alias), "contains" (the longest
        alias contained in the label: "XX镇敬老院" -> 特困供养/敬老院; such matches are shown to the
        planner for confirmation) or "" when nothing matched."""
        key = normalize_label(raw)
        if not key:
            return None, ""
        exact = self._exact_index.get(key)
        if exact is not None:
            return exact, "exact"
        for alias, class_id in self._alias_index:
            if len(alias) >= 2 and alias in key:
                return class_id, "contains"
        return None, ""

    @cached_property
    def _exact_index(self) -> dict[str, str]:
        return dict(self._alias_index)

    @cached_property
    def groups(self) -> dict[str, str]:
        """class_id -> group (养老服务, 社会工作, ...)."""
        return dict(zip(self.table["class_id"], self.table["group"]))

    def qualifying_functions(self, class_id: str) -> tuple[str, ...]:
        """Function flags that make a facility of the same group count for `class_id` (empty if none)."""
        value = dict(zip(self.table["class_id"], self.table["qualifying_functions"])).get(class_id, "")
        return tuple(str(value).split("|")) if isinstance(value, str) and value else ()


def load_classes(path: Path | str = CLASSES_CSV) -> ClassCatalog:
    """Read and validate the facility-class catalogue."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    problems = []
    for col in ("class_id", "name", "group", "count_level", "aliases"):
        if col not in table.columns:
            problems.append(f"设施类别表缺少列 {col}")
    if problems:
        raise CatalogError("设施类别表格式不正确。", problems)
    if table["class_id"].duplicated().any():
        problems.append("类别编号重复: " + ", ".join(table.loc[table["class_id"].duplicated(), "class_id"]))
    bad_level = sorted(set(table["count_level"]) - {"乡镇", "县"})
    if bad_level:
        problems.append(f"统计层级只能是 乡镇 或 县, 发现: {bad_level}")
    aliases = table.assign(alias=table["aliases"].str.split("|")).explode("alias")
    aliases["key"] = aliases["alias"].map(normalize_label)
    clash = aliases[aliases.duplicated("key", keep=False) & (aliases["key"] != "")]
    clash = clash.groupby("key")["class_id"].nunique()
    if (clash > 1).any():
        problems.append("同一别名指向多个类别: " + ", ".join(clash[clash > 1].index))
    if problems:
        raise CatalogError("设施类别表有误。", problems)
    return ClassCatalog(table)


#: Whether `load_targets` returns the capacity targets (床位数, 每千名老年人床位数, 护理型床位占比)
#: by default. They are evaluated by `coverage/capacity.py`, printed in their units by
#: `coverage/evaluation.py` (tables, sentences) and the meeting pack, shown by 总览 and 指标, and kept
#: as they are by `coverage.scenarios` (planned sites carry no beds). `capacity=False` leaves them out.
CAPACITY_TARGETS_ENABLED = True


def load_targets(path: Path | str = TARGETS_CSV, classes: ClassCatalog | None = None, *,
                 capacity: bool | None = None) -> pd.DataFrame:
    """Read the plan-target catalogue and validate it against the class catalogue.

    capacity
        Keep the capacity targets (`CAPACITY_MEASURES`); default `CAPACITY_TARGETS_ENABLED`. Every
        row is validated either way.
    """
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise CatalogError(f"无法读取规划指标表 {Path(path).name}: {err}") from err
    out = validate_targets(table, classes or load_classes())
    if not (CAPACITY_TARGETS_ENABLED if capacity is None else capacity):
        out = out[~out["measure"].isin(CAPACITY_MEASURES)].reset_index(drop=True)
    return out


def validate_targets(table: pd.DataFrame, classes: ClassCatalog) -> pd.DataFrame:
    """Check every target row; return a typed copy (target_value float, target_year int).

    Raises `CatalogError` listing every problem at once.
    """
    missing = [c for c in TARGET_COLUMNS if c not in table.columns]
    if missing:
        raise CatalogError("规划指标表缺少列。", [", ".join(missing)])
    table = table.assign(**{c: "" for c in BASELINE_COLUMNS if c not in table.columns})
    out = table[TARGET_COLUMNS + BASELINE_COLUMNS].copy()
    for col in TARGET_COLUMNS + BASELINE_COLUMNS:
        out[col] = out[col].fillna("").astype(str).str.strip()
    problems: list[str] = []
    known = set(classes.table["class_id"])
    groups = set(classes.table["group"])
    for i, row in out.iterrows():
        where = f"第{i + 1}行({row['target_id'] or '无编号'})"
        if not row["target_id"]:
            problems.append(f"{where}: 缺少指标编号")
        if not row["plan"]:
            problems.append(f"{where}: 缺少规划名称")
        if not row["indicator"]:
            problems.append(f"{where}: 缺少指标名称")
        capacity = row["measure"] in CAPACITY_MEASURES
        if row["facility_class"] not in known and not (capacity and row["facility_class"] in groups):
            extra = f"(床位类指标也可填类别组: {'、'.join(sorted(groups))})" if capacity else ""
            problems.append(f"{where}: 设施类别 {row['facility_class']!r} 不在类别表中{extra}")
        if row["measure"] not in MEASURES:
            problems.append(f"{where}: 指标类型应为 {list(MEASURES)}, 实为 {row['measure']!r}")
        if row["unit_level"] not in UNIT_LEVELS:
            problems.append(f"{where}: 统计单元应为 {list(UNIT_LEVELS)}, 实为 {row['unit_level']!r}")
        elif row["measure"] in CAPACITY_MEASURES and row["unit_level"] != "全市":
            problems.append(f"{where}: 床位类指标的统计单元应为 全市(按区县和全市分别计算)")
        elif row["measure"] in MEASURES and row["measure"] not in CAPACITY_MEASURES \
                and (row["measure"] == "count") != (row["unit_level"] == "全市"):
            problems.append(f"{where}: 数量指标的统计单元应为 全市, 覆盖率指标不能为 全市")
        try:
            value = float(row["target_value"])
        except ValueError:
            problems.append(f"{where}: 目标值 {row['target_value']!r} 不是数字")
        else:
            if row["measure"] == "coverage" and not 0 <= value <= 1:
                problems.append(f"{where}: 覆盖率目标应在 0%-100% 之间, 实为 {value:.0%}")
            if row["measure"] == "count" and value < 0:
                problems.append(f"{where}: 数量目标不能为负")
            problems += [f"{where}: {p}" for p in _capacity_value_problems(row["measure"], value, "目标")]
        if not row["target_year"].isdigit():
            problems.append(f"{where}: 目标年份 {row['target_year']!r} 不是年份")
        if row["baseline_value"]:
            try:
                base = float(row["baseline_value"])
            except ValueError:
                problems.append(f"{where}: 基期值 {row['baseline_value']!r} 不是数字(覆盖率填 0-1 之间的小数)")
            else:
                if row["measure"] == "coverage" and not 0 <= base <= 1:
                    problems.append(f"{where}: 覆盖率基期值应在 0%-100% 之间, 实为 {base:.0%}")
                problems += [f"{where}: {p}" for p in _capacity_value_problems(row["measure"], base, "基期值", baseline=True)]
        if row["baseline_year"] and not row["baseline_year"].isdigit():
            problems.append(f"{where}: 基期年份 {row['baseline_year']!r} 不是年份")
        if row["binding"] not in ("", "约束性", "预期性"):
            problems.append(f"{where}: 属性应为 约束性/预期性 或留空")
    dup = out["target_id"][out["target_id"].duplicated() & (out["target_id"] != "")]
    if len(dup):
        problems.append("指标编号重复: " + ", ".join(sorted(set(dup))))
    if problems:
        raise CatalogError("规划指标表有误, 请修改后再保存。", problems)
    out["target_value"] = out["target_value"].astype(float)
    out["target_year"] = out["target_year"].astype(int)
    out["baseline_value"] = pd.to_numeric(out["baseline_value"].replace("", None), errors="coerce").astype(float)
    out["baseline_year"] = pd.to_numeric(out["baseline_year"].replace("", None), errors="coerce").astype("Int64")
    return out


def _capacity_value_problems(measure: str, value: float, what: str, *, baseline: bool = False) -> list[str]:
    """Value checks of the capacity measures (Chinese messages); `what` is 目标 or 基期值."""
    if not math.isfinite(value):
        return [f"{what}应为有限数字"] if measure in CAPACITY_MEASURES else []
    if measure == "nursing_bed_share" and not (0 <= value <= 1 if baseline else 0 < value <= 1):
        hint = ", 请填 0-1 之间的小数(编辑表中填百分数)" if value > 1 else ""
        return [f"护理型床位占比{what}应在 0%-100% 之间, 实为 {value:.0%}{hint}"]
    if measure == "beds_per_1000_elderly" and not (value >= 0 if baseline else value > 0):
        return [f"每千名老年人床位数{what}应为正数(张/千名老年人), 实为 {value:g}"]
    if measure == "beds" and not (value >= 0 if baseline else value > 0):
        return [f"床位数{what}应为正数(张), 实为 {value:g}"]
    return []


def targets_as_text(table: pd.DataFrame) -> pd.DataFrame:
    """The catalogue as plain text cells (blank for missing, 2025 not 2025.0), ready for
    `validate_targets` or a CSV."""
    def cell(v) -> str:
        if isinstance(v, str):
            return v
        if v is None or pd.isna(v):
            return ""
        text = str(v)
        return text[:-2] if text.endswith(".0") else text
    return table.astype(object).map(cell)


@dataclass(frozen=True)
class StatusVocabulary:
    """Operating statuses of facilities (运营/在建/规划/停用) and their synonyms, from
    `data/operating_statuses.csv`. Build with `load_statuses()`.

    Rules: a blank status is 运营; a value is recognised only by an exact (normalised) synonym, since
    containment would read 停止运营 as 运营; 停用 never counts; anything else is 未知 (not counted, and
    listed for the planner to map).
    """

    table: pd.DataFrame  # status, counted_by_default, aliases, note

    BLANK = "运营"
    UNKNOWN = "未知"
    NEVER = "停用"

    @cached_property
    def _index(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for row in self.table.itertuples():
            for alias in [row.status, *str(row.aliases).split("|")]:
                key = normalize_label(alias)
                if key:
                    out.setdefault(key, row.status)
        return out

    @property
    def statuses(self) -> list[str]:
        """Canonical statuses in file order (运营, 在建, 规划, 停用)."""
        return list(self.table["status"])

    @property
    def countable(self) -> list[str]:
        """Statuses a planner may choose to count (all but 停用)."""
        return [s for s, c in zip(self.table["status"], self.table["counted_by_default"]) if c != "never"]

    def canonical(self, raw: object, mapping: dict[str, str] | None = None) -> str:
        """The canonical status of a raw value; `mapping` (raw -> status) is the planner's own."""
        key = normalize_label(raw)
        if not key:
            return self.BLANK
        if mapping:
            mapped = {normalize_label(k): v for k, v in mapping.items()}.get(key)
            if mapped in self.statuses:
                return mapped
        return self._index.get(key, self.UNKNOWN)

    def canonical_series(self, raw: pd.Series, mapping: dict[str, str] | None = None) -> pd.Series:
        """`canonical` for a column, computed once per distinct value."""
        codes, distinct = pd.factorize(raw)  # a blank cell is code -1, read as ""
        canonical = pd.Series([self.canonical(str(v), mapping) for v in distinct] + [self.canonical("", mapping)])
        return pd.Series(canonical.to_numpy()[np.where(codes < 0, len(distinct), codes)], index=raw.index,
                         dtype=canonical.dtype, name=raw.name)


def load_statuses(path: Path | str = STATUSES_CSV) -> StatusVocabulary:
    """Read and validate the operating-status vocabulary."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    problems = [f"状态词表缺少列 {c}" for c in ("status", "counted_by_default", "aliases") if c not in table.columns]
    if problems:
        raise CatalogError("状态词表格式不正确。", problems)
    if StatusVocabulary.BLANK not in set(table["status"]) or StatusVocabulary.NEVER not in set(table["status"]):
        problems.append("状态词表必须含 运营 和 停用 两行")
    aliases = table.assign(alias=table["aliases"].str.split("|")).explode("alias")
    aliases["key"] = aliases["alias"].map(normalize_label)
    clash = aliases[aliases["key"] != ""].groupby("key")["status"].nunique()
    if (clash > 1).any():
        problems.append("同一写法指向多个状态: " + ", ".join(clash[clash > 1].index))
    if problems:
        raise CatalogError("状态词表有误。", problems)
    return StatusVocabulary(table)


def targets_for_editing(table: pd.DataFrame, classes: ClassCatalog) -> pd.DataFrame:
    """The catalogue as a planner edits it: class and measure by their Chinese names, coverage and
    护理型床位占比 targets and baselines in percent (60, not 0.6); a class group (床位类指标) stays as is. `targets_from_editing` undoes it."""
    out = table.copy()
    coverage = out["measure"].isin(SHARE_MEASURES)
    for col in ("target_value", "baseline_value"):
        values = pd.to_numeric(out[col], errors="coerce")
        out[col] = values.where(~coverage, (values * 100).round(6))
    out["facility_class"] = out["facility_class"].map(classes.names).fillna(out["facility_class"])
    out["measure"] = out["measure"].map(MEASURE_LABELS).fillna(out["measure"])
    return out


def targets_from_editing(table: pd.DataFrame, classes: ClassCatalog) -> pd.DataFrame:
    """Inverse of `targets_for_editing`, as text cells ready for `validate_targets`."""
    out = table.copy()
    by_name = {v: k for k, v in classes.names.items()}
    by_label = {v: k for k, v in MEASURE_LABELS.items()}
    out["facility_class"] = out["facility_class"].map(lambda v: by_name.get(v, v))
    out["measure"] = out["measure"].map(lambda v: by_label.get(v, v))
    coverage = out["measure"].isin(SHARE_MEASURES)
    for col in ("target_value", "baseline_value"):
        values = pd.to_numeric(out[col], errors="coerce")
        out[col] = values.where(~coverage, (values / 100).round(9))
    return targets_as_text(out)


def plans(targets: pd.DataFrame) -> list[str]:
    """Plan names in catalogue order."""
    return list(dict.fromkeys(targets["plan"]))
