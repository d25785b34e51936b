"""Planning's models: :class:`NewGroupSites` (MCLP, LSCP, p-median) and their answers.

The models follow spopt's shape (:mod:`spopt.locate`): :meth:`NewGroupSites.from_geodataframe`
builds the cost matrix and returns :meth:`NewGroupSites.from_cost_matrix` (one construction
path), the solver is passed to the solve method and one status check guards every solution.
Demand rows covered by the same candidates are merged first (exact). By default they go to
HiGHS directly (:mod:`.highs`, :mod:`.median`); a PuLP solver solves the same models written
in PuLP, for comparison.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pulp
from scipy import sparse

from tilbudskart import settings
from tilbudskart.planning.candidates import km_pairs
from tilbudskart.planning.highs import _lscp_highs, _mclp_highs, _solve
from tilbudskart.planning.median import _p_median_highs

# -- the models -------------------------------------------------------------------------


@dataclass
class Plan:
    """The chosen sites of a planning run.

    Attributes
    ----------
    sites : pandas.DataFrame
        The candidates' own columns plus ``fixed`` (kept by the user), ``reach`` (people
        the site alone would bring within the threshold), ``added`` (people it adds, in the
        order listed: kept sites first, then each the one adding most) and ``cumulative``.
    covered : int
        People newly within the threshold of at least one chosen site.
    demand : int
        People beyond the threshold today whom some candidate could reach at all.
    method : str
        ``"mclp"``, ``"median"``, ``"lscp"`` (optimal) or ``"greedy"``.
    beyond : int
        People beyond the threshold today (those no candidate can reach included).

    """

    sites: pd.DataFrame
    covered: int
    demand: int
    method: str
    beyond: int = 0

    @property
    def left(self) -> int:
        """People still beyond the threshold with these sites."""
        return self.beyond - self.covered

    def curve(self) -> pd.DataFrame:
        """Return people beyond the threshold after the first 0, 1, … n sites (in order).

        Returns
        -------
        pandas.DataFrame
            ``new_groups`` (0 … n) and ``people_beyond``.

        Examples
        --------
        >>> plan = Plan(pd.DataFrame({"added": [6, 3]}), 9, 9, "lscp", beyond=10)
        >>> plan.curve()["people_beyond"].tolist()
        [10, 4, 1]

        """
        added = np.concatenate([[0], self.sites["added"].to_numpy(dtype=np.int64)])
        return pd.DataFrame({"new_groups": np.arange(len(added)),
                             "people_beyond": self.beyond - np.cumsum(added)})


class NewGroupSites:
    """Where new groups would bring the most people within a threshold of one.

    Build it with :meth:`from_cost_matrix` or :meth:`from_geodataframe` (which computes the
    cost matrix and calls :meth:`from_cost_matrix`), then call :meth:`solve` (K sites:
    MCLP, p-median or greedy) or :meth:`cover_all` (LSCP).

    Parameters
    ----------
    pairs : scipy.sparse.coo_array
        Demand × candidate costs (km or minutes) of the pairs that matter: within the
        service radius, or cheaper than the demand's ``current`` cost.
    weights : numpy.ndarray
        People per demand point.
    candidates : pandas.DataFrame
        One row per candidate site (returned with the chosen sites).
    service_radius : float
        A candidate reaches a demand point when the cost is at most this.
    current : numpy.ndarray, optional
        Cost from each demand point to the nearest existing group (NaN or inf: none). Needed
        by the p-median only.

    Examples
    --------
    >>> cost = np.array([[10.0, 99.0], [99.0, 10.0]])
    >>> model = NewGroupSites.from_cost_matrix(cost, np.array([5, 3]), 25,
    ...                                        pd.DataFrame({"place": ["A", "B"]}))
    >>> model.reach().tolist()
    [5, 3]

    """

    def __init__(self, pairs: sparse.coo_array, weights: np.ndarray, candidates: pd.DataFrame,
                 service_radius: float, current: np.ndarray | None = None) -> None:
        pairs = sparse.coo_array(pairs)
        self.weights = np.asarray(weights, dtype=float)
        self.candidates = candidates.reset_index(drop=True)
        self.service_radius = float(service_radius)
        n_demand, n_cand = len(self.weights), len(self.candidates)
        if pairs.shape != (n_demand, n_cand):
            raise ValueError(f"cost matrix is {pairs.shape[0]}×{pairs.shape[1]}, but there "
                             f"are {n_demand} demand weights and {n_cand} candidates")
        self.current = (np.full(n_demand, np.inf) if current is None
                        else np.asarray(current, dtype=float))
        self.current = np.where(np.isnan(self.current), np.inf, self.current)
        self.rows = np.asarray(pairs.row, dtype=np.int64)
        self.cols = np.asarray(pairs.col, dtype=np.int64)
        self.costs = np.asarray(pairs.data, dtype=float)
        within = self.costs <= self.service_radius
        self.coverage = sparse.csr_array(
            (np.ones(int(within.sum()), dtype=bool), (self.rows[within], self.cols[within])),
            shape=(n_demand, n_cand))
        self._reduction: tuple[sparse.csr_array, np.ndarray] | None = None

    @classmethod
    def from_cost_matrix(cls, cost_matrix: np.ndarray | sparse.sparray | sparse.spmatrix,
                         weights: np.ndarray, service_radius: float, candidates: pd.DataFrame,
                         current: np.ndarray | None = None) -> NewGroupSites:
        """Build from a demand × candidate cost matrix (km, minutes …).

        Parameters
        ----------
        cost_matrix : numpy.ndarray or scipy sparse array
            Shape ``(n_demand, n_candidates)``. Dense: NaN means no route. Sparse: stored
            entries (explicit zeros included) are the costs, absent ones are out of reach.
        weights : numpy.ndarray
            People per demand point (non-negative).
        service_radius : float
            A candidate reaches a demand point when the cost is at most this.
        candidates : pandas.DataFrame
            One row per column of ``cost_matrix``.
        current : numpy.ndarray, optional
            Cost from each demand point to the nearest existing group (for the p-median).
            Pairs costing more than both ``service_radius`` and ``current`` are dropped:
            they change no answer.

        Returns
        -------
        NewGroupSites

        Raises
        ------
        ValueError
            If the shapes disagree, the radius is negative or a weight negative or missing.

        Examples
        --------
        >>> model = NewGroupSites.from_cost_matrix(np.array([[1.0, np.nan]]), np.array([2]),
        ...                                        5, pd.DataFrame({"place": ["A", "B"]}))
        >>> model.reach().tolist()
        [2, 0]

        """
        weights = np.asarray(weights, dtype=float)
        if weights.ndim != 1 or np.isnan(weights).any() or (weights < 0).any():
            raise ValueError("demand weights must be non-negative numbers")
        if not np.isfinite(service_radius) or service_radius < 0:
            raise ValueError(f"service_radius must be a non-negative number, not "
                             f"{service_radius!r}")
        if current is not None and len(current) != len(weights):
            raise ValueError(f"{len(current)} current costs for {len(weights)} demand points")
        if sparse.issparse(cost_matrix):
            pairs = sparse.coo_array(cost_matrix)
        else:
            cost = np.asarray(cost_matrix, dtype=float)
            if cost.ndim != 2:
                raise ValueError("cost_matrix must be two-dimensional (demand × candidates)")
            rows, cols = np.nonzero(np.isfinite(cost))
            pairs = sparse.coo_array((cost[rows, cols], (rows, cols)), shape=cost.shape)
        if pairs.shape != (len(weights), len(candidates)):
            raise ValueError(f"cost matrix is {pairs.shape[0]}×{pairs.shape[1]}, but there "
                             f"are {len(weights)} demand weights and {len(candidates)} "
                             "candidates")
        limit = np.full(len(weights), float(service_radius))
        if current is not None:
            limit = np.fmax(limit, np.where(np.isnan(current), np.inf, current))
        keep = np.isfinite(pairs.data) & (pairs.data <= limit[pairs.row])
        pairs = sparse.coo_array((pairs.data[keep], (pairs.row[keep], pairs.col[keep])),
                                 shape=pairs.shape)
        return cls(pairs, weights, candidates, service_radius, current)

    @classmethod
    def from_geodataframe(cls, demand: gpd.GeoDataFrame, candidates: gpd.GeoDataFrame,
                          service_radius_km: float, weight: str = "befolkning",
                          current: str | None = None) -> NewGroupSites:
        """Build from demand and candidate points, reaching within a radius (km).

        Parameters
        ----------
        demand : geopandas.GeoDataFrame
            Points with a ``weight`` column (people).
        candidates : geopandas.GeoDataFrame
            Candidate sites (points).
        service_radius_km : float
            Reach of a group (km on the WGS 84 ellipsoid, :func:`~.candidates.km_pairs`).
        weight : str
            Column of ``demand`` holding the people.
        current : str, optional
            Column of ``demand`` holding the km to the nearest existing group (p-median).

        Returns
        -------
        NewGroupSites

        Raises
        ------
        ValueError
            On a missing or mismatched CRS, non-point geometry or a missing column.

        Examples
        --------
        >>> people = gpd.GeoDataFrame({"befolkning": [7, 5]}, crs="EPSG:4326",
        ...                           geometry=gpd.points_from_xy([10.0, 10.0], [60.0, 60.5]))
        >>> site = gpd.GeoDataFrame({"place": ["S"]}, crs="EPSG:4326",
        ...                         geometry=gpd.points_from_xy([10.0], [60.1]))
        >>> NewGroupSites.from_geodataframe(people, site, 20).reach().tolist()
        [7]

        """
        if demand.crs is None or candidates.crs is None:
            raise ValueError("demand and candidates need a CRS")
        if demand.crs != candidates.crs:
            raise ValueError(f"CRS mismatch: demand is {demand.crs.to_string()}, "
                             f"candidates are {candidates.crs.to_string()}")
        for kind, column in (("weight", weight), ("current-cost", current)):
            if column is not None and column not in demand.columns:
                raise ValueError(f"demand has no {kind} column {column!r}")
        for name, frame in (("demand", demand), ("candidates", candidates)):
            if len(frame) and not (frame.geom_type == "Point").all():
                raise ValueError(f"{name} must be points")
        if not np.isfinite(service_radius_km) or service_radius_km < 0:
            raise ValueError(f"service_radius_km must be a non-negative number, not "
                             f"{service_radius_km!r}")
        now = None if current is None else demand[current].to_numpy(dtype=float)
        radius = (np.full(len(demand), float(service_radius_km)) if now is None else
                  np.fmax(service_radius_km, np.where(np.isnan(now), np.inf, now)))
        demand_ll = demand.geometry.to_crs(settings.CRS_WGS84)
        cand_ll = candidates.geometry.to_crs(settings.CRS_WGS84)
        pairs = km_pairs(demand_ll.y.to_numpy(), demand_ll.x.to_numpy(),
                         cand_ll.y.to_numpy(), cand_ll.x.to_numpy(),
                         np.minimum(radius, np.pi * settings.EARTH_RADIUS_KM))
        return cls.from_cost_matrix(pairs, demand[weight].to_numpy(dtype=float),
                                    service_radius_km,
                                    pd.DataFrame(candidates.drop(columns="geometry")), now)

    # -- what the model knows ----------------------------------------------------------

    def reach(self) -> np.ndarray:
        """Return, per candidate, the people it alone would reach (int)."""
        return np.round(self.coverage.T.astype(float) @ self.weights).astype("int64")

    @property
    def coverable(self) -> np.ndarray:
        """Return, per demand point, whether some candidate reaches it."""
        return np.diff(self.coverage.indptr) > 0

    @property
    def routed(self) -> np.ndarray:
        """Return, per demand point, whether it has any cost at all (a route, for minutes)."""
        return np.bincount(self.rows, minlength=len(self.weights)) > 0

    def _reduced(self) -> tuple[sparse.csr_array, np.ndarray]:
        """Merge demand rows covered by the same candidates; drop rows nobody covers (cached)."""
        if self._reduction is None:
            self._reduction = _merge_rows(self.coverage, self.weights)
        return self._reduction

    def _fixed(self, fixed: Sequence[int]) -> list[int]:
        must = [int(f) for f in fixed]
        if len(set(must)) != len(must) or any(not 0 <= f < len(self.candidates) for f in must):
            raise ValueError(f"fixed sites must be distinct candidate positions 0 … "
                             f"{len(self.candidates) - 1}, not {list(fixed)}")
        return must

    # -- solving -----------------------------------------------------------------------

    def solve(self, k: int, method: str = "mclp", fixed: Sequence[int] = (),
              solver: pulp.LpSolver | None = None) -> Plan:
        """Choose ``k`` sites.

        Parameters
        ----------
        k : int
            Number of new groups (≥ 1), the fixed ones included.
        method : {"mclp", "median", "greedy"}
            ``"mclp"``: the most people within the threshold (maximal covering).
            ``"median"``: the least population-weighted cost (distance or time) to the
            nearest group, existing or new, for the demand of this model (p-median; needs
            ``current``). ``"greedy"``: repeatedly the site adding the most people (the
            baseline the optimum is measured against).
        fixed : sequence of int
            Candidate positions that must be among the sites (a "what if we start here"):
            the other ``k - len(fixed)`` are chosen around them.
        solver : pulp.LpSolver, optional
            Default: the model handed to HiGHS directly as arrays (``highspy``; the
            p-median by Benders decomposition, :func:`_p_median_highs`). A PuLP solver
            (:func:`default_solver`, ``pulp.PULP_CBC_CMD(msg=False)`` …) solves the same
            model written in PuLP instead (for comparison: same answers, slower).

        Returns
        -------
        Plan
            Fixed sites first (``fixed`` column True), then the others best first.

        Examples
        --------
        >>> cost = np.where(np.array([[1, 1, 0], [1, 0, 1], [0, 1, 0], [0, 0, 1]]), 1.0, 9.0)
        >>> model = NewGroupSites.from_cost_matrix(cost, np.array([3, 3, 2, 2]), 5,
        ...                                        pd.DataFrame({"site": list("XYZ")}))
        >>> model.solve(2).covered, model.solve(2, "greedy").covered
        (10, 8)

        """
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
            raise ValueError(f"k must be a positive whole number, not {k!r}")
        if method not in {"mclp", "median", "greedy"}:
            raise ValueError(f"method must be 'mclp', 'median' or 'greedy', not {method!r}")
        must = self._fixed(fixed)
        if len(must) > k:
            raise ValueError(f"{len(must)} fixed sites do not fit in k = {k}")
        coverage, weights = self._reduced()
        k = min(int(k), coverage.shape[1])
        if method == "median":
            chosen = self._median(k, must, solver)
        else:
            columns = _undominated(coverage, must)
            if method == "greedy" or len(columns) <= k or k - len(must) == 1:
                # With one site left to choose, the one adding most is the optimum.
                chosen = _greedy(coverage, weights, k, start=must)
            else:
                position = {int(c): i for i, c in enumerate(columns)}
                sub, sub_weights = _merge_rows(coverage[:, columns], weights)
                found = _mclp(sub, sub_weights, k, [position[f] for f in must], solver)
                chosen = [int(columns[j]) for j in found]
        return self.evaluate(chosen, must, method)

    def cover_all(self, fixed: Sequence[int] = (), solver: pulp.LpSolver | None = None) -> Plan:
        """Return the fewest sites that reach everyone some candidate can reach (LSCP).

        Parameters
        ----------
        fixed : sequence of int
            Candidate positions that must be among the sites.
        solver : pulp.LpSolver, optional
            Default: HiGHS directly (see :meth:`solve`); or a PuLP solver.

        Returns
        -------
        Plan
            ``method="lscp"``; fixed sites first, then in the order of people newly
            covered (each the one adding most); ``beyond - covered`` people no candidate can
            reach stay beyond.

        Examples
        --------
        >>> cost = np.where(np.array([[1, 1, 0], [1, 0, 1], [0, 1, 0], [0, 0, 1]]), 1.0, 9.0)
        >>> model = NewGroupSites.from_cost_matrix(cost, np.array([3, 3, 2, 2]), 5,
        ...                                        pd.DataFrame({"site": list("XYZ")}))
        >>> model.cover_all().sites["site"].tolist()
        ['Y', 'Z']

        """
        must = self._fixed(fixed)
        coverage, _ = self._reduced()
        if coverage.shape[0]:
            columns = _undominated(coverage, must)
            position = {int(c): i for i, c in enumerate(columns)}
            sub, _ = _merge_rows(coverage[:, columns], np.ones(coverage.shape[0]))
            chosen = [int(columns[j]) for j in _lscp(sub, [position[f] for f in must], solver)]
        else:
            chosen = list(must)
        return self.evaluate(chosen, must, "lscp")

    def evaluate(self, chosen: Sequence[int], fixed: Sequence[int] = (),
                 method: str = "given") -> Plan:
        """Return the :class:`Plan` of given sites: fixed first, then each adding most.

        Parameters
        ----------
        chosen : sequence of int
            Candidate positions (``fixed`` among them).
        fixed : sequence of int
            Positions kept by the user.
        method : str
            Recorded in the plan.

        Returns
        -------
        Plan

        """
        chosen = [int(c) for c in chosen]
        fixed = self._fixed(fixed)
        if len(set(chosen)) != len(chosen) or not set(fixed) <= set(chosen) or any(
                not 0 <= c < len(self.candidates) for c in chosen):
            raise ValueError(f"chosen sites must be distinct candidate positions including "
                             f"the fixed ones, not {chosen}")
        coverage, weights = self._reduced()
        order = _greedy(coverage[:, chosen], weights, len(chosen),
                        start=[chosen.index(f) for f in fixed])
        chosen = [chosen[i] for i in order]
        covered = np.zeros(coverage.shape[0], dtype=bool)
        added = []
        for site in chosen:
            column = coverage[:, [site]].toarray().ravel()
            added.append(float(weights[column & ~covered].sum()))
            covered |= column
        sites = self.candidates.iloc[chosen].reset_index(drop=True).copy()
        sites["fixed"] = [site in fixed for site in chosen]
        sites["reach"] = self.reach()[chosen]
        sites["added"] = np.round(added).astype("int64")
        sites["cumulative"] = sites["added"].cumsum()
        return Plan(sites, int(sites["added"].sum()), round(float(weights.sum())), method,
                    beyond=round(float(self.weights.sum())))

    def _median(self, k: int, fixed: list[int], solver: pulp.LpSolver | None) -> list[int]:
        saves = self.costs < self.current[self.rows]
        rows, cols = self.rows[saves], self.cols[saves]
        saving = self.weights[rows] * (self.current[rows] - self.costs[saves])
        finite = np.isfinite(saving)
        rows, cols, saving = rows[finite], cols[finite], saving[finite]
        columns = np.union1d(np.unique(cols), np.asarray(fixed, dtype=np.int64))
        if len(columns) <= k:
            return [int(c) for c in columns]
        return _p_median(rows, cols, saving, columns, k, fixed, solver)


def _merge_rows(coverage: sparse.csr_array, weights: np.ndarray,
                ) -> tuple[sparse.csr_array, np.ndarray]:
    """Merge rows covered by the same columns (weights summed); drop rows nobody covers."""
    csr = sparse.csr_array(coverage, copy=True)
    csr.sum_duplicates()
    csr.sort_indices()
    indptr, indices = csr.indptr, csr.indices.astype(np.int64)
    covered = np.flatnonzero(np.diff(indptr) > 0)
    signature = np.empty(len(covered), dtype=object)
    signature[:] = [indices[indptr[i]:indptr[i + 1]].tobytes() for i in covered]
    codes = pd.factorize(signature)[0]
    first = covered[np.unique(codes, return_index=True)[1]]
    merged = np.bincount(codes, weights=weights[covered], minlength=len(first))
    return sparse.csr_array(csr[first].astype(bool)), merged.astype(float)


def _undominated(coverage: sparse.csr_array, keep: Sequence[int] = ()) -> np.ndarray:
    """Return the columns worth solving over: those covering something, minus dominated ones.

    Column ``j`` is dominated when another column covers every row ``j`` covers (and more,
    or the same rows at a lower position): dropping it changes neither the MCLP's nor the
    LSCP's optimum (weights are non-negative). Columns in ``keep`` always stay.
    """
    size = np.asarray(coverage.sum(axis=0)).ravel().astype(np.int64)
    useful = np.flatnonzero(size > 0)
    if len(useful) > 1:
        sub = sparse.csc_array(coverage[:, useful].astype(np.int32))
        overlap = sparse.coo_array(sub.T @ sub)
        i, j = useful[overlap.row], useful[overlap.col]
        # i covers all of j's rows, and is larger (or as large and earlier).
        dominates = (i != j) & (overlap.data == size[j]) & (
            (size[i] > size[j]) | ((size[i] == size[j]) & (i < j)))
        dropped = np.setdiff1d(np.unique(j[dominates]), np.asarray(keep, dtype=np.int64))
        useful = np.setdiff1d(useful, dropped)
    return np.union1d(useful, np.asarray(keep, dtype=np.int64)).astype(np.int64)


def _greedy(coverage: sparse.csr_array, weights: np.ndarray, k: int,
            start: Sequence[int] = ()) -> list[int]:
    """Pick ``k`` columns: ``start`` first, then one by one the one adding the most weight."""
    left = weights.copy()
    matrix = sparse.csr_array(coverage.T.astype(float))
    chosen: list[int] = []
    for column in start:
        chosen.append(int(column))
        left[coverage[:, [column]].toarray().ravel()] = 0.0
    for _ in range(min(k, coverage.shape[1]) - len(chosen)):
        gain = matrix @ left
        gain[chosen] = -1.0
        best = int(np.argmax(gain))  # ties: the lowest index (stable, reproducible)
        chosen.append(best)
        left[coverage[:, [best]].toarray().ravel()] = 0.0
    return chosen


def _site_variables(problem: pulp.LpProblem, n: int, fixed: Sequence[int]) -> list[pulp.LpVariable]:
    must = set(fixed)
    return [problem.add_variable(f"x_{j}", 1 if j in must else 0, 1, cat=pulp.LpInteger)
            for j in range(n)]


def _mclp(coverage: sparse.csr_array, weights: np.ndarray, k: int, fixed: Sequence[int],
          solver: pulp.LpSolver | None) -> list[int]:
    """Maximal covering: ``k`` columns covering the most weight (sparse PuLP model)."""
    if solver is None:
        return _mclp_highs(coverage, weights, k, fixed)
    problem = pulp.LpProblem("mclp", pulp.LpMaximize)
    x = _site_variables(problem, coverage.shape[1], fixed)
    y = [problem.add_variable(f"y_{i}", 0, 1) for i in range(coverage.shape[0])]
    problem += pulp.LpAffineExpression(list(zip(y, weights.tolist(), strict=True)))
    indptr, indices = coverage.indptr, coverage.indices
    for i in range(coverage.shape[0]):
        terms = [(x[j], 1) for j in indices[indptr[i]:indptr[i + 1]]]
        problem += pulp.LpAffineExpression([*terms, (y[i], -1)]) >= 0
    problem += pulp.LpAffineExpression([(v, 1) for v in x]) == k
    _solve(problem, solver)
    return [j for j, var in enumerate(x) if (var.value() or 0) > 0.5]


def _lscp(coverage: sparse.csr_array, fixed: Sequence[int],
          solver: pulp.LpSolver | None) -> list[int]:
    """Location set covering: the fewest columns covering every row (sparse PuLP model)."""
    if solver is None:
        return _lscp_highs(coverage, fixed)
    problem = pulp.LpProblem("lscp", pulp.LpMinimize)
    x = _site_variables(problem, coverage.shape[1], fixed)
    problem += pulp.LpAffineExpression([(v, 1) for v in x])
    indptr, indices = coverage.indptr, coverage.indices
    for i in range(coverage.shape[0]):
        problem += pulp.LpAffineExpression(
            [(x[j], 1) for j in indices[indptr[i]:indptr[i + 1]]]) >= 1
    _solve(problem, solver)
    return [j for j, var in enumerate(x) if (var.value() or 0) > 0.5]


def _p_median(rows: np.ndarray, cols: np.ndarray, saving: np.ndarray, columns: np.ndarray,
              k: int, fixed: Sequence[int], solver: pulp.LpSolver | None) -> list[int]:
    """p-median with existing groups: choose ``k`` columns saving the most weighted cost.

    A demand point keeps its current cost unless assigned (``z``) to an open site that is
    cheaper; ``saving`` is weight × (current − cost) of each such pair.
    """
    if solver is None:
        return _p_median_highs(rows, cols, saving, columns, k, fixed)
    problem = pulp.LpProblem("p_median", pulp.LpMaximize)
    position = {int(c): i for i, c in enumerate(columns)}
    x = _site_variables(problem, len(columns), [position[f] for f in fixed])
    z = [problem.add_variable(f"z_{p}", 0, 1) for p in range(len(rows))]
    problem += pulp.LpAffineExpression(list(zip(z, saving.tolist(), strict=True)))
    for p, col in enumerate(cols.tolist()):
        problem += pulp.LpAffineExpression([(z[p], 1), (x[position[col]], -1)]) <= 0
    order = np.argsort(rows, kind="stable")
    bounds = np.flatnonzero(np.diff(rows[order])) + 1
    for group in np.split(order, bounds):
        problem += pulp.LpAffineExpression([(z[p], 1) for p in group.tolist()]) <= 1
    problem += pulp.LpAffineExpression([(v, 1) for v in x]) == k
    _solve(problem, solver)
    return [int(columns[j]) for j, var in enumerate(x) if (var.value() or 0) > 0.5]


@dataclass
class CoverAll:
    """How many new groups it would take to put everyone within a threshold.

    Attributes
    ----------
    plan : Plan
        The fewest sites (LSCP), in the order of people newly covered.
    curve : pandas.DataFrame
        ``new_groups`` 0 … n and ``people_beyond``: following the plan's order (greedy
        along the LSCP's sites), people still beyond the threshold.
    left : pandas.DataFrame
        People no candidate can bring within the threshold, per kommune and reason:
        ``kommunenummer``, ``kommunenavn``, ``reason`` (``"no_route"``: no route by road
        and car ferry at all; ``"beyond_candidates"``: farther than the threshold from
        every candidate site), ``people``; most people first.

    """

    plan: Plan
    curve: pd.DataFrame
    left: pd.DataFrame
