"""A Streamlit session over the websocket, driven like a browser (load benchmark, serving tests)."""

from __future__ import annotations

import asyncio
from typing import Any


class StreamlitSession:
    """One browser-like session of a Streamlit app, driven over its websocket.

    Speaks Streamlit's own protocol (``BackMsg``/``ForwardMsg`` protobufs of the installed
    package): ask for a run of the script with some widget values, then read until the
    server says the script has finished. Loopback use only (load benchmark, tests).

    Parameters
    ----------
    url : str
        The app's base URL, e.g. ``http://127.0.0.1:8501``.
    headers : dict[str, str], optional
        Extra request headers of the websocket handshake (e.g. ``Origin``, a cookie).

    """

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.url = url.rstrip("/")
        self.headers = dict(headers or {})
        self.widget_ids: dict[str, str] = {}  # widget label -> id, from the last run
        self.texts: list[str] = []  # Markdown, headings and alerts of the last run
        self._ws: Any = None
        self._page_hash = ""

    async def __aenter__(self) -> StreamlitSession:
        """Open the websocket (the server starts a session; the first run makes the page)."""
        from websockets.asyncio.client import connect

        ws_url = "ws" + self.url.removeprefix("http") + "/_stcore/stream"
        self._ws = await connect(ws_url, subprotocols=["streamlit"],  # type: ignore[list-item]
                                 additional_headers=self.headers, max_size=2**27,
                                 open_timeout=30)
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Close the websocket."""
        await self._ws.close()

    async def run(self, query_string: str = "", strings: dict[str, str] | None = None,
                  timeout: float = 120.0) -> float:
        """Run the script once, as a browser does after a widget changes.

        Parameters
        ----------
        query_string : str
            The page URL's query string, e.g. ``side=finn``.
        strings : dict[str, str], optional
            Text widget values by label (ids learnt from an earlier run).
        timeout : float
            Seconds to wait for the script to finish.

        Returns
        -------
        float
            Seconds from sending the request to the ``script_finished`` message.

        """
        import time

        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        back = BackMsg()
        back.rerun_script.query_string = query_string
        back.rerun_script.page_script_hash = self._page_hash
        for label, value in (strings or {}).items():
            state = back.rerun_script.widget_states.widgets.add()
            state.id = self.widget_ids[label]
            state.string_value = value
        self.texts = []
        start = time.perf_counter()
        await self._ws.send(back.SerializeToString())
        async with asyncio.timeout(timeout):
            while True:
                message = ForwardMsg()
                message.ParseFromString(await self._ws.recv())
                kind = message.WhichOneof("type")
                if kind == "new_session":
                    self._page_hash = message.new_session.main_script_hash
                elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
                    self._element(message.delta.new_element)
                elif kind == "script_finished":
                    return time.perf_counter() - start

    def _element(self, element: Any) -> None:
        kind = element.WhichOneof("type")
        if kind in ("markdown", "heading", "alert"):
            self.texts.append(getattr(element, kind).body)
        widget = getattr(element, kind, None)
        if widget is not None and hasattr(widget, "id") and hasattr(widget, "label"):
            self.widget_ids[widget.label] = widget.id
