"""A plan document as the extractor sees it: normalised text with offsets back to the original,
lines, headings and the section each line is in, sentences, and the plan's period and date.

All offsets here are in the *normalised* text (`NormalisedText.text`, NFKC per character, so
full-width brackets, commas and percent signs become half-width); `NormalisedText.original_span`
maps a span back to the text the planner uploaded, where quotes are cut.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from plantext.rules import PlanTextRules

#: A heading is a short line; longer lines that start like one are numbered paragraphs.
MAX_HEADING_CHARS = 40
#: Lines searched for the title, the issue date and the plan period.
TITLE_LINES = 60
SENTENCE_END = re.compile(r"[。!?;]")
CLAUSE_END = re.compile(r"[,:]")


@dataclass(frozen=True)
class NormalisedText:
    """`text` is `original` with every character NFKC-normalised; `origin[i]` is the index in
    `original` of normalised character i (one original character may become several)."""

    original: str
    text: str
    origin: tuple[int, ...]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The original [start, end) of the normalised span [start, end)."""
        if end <= start:
            at = self.origin[start] if start < len(self.origin) else len(self.original)
            return at, at
        return self.origin[start], self.origin[end - 1] + 1


def normalise(original: str) -> NormalisedText:
    """NFKC per character, keeping the offset of each character in the original."""
    out: list[str] = []
    origin: list[int] = []
    cache: dict[str, str] = {}
    for i, ch in enumerate(original):
        norm = cache.get(ch)
        if norm is None:
            norm = cache[ch] = unicodedata.normalize("NFKC", ch) if ord(ch) > 127 else ch
        if len(norm) == 1:
            out.append(norm)
            origin.append(i)
        else:  # e.g. ㎡ -> m2, or a character NFKC drops
            out.extend(norm)
            origin.extend([i] * len(norm))
    return NormalisedText(original, "".join(out), tuple(origin))


@dataclass(frozen=True)
class Line:
    """A non-blank line, stripped: [start, end) in the normalised text."""

    start: int
    end: int
    text: str


def split_lines(text: str) -> list[Line]:
    """Non-blank lines with their stripped spans."""
    lines = []
    pos = 0
    for raw in text.split("\n"):
        stripped = raw.strip()
        if stripped:
            lead = len(raw) - len(raw.lstrip())
            lines.append(Line(pos + lead, pos + lead + len(stripped), stripped))
        pos += len(raw) + 1
    return lines


@dataclass(frozen=True)
class Span:
    """A sentence or clause: [start, end) in the normalised text."""

    start: int
    end: int
    text: str


def split_spans(line: Line | Span, pattern: re.Pattern[str] = SENTENCE_END) -> list[Span]:
    """Sentences (or, with CLAUSE_END, clauses) of a line; the delimiter stays with its part."""
    out = []
    begin = 0
    text = line.text
    for match in pattern.finditer(text):
        if match.end() > begin:
            out.append((begin, match.end()))
        begin = match.end()
    if begin < len(text):
        out.append((begin, len(text)))
    spans = []
    for a, b in out:
        piece = text[a:b]
        lead = len(piece) - len(piece.lstrip())
        piece = piece.strip()
        if piece:
            spans.append(Span(line.start + a + lead, line.start + a + lead + len(piece), piece))
    return spans


@dataclass(frozen=True)
class DocumentContext:
    """What the document is: a five-year plan, an annual work plan or an evaluation report; its
    period (first and last year), issue year, and the default years of targets and baselines."""

    kind: str                     # "plan", "annual" or "review"
    period: tuple[int, int] | None
    period_label: str             # 十四五, 2022年, ... ("" when unknown)
    issued_year: int | None
    target_year: int | None       # when a target names no year
    baseline_year: int | None     # when a baseline names no year
    reason: str                   # how this was recognised, in Chinese


def _title_text(lines: list[Line]) -> str:
    return "\n".join(line.text for line in lines[:TITLE_LINES])


