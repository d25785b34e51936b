"""Publishing lists to the registry store: what a publish replaces, and its commands.

The logic (:func:`read_list`, :func:`in_force`, :func:`disappearing`) serves the app's
upload page and the command line; :func:`add_commands` adds ``steward``, ``publish``,
``history``, ``rollback`` and ``export`` to ``tilbudskart``. A refusal (wrong key, a list
with row errors, an unreachable store…) prints one line and exits with status 2; a steward
key is read from ``$TILBUDSKART_STEWARD_KEY`` or a hidden prompt, never from an argument,
and never printed, logged or repeated in a message.
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from tilbudskart import geocode, importers, registry, settings
from tilbudskart.store import RefusedError, Store, StoreError, open_store, publishable

__all__ = ["add_commands", "disappearing", "in_force", "publishable", "read_list",
           "refusal_nb", "resolve_list", "version_list"]

#: Environment variable that may hold a steward key (else the key is asked for).
STEWARD_KEY_ENV = settings.STEWARD_KEY_ENV

#: Seconds a wrong key holds the command line up (on top of the store's 5 a minute).
WRONG_KEY_PAUSE = 2.0


def read_list(data: bytes, file: str, organisation: str,
              gazetteer: geocode.Gazetteer | None = None) -> importers.ImportResult:
    """Read and check a list as the upload page does (postcodes against the register).

    Parsed in a limited worker process (:func:`tilbudskart.sandbox.import_isolated`): a
    hostile file is a refused list, never a dead server or command.
    """
    from tilbudskart import sandbox

    known = gazetteer.postcodes.index if gazetteer is not None else None
    return sandbox.import_isolated(data, file, organisation, known)


def in_force(store: Store, organisation: str) -> tuple[int, pd.DataFrame]:
    """Return the number and rows of ``organisation``'s list in force (0: the 2007 rows)."""
    latest = store.latest().get(organisation)
    if latest is None:
        base = registry.load_registry()
        return 0, base[base["organisation"] == organisation].reset_index(drop=True)
    return latest.number, store.rows(latest)


#: How a published version is named on the command line: ``al_anon@2`` (``@0``: 2007).
VERSION_REFERENCE = re.compile(r"([a-z][a-z0-9_]*)@(\d+)")


def version_list(store: Store, organisation: str, number: int) -> importers.ImportResult:
    """Return one version of an organisation's list as a read list (0: the 2007 rows)."""
    if organisation not in settings.ORGANISATIONS:
        raise RefusedError(f"unknown organisation {organisation!r}")
    name = f"{organisation}@{number}"
    if number == 0:
        base = registry.load_registry()
        rows = base[base["organisation"] == organisation].reset_index(drop=True)
        rows = rows.assign(source_row=pd.array(range(1, len(rows) + 1), dtype="Int64"),
                           registry_file=name)
    else:
        version = store.version(organisation, number)
        if version is None:
            raise RefusedError(f"{organisation} has no version {number} (see 'tilbudskart "
                               f"history --organisation {organisation}')")
        rows = store.rows(version).assign(registry_file=name)
    return importers.ImportResult(name, "csv", "UTF-8", ",", len(rows), rows)


def resolve_list(item: Any) -> Any:
    """Return ``item``, or the published version it names (``ORG@N``) as a read list."""
    if isinstance(item, str):
        match = VERSION_REFERENCE.fullmatch(item)
        if match:
            return version_list(open_store(), match.group(1), int(match.group(2)))
    return item


