"""Build outputs that switch all at once: one folder per build, one symlink swapped.

Layout of an output folder ``out/`` (POSIX: Linux, macOS)::

    out/
      .builds/20261125T101500Z-1234-x1y2/   the complete files of one build
      .builds/.lock                          held while a build writes
      current -> .builds/20261125T101500Z-1234-x1y2
      BUILD -> current/BUILD                 the build's id; every CSV has it in a
                                             ``build_id`` column
      services.csv -> current/services.csv   one link per output file, so the paths
      kommuner.csv -> current/kommuner.csv   users know (``out/services.csv``) still work
      …

A build writes every file into a fresh folder under ``.builds/``; only when all of them
are written does :func:`publish` point ``current`` at it, with one ``os.replace`` of a
symlink, which is atomic on POSIX. Every ``out/<file>`` resolves through ``current``, so a
reader sees the previous set or the new set, never a mix, and a build killed at any moment
leaves the previous set complete. (The one exception is the first build into a folder of the
earlier layout, whose plain files are replaced by links one at a time.) A reader that opens
two files must resolve ``current`` once (:func:`resolve_current`) and read both from that
folder: opening ``out/services.csv`` and then ``out/kommuner.csv`` resolves the link twice,
and a swap in between gives files of two builds (their ``build_id`` columns tell).

Each build first removes what earlier builds left behind: every build folder but the one
``current`` points at (a killed build's half-written folder, or the set before the current
one, kept until then for readers that resolved ``current`` just before a swap), stray
temporary links, and the staging folders of the earlier layout (``.tilbudskart-*``).
A lock file keeps two builds from writing into the same folder at once.

Nothing here knows which files a build writes: whatever is in the staging folder is
published, so a stage that adds an output only writes one more file.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

#: Folder (inside the output folder) holding one sub-folder per build.
BUILDS = ".builds"

#: The symlink naming the published build.
CURRENT = "current"

#: Prefix of the staging folders written by earlier versions (removed when found).
LEGACY_STAGING = ".tilbudskart-"

#: Prefix of the temporary symlinks made while publishing (removed when found).
TEMP_LINK = ".tilbudskart-link-"


class OutputError(Exception):
    """The output folder cannot take a build (not a folder, not writable, busy)."""


#: The file of each build naming it (``out/BUILD`` and ``out/current/BUILD``).
BUILD_FILE = "BUILD"


@dataclass
class Publication:
    """A build being written: ``folder`` to write into; ``written`` once published."""

    out: Path
    folder: Path
    written: list[Path] = field(default_factory=list)
    #: The build's id, written to ``BUILD`` (default: the folder's name).
    build_id: str = ""


def resolve_current(out: Path) -> Path:
    """Return the folder of the published build, resolved once: read a consistent set there.

    ``out/services.csv`` and ``out/kommuner.csv`` each resolve ``current`` when opened, so
    two files opened while a build is published may come from two builds. Resolve
    ``current`` once and read every file from the folder this returns: it is complete, and
    stays until the build after the next one (see :func:`remove_stale`).

    Raises
    ------
    OutputError
        If ``out`` has no published build.

    """
    folder = current_build(out)
    if folder is None:
        raise OutputError(f"{out} has no published build (no {out / CURRENT})")
    return folder


def check_writable(out: Path) -> None:
    """Check, before anything is computed, that ``out`` can take a build.

    Parameters
    ----------
    out : pathlib.Path
        The output folder; it may not exist yet (it is then created later).

    Raises
    ------
    OutputError
        If ``out`` (or the nearest existing folder above it) is not a folder or cannot be
        written to. The check writes and removes an empty folder, so it holds for root
        and read-only file systems too.

    """
    existing = out
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        what = "is not a folder" if existing == out else f"cannot be made: {existing} is a file"
        raise OutputError(f"output folder {out} {what}")
    try:
        probe = tempfile.mkdtemp(prefix=".tilbudskart-probe-", dir=existing)
        Path(probe).rmdir()
    except OSError as exc:
        raise OutputError(f"cannot write to {existing} ({exc.strerror or exc})") from exc


@contextmanager
def publishing(out: Path, build_id: str | None = None) -> Iterator[Publication]:
    """Yield a fresh build folder; publish it if the block completes, else remove it.

    Parameters
    ----------
    out : pathlib.Path
        The output folder (created if missing).
    build_id : str, optional
        What names the build in its ``BUILD`` file (default: the build folder's name);
        the writer puts the same id in every file.

    Yields
    ------
    Publication
        Write every output file into ``publication.folder``; after the block,
        ``publication.written`` lists the published paths (``out/<name>``).

    Raises
    ------
    OutputError
        If another build is writing into ``out``, or ``out`` cannot be used.

    """
    check_writable(out)
    builds = out / BUILDS
    builds.mkdir(parents=True, exist_ok=True)
    with _locked(builds / ".lock"):
        remove_stale(out)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        # mkdir, not mkdtemp: the folder gets the usual permissions (umask), not 0700.
        folder = builds / f"{stamp}-{os.getpid()}-{secrets.token_hex(4)}"
        folder.mkdir()
        publication = Publication(out, folder, build_id=build_id or folder.name)
        try:
            yield publication
            (folder / BUILD_FILE).write_text(publication.build_id + "\n", encoding="utf-8")
            publication.written = publish(folder, out)
        except BaseException:
            # Not reached when the process is killed: the next build removes the folder.
            shutil.rmtree(folder, ignore_errors=True)
            raise


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                raise OutputError(f"another build is writing into {path.parent.parent}; "
                                  f"try again when it has finished") from exc
            raise
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def current_build(out: Path) -> Path | None:
    """Return the build folder ``out/current`` points at, or ``None``."""
    link = out / CURRENT
    if not link.is_symlink():
        return None
    target = (out / os.readlink(link)).resolve()
    return target if target.is_dir() else None


def remove_stale(out: Path) -> list[Path]:
    """Remove what earlier builds left in ``out``; keep the published build.

    Parameters
    ----------
    out : pathlib.Path
        The output folder.

    Returns
    -------
    list of pathlib.Path
        What was removed: build folders other than the current one (killed builds and
        superseded sets), temporary links, staging folders of the earlier layout.

    """
    keep = current_build(out)
    removed = []
    candidates = [*out.glob(LEGACY_STAGING + "*")]
    builds = out / BUILDS
    if builds.is_dir():
        candidates += [p for p in builds.iterdir() if p.name != ".lock"]
    for path in sorted(candidates):
        if keep is not None and path.resolve() == keep:
            continue
        if path.is_symlink() or not path.is_dir():
            path.unlink(missing_ok=True)
        else:
            shutil.rmtree(path, ignore_errors=True)
        logger.info("removed %s, left by an earlier build", path)
        removed.append(path)
    return removed


def publish(folder: Path, out: Path) -> list[Path]:
    """Make a complete build folder the current one, atomically.

    Parameters
    ----------
    folder : pathlib.Path
        A folder in ``out/.builds`` holding every output file of one build.
    out : pathlib.Path
        The output folder.

    Returns
    -------
    list of pathlib.Path
        ``out/<name>`` for every file published, in name order.

    Raises
    ------
    OutputError
        If ``out/current`` or an ``out/<name>`` is a real folder (not made by a build).

    """
    names = sorted(p.name for p in folder.iterdir() if p.is_file())
    for name in names:
        # Written data reaches the disk before the switch names it.
        with (folder / name).open("rb") as handle:
            os.fsync(handle.fileno())
    _swap_link(out / CURRENT, os.path.relpath(folder, out))
    written = []
    for name in names:
        link = out / name
        target = f"{CURRENT}/{name}"
        if not (link.is_symlink() and os.readlink(link) == target):
            _swap_link(link, target)
        written.append(link)
    # A file an earlier build wrote and this one did not: its link now dangles.
    for path in out.iterdir():
        if (path.is_symlink() and os.readlink(path).startswith(f"{CURRENT}/")
                and not path.exists()):
            path.unlink()
    logger.info("published %s: %d files in %s", out, len(written), folder.name)
    return written


def _swap_link(link: Path, target: str) -> None:
    """Point ``link`` at ``target`` in one step (a new link renamed over the old one)."""
    if link.is_dir() and not link.is_symlink():
        raise OutputError(f"{link} is a folder that no build made; move it away first")
    temporary = link.parent / f"{TEMP_LINK}{os.getpid()}-{link.name}"
    temporary.unlink(missing_ok=True)
    os.symlink(target, temporary)
    try:
        os.replace(temporary, link)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def replace_pickle(data: object, path: Path, stale: str) -> None:
    """Pickle ``data`` to ``path`` at once, then remove the older files ``stale`` matches.

    The pickle is written to a temporary file beside ``path`` and renamed over it, so a
    reader finds the old file or the new one, never half of one. ``stale`` is a glob in
    the same folder (``"appdata-*.pickle"``): every match but ``path`` is removed (caches
    of earlier inputs). Raises ``OSError`` when the folder cannot be written.
    """
    import pickle

    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".tmp") as out:
        pickle.dump(data, out, protocol=pickle.HIGHEST_PROTOCOL)
    Path(out.name).replace(path)
    for old in path.parent.glob(stale):
        if old != path:
            old.unlink(missing_ok=True)
