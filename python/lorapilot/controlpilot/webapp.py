"""Serve the built web UI (``static/``, built from ``web/`` by Vite) with an SPA fallback.

The page and its assets are public: they hold no data, and the login page is
part of them. Every ``/api`` path stays with the API routers.
"""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

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


class _ImmutableAssets(StaticFiles):
    """Vite names every asset after its content hash, so browsers may keep them forever."""

    def file_response(self, *args, **kwargs):
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
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
            candidate = (static_dir / path).resolve()
            if candidate.parent == root and candidate.is_file():
                return FileResponse(candidate)
        return FileResponse(index, headers={"Cache-Control": "no-cache"})