def disappearing(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Return the rows of ``old`` that ``new`` no longer lists (same name and place, folded)."""
    def keys(frame: pd.DataFrame) -> pd.Series:
        return frame["name"].map(importers.fold) + "|" + frame["place"].map(importers.fold)

    if old.empty:
        return old
    return old[~keys(old).isin(set(keys(new)) if len(new) else set())].reset_index(drop=True)


#: English refusals → Norwegian (the app's), by pattern; the rest pass through.
_REFUSALS_NB = (
    (r"^the steward key is wrong.*", "nøkkelen er feil."),
    (r"^too many wrong steward keys; try again in (\d+) s$",
     r"for mange feil nøkler; prøv igjen om \1 sekunder."),
    (r"^steward key (\S+) was revoked on (\S+)$", r"nøkkelen \1 ble trukket tilbake \2."),
    (r"^steward key (\S+) publishes for (\S+) only, not for (\S+)$",
     r"nøkkelen \1 publiserer bare for \2, ikke for \3."),
    (r"^(.*): (.*) — (\d+) problem\(s\) in all; a list with row errors cannot be "
     r"published until they are fixed$",
     r"\1: \2 – \3 feil i alt; rett feilene i rapporten over først."),
    (r"^(.*): no rows to publish$", r"\1: ingen rader å publisere."),
    (r"^(.*): rows of (.*) in a list published for (\S+);.*$",
     r"\1: rader fra \2 i en liste for \3; publiser hver organisasjons liste for seg."),
)


def refusal_nb(message: str) -> str:
    """Return a refusal in Norwegian (for the app; the key is never part of it)."""
    for pattern, text in _REFUSALS_NB:
        if re.match(pattern, message):
            return re.sub(pattern, text, message)
    return message


# -- command line ------------------------------------------------------------------------


def _say(text: str = "", err: bool = False) -> None:
    from tilbudskart.cli import terminal_safe

    print(terminal_safe(text), file=sys.stderr if err else sys.stdout)


def _refuse(message: str) -> int:
    _say(f"refused: {message}", err=True)
    return 2


def _store() -> Store:
    return open_store()


def _key() -> str | None:
    key = settings.steward_key_setting()
    if key:
        return key
    if not sys.stdin.isatty():
        return None
    return getpass.getpass("Steward key (not shown): ").strip() or None


def _guarded(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace],
                                                                        int]:
    """Turn store faults and refusals into one line and status 2."""
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except (StoreError, RefusedError, importers.ImportFileError) as error:
            if isinstance(error, RefusedError) and "steward key is wrong" in str(error):
                time.sleep(WRONG_KEY_PAUSE)
            return _refuse(str(error))

    return run


def _cmd_steward(args: argparse.Namespace) -> int:
    store = _store()
    if args.action == "add":
        key_id, key = store.add_steward(args.organisation)
        _say(f"Steward key {key_id} for {args.organisation}. The key is shown this once; "
             f"give it to the steward and keep no copy:", err=True)
        _say(key)
    elif args.action == "list":
        table = store.stewards()
        if table.empty:
            _say("No steward keys yet ('tilbudskart steward add ORGANISATION').")
        for row in table.to_dict("records"):
            revoked = row["revoked_at"]
            state = f"revoked {str(revoked)[:10]}" if revoked is not None and pd.notna(
                revoked) else "active"
            _say(f"{row['key_id']}  {row['organisation']:<16} created "
                 f"{str(row['created_at'])[:10]}  {state}")
    else:
        store.revoke(args.key_id)
        _say(f"Revoked {args.key_id}.")
    return 0


def _cmd_publish(args: argparse.Namespace) -> int:
    store = _store()
    path = Path(args.file)
    if not path.is_file():
        return _refuse(f"{path}: file not found")
    data = path.read_bytes()
    if len(data) > importers.MAX_BYTES:
        return _refuse(f"{path}: file too big ({len(data) / 1e6:.1f} MB)")
    gazetteer = geocode.Gazetteer.from_data()
    result = read_list(data, path.name, args.organisation, gazetteer)
    refusal = publishable(result, args.organisation)
    if refusal:
        return _refuse(refusal)
    key = _key()
    if key is None:
        return _refuse(f"no steward key: set {STEWARD_KEY_ENV} or run in a terminal to be "
                       f"asked")
    number, old = in_force(store, args.organisation)
    version = store.publish(result, args.organisation, key, hashlib.sha256(data).hexdigest())
    gone = disappearing(old, result.services)
    _say(f"Published {args.organisation} version {version.number}: {version.rows_used} "
         f"rows, {version.warnings} warnings; replaces version {number} ({len(old)} rows).")
    if len(gone):
        _say(f"No longer listed ({len(gone)}): " + "; ".join(
            f"{r.name} ({r.place})" for r in gone.head(20).itertuples()))
    return 0


def _cmd_rollback(args: argparse.Namespace) -> int:
    store = _store()
    key = _key()
    if key is None:
        return _refuse(f"no steward key: set {STEWARD_KEY_ENV} or run in a terminal to be "
                       f"asked")
    version = store.rollback(args.organisation, args.version, key)
    _say(f"Published {args.organisation} version {version.number}: the rows of version "
         f"{args.version} again ({version.rows_used} rows).")
    return 0


def _cmd_history(args: argparse.Namespace) -> int:
    store = _store()
    chosen = [args.organisation] if args.organisation else list(settings.ORGANISATIONS)
    base = registry.load_registry()
    versions = store.history(args.organisation)
    _say("organisation      version  published         steward      rows  file / note")
    for organisation in chosen:
        _say(f"{organisation:<17} {0:>7}  {'2007 report':<17} {'':<12} "
             f"{int((base['organisation'] == organisation).sum()):>5}")
        for v in (v for v in versions if v.organisation == organisation):
            when = f"{v.published_at:%Y-%m-%d %H:%M}" if v.published_at else ""
            state = "" if v.superseded_by is None else " (superseded)"
            note = f"; {v.note}" if v.note else ""
            _say(f"{organisation:<17} {v.number:>7}  {when:<17} {v.steward_key_id:<12} "
                 f"{v.rows_used:>5}  {v.file_name}{note}{state}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from tilbudskart import feed, pipeline

    dataset = pipeline.build_dataset()
    if dataset.store_notice:
        return _refuse(dataset.store_notice)
    payload = feed.export_bytes(dataset.services, args.format,
                                feed.updated_dates(dataset.list_dates))
    out = Path(args.out)
    try:
        out.write_bytes(payload)
    except OSError as error:
        return _refuse(f"{out}: cannot be written ({error.strerror})")
    _say(f"Wrote {out} ({args.format}, {len(payload):,} bytes).")
    return 0


def add_commands(sub: Any, verbosity: Callable[[argparse.ArgumentParser, bool], None]) -> None:
    """Add ``steward``, ``publish``, ``history``, ``rollback`` and ``export`` to ``sub``."""
    organisations = list(settings.ORGANISATIONS)
    steward = sub.add_parser("steward", help="steward keys: add, list, revoke",
                             description="A steward key publishes one organisation's list. "
                                         "'add' prints a new key once (only a slow hash is "
                                         "kept).")
    actions = steward.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="make a key for an organisation (printed once)")
    add.add_argument("organisation", choices=organisations)
    actions.add_parser("list", help="the keys: id, organisation, created, revoked")
    revoke = actions.add_parser("revoke", help="revoke a key (by its id)")
    revoke.add_argument("key_id")
    verbosity(steward, False)
    steward.set_defaults(func=_guarded(_cmd_steward))

    publish = sub.add_parser(
        "publish", help="publish an organisation's list (replaces its list in force)",
        description=f"Check the list as the upload page does and publish it as the "
                    f"organisation's new version. The steward key comes from "
                    f"${STEWARD_KEY_ENV} or a hidden prompt, never an argument.")
    publish.add_argument("file", help="CSV, .xlsx or Meeting Guide JSON")
    publish.add_argument("--organisation", choices=organisations, required=True)
    verbosity(publish, False)
    publish.set_defaults(func=_guarded(_cmd_publish))

    history = sub.add_parser("history", help="every published version (0: the 2007 report)")
    history.add_argument("--organisation", choices=organisations, default=None)
    verbosity(history, False)
    history.set_defaults(func=_guarded(_cmd_history))

    rollback = sub.add_parser("rollback", help="publish an earlier version again (as a new one)")
    rollback.add_argument("organisation", choices=organisations)
    rollback.add_argument("version", type=int, help="version number (0: the 2007 report)")
    verbosity(rollback, False)
    rollback.set_defaults(func=_guarded(_cmd_rollback))

    export = sub.add_parser("export", help="the published registry as a feed or file")
    export.add_argument("--format", choices=["meeting-guide", "csv", "geojson"], required=True)
    export.add_argument("--out", required=True, help="file to write")
    verbosity(export, False)
    export.set_defaults(func=_guarded(_cmd_export))
