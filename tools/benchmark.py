"""Benchmark (run on demand, not a test): timings of the core steps and of each page on the demo.

Usage: python tools/benchmark.py   (prints seconds; warm = second run, with Streamlit caches filled)
"""
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MZ_WORKSPACE", tempfile.mkdtemp())

from coverage.__main__ import select_plan  # noqa: E402
from coverage.catalog import load_classes, load_targets  # noqa: E402
from coverage.evaluate import evaluate_layers  # noqa: E402
from geodata.demo import load_demo  # noqa: E402
from geodata.io import read_facilities, read_units  # noqa: E402
from geodata.webmap import coverage_map  # noqa: E402


def timed(label, fn):
    t = time.perf_counter()
    out = fn()
    print(f"{label:<40} {time.perf_counter() - t:6.3f} s")
    return out


classes = load_classes()
u, f = load_demo()
units, _ = timed("read townships (119)", lambda: read_units(u))
facilities, _ = timed("read facilities (1178)", lambda: read_facilities(f, None, classes))
targets = select_plan(load_targets(), "十堰")
assigned, res = timed("assign + evaluate (15 targets)", lambda: evaluate_layers(units, facilities, targets, classes))
status = {c: "covered" for c in units["code"]}
html = timed("build + render folium map", lambda: coverage_map(units, status, facilities, class_names=classes.names,
                                                              indicator="x").get_root().render())
print(f"{'map HTML payload':<40} {len(html) / 1024:6.0f} KiB")

# The meeting pack for the whole demo city: 15 indicators, every format (goal: <= 20 s on 2 cores).
from coverage.config import CoverageConfig  # noqa: E402
from geodata.clean import prepare_facilities  # noqa: E402
from reporting.meeting_pack import FORMATS, build_pack, pack_data  # noqa: E402

prepared, _ = prepare_facilities(read_facilities(f, None, classes, system="auto")[0], units, system="auto")
data = timed("pack: evaluate + 2020 baseline", lambda: pack_data(units, prepared, targets, classes, CoverageConfig(),
                                                                 plan=targets["plan"].iloc[0], demo=True))
timed("pack: default formats (no svg)", lambda: build_pack(data, ["docx", "pptx", "pdf", "xlsx", "png"]))
files = timed("pack: every format incl. svg", lambda: build_pack(data, list(FORMATS)))
print(f"{'pack files':<40} {len(files) - 1} files, zip {len(files['会议材料.zip']) / 2**20:.1f} MiB")

from streamlit.testing.v1 import AppTest  # noqa: E402

for page in ["pages/overview.py", "pages/coverage_map.py", "pages/indicators.py", "pages/uncovered.py", "pages/data.py", "pages/quality.py",
             "pages/targets.py", "pages/report.py"]:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    t = time.perf_counter()
    at.switch_page(page).run()
    cold = time.perf_counter() - t
    t = time.perf_counter()
    at.run()
    warm = time.perf_counter() - t
    print(f"page {page:<34} first {cold:6.3f} s   rerun {warm:6.3f} s")
