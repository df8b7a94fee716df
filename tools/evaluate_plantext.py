"""Evaluate `plantext.propose_targets` on the five seed plans against the hand-made reference.

    .venv/bin/python tools/evaluate_plantext.py [--details] [--seed 001]

Reference: ../shared/plan-targets/seed_targets.csv (273 rows; README.md there). Skips cleanly
(exit 0 with a message) when ../shared is absent.

Matching rule
-------------
A proposal *matches* a reference row when
1. both come from the same seed file,
2. their quotes overlap in the seed text: the proposal's [start, end) intersects one of the
   reference quote's pieces, located verbatim in the seed (table rows "[表…] a | b | c" are
   located as the run of cells a…c; "…" joins separate pieces), and
3. the values agree: a number of the proposal (target_value or baseline_value) equals a number
   stated in the reference's target_value or baseline_value (percentages as 0-1, 万 applied,
   全覆盖/全部 = 100%; relative tolerance 1e-6), or the reference states no number at all (then
   the overlap alone decides, e.g. a table row "不低于居民上年度人均消费支出增速").

Precision = proposals that match at least one reference row / all proposals.
Recall = reference rows matched by at least one proposal / reference rows, given twice: over all
rows, and over the *quantified* rows, whose own quote states a quantity (a number other than a
year, a percentage, 全覆盖/全部/所有/每个, or a Chinese numeral with a measure word); the others
("推动……建设", "加快推进……项目") are not checkable targets, which the extractor is not meant to
propose. Kind agreement: among matched pairs, the share where the proposal's kind (target /
baseline) equals the reference's (target when it has a target value due on or after the year the
document was issued, else baseline).

Also times `propose_targets` on a ~150,000-character text (the seeds repeated).
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from plantext import propose_targets  # noqa: E402
from plantext.document import document_context, normalise, split_lines  # noqa: E402
from plantext.rules import load_rules  # noqa: E402

SHARED = ROOT.parent / "shared"
SEEDS = SHARED / "seeds"
REFERENCE = SHARED / "plan-targets" / "seed_targets.csv"
BENCHMARK_CHARS = 150_000
NUMBER = re.compile(r"(\d+(?:\.\d+)?)\s*(万|亿)?\s*([%‰])?")
YEAR_ONLY = re.compile(r"(?:19|20)\d\d\s*(?:年|-|—|–)")
QUANTIFIED = re.compile(r"\d|全覆盖|全部|所有|每个|各县|[一二两三四五六七八九十]\s*[个所家处座张]")


def reference_numbers(row: pd.Series) -> set[float]:
    """Numbers stated in the reference's target and baseline values (60% -> 0.6, 2.8万 -> 28000)."""
    out: set[float] = set()
    for col in ("target_value", "baseline_value"):
        text = str(row[col] or "")
        text = re.sub(r"\((?:推定|推算)[^)]*\)", "", text)
        for num, mult, pct in NUMBER.findall(text):
            value = float(num)
            value *= {"万": 1e4, "亿": 1e8}.get(mult, 1)
            value /= {"%": 100, "‰": 1000}.get(pct, 1)
            out.add(round(value, 9))
        if re.search(r"全覆盖|全部", text):
            out.add(1.0)
    return out


def locate(quote: str, text: str) -> list[tuple[int, int]]:
    """Spans of the reference quote's pieces in the seed text ([] when not found)."""
    table = re.match(r"\[[^\]]*\]\s*(.*)", quote)
    if table:
        cells = [c.strip() for c in table.group(1).split("|") if c.strip()]
        at = 0
        while (first := text.find(cells[0], at)) >= 0:
            pos, ok = first + len(cells[0]), True
            for cell in cells[1:]:
                nxt = text.find(cell, pos)
                if nxt < 0 or nxt - pos > 80:
                    ok = False
                    break
                pos = nxt + len(cell)
            if ok:
                return [(first, pos)]
            at = first + 1
        return []
    spans = []
    for piece in (p.strip() for p in quote.split("…")):
        if piece and (at := text.find(piece)) >= 0:
            spans.append((at, at + len(piece)))
    return spans


def quantified(row: pd.Series) -> bool:
    """The reference quote itself states a quantity (years alone do not count)."""
    quote = YEAR_ONLY.sub("", re.sub(r"^\[[^\]]*\]", "", str(row["source_quote"])))
    return bool(QUANTIFIED.search(quote)) and bool(reference_numbers(row) or re.search(r"全覆盖|全部", quote))


def reference_kind(row: pd.Series, issued: int | None) -> str:
    if not reference_numbers(pd.Series({"target_value": row["target_value"], "baseline_value": ""})):
        return "baseline"
    year = re.search(r"(?:19|20)\d\d", str(row["target_year"] or ""))
    if year and issued and int(year.group(0)) < issued:
        return "baseline"
    return "target"


def agree(proposal: pd.Series, numbers: set[float]) -> bool:
    if not numbers:
        return True
    mine = [v for v in (proposal["target_value"], proposal["baseline_value"]) if pd.notna(v)]
    return any(abs(a - b) <= 1e-6 * max(1.0, abs(b)) for a in mine for b in numbers)


