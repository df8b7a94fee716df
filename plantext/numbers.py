"""Numbers in plan text: Arabic and Chinese numerals, ranges, 万/亿, and their units.

`find_values` returns every number with its unit and scaled value (60% -> 0.6, 2.8万张 -> 28000,
0.5‰ -> 0.0005); which of them are indicator values is decided in `plantext.extract`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from plantext.rules import PlanTextRules

CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
CN_UNITS = {"十": 10, "百": 100, "千": 1000}
NUMBER = re.compile(r"(?<![\d.])(?:[<>≥≤]=?\s*)?(\d+(?:\.\d+)?)")


def chinese_number(text: str) -> float | None:
    """一 -> 1, 十二 -> 12, 二十 -> 20, 一百五十 -> 150, 六十点五 -> 60.5; None if not a number."""
    if not text:
        return None
    whole, _, frac = text.partition("点")
    total, current = 0, 0
    for ch in whole:
        if ch in CN_DIGITS:
            current = CN_DIGITS[ch]
        elif ch in CN_UNITS:
            total += (current or 1) * CN_UNITS[ch]
            current = 0
        else:
            return None
    total += current
    if frac:
        digits = "".join(str(CN_DIGITS[c]) for c in frac if c in CN_DIGITS)
        if len(digits) != len(frac):
            return None
        return float(f"{total}.{digits}")
    return float(total)


@dataclass(frozen=True)
class Value:
    """A number in the text: [start, end) in the normalised text, as written (`raw`), the number
    (`number`, lower bound of a range), its unit word, unit kind and scaled value."""

    start: int
    end: int
    raw: str
    number: float
    number_high: float | None
    unit: str
    unit_kind: str        # percent, permille, facility, bed, person, household, money, area, ... or ""
    value: float          # number x scale (percent as 0-1, 万 applied)
    pattern_id: str


def find_values(text: str, rules: PlanTextRules, offset: int = 0) -> list[Value]:
    """Every number in `text` (a sentence), left to right, with offsets shifted by `offset`."""
    found: list[Value] = []
    taken: list[tuple[int, int]] = []
    for pattern in rules.of("value"):
        for match in pattern.regex.finditer(text):
            if any(a < match.end() and match.start() < b for a, b in taken):
                continue
            value = _value_from_match(match, pattern.pattern_id, rules, offset)
            if value is not None:
                found.append(value)
                taken.append((match.start(), match.end()))
    return sorted(found, key=lambda v: v.start)


def _value_from_match(match: re.Match[str], pid: str, rules: PlanTextRules, offset: int) -> Value | None:
    groups = match.groupdict()
    unit = groups.get("unit") or ""
    if groups.get("num"):
        number = float(groups["num"])
        high = float(groups["num2"]) if groups.get("num2") else None
    else:
        number = chinese_number(groups.get("cn") or "")
        high = None
        if number is None:
            return None
    if pid == "V-PERCENT-CN":
        unit = "%"
    scale = 1.0
    mult = groups.get("mult") or ""
    if mult:
        scale *= rules.units[mult].scale if mult in rules.units else 1.0
    info = rules.units.get(unit)
    kind = info.kind if info else ""
    if info:
        scale *= info.scale
    end = match.end()
    if not unit and not mult:
        end = match.start() + len(match.group(0).rstrip())
    return Value(offset + match.start(), offset + end, match.group(0).strip(), number, high, unit, kind,
                 round(number * scale, 12), pid)


def cell_value(text: str, unit_text: str, rules: PlanTextRules) -> tuple[float | None, str, str]:
    """(scaled value, unit kind, comparator) of a table cell such as "60", ">30", "0.0260" with unit
    "万个", or "不低于最低工资标准的80%". The cell's own % wins over the unit column."""
    match = NUMBER.search(text)
    head = (text[: match.start()] if match else text).strip()
    comparator = next((p.value for p in rules.of("comparator_before")
                       if any(p.regex.search(head[:k]) for k in range(1, min(len(head), 5) + 1))), "")
    if match is None:
        return None, "", comparator
    if text[: match.end()].lstrip().startswith((">", "≥")):
        comparator = comparator or ">="
    elif text[: match.end()].lstrip().startswith(("<", "≤")):
        comparator = comparator or "<="
    number = float(match.group(1))
    after = text[match.end():].strip()
    own_unit = "%" if after.startswith("%") else ("‰" if after.startswith("‰") else "")
    unit = own_unit or unit_text
    scale, kind = 1.0, ""
    for word, info in rules.units.items():
        if info.kind == "multiplier" and unit.startswith(word):
            scale *= info.scale
            unit = unit[len(word):]
    unit = unit.strip("()")
    info = rules.units.get(unit) or next((rules.units[w] for w in sorted(rules.units, key=len, reverse=True)
                                          if unit.startswith(w) and rules.units[w].kind != "multiplier"), None)
    if info is not None:
        scale *= info.scale
        kind = info.kind
    for pattern in rules.of("comparator_after"):
        if pattern.regex.search(after.lstrip("%‰")):
            comparator = comparator or pattern.value
    return round(number * scale, 12), kind, comparator
