"""The extraction rules as data: `data/plantext_patterns.csv` and `data/plantext_vocabulary.csv`.

Every regular expression the extractor uses, with its meaning and a Chinese explanation for the
planner, is a row of the patterns file (`pattern_id, kind, regex, value, meaning, explanation_zh`);
the vocabulary file holds the five-year periods, value units, extra measure labels and indicator
words that name a facility class or class group. `load_rules()` reads, compiles and validates both
(every problem listed at once in a `CatalogError`). The regexes run on NFKC-normalised text, so
they are written with half-width brackets, commas and percent signs.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd

from coverage.catalog import DATA_DIR, MEASURE_LABELS
from coverage.errors import CatalogError

PATTERNS_CSV = DATA_DIR / "plantext_patterns.csv"
VOCABULARY_CSV = DATA_DIR / "plantext_vocabulary.csv"

#: Pattern kinds the extractor understands (the `kind` column of the patterns file).
PATTERN_KINDS: tuple[str, ...] = (
    # the document
    "doc_annual", "doc_review", "doc_period", "doc_period_years", "doc_date", "heading", "section_baseline",
    "section_target",
    # time, target or baseline
    "year", "year_range", "period", "comparison_before", "document_title", "cue_baseline", "cue_target",
    "cue_target_weak", "from_marker", "to_marker",
    # values
    "value", "comparator_after", "comparator_before", "denominator", "not_facility_noun", "not_value_after",
    "ignore_unit", "per_marker", "per_each", "count_suffix", "function_word", "connector", "list_join",
    # what is measured, where
    "measure", "level", "all_units", "every_inside", "full_coverage", "not_all", "percent_of", "binding",
    # flattened tables
    "table_row_seq", "table_row_label", "table_header_seq", "table_header_label", "table_header_unit",
    "table_header_binding", "table_header_status", "table_header_baseline", "table_header_target",
    "table_header_year", "table_status", "table_value_text", "table_unit", "table_placeholder", "table_end",
    # labels and notes
    "label_lead", "label_tail", "note",
)
VOCABULARY_KINDS: tuple[str, ...] = ("period", "unit", "measure", "indicator_group", "indicator_class", "indicator_count")


@dataclass(frozen=True)
class Pattern:
    """One row of the patterns file, compiled."""

    pattern_id: str
    kind: str
    regex: re.Pattern[str]
    value: str
    meaning: str
    explanation: str


@dataclass(frozen=True)
class Unit:
    """A value unit: `scale` multiplies the number (% -> 0.01); `kind` is percent, permille,
    facility, bed, person, household, money, area, multiplier or permille_raw."""

    word: str
    scale: float
    kind: str


@dataclass(frozen=True)
class PlanTextRules:
    """Compiled rules. Build with `load_rules()`."""

    patterns: tuple[Pattern, ...]
    periods: dict[str, tuple[int, int]]          # 十四五 -> (2021, 2025)
    units: dict[str, Unit]                       # % -> Unit(0.01, percent)
    measure_labels: dict[str, str]               # measure id -> Chinese label
    indicator_words: dict[str, tuple[str, str]]  # word -> (class id or group, note)
    count_words: dict[str, tuple[str, str]]      # non-facility indicator word -> (measure, note)
    by_kind: dict[str, tuple[Pattern, ...]] = field(default_factory=dict)
    explanations: dict[str, str] = field(default_factory=dict)  # pattern id -> Chinese explanation

    def of(self, kind: str) -> tuple[Pattern, ...]:
        """Patterns of one kind, in file order (which is their priority)."""
        return self.by_kind.get(kind, ())

    def one(self, kind: str) -> Pattern:
        """The single pattern of a kind (raises KeyError when there is none)."""
        found = self.of(kind)
        if not found:
            raise KeyError(kind)
        return found[0]

    def explain(self, pattern_id: str) -> str:
        """Chinese explanation of a pattern id (the id itself when unknown)."""
        return self.explanations.get(pattern_id, pattern_id)

    def period_of(self, token: str) -> tuple[int, int] | None:
        """(start, end) year of a period token such as 十四五 or 第十四个五年."""
        return self.periods.get(token)


def _read(path: Path, columns: tuple[str, ...], what: str) -> pd.DataFrame:
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise CatalogError(f"无法读取{what} {Path(path).name}: {err}") from err
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise CatalogError(f"{what}格式不正确。", [f"缺少列 {c}" for c in missing])
    return table


def _parse_years(text: str) -> tuple[int, int] | None:
    match = re.fullmatch(r"\s*(\d{4})\s*-\s*(\d{4})\s*", text)
    return (int(match[1]), int(match[2])) if match else None


@lru_cache(maxsize=4)
def load_rules(patterns_path: Path | str = PATTERNS_CSV, vocabulary_path: Path | str = VOCABULARY_CSV) -> PlanTextRules:
    """Read, compile and validate the rule files (cached: the result is immutable)."""
    table = _read(Path(patterns_path), ("pattern_id", "kind", "regex", "value", "meaning", "explanation_zh"), "规划文本规则表")
    vocab = _read(Path(vocabulary_path), ("kind", "word", "value", "note_zh"), "规划文本词表")
    problems: list[str] = []
    dupes = table.loc[table["pattern_id"].duplicated(), "pattern_id"].tolist()
    if dupes:
        problems.append("规则编号重复: " + ", ".join(dupes))
    patterns = []
    for row in table.itertuples(index=False):
        if row.kind not in PATTERN_KINDS:
            problems.append(f"规则 {row.pattern_id}: 未知类型 {row.kind!r}")
            continue
        if not row.explanation_zh.strip():
            problems.append(f"规则 {row.pattern_id}: 缺少中文说明")
        try:
            compiled = re.compile(row.regex)
        except re.error as err:
            problems.append(f"规则 {row.pattern_id}: 正则表达式有误 ({err})")
            continue
        patterns.append(Pattern(row.pattern_id, row.kind, compiled, row.value, row.meaning, row.explanation_zh))
    present = {p.kind for p in patterns}
    problems += [f"规则表缺少 {kind} 类规则" for kind in PATTERN_KINDS if kind not in present]
    measures = {p.value for p in patterns if p.kind == "measure"}
    periods: dict[str, tuple[int, int]] = {}
    units: dict[str, Unit] = {}
    labels = dict(MEASURE_LABELS)
    words: dict[str, tuple[str, str]] = {}
    counts: dict[str, tuple[str, str]] = {}
    for row in vocab.itertuples(index=False):
        if row.kind not in VOCABULARY_KINDS:
            problems.append(f"词表: 未知类型 {row.kind!r} ({row.word})")
        elif row.kind == "period":
            years = _parse_years(row.value)
            if years is None:
                problems.append(f"词表: 规划期 {row.word} 的年份应写成 2021-2025, 实为 {row.value!r}")
            else:
                periods[row.word] = years
        elif row.kind == "unit":
            scale, _, kind = row.value.partition(";")
            try:
                units[row.word] = Unit(row.word, float(scale), kind)
            except ValueError:
                problems.append(f"词表: 单位 {row.word} 的倍数 {scale!r} 不是数字")
        elif row.kind == "measure":
            labels.setdefault(row.word, row.value)
        elif row.kind == "indicator_count":
            counts[row.word] = (row.value, row.note_zh)
        else:
            words[row.word] = (row.value, row.note_zh)
    unlabelled = sorted(m for m in (measures | {m for m, _ in counts.values()}) - set(labels) if m != "growth")
    if unlabelled:
        problems.append("词表缺少这些指标类型的中文名: " + ", ".join(unlabelled))
    if problems:
        raise CatalogError("规划文本规则有误。", problems)
    by_kind: dict[str, list[Pattern]] = {}
    for p in patterns:
        by_kind.setdefault(p.kind, []).append(p)
    return PlanTextRules(tuple(patterns), periods, units, labels, words, counts,
                         {k: tuple(v) for k, v in by_kind.items()}, {p.pattern_id: p.explanation for p in patterns})
