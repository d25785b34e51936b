"""The p-median by Benders decomposition, solved with HiGHS (planning's "median" objective)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import sparse

from tilbudskart.planning.highs import HighsOptions, _highs

#: Relative gap at which :func:`_p_median_highs` stops (HiGHS's own MIP default is 1e-4).
MEDIAN_GAP = 1e-6

#: HiGHS options for :func:`_p_median_highs`'s master. Its savings are scaled to [0, 1]
#: already, and each round adds cuts to a warm basis: HiGHS's scaling and presolve made
#: every round start over (ACA's first LP 0.36 s, 0.05 s without). The page's 60 p-median
#: questions (6 organisations × 5 thresholds, K = 5 and 10) took 11 s instead of 20 s,
#: worst 0.56 s instead of 1.29 s, with the same sites in all 60.
MEDIAN_OPTIONS: HighsOptions = {"simplex_scale_strategy": 0, "presolve": "off"}


def _p_median_highs(rows: np.ndarray, cols: np.ndarray, saving: np.ndarray,
                    columns: np.ndarray, k: int, fixed: Sequence[int],
                    gap: float = MEDIAN_GAP) -> list[int]:
    """:func:`_p_median`'s optimum by Benders decomposition, solved with HiGHS.

    The p-median with one assignment variable per pair is large for an organisation with
    few groups (ACA: 2 700 blocks × every kommune centre, 420 000 pairs; HiGHS needs over a minute
    for its root LP). Here the master holds only the sites ``x`` and each demand's saving
    ``θ_i``, bounded by the cuts

        θ_i ≤ b + Σ_j max(0, s_ij − b) x_j     (any b ≥ 0)

    which hold for every choice of sites (θ_i is the best saving among the open sites, or
    0) and are tight at ``b`` = the best open saving. The LP relaxation is solved by adding,
    at each LP point, every demand's most violated cut (``b`` where the sites' x, best
    first, add up to 1); its bound equals the assignment model's LP bound. Greedy and
    interchange (Teitz–Bart) solutions, and each LP point's K largest, give lower bounds;
    if the gap is not closed the master is solved as a MIP, adding the cuts of each
    solution, until it is (relative ``gap``). The answer is the optimum, as
    :func:`_p_median` finds it, but in about a second.

    Parameters
    ----------
    rows, cols, saving : numpy.ndarray
        Demand index, candidate position and weight × (current − cost) of each pair that
        saves something.
    columns : numpy.ndarray
        Candidate positions to choose from (``cols`` and ``fixed`` among them).
    k : int
        Sites to choose (fewer than ``len(columns)``).
    fixed : sequence of int
        Candidate positions that must be chosen.
    gap : float
        Stop when the upper bound is within this share of the best solution.

    Returns
    -------
    list of int
        Candidate positions.

    """
    import highspy

    columns = np.asarray(columns, dtype=np.int64)
    n = len(columns)
    place = np.searchsorted(columns, cols)
    demands, demand = np.unique(rows, return_inverse=True)
    d = len(demands)
    s = np.zeros((d, n))
    np.maximum.at(s, (demand, place), saving)
    top = s.max() if s.size else 0.0
    if top <= 0:
        return [int(c) for c in columns[:k]]
    s /= top
    must = np.searchsorted(columns, np.asarray(fixed, dtype=np.int64))
    order = np.argsort(-s, axis=1, kind="stable").astype(np.int32)
    ranked = np.take_along_axis(s, order, axis=1)

    h = _master(s, must, k)
    best = _greedy_sites(s, must, k)
    lower_bound = _value(s, np.asarray(best))
    _add_cuts(h, s, order, ranked, np.isin(np.arange(n), best).astype(float), None)
    upper_bound = np.inf
    while True:  # the LP relaxation, cut by cut
        solution, upper_bound = _solve_master(h)
        x = solution[:n]
        rounded = [int(j) for j in np.argsort(-x, kind="stable")[:k]]
        if set(must.tolist()) <= set(rounded) and _value(s, np.asarray(rounded)) > lower_bound:
            best, lower_bound = rounded, _value(s, np.asarray(rounded))
        if upper_bound <= lower_bound * (1 + gap) or not _add_cuts(h, s, order, ranked, x,
                                                                   solution[n:]):
            break
    if upper_bound > lower_bound * (1 + gap):
        improved = _interchange(s, must, best)
        if _value(s, np.asarray(improved)) > lower_bound:
            best, lower_bound = improved, _value(s, np.asarray(improved))
    if upper_bound > lower_bound * (1 + gap):  # branch: the master as a MIP
        h.changeColsIntegrality(n, np.arange(n, dtype=np.int32),
                                np.full(n, highspy.HighsVarType.kInteger))
        h.setOptionValue("mip_rel_gap", gap / 10)
        while upper_bound > lower_bound * (1 + gap):
            solution, upper_bound = _solve_master(h)
            x = np.round(solution[:n])
            found = [int(j) for j in np.flatnonzero(x > 0.5)]
            if _value(s, np.asarray(found)) > lower_bound:
                best, lower_bound = found, _value(s, np.asarray(found))
            if not _add_cuts(h, s, order, ranked, x, solution[n:]):
                break
    return sorted(int(columns[j]) for j in best)


# -- the steps, each on the scaled savings s (demand × column, in [0, 1]) ---------------------


def _value(s: np.ndarray, open_: np.ndarray) -> float:
    """Return the total saving of the open columns (each demand's best, or 0)."""
    return float(s[:, open_].max(axis=1).clip(min=0).sum()) if len(open_) else 0.0


def _greedy_sites(s: np.ndarray, must: np.ndarray, k: int) -> list[int]:
    """Return ``k`` columns: ``must`` first, then one by one the one saving the most."""
    d = s.shape[0]
    chosen = [int(j) for j in must]
    best = s[:, chosen].max(axis=1).clip(min=0) if chosen else np.zeros(d)
    for _ in range(k - len(chosen)):
        gain = np.maximum(s - best[:, None], 0).sum(axis=0)
        gain[chosen] = -1.0
        j = int(np.argmax(gain))
        chosen.append(j)
        best = np.maximum(best, s[:, j])
    return chosen


def _interchange(s: np.ndarray, must: np.ndarray, chosen: list[int],
                 passes: int = 50) -> list[int]:
    """Swap one free site for another while that saves more (best swap each pass)."""
    d = s.shape[0]
    every = np.arange(d)
    chosen = list(chosen)
    free = [r for r, j in enumerate(chosen) if j not in set(must.tolist())]
    for _ in range(passes):
        sub = s[:, chosen]
        first = np.argmax(sub, axis=1)
        b1 = sub[every, first].clip(min=0)
        sub[every, first] = -np.inf
        b2 = sub.max(axis=1).clip(min=0) if len(chosen) > 1 else np.zeros(d)
        total, best_gain, move = b1.sum(), 1e-12 * max(b1.sum(), 1.0), None
        for r in free:
            base = np.where(first == r, b2, b1)
            gain = np.maximum(s - base[:, None], 0).sum(axis=0) + base.sum() - total
            gain[chosen] = -np.inf
            j = int(np.argmax(gain))
            if gain[j] > best_gain:
                best_gain, move = gain[j], (r, j)
        if move is None:
            break
        chosen[move[0]] = move[1]
    return chosen


def _master(s: np.ndarray, must: np.ndarray, k: int) -> Any:
    """Return the master problem in HiGHS: sites ``x`` (``k`` of them), savings ``θ``."""
    import highspy

    d, n = s.shape
    h = _highs(MEDIAN_OPTIONS)
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)
    lower = np.zeros(n + d)
    lower[must] = 1.0
    h.addVars(n + d, lower, np.concatenate([np.ones(n), s.max(axis=1)]))
    h.changeColsCost(n + d, np.arange(n + d, dtype=np.int32),
                     np.concatenate([np.zeros(n), np.ones(d)]))
    h.addRow(k, k, n, np.arange(n, dtype=np.int32), np.ones(n))
    return h


