"""HiGHS for planning: the solvers, their options, and the covering models as arrays.

:func:`default_solver` (PuLP's HiGHS, banner kept off standard output) for the PuLP
models; :func:`run_highs` and the MCLP / LSCP written straight into ``highspy`` (the
default path, no PuLP objects); and the exit guard that keeps a thread inside HiGHS from
aborting the interpreter at exit (:func:`exit_guard`).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pulp
from scipy import sparse

#: Set when the interpreter exits: background planning work stops at its next step.
EXITING = threading.Event()
_IN_WORK: set[threading.Thread] = set()


@contextlib.contextmanager
def exit_guard() -> Iterator[None]:
    """Mark this thread's planning work: at exit, the interpreter waits for its step.

    A daemon thread still inside HiGHS when the process exits meets HiGHS's worker threads
    being destroyed under it, and the process aborts ("terminate called without an active
    exception", exit status 134). Work in a guard checks :data:`EXITING` between steps.
    """
    _IN_WORK.add(threading.current_thread())
    try:
        yield
    finally:
        _IN_WORK.discard(threading.current_thread())


@atexit.register
def _stop_at_exit() -> None:
    """No new step, wait for the current one, then stop HiGHS's workers."""
    import sys

    EXITING.set()
    for thread in list(_IN_WORK):
        thread.join(timeout=60)
    highspy = sys.modules.get("highspy")
    if highspy is not None:
        with contextlib.suppress(Exception):
            highspy.Highs.resetGlobalScheduler(True)


_BANNER_LOCK = threading.Lock()
_BANNER_SHOWN = False


def default_solver(msg: bool = False, **options: object) -> pulp.LpSolver:
    """Return PuLP's HiGHS solver (``highspy``), without HiGHS's banner on standard output.

    ``options`` are HiGHS options (:data:`COVERING_OPTIONS` gives the covering models the
    settings the direct path uses: the same model and settings, the same answer).

    highspy prints a copyright banner on the process's standard output the first time a
    solver is made, even with ``msg=False``; that would corrupt ``plan --json``. The first
    call makes that solver with the output file descriptor pointed at ``/dev/null``.

    Examples
    --------
    >>> type(default_solver()).__name__
    'HiGHS'

    """
    global _BANNER_SHOWN
    with _BANNER_LOCK:
        if not _BANNER_SHOWN:
            import highspy

            with _stdout_to_devnull():
                highspy.Highs()
            _BANNER_SHOWN = True
    return pulp.HiGHS(msg=msg, **options)


@contextlib.contextmanager
def _stdout_to_devnull() -> Iterator[None]:
    import sys

    with contextlib.suppress(AttributeError, ValueError):
        sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def check_status(problem: pulp.LpProblem) -> None:
    """Raise unless ``problem`` was solved to optimality (spopt's ``check_status``).

    Raises
    ------
    RuntimeError
        With PuLP's name of the status.

    """
    if problem.status != pulp.LpStatusOptimal:
        raise RuntimeError(f"{problem.name} not solved: {pulp.LpStatus[problem.status]}")


def _solve(problem: pulp.LpProblem, solver: pulp.LpSolver | None) -> None:
    problem.solve(solver if solver is not None else default_solver())
    check_status(problem)


# -- HiGHS directly (the default): the same models as arrays, no PuLP objects ----------------


#: HiGHS options by name (``highspy.Highs.setOptionValue``).
HighsOptions = dict[str, bool | float | str]


def _highs(options: HighsOptions | None = None) -> Any:
    """Return a quiet ``highspy.Highs`` (the banner kept off standard output), ``options`` set."""
    import highspy

    default_solver()  # the first Highs of the process prints its banner: keep it off stdout
    model = highspy.Highs()
    model.setOptionValue("output_flag", False)
    for option, value in (options or {}).items():
        model.setOptionValue(option, value)
    return model


def _pulp_order(names: Sequence[str]) -> np.ndarray:
    """Return the column order PuLP gives HiGHS: variables sorted by name."""
    return np.argsort(np.asarray(names, dtype=object), kind="stable")


#: HiGHS options for the covering models (MCLP, LSCP), handed over as arrays. Their LP
#: relaxations are nearly always integral (one node), and HiGHS's presolve removed under
#: 1 % of rows after our own reductions (:func:`_merge_rows`, :func:`_undominated`) while
#: taking over half the time, as did the feasibility-jump heuristic: without both, the
#: page's 60 covering questions (4 organisations × 5 thresholds, K = 5, 10 and LSCP) took
#: 1.8 s instead of 4.8 s, with the same sites in all 60 (benchmarks/run.py compares).
COVERING_OPTIONS: HighsOptions = {"presolve": "off",
                                       "mip_heuristic_run_feasibility_jump": False}


def _run_highs(cost: np.ndarray, lower: np.ndarray, upper: np.ndarray, integer: np.ndarray,
               rows: sparse.csr_array, row_lower: np.ndarray, row_upper: np.ndarray,
               name: str, order: np.ndarray | None = None,
               options: HighsOptions | None = None) -> np.ndarray:
    """Solve ``min cost·v`` over rows and bounds with HiGHS; return ``v`` (columns as given).

    ``order`` is the column order handed to HiGHS (PuLP's, so that ties are broken the way
    the PuLP path breaks them: the same model, the same answer); ``options`` are set on
    HiGHS first.
    """
    import highspy

    n = len(cost)
    order = np.arange(n) if order is None else np.asarray(order)
    where = np.empty(n, dtype=np.int64)
    where[order] = np.arange(n)  # column j of the caller is column where[j] in HiGHS
    h = _highs(options)
    inf = highspy.kHighsInf
    h.addVars(n, np.where(np.isfinite(lower[order]), lower[order], -inf),
              np.where(np.isfinite(upper[order]), upper[order], inf))
    h.changeColsCost(n, np.arange(n, dtype=np.int32), cost[order].astype(float))
    ints = np.flatnonzero(integer[order]).astype(np.int32)
    if len(ints):
        h.changeColsIntegrality(len(ints), ints,
                                np.full(len(ints), highspy.HighsVarType.kInteger))
    matrix = sparse.csr_array(rows)
    matrix = sparse.csr_array((matrix.data, where[matrix.indices], matrix.indptr),
                              shape=matrix.shape)
    if matrix.shape[0]:
        h.addRows(matrix.shape[0], np.where(np.isfinite(row_lower), row_lower, -inf),
                  np.where(np.isfinite(row_upper), row_upper, inf), matrix.nnz,
                  matrix.indptr[:-1].astype(np.int32), matrix.indices.astype(np.int32),
                  matrix.data.astype(float))
    h.run()
    status = h.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        raise RuntimeError(f"{name} not solved: {h.modelStatusToString(status)}")
    return np.asarray(h.getSolution().col_value)[where]


def _mclp_highs(coverage: sparse.csr_array, weights: np.ndarray, k: int,
                fixed: Sequence[int]) -> list[int]:
    """:func:`_mclp`'s model handed to HiGHS as arrays (columns ``x`` then ``y``)."""
    m, n = coverage.shape
    cov = sparse.csr_array(coverage, dtype=float)
    cov.sum_duplicates()
    lower = np.zeros(n + m)
    lower[list(fixed)] = 1.0
    # The sum of the x_j covering i, minus y_i, >= 0; then sum x = k (as PuLP writes
    # them: -w·y minimised).
    rows = sparse.vstack([
        sparse.hstack([cov, -sparse.eye_array(m, format="csr")], format="csr"),
        sparse.csr_array((np.ones(n), (np.zeros(n, dtype=np.int64), np.arange(n))),
                         shape=(1, n + m))], format="csr")
    value = _run_highs(np.concatenate([np.zeros(n), -np.asarray(weights, dtype=float)]),
                       lower, np.ones(n + m), np.arange(n + m) < n, rows,
                       np.concatenate([np.zeros(m), [k]]),
                       np.concatenate([np.full(m, np.inf), [k]]), "mclp",
                       _pulp_order([f"x_{j}" for j in range(n)] + [f"y_{i}" for i in range(m)]),
                       COVERING_OPTIONS)
    return [j for j in range(n) if value[j] > 0.5]


def _lscp_highs(coverage: sparse.csr_array, fixed: Sequence[int]) -> list[int]:
    """:func:`_lscp`'s model handed to HiGHS as arrays."""
    m, n = coverage.shape
    cov = sparse.csr_array(coverage, dtype=float)
    cov.sum_duplicates()
    lower = np.zeros(n)
    lower[list(fixed)] = 1.0
    value = _run_highs(np.ones(n), lower, np.ones(n), np.ones(n, dtype=bool), cov,
                       np.ones(m), np.full(m, np.inf), "lscp",
                       _pulp_order([f"x_{j}" for j in range(n)]), COVERING_OPTIONS)
    return [j for j in range(n) if value[j] > 0.5]
