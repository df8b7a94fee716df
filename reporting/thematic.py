"""Printable thematic maps (matplotlib): townships covered/uncovered for one indicator, facilities
of its class, district outlines and names, title, legend, north arrow, a true-metre scale bar,
data source and date.

Maps are drawn in the area's 3-degree Gauss-Kruger zone (CGCS2000, metres), so the scale bar is
true to within 1/10,000. No web basemap is used (nothing to fetch, nothing to attribute); the
footer says so. Chinese text uses Noto Sans CJK SC shipped by the PyPI package mplfonts, so no
system font is needed.

Every text drawn is plain text: mathtext is off for titles, names, legend and footer, so a "$" in a
plan, district or township name is printed as it is, never parsed as TeX.
"""
from __future__ import annotations

import io
import math
import unicodedata
from pathlib import Path

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")
import matplotlib.patheffects as patheffects  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch, Rectangle  # noqa: E402

from coverage.errors import CoverageError  # noqa: E402
from coverage.evaluate import COUNTY_LEVELS, NO_DATA_MESSAGE  # noqa: E402
from geodata.crs import gk3_epsg  # noqa: E402

COVERED = "#3b8f6a"
UNCOVERED = "#f2b48c"
NOT_COUNTED = "#e9e9e9"
NO_DATA = "#bdbdbd"  # neutral grey: the ledger holds no facility of the class, nothing to judge
DISTRICT_EDGE = "#3a3a3a"
FACILITY = "#1f3b73"
MAP_SIZE_IN = (10.0, 7.5)  # landscape, fits a 16:9 slide and an A4 page
FOOTER_WIDTH = 205  # footer line length in half-width characters (a CJK character is 2) at 6.5 pt
FOOTER_LINES = 4


class FontMissingError(CoverageError, RuntimeError):
    """The bundled CJK font (PyPI mplfonts) is not installed."""


def cjk_font_path() -> Path:
    """Noto Sans CJK SC from the mplfonts package (SIL OFL)."""
    try:
        import mplfonts  # noqa: PLC0415
    except ImportError as err:
        raise FontMissingError("缺少中文字体包 mplfonts, 请先运行 pip install -r requirements.txt。") from err
    path = Path(mplfonts.__file__).parent / "fonts" / "NotoSansCJKsc-Regular.otf"
    if not path.exists():
        raise FontMissingError(f"找不到中文字体 {path.name}, 请重新安装 mplfonts。")
    return path


def use_cjk_font() -> str:
    """Register the CJK font with matplotlib (once) and make it the default; returns its name."""
    path = cjk_font_path()
    if str(path) not in {f.fname for f in font_manager.fontManager.ttflist}:
        font_manager.fontManager.addfont(str(path))
    name = font_manager.FontProperties(fname=str(path)).get_name()
    plt.rcParams.update({"font.family": [name], "axes.unicode_minus": False, "pdf.fonttype": 42, "ps.fonttype": 42})
    return name


def _text_width(text: str) -> int:
    """Width in half-width characters: wide (CJK) characters count 2."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def wrap_text(text: str, width: int = FOOTER_WIDTH) -> list[str]:
    """Lines of at most `width` half-width characters, broken anywhere (Chinese has no spaces),
    preferring a break after "; " or ", " in the last fifth of the line; the text's own newlines kept."""
    lines: list[str] = []
    for para in str(text).split("\n"):
        while _text_width(para) > width:
            cut, used = 0, 0
            for k, ch in enumerate(para):
                used += _text_width(ch)
                if used > width:
                    break
                cut = k + 1
            cut = max(cut, 1)
            soft = max(para.rfind("; ", 0, cut), para.rfind(", ", 0, cut))
            if soft > cut * 4 // 5:
                cut = soft + 2
            lines.append(para[:cut].rstrip())
            para = para[cut:].lstrip()
        lines.append(para)
    return lines


def footer_text(source: str, date_text: str, epsg: int) -> str:
    """The map footnote: data source (several lines allowed, at most FOOTER_LINES - 1), date,
    projection, basemap."""
    lines = wrap_text(f"数据来源: {source or '—'}")
    if len(lines) > FOOTER_LINES - 1:
        lines = lines[:FOOTER_LINES - 1]
        lines[-1] = lines[-1][:-1] + "…"
    lines.append(f"制图日期: {date_text or '—'}    坐标系: CGCS2000 3度带高斯-克吕格投影 (EPSG:{epsg})    底图: 无(未使用在线底图)")
    return "\n".join(lines)


def nice_scale_length_m(width_m: float) -> float:
    """A round length (1, 2 or 5 x 10^k metres) close to a fifth of the map width."""
    goal = max(width_m / 5.0, 1.0)
    power = 10 ** math.floor(math.log10(goal))
    return max(m * power for m in (1, 2, 5) if m * power <= goal)


