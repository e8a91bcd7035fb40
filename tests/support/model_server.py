"""A loopback HTTP server for download tests.

It serves files with Range support and can cut a connection part-way, slow a
body down, lie about the content type or omit Content-Length. It also speaks
the few Hugging Face Hub endpoints huggingface_hub uses for listing and
resolving files, and CivitAI's model-version API with token-checked,
redirecting downloads.

Hugging Face, as the Hub answers: ``GET /api/models/REPO/tree/REV`` (files
and, recursive, directory entries; ``lfs.oid`` is the sha256 of LFS files) and
``POST /api/models/REPO/paths-info/REV``; ``GET /REPO/resolve/REV/PATH``
serves a small file itself but answers an LFS file (.safetensors) with a 302
to its storage host (another origin, a signed URL; ``X-Linked-Etag``,
``X-Linked-Size``, ``X-Repo-Commit``), which serves the bytes with Range. A
gated repo (``hf_gated``) answers 401 with ``X-Error-Code: GatedRepo`` unless
the request carries its token; an unknown repo 401 ``RepoNotFound``.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse


@dataclass
class Served:
    data: bytes
    content_type: str = "application/octet-stream"
    cut_after: int | None = None  # close the connection after this many body bytes ...
    cuts_left: int = 0  # ... this many times
    bytes_per_s: float | None = None  # throttle
    send_length: bool = True
    etag: str | None = None
    filename: str | None = None  # Content-Disposition


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class ModelServer:
    files: dict[str, Served] = field(default_factory=dict)
    hf_repos: dict[str, dict[str, bytes]] = field(default_factory=dict)  # repo -> {path: bytes}
    civitai_versions: dict[int, dict] = field(default_factory=dict)
    civitai_models: dict[int, dict] = field(default_factory=dict)
    civitai_token: str | None = None
    civitai_refusal: str = "login_page"  # or "401": the two ways CivitAI turns away a download without a token
    hf_gated: dict[str, str] = field(default_factory=dict)  # repo -> the token that opens it
    hf_commits: dict[str, str] = field(default_factory=dict)  # repo -> the commit "main" points at
    hf_cards: dict[str, dict] = field(default_factory=dict)  # repo -> its model card's YAML data (cardData)
    requests: list[Request] = field(default_factory=list)

    def start(self) -> ModelServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_HEAD(self):
                server._handle(self, head=True)

            def do_GET(self):
                server._handle(self, head=False)

            def do_POST(self):
                server._handle(self, head=False)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def add(self, path: str, data: bytes, **options) -> str:
        self.files[path] = Served(data=data, **options)
        return self.url + path

    def range_requests(self, path: str) -> list[str]:
        return [
            r.headers.get("Range") for r in self.requests if r.path.split("?")[0] == path and r.headers.get("Range")
        ]

    def hf_storage(self, repo: str, path: str) -> tuple[str, Served]:
        """Where the storage host serves an LFS file of ``repo`` (its path here, and its options, e.g. cut_after)."""
        data = self.hf_repos[repo][path]
        sha = hashlib.sha256(data).hexdigest()
        storage_path = f"/xet-bridge/{sha}"
        if storage_path not in self.files:
            self.files[storage_path] = Served(data=data, etag=f'"{sha}"', filename=path.rsplit("/", 1)[-1])
        return storage_path, self.files[storage_path]

    # ------------------------------------------------------------ dispatch

    def _handle(self, h: BaseHTTPRequestHandler, head: bool) -> None:
        self.requests.append(Request(h.command, h.path, {k: v for k, v in h.headers.items()}))
        url = urlparse(h.path)
        path = unquote(url.path)
        if path in self.files:
            return self._send_file(h, self.files[path], head)
        if path == "/api/models":
            return self._hf_search(h, parse_qs(url.query))
        if path.startswith("/api/models/"):
            return self._hf_api(h, path[len("/api/models/") :], url.query)
        if "/resolve/" in path:
            repo, _, rest = path.lstrip("/").partition("/resolve/")
            _rev, _, file_path = rest.partition("/")
            if self._hf_refused(h, repo):
                return None
            data = self.hf_repos.get(repo, {}).get(file_path)
            if data is None:
                return self._json(h, 404, {"error": "Entry not found"}, {"X-Error-Code": "EntryNotFound"})
            if "lfs" not in self._hf_entry(file_path, data):
                return self._send_file(h, Served(data=data, etag=f'"{hashlib.sha1(data).hexdigest()}"'), head)
            storage_path, _ = self.hf_storage(repo, file_path)
            h.send_response(302)
            h.send_header(
                "Location", f"http://localhost:{self.port}{storage_path}?X-Amz-Signature=abc&X-Amz-Expires=3600"
            )
            h.send_header("X-Linked-Etag", f'"{hashlib.sha256(data).hexdigest()}"')
            h.send_header("X-Linked-Size", str(len(data)))
            h.send_header("X-Repo-Commit", "0" * 40)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return None
        if path.startswith("/api/v1/") or path.startswith("/api/download/"):
            return self._civitai(h, path)
        self._json(h, 404, {"error": f"no route {path}"})

    def _json(self, h, status: int, body, headers: dict | None = None) -> None:
        raw = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(raw)))
        for key, value in (headers or {}).items():
            h.send_header(key, value)
        h.end_headers()
        h.wfile.write(raw)

    def _send_file(self, h, served: Served, head: bool) -> None:
        data = served.data
        start = 0
        status = 200
        range_header = h.headers.get("Range")
        if_range = h.headers.get("If-Range")
        if range_header and (if_range is None or if_range == served.etag):
            spec = range_header.removeprefix("bytes=").split("-")[0]
            start = int(spec)
            if start >= len(data):
                h.send_response(416)
                h.send_header("Content-Range", f"bytes */{len(data)}")
                h.send_header("Content-Length", "0")
                h.end_headers()
                return
            status = 206
        body = data[start:]
        h.send_response(status)
        h.send_header("Content-Type", served.content_type)
        h.send_header("Accept-Ranges", "bytes")
        if served.etag:
            h.send_header("ETag", served.etag)
        if served.filename:
            h.send_header("Content-Disposition", f'attachment; filename="{served.filename}"')
        if status == 206:
            h.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        if served.send_length:
            h.send_header("Content-Length", str(len(body)))
        else:
            h.send_header("Connection", "close")
        h.end_headers()
        if head:
            return
        limit = len(body)
        cut = False
        if served.cut_after is not None and served.cuts_left > 0 and start < served.cut_after:
            limit = served.cut_after - start
            served.cuts_left -= 1
            cut = True
        step = 64 * 1024
        sent = 0
        try:
            while sent < limit:
                chunk = body[sent : min(limit, sent + step)]
                h.wfile.write(chunk)
                sent += len(chunk)
                if served.bytes_per_s:
                    time.sleep(len(chunk) / served.bytes_per_s)
            h.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return
        if cut or not served.send_length:
            h.close_connection = True

    # ------------------------------------------------------------ Hugging Face

    def _hf_entry(self, path: str, data: bytes) -> dict:
        entry = {"type": "file", "oid": hashlib.sha1(data).hexdigest(), "size": len(data), "path": path}
        if path.endswith(".safetensors"):
            entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
        return entry

    def _hf_refused(self, h, repo: str) -> bool:
        """Answer 401 as the Hub does for a gated repo without its token, or an unknown repo."""
        if repo not in self.hf_repos:
            self._json(h, 401, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
            return True
        token = self.hf_gated.get(repo)
        if token is not None and h.headers.get("Authorization") != f"Bearer {token}":
            message = (
                f"Access to model {repo} is restricted. You must have access to it and be authenticated to access it."
            )
            self._json(h, 401, {"error": message}, {"X-Error-Code": "GatedRepo", "X-Error-Message": message})
            return True
        return False

    def _hf_api(self, h, rest: str, query: str) -> None:
        # Read a POST body first, even for a refusal: the connection is kept alive for the next request.
        body = h.rfile.read(int(h.headers.get("Content-Length") or 0)).decode() if h.command == "POST" else ""
        for repo, files in self.hf_repos.items():
            if rest == repo or rest.startswith(repo + "/revision/"):
                if self._hf_refused(h, repo):
                    return None
                return self._json(h, 200, self._hf_info(repo, blobs="blobs=true" in query.lower()))
            if not rest.startswith((repo + "/tree/", repo + "/paths-info/")):
                continue
            if self._hf_refused(h, repo):
                return None
            if rest.startswith(repo + "/tree/"):
                entries = [self._hf_entry(p, d) for p, d in sorted(files.items())]
                if "recursive=" in query.lower() and "recursive=false" not in query.lower():
                    folders = sorted({p.rsplit("/", 1)[0] for p in files if "/" in p})
                    entries = [
                        {"type": "directory", "oid": hashlib.sha1(f.encode()).hexdigest(), "path": f} for f in folders
                    ] + entries
                return self._json(h, 200, entries)
            if rest.startswith(repo + "/paths-info/"):
                wanted = parse_qs(body).get("paths", [])
                return self._json(h, 200, [self._hf_entry(p, files[p]) for p in wanted if p in files])
        # The Hub answers an unknown (or private) repo with 401, not 404, so as not to reveal it.
        self._json(h, 401, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})

    def _hf_info(self, repo: str, blobs: bool) -> dict:
        """``GET /api/models/REPO[/revision/REV]``: the Hub's model info (siblings with sizes when ``blobs``)."""
        siblings = []
        for path, data in sorted(self.hf_repos[repo].items()):
            sibling = {"rfilename": path}
            if blobs:
                entry = self._hf_entry(path, data)
                sibling.update(size=len(data), blobId=entry["oid"])
                if "lfs" in entry:
                    sibling["lfs"] = {"sha256": entry["lfs"]["oid"], "size": len(data), "pointerSize": 134}
            siblings.append(sibling)
        card = self.hf_cards.get(repo, {})
        tags = ["diffusers", "safetensors"] + (
            ["lora"] if any(p.endswith(".safetensors") for p in self.hf_repos[repo]) and card.get("tags") != [] else []
        )
        tags += [f"base_model:{card['base_model']}"] if card.get("base_model") else []
        return {
            "_id": hashlib.sha1(repo.encode()).hexdigest()[:24],
            "id": repo,
            "modelId": repo,
            "author": repo.split("/")[0],
            "sha": self.hf_commits.get(repo, hashlib.sha1(repo.encode()).hexdigest()),
            "private": False,
            "disabled": False,
            "gated": False,
            "downloads": 1000 + len(repo),
            "likes": len(repo),
            "tags": tags,
            "library_name": "diffusers",
            "lastModified": "2026-01-02T03:04:05.000Z",
            "createdAt": "2025-01-02T03:04:05.000Z",
            "cardData": card or None,
            "siblings": siblings,
        }

    def _hf_search(self, h, query: dict[str, list[str]]) -> None:
        """``GET /api/models?search=&filter=&sort=&limit=``: repos whose id contains ``search`` and carry every filter tag."""
        wanted = query.get("search", [""])[0].lower()
        tags = query.get("filter", [])
        found = []
        for repo in sorted(self.hf_repos):
            info = self._hf_info(repo, blobs=False)
            if wanted in repo.lower() and all(tag in info["tags"] for tag in tags):
                found.append(
                    {
                        k: info[k]
                        for k in (
                            "_id",
                            "id",
                            "modelId",
                            "author",
                            "downloads",
                            "likes",
                            "tags",
                            "private",
                            "createdAt",
                            "library_name",
                        )
                    }
                )
        if query.get("sort", [""])[0] == "downloads":
            found.sort(key=lambda item: -item["downloads"])
        limit = int(query.get("limit", ["1000"])[0])
        self._json(h, 200, found[:limit])

    # ------------------------------------------------------------ CivitAI

    def _civitai(self, h, path: str) -> None:
        authorized = self.civitai_token is None or h.headers.get("Authorization") == f"Bearer {self.civitai_token}"
        parts = path.strip("/").split("/")
        if path == "/api/v1/models":
            return self._civitai_search(h)
        if path.startswith("/api/v1/model-versions/by-hash/"):
            wanted = parts[-1].lower()
            for version in self.civitai_versions.values():
                if any((f.get("hashes") or {}).get("SHA256", "").lower() == wanted for f in version.get("files") or []):
                    return self._json(h, 200, version)
            return self._json(h, 404, {"error": "Model not found"})
        if path.startswith("/api/v1/model-versions/"):
            version = self.civitai_versions.get(int(parts[-1]))
            return self._json(h, 200, version) if version else self._json(h, 404, {"error": "No model version"})
        if path.startswith("/api/v1/models/"):
            model = self.civitai_models.get(int(parts[-1]))
            return self._json(h, 200, model) if model else self._json(h, 404, {"error": "No model"})
        if path.startswith("/api/download/models/"):
            if not authorized and self.civitai_refusal == "401":
                return self._json(
                    h,
                    401,
                    {
                        "error": "Unauthorized",
                        "message": "The creator of this asset requires you to be logged in to download it",
                    },
                )
            if not authorized:
                # CivitAI answers an unauthorised download of a gated file with its login page.
                page = b"<!DOCTYPE html><html><body>Please log in</body></html>"
                h.send_response(200)
                h.send_header("Content-Type", "text/html; charset=utf-8")
                h.send_header("Content-Length", str(len(page)))
                h.end_headers()
                h.wfile.write(page)
                return
            h.send_response(307)
            # Another origin (localhost, not 127.0.0.1), as CivitAI redirects to its storage host.
            h.send_header("Location", f"http://localhost:{self.port}/signed/{parts[-1]}?sig=abc")
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        self._json(h, 404, {"error": "unknown CivitAI route"})

    def _civitai_search(self, h) -> None:
        """``GET /api/v1/models``: query (in the name), types, baseModels (of any version), nsfw, sort, limit, cursor."""
        query = parse_qs(urlparse(h.path).query)
        text = query.get("query", [""])[0].lower()
        types = [t for value in query.get("types", []) for t in value.split(",")]
        bases = query.get("baseModels", [])
        nsfw = query.get("nsfw", ["false"])[0] == "true"
        found = []
        for model_id in sorted(self.civitai_models):
            model = self.civitai_models[model_id]
            if text and text not in model["name"].lower():
                continue
            if types and model.get("type") not in types:
                continue
            if bases and not any(v.get("baseModel") in bases for v in model.get("modelVersions") or []):
                continue
            if model.get("nsfw") and not nsfw:
                continue
            found.append(model)
        if query.get("sort", [""])[0] == "Most Downloaded":
            found.sort(key=lambda m: -(m.get("stats") or {}).get("downloadCount", 0))
        start = int(query.get("cursor", ["0"])[0])
        limit = int(query.get("limit", ["100"])[0])
        page = found[start : start + limit]
        metadata = {"nextCursor": str(start + limit)} if start + limit < len(found) else {}
        self._json(h, 200, {"items": page, "metadata": metadata})
