"""Which facility class a piece of plan text is about: catalogue aliases and vocabulary words.

`ClassMatcher.find` returns every alias of `data/facility_classes.csv` (longest first, so
城乡公益性公墓 wins over 公墓) and every indicator word of `data/plantext_vocabulary.csv` (养老床位 ->
the 养老服务 group; 社会组织, 志愿者 -> a non-facility count) found in a sentence;
`choose_class` turns the hits next to a value into a class id (or class group, for 床位 measures)
and a Chinese reason the page can show.
"""
from __future__ import annotations

from dataclasses import dataclass

from coverage.catalog import CAPACITY_MEASURES, ClassCatalog, normalize_label
from plantext.document import Span
from plantext.rules import PlanTextRules

#: Coverage with no level in the text is counted at the class's counting level.
CLASS_LEVELS = {"乡镇": "乡镇(街道)", "县": "县(市、区)"}


@dataclass(frozen=True)
class ClassHit:
    """A class alias or vocabulary word found in the text: [start, end) in the normalised text.
    `source` is "alias", "vocabulary" (a word naming a class or group) or "count" (a
    non-facility indicator word; `note` is "measure|explanation")."""

    start: int
    end: int
    word: str
    class_id: str       # a class id, a class group for 床位 words, or "" for a count word
    source: str         # "alias", "vocabulary" or "count"
    note: str = ""


class ClassMatcher:
    """Find facility-class aliases (longest first) and vocabulary words in normalised text."""

    def __init__(self, classes: ClassCatalog, rules: PlanTextRules) -> None:
        words: dict[str, tuple[str, str, str]] = {}
        for row in classes.table.itertuples():
            for alias in [row.name, *str(row.aliases).split("|")]:
                key = normalize_label(alias)
                if len(key) >= 2:
                    words.setdefault(key, (row.class_id, "alias", ""))
        for word, (target, note) in rules.indicator_words.items():
            key = normalize_label(word)
            if key:
                words[key] = (target, "vocabulary", note)
        self.words = sorted(words.items(), key=lambda kv: -len(kv[0]))
        self.groups = set(classes.table["group"])
        self.names = classes.names
        self.count_levels = dict(zip(classes.table["class_id"], classes.table["count_level"]))
        self.class_groups = classes.groups

    def find(self, text: str, offset: int) -> list[ClassHit]:
        """Non-overlapping hits in `text`, longest word first, sorted by position."""
        hits: list[ClassHit] = []
        taken: list[tuple[int, int]] = []
        for word, (target, source, note) in self.words:
            if word not in text:
                continue
            begin = 0
            while (at := text.find(word, begin)) >= 0:
                end = at + len(word)
                if not any(a < end and at < b for a, b in taken):
                    hits.append(ClassHit(offset + at, offset + end, word, target, source, note))
                    taken.append((at, end))
                begin = at + 1
        return sorted(hits, key=lambda h: h.start)


def count_word_hits(sentence: Span, rules: PlanTextRules) -> list[ClassHit]:
    """Vocabulary words of non-facility indicators (社会组织, 志愿者, 适老化改造, ...)."""
    hits: list[ClassHit] = []
    for word, (measure, note) in sorted(rules.count_words.items(), key=lambda kv: -len(kv[0])):
        begin = 0
        while (at := sentence.text.find(word, begin)) >= 0:
            end = at + len(word)
            if not any(h.start - sentence.start < end and at < h.end - sentence.start for h in hits):
                hits.append(ClassHit(sentence.start + at, sentence.start + end, word, "", "count", f"{measure}|{note}"))
            begin = end
    return sorted(hits, key=lambda h: h.start)


def level_for(measure: str, level: str, class_id: str, matcher: ClassMatcher) -> str:
    """The unit level a proposal is evaluated at: coverage at its level (stated, else the class's
    counting level), everything else over the whole area."""
    if measure != "coverage":
        return "全市"
    if level and level != "全市":
        return level
    return CLASS_LEVELS.get(matcher.count_levels.get(class_id, ""), "")


def choose_class(hits: list[ClassHit], measure: str, matcher: ClassMatcher, where: str) -> tuple[str, str, str]:
    """(class id or group, Chinese reason, pattern id) from candidate hits, nearest first."""
    capacity = measure in CAPACITY_MEASURES
    for hit in hits:
        target = hit.class_id
        if hit.source == "count":
            return "", f"{where}中的「{hit.word}」: {hit.note.partition('|')[2]}", "K-COUNT"
        if target in matcher.groups and not capacity:
            continue
        if capacity and target == "eldercare_institution":
            return "养老服务", f"{where}中的「{hit.word}」: 床位类指标按类别组 养老服务 计(所有养老服务设施)", "K-GROUP"
        if target in matcher.groups:
            return target, f"{where}中的「{hit.word}」→ 类别组 {target}({hit.note})", "K-GROUP"
        if not target:
            continue
        how = "类别表别名" if hit.source == "alias" else f"词表: {hit.note}"
        return target, f"{where}中的「{hit.word}」→ {matcher.names.get(target, target)}({how})", "K-ALIAS"
    return "", "未找到类别表中的设施名称(不是设施指标, 或请手工选择类别)", ""
