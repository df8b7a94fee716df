"""Siting new facilities beside the existing ones, solved exactly with PuLP and its bundled CBC.

Two models over one coverage matrix (demand point i is covered by site j when their straight-line
distance in the area's CGCS2000 3-degree Gauss-Kruger zone is at most the service radius, metres):

- `maximize_coverage` (MCLP): choose N new sites among the candidates to cover the most demand
  weight (e.g. people aged 60+).
- `minimize_sites` (LSCP with partial coverage): the fewest new sites such that the covered weight
  is at least a share S of the total; among those, the one covering the most weight.

Existing sites are always open and their coverage counted. Both work on arrays (`cover`,
`weights`); `site_facilities` is the thin adapter from WGS84 point tables (`points_from_table`).
`SitingResult.optimal` is True only when CBC proved optimality (status Optimal with an optimal
solution, no time limit hit), or when the answer is optimal by construction (no new site needed).
CBC starts from a greedy solution, so a run stopped by `time_limit_s` still returns a plan (the
greedy one or better), flagged `optimal=False`.

Straight-line distance in the GK zone is the accepted first approximation of access; road
distances are longer. Pure functions: no Streamlit, no file I/O.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd

from coverage.errors import SitingError

#: Bounding box of China (degrees, WGS84): points outside are refused as mis-typed or swapped.
CHINA_LON = (73.4, 135.2)
CHINA_LAT = (3.8, 53.6)
#: Points farther than this from the zone's central meridian (degrees) make GK distances too long
#: (scale error about 0.4 % at 6 degrees and 30 N); such an area must be split.
MAX_OFF_MERIDIAN_DEG = 6.0
#: Column names accepted for each field (compared after stripping spaces, case-insensitive).
COLUMN_NAMES = {
    "id": ("id", "编号", "序号", "点位编号"),
    "lon": ("lon", "lng", "longitude", "经度"),
    "lat": ("lat", "latitude", "纬度"),
    "weight": ("weight", "权重", "老年人口", "需求"),
}
KIND_LABELS = {"demand": "需求点", "candidates": "候选点", "existing": "现有设施"}
#: Ids listed in a message before "等 N 个".
_MAX_IDS = 10


@dataclass(frozen=True)
class SitingResult:
    """A siting plan.

    chosen
        Positions (0-based, in candidate order) of the new sites chosen.
    chosen_ids
        Their ids (from the candidate table; positions as text on the array core).
    covered_weight, total_weight, existing_weight
        Demand weight covered by existing + chosen sites, all demand weight, and the weight the
        existing sites cover alone (same unit as the weights, e.g. persons).
    optimal
        True only when proven optimal (CBC status Optimal, or optimal by construction).
    status
        Solver status text (CBC's, or why no solve was needed).
    """

    model: Literal["mclp", "lscp"]
    chosen: tuple[int, ...]
    covered_weight: float
    total_weight: float
    existing_weight: float
    optimal: bool
    status: str
    build_s: float = 0.0
    solve_s: float = 0.0
    chosen_ids: tuple[str, ...] = ()
    epsg: int | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def new_sites(self) -> int:
        return len(self.chosen)

    @property
    def covered_share(self) -> float:
        """Covered weight / total weight, 0-1 (0 when the total is 0)."""
        return self.covered_weight / self.total_weight if self.total_weight > 0 else 0.0


# ---------------------------------------------------------------- inputs

def _ids_text(ids: Sequence[str]) -> str:
    ids = [str(i) for i in ids]
    head = "、".join(ids[:_MAX_IDS])
    return head + (f" 等 {len(ids)} 个" if len(ids) > _MAX_IDS else "")


def _find_column(columns: Sequence[str], field_name: str) -> str | None:
    wanted = {n.lower() for n in COLUMN_NAMES[field_name]}
    hits = [c for c in columns if str(c).strip().lstrip("\ufeff").lower() in wanted]
    return hits[0] if hits else None


def points_from_table(table: pd.DataFrame, kind: Literal["demand", "candidates", "existing"], *,
                      name: str = "") -> pd.DataFrame:
    """Validate a point table and return `id` (text), `lon`, `lat` (WGS84 degrees) and, for demand,
    `weight` (non-negative, e.g. persons aged 60+).

    Accepted headers: id/编号, lon/经度, lat/纬度, weight/权重/老年人口 (see `COLUMN_NAMES`).
    Every problem is collected, then one `SitingError` lists them: no rows, missing columns, empty or
    duplicate ids, missing or non-numeric coordinates, points outside China (ids named), missing,
    non-numeric or negative weights.
    """
    label = KIND_LABELS[kind] + (f"文件 {name}" if name else "表")
    if table is None or table.empty:
        raise SitingError(f"{label}中没有数据(空文件或只有表头)。")
    fields = ("id", "lon", "lat", "weight") if kind == "demand" else ("id", "lon", "lat")
    cols = {f: _find_column(list(table.columns), f) for f in fields}
    missing = [f"{f}({'/'.join(COLUMN_NAMES[f][1:3])})" for f, c in cols.items() if c is None]
    if missing:
        found = "、".join(str(c) for c in table.columns)
        raise SitingError(f"{label}缺少必需的列: {'、'.join(missing)}。现有列: {found}。"
                          + ("需求点必须有权重列(如 weight 或 老年人口)。" if cols.get("weight") is None and kind == "demand" else ""))
    problems: list[str] = []
    ids = table[cols["id"]].astype("string").str.strip()
    if ids.isna().any() or (ids == "").any():
        rows = [str(i + 2) for i in np.flatnonzero((ids.isna() | (ids == "")).to_numpy())]
        problems.append(f"第 {_ids_text(rows)} 行没有编号")
    ids = ids.fillna("").astype(str)
    dup = sorted(set(ids[ids.duplicated() & (ids != "")]))
    if dup:
        problems.append(f"编号重复: {_ids_text(dup)}")
    lon = pd.to_numeric(table[cols["lon"]], errors="coerce").to_numpy(dtype=float)
    lat = pd.to_numeric(table[cols["lat"]], errors="coerce").to_numpy(dtype=float)
    no_xy = ~(np.isfinite(lon) & np.isfinite(lat))
    if no_xy.any():
        problems.append(f"没有坐标或坐标不是数字: {_ids_text(ids[no_xy].tolist())}")
    outside = ~no_xy & ~((lon >= CHINA_LON[0]) & (lon <= CHINA_LON[1]) & (lat >= CHINA_LAT[0]) & (lat <= CHINA_LAT[1]))
    if outside.any():
        problems.append(f"坐标不在中国境内(经度 {CHINA_LON[0]}~{CHINA_LON[1]}, 纬度 {CHINA_LAT[0]}~{CHINA_LAT[1]}; "
                        f"经纬度是否填反?): {_ids_text(ids[outside].tolist())}")
    out = pd.DataFrame({"id": ids.to_numpy(), "lon": lon, "lat": lat})
    if kind == "demand":
        raw = table[cols["weight"]]
        weight = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(weight)
        if bad.any():
            problems.append(f"权重缺失或不是数字: {_ids_text(ids[bad].tolist())}")
        negative = np.isfinite(weight) & (weight < 0)
        if negative.any():
            problems.append(f"权重为负数: {_ids_text(ids[negative].tolist())}")
        if not problems and weight.sum() <= 0:
            problems.append("全部权重为 0, 无法计算覆盖比例")
        out["weight"] = weight
    if problems:
        raise SitingError(f"{label}有 {len(problems)} 类问题, 请修改后重试:", problems)
    return out


def to_working_xy(*frames: pd.DataFrame) -> tuple[list[np.ndarray], int]:
    """Project WGS84 `lon`/`lat` of all frames into one CGCS2000 3-degree GK zone (that of the
    points' centre, `geodata.crs.to_working_crs`): a list of (n, 2) arrays in metres, and the EPSG.

    Raises `SitingError` when a point lies more than `MAX_OFF_MERIDIAN_DEG` from the zone's
    central meridian (the area spans too many zones for straight-line GK distances)."""
    import geopandas as gpd  # noqa: PLC0415

    from geodata.crs import to_working_crs  # noqa: PLC0415

    lon = np.concatenate([f["lon"].to_numpy(dtype=float) for f in frames])
    lat = np.concatenate([f["lat"].to_numpy(dtype=float) for f in frames])
    pts = to_working_crs(gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=4326))
    epsg = int(pts.crs.to_epsg())
    cm = 75 + 3 * (epsg - 4534)
    if np.abs(lon - cm).max() > MAX_OFF_MERIDIAN_DEG:
        raise SitingError(f"点位东西跨度过大(经度 {lon.min():.2f}°~{lon.max():.2f}°E), 超出一个投影带可用范围"
                          f"(中央经线 {cm}°E ±{MAX_OFF_MERIDIAN_DEG:g}°), 请按地区分开计算。")
    xy = np.column_stack([pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy()])
    out, start = [], 0
    for f in frames:
        out.append(xy[start:start + len(f)])
        start += len(f)
    return out, epsg


def coverage_matrix(demand_xy: np.ndarray, site_xy: np.ndarray, radius_m: float) -> np.ndarray:
    """Boolean (n_demand, n_sites): straight-line distance <= `radius_m` (metres; both arrays
    (n, 2) in one projected CRS in metres). Computed in row blocks to bound memory."""
    demand_xy = np.asarray(demand_xy, dtype=float).reshape(-1, 2)
    site_xy = np.asarray(site_xy, dtype=float).reshape(-1, 2)
    out = np.zeros((len(demand_xy), len(site_xy)), dtype=bool)
    if not len(site_xy):
        return out
    step = max(1, 4_000_000 // len(site_xy))
    r2 = float(radius_m) ** 2
    for s in range(0, len(demand_xy), step):
        d = demand_xy[s:s + step, None, :] - site_xy[None, :, :]
        out[s:s + step] = (d ** 2).sum(axis=2) <= r2
    return out


# ---------------------------------------------------------------- models (arrays)

def _check_arrays(cover, weights, covered_already):
    cover = np.asarray(cover, dtype=bool)
    weights = np.asarray(weights, dtype=float)
    if cover.ndim != 2 or cover.shape[0] != len(weights):
        raise ValueError(f"cover has shape {cover.shape}; expected ({len(weights)}, n_candidates)")
    already = (np.zeros(len(weights), dtype=bool) if covered_already is None
               else np.asarray(covered_already, dtype=bool).reshape(-1))
    if len(already) != len(weights):
        raise ValueError(f"covered_already has {len(already)} rows; expected {len(weights)}")
    return cover, weights, already


def _greedy(cover: np.ndarray, weights: np.ndarray, already: np.ndarray, *, n: int | None = None,
            target: float | None = None) -> list[int]:
    """Greedy start (never reported as optimal): repeatedly add the candidate covering the most
    not-yet-covered weight, until `n` sites or until the covered weight reaches `target`."""
    hit = already.copy()
    chosen: list[int] = []
    free = np.ones(cover.shape[1], dtype=bool)
    while free.any() and (len(chosen) < n if n is not None else float(weights[hit].sum()) < target):
        gain = (weights * ~hit) @ cover
        gain[~free] = -1.0
        j = int(np.argmax(gain))
        chosen.append(j)
        free[j] = False
        hit |= cover[:, j]
    return chosen


def _warm_start(y, z, cover, start: list[int]) -> None:
    """Give CBC the greedy solution as its first incumbent, so a time-limited run always has one."""
    on = np.zeros(len(y), dtype=bool)
    on[start] = True
    for j, var in enumerate(y):
        var.setInitialValue(1 if on[j] else 0)
    for i, var in z.items():
        var.setInitialValue(1 if cover[i, on].any() else 0)


def _solve(prob, time_limit_s: float | None) -> tuple[bool, str, bool]:
    """Solve with CBC from the warm start; (proven optimal, status text, has a solution)."""
    import pulp  # noqa: PLC0415

    # The CBC binary bundled in the PuLP wheel, through COIN_CMD (PULP_CBC_CMD is deprecated in PuLP 3.3).
    cbc = pulp.COIN_CMD(path=pulp.PULP_CBC_CMD.pulp_cbc_path, msg=False, timeLimit=time_limit_s, gapRel=0.0, gapAbs=0.0,
                        warmStart=True)
    prob.solve(cbc)
    status = pulp.LpStatus[prob.status]
    optimal = status == "Optimal" and prob.sol_status == pulp.LpSolutionOptimal
    has_solution = prob.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible)
    solution = pulp.LpSolution.get(prob.sol_status, str(prob.sol_status))
    if optimal:
        text = "Optimal(CBC 已证明最优)"
    elif has_solution:  # e.g. the time limit was hit: PuLP still says "Optimal", the solution does not
        text = f"未证明最优: 求解器在时限内只找到可行解(CBC: {status} / {solution})"
    else:
        text = f"{status} / {solution}"
    return optimal, text, has_solution


def _covered(cover, already, chosen) -> np.ndarray:
    hit = already.copy()
    if len(chosen):
        hit |= cover[:, list(chosen)].any(axis=1)
    return hit


def maximize_coverage(cover: np.ndarray, weights: np.ndarray, n_new: int, *,
                      covered_already: np.ndarray | None = None,
                      time_limit_s: float | None = None) -> SitingResult:
    """MCLP: choose exactly `n_new` candidates (columns of `cover`) maximising the weight of demand
    rows covered by them or already covered (`covered_already`, e.g. by existing sites).

    cover
        Boolean (n_demand, n_candidates), see `coverage_matrix`.
    weights
        Non-negative demand weights (n_demand,), e.g. persons aged 60+.
    time_limit_s
        CBC time limit in seconds (None = none); when hit, `optimal` is False.

    Formulation: max sum_i w_i z_i s.t. z_i <= sum_{j covers i} y_j, sum_j y_j = n_new,
    y binary, 0 <= z_i <= 1, over rows with w_i > 0 not already covered.
    """
    import pulp  # noqa: PLC0415

    cover, weights, already = _check_arrays(cover, weights, covered_already)
    n_cand = cover.shape[1]
    if not 0 <= n_new <= n_cand:
        raise SitingError(f"新增设施数 {n_new} 不在 0~{n_cand}(候选点个数)之间。")
    total = float(weights.sum())
    base = float(weights[already].sum())
    t0 = time.perf_counter()
    rows = np.flatnonzero((weights > 0) & ~already & cover.any(axis=1))
    if n_new == 0 or n_new == n_cand or not len(rows):
        chosen = tuple(range(n_new))
        status = "无需求解(候选点全部选用、不新增或候选点覆盖不到新的需求, 结果即为最优)"
        covered = float(weights[_covered(cover, already, chosen)].sum())
        return SitingResult("mclp", chosen, covered, total, base, True, status,
                            build_s=time.perf_counter() - t0, chosen_ids=tuple(map(str, chosen)))
    prob = pulp.LpProblem("mclp", pulp.LpMaximize)
    y = [prob.add_variable(f"y{j}", cat="Binary") for j in range(n_cand)]
    z = {i: prob.add_variable(f"z{i}", lowBound=0, upBound=1) for i in rows}
    prob += pulp.lpSum(float(weights[i]) * z[i] for i in rows)
    for i in rows:
        prob += z[i] <= pulp.lpSum(y[j] for j in np.flatnonzero(cover[i]))
    prob += pulp.lpSum(y) == n_new
    _warm_start(y, z, cover, _greedy(cover, weights, already, n=n_new))
    t1 = time.perf_counter()
    optimal, status, has_solution = _solve(prob, time_limit_s)
    t2 = time.perf_counter()
    if not has_solution:
        raise SitingError(f"求解器没有得到可行解(状态: {status})。可放宽时限后重试。")
    chosen = tuple(j for j in range(n_cand) if (y[j].value() or 0) > 0.5)
    covered = float(weights[_covered(cover, already, chosen)].sum())
    return SitingResult("mclp", chosen, covered, total, base, optimal, status, build_s=t1 - t0, solve_s=t2 - t1,
                        chosen_ids=tuple(map(str, chosen)))


def minimize_sites(cover: np.ndarray, weights: np.ndarray, share: float, *,
                   covered_already: np.ndarray | None = None,
                   time_limit_s: float | None = None) -> SitingResult:
    """LSCP with partial coverage: the fewest candidates such that the covered weight (by them or
    already covered) is at least `share` (0-1] of the total weight; among the solutions with that
    many sites, the one covering the most weight (a second, MCLP solve).

    Raises `SitingError` when even all candidates cannot reach the share, naming the best share.

    Formulation: min sum_j y_j s.t. sum_i (w_i / W) z_i >= share - (covered already) / W,
    z_i <= sum_{j covers i} y_j, y binary, 0 <= z_i <= 1.
    """
    import pulp  # noqa: PLC0415

    cover, weights, already = _check_arrays(cover, weights, covered_already)
    if not 0 < share <= 1:
        raise SitingError(f"覆盖比例 {share} 应在 0~1 之间(如 0.9 表示 90%)。")
    total = float(weights.sum())
    if total <= 0:
        raise SitingError("需求权重合计为 0, 无法计算覆盖比例。")
    base = float(weights[already].sum())
    tol = 1e-9
    best = float(weights[already | cover.any(axis=1)].sum())
    if best / total < share - tol:
        raise SitingError(f"覆盖比例目标 {share:.1%} 无法达到: 即使选用全部 {cover.shape[1]} 个候选点"
                          f"(加上现有设施), 最多也只能覆盖 {best / total:.2%} 的需求权重"
                          f"({best:g} / {total:g})。请降低目标、增大服务半径或增加候选点。")
    t0 = time.perf_counter()
    if base / total >= share - tol:
        return SitingResult("lscp", (), base, total, base, True, "无需求解(现有设施已达到覆盖比例目标, 新增 0 个即为最优)",
                            build_s=time.perf_counter() - t0)
    rows = np.flatnonzero((weights > 0) & ~already & cover.any(axis=1))
    prob = pulp.LpProblem("lscp_partial", pulp.LpMinimize)
    y = [prob.add_variable(f"y{j}", cat="Binary") for j in range(cover.shape[1])]
    z = {i: prob.add_variable(f"z{i}", lowBound=0, upBound=1) for i in rows}
    prob += pulp.lpSum(y)
    for i in rows:
        prob += z[i] <= pulp.lpSum(y[j] for j in np.flatnonzero(cover[i]))
    prob += pulp.lpSum(float(weights[i] / total) * z[i] for i in rows) >= share - base / total - tol
    _warm_start(y, z, cover, _greedy(cover, weights, already, target=share * total))
    t1 = time.perf_counter()
    optimal, status, has_solution = _solve(prob, time_limit_s)
    t2 = time.perf_counter()
    if not has_solution:
        raise SitingError(f"求解器没有得到可行解(状态: {status})。可放宽时限后重试。")
    k = sum(1 for v in y if (v.value() or 0) > 0.5)
    second = maximize_coverage(cover, weights, k, covered_already=already, time_limit_s=time_limit_s)
    notes: tuple[str, ...] = ()
    if second.covered_weight / total < share - 1e-7:  # numerical guard; never expected
        optimal = False
        notes = ("复核时覆盖比例略低于目标(数值误差), 结果未标为最优",)
    return SitingResult("lscp", second.chosen, second.covered_weight, total, base, optimal and second.optimal,
                        status if second.optimal else second.status, build_s=t1 - t0 + second.build_s,
                        solve_s=t2 - t1 + second.solve_s, chosen_ids=second.chosen_ids, notes=notes)


# ---------------------------------------------------------------- adapter (point tables)

def site_facilities(demand: pd.DataFrame, candidates: pd.DataFrame, existing: pd.DataFrame | None = None, *,
                    radius_m: float, new_sites: int | None = None, cover_share: float | None = None,
                    time_limit_s: float | None = None) -> SitingResult:
    """Site new facilities on WGS84 point tables (as returned by `points_from_table`).

    radius_m
        Service radius, straight-line metres in the area's GK zone (> 0).
    new_sites, cover_share
        Exactly one: N new sites maximising covered weight (MCLP), or the fewest new sites covering
        at least this share (0-1] of the weight (partial LSCP). Existing sites are always kept.

    Returns a `SitingResult` whose `chosen_ids` are candidate ids.
    """
    existing = existing if existing is not None else pd.DataFrame({"id": [], "lon": [], "lat": []})
    problems = []
    if not (np.isfinite(radius_m) and radius_m > 0):
        problems.append(f"服务半径应为正数(公里), 收到 {radius_m / 1000:g}")
    if (new_sites is None) == (cover_share is None):
        problems.append("请二选一: 指定新增设施数(--new-sites)或覆盖比例目标(--cover-share)")
    if new_sites is not None and not 0 <= new_sites <= len(candidates):
        problems.append(f"新增设施数 {new_sites} 超出范围: 候选点只有 {len(candidates)} 个" if new_sites > 0
                        else f"新增设施数应为 0 或正整数, 收到 {new_sites}")
    if cover_share is not None and not (np.isfinite(cover_share) and 0 < cover_share <= 1):
        problems.append(f"覆盖比例目标应在 0~1 之间(如 0.9 或 90%), 收到 {cover_share:g}")
    both = sorted(set(candidates["id"]) & set(existing["id"]))
    if both:
        problems.append(f"以下编号同时出现在候选点和现有设施中, 请去掉重复或改编号: {_ids_text(both)}")
    if problems:
        raise SitingError("选址参数有误:", problems)
    (dxy, cxy, exy), epsg = to_working_xy(demand, candidates, existing)
    cover = coverage_matrix(dxy, cxy, radius_m)
    already = coverage_matrix(dxy, exy, radius_m).any(axis=1)
    weights = demand["weight"].to_numpy(dtype=float)
    if new_sites is not None:
        result = maximize_coverage(cover, weights, int(new_sites), covered_already=already, time_limit_s=time_limit_s)
    else:
        result = minimize_sites(cover, weights, float(cover_share), covered_already=already, time_limit_s=time_limit_s)
    ids = candidates["id"].astype(str).to_numpy()
    return replace(result, chosen_ids=tuple(ids[list(result.chosen)]), epsg=epsg)
