"""Facility coordinates: parsing (decimal, DMS, full-width), swapped lon/lat, the coordinate system
they were picked in (WGS84, CGCS2000, GCJ-02, BD-09, a GK zone), detected against the township
layer, and placement by address.

Detect, don't trust: `detect_point_system` converts the points under every hypothesis, assigns them
to townships and keeps the hypothesis that puts most points in the township (or district) their
address or stated township names; the evidence is returned for the planner to confirm or override.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from coverage.errors import CRSError
from geodata.chinacoords import TO_WGS84
from geodata.crs import infer_projected_crs

WGS84 = "EPSG:4326"
CHINA_BBOX = (73.0, 3.0, 136.0, 54.0)
#: Point coordinate systems offered to the planner (value -> Chinese label).
POINT_SYSTEMS: dict[str, str] = {
    "auto": "自动识别", "wgs84": "WGS84(GPS、天地图)", "cgcs2000": "CGCS2000 经纬度",
    "gcj02": "GCJ-02(高德、腾讯地图)", "bd09": "BD-09(百度地图)",
}
_DMS = re.compile(r"^\s*([NSEW东西南北]|东经|北纬|西经|南纬)?\s*(-?\d+(?:\.\d+)?)\s*(?:°|度|:|\s)\s*(\d+(?:\.\d+)?)?\s*(?:['′’]|分|:)?\s*"
                  r"(\d+(?:\.\d+)?)?\s*(?:[\"″”]|''|′′|秒)?\s*([NSEW东西南北])?\s*$", re.IGNORECASE)


#: Plain decimal text: ASCII digits, optional sign, decimal point and exponent, ASCII whitespace
#: around. For such text float() gives exactly what parse_coordinate gives.
_PLAIN_NUMBER = r"[ \t\n\r\f\v]*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[ \t\n\r\f\v]*"


def parse_coordinate(value: object) -> float:
    """A coordinate in degrees from decimal text, full-width digits or degrees-minutes-seconds
    (110°47'12", 110度47分12秒, 110:47:12, with optional E/N/东经/北纬); NaN when unreadable.

    Given a whole column (a Series, array, list or tuple), returns the float array that
    `parse_coordinates` computes for it (the same values, much faster than mapping this function)."""
    if isinstance(value, (pd.Series, pd.Index, np.ndarray, list, tuple)):
        return parse_coordinates(value)
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return np.nan
    if isinstance(value, (int, float, np.number)):
        return float(value)
    text = unicodedata.normalize("NFKC", str(value)).strip().replace("，", ".").replace("。", ".")
    if not text:
        return np.nan
    try:
        return float(text)
    except ValueError:
        pass
    m = _DMS.match(text)
    if not m:
        return np.nan
    deg, minutes, seconds = float(m.group(2)), float(m.group(3) or 0), float(m.group(4) or 0)
    if minutes >= 60 or seconds >= 60:
        return np.nan
    sign = -1.0 if deg < 0 or (m.group(1) or m.group(5) or "").upper() in ("S", "W", "西", "南", "西经", "南纬") else 1.0
    return sign * (abs(deg) + minutes / 60 + seconds / 3600)


def parse_coordinates(values) -> np.ndarray:
    """`parse_coordinate` of each value of a column, as a float array, vectorised: numbers and plain
    decimal text are converted at once; only what remains (DMS, full-width digits, 东经..., garbage)
    goes through `parse_coordinate`, once per distinct value. Same results as mapping it."""
    s = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object if isinstance(values, (list, tuple)) else None)
    n = len(s)
    if n and (pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype)):
        return s.to_numpy(dtype=float, na_value=np.nan)
    out = np.full(n, np.nan)
    if not n:
        return out
    if pd.api.types.is_string_dtype(s.dtype) and s.dtype != object:
        present = s.notna().to_numpy()
        pos = np.flatnonzero(present)
        text = s[present]
    else:
        arr = s.to_numpy(dtype=object)
        number = np.fromiter((isinstance(v, (int, float, np.number)) for v in arr), dtype=bool, count=n)
        if number.any():
            out[number] = [float(v) for v in arr[number]]
        pos = np.flatnonzero(~number & ~pd.isna(arr))
        text = pd.Series([str(v) for v in arr[pos]], dtype="str")
    if not len(pos):
        return out
    plain = text.str.fullmatch(_PLAIN_NUMBER).to_numpy(dtype=bool, na_value=False)
    if plain.any():
        out[pos[plain]] = _plain_floats(text[plain])
    if not plain.all():
        codes, uniques = pd.factorize(text[~plain])
        parsed = np.array([parse_coordinate(u) for u in uniques], dtype=float)
        out[pos[~plain]] = parsed[codes]
    return out


def _plain_floats(text: pd.Series) -> np.ndarray:
    """float() of plain decimal text, via Arrow's correctly rounded parser (the same values) when
    it takes them all, else through Python floats."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        return pc.cast(pa.array(text, type=pa.string()), pa.float64()).to_numpy(zero_copy_only=False)
    except Exception:  # pyarrow missing, or a value it does not take (e.g. " 1.5", "1e999")
        return text.to_numpy(dtype=object).astype(float)


def fix_swapped(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Swap rows where longitude and latitude were entered the wrong way round (China's ranges
    make this unambiguous: lon 73-136, lat 3-54). Returns x, y and the mask of swapped rows."""
    swapped = (y >= CHINA_BBOX[0]) & (y <= CHINA_BBOX[2]) & (x >= CHINA_BBOX[1]) & (x <= CHINA_BBOX[3])
    return np.where(swapped, y, x), np.where(swapped, x, y), swapped


def to_wgs84(x, y, system: str) -> tuple[np.ndarray, np.ndarray]:
    """Convert coordinates from `system` (wgs84, cgcs2000, gcj02, bd09 or "EPSG:n") to WGS84 degrees."""
    if system in TO_WGS84:
        return TO_WGS84[system](x, y)
    try:
        crs = CRS.from_user_input(system)
    except Exception as err:  # pyproj raises its own CRSError subclasses
        raise CRSError(f"无法识别坐标系 {system!r}, 请填写 wgs84、gcj02、bd09 或 EPSG:编号。") from err
    lon, lat = Transformer.from_crs(crs, WGS84, always_xy=True).transform(np.asarray(x, float), np.asarray(y, float))
    return np.asarray(lon), np.asarray(lat)


def points_in_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return (np.isfinite(lon) & np.isfinite(lat) & (lon >= CHINA_BBOX[0]) & (lon <= CHINA_BBOX[2])
            & (lat >= CHINA_BBOX[1]) & (lat <= CHINA_BBOX[3]))


def convert_points(facilities: pd.DataFrame, system: str) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Set lon, lat (WGS84) and point geometry from x_raw, y_raw in `system`; rows whose result is
    not in China get no geometry. Returns the frame and the ids of those rows."""
    out = pd.DataFrame(facilities).copy()
    if "geometry" in out.columns:
        out = out.drop(columns="geometry")
    lon, lat = to_wgs84(out["x_raw"].to_numpy(float), out["y_raw"].to_numpy(float), system)
    ok = points_in_china(lon, lat)
    out["lon"] = np.where(ok, lon, np.nan)
    out["lat"] = np.where(ok, lat, np.nan)
    bad = out["x_raw"].notna().to_numpy() & out["y_raw"].notna().to_numpy() & ~ok
    geometry = np.full(len(out), None, dtype=object)
    geometry[ok] = shapely.points(np.asarray(lon)[ok], np.asarray(lat)[ok])
    return gpd.GeoDataFrame(out, geometry=geometry, crs=WGS84), out.loc[bad, "facility_id"].astype(str).tolist()


class _NameFinder:
    """Finds which of a set of names (2 characters or more) occur in a text, by looking up only the
    substrings that end in a character some name ends in, with the lengths names ending in it have
    (a township name is found where its 镇/乡/街道 is): a handful of dictionary look-ups per text
    instead of one substring search per name."""

    def __init__(self, names):
        self.names: set[str] = {n for n in names if len(n) >= 2}
        lengths: dict[str, set[int]] = {}
        for name in self.names:
            lengths.setdefault(name[-1], set()).add(len(name))
        self.lengths = {ch: sorted(ls, reverse=True) for ch, ls in lengths.items()}
        chars = "".join(sorted(self.lengths))
        self.ends = re.compile("[" + re.escape(chars) + "]") if chars else None

    def found(self, text: str) -> set[str]:
        """Every name that occurs in `text`."""
        hits: set[str] = set()
        if self.ends is None:
            return hits
        for m in self.ends.finditer(text):
            end = m.end()
            for size in self.lengths[m.group()]:
                if size <= end:
                    sub = text[end - size:end]
                    if sub in self.names:
                        hits.add(sub)
        return hits


def _distinct_texts(addresses: pd.Series) -> tuple[np.ndarray, list[str]]:
    """(codes, uniques) of the addresses as text (missing as ""), so each distinct text is matched once."""
    codes, uniques = pd.factorize(addresses.fillna("").astype(str), use_na_sentinel=False)
    return codes, [str(u) for u in uniques]


def match_address(addresses: pd.Series, units: pd.DataFrame) -> pd.Series:
    """The township code each address names, when it names exactly one township (after using the
    district name in the address to separate same-named townships, e.g. the many 城关镇).

    The name taken is the longest township name (2 characters or more) in the address; among names
    of one length, the one listed first in `units`. Each distinct address is matched once, by
    dictionary look-ups (see `_NameFinder`): the cost grows with the addresses, not with
    addresses x townships."""
    names = units[["code", "name", "district_name"]].astype(str)
    by_name: dict[str, list[tuple[str, str]]] = {}
    for code, name, district in names.itertuples(index=False):
        if len(name) >= 2:
            by_name.setdefault(name, []).append((code, district))
    rank = {name: i for i, name in enumerate(sorted(by_name, key=len, reverse=True))}  # longest first, then in layer order
    finder = _NameFinder(by_name)
    codes, texts = _distinct_texts(addresses)
    decided: list[str | None] = []
    for addr in texts:
        hits = finder.found(addr)
        code = None
        if hits:
            cands = by_name[min(hits, key=rank.__getitem__)]
            if len(cands) > 1:
                cands = [c for c in cands if c[1] and c[1] in addr]
            code = cands[0][0] if len(cands) == 1 else None
        decided.append(code)
    out = np.array(decided, dtype=object)[codes] if len(codes) else np.array([], dtype=object)
    return pd.Series(out, index=addresses.index, dtype=object)


def match_district(addresses: pd.Series, units: pd.DataFrame) -> pd.Series:
    """The district code each address names, when exactly one district's name (2 characters or
    more) occurs in it; each distinct address matched once (see `match_address`)."""
    districts = units[["district_code", "district_name"]].drop_duplicates().astype(str)
    by_name: dict[str, list[str]] = {}
    for code, name in districts.itertuples(index=False):
        if len(name) >= 2:
            by_name.setdefault(name, []).append(code)
    finder = _NameFinder(by_name)
    codes, texts = _distinct_texts(addresses)
    decided: list[str | None] = []
    for addr in texts:
        hit = [c for name in finder.found(addr) for c in by_name[name]]
        decided.append(hit[0] if len(hit) == 1 else None)
    out = np.array(decided, dtype=object)[codes] if len(codes) else np.array([], dtype=object)
    return pd.Series(out, index=addresses.index, dtype=object)


@dataclass(frozen=True)
class PointSystemDetection:
    """Which coordinate system the facility points were picked in, and why."""

    best: str                 # a key of POINT_SYSTEMS or "EPSG:n"
    table: pd.DataFrame       # system, label, inside, township_match, district_match, with_hint, score
    evidence: str             # one Chinese sentence for the page


#: Most facilities `detect_point_system` tests (those whose address names a place first): enough to
#: tell systems 400-700 m apart by the township each point falls in, bounded at any ledger size.
DETECTION_SAMPLE = 2_000
#: Points tested when too few addresses name a place: only the points near the layer's edge move in
#: or out between hypotheses (400-700 m apart), so a ledger of 20,000 points is tested whole and a
#: national one on a seeded sample of this many, the evidence saying so.
INSIDE_SAMPLE = 20_000
#: Ledgers longer than this, with no address naming a place, are counted inside the layer by
#: `_points_inside` (the count inside is all that decides) rather than assigned township by township.
COUNT_INSIDE_FROM = 5_000
#: A sample naming fewer places than this is not used: without addresses only the count of points
#: inside the layer can decide, and that needs every point (still vectorised, no address work).
MIN_SAMPLE_HINTS = 200


def hints(facilities: pd.DataFrame, units: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Township and district codes named by each facility's stated township/district or address."""
    text = _hint_text(facilities)
    return match_address(text, units), match_district(text, units)


def _hint_text(facilities: pd.DataFrame) -> pd.Series:
    """Stated township, stated district and address of each facility, joined by spaces."""
    blank = pd.Series("", index=facilities.index)
    text = facilities.get("stated_township", blank).fillna("").astype(str)
    text = text + " " + facilities.get("stated_district", blank).fillna("").astype(str)
    return text + " " + facilities.get("address", blank).fillna("").astype(str)


def detection_sample(facilities: pd.DataFrame, size: int = DETECTION_SAMPLE, *, seed: int = 0) -> np.ndarray:
    """Positions of the facilities `detect_point_system` tests: every row when at most `size` have
    coordinates; otherwise `size` rows with coordinates, drawn (seeded, so a ledger always gives the
    same answer) first among those with a stated township/district or address, which are the rows
    that can confirm a hypothesis, then among the others. Returned in ledger order."""
    x = pd.to_numeric(facilities["x_raw"], errors="coerce").to_numpy(float)
    y = pd.to_numeric(facilities["y_raw"], errors="coerce").to_numpy(float)
    has = np.isfinite(x) & np.isfinite(y)
    if int(has.sum()) <= size:
        return np.arange(len(facilities))
    named = _hint_text(facilities).str.strip().ne("").to_numpy(dtype=bool)
    rng = np.random.default_rng(seed)
    first = np.flatnonzero(has & named)
    if len(first) >= size:
        return np.sort(rng.choice(first, size=size, replace=False))
    rest = np.flatnonzero(has & ~named)
    return np.sort(np.concatenate([first, rng.choice(rest, size=size - len(first), replace=False)]))


def _layer_lon(units: gpd.GeoDataFrame) -> float:
    """Longitude (degrees) of the layer's centre of area: the area-weighted mean of the townships'
    centroids, which is the centroid of their union when they do not overlap (no union needed)."""
    geoms = units.to_crs(4326).geometry.to_numpy()
    area = shapely.area(geoms)
    lon = shapely.get_x(shapely.centroid(geoms))
    ok = np.isfinite(lon) & (area > 0)
    return float(np.average(lon[ok], weights=area[ok])) if ok.any() else float(np.nanmean(lon))


def _points_inside(units: gpd.GeoDataFrame, points: list[tuple[np.ndarray, np.ndarray]]) -> list[int]:
    """For each set of points (lon, lat arrays, WGS84): how many lie in or on some township.
    Envelope candidates from the spatial index, then one point-in-polygon test per candidate pair
    (the polygons are not prepared: that would cost more memory than a sample of points takes)."""
    layer = units if units.empty or CRS(units.crs).equals(CRS(4326)) else units.to_crs(4326)
    geoms = layer.geometry.to_numpy()
    counts = []
    for lon, lat in points:
        if not len(lon) or units.empty:
            counts.append(0)
            continue
        pi, ui = layer.sindex.query(shapely.points(lon, lat))
        inside = np.zeros(len(lon), dtype=bool)
        inside[pi[shapely.intersects_xy(geoms[ui], lon[pi], lat[pi])]] = True
        counts.append(int(inside.sum()))
    return counts


def detect_point_system(facilities: pd.DataFrame, units: gpd.GeoDataFrame, candidates: list[str] | None = None,
                        *, sample_size: int = DETECTION_SAMPLE) -> PointSystemDetection:
    """Try each coordinate-system hypothesis and keep the one that best fits the townships.

    Score = points in the township their address names x 2 + points in the named district
    + 0.01 x points inside the study area; WGS84 wins ties.

    A ledger with more than `sample_size` rows with coordinates is judged on a seeded sample of that
    many (see `detection_sample`) when the sample holds at least `MIN_SAMPLE_HINTS` rows whose
    address names a township or district; the counts in the table and the evidence are then the
    sample's, and the evidence says so. Without such addresses the points inside the layer are all
    there is to go by: up to `INSIDE_SAMPLE` points are tested, every row of a smaller ledger.
    """
    n_all = int((np.isfinite(pd.to_numeric(facilities["x_raw"], errors="coerce").to_numpy(float))
                 & np.isfinite(pd.to_numeric(facilities["y_raw"], errors="coerce").to_numpy(float))).sum())
    rows = detection_sample(facilities, sample_size)
    sampled = len(rows) < len(facilities)
    unit_hint = district_hint = None
    if sampled:
        unit_hint, district_hint = hints(facilities.iloc[rows], units)
        if int((unit_hint.notna() | district_hint.notna()).sum()) < MIN_SAMPLE_HINTS:
            # too few addresses to judge by: the points inside decide, on the larger sample
            rows = detection_sample(facilities, max(sample_size, INSIDE_SAMPLE))
            sampled = len(rows) < len(facilities)
            unit_hint = district_hint = None
            if sampled:
                facilities = facilities.iloc[rows]
        else:
            facilities = facilities.iloc[rows]
    x = facilities["x_raw"].to_numpy(float)
    y = facilities["y_raw"].to_numpy(float)
    has = np.isfinite(x) & np.isfinite(y)
    if candidates is None:
        if has.any() and np.nanmedian(np.abs(x[has])) > 1000:
            epsg, _ = infer_projected_crs(x[has], y[has], lon_hint=_layer_lon(units))
            candidates = [f"EPSG:{epsg}"]
        else:
            candidates = ["wgs84", "gcj02", "bd09"]
    if unit_hint is None:
        unit_hint, district_hint = hints(facilities, units)
    n_hint = int((unit_hint.notna() | district_hint.notna()).sum())
    rows = []
    codes = units["code"].astype(str).to_numpy()
    districts = dict(zip(units["code"].astype(str), units["district_code"].astype(str)))
    if not n_hint and len(facilities) > COUNT_INSIDE_FROM:
        # nothing to match townships against: only the count of points inside the layer decides,
        # found on plain arrays (no frame per hypothesis)
        points = []
        for system in candidates:
            lon, lat = to_wgs84(x, y, system)
            ok = points_in_china(lon, lat)
            points.append((np.asarray(lon)[ok], np.asarray(lat)[ok]))
        for system, inside in zip(candidates, _points_inside(units, points)):
            rows.append({"system": system, "label": POINT_SYSTEMS.get(system, system), "inside": inside,
                         "township_match": 0, "district_match": 0, "with_hint": 0, "score": 0.01 * inside})
        candidates = []
    for system in candidates:
        pts, _ = convert_points(facilities, system)
        idx = np.flatnonzero(pts.geometry.notna().to_numpy())
        got = pd.Series([None] * len(pts), dtype=object)
        if len(idx):
            pi, ui = units.sindex.query(pts.geometry.iloc[idx].to_numpy(), predicate="covered_by")
            pairs = pd.DataFrame({"pt": idx[pi], "code": codes[ui]}).groupby("pt")["code"].min()
            got.loc[pairs.index] = pairs.to_numpy()
        inside = int(got.notna().sum())
        t_match = int((got.notna() & (got.to_numpy() == unit_hint.to_numpy())).sum())
        d_match = int((got.map(districts).to_numpy() == district_hint.to_numpy()).sum())
        rows.append({"system": system, "label": POINT_SYSTEMS.get(system, system), "inside": inside,
                     "township_match": t_match, "district_match": d_match, "with_hint": n_hint,
                     "score": 2 * t_match + d_match + 0.01 * inside})
    table = pd.DataFrame(rows)
    best = table.loc[table["score"].idxmax()]  # first max: WGS84 wins ties
    n = int(has.sum())
    if n_hint:
        others = "; ".join(f"{r.label} {r.township_match} 个" for r in table.itertuples() if r.system != best.system)
        evidence = (f"按 {best.label} 换算, {n_hint} 个地址中写明乡镇/区县的设施里有 {best.township_match} 个落在地址所写乡镇内"
                    f"(其他假设: {others or '无'})。")
    else:
        evidence = (f"设施地址中没有可对照的乡镇名称, 只能按落在研究区内的点数判断: 按 {best.label} 换算有 {best.inside}/{n} 个点"
                    "落在乡镇范围内。此判断较弱, 请确认坐标来源。")
    if sampled:
        evidence = f"(从 {n_all} 个有坐标的设施中抽取 {n} 个检验, 优先抽取写明地址的) " + evidence
    return PointSystemDetection(best=str(best.system), table=table, evidence=evidence)
