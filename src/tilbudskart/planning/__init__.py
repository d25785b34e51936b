"""Planning: where new self-help groups would reach the most people who now have none.

Three questions, each answered on the SSB population grid (2019) against the groups that
exist today (all self-help groups, or one organisation's):

- **Where should K new groups go?** :meth:`NewGroupSites.solve` with ``method="mclp"``
  (maximal covering location problem: the K sites that together bring the most people
  within the threshold) or ``method="median"`` (p-median: the K sites that most reduce the
  population-weighted distance or travel time of the people beyond the threshold, which
  favours the farthest);
- **How many would it take?** :meth:`NewGroupSites.cover_all` (location set covering
  problem, LSCP: the fewest new groups that put everyone a candidate can reach within the
  threshold) and :meth:`NewGroupSites.curve` (people beyond the threshold against the
  number of new groups);
- **What does a plan do to the worst-off?** :func:`worst_off` (max and 95th percentile of
  distance and drive time, people beyond 120 minutes).

"Near" is one of :data:`THRESHOLDS`: 25 or 50 km in a straight line, or 45/60/75 minutes by
road and car ferry (SSB's centrality thresholds). Candidate sites are the kommune
centres (:func:`centre_candidates`) or, in addition, every populated place with a postcode or
a central place name (:func:`place_candidates`).

The models follow spopt's shape (:mod:`spopt.locate`): :meth:`NewGroupSites.from_geodataframe`
builds the cost matrix and returns :meth:`NewGroupSites.from_cost_matrix` (one construction
path), the solver is passed to the solve method and one status check guards every solution.
Unlike spopt, whose builders loop over every demand × candidate pair in Python, the models
here are written from the sparse coverage: demand rows covered by the same candidates are
merged first (exact; 27 000 cells become about 1 000 rows). By default they are handed to
HiGHS directly as arrays (``highspy``), and the p-median is solved by Benders decomposition
(:func:`_p_median_highs`: a minute and more as one variable per pair for an organisation
with few groups, about a second this way); a PuLP solver (:func:`default_solver`, CBC …)
solves the same models written in PuLP, for comparison. :class:`Planner` builds each model
once per organisation, threshold and candidate set and keeps it (the app and the CLI ask
it), and can keep them on disk between server starts (:meth:`Planner.save`).

Examples
--------
>>> import numpy as np, pandas as pd
>>> from tilbudskart.planning import NewGroupSites
>>> cost = np.array([[10.0, 99.0], [99.0, 10.0], [10.0, 10.0]])  # km, demand × candidate
>>> model = NewGroupSites.from_cost_matrix(cost, np.array([5, 3, 1]), 25,
...                                        pd.DataFrame({"place": ["A", "B"]}))
>>> plan = model.solve(1)
>>> plan.sites[["place", "added"]].to_dict("records"), plan.covered
([{'place': 'A', 'added': 6}], 6)
>>> model.cover_all().sites["place"].tolist()
['A', 'B']

"""

from tilbudskart.planning.candidates import (
    CANDIDATE_COLUMNS,
    NEAR_PAIRS_MINUTES,
    PLACE_SPACING_KM,
    candidate_reach,
    centre_candidates,
    chord,
    km_pairs,
    minutes_pairs,
    place_candidates,
    uncovered_cells,
    uncovered_cells_by_time,
)
from tilbudskart.planning.checks import (
    DEFAULT_COVER_ALL,
    DEFAULT_NEAR,
    MAX_NEW_GROUPS,
    OBJECTIVES,
    THRESHOLDS,
    Threshold,
    check_kept,
    check_new_groups,
    check_objective,
    check_organisation,
    check_threshold,
)
from tilbudskart.planning.highs import (
    COVERING_OPTIONS,
    HighsOptions,
    check_status,
    default_solver,
)
from tilbudskart.planning.median import MEDIAN_GAP, MEDIAN_OPTIONS
from tilbudskart.planning.models import CoverAll, NewGroupSites, Plan
from tilbudskart.planning.planner import SAVED, Planner
from tilbudskart.planning.questions import (
    MEDIAN_BLOCK_M,
    WORST_MINUTES,
    _model_from_cells,
    median_blocks,
    plan_new_sites,
    rank_new_sites,
    worst_off,
)

__all__ = [
    "CANDIDATE_COLUMNS", "COVERING_OPTIONS", "DEFAULT_COVER_ALL", "DEFAULT_NEAR",
    "MAX_NEW_GROUPS", "MEDIAN_BLOCK_M", "MEDIAN_GAP", "MEDIAN_OPTIONS", "NEAR_PAIRS_MINUTES",
    "OBJECTIVES", "PLACE_SPACING_KM", "SAVED", "THRESHOLDS", "WORST_MINUTES", "CoverAll",
    "HighsOptions", "NewGroupSites", "Plan", "Planner", "Threshold", "_model_from_cells",
    "candidate_reach", "centre_candidates", "check_kept", "check_new_groups",
    "check_objective", "check_organisation", "check_status", "check_threshold", "chord",
    "default_solver", "km_pairs", "median_blocks", "minutes_pairs", "place_candidates",
    "plan_new_sites", "rank_new_sites", "uncovered_cells", "uncovered_cells_by_time",
    "worst_off",
]
