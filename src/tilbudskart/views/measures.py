"""Measures: how far help is — straight-line km or minutes by road and car ferry.

A :class:`Measure` ties a kommune-table column to its Norwegian wording and its map
classes; maps, legends and tables all read it from :data:`MEASURES`.
"""

from __future__ import annotations

from dataclasses import dataclass

from tilbudskart import settings


@dataclass(frozen=True)
class Measure:
    """How far help is: straight-line km or minutes by road and car ferry.

    Attributes
    ----------
    key : str
        ``"km"`` or ``"min"`` (as in the app's URL, ``?maal=km``).
    label : str
        Norwegian label for choosers and legends.
    unit : str
        Unit shown after figures.
    bins : tuple of float
        Upper bounds of the map classes (the last class is open).
    missing : str
        What a kommune without a figure shows (no group at all / no route).
    figure_label : str
        Norwegian name of one figure (tooltip and table heading).

    """

    key: str
    label: str
    unit: str
    bins: tuple[float, ...]
    missing: str
    figure_label: str

    def column(self, organisation: str | None = None) -> str:
        """Return the kommune-table column for an organisation (``None``: any group)."""
        if self.key == "km":
            return settings.km_column(organisation)
        return settings.minutes_column(organisation)


#: dict of str to Measure: the two measures, keyed as in the app's URL.
MEASURES: dict[str, Measure] = {
    "km": Measure("km", "Avstand i luftlinje", "km", settings.DISTANCE_BINS, "ingen gruppe",
                  "Avstand"),
    "min": Measure("min", "Kjøretid med bil og ferje", "min", settings.MINUTE_BINS,
                   "ingen rute på vegnettet", "Kjøretid"),
}