def _scale_bar(ax, bounds, crs_label: str) -> None:
    minx, miny, maxx, maxy = bounds
    length = nice_scale_length_m(maxx - minx)
    x0, y0 = minx + 0.03 * (maxx - minx), miny + 0.04 * (maxy - miny)
    h = 0.012 * (maxy - miny)
    for k in range(4):
        ax.add_patch(Rectangle((x0 + k * length / 4, y0), length / 4, h, facecolor="black" if k % 2 == 0 else "white",
                               edgecolor="black", linewidth=0.6, zorder=6))
    label = f"{length / 1000:g} 千米" if length >= 1000 else f"{length:g} 米"
    for x, text in ((x0, "0"), (x0 + length, label)):
        ax.text(x, y0 + 1.8 * h, text, ha="center", va="bottom", fontsize=7, zorder=6, parse_math=False,
                path_effects=[patheffects.withStroke(linewidth=2, foreground="white")])


def _north_arrow(ax) -> None:
    ax.annotate("", xy=(0.95, 0.96), xytext=(0.95, 0.87), xycoords="axes fraction",
                arrowprops={"facecolor": "black", "edgecolor": "black", "width": 3, "headwidth": 10, "headlength": 10})
    ax.text(0.95, 0.97, "北", transform=ax.transAxes, ha="center", va="bottom", fontsize=11, parse_math=False)


def _halo(text_artist) -> None:
    text_artist.set_path_effects([patheffects.withStroke(linewidth=2.2, foreground="white")])


def map_layers(units: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, int]:
    """(townships, districts dissolved, EPSG) in the area's GK zone; compute once for many maps."""
    units = units[units.geometry.notna() & ~units.geometry.is_empty]
    minx, _, maxx, _ = units.to_crs(4326).total_bounds
    epsg = gk3_epsg((minx + maxx) / 2)
    metric = units.to_crs(epsg)
    return metric, metric.dissolve("district_code", as_index=False, aggfunc="first"), epsg