def document_context(lines: list[Line], rules: PlanTextRules) -> DocumentContext:
    """Recognise the plan period, kind and issue year from the first lines."""
    head = _title_text(lines)
    issued = None
    for match in rules.one("doc_date").regex.finditer(head):
        issued = int(match["year"])
        break
    reasons = []
    annual = rules.one("doc_annual").regex.search(head)
    review = bool(rules.one("doc_review").regex.search(head))
    period, label = None, ""
    if annual:
        year = int(annual["year"])
        period, label = (year, year), f"{year}年"
        reasons.append(f"标题为{year}年度工作要点/计划")
    else:
        for pattern in rules.of("doc_period"):
            match = pattern.regex.search(head)
            if match and rules.period_of(match["period"]):
                label = match["period"]
                period = rules.period_of(label)
                label = _period_name(label, rules)
                reasons.append(f"标题中的“{label}”规划")
                break
        if period is None:
            match = rules.one("doc_period_years").regex.search("\n".join(line.text for line in lines))
            if match:
                period = (int(match["start"]), int(match["end"]))
                label = f"{period[0]}-{period[1]}年"
                reasons.append(f"文中写明规划期为{label}")
        if period is None:
            counts: dict[str, int] = {}
            full = "\n".join(line.text for line in lines)
            for token in rules.periods:
                counts[_period_name(token, rules)] = counts.get(_period_name(token, rules), 0) + full.count(token)
            latest = max((t for t, c in counts.items() if c), key=lambda t: rules.periods[t][0], default="")
            if latest:
                period, label = rules.periods[latest], latest
                reasons.append(f"文中提到的最近一个规划期“{latest}”")
    kind = "annual" if annual else ("review" if review else "plan")
    if review:
        reasons.append("标题为评估/总结报告: 未标明为目标的数字按现状计")
    if period is None:
        target_year = baseline_year = None
        reasons.append("未识别出规划期: 未写年份的目标不填目标年份")
    elif kind == "review":
        target_year = period[1]
        baseline_year = issued if issued and period[0] <= issued <= period[1] else period[0] - 1
    else:
        target_year, baseline_year = period[1], period[0] - 1
    if period is not None:
        reasons.append(f"未写年份的目标按{target_year}年、现状按{baseline_year}年计")
    return DocumentContext(kind, period, label, issued, target_year, baseline_year, "; ".join(reasons))


def _period_name(token: str, rules: PlanTextRules) -> str:
    """The short name (十四五) of a period token such as 第十四个五年."""
    years = rules.period_of(token)
    for name, value in rules.periods.items():
        if value == years and len(name) == 3:
            return name
    return token


@dataclass(frozen=True)
class Heading:
    """A heading line: its style (chapter, section, cn, ...) and what its words say."""

    line: Line
    style: str
    state: str          # "baseline", "target" or "" (neutral)
    pattern_id: str     # the S-* pattern that decided the state ("" when neutral)


def find_headings(lines: list[Line], rules: PlanTextRules) -> dict[int, Heading]:
    """Headings by line index: short lines that start like 第一章 / 一、/ (一) / 1. / 专栏."""
    out = {}
    for i, line in enumerate(lines):
        if len(line.text) > MAX_HEADING_CHARS:
            continue
        for pattern in rules.of("heading"):
            if pattern.regex.match(line.text):
                state, pid = "", ""
                for kind, name in (("section_baseline", "baseline"), ("section_target", "target")):
                    hit = next((p for p in rules.of(kind) if p.regex.search(line.text)), None)
                    if hit:
                        state, pid = name, hit.pattern_id
                        break
                out[i] = Heading(line, pattern.value, state, pid)
                break
    return out


def section_states(lines: list[Line], headings: dict[int, Heading]) -> list[tuple[str, str]]:
    """(state, pattern id) of the section each line is in: the innermost heading above it that
    says baseline or target. Heading levels follow the order in which styles first appear."""
    levels: dict[str, int] = {}
    stack: list[tuple[int, Heading]] = []
    out = []
    for i in range(len(lines)):
        heading = headings.get(i)
        if heading is not None:
            level = levels.setdefault(heading.style, len(levels))
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, heading))
        state = next(((h.state, h.pattern_id) for _, h in reversed(stack) if h.state), ("", ""))
        out.append(state)
    return out
