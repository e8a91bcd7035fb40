"""Old tool URLs (``/api/datasets``, ``/api/train``, ``/api/media``) kept working for one release.

Each tool is served under ``/api/<tool name>`` now; scripts written against the old prefixes
keep working because this middleware rewrites the path before routing (so authentication,
validation and errors are exactly those of the new URL). Every answer to an old URL carries
``Deprecation: true`` and a ``Link`` to its successor, so a script can notice. The pairs come
from ``lorapilot.tools.TOOLS`` (``url_aliases``); docs/renames.md lists them.
"""

from __future__ import annotations

from collections.abc import Iterable


def _matches(path: str, old: str) -> bool:
    return path == old or path.startswith(old + "/")


class OldUrlAliases:
    """ASGI middleware: serve ``old + rest`` as ``new + rest`` for each (old, new) prefix pair."""

    def __init__(self, app, aliases: Iterable[tuple[str, str]]):
        self.app = app
        # longest first, so a longer old prefix wins over a shorter one it starts with
        self.aliases = sorted(aliases, key=lambda pair: len(pair[0]), reverse=True)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            path = scope["path"]
            for old, new in self.aliases:
                if _matches(path, old):
                    scope = self._rewritten(scope, old, new)
                    send = _deprecated(send, scope["path"])
                    break
        await self.app(scope, receive, send)

    @staticmethod
    def _rewritten(scope: dict, old: str, new: str) -> dict:
        scope = dict(scope)
        scope["path"] = new + scope["path"][len(old) :]
        raw = scope.get("raw_path")
        if isinstance(raw, bytes) and raw.startswith(old.encode()):
            scope["raw_path"] = new.encode() + raw[len(old) :]  # keep the rest percent-encoded as sent
        return scope


def _deprecated(send, successor: str):
    async def wrapped(message):
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            headers.append((b"deprecation", b"true"))
            headers.append((b"link", f'<{successor}>; rel="successor-version"'.encode("latin-1", "replace")))
            message = {**message, "headers": headers}
        await send(message)

    return wrapped
