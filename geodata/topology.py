"""Gaps and overlaps between township polygons (a township layer should tile the area).

Computed with vectorised shapely 2 on whole arrays, never one pair at a time in Python, and kept
per layer: a second call with the same codes and geometries (the quality page after the map, the
CLI's report after its compute) is answered from a small cache.

- Overlaps: the spatial index gives every pair of townships whose envelopes meet (each township
  has a handful); a fast intersects test drops the disjoint ones; pairs inside a chunk of 256
  neighbouring townships whose coverage union proves them free of overlaps are dropped too
  (`_overlap_free_chunks`: a clean layer needs no pairwise test at all); one vectorised DE-9IM
  test per remaining pair (in two threads: shapely releases the GIL) keeps those whose interiors
  meet, and only those are intersected, in one bulk call.
- Gaps: the holes of the union of all townships, ordered west to east. The townships in no overlap
  are merged by coverage union (linear in the number of vertices: shared edges cancel), in compact
  chunks along a Hilbert curve and then the chunks, each result checked (valid, and of the area of
  its parts); where shared edges do not match vertex for vertex the general union is used instead.
  The few overlapping townships are then added by an ordinary union. No union of everything.
"""
from __future__ import annotations

import ctypes
import hashlib
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from threading import Lock

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from geodata.crs import gk3_epsg

MIN_AREA_M2 = 1.0  # slivers smaller than this are float noise, not data problems
#: Layers whose findings are kept (least recently used dropped first).
CACHE_SIZE = 8
#: Threads for the pairwise tests (the machines planners use have 2 cores or more).
THREADS = 2
#: Pattern: the interiors of the two polygons intersect (an overlap of positive area).
_INTERIORS_MEET = "T********"
_COLUMNS = ["kind", "unit_codes", "area_m2", "geometry"]

_cache: OrderedDict[str, gpd.GeoDataFrame] = OrderedDict()
_cache_lock = Lock()


