"""Column names: Norwegian and Meeting Guide headings (and the words in them) → registry fields."""

from __future__ import annotations

import re

from tilbudskart import geocode, settings

#: How a column may be named (folded: lower case, separators as ``_``) → registry field.
COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "id": ("id", "nr", "gruppe_id", "group_id"),
    "name": ("name", "navn", "gruppe", "gruppenavn", "group", "group_name", "meeting",
             "meeting_name", "mote", "møte", "tilbud_navn", "title", "tittel"),
    "organisation": ("organisation", "organization", "organisasjon", "org", "forening",
                     "forbund"),
    "group_type": ("group_type", "gruppetype", "type_gruppe"),
    "kind": ("kind",),
    "place": ("place", "sted", "by", "city", "town", "kommune", "municipality", "poststed",
              "tettsted", "locality"),
    "address": ("address", "adresse", "gateadresse", "besoksadresse", "besøksadresse",
                "street", "formatted_address"),
    "postcode": ("postcode", "postnummer", "postnr", "post_nr", "postal_code", "zip",
                 "zipcode", "zip_code", "post_code"),
    "county": ("county", "fylke", "region", "state", "landsdel"),
    "health_region": ("health_region", "helseregion"),
    "ownership": ("ownership", "eierskap", "eier"),
    "offer": ("offer", "tilbud"),
    "age_groups": ("age_groups", "aldersgruppe", "aldersgrupper", "alder", "age"),
    "phone": ("phone", "telefon", "tlf", "telefonnummer", "mobil", "telephone",
              "conference_phone"),
    "email": ("email", "e_post", "epost", "e_mail", "mail"),
    "source": ("source", "kilde"),
    "year": ("year", "år", "aar"),
    "note": ("note", "notes", "merknad", "merknader", "kommentar", "notat", "beskrivelse",
             "description"),
    "attendance": ("attendance", "attendance_option", "format", "møteform", "moteform",
                   "oppmøte", "oppmote", "digitalt"),
    "url": ("url", "conference_url", "lenke", "nettside", "website", "web", "link",
            "møtelenke"),
    "lat": ("lat", "latitude", "breddegrad", "y"),
    "lon": ("lon", "lng", "long", "longitude", "lengdegrad", "x"),
    "day": ("day", "dag", "ukedag", "weekday", "møtedag", "motedag"),
    "time": ("time", "tid", "klokkeslett", "start", "start_time", "møtetid", "motetid",
             "tidspunkt", "møtetidspunkt", "motetidspunkt"),
    "end_time": ("end_time", "sluttid", "slutt", "slutter"),
    "slug": ("slug",),
    "location": ("location", "lokale", "location_name", "venue"),
    "types": ("types",),
}

#: Columns kept in the group's note, under a Norwegian label (folded name → label): the
#: Meeting Guide spec's notes and contacts, and Norwegian "Kontakt"/"Kontaktperson".
NOTE_COLUMNS: dict[str, str] = {
    "kontakt": "Kontakt", "kontaktperson": "Kontakt", "contact": "Kontakt",
    **{f"contact_{n}_{part}": "Kontakt" for n in (1, 2, 3) for part in ("name", "email",
                                                                        "phone")},
    "group": "Gruppe", "group_notes": "Om gruppa", "location_notes": "Om lokalet",
    "conference_url_notes": "Om nettmøtet", "conference_phone_notes": "Om telefonmøtet",
    "entity": "Ansvarlig", "entity_phone": "Ansvarlig (telefon)",
    "entity_email": "Ansvarlig (e-post)",
}

#: Meeting Guide fields that are recognised but not used (no warning): what a map of
#: help in Norway has no place for (time zone, payment handles, editing links …).
UNUSED_COLUMNS: frozenset[str] = frozenset({
    "timezone", "updated", "approximate", "edit_url", "feedback_url", "venmo", "square",
    "paypal", "entity_feedback_emails", "entity_location", "entity_logo", "entity_url",
    "entity_website_url", "region", "sub_region", "regions", "country", "district",
    "district_url", "feedback_emails", "location_url",
})

#: Meeting Guide fields that say the same as another column of the same field (an address
#: and a formatted address, a meeting page and a meeting link …): the first non-empty of
#: them is used, without a warning.
ALTERNATIVE_COLUMNS: frozenset[str] = frozenset({
    "formatted_address", "region", "state", "conference_url", "conference_phone",
    "website", "url", "city",
})

#: Organisation names people write → organisation id (folded: letters and digits only).
ORGANISATION_NAMES: dict[str, str] = {
    "landsforbundetmotstoffmisbruk": "lms", "alanonalateenvba": "al_anon",
    "alanon": "al_anon", "alateen": "al_anon", "vba": "al_anon",
    "alanonfamiliegrupper": "al_anon", "familieklubb": "familieklubbene",
    "familieklubbeneinorge": "familieklubbene", "rusnett": "rus_nett",
    "adultchildrenofalcoholics": "aca", "institusjon": "institution",
    "behandlingsinstitusjon": "institution",
}

#: Attendance words → ``physical``, ``online`` or ``hybrid`` (folded, letters only).
ATTENDANCE_WORDS: dict[str, str] = {
    "physical": "physical", "inperson": "physical", "fysisk": "physical",
    "fysiske": "physical", "oppmøte": "physical", "oppmote": "physical", "ja": "physical",
    "online": "online", "nett": "online", "pånett": "online", "panett": "online",
    "digital": "online", "digitalt": "online", "video": "online", "zoom": "online",
    "teams": "online", "telefon": "online", "phone": "online", "telefonmøte": "online",
    "nettmøte": "online", "hybrid": "hybrid", "beggedeler": "hybrid", "begge": "hybrid",
}

#: Meeting Guide's days (0 = Sunday) in Norwegian.
DAYS_NB = ("søndag", "mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag")

#: Registry field → the Norwegian column name people know it by (for the app's report).
FIELD_NB: dict[str, str] = {
    "id": "id", "name": "navn", "organisation": "organisasjon", "kind": "type",
    "place": "sted", "address": "adresse", "postcode": "postnummer", "county": "fylke",
    "phone": "telefon", "email": "e-post", "year": "år", "note": "merknad",
    "attendance": "møteform", "url": "lenke", "lat": "breddegrad", "lon": "lengdegrad",
}

#: Template columns (Norwegian headers) → registry field.
TEMPLATE_COLUMNS: dict[str, str] = {
    "navn": "name", "organisasjon": "organisation", "sted": "place", "adresse": "address",
    "postnummer": "postcode", "fylke": "county", "telefon": "phone", "e-post": "email",
    "møteform": "attendance", "lenke": "url", "merknad": "note",
}


def fold(name: str) -> str:
    """Return a column name folded for matching (``"E-post "`` → ``"e_post"``)."""
    text = geocode.clean_text(str(name)).casefold()
    return re.sub(r"[\s\-./]+", "_", text).strip("_")


_FIELD_BY_NAME = {alias: key for key, aliases in COLUMN_NAMES.items() for alias in aliases}


def organisation_id(text: str) -> str | None:
    """Return the organisation id a written name means (``"Al-Anon"`` → ``al_anon``)."""
    key = re.sub(r"[^0-9a-zæøå]", "", geocode.clean_text(text).casefold())
    if not key:
        return None
    for ident, organisation in settings.ORGANISATION_TABLE.items():
        names = {ident, organisation.name}
        short = organisation.name.split("(")[0]
        names.add(short)
        if key in {re.sub(r"[^0-9a-zæøå]", "", n.casefold()) for n in names}:
            return ident
    return ORGANISATION_NAMES.get(key)
