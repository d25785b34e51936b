"""Tables: the app's tables in Norwegian, as pure functions of the pipeline's tables.

Tables keep numbers as numbers (so they sort as numbers); :func:`styled` shows them the
Norwegian way (``177 687``, ``12,3``), one format everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import pandas as pd
from pandas.io.formats.style import Styler

from tilbudskart import settings
from tilbudskart.views.language import official_name
from tilbudskart.views.measures import MEASURES, Measure
from tilbudskart.views.text import escape, escape_markdown, figure, own_links


def styled(table: pd.DataFrame, digits: dict[str, int] | None = None,
           markdown: bool = False) -> Styler:
    """Return a table whose numbers show the Norwegian way (for ``st.dataframe``/``st.table``).

    Parameters
    ----------
    table : pandas.DataFrame
        Any table; numeric columns are formatted, the values underneath stay numbers.
    digits : dict of str to int, optional
        Decimals per column (default 0).
    markdown : bool
        The table is drawn by ``st.table``, which renders every cell as Markdown: text
        cells are shown Markdown-escaped (:func:`~tilbudskart.views.text.escape_markdown`),
        so a name from data stays text; the values underneath are unchanged.

    """
    digits = digits or {}

    def formatter(decimals: int) -> Callable[[object], str]:
        return lambda value: figure(value, decimals)

    numeric = [c for c in table.columns if pd.api.types.is_numeric_dtype(table[c])
               and not pd.api.types.is_bool_dtype(table[c])]
    formats: dict[Any, str | Callable[[object], str] | None] = {
        c: formatter(digits.get(c, 0)) for c in numeric}
    if markdown:
        formats.update({c: lambda value: own_links(escape_markdown(value))
                        for c in table.columns if c not in formats})
    return table.style.format(formats)


def as_html(table: pd.DataFrame, label: str, digits: dict[str, int] | None = None) -> str:
    r"""Return a table as HTML in a region that scrolls sideways and takes keyboard focus.

    For ``st.html``: a wide table on a phone scrolls inside its own box, and a box that
    scrolls must be reachable by keyboard (axe "scrollable-region-focusable"), which
    ``st.table``'s box is not. Numbers the Norwegian way; every cell HTML-escaped (no
    Markdown is rendered here, so no text from data can become a link).

    Examples
    --------
    >>> html = as_html(pd.DataFrame({"Navn": ["<b>"], "km": [1234.56]}), "Test", {"km": 1})
    >>> "&lt;b&gt;" in html and "1\xa0234,6" in html and 'tabindex="0"' in html
    True

    """
    digits = digits or {}
    numeric = {c for c in table.columns if pd.api.types.is_numeric_dtype(table[c])
               and not pd.api.types.is_bool_dtype(table[c])}
    head = "".join(f'<th scope="col">{escape(c)}</th>' for c in table.columns)
    rows = "".join(
        "<tr>" + "".join(
            f'<td class="tk-num">{escape(figure(v, digits.get(c, 0)))}</td>' if c in numeric
            else f"<td>{escape(v)}</td>" for c, v in zip(table.columns, row, strict=True))
        + "</tr>" for row in table.itertuples(index=False))
    return (f'<div class="tk-scroll" role="region" tabindex="0" aria-label="{escape(label)}">'
            f'<table class="tk-table"><thead><tr>{head}</tr></thead>'
            f"<tbody>{rows}</tbody></table></div>")


def as_text(table: pd.DataFrame, digits: dict[str, int] | None = None) -> pd.DataFrame:
    r"""Return a table as the text ``st.table`` shows, every cell a string.

    Numbers the Norwegian way, text from data Markdown-escaped: what :func:`styled` shows
    with ``markdown=True``, without a Styler. Streamlit marshals a Styler's cells one by
    one (15–35 ms for a search's five rows, issue 23), a table of strings in well under a
    millisecond. For static tables (``st.table``), whose values nobody sorts.

    Examples
    --------
    >>> as_text(pd.DataFrame({"Navn": ["<b>"], "km": [1234.56]}), {"km": 1}).iloc[0].tolist()
    ['\\<b\\>', '1\xa0234,6']

    """
    digits = digits or {}
    numeric = {c for c in table.columns if pd.api.types.is_numeric_dtype(table[c])
               and not pd.api.types.is_bool_dtype(table[c])}
    return pd.DataFrame({
        c: [figure(v, digits.get(c, 0)) for v in table[c]] if c in numeric
        else [escape_markdown(v) for v in table[c]] for c in table.columns})


def organisation_contact(organisation: str) -> str:
    """Return an organisation's national contact line ("" if it has none)."""
    known = settings.ORGANISATION_TABLE.get(organisation)
    return known.contact if known else ""


def contact(found: pd.DataFrame) -> list[str]:
    """Return each service's contact: its own phone/e-mail, else its organisation's.

    A group without a contact of its own shows the organisation's national contact, marked
    as such ("LMS sentralt: 815 00 205 · www.motstoff.no").
    """
    lines = []
    for phone, email, organisation in zip(found["phone"], found["email"],
                                          found["organisation"], strict=True):
        own = " · ".join(x for x in (phone, email) if isinstance(x, str) and x.strip())
        if own:
            lines.append(own)
            continue
        national = organisation_contact(str(organisation))
        lines.append(f"Organisasjonen sentralt: {national}" if national else "")
    return lines


def plan_table(sites: pd.DataFrame) -> pd.DataFrame:
    """Return planned sites (``Plan.sites``) as a Norwegian table, in plan order."""
    return pd.DataFrame({
        "Nr.": range(1, len(sites) + 1),
        "Kommune": sites["kommunenavn"], "Fylke": sites["fylkesnavn"].map(official_name),
        "Valgt av deg": sites["fixed"],
        "Når alene": sites["reach"], "Legger til": sites["added"],
        "Til sammen": sites["cumulative"],
    })


#: Norwegian headings of :func:`tilbudskart.planning.worst_off`'s figures.
WORST_OFF_HEADINGS = {
    "max_km": "Lengst avstand (km)",
    "p95_km": "95 % bor nærmere enn (km)",
    "max_min": "Lengst kjøretid (min)",
    "p95_min": "95 % har kortere kjøretid enn (min)",
    "people_beyond_120min": "Innbyggere over 120 min unna",
}


def worst_off_table(figures: pd.DataFrame, labels: dict[str, str]) -> pd.DataFrame:
    """Return the worst-off figures of plans (one row each) as a Norwegian table.

    Parameters
    ----------
    figures : pandas.DataFrame
        Rows of :func:`tilbudskart.planning.worst_off` (e.g.
        :meth:`~tilbudskart.planning.Planner.compare_objectives`), indexed by plan.
    labels : dict of str to str
        Norwegian name of each row ("I dag", "Dekning" …); rows without one are left out.

    """
    rows = [key for key in figures.index if key in labels]
    table = pd.DataFrame({"Plassering": [labels[key] for key in rows]})
    for column, heading in WORST_OFF_HEADINGS.items():
        if column in figures.columns:
            table[heading] = figures.loc[rows, column].astype(float).round(0).to_numpy()
    return table


def curve_table(curve: pd.DataFrame) -> pd.DataFrame:
    """Return a plan's curve (:meth:`tilbudskart.planning.Plan.curve`) with Norwegian names."""
    return pd.DataFrame({"Nye grupper": curve["new_groups"].to_numpy(),
                         "Innbyggere lenger unna": curve["people_beyond"].to_numpy()})


def ranking_table(ranked: pd.DataFrame, far: str) -> pd.DataFrame:
    """Return the single-site ranking (:func:`tilbudskart.planning.rank_new_sites`) in Norwegian.

    Parameters
    ----------
    ranked : pandas.DataFrame
        With ``km_now`` (reach in km) or ``min_now`` (reach in minutes).
    far : str
        What "out of reach" is, e.g. ``"mer enn 50 km"``.

    """
    now = ("Km til nærmeste gruppe i dag" if "km_now" in ranked.columns
           else "Kjøretid til nærmeste gruppe i dag (min)")
    return pd.DataFrame({
        "Kommune": ranked["kommunenavn"], "Fylke": ranked["fylkesnavn"],
        "Innbyggere": ranked["folkemengde"],
        now: ranked["km_now" if "km_now" in ranked.columns else "min_now"].round(0),
        f"Innbyggere i kommunen {far} unna": ranked["uncovered_in_kommune"],
        "Ny gruppe her ville nå": ranked["reach"],
    })


def result_table(found: pd.DataFrame) -> pd.DataFrame:
    """Return nearest services as a Norwegian table for display (a text alternative).

    The name comes first (on a phone it is what shows without scrolling sideways); with a
    ``drive_min`` column (see :func:`tilbudskart.network.minutes_to`) the drive time follows
    the distance. A group without a contact of its own shows its organisation's.
    """
    table = pd.DataFrame({"Navn": found["name"], "Avstand (km)": found["distance_km"].round(1)})
    if "drive_min" in found.columns:
        table["Kjøretid (ca. min)"] = found["drive_min"].round(0)
    table["Organisasjon"] = found["organisation"].map(settings.ORGANISATIONS)
    table["Kommune"] = found["kommunenavn"]
    table["Kontakt"] = contact(found)
    # "Plassering" spelled out: what the point on the map stands for.
    table["Stedet er kjent ut fra"] = found["precision"].map(PRECISION_KNOWN_FROM)
    return table.reset_index(drop=True)


#: dict of str to str: a result table's "Stedet er kjent ut fra" column, per precision.
PRECISION_KNOWN_FROM = {"postcode": "postnummer", "place": "stedsnavn",
                        "kommune": "bare kommunen", "region": "bare regionen"}

#: Decimals shown in the planner table's columns (the others: none).
PLANNER_DIGITS = {"Km til nærmeste gruppe": 1, "Befolkningsvektet km": 1,
                  "Km til institusjon": 1}


def planner_table(kommuner: pd.DataFrame, organisation: str | None = None,
                  measure: Measure = MEASURES["km"]) -> pd.DataFrame:
    """Return the coverage table with Norwegian column names, farthest first.

    Parameters
    ----------
    kommuner : pandas.DataFrame
        The kommune table of ``organisation``
        (:func:`tilbudskart.pipeline.organisation_table`): every group column (nearest
        group, groups in the kommune, people beyond …) then describes its groups.
    organisation : str, optional
        One organisation id: which groups the km and minute columns are to; ``None`` for
        the nearest group of any self-help organisation.
    measure : Measure
        Sort by straight-line km or by travel time (farthest first, ties by number).

    Returns
    -------
    pandas.DataFrame
        Thresholds follow :data:`tilbudskart.settings.BEYOND_KM` and
        :data:`~tilbudskart.settings.BEYOND_MINUTES`.

    """
    km, minutes = MEASURES["km"].column(organisation), MEASURES["min"].column(organisation)
    table = pd.DataFrame({
        "Kommunenr.": kommuner["kommunenummer"],
        # Parallel Sámi, Kven and Norwegian names as officially written (with an en dash).
        "Kommune": kommuner.get("kommunenavn_offisielt", kommuner["kommunenavn"]).map(
            official_name),
        "Fylke": kommuner["fylkesnavn"].map(official_name),
        "Innbyggere": kommuner["folkemengde"],
        "Km til nærmeste gruppe": kommuner[km].round(1),
        "Kjøretid (min)": kommuner[minutes].round(0),
        "Nærmeste gruppe": kommuner["nearest_group"],
        "Gruppens organisasjon": kommuner["nearest_group_organisation"].map(
            settings.ORGANISATIONS).fillna(""),
        "Gruppens kommune": kommuner["nearest_group_kommune"],
        "Raskest å nå med bil": kommuner["nearest_group_by_road"],
        "Grupper i kommunen": kommuner["groups_in_kommune"],
        "Befolkningsvektet km": kommuner["population_weighted_km"].round(1),
        **{f"Bor > {threshold} km unna": kommuner[settings.beyond_km_column(threshold)]
           for threshold in settings.BEYOND_KM},
        "Vei-km": kommuner["road_km"].round(0),
        "Befolkningsvektet kjøretid (min)": kommuner["population_weighted_drive_min"].round(0),
        **{f"Bor > {threshold} min unna": kommuner[settings.beyond_minutes_column(threshold)]
           for threshold in settings.BEYOND_MINUTES},
        "Uten rute på vegnettet": kommuner["population_not_routed"],
        "Km til institusjon": kommuner[settings.km_column("institution")].round(1),
    })
    key = "Km til nærmeste gruppe" if measure.key == "km" else "Kjøretid (min)"
    return table.sort_values([key, "Kommunenr."], ascending=[False, True],
                             ignore_index=True)


def table_about(organisation: str | None, measure: Measure, rows: int,
                fylker: Sequence[str] = (), attributions: Sequence[str] = (),
                made: date | None = None, list_dates: Sequence[str] = ()) -> pd.DataFrame:
    """Return what a downloaded kommune table is: whose groups, data years and sources.

    The second sheet of the .xlsx and the ``om_tabellen`` layer of the GeoPackage.

    Parameters
    ----------
    organisation : str, optional
        Whose groups every group column describes (``None``: any self-help group).
    measure : Measure
        What the rows are sorted by.
    rows : int
        How many kommuner the table has.
    fylker : sequence of str
        The fylker it was filtered to (empty: all).
    attributions : sequence of str
        What the data's licences ask to be credited
        (:func:`tilbudskart.datasources.attributions`).
    made : datetime.date, optional
        The day it was made (default today).
    list_dates : sequence of str
        How old each organisation's list in force is, one line each
        (:meth:`tilbudskart.published.ListDate.text_nb`).

    """
    years = settings.DATA_YEARS
    whose = ("alle selvhjelpsgrupper for pårørende" if organisation is None
             else f"gruppene til {settings.ORGANISATIONS[organisation]}")
    entries = [
        ("Tabell", "Avstand og kjøretid til nærmeste selvhjelpsgruppe for pårørende, "
                   "per kommune"),
        ("Gjelder", f"Alle kolonner om grupper gjelder {whose}."),
        ("Sortert etter", f"{measure.label}, lengst unna først"),
        ("Fylker", ", ".join(fylker) if fylker else "Alle"),
        ("Kommuner", f"{rows} (kommuneinndelingen {years['boundaries']})"),
        ("Grupper", f"Registeret fra ISF-rapporten {years['registry']} og listene "
                    "organisasjonene har levert"),
        ("Innbyggere", f"SSB, folkemengde 1. januar {years['population']}"),
        ("Bosatte i rutenett", f"SSB, befolkning på 1 km-rutenett {years['grid']}"),
        ("Avstand", "I luftlinje fra kommunesenteret"),
        ("Kjøretid", "Anslått kjøretid med bil og bilferje på vegnettet N1000, "
                     "fra kommunesenteret"),
        ("Bor > … unna", "Innbyggere som bor lenger unna enn grensen, ut fra rutenettet"),
        *(("Listene", line) for line in list_dates),
        ("Laget", (made or date.today()).isoformat()),
        ("Laget med", "tilbudskart"),
        *(("Kilde", line) for line in attributions),
    ]
    return pd.DataFrame(entries, columns=["Felt", "Verdi"])
