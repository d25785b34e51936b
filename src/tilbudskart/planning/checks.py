"""Planning's argument checks: every public planning function checks before any work.

The thresholds themselves (:class:`~tilbudskart.measures.Threshold`, :data:`THRESHOLDS`,
:func:`check_threshold`) live in :mod:`tilbudskart.measures`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from tilbudskart import measures, settings
from tilbudskart.measures import THRESHOLDS, Threshold, check_threshold

__all__ = ["DEFAULT_COVER_ALL", "DEFAULT_NEAR", "MAX_NEW_GROUPS", "OBJECTIVES", "THRESHOLDS",
           "Threshold", "check_kept", "check_new_groups", "check_objective",
           "check_organisation", "check_threshold"]

#: Most new groups a question may ask for (CLI ``--new``, the page, :meth:`Planner.new_sites`).
MAX_NEW_GROUPS = 50

#: Objectives of :meth:`Planner.new_sites`: ``coverage`` (MCLP) or ``median`` (p-median).
OBJECTIVES = ("coverage", "median")

#: Default threshold of a new-sites question: the widest distance of the tables ("50km").
DEFAULT_NEAR = measures.FARTHEST_KM.key

#: Default threshold of a cover-all question: the shortest time of the tables ("60min").
DEFAULT_COVER_ALL = measures.NEAREST_MINUTES.key


def check_organisation(organisation: str | None) -> str | None:
    """Return ``organisation`` if it is a self-help organisation (or None: all of them).

    Raises
    ------
    ValueError
        Naming the value, e.g. ``"institution"`` (treatment institutions are not groups).

    """
    if organisation is None or organisation in settings.SELF_HELP_ORGANISATIONS:
        return organisation
    raise ValueError(f"organisation {organisation!r} is not a self-help organisation; choose "
                     f"one of {', '.join(settings.SELF_HELP_ORGANISATIONS)}")


def check_new_groups(k: object, low: int = 1) -> int:
    """Return ``k`` if it is a whole number from ``low`` to :data:`MAX_NEW_GROUPS`.

    Raises
    ------
    ValueError
        Naming the value.

    """
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not (
            low <= int(k) <= MAX_NEW_GROUPS):
        raise ValueError(f"number of new groups must be a whole number from {low} to "
                         f"{MAX_NEW_GROUPS}, not {k!r}")
    return int(k)


def check_objective(objective: str) -> str:
    """Return ``objective`` if it is one of :data:`OBJECTIVES`."""
    if objective not in OBJECTIVES:
        raise ValueError(f"objective {objective!r} is not offered; choose one of "
                         f"{', '.join(OBJECTIVES)}")
    return objective


def check_kept(kept: Sequence[str], candidates: pd.DataFrame) -> list[int]:
    """Return the candidate positions of kept kommuner (their centres).

    Parameters
    ----------
    kept : sequence of str
        Kommune numbers whose centre must be among the sites.
    candidates : pandas.DataFrame
        From :func:`centre_candidates` or :func:`place_candidates`.

    Raises
    ------
    ValueError
        If a number is repeated or names no kommune.

    """
    if isinstance(kept, str):
        raise ValueError(f"kept sites must be a list of kommune numbers, not the text {kept!r}")
    kept = [str(number) for number in kept]
    repeated = sorted({n for n in kept if kept.count(n) > 1})
    if repeated:
        raise ValueError(f"kept kommune repeated: {', '.join(repeated)}")
    centres = candidates[candidates["source"] == "kommunesenter"]
    position = dict(zip(centres["kommunenummer"], centres.index, strict=True))
    unknown = [n for n in kept if n not in position]
    if unknown:
        raise ValueError(f"unknown kommunenummer in kept sites: {', '.join(unknown)}")
    return [int(position[n]) for n in kept]
