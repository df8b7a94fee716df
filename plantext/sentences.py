"""Values in the sentences of a plan, read as targets or baselines.

How a sentence value is read (each step is a rule of `data/plantext_patterns.csv`):

1. Numbers with a unit (%, ‰, 个/所/家/处/座, 张, and 人/户 with a vocabulary word), 每个/所有/各 + a
   unit level + a facility, and 全覆盖 are candidate values; years, counts of times, 个百分点,
   "N个行政村" (a denominator), "每3所确定1所" (a ratio) and sizes of a facility are not.
2. The measure is the nearest measure word before the value in its clause (覆盖率, 占比,
   每千名老年人床位, 护理型床位占比, ...); "60%的行政村" is coverage of villages; a count needs a
   facility (or a vocabulary word such as 社会组织) named right next to the number.
3. The facility class is the longest catalogue alias next to the value: before it in the clause,
   else right after it, else (when the value has no words of its own: 覆盖率为55.6%) earlier in the
   sentence. Values listed together (162个和1243个, 覆盖率分别达95%、69%) share one reading.
4. Target or baseline, and the year: a year or five-year period named before the value decides
   (到2025年, 2022年底前 = target; 截至2020年底, 十三五 in a 十四五 plan = baseline), else strong
   words in its clause or the one before (已建成/累计/共有 vs 力争/确保/计划), else the section
   (发展基础 vs 发展目标/主要任务/专栏), else weak words (推动/实现/不低于/新建), else the kind of
   document (a plan proposes targets, an evaluation report states baselines).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from plantext.classes import ClassHit, ClassMatcher, choose_class, count_word_hits, level_for
from plantext.document import CLAUSE_END, DocumentContext, Span, split_spans
from plantext.numbers import Value, find_values
from plantext.proposal import Proposal
from plantext.rules import PlanTextRules

#: Quotes longer than this are cut to the clauses around the value.
MAX_QUOTE_CHARS = 160
#: Indicator labels built from a sentence are cut to this length (the quote keeps the full text).
MAX_INDICATOR_CHARS = 50
#: 1个[地级市]区域性流浪乞讨人员救助管理站: modifiers allowed between a count and the facility.
MAX_MODIFIER_CHARS = 6
#: 每个县(市、区)…the facility: at most this many characters apart.
MAX_EVERY_GAP = 100
#: At most this many facilities listed after one 每个/所有 (救助站和未成年人救助保护设施).
MAX_LISTED = 4
@dataclass
class Mention:
    """A candidate value in a sentence."""

    start: int
    end: int
    raw: str
    value: float
    unit: str
    unit_kind: str
    how: str                 # number, every, full
    pattern_id: str
    level: str = ""          # a level stated with the value (每个县, 60%的行政村)
    level_pid: str = ""
    baseline: float | None = None
    skip: bool = False
    high: float | None = None  # upper end of a range (1-2家)


@dataclass(frozen=True)
class Reading:
    """How a mention was read: measure, the class hits it is about, the unit level."""

    measure: str
    measure_pid: str
    objects: tuple[ClassHit, ...]
    where: str
    level: str
    level_pid: str
    subject_start: int
    unit_kind: str


def from_sentence(sentence: Span, section: tuple[str, str], context: DocumentContext, rules: PlanTextRules,
                  matcher: ClassMatcher) -> list[Proposal]:
    """The proposals of one sentence. `section` is the (state, pattern id) of the section it is in
    (`plantext.document.section_states`)."""
    text = sentence.text
    values = find_values(text, rules, sentence.start)
    hits = matcher.find(text, sentence.start)
    words = count_word_hits(sentence, rules)
    mentions = _number_mentions(values, sentence, rules, hits, words)
    mentions += _every_mentions(sentence, rules, mentions, hits, words, matcher.groups)
    mentions += _full_mentions(sentence, rules, mentions)
    if not mentions:
        return []
    mentions.sort(key=lambda m: m.start)
    _link_from_to(mentions, sentence, rules)
    mentions = [m for m in mentions if not m.skip]
    clauses = split_spans(sentence, CLAUSE_END)
    clause_of = [next((c for c in clauses if c.start <= m.start < c.end), clauses[-1]) for m in mentions]
    readings: list[Reading | None] = []
    for i, m in enumerate(mentions):
        last = next(((mentions[j], readings[j]) for j in range(i - 1, -1, -1) if readings[j] is not None), None)
        readings.append(_read_mention(m, sentence, clause_of[i], hits, words, mentions, rules, last, matcher.groups))
    for i in range(len(mentions) - 2, -1, -1):  # 10个和5个以上社区社会组织: the later value names it
        m, nxt = mentions[i], mentions[i + 1]
        if readings[i] is None and readings[i + 1] is not None and m.how == nxt.how == "number" \
                and m.unit_kind == nxt.unit_kind and rules.one("connector").regex.fullmatch(_local(sentence, m.end, nxt.start)):
            readings[i] = readings[i + 1]
    binding = rules.one("binding").regex.search(text)
    out: list[Proposal] = []
    for m, clause, reading in zip(mentions, clause_of, readings):
        if reading is not None:
            out += _proposals(m, reading, sentence, clause, section, context, rules, matcher,
                              binding.group(0) if binding else "")
    return out


def _local(sentence: Span, start: int, end: int) -> str:
    return sentence.text[start - sentence.start:end - sentence.start]


def _number_mentions(values: list[Value], sentence: Span, rules: PlanTextRules, hits: list[ClassHit],
                     words: list[ClassHit]) -> list[Mention]:
    """The numbers that may be indicator values (step 1 of the module docstring)."""
    out = []
    ignore = rules.one("ignore_unit").regex
    denominator = rules.one("denominator").regex
    not_facility = rules.one("not_facility_noun").regex
    per = rules.one("per_marker").regex
    clauses = split_spans(sentence, CLAUSE_END)
    ratio_clauses: set[int] = set()
    for v in values:
        if not v.unit or ignore.match(v.unit) or not v.unit_kind or v.unit_kind == "multiplier":
            continue
        clause = next((c.start for c in clauses if c.start <= v.start < c.end), -1)
        if per.search(_local(sentence, max(sentence.start, v.start - 3), v.start)):
            ratio_clauses.add(clause)  # 每3所确定1所: a ratio, neither number is a total
            continue
        if clause in ratio_clauses and v.unit_kind == "facility":
            continue
        after = _local(sentence, v.end, sentence.end)
        if rules.one("not_value_after").regex.match(after):
            continue
        gap = v.end + len(after) - len(after.lstrip())
        if v.unit_kind == "facility":
            if denominator.match(after) and not any(h.start == gap for h in hits):
                continue
            if not_facility.match(after):
                continue
            if v.pattern_id == "V-CHINESE" and not any(0 <= h.start - v.end <= 4 for h in hits + words):
                continue  # 两个覆盖, 三个聚焦: a Chinese numeral counts only a facility named right after it
        out.append(Mention(v.start, v.end, v.raw, v.value, v.unit, v.unit_kind, "number", v.pattern_id,
                           high=v.number_high))
    return out


def _level_matches(text: str, rules: PlanTextRules, offset: int = 0) -> list[tuple[int, int, str, str]]:
    """(start, end, level, pattern id) of unit-level words, earlier patterns first where they overlap."""
    found: list[tuple[int, int, str, str]] = []
    for pattern in rules.of("level"):
        for match in pattern.regex.finditer(text):
            a, b = match.span()
            if not any(x < b and a < y for x, y, _, _ in found):
                found.append((a, b, pattern.value, pattern.pattern_id))
    return sorted((a + offset, b + offset, level, pid) for a, b, level, pid in found)


def _every_mentions(sentence: Span, rules: PlanTextRules, numbers: list[Mention], hits: list[ClassHit],
                    words: list[ClassHit], groups: set[str]) -> list[Mention]:
    """每个/所有/各 + a unit level + a facility later in the sentence: every unit has one (100%).
    Counts and sizes between the level and the facility (至少1处, 750平方米, 25张) describe the facility."""
    out = []
    every = rules.one("all_units").regex
    not_all = rules.one("not_all").regex
    clauses = split_spans(sentence, CLAUSE_END)
    for start, end, level, pid in _level_matches(sentence.text, rules, sentence.start):
        head = _local(sentence, max(sentence.start, start - 4), start)
        match = every.search(head)
        inherent = rules.one("every_inside").regex.match(_local(sentence, start, end))  # 每县, 各县
        if not (match or inherent) or level == "全市":
            continue
        clause = next((c for c in clauses if c.start <= start < c.end), clauses[-1])
        # the facility is named in the same clause, or later when the clause goes on with a count
        # (所有街道……至少建成1所建筑面积750平方米……,具备……功能的社区养老机构)
        counted = any(end <= m.start < clause.end and m.unit_kind == "facility" and m.value <= 1 for m in numbers)
        limit = min(sentence.end, end + MAX_EVERY_GAP) if counted else clause.end
        hit = next((h for h in sorted(hits + words, key=lambda h: h.start)
                    if end <= h.start and h.end <= limit and h.class_id not in groups), None)
        if hit is None or not_all.search(_local(sentence, end, hit.start)):
            continue
        begin = start - (len(head) - match.start()) if match else start
        for m in numbers:
            if end <= m.start and m.end <= hit.start and m.unit_kind in ("facility", "bed", "area"):
                m.skip = True
        out.append(Mention(begin, end, _local(sentence, begin, end), 1.0, "", "percent", "every", "A-EVERY",
                           level, pid))
    return out


def _full_mentions(sentence: Span, rules: PlanTextRules, others: list[Mention]) -> list[Mention]:
    """全覆盖 / 全部建成: coverage 100%, unless a percentage or 每个 in the same clause says so."""
    out = []
    pattern = rules.one("full_coverage")
    clauses = split_spans(sentence, CLAUSE_END)
    for match in pattern.regex.finditer(sentence.text):
        start, end = sentence.start + match.start(), sentence.start + match.end()
        clause = next((c for c in clauses if c.start <= start < c.end), None)
        if clause and any(clause.start <= m.start < clause.end and m.unit_kind == "percent" and not m.skip
                          for m in others):
            continue
        out.append(Mention(start, end, match.group(0), 1.0, "", "percent", "full", pattern.pattern_id))
    return out


def _link_from_to(mentions: list[Mention], sentence: Span, rules: PlanTextRules) -> None:
    """由X提高到Y: X becomes the baseline of Y and is not proposed on its own."""
    before, after = rules.one("from_marker").regex, rules.one("to_marker").regex
    for this, nxt in zip(mentions, mentions[1:]):
        if this.how != "number" or nxt.how != "number":
            continue
        head = _local(sentence, max(sentence.start, this.start - 2), this.start)
        middle = _local(sentence, this.end, nxt.start)
        if before.search(head) and after.search(middle):
            this.skip = True
            nxt.baseline = this.value


def nearest_measure(text: str, rules: PlanTextRules) -> tuple[str, str]:
    """(pattern id, measure) of the measure word ending nearest the end of `text`."""
    best: tuple[int, int, str, str] | None = None
    for order, pattern in enumerate(rules.of("measure")):
        for match in pattern.regex.finditer(text):
            key = (match.end(), -order)
            if best is None or key > best[:2]:
                best = (match.end(), -order, pattern.pattern_id, pattern.value)
    return (best[2], best[3]) if best else ("", "")


def level_in(text: str, rules: PlanTextRules) -> tuple[str, str]:
    """(level, pattern id) of the last unit-level word in `text` other than 全市."""
    found = [f for f in _level_matches(text, rules) if f[2] != "全市"]
    return (found[-1][2], found[-1][3]) if found else ("", "")


def _bare(subject: str, rules: PlanTextRules) -> bool:
    """A subject with no noun of its own (建成, 覆盖率分别达, 占比): the value refers back to a
    facility named earlier in the sentence."""
    rest = _clean(subject, rules).strip()
    for pattern in rules.of("measure"):
        rest = pattern.regex.sub("", rest)
    return not rest.strip()


def _read_mention(m: Mention, sentence: Span, clause: Span, hits: list[ClassHit], words: list[ClassHit],
                  mentions: list[Mention], rules: PlanTextRules, last: tuple[Mention, Reading] | None,
                  groups: set[str]) -> Reading | None:
    """Measure, facility and level of a value, or None when it is not an indicator value."""
    previous_end = max((o.end for o in mentions if o is not m and o.end <= m.start and clause.start <= o.start),
                       default=clause.start)
    subject = _local(sentence, previous_end, m.start)
    own = _own_reading(m, sentence, clause, hits, words, mentions, rules, groups, previous_end, subject)
    if (own is None or not own.objects) and last is not None and last[0].unit_kind == m.unit_kind \
            and last[0].how == m.how == "number" and rules.one("connector").regex.fullmatch(subject) and last[1].objects:
        return last[1]  # 覆盖率分别达95%、69%: the second value has no words of its own
    return own


def _own_reading(m: Mention, sentence: Span, clause: Span, hits: list[ClassHit], words: list[ClassHit],
                 mentions: list[Mention], rules: PlanTextRules, groups: set[str], previous_end: int,
                 subject: str) -> Reading | None:
    after_text = _local(sentence, m.end, clause.end)
    measure_pid, measure = nearest_measure(subject, rules)
    if measure == "growth":
        return None
    before = [h for h in hits if previous_end <= h.start and h.end <= m.start]
    after = [h for h in hits if m.end <= h.start and h.end <= clause.end]
    earlier = [h for h in hits if h.end <= previous_end]
    words_before = [w for w in words if previous_end <= w.start and w.end <= m.start]
    words_after = [w for w in words if m.end <= w.start and w.end <= clause.end
                   and w.start - m.end <= (3 if m.unit_kind == "facility" else 8)]
    level, level_pid = "", ""
    where = "同一分句"
    objects: list[ClassHit] = []
    if m.how == "every":
        measure, measure_pid = "coverage", ""
        later = sorted([h for h in hits + words if m.end <= h.start and h.class_id not in groups], key=lambda h: h.start)
        objects = _listed(later, sentence, rules)[:MAX_LISTED]
        level, level_pid = m.level, m.level_pid
    elif m.how == "full":
        measure, measure_pid = "coverage", ""
        level_after = _level_matches(after_text[:12], rules)
        if level_after and level_after[0][0] == 0 and level_after[0][2] != "全市":
            level, level_pid = level_after[0][2], level_after[0][3]
        else:
            level, level_pid = level_in(subject, rules)
        objects = _listed_before(before, sentence, rules) or _listed(after, sentence, rules)
        if not objects and earlier and level_after:
            objects, where = list(reversed(earlier))[:1], "同句前文"
        if not objects and not level:
            return None
    elif m.unit_kind in ("percent", "permille"):
        found = rules.one("percent_of").regex.match(after_text)
        if found:
            levels = _level_matches(after_text[found.end():][:12], rules)
            if levels and levels[0][0] == 0 and levels[0][2] != "全市":
                measure, measure_pid = "coverage", "M-COVERAGE"
                level, level_pid = levels[0][2], levels[0][3]
                objects = _listed(after, sentence, rules)[:1]
            elif not measure:
                measure, measure_pid = "share", "M-SHARE"
                objects = after[:1]
        if not measure:
            return None
        if measure in ("beds", "count", "per_capita"):
            measure, measure_pid = "share", ""
        if measure == "coverage" and not level:
            level, level_pid = level_in(subject, rules)
        if not objects:
            objects = list(reversed(before))[:1]
        if not objects and _bare(subject, rules) and earlier:
            objects, where = list(reversed(earlier))[:1], "同句前文"
    elif m.unit_kind == "bed":
        if measure != "beds_per_1000_elderly":
            if "床位" not in _local(sentence, clause.start, clause.end):
                return None
            measure, measure_pid = "beds", "M-BEDS"
        objects = list(reversed(before))[:1]
        if not objects and earlier:
            objects, where = list(reversed(earlier))[:1], "同句前文"
    elif m.unit_kind == "area":
        if measure != "area_per_100_households":
            return None
        objects = list(reversed(before))[:1]
    elif m.unit_kind == "facility":
        if measure == "per_capita":  # 每万人社会组织数9.4个
            return Reading(measure, measure_pid, tuple((list(reversed(before)) or words_before[-1:])[:1]), where, "", "",
                           previous_end, m.unit_kind)
        if measure in ("beds", "beds_per_1000_elderly"):  # 床位数600个
            return Reading(measure, measure_pid, tuple(list(reversed(before))[:1]), where, "", "", previous_end,
                           m.unit_kind)
        measure, measure_pid = "count", ""
        rest = rules.one("count_suffix").regex.sub("", after_text, count=1)
        rest_at = m.end + len(after_text) - len(rest)
        near = [h for h in reversed(before) if not re.search(r"\d", _local(sentence, h.end, m.start))]
        if after and after[0].start - rest_at <= MAX_MODIFIER_CHARS \
                and not re.search(r"[、,;:。]", _local(sentence, rest_at, after[0].start)):
            objects = _listed(after, sentence, rules)        # 1所失智老人养护院, 1个地级市区域性……救助管理站
        elif rest[:1] and rules.one("table_row_label").regex.match(rest[:1]) and not rules.one("function_word").regex.match(rest):
            named = [w for w in words if 0 <= w.start - rest_at <= MAX_MODIFIER_CHARS and w.end <= clause.end]
            if not named or named[0].note.partition("|")[0] != "count":
                return None                            # 1家护理型示范机构: counts a thing the catalogue does not name
            objects = named[:1]                        # 5个以上社区社会组织
        elif near:
            if rules.one("per_each").regex.search(_local(sentence, max(sentence.start, near[0].start - 3), near[0].start)):
                return None                            # 每个儿童福利机构……不少于1家: per facility
            objects = near[:1]
        elif after and not words_after:
            objects = _listed(after, sentence, rules)
        if not objects:
            word = (words_after or list(reversed(words_before)))[:1]
            if not word and _bare(subject, rules):
                word = [h for h in sorted(hits + words, key=lambda h: h.start) if h.end <= previous_end][-1:]
                where = "同句前文"
            if not word or (word[0].source == "count" and word[0].note.partition("|")[0] != "count"):
                return None
            objects = word
    else:  # person, household, money: only with a vocabulary word next to the value
        word = (words_after or list(reversed(words_before)))[:1]
        if not word and _bare(subject, rules):
            word = [w for w in words if w.end <= previous_end][-1:]
            where = "同句前文"
        if not word or word[0].note.partition("|")[0] != {"person": "persons", "household": "households",
                                                          "money": "money"}.get(m.unit_kind):
            return None
        measure, measure_pid, objects = word[0].note.partition("|")[0], "", word
    return Reading(measure, measure_pid, tuple(objects), where, level, level_pid, previous_end, m.unit_kind)


def _proposals(m: Mention, reading: Reading, sentence: Span, clause: Span, section: tuple[str, str],
               context: DocumentContext, rules: PlanTextRules, matcher: ClassMatcher, binding: str) -> list[Proposal]:
    timing = _timing(sentence, m, section, context, rules)
    comparator, comp_pid = _comparator(sentence, m, rules)
    base_pids = [m.pattern_id] + [p for p in (reading.measure_pid, comp_pid) if p]
    results = []
    seen: set[tuple[str, str]] = set()
    for hit in reading.objects or (None,):
        class_id, reason, class_pid = choose_class([hit] if hit else [], reading.measure, matcher, reading.where)
        measure, level_pid = reading.measure, reading.level_pid
        if measure == "coverage" and not class_id and not reading.level:
            measure, level_pid = "rate", ""
            reason += "; 无设施类别和统计单元, 按比率提出"
        level = level_for(measure, reading.level, class_id, matcher)
        if (class_id, level) in seen:
            continue
        seen.add((class_id, level))
        rule_ids = base_pids + [p for p in (class_pid, level_pid if measure == "coverage" else "") if p] + timing.pids
        if m.baseline is not None:
            rule_ids.insert(1, "F-FROM")
        kind = timing.kind
        q_start, q_end = _quote_span(sentence, clause, m, hit)
        results.append(Proposal(
            indicator=_indicator(sentence, clause, m, hit, reading.subject_start, rules),
            facility_class=class_id, class_reason=reason, measure=measure, unit_level=level,
            target_value=m.value if kind == "target" else None, comparator=comparator if kind == "target" else "",
            target_year=timing.year if kind == "target" else None, binding=binding, kind=kind,
            baseline_value=m.baseline if kind == "target" else m.value,
            baseline_year=timing.year if kind == "baseline" else (context.baseline_year if m.baseline is not None else None),
            value_text=m.raw, unit=m.unit, span=(q_start, q_end), value_span=(m.start, m.end),
            rules=list(dict.fromkeys(rule_ids))))
    return results


def _listed(hits: list[ClassHit], sentence: Span, rules: PlanTextRules) -> list[ClassHit]:
    """The first hit and those joined to it by 和/及/与/、 (a list of facilities)."""
    out = hits[:1]
    for prev, hit in zip(hits, hits[1:]):
        between = _local(sentence, prev.end, hit.start)
        if rules.one("list_join").regex.fullmatch(between):
            out.append(hit)
        else:
            break
    return out


def _listed_before(hits: list[ClassHit], sentence: Span, rules: PlanTextRules) -> list[ClassHit]:
    """The last hit before a value and the hits listed with it."""
    if not hits:
        return []
    out = [hits[-1]]
    for hit, nxt in zip(reversed(hits[:-1]), reversed(hits[1:])):
        if rules.one("list_join").regex.fullmatch(_local(sentence, hit.end, nxt.start)):
            out.insert(0, hit)
        else:
            break
    return out


@dataclass(frozen=True)
class Timing:
    """Target or baseline, the year, and the rules that decided it."""

    kind: str
    year: int | None
    pids: list[str]


def _clean(text: str, rules: PlanTextRules) -> str:
    """`text` without the leading and trailing words of G-LABEL-LEAD / G-LABEL-TAIL."""
    return rules.one("label_tail").regex.sub("", rules.one("label_lead").regex.sub("", text))


def _outside_titles(text: str, rules: PlanTextRules) -> str:
    """`text` with 《...》 titles blanked (years and periods in document titles do not count)."""
    return rules.one("document_title").regex.sub(lambda m: " " * len(m.group(0)), text)


def _timing(sentence: Span, m: Mention, section: tuple[str, str], context: DocumentContext,
            rules: PlanTextRules) -> Timing:
    """Target or baseline, and the year, for a value (see the module docstring, step 4). Years and
    periods count anywhere before the value in the sentence, cue words only in its clause and the
    clause before (共有157家,床位2.6万张: both baselines)."""
    head = _outside_titles(_local(sentence, sentence.start, m.start), rules)
    clauses = [c for c in split_spans(sentence, CLAUSE_END) if c.start < m.start]
    near = _outside_titles(_local(sentence, clauses[-2].start if len(clauses) > 1 else sentence.start, m.start), rules)
    start = context.period[0] if context.period else None
    issued = context.issued_year
    compare = rules.one("comparison_before").regex
    marks: list[tuple[int, str, int, str]] = []  # (position, kind, year, pattern id)
    for pattern in rules.of("year_range") + rules.of("year"):
        for match in pattern.regex.finditer(head):
            if any(p <= match.start() < p + 1 for p, *_ in marks):
                continue
            year = int(match["year"])
            groups = match.groupdict()
            marker, suffix = groups.get("marker") or "", groups.get("suffix") or ""
            if re.search(r"\d\s*$", head[:match.start()]) or suffix == "以来" or compare.search(head[:match.start()]):
                continue
            if marker.startswith("截"):
                kind = "baseline" if issued is None or year <= issued else "target"
            elif start is not None and year < start:
                kind = "baseline"
            elif marker in ("到", "至", "于") or "前" in suffix:
                kind = "target"
            elif context.kind == "review" and issued is not None and year <= issued:
                kind = "baseline"
            elif issued is not None and year < issued and not marker:
                kind = "baseline"
            else:
                kind = "target"
            marks.append((match.start(), kind, year, pattern.pattern_id))
    for match in rules.one("period").regex.finditer(head):
        years = rules.period_of(match["period"])
        if years is None or compare.search(head[:match.start()]):
            continue
        if context.period and years[1] < context.period[0]:
            marks.append((match.start(), "baseline", years[1], "P-PERIOD"))
        elif match["suffix"] != "以来":
            marks.append((match.start(), "target", years[1], "P-PERIOD"))
    default_target = context.target_year
    default_base = context.baseline_year
    if marks:
        pos, kind, year, pid = max(marks)
        cue = _cue(head[pos:], rules)
        if kind == "target" and cue and cue[0] == "baseline" and context.kind == "review":
            return Timing("baseline", year, [pid, cue[1]])
        return Timing(kind, year, [pid])
    cue = _cue(near, rules)
    if cue and cue[1] != "C-TARGET-WEAK":
        return Timing(cue[0], default_target if cue[0] == "target" else default_base, [cue[1]])
    if section[0]:
        return Timing(section[0], default_target if section[0] == "target" else default_base, [section[1]])
    if cue:
        return Timing(cue[0], default_target, [cue[1]])
    kind = "baseline" if context.kind == "review" else "target"
    return Timing(kind, default_target if kind == "target" else default_base, ["D-REVIEW" if kind == "baseline" else "D-DEFAULT"])


def _cue(text: str, rules: PlanTextRules) -> tuple[str, str] | None:
    """(kind, pattern id) of the cue word nearest the end of `text`."""
    best: tuple[int, str, str] | None = None
    for kind, name in (("cue_baseline", "baseline"), ("cue_target", "target"), ("cue_target_weak", "target")):
        for pattern in rules.of(kind):
            for match in pattern.regex.finditer(text):
                if best is None or match.end() > best[0] or (match.end() == best[0] and kind != "cue_target_weak"):
                    best = (match.end(), name, pattern.pattern_id)
    return (best[1], best[2]) if best else None


def _comparator(sentence: Span, m: Mention, rules: PlanTextRules) -> tuple[str, str]:
    """(>=, <=, = or "", pattern id) from the words around a number."""
    if m.how != "number":
        return "", ""
    if m.high is not None:
        return ">=", "V-NUMBER"  # a range (1-2家): at least the lower end
    after = _local(sentence, m.end, min(sentence.end, m.end + 4))
    before = _local(sentence, max(sentence.start, m.start - 4), m.start)
    for pattern in rules.of("comparator_after"):
        if pattern.regex.search(after):
            return pattern.value, pattern.pattern_id
    for pattern in rules.of("comparator_before"):
        if pattern.regex.search(before):
            return pattern.value, pattern.pattern_id
    return "", ""


def _indicator(sentence: Span, clause: Span, m: Mention, hit: ClassHit | None, subject_start: int,
               rules: PlanTextRules) -> str:
    """A short indicator label in the plan's own words (NFKC-normalised; the quote keeps the original)."""
    subject = _local(sentence, subject_start, m.start) if subject_start <= m.start else ""
    clean = _clean(subject, rules)
    if m.how == "every":
        end = hit.end if hit is not None and hit.start >= m.end else clause.end
        label = _local(sentence, m.start, end)
        if hit is not None and len(label) > MAX_INDICATOR_CHARS:
            label = _local(sentence, m.start, m.end) + "…" + hit.word
    elif m.how == "full":
        label = clean + m.raw
    elif hit is not None and hit.start >= m.end:
        label = _clean(_local(sentence, subject_start, hit.end), rules)
        if not label.endswith(hit.word):
            label = clean + hit.word
    else:
        label = clean
        if hit is not None and hit.word not in label and hit.end <= subject_start:
            label = hit.word + label  # 覆盖率为55.6% after 农村互助养老服务设施263个
    if len(label) < 2:
        label = _local(sentence, clause.start, clause.end).strip(",:;。 ")
    if len(label) > MAX_INDICATOR_CHARS:
        label = label[:20] + "…" + label[-(MAX_INDICATOR_CHARS - 21):]
    return label


def _quote_span(sentence: Span, clause: Span, m: Mention, hit: ClassHit | None) -> tuple[int, int]:
    """The sentence, or when it is long the clauses from the subject to the value's clause."""
    if sentence.end - sentence.start <= MAX_QUOTE_CHARS:
        return sentence.start, sentence.end
    clauses = split_spans(sentence, CLAUSE_END)
    first = clause.start
    if hit is not None and hit.start < clause.start:
        first = next((c.start for c in clauses if c.start <= hit.start < c.end), clause.start)
    last = clause.end
    if hit is not None and hit.end > clause.end:
        last = next((c.end for c in clauses if c.start < hit.end <= c.end), clause.end)
    return first, last
