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
DOT_RADIUS_PT = 2.2  # facility marker radius (points)
LABEL_GAP_PT = 1.5  # clearance kept between a label and a facility dot or another label (points)
NUMBER_LIST_WIDTH = 0.12  # figure width of one column of the numbered-township list
NUMBER_LIST_ROWS = 30


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
    xy = gpd.GeoSeries(gpd.points_from_xy(pts["lon"], pts["lat"]), crs=4326).to_crs(epsg)
    if len(pts):
        ax.scatter(xy.x, xy.y, s=(2 * DOT_RADIUS_PT) ** 2, marker="o", facecolor=FACILITY, edgecolor="white", linewidth=0.5,
                   zorder=5)
    legend.append(Line2D([], [], marker="o", linestyle="", markerfacecolor=FACILITY, markeredgecolor="white",
                         markersize=6, label=f"{class_name} ({len(pts)})"))
    bounds = metric.total_bounds
    pad_x, pad_y = 0.03 * (bounds[2] - bounds[0]), 0.03 * (bounds[3] - bounds[1])
    ax.set_xlim(bounds[0] - pad_x, bounds[2] + pad_x)
    ax.set_ylim(bounds[1] - pad_y, bounds[3] + pad_y)
    dots = np.column_stack([xy.x, xy.y]) if len(pts) else np.empty((0, 2))
    _north_arrow(ax)
    _scale_bar(ax, (bounds[0] - pad_x, bounds[1] - pad_y, bounds[2] + pad_x, bounds[3] + pad_y), "")
    leg = ax.legend(handles=legend, loc="lower right", fontsize=8, frameon=True, framealpha=0.92, edgecolor="#999999")
    for text in leg.get_texts():
        text.set_parse_math(False)
    if no_data:
        ax.text(0.02, 0.97, f"{NO_DATA_MESSAGE}\n该类设施台账中没有任何记录, 图中不作覆盖/达标判断",
                transform=ax.transAxes, ha="left", va="top", fontsize=10, color="#333333", zorder=8, parse_math=False,
                bbox={"boxstyle": "round,pad=0.5", "facecolor": "#fff8d6", "edgecolor": "#b8a040", "linewidth": 0.8})
    if label_townships:
        items = [(str(r.name), r.geometry) for r in metric.itertuples()]
        trial: dict[int, int] = {}
        crowded = place_labels(ax, items, dots, fontsize=6.5, dot_radius_pt=DOT_RADIUS_PT, number_when_crowded=True,
                               draw=False, avoid=_furniture_boxes(ax), numbers=trial)
        if crowded:  # make room on the right for the list of numbered townships
            fig.subplots_adjust(right=0.98 - NUMBER_LIST_WIDTH * (1 + (len(crowded) > NUMBER_LIST_ROWS)))
        numbered = place_labels(ax, items, dots, fontsize=6.5, dot_radius_pt=DOT_RADIUS_PT, number_when_crowded=True,
                                avoid=_furniture_boxes(ax), numbers=reading_order_numbers(items, trial))
        if numbered:
            _number_list(fig, numbered)
    else:
        items = [(str(r.district_name), r.geometry) for r in districts.itertuples()]
        place_labels(ax, items, dots, fontsize=9, dot_radius_pt=DOT_RADIUS_PT, leader_when_crowded=True,
                     avoid=_furniture_boxes(ax))
    fig.suptitle(str(title), fontsize=16, y=0.965, parse_math=False)
    if subtitle:
        fig.text(0.5, 0.905, str(subtitle), ha="center", fontsize=10, color="#333333", parse_math=False)
    fig.text(0.02, 0.012, footer_text(source, date_text, epsg), fontsize=6.5, color="#555555", ha="left", va="bottom",
             linespacing=1.35, parse_math=False, gid="footer")
    return fig


