"""Untrusted lists parsed in a box: a worker process with a memory and a time limit.

A spreadsheet reader can abort the whole process it runs in (python-calamine asks for
512 GiB for one cell at ``XFD1048576`` and Rust aborts), or take gigabytes and minutes on
a small file. So every upload and every ``build --import`` is read by
:func:`import_isolated`: a fresh ``python -m tilbudskart.sandbox`` that

- caps its own address space at :data:`MEMORY_BYTES` (512 MiB) and its CPU time at
  :data:`CPU_SECONDS` (``resource.setrlimit``), may write no file (``RLIMIT_FSIZE`` 0), runs
  at a lower priority (``nice`` 10, so other people's searches come first) and is killed
  after :data:`WALL_SECONDS`;
- reads the bytes from its stdin and answers with JSON on its stdout (never pickle: the
  process that touched the file is not trusted to build objects in the server);
- runs one at a time per server process (:data:`_ONE_AT_A_TIME`): a second upload waits,
  and its caller is told so (``on_wait``).

Whatever happens to the worker (killed, out of memory, aborted, garbage on stdout) the
caller gets an :class:`~tilbudskart.importers.ImportFileError` with one line, and the
server goes on. The worker runs :func:`tilbudskart.importers.import_bytes`, so the checks
and messages are the same as in-process.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd

from tilbudskart import importers, settings

#: Address space of a worker (bytes). Python with pandas takes ~360 MB of it before
#: reading; the rest is for one list of at most ``importers.MAX_BYTES`` (a 20 000-row
#: .xlsx of 0.8 MB peaks at 325 MB resident, within it).
MEMORY_BYTES = 512 * 1024 * 1024
#: CPU seconds a worker may use.
CPU_SECONDS = 60
#: Wall-clock seconds before a worker is killed (waiting for the box not counted).
WALL_SECONDS = 90

_ONE_AT_A_TIME = threading.Lock()
_LOG = logging.getLogger(__name__)

#: Environment of a worker: one thread for the numeric libraries, few malloc arenas.
_WORKER_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "MALLOC_ARENA_MAX": "2", "RUST_BACKTRACE": "0", "PYTHONHASHSEED": "0"}

#: What the caller is told when the worker fails (English; Norwegian in importers).
CRASHED = "the file could not be read safely (the reader stopped: {why}); the file is refused"
TIMED_OUT = "reading the file took more than {seconds} s; the file is refused"


def import_isolated(data: bytes, file: str, organisation: str | None = None,
                    known_postcodes: Iterable[str] | None = None, year: int | None = None,
                    on_wait: Callable[[], None] | None = None) -> importers.ImportResult:
    """Read one list in a worker process (see :func:`tilbudskart.importers.import_bytes`).

    Parameters
    ----------
    data, file, organisation, known_postcodes, year
        As for :func:`tilbudskart.importers.import_bytes`.
    on_wait : callable, optional
        Called once, before waiting, if another list is being read in this process.

    Returns
    -------
    ImportResult

    Raises
    ------
    tilbudskart.importers.ImportFileError
        If the list cannot be read, is past a limit, or the worker failed.

    """
    if len(data) > importers.MAX_BYTES:  # refused before anything is started
        importers.read_table(data, file)
    request = {"file": file, "organisation": organisation, "year": year,
               "postcodes": None if known_postcodes is None else list(known_postcodes)}
    message = json.dumps(request).encode("utf-8") + b"\n" + data
    if not _ONE_AT_A_TIME.acquire(blocking=False):
        if on_wait is not None:
            on_wait()
        _ONE_AT_A_TIME.acquire()
    try:
        answer = _run_worker(message, file)
    finally:
        _ONE_AT_A_TIME.release()
    if "error" in answer:
        error = answer["error"]
        raise importers.ImportFileError(file, error.get("row"), error.get("field"),
                                        str(error["reason"]))
    return _result_from_json(answer["result"])


#: The worker's command line.
WORKER_COMMAND = (sys.executable, "-m", "tilbudskart.sandbox")


def _run_worker(message: bytes, file: str,
                command: tuple[str, ...] = WORKER_COMMAND) -> dict[str, Any]:
    env = {**settings.environment(), **_WORKER_ENV}
    try:
        done = subprocess.run(list(command), input=message,
                              capture_output=True, timeout=WALL_SECONDS, env=env, check=False)
    except subprocess.TimeoutExpired:
        _LOG.warning("import worker killed after %d s", WALL_SECONDS)
        raise importers.ImportFileError(file, None, None,
                                        TIMED_OUT.format(seconds=WALL_SECONDS)) from None
    except OSError as exc:
        raise importers.ImportFileError(file, None, None, CRASHED.format(
            why=f"the reader could not start: {exc.strerror}")) from None
    if done.returncode != 0:
        why = _why(done.returncode, done.stderr)
        _LOG.warning("import worker failed (exit %d: %s)", done.returncode, why)
        raise importers.ImportFileError(file, None, None, CRASHED.format(why=why))
    try:
        answer = json.loads(done.stdout)
        if not isinstance(answer, dict) or not ({"error", "result"} & answer.keys()):
            raise ValueError("no answer")
    except ValueError:
        raise importers.ImportFileError(file, None, None,
                                        CRASHED.format(why="no answer")) from None
    return answer


def _why(returncode: int, stderr: bytes) -> str:
    """Return why a worker stopped, in a few words (no traceback, no data)."""
    if b"MemoryError" in stderr or b"memory allocation" in stderr or returncode in (-6, 134):
        return "out of memory"
    if returncode in (-9, -24, 137, 152):  # SIGKILL, SIGXCPU
        return "out of time"
    return f"exit {returncode}"


# -- carrying results over JSON ---------------------------------------------------------------


def _frame_to_json(frame: pd.DataFrame) -> dict[str, Any]:
    records = frame.astype(object).where(frame.notna(), None).to_numpy().tolist()
    return {"columns": list(frame.columns), "data": records}


def _result_to_json(result: importers.ImportResult) -> dict[str, Any]:
    return {"file": result.file, "format": result.format, "encoding": result.encoding,
            "separator": result.separator, "rows_read": result.rows_read,
            "services": _frame_to_json(result.services),
            "report": _frame_to_json(result.report)}


def _result_from_json(payload: dict[str, Any]) -> importers.ImportResult:
    services = pd.DataFrame(payload["services"]["data"], columns=payload["services"]["columns"])
    for column in ("lat", "lon"):
        services[column] = pd.to_numeric(services[column], errors="coerce").astype(float)
    services["source_row"] = pd.array(services["source_row"].tolist(), dtype="Int64")
    report_rows = payload["report"]["data"]
    report = importers.empty_report()
    if report_rows:
        report = pd.DataFrame(report_rows, columns=payload["report"]["columns"])
        report["row"] = pd.array(report["row"].tolist(), dtype="Int64")
    return importers.ImportResult(str(payload["file"]), str(payload["format"]),
                                  str(payload["encoding"]), str(payload["separator"]),
                                  int(payload["rows_read"]), services, report)


# -- the worker -------------------------------------------------------------------------------


def _limit_self() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.nice(10)  # searches on the same server come first


def worker_main() -> int:
    """Read a request and a list from stdin, answer on stdout (the worker's entry point)."""
    _limit_self()
    stream = sys.stdin.buffer
    request = json.loads(stream.readline())
    data = stream.read(importers.MAX_BYTES + 1)
    answer: dict[str, Any]
    try:
        result = importers.import_bytes(data, request["file"], request["organisation"],
                                        request["postcodes"], request["year"])
        answer = {"result": _result_to_json(result)}
        del result
    except importers.ImportFileError as exc:
        answer = {"error": {"row": exc.row, "field": exc.field, "reason": exc.reason}}
    except MemoryError:
        answer = {"error": {"reason": CRASHED.format(why="out of memory")}}
    except RecursionError:
        answer = {"error": {"reason": CRASHED.format(why="nested too deep")}}
    # Streamed (json.dump writes piece by piece): one string of a 20 000-row answer would
    # need its size twice over.
    json.dump(answer, sys.stdout, allow_nan=True)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(worker_main())