def evaluate_seed(name: str, text: str, ref: pd.DataFrame, proposals: pd.DataFrame) -> dict:
    rules = load_rules()
    issued = document_context(split_lines(normalise(text).text), rules).issued_year
    ref = ref.assign(spans=[locate(q, text) for q in ref["source_quote"]],
                     numbers=[reference_numbers(r) for _, r in ref.iterrows()],
                     quantified=[quantified(r) for _, r in ref.iterrows()],
                     ref_kind=[reference_kind(r, issued) for _, r in ref.iterrows()])
    matched_ref: set[int] = set()
    matched_prop: set[int] = set()
    kind_pairs: list[bool] = []
    for pi, p in proposals.iterrows():
        for ri, r in ref.iterrows():
            if not any(a < p["end"] and p["start"] < b for a, b in r["spans"]):
                continue
            if agree(p, r["numbers"]):
                matched_ref.add(ri)
                matched_prop.add(pi)
                kind_pairs.append(p["kind"] == r["ref_kind"])
    return {
        "seed": name, "reference": len(ref), "quantified": int(ref["quantified"].sum()),
        "found": len(matched_ref), "found_quantified": int(ref.loc[sorted(matched_ref), "quantified"].sum()) if matched_ref else 0,
        "proposals": len(proposals), "correct": len(matched_prop), "kind_agree": sum(kind_pairs), "pairs": len(kind_pairs),
        "unlocated": int((ref["spans"].map(len) == 0).sum()),
        "missed": ref.drop(index=sorted(matched_ref)), "wrong": proposals.drop(index=sorted(matched_prop)),
    }


def _ratio(a: int, b: int) -> str:
    return f"{a / b:.2f}" if b else "-"


def benchmark(texts: list[str]) -> tuple[int, float, int]:
    """(characters, seconds, proposals) for the seeds repeated to ~150,000 characters."""
    joined = "\n\n".join(texts)
    big = (joined + "\n\n") * (BENCHMARK_CHARS // len(joined) + 1)
    big = big[:BENCHMARK_CHARS]
    started = time.perf_counter()
    out = propose_targets(big)
    return len(big), time.perf_counter() - started, len(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--details", action="store_true", help="list missed reference rows and unmatched proposals")
    parser.add_argument("--seed", help="only seeds whose file name starts with this")
    args = parser.parse_args(argv)
    if not SEEDS.is_dir() or not REFERENCE.is_file():
        print(f"跳过: 未找到 {SEEDS} 或 {REFERENCE}(../shared 不存在)。")
        return 0
    reference = pd.read_csv(REFERENCE, dtype=str, keep_default_na=False)
    results, texts = [], []
    for path in sorted(SEEDS.glob("*.txt")):
        if args.seed and not path.name.startswith(args.seed):
            continue
        text = path.read_text(encoding="utf-8")
        texts.append(text)
        results.append(evaluate_seed(path.name, text, reference[reference["seed"] == path.name].reset_index(drop=True),
                                     propose_targets(text)))
    print(f"{'seed':<28}{'ref':>5}{'quant':>7}{'recall':>8}{'recall(q)':>11}{'props':>7}{'precision':>11}{'kind':>7}")
    for r in results:
        print(f"{r['seed']:<28}{r['reference']:>5}{r['quantified']:>7}{_ratio(r['found'], r['reference']):>8}"
              f"{_ratio(r['found_quantified'], r['quantified']):>11}{r['proposals']:>7}"
              f"{_ratio(r['correct'], r['proposals']):>11}{_ratio(r['kind_agree'], r['pairs']):>7}")
        if r["unlocated"]:
            print(f"  注意: {r['unlocated']} 条参考摘录在原文中找不到")
    total = {k: sum(r[k] for r in results) for k in ("reference", "quantified", "found", "found_quantified", "proposals",
                                                     "correct", "kind_agree", "pairs")}
    print(f"{'overall':<28}{total['reference']:>5}{total['quantified']:>7}{_ratio(total['found'], total['reference']):>8}"
          f"{_ratio(total['found_quantified'], total['quantified']):>11}{total['proposals']:>7}"
          f"{_ratio(total['correct'], total['proposals']):>11}{_ratio(total['kind_agree'], total['pairs']):>7}")
    if args.details:
        for r in results:
            print(f"\n== {r['seed']}: missed quantified reference rows")
            for _, row in r["missed"][r["missed"]["quantified"]].iterrows():
                print(f"  - {row['indicator']} | t={row['target_value']} b={row['baseline_value']} | {row['source_quote'][:90]}")
            print(f"== {r['seed']}: proposals matching no reference row")
            for _, p in r["wrong"].iterrows():
                print(f"  + {p['kind']} {p['indicator']} | {p['measure']} t={p['target_value']} b={p['baseline_value']} | {p['quote'][:70]}")
    if not args.seed:
        chars, seconds, n = benchmark(texts)
        print(f"\n基准: {chars} 字符, {seconds:.2f} 秒, {n} 条建议")
    return 0


if __name__ == "__main__":
    sys.exit(main())