def _renderer(fig: Figure):
    """A renderer to measure text with (the figure gets an Agg canvas if it has none)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415

    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    return fig.canvas.get_renderer()


def _furniture_boxes(ax) -> list[tuple[float, float, float, float]]:
    """Data-coordinate boxes (x0, x1, y0, y1) of the legend, scale bar and north arrow drawn on `ax`."""
    renderer = _renderer(ax.figure)
    ax.apply_aspect()
    inv = ax.transData.inverted()
    artists = [a for a in [ax.get_legend(), *ax.patches, *ax.texts] if a is not None]
    artists += [c for c in ax.get_children() if type(c).__name__ == "Annotation"]
    boxes = []
    for artist in artists:
        ext = artist.get_window_extent(renderer)
        if ext.width <= 0 or ext.height <= 0:
            continue
        (x0, y0), (x1, y1) = inv.transform([(ext.x0, ext.y0), (ext.x1, ext.y1)])
        boxes.append((min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)))
    return boxes


def _anchor_candidates(poly, step: float, limit: int = 400) -> np.ndarray:
    """Points inside `poly` to centre a label on: its pole of inaccessibility, then a grid (spacing
    `step`) of interior points ordered by distance from it."""
    from shapely import contains_xy  # noqa: PLC0415
    from shapely.ops import polylabel  # noqa: PLC0415

    parts = list(getattr(poly, "geoms", [poly]))
    main = max(parts, key=lambda g: g.area)
    try:
        pole = polylabel(main, tolerance=max(step / 4, 1e-9))
    except Exception:  # noqa: BLE001 (degenerate polygon: fall back to a point on it)
        pole = main.representative_point()
    minx, miny, maxx, maxy = poly.bounds
    gx, gy = np.meshgrid(np.arange(minx + step / 2, maxx, step), np.arange(miny + step / 2, maxy, step))
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    grid = grid[contains_xy(poly, grid[:, 0], grid[:, 1])] if len(grid) else grid
    order = np.argsort(np.hypot(grid[:, 0] - pole.x, grid[:, 1] - pole.y)) if len(grid) else []
    return np.vstack([[pole.x, pole.y], grid[order][:limit]]) if len(grid) else np.array([[pole.x, pole.y]])


def place_labels(ax, items: list[tuple[str, object]], dots: np.ndarray, *, fontsize: float, dot_radius_pt: float,
                 number_when_crowded: bool = False, leader_when_crowded: bool = False,
                 draw: bool = True, avoid: list[tuple[float, float, float, float]] = (),
                 numbers: dict[int, int] | None = None) -> list[tuple[int, str]]:
    """Label each polygon so that no label covers a facility dot or another label.

    items
        (text, polygon) in the axes' data coordinates (metres); smallest polygons are placed first.
    dots
        Facility positions (n x 2, data coordinates), each a circle of `dot_radius_pt` points.
    avoid
        Boxes (x0, x1, y0, y1, data coordinates) no label may cover: legend, scale bar, north arrow.
    numbers
        Item index -> number for the labels to number (numbered in reading order, north to south,
        see `reading_order_numbers`); items numbered beyond these get the next numbers. Filled in.

    Each label goes to the first free place: inside its polygon (pole of inaccessibility, then
    nearby interior points), then centred inside but crossing its edge. When none is free: with
    `leader_when_crowded` the label goes outside nearby with a thin leader line (district names on
    the city map); with `number_when_crowded` a small number is placed instead and returned, for a
    side list (township names in the map book). Axes limits must be set before. Returns the
    numbered labels as (number, text); `draw=False` only works that out (nothing is drawn).
    """
    fig = ax.figure
    renderer = _renderer(fig)
    ax.apply_aspect()
    px_per_unit = abs(ax.transData.transform((1, 0))[0] - ax.transData.transform((0, 0))[0])
    pt = fig.dpi / 72.0 / px_per_unit  # data units per point
    gap = LABEL_GAP_PT * pt
    dot_r = dot_radius_pt * pt + gap
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    placed: list[tuple[float, float, float, float]] = list(avoid)
    numbered: list[tuple[int, str]] = []
    order_numbers = numbers if numbers is not None else {}

    def size_of(text: str, size: float) -> tuple[float, float]:
        t = ax.text(0, 0, text, fontsize=size, parse_math=False)
        box = t.get_window_extent(renderer)
        t.remove()
        return box.width / px_per_unit, box.height / px_per_unit

    def free(cx: float, cy: float, w: float, h: float) -> bool:
        bx0, bx1, by0, by1 = cx - w / 2 - gap, cx + w / 2 + gap, cy - h / 2 - gap, cy + h / 2 + gap
        if bx0 < x0 or bx1 > x1 or by0 < y0 or by1 > y1:
            return False
        for px0, px1, py0, py1 in placed:
            if bx0 < px1 and px0 < bx1 and by0 < py1 and py0 < by1:
                return False
        if len(dots):
            nx = np.clip(dots[:, 0], cx - w / 2, cx + w / 2)
            ny = np.clip(dots[:, 1], cy - h / 2, cy + h / 2)
            if (np.hypot(dots[:, 0] - nx, dots[:, 1] - ny) < dot_r).any():
                return False
        return True

    def put(text: str, cx: float, cy: float, w: float, h: float, size: float, **style) -> None:
        placed.append((cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2))
        if draw:
            _halo(ax.text(cx, cy, text, fontsize=size, ha="center", va="center", zorder=7, parse_math=False, **style))

    def inside_spot(poly, w: float, h: float):
        from shapely.geometry import box  # noqa: PLC0415

        cands = _anchor_candidates(poly, max(min(w, h) / 2, 1e-6))
        loose = poly.buffer(h * 0.15)
        fallback = None
        for cx, cy in cands:
            if not free(cx, cy, w, h):
                continue
            if loose.contains(box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)):
                return cx, cy
            fallback = fallback or (cx, cy)
        return fallback

    order = sorted(range(len(items)), key=lambda k: items[k][1].area)
    for k in order:
        text, poly = items[k]
        w, h = size_of(text, fontsize)
        spot = inside_spot(poly, w, h)
        if spot is not None:
            put(text, *spot, w, h, fontsize)
            continue
        pole = _anchor_candidates(poly, max(h, 1e-6), limit=0)[0]
        if leader_when_crowded:
            spot = _outside_spot(pole, poly, w, h, free)
            if spot is not None:
                cx, cy = spot
                if draw:
                    ax.plot([pole[0], cx], [pole[1], cy], color="#555555", linewidth=0.6, zorder=6)
                put(text, cx, cy, w, h, fontsize)
                continue
        if number_when_crowded:
            if k not in order_numbers:
                order_numbers[k] = max(order_numbers.values(), default=0) + 1
            number = order_numbers[k]
            nw, nh = size_of(str(number), fontsize)
            spot = inside_spot(poly, nw, nh)
            if spot is None:
                out = _outside_spot(pole, poly, nw, nh, free)
                if out is not None and draw:
                    ax.plot([pole[0], out[0]], [pole[1], out[1]], color="#555555", linewidth=0.5, zorder=6)
                spot = out or (pole[0], pole[1])
            put(str(number), *spot, nw, nh, fontsize, fontweight="bold")
            numbered.append((number, text))
            continue
        put(text, pole[0], pole[1], w, h, fontsize)
    return sorted(numbered)


def reading_order_numbers(items: list[tuple[str, object]], chosen) -> dict[int, int]:
    """Numbers 1..n for the items `chosen` (indices), north to south then west to east."""
    def key(k):
        p = items[k][1].representative_point()
        return (-round(p.y, -1), p.x)
    return {k: n for n, k in enumerate(sorted(chosen, key=key), start=1)}


def _outside_spot(pole, poly, w: float, h: float, free) -> tuple[float, float] | None:
    """A free place for a label near `poly` but outside it (16 directions, growing distance)."""
    from shapely.geometry import box  # noqa: PLC0415

    for dist in np.arange(1.5, 8.5, 1.0) * h:
        for angle in np.deg2rad(np.arange(0, 360, 22.5) + 45):
            reach = dist + 0.5 * max(poly.bounds[2] - poly.bounds[0], poly.bounds[3] - poly.bounds[1]) / 2
            cx, cy = pole[0] + reach * np.cos(angle), pole[1] + reach * np.sin(angle)
            if free(cx, cy, w, h) and not poly.intersects(box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)):
                return cx, cy
    return None


def _number_list(fig: Figure, numbered: list[tuple[int, str]]) -> None:
    """The list of the townships labelled by number, in the right margin (columns of
    NUMBER_LIST_ROWS), under a heading."""
    lines = [f"{n}  {text}" for n, text in numbered]
    columns = [lines[c:c + NUMBER_LIST_ROWS] for c in range(0, len(lines), NUMBER_LIST_ROWS)]
    left = 0.985 - NUMBER_LIST_WIDTH * len(columns)
    fig.text(left + 0.005, 0.875, "图中编号", fontsize=7, color="#222222", va="top", ha="left", parse_math=False)
    for k, col in enumerate(columns):
        fig.text(left + 0.005 + k * NUMBER_LIST_WIDTH, 0.85, "\n".join(col), ha="left", va="top", fontsize=6.5,
                 color="#222222", linespacing=1.3, parse_math=False)


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
