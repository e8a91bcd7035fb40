"""A loopback Hugging Face Hub that accepts uploads, answering exactly the calls huggingface_hub makes for
``create_repo`` + ``create_commit`` (recorded in ``calls``):

- ``POST /api/repos/create`` {name, organization, private|visibility, type}: 200 {url, name}; 409 when it exists.
- ``POST /api/models/REPO/preupload/REV`` {files: [{path, sample, size}]}: each file's uploadMode ("lfs" for
  weights and images, "regular" otherwise), as the Hub decides it.
- ``POST /REPO.git/info/lfs/objects/batch`` (Git LFS batch API, operation upload, transfer basic): an upload
  action per object the server lacks; ``PUT`` to its href stores the bytes (sha256 and size checked).
- ``POST /api/validate-yaml`` {content, repoType}: a README's YAML front matter must parse (400 otherwise).
- ``POST /api/models/REPO/commit/REV`` (NDJSON: header, file (base64), lfsFile (oid)): the commit;
  {commitUrl, commitOid}. An lfsFile whose object was never uploaded fails the commit, as on the Hub.
Every call needs ``Authorization: Bearer <token>`` (401 otherwise; 403 for a token without write access).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class HubRepo:
    private: bool
    files: dict[str, bytes] = field(default_factory=dict)
    commits: list[str] = field(default_factory=list)


@dataclass
class HubUploadServer:
    token: str = "hf_write_token"
    read_only_tokens: tuple[str, ...] = ("hf_read_token",)
    repos: dict[str, HubRepo] = field(default_factory=dict)
    lfs_objects: dict[str, bytes] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    validated: list[dict] = field(default_factory=list)  # the model cards' YAML, as parsed

    def start(self) -> HubUploadServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                server._handle(self)

            def do_PUT(self):
                server._handle(self)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _sign(self, oid: str) -> str:
        return hashlib.sha256((self.token + oid).encode()).hexdigest()[:16]

    def _json(self, h, status: int, body) -> None:
        raw = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(raw)))
        h.end_headers()
        h.wfile.write(raw)

    def _handle(self, h) -> None:
        path = h.path.split("?", 1)[0]
        self.calls.append((h.command, path))
        body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        if h.command == "PUT" and path.startswith("/lfs-upload/"):
            # A presigned storage URL, as the Hub hands out: the signature is the credential, no token is sent.
            oid = path.rsplit("/", 1)[-1]
            if h.path.split("?", 1)[-1] != f"sig={self._sign(oid)}":
                return self._json(h, 403, {"error": "SignatureDoesNotMatch"})
            if hashlib.sha256(body).hexdigest() != oid:
                return self._json(h, 400, {"error": "sha256 mismatch"})
            self.lfs_objects[oid] = body
            return self._json(h, 200, {})
        auth = h.headers.get("Authorization", "")
        if auth not in (f"Bearer {self.token}", *(f"Bearer {t}" for t in self.read_only_tokens)):
            return self._json(h, 401, {"error": "Invalid credentials in Authorization header"})
        if auth != f"Bearer {self.token}":
            return self._json(h, 403, {"error": "You don't have the rights to create a model under this namespace"})
        if path == "/api/repos/create":
            spec = json.loads(body)
            repo = f"{spec['organization']}/{spec['name']}" if spec.get("organization") else spec["name"]
            if repo in self.repos:
                return self._json(h, 409, {"error": "You already created this model repo", "url": f"{self.url}/{repo}"})
            private = spec.get("private", spec.get("visibility") == "private")
            self.repos[repo] = HubRepo(private=bool(private))
            return self._json(h, 200, {"url": f"{self.url}/{repo}", "name": repo, "id": repo})
        if path == "/api/validate-yaml":
            import yaml

            content = json.loads(body)["content"]
            front = content.split("---", 2)[1] if content.startswith("---") else ""
            try:
                meta = yaml.safe_load(front) or {}
            except yaml.YAMLError as exc:
                return self._json(h, 400, {"error": f"Invalid YAML: {exc}"})
            self.validated.append(meta)
            return self._json(h, 200, {"errors": [], "warnings": []})
        if path.endswith(".git/info/lfs/objects/batch"):
            spec = json.loads(body)
            objects = []
            for obj in spec["objects"]:
                entry = {"oid": obj["oid"], "size": obj["size"], "authenticated": True}
                if obj["oid"] not in self.lfs_objects:
                    entry["actions"] = {
                        "upload": {
                            "href": f"{self.url}/lfs-upload/{obj['oid']}?sig={self._sign(obj['oid'])}",
                            "expires_in": 3600,
                        }
                    }
                objects.append(entry)
            return self._json(h, 200, {"transfer": "basic", "objects": objects, "hash_algo": "sha256"})
        if path.startswith("/api/models/") and "/preupload/" in path:
            files = json.loads(body)["files"]
            modes = [
                {
                    "path": f["path"],
                    "uploadMode": "lfs" if f["path"].endswith((".safetensors", ".png", ".jpg", ".webp")) else "regular",
                    "shouldIgnore": False,
                }
                for f in files
            ]
            return self._json(h, 200, {"files": modes})
        if path.startswith("/api/models/") and "/commit/" in path:
            repo = path[len("/api/models/") :].split("/commit/")[0]
            if repo not in self.repos:
                return self._json(h, 404, {"error": "Repository not found"})
            staged = {}
            for line in body.decode().splitlines():
                item = json.loads(line)
                value = item["value"]
                if item["key"] == "file":
                    staged[value["path"]] = base64.b64decode(value["content"])
                elif item["key"] == "lfsFile":
                    if value["oid"] not in self.lfs_objects:
                        return self._json(
                            h, 422, {"error": f"LFS object {value['oid']} for {value['path']} was never uploaded"}
                        )
                    staged[value["path"]] = self.lfs_objects[value["oid"]]
            self.repos[repo].files.update(staged)
            oid = hashlib.sha1(
                json.dumps(sorted(staged)).encode() + str(len(self.repos[repo].commits)).encode()
            ).hexdigest()
            self.repos[repo].commits.append(oid)
            return self._json(
                h, 200, {"commitUrl": f"{self.url}/{repo}/commit/{oid}", "commitOid": oid, "success": True}
            )
        self._json(h, 404, {"error": f"no route {h.command} {path}"})
