"""The command line's argument types: each checks one argument and says what is wrong."""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable
from pathlib import Path

from tilbudskart import geocode, outputs


def _int_between(low: int, high: int) -> Callable[[str], int]:
    """Return an argparse type accepting whole numbers from ``low`` to ``high``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{geocode.shorten(text)!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high}, not {value}")
        return value

    return parse


def _output_folder(text: str) -> Path:
    """Argparse type of ``--out``: a folder that exists or can be made, and is writable."""
    path = Path(text)
    try:
        outputs.check_writable(path)
    except outputs.OutputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return path


def _input_file(text: str) -> Path:
    """Argparse type of ``--import``: a readable file."""
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text} is not a file")
    if not os.access(path, os.R_OK):
        raise argparse.ArgumentTypeError(f"{text} cannot be read")
    return path


def _kommunenummer(text: str) -> str:
    """Argparse type of ``--keep``: a four-digit kommune number."""
    if not re.fullmatch(r"\d{4}", text):
        raise argparse.ArgumentTypeError(
            f"{geocode.shorten(text)!r} is not a kommunenummer (four digits)")
    return text


def _list_argument(text: str) -> Path | str | None:
    """Argparse type of ``compare``'s lists: a file, ``2007`` or a version ``ORG@N``.

    ``2007`` is the registry; ``ORG@N`` a published version (:mod:`tilbudskart.publishing`).
    """
    from tilbudskart.publishing import VERSION_REFERENCE

    if text == "2007":
        return None
    if VERSION_REFERENCE.fullmatch(text):
        return text
    return _input_file(text)


def _language(text: str) -> str:
    from tilbudskart.views.language import language_code

    try:
        return language_code(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
