"""Serve the built web UI (``static/``, built from ``web/`` by Vite) with an SPA fallback.

The page and its assets are public: they hold no data, and the login page is
part of them. Every ``/api`` path stays with the API routers.
"""

from __future__ import annotations

import gzip
import html
import mimetypes
from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from lorapilot.kit.safepath import PathEscapeError, check_name

STATIC_DIR = Path(__file__).parent / "static"
WEB_DIR = Path(__file__).parent / "web"

_NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>ControlPilot: web UI not built</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}}
code,pre{{background:#eee;padding:.1rem .3rem;border-radius:4px}}</style></head>
<body><h1>ControlPilot's web UI is not built</h1>
<p>The API works (see <a href="/api/health">/api/health</a>), but the page assets are missing from
<code>{static}</code>.</p>
<p>Build them once (Node 20+):</p>
<pre>cd {web}
npm ci
npm run build</pre>
<p><code>./scripts/check</code> and the Nix package do this for you.</p></body></html>
"""


_IMMUTABLE = "public, max-age=31536000, immutable"
_COMPRESSIBLE = (".js", ".css", ".svg", ".json", ".html", ".map")


class _ImmutableAssets(StaticFiles):
    """Vite names every asset after its content hash, so browsers may keep them forever.

    Text assets go out gzipped, compressed once and kept in memory (a few hundred KB at
    most); the API itself is not compressed, so its hot paths pay nothing for this.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._gzipped: dict[str, tuple[float, bytes]] = {}

    def file_response(self, full_path, stat_result, scope, status_code=200):
        accepts = b"gzip" in dict(scope.get("headers") or []).get(b"accept-encoding", b"")
        if accepts and status_code == 200 and str(full_path).endswith(_COMPRESSIBLE):
            cached = self._gzipped.get(str(full_path))
            if cached is None or cached[0] != stat_result.st_mtime:
                cached = (stat_result.st_mtime, gzip.compress(Path(full_path).read_bytes(), 9))
                self._gzipped[str(full_path)] = cached
            media_type = mimetypes.guess_type(str(full_path))[0] or "application/octet-stream"
            headers = {"Cache-Control": _IMMUTABLE, "Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
            return Response(cached[1], media_type=media_type, headers=headers)
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = _IMMUTABLE
        return response


def web_built() -> bool:
    return (STATIC_DIR / "index.html").is_file()


def mount_web(app: FastAPI, static_dir: Path = STATIC_DIR) -> None:
    """Add ``/assets`` and the SPA fallback; call after every API router is included."""
    app.mount("/assets", _ImmutableAssets(directory=static_dir / "assets", check_dir=False), name="assets")
    root = static_dir.resolve()

    @app.get("/{path:path}", include_in_schema=False)
    def spa(path: str):
        if path == "api" or path.startswith("api/"):
            raise HTTPException(404, f"no API route /{path}")
        index = static_dir / "index.html"
        if not index.is_file():
            page = _NOT_BUILT.format(static=html.escape(str(static_dir)), web=html.escape(str(WEB_DIR)))
            return HTMLResponse(page, status_code=503)
        # Top-level files Vite copies from public/ (favicon, manifest); everything else is the app.
        if path and "/" not in path and not path.startswith("."):
            try:
                check_name(path, "path")  # NUL bytes, over-long names: nothing Vite copies
                candidate = (static_dir / path).resolve()
                if candidate.parent == root and candidate.is_file():
                    return FileResponse(candidate)
            except (PathEscapeError, OSError, ValueError):
                raise HTTPException(404, "no such file") from None
        return FileResponse(index, headers={"Cache-Control": "no-cache"})