def _add_cuts(h: Any, s: np.ndarray, order: np.ndarray, ranked: np.ndarray, x: np.ndarray,
              theta: np.ndarray | None) -> int:
    """Add each demand's most violated cut at ``x`` (all of them without ``theta``).

    ``order`` and ``ranked`` are each demand's columns and savings, best first.
    """
    import highspy

    d, n = s.shape
    every = np.arange(d)
    reached = np.cumsum(x[order], axis=1)
    at = np.minimum((reached < 1 - 1e-9).sum(axis=1), n - 1)
    b = np.where(reached[:, -1] >= 1 - 1e-9, ranked[every, at], 0.0).clip(min=0)
    above = np.maximum(s - b[:, None], 0)
    bound = b + above @ x
    which = every if theta is None else np.flatnonzero(theta > bound + 1e-9)
    if not len(which):
        return 0
    r, c = np.nonzero(above[which])
    cuts = sparse.csr_array(
        (np.concatenate([-above[which][r, c], np.ones(len(which))]),
         (np.concatenate([r, np.arange(len(which))]), np.concatenate([c, n + which]))),
        shape=(len(which), n + d))
    cuts.sort_indices()
    h.addRows(len(which), np.full(len(which), -highspy.kHighsInf), b[which], cuts.nnz,
              cuts.indptr[:-1].astype(np.int32), cuts.indices.astype(np.int32),
              cuts.data)
    return len(which)


def _solve_master(h: Any) -> tuple[np.ndarray, float]:
    """Solve the master; return its solution and objective value."""
    import highspy

    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise RuntimeError("p_median not solved: "
                           f"{h.modelStatusToString(h.getModelStatus())}")
    return np.asarray(h.getSolution().col_value), float(h.getObjectiveValue())
