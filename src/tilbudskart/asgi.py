"""ASGI plumbing the serving middlewares share: message types, headers, a body rewriter."""

from __future__ import annotations

import gzip
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _headers(message: Message) -> dict[bytes, bytes]:
    return {key.lower(): value for key, value in message.get("headers", [])}


def _rewriting_body(send: Send, hold: Callable[[Message], Message | None],
                    change: Callable[[bytes], bytes],
                    headers: Callable[[Message, int], list[tuple[bytes, bytes]]],
                    head: bool = False) -> Send:
    """Return a ``send`` that buffers an answer, changes its body and sends it whole.

    ``hold(start)`` returns None to hold that answer, or the message to send instead (the
    answer then passes unchanged). A held body is gunzipped if need be, given to
    ``change``, gzipped again and sent with ``headers(start, length)`` (an empty body as
    it came; no body for a HEAD request).
    """
    start: Message | None = None
    body: list[bytes] = []

    async def rewrite(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            instead = hold(message)
            if instead is None:
                start = message  # hold it until the body is complete
            else:
                await send(instead)
            return
        if start is None or message["type"] != "http.response.body":
            await send(message)
            return
        body.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        content = b"".join(body)
        if content:
            gzipped = _headers(start).get(b"content-encoding") == b"gzip"
            content = change(gzip.decompress(content) if gzipped else content)
            if gzipped:
                content = gzip.compress(content)
            start = {**start, "headers": headers(start, len(content))}
        await send(start)
        await send({"type": "http.response.body", "body": b"" if head else content,
                    "more_body": False})

    return rewrite