def topology_problems(units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Overlaps between townships and gaps inside the layer's outline, in EPSG:4326.

    Returns kind ("overlap"/"gap"), unit_codes (the townships involved, for overlaps), area_m2
    (measured in the area's Gauss-Kruger zone) and geometry. Gaps are holes of the union of all
    townships: an enclave of another city also shows up, so the planner judges each. Overlaps come
    first, in the order of the townships in the layer, then gaps.

    Intersections and the union are computed in the layer's own coordinates and only the results
    are projected for measuring: projecting first bends long straight edges differently from the
    short edges they share a line with (T-junctions), which would invent slivers.

    The answer is cached per layer (codes, CRS and geometry as WKB); a copy is returned.
    """
    layer = units[["code", units.geometry.name]]
    if layer.crs is None or not CRS(layer.crs).equals(CRS(4326)):
        layer = layer.to_crs(4326)
    key = layer_key(layer)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit.copy()
    out = _problems(layer["code"].astype(str).to_numpy(), layer.geometry.to_numpy(), layer.total_bounds)
    with _cache_lock:
        _cache[key] = out
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    _release_memory()
    return out.copy()


def layer_key(layer: gpd.GeoDataFrame, chunk: int = 2_000) -> str:
    """A digest of a layer's codes, CRS and geometries (WKB), read a chunk at a time so a national
    layer is never copied whole."""
    digest = hashlib.blake2b(digest_size=20)
    digest.update(str(layer.crs).encode())
    digest.update("\x1f".join(layer["code"].astype(str)).encode())
    geoms = layer.geometry.to_numpy()
    for start in range(0, len(geoms), chunk):
        for wkb in shapely.to_wkb(geoms[start:start + chunk]):
            digest.update(b"\x1e" if wkb is None else wkb)
    return digest.hexdigest()


def _problems(codes: np.ndarray, geoms: np.ndarray, bounds: np.ndarray) -> gpd.GeoDataFrame:
    left, right, inter = overlap_pairs(geoms)
    overlapping = np.zeros(len(geoms), dtype=bool)
    overlapping[left] = overlapping[right] = True
    holes = gap_polygons(geoms, overlapping)
    rows = pd.DataFrame({  # typed as the rows (dicts) of the pairwise loop this replaces
        "kind": ["overlap"] * len(left) + ["gap"] * len(holes),
        "unit_codes": [f"{codes[i]},{codes[j]}" for i, j in zip(left.tolist(), right.tolist())] + [""] * len(holes),
        "geometry": list(inter) + list(holes),
    }, columns=["kind", "unit_codes", "geometry"]) if len(left) or len(holes) else pd.DataFrame(
        [], columns=["kind", "unit_codes", "geometry"])
    out = gpd.GeoDataFrame(rows, geometry="geometry", crs=4326)
    if out.empty:
        return out.assign(area_m2=pd.Series(dtype=float))[_COLUMNS]
    minx, _, maxx, _ = bounds
    out["area_m2"] = out.to_crs(gk3_epsg((minx + maxx) / 2)).area.to_numpy()  # the area's own GK zone
    return out.loc[out["area_m2"] > MIN_AREA_M2, _COLUMNS].reset_index(drop=True)


def overlap_pairs(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, intersection) for every pair i < j of polygons whose intersection has an area, by i
    (and for one i in the spatial index's order, as its intersects query gives them)."""
    if len(geoms) < 2:
        empty = np.array([], dtype=np.intp)
        return empty, empty, np.array([], dtype=object)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms)  # envelopes meet: a cheap superset of the pairs that touch or overlap
    keep = left < right
    left, right = left[keep], right[keep]
    touch = shapely.intersects(geoms[left], geoms[right])  # a few microseconds a pair: drops disjoint ones
    left, right = left[touch], right[touch]
    chunk = _overlap_free_chunks(geoms)  # pairs inside a chunk proven free of overlaps need no test
    screened = (chunk[left] >= 0) & (chunk[left] == chunk[right])
    left, right = left[~screened], right[~screened]
    meet = _in_threads(lambda a, b: shapely.relate_pattern(a, b, _INTERIORS_MEET), geoms[left], geoms[right])
    left, right = left[meet], right[meet]
    inter = shapely.intersection(geoms[left], geoms[right]) if len(left) else np.array([], dtype=object)
    has_area = shapely.area(inter) > 0 if len(left) else np.array([], dtype=bool)
    return left[has_area], right[has_area], inter[has_area]


#: Townships per chunk when screening for overlaps (`_overlap_free_chunks`).
SCREEN_CHUNK = 256
#: Relative difference allowed between a chunk's coverage union and the sum of its parts' areas
#: when proving it free of overlaps: float noise only (an overlap of 1 m² in a chunk of 256
#: townships of 50 km² is 1e-10 of it), a failed proof only means the pairs are tested.
SCREEN_TOLERANCE = 1e-12


def _overlap_free_chunks(geoms: np.ndarray) -> np.ndarray:
    """Per polygon, the number of its chunk (`SCREEN_CHUNK` neighbours along a Hilbert curve) when
    that chunk's polygons provably do not overlap each other, else -1.

    The proof: their coverage union (which assumes no overlaps and merges shared edges in linear
    time) succeeds, is valid and has the area of its parts. Polygons that overlap leave crossing or
    nested rings, which make the union invalid or smaller than its parts, so a chunk with an
    overlap always fails; a chunk fails too where shared edges are not noded alike."""
    n = len(geoms)
    label = np.full(n, -1)
    if n <= SCREEN_CHUNK or (shapely.is_missing(geoms) | shapely.is_empty(geoms)).any():
        return label
    order = _hilbert_order(geoms)
    chunks = [order[k:k + SCREEN_CHUNK] for k in range(0, n, SCREEN_CHUNK)]
    with ThreadPoolExecutor(THREADS) as pool:
        proven = list(pool.map(lambda idx: _proves_no_overlap(geoms[idx]), chunks))
    for k, (idx, ok) in enumerate(zip(chunks, proven)):
        if ok:
            label[idx] = k
    return label


def _proves_no_overlap(geoms: np.ndarray) -> bool:
    try:
        union = shapely.coverage_union_all(geoms)
    except shapely.errors.GEOSException:
        return False
    if union is None or not shapely.is_valid(union):
        return False
    parts = float(np.sum(shapely.area(geoms)))
    return bool(np.isfinite(parts)) and abs(float(shapely.area(union)) - parts) <= SCREEN_TOLERANCE * max(parts, 1e-30)


def _hilbert_order(geoms: np.ndarray) -> np.ndarray:
    """Positions of the polygons along a Hilbert curve through their envelopes' centres."""
    bounds = shapely.bounds(geoms)
    centres = gpd.GeoSeries(shapely.points((bounds[:, 0] + bounds[:, 2]) / 2, (bounds[:, 1] + bounds[:, 3]) / 2))
    extent = (np.nanmin(bounds[:, 0]), np.nanmin(bounds[:, 1]), np.nanmax(bounds[:, 2]), np.nanmax(bounds[:, 3]))
    return np.argsort(centres.hilbert_distance(total_bounds=extent).to_numpy(), kind="stable")


def gap_polygons(geoms: np.ndarray, overlapping: np.ndarray | None = None) -> np.ndarray:
    """The holes of the union of `geoms` (polygons), ordered by their envelope's west, then south
    edge (whatever union algorithm found them).

    `overlapping` marks polygons that overlap another (from `overlap_pairs`); the others must not
    overlap each other, which lets them be merged by coverage union."""
    if len(geoms) == 0:
        return np.array([], dtype=object)
    overlapping = np.zeros(len(geoms), dtype=bool) if overlapping is None else overlapping
    union = _coverage_union(geoms[~overlapping])
    if overlapping.any():
        union = shapely.union_all(np.concatenate([[union], geoms[overlapping]]))
    parts = shapely.get_parts(union)
    holes = np.array([shapely.Polygon(ring) for poly in parts for ring in getattr(poly, "interiors", [])], dtype=object)
    if len(holes) > 1:
        b = shapely.bounds(holes)
        holes = holes[np.lexsort((b[:, 1], b[:, 0]))]
    return holes


#: Townships merged per coverage-union call: a national layer is merged in pieces along a
#: space-filling curve (small transient memory), then the pieces, whose outlines are short.
UNION_CHUNK = 4_000


def _coverage_union(geoms: np.ndarray):
    """Union of polygons that do not overlap each other (see `_checked_coverage_union`), merged in
    spatially compact chunks of `UNION_CHUNK`, two at a time, then the chunks' unions."""
    if len(geoms) <= UNION_CHUNK:
        return _checked_coverage_union(geoms)
    order = _hilbert_order(geoms)
    chunks = [geoms[order[k:k + UNION_CHUNK]] for k in range(0, len(geoms), UNION_CHUNK)]
    with ThreadPoolExecutor(THREADS) as pool:
        pieces = np.array(list(pool.map(_checked_coverage_union, chunks)), dtype=object)
    return _checked_coverage_union(pieces)


def _checked_coverage_union(geoms: np.ndarray):
    """Union of polygons that do not overlap each other: coverage union when their shared edges
    match vertex for vertex (checked: no error, a valid result of the summed area), else the
    general union."""
    if len(geoms) == 0:
        return shapely.Polygon()
    try:
        union = shapely.coverage_union_all(geoms)
    except shapely.errors.GEOSException:  # shared edges not noded alike (T-junctions, slivers)
        union = None
    if union is not None and shapely.is_valid(union):
        parts = float(np.sum(shapely.area(geoms)))
        if abs(float(shapely.area(union)) - parts) <= 1e-9 * max(parts, 1e-30):
            return union
    return shapely.union_all(geoms)


def _in_threads(func, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """func(a, b) of two aligned geometry arrays, in `THREADS` chunks run side by side."""
    if len(a) < 2_000 or THREADS < 2:
        return np.asarray(func(a, b), dtype=bool)
    bounds = np.linspace(0, len(a), THREADS * 4 + 1).astype(int)
    chunks = list(zip(bounds[:-1], bounds[1:]))
    with ThreadPoolExecutor(THREADS) as pool:
        parts = list(pool.map(lambda se: func(a[se[0]:se[1]], b[se[0]:se[1]]), chunks))
    return np.concatenate(parts).astype(bool)


def _release_memory() -> None:
    """Hand the heap GEOS freed (the pairwise tests and unions, partly in worker threads' arenas)
    back to the operating system, so the resident size of a national run does not stay at its
    high-water mark for the steps after this one. glibc only; elsewhere a no-op."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def topology_summary(problems: gpd.GeoDataFrame) -> dict:
    return {
        "overlaps": int((problems["kind"] == "overlap").sum()),
        "gaps": int((problems["kind"] == "gap").sum()),
        "overlap_area_m2": round(float(problems.loc[problems["kind"] == "overlap", "area_m2"].sum()), 1),
        "gap_area_m2": round(float(problems.loc[problems["kind"] == "gap", "area_m2"].sum()), 1),
        "items": [{"kind": r.kind, "unit_codes": r.unit_codes, "area_m2": round(r.area_m2, 1)} for r in problems.itertuples()],
    }