def coverage_map_figure(units: gpd.GeoDataFrame, covered: pd.Series, facilities: pd.DataFrame, *, title: str,
                        subtitle: str = "", level: str = "乡镇(街道)", class_name: str = "设施",
                        source: str = "", date_text: str = "", label_townships: bool = False,
                        figsize: tuple[float, float] = MAP_SIZE_IN, layers: tuple | None = None,
                        no_data: bool = False) -> Figure:
    """A coverage map for one indicator.

    units
        Townships (code, name, district_code, district_name, geometry; any CRS).
    covered
        Unit code -> True/False for units counted by the indicator (township codes, or district
        codes for county-level indicators); units not in it are drawn as 不参与统计. Empty for count
        indicators (facilities only).
    facilities
        Rows with lon/lat (WGS84) of the indicator's class, drawn as markers.
    source
        The data source (file names, encodings, sheets, coordinate systems); newlines allowed,
        long lines wrapped. The footnote text artist has gid "footer".
    layers
        `map_layers(units)`, when several maps of the same units are drawn.
    no_data
        The ledger holds no facility of the class (`coverage.evaluate.NO_DATA_MESSAGE`): the units
        of `covered` are drawn neutral grey (neither covered nor uncovered) and a note says so.

    All text (title, names, legend, footnote) is drawn literally, without mathtext.
    """
    use_cjk_font()
    metric, districts, epsg = layers or map_layers(units)
    fig = Figure(figsize=figsize, dpi=100)
    fig.subplots_adjust(left=0.02, right=0.98, top=0.88, bottom=0.10)
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_aspect("equal")
    legend = []
    county = level in COUNTY_LEVELS
    if county and len(covered):
        state = districts["district_code"].map(covered)
        polys = districts
    else:
        state = metric["code"].map(covered) if len(covered) else pd.Series(np.nan, index=metric.index)
        polys = metric
    if no_data:
        colours = np.where(state.notna(), NO_DATA, NOT_COUNTED)
    else:
        colours = np.where(state.eq(True), COVERED, np.where(state.eq(False), UNCOVERED, NOT_COUNTED))
    polys.plot(ax=ax, color=colours, edgecolor="white", linewidth=0.4, zorder=1)
    districts.boundary.plot(ax=ax, color=DISTRICT_EDGE, linewidth=1.1, zorder=3)
    noun = {"县(市、区)": "县(市、区)", "县": "县、县级市"}.get(level, "乡镇(街道)") if county else "乡镇(街道)"
    if len(covered) and no_data:
        legend.append(Patch(facecolor=NO_DATA, edgecolor="none", label=f"{noun}: 无台账数据 ({int(state.notna().sum())})"))
        if state.isna().any():
            legend.append(Patch(facecolor=NOT_COUNTED, edgecolor="none", label="不参与该指标统计"))
    elif len(covered):
        n_cov, n_unc = int(state.eq(True).sum()), int(state.eq(False).sum())
        legend += [Patch(facecolor=COVERED, edgecolor="none", label=f"已覆盖{noun} ({n_cov})"),
                   Patch(facecolor=UNCOVERED, edgecolor="none", label=f"未覆盖{noun} ({n_unc})")]
        if state.isna().any():
            legend.append(Patch(facecolor=NOT_COUNTED, edgecolor="none", label="不参与该指标统计"))
    legend.append(Line2D([], [], color=DISTRICT_EDGE, linewidth=1.1, label="区县界"))
    pts = facilities.dropna(subset=["lon", "lat"])
    if len(pts):
        xy = gpd.GeoSeries(gpd.points_from_xy(pts["lon"], pts["lat"]), crs=4326).to_crs(epsg)
        ax.scatter(xy.x, xy.y, s=16, marker="o", facecolor=FACILITY, edgecolor="white", linewidth=0.5, zorder=5)
    legend.append(Line2D([], [], marker="o", linestyle="", markerfacecolor=FACILITY, markeredgecolor="white",
                         markersize=6, label=f"{class_name} ({len(pts)})"))
    if label_townships:
        for r in metric.itertuples():
            p = r.geometry.representative_point()
            _halo(ax.text(p.x, p.y, str(r.name), fontsize=6, ha="center", va="center", zorder=7, color="#222222",
                          parse_math=False))
    else:
        for r in districts.itertuples():
            p = r.geometry.representative_point()
            _halo(ax.text(p.x, p.y, str(r.district_name), fontsize=9, ha="center", va="center", zorder=7, parse_math=False))
    bounds = metric.total_bounds
    pad_x, pad_y = 0.03 * (bounds[2] - bounds[0]), 0.03 * (bounds[3] - bounds[1])
    ax.set_xlim(bounds[0] - pad_x, bounds[2] + pad_x)
    ax.set_ylim(bounds[1] - pad_y, bounds[3] + pad_y)
    _north_arrow(ax)
    _scale_bar(ax, (bounds[0] - pad_x, bounds[1] - pad_y, bounds[2] + pad_x, bounds[3] + pad_y), "")
    leg = ax.legend(handles=legend, loc="lower right", fontsize=8, frameon=True, framealpha=0.92, edgecolor="#999999")
    for text in leg.get_texts():
        text.set_parse_math(False)
    if no_data:
        ax.text(0.02, 0.97, f"{NO_DATA_MESSAGE}\n该类设施台账中没有任何记录, 图中不作覆盖/达标判断",
                transform=ax.transAxes, ha="left", va="top", fontsize=10, color="#333333", zorder=8, parse_math=False,
                bbox={"boxstyle": "round,pad=0.5", "facecolor": "#fff8d6", "edgecolor": "#b8a040", "linewidth": 0.8})
    fig.suptitle(str(title), fontsize=16, y=0.965, parse_math=False)
    if subtitle:
        fig.text(0.5, 0.905, str(subtitle), ha="center", fontsize=10, color="#333333", parse_math=False)
    fig.text(0.02, 0.012, footer_text(source, date_text, epsg), fontsize=6.5, color="#555555", ha="left", va="bottom",
             linespacing=1.35, parse_math=False, gid="footer")
    return fig


def raster_image(fig: Figure, dpi: int = 300):
    """The figure drawn once at `dpi`, as an RGB PIL image."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415
    from PIL import Image  # noqa: PLC0415

    fig.set_dpi(dpi)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba()).convert("RGB")


def encode_png_and_preview(image, dpi: int = 300, preview_factor: int = 2) -> tuple[bytes, bytes]:
    """(PNG of the image, JPEG preview 1/`preview_factor` the size for embedding in documents).
    Encoding releases the GIL, so it can run in a thread while the next map is drawn."""
    png, jpeg = io.BytesIO(), io.BytesIO()
    image.save(png, "PNG", compress_level=1, dpi=(dpi, dpi))
    image.reduce(preview_factor).save(jpeg, "JPEG", quality=90, dpi=(dpi // preview_factor,) * 2)
    return png.getvalue(), jpeg.getvalue()


def raster_png_and_preview(fig: Figure, dpi: int = 300, preview_factor: int = 2) -> tuple[bytes, bytes]:
    """Draw once at `dpi` and encode: (PNG, JPEG preview)."""
    return encode_png_and_preview(raster_image(fig, dpi), dpi, preview_factor)


def figure_bytes(fig: Figure, fmt: str = "png", dpi: int = 300) -> bytes:
    """The figure as PNG (at `dpi`), PDF or SVG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi, facecolor="white")
    return buf.getvalue()
