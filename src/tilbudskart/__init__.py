"""tilbudskart: where help for relatives of people with substance-use problems exists in Norway.

Data flows one way: :mod:`~tilbudskart.datasources` (shared geodata, checked against the
manifest) → :mod:`~tilbudskart.registry` (services transcribed from the 2007 report) →
:mod:`~tilbudskart.geocode` (offline geocoding onto the kommuner of settings.DATA_YEARS) →
:mod:`~tilbudskart.access` (the per-kommune access table) → :mod:`~tilbudskart.views`
(maps and tables for the app) and :mod:`~tilbudskart.cli`.
"""

__version__ = "0.1.0"
