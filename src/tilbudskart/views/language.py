"""Language: bokmål and nynorsk texts from one catalogue per language, and each kommune's.

The texts live in ``views/lang/nb.toml`` and ``views/lang/nn.toml`` (same keys; a test
checks it), not in code. A kommune whose official written standard (målform, from SSB's
population file) is nynorsk gets its report, map captions and panel in nynorsk (the
Language Act: the state answers a kommune in its own målform); every other kommune —
bokmål or neutral — in bokmål.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any

#: The languages, by code: bokmål and nynorsk.
LANGUAGES: dict[str, str] = {"nb": "Bokmål", "nn": "Nynorsk"}

#: What people type for a language (``report --målform nynorsk``) → code.
LANGUAGE_NAMES: dict[str, str] = {"bokmål": "nb", "bokmal": "nb", "nb": "nb",
                                  "nynorsk": "nn", "nn": "nn"}


@cache
def catalogue(language: str) -> dict[str, Any]:
    """Return one language's texts as ``{"section.key": text}``.

    Raises
    ------
    ValueError
        If the language is not one of :data:`LANGUAGES`.

    """
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; known: {', '.join(LANGUAGES)}")
    path = resources.files("tilbudskart") / "views" / "lang" / f"{language}.toml"
    nested = tomllib.loads(path.read_text(encoding="utf-8"))
    return {f"{section}.{key}": value for section, entries in nested.items()
            for key, value in entries.items()}


def text(key: str, language: str = "nb", **values: Any) -> str:
    """Return one text in a language, with its ``{placeholders}`` filled in.

    Examples
    --------
    >>> text("report.beyond_km", "nn", km=25)
    'meir enn 25 km i luftline'

    """
    return str(catalogue(language)[key]).format(**values)


def texts(key: str, language: str = "nb", **values: Any) -> list[str]:
    """Return a list of texts (e.g. ``report.sources``), their placeholders filled in."""
    return [str(item).format(**values) for item in catalogue(language)[key]]


def language_code(name: str) -> str:
    """Return the code of a language as people write it ("nynorsk" → "nn").

    Raises
    ------
    ValueError
        If the name is not a language of the app.

    """
    code = LANGUAGE_NAMES.get(name.strip().casefold())
    if code is None:
        raise ValueError(f"unknown målform {name!r}; use bokmål or nynorsk")
    return code


@cache
def _kommune_languages() -> dict[str, str]:
    from tilbudskart import datasources

    population = datasources.read_population()
    return {number: "nn" if str(form).strip().casefold() == "nynorsk" else "nb"
            for number, form in zip(population["kommunenummer"], population["malform"],
                                    strict=True)}


def kommune_language(number: str) -> str:
    """Return the language a kommune is written to: ``nn`` for nynorsk, else ``nb``."""
    return _kommune_languages().get(number, "nb")


def official_name(name: str) -> str:
    """Return a kommune name as officially written (parallel names with an en dash).

    Examples
    --------
    >>> official_name("Guovdageaidnu - Kautokeino")
    'Guovdageaidnu – Kautokeino'

    """
    return str(name).replace(" - ", " – ")
