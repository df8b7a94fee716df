"""Targets from the plan text: read a plan (.txt, .docx, .pdf) and propose checkable targets.

`read_plan_text(path_or_bytes, filename)` returns the plan as text (tables one cell per line);
`propose_targets(text, classes)` returns one row per indicator value with a verbatim quote, its
offsets, the facility class, measure, unit level, target/baseline and year, and the rules that
fired. The rules are data: `data/plantext_patterns.csv` and `data/plantext_vocabulary.csv`.
No Streamlit here; pages import these two functions.
"""
from plantext.extract import PROPOSAL_COLUMN_LABELS, PROPOSAL_COLUMNS, propose_targets
from plantext.read import read_plan_text

__all__ = ["PROPOSAL_COLUMNS", "PROPOSAL_COLUMN_LABELS", "propose_targets", "read_plan_text"]
