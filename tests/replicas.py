"""Two replicas of ``scripts/serve.sh 2`` on loopback sharing one registry store.

Used by ``tests/test_registry_replicas.py`` and ``benchmarks/publish_visible.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Replicas:
    """``with Replicas(run_dir, env) as r:`` both replicas answer; ``r.feed(i)`` reads one."""

    def __init__(self, run_dir: Path, env: dict[str, str], timeout: float = 180):
        self.run_dir, self.timeout = run_dir, timeout
        self.listen = free_port()
        self.first = free_port()
        while self.first + 1 == self.listen:
            self.first = free_port()
        self.ports = (self.first, self.first + 1)
        self.env = {**os.environ, **env, "TILBUDSKART_LISTEN": f"127.0.0.1:{self.listen}",
                    "TILBUDSKART_REPLICA_PORT": str(self.first),
                    "TILBUDSKART_RUN_DIR": str(run_dir), "PYTHON": sys.executable,
                    "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "src"),
                                                   os.environ.get("PYTHONPATH", "")])}

    def __enter__(self) -> Replicas:
        log = (self.run_dir / "serve.log").open("wb")
        self.process = subprocess.Popen(["sh", "scripts/serve.sh", "2"], cwd=REPO_ROOT,
                                        env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        deadline = time.monotonic() + self.timeout
        for port in self.ports:
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health",
                                                timeout=2):
                        break
                except OSError:
                    if time.monotonic() > deadline or self.process.poll() is not None:
                        self.__exit__()
                        raise RuntimeError("serve.sh did not start: "
                                           + self.log()[-2000:]) from None
                    time.sleep(0.3)
        return self

    def log(self) -> str:
        return (self.run_dir / "serve.log").read_text(errors="replace")

    def feed(self, replica: int) -> list[dict[str, Any]]:
        url = f"http://127.0.0.1:{self.ports[replica]}/feed/meeting-guide.json"
        with urllib.request.urlopen(url, timeout=10) as answer:
            return json.loads(answer.read())

    def names(self, replica: int) -> set[str]:
        return {m["name"] for m in self.feed(replica)}

    def wait_for(self, present: str | None, absent: str | None = None,
                 timeout: float = 30) -> float:
        """Return seconds until every replica's feed has ``present`` and not ``absent``."""
        start = time.monotonic()
        pending = set(range(len(self.ports)))
        while pending:
            for replica in list(pending):
                names = self.names(replica)
                if (present is None or present in names) and (absent is None
                                                               or absent not in names):
                    pending.discard(replica)
            if pending:
                if time.monotonic() - start > timeout:
                    raise TimeoutError(f"replicas {sorted(pending)} did not follow in "
                                       f"{timeout} s")
                time.sleep(0.1)
        return time.monotonic() - start

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
