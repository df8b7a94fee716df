"""Kinds of administrative units, from their names and 统计用区划代码, per `data/unit_kinds.csv`.

Township tier (digits 7-9 of the 9/12-digit code): 街道 001-099, 镇 100-199, 乡 200-399,
类似乡级单位 400-599 (林场, 农场, 管委会, 开发区 ...). County tier (digits 5-6 of the 6-digit code):
市辖区 01-20, 县 21-80, 县级市 81-99. A name suffix wins over the code (longest suffix first, after
dropping a trailing bracketed note); without either the kind is 其他.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import numpy as np
import pandas as pd

from coverage.catalog import DATA_DIR

UNIT_KINDS_CSV = DATA_DIR / "unit_kinds.csv"
UNKNOWN_KIND = "其他"
#: Township kinds counted by 乡镇(街道) targets by default.
TOWNSHIP_KINDS = ("街道", "镇", "乡")
OTHER_TOWNSHIP_KIND = "类似乡级单位"
_BRACKET_TAIL = re.compile(r"[(（\[【][^)）\]】]*[)）\]】]\s*$")


@lru_cache(maxsize=1)
def _rules() -> dict[str, tuple[list[tuple[str, str]], list[tuple[int, int, str]]]]:
    table = pd.read_csv(UNIT_KINDS_CSV, dtype=str, keep_default_na=False)
    out: dict[str, tuple[list, list]] = {}
    for tier, rows in table.groupby("tier", sort=False):
        suffixes = [(s, r.kind) for r in rows.itertuples() for s in r.name_suffixes.split("|") if s]
        suffixes.sort(key=lambda p: -len(p[0]))
        ranges = [(int(r.code_from), int(r.code_to), r.kind) for r in rows.itertuples()]
        out[tier] = (suffixes, ranges)
    return out


def _kind(name: str, segment: int | None, tier: str) -> str:
    return _kind_of_text(_BRACKET_TAIL.sub("", unicodedata.normalize("NFKC", name or "").strip()).strip(), segment, tier)


def _kind_of_text(text: str, segment: int | None, tier: str) -> str:
    """The kind of a normalised name (NFKC, stripped, bracketed tail dropped) and code segment."""
    suffixes, ranges = _rules()[tier]
    for suffix, kind in suffixes:
        if text.endswith(suffix):
            return kind
    if segment is not None:
        for lo, hi, kind in ranges:
            if lo <= segment <= hi:
                return kind
    return UNKNOWN_KIND


def township_kind(name: str, code: str) -> str:
    """街道 / 镇 / 乡 / 类似乡级单位 / 其他 of a township-level unit."""
    digits = "".join(ch for ch in str(code or "") if ch.isdigit())
    return _kind(name, int(digits[6:9]) if len(digits) >= 9 else None, "township")


def township_kinds(names: pd.Series, codes: pd.Series) -> np.ndarray:
    """`township_kind` of many units at once, by column operations (a national layer has 40,000
    townships): names normalised as `_kind` does, then each suffix (longest first) and each code
    range tried on the whole column."""
    suffixes, ranges = _rules()["township"]
    text = pd.Series(names, dtype=object).fillna("").astype(str).str.normalize("NFKC").str.strip()
    text = text.str.replace(_BRACKET_TAIL, "", regex=True).str.strip()
    digits = pd.Series(codes, dtype=object).fillna("").astype(str).str.replace(r"\D", "", regex=True)
    segment = pd.to_numeric(digits.str[6:9].where(digits.str.len() >= 9), errors="coerce").to_numpy(dtype=float)
    kinds = np.full(len(text), UNKNOWN_KIND, dtype=object)
    open_ = np.ones(len(text), dtype=bool)
    for suffix, kind in suffixes:
        hit = open_ & text.str.endswith(suffix).to_numpy(dtype=bool)
        kinds[hit], open_ = kind, open_ & ~hit
    for lo, hi, kind in ranges:
        hit = open_ & (segment >= lo) & (segment <= hi)
        kinds[hit], open_ = kind, open_ & ~hit
    return kinds


def district_kind(name: str, code: str) -> str:
    """市辖区 / 县 / 县级市 / 其他 of a county-level unit."""
    digits = "".join(ch for ch in str(code or "") if ch.isdigit())
    return _kind(name, int(digits[4:6]) if len(digits) >= 6 else None, "county")
