"""A weak mobile link on loopback: a small asyncio TCP proxy with bandwidth and latency.

Chromium's network emulation (CDP ``Network.emulateNetworkConditions``) slows HTTP but not
the websocket Streamlit sends every page and answer through, so a first visit over
emulation looks faster than it is. This proxy slows every byte instead: each direction is
one shared link of ``down_kbit``/``up_kbit`` (all connections queue on it, as on one
radio link) and each chunk arrives ``rtt_ms / 2`` after it has been sent. It counts the
bytes that cross it (what a phone would pay for).

Use::

    with SlowLink("127.0.0.1", 8501, down_kbit=1500, up_kbit=750, rtt_ms=150) as link:
        browser.goto(link.url)          # http://127.0.0.1:<port>
        link.down_bytes, link.up_bytes
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from types import TracebackType

CHUNK = 16 * 1024  # bytes read at once (a few TCP segments)


class _Direction:
    """One direction of the link: when it is next free, and what it has carried."""

    def __init__(self, kbit: float, delay_s: float) -> None:
        self.bytes_per_s = kbit * 1000 / 8
        self.delay_s = delay_s
        self.free_at = 0.0
        self.carried = 0

    def arrival(self, size: int) -> float:
        """Queue ``size`` bytes on the link; return when they arrive (monotonic seconds)."""
        now = time.monotonic()
        self.free_at = max(now, self.free_at) + size / self.bytes_per_s
        self.carried += size
        return self.free_at + self.delay_s


class SlowLink:
    """A throttling TCP proxy to ``host:port`` on a free loopback port, in its own thread.

    Parameters
    ----------
    host, port : str, int
        Where the server listens.
    down_kbit, up_kbit : float
        Bandwidth towards the browser and towards the server (kbit/s).
    rtt_ms : float
        Round-trip latency; half of it is added in each direction.

    """

    def __init__(self, host: str, port: int, down_kbit: float = 1500, up_kbit: float = 750,
                 rtt_ms: float = 150) -> None:
        self.target = (host, port)
        self.down = _Direction(down_kbit, rtt_ms / 2000)
        self.up = _Direction(up_kbit, rtt_ms / 2000)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="slow-link", daemon=True)

    @property
    def down_bytes(self) -> int:
        return self.down.carried

    @property
    def up_bytes(self) -> int:
        return self.up.carried

    def reset(self) -> None:
        """Start counting bytes afresh."""
        self.down.carried = self.up.carried = 0

    def __enter__(self) -> SlowLink:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _close(self) -> None:
        """Cancel the open connections' tasks (the page's websocket is still open)."""
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._connection, "127.0.0.1", self.port))
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()

    async def _connection(self, client_r: asyncio.StreamReader,
                          client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(*self.target)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(self._pipe(client_r, server_w, self.up),
                             self._pipe(server_r, client_w, self.down),
                             return_exceptions=True)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    link: _Direction) -> None:
        """Carry one direction: read, queue on the link, deliver when the bytes arrive."""
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                at, data = await queue.get()
                if not data:
                    break
                await asyncio.sleep(max(0.0, at - time.monotonic()))
                writer.write(data)
                await writer.drain()
            writer.close()

        sender = asyncio.create_task(deliver())
        try:
            while data := await reader.read(CHUNK):
                await queue.put((link.arrival(len(data)), data))
        except (ConnectionError, OSError):
            pass
        await queue.put((0.0, b""))
        await sender
