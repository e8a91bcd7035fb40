"""A stand-in for InvokeAI's model-manager API (InvokeAI itself is too heavy for CI).

Implements, with the shapes of invokeai/app/api/routers/model_manager.py:
``GET /api/v1/app/version``; ``GET /api/v2/models/scan_folder?scan_path=`` ->
``[{path, is_installed}]`` (400 for a missing folder); ``POST
/api/v2/models/install?source=&inplace=`` (JSON body, the config changes) ->
201 with a ModelInstallJob ``{id, status, source, error, error_reason, ...}``,
415 for an unrecognised file; ``GET /api/v2/models/install/{id}``. Jobs finish
after one poll: completed, or (a path already installed, as InvokeAI's record
store answers) error with error_reason DuplicateModelException. ``after_scan``
runs after each scan (a test simulates another client installing then). Run
as a script it is a fake ``invokeai-web``.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

MODEL_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".bin", ".gguf")


class FakeInvokeAI:
    def __init__(self, port: int = 0, record: Path | None = None, reject_suffix: str = ".gguf"):
        self.installed: dict[str, dict] = {}  # path -> config
        self.jobs: dict[int, dict] = {}
        self.install_calls: list[dict] = []
        self.record = record
        self.reject_suffix = reject_suffix
        self.after_scan = None  # callable run after each scan_folder answer is built
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _send(self, status, body):
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self):
                url = urlparse(self.path)
                query = parse_qs(url.query)
                if url.path == "/api/v1/app/version":
                    return self._send(200, {"version": "6.14.2"})
                if url.path == "/api/v2/models/scan_folder":
                    return self._send(*fake.scan(query.get("scan_path", [""])[0]))
                if url.path.startswith("/api/v2/models/install/"):
                    return self._send(*fake.poll(int(url.path.rsplit("/", 1)[1])))
                self._send(404, {"detail": "Not Found"})

            def do_POST(self):
                url = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null")
                if url.path == "/api/v2/models/install":
                    query = parse_qs(url.query)
                    return self._send(*fake.install(query["source"][0], query.get("inplace", ["false"])[0], body))
                self._send(404, {"detail": "Not Found"})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeInvokeAI:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def scan(self, scan_path: str):
        path = Path(scan_path)
        if not scan_path or not path.is_dir():
            return 400, {"detail": f"The search path '{scan_path}' could not be scanned"}
        found = []
        for dirpath, dirnames, files in os.walk(path):
            if "model_index.json" in files:
                found.append(dirpath)
                dirnames.clear()
                continue
            found += [os.path.join(dirpath, f) for f in files if f.endswith(MODEL_SUFFIXES)]
        answer = [{"path": p, "is_installed": p in self.installed} for p in sorted(found)]
        if self.after_scan is not None:
            self.after_scan(answer)
        return 200, answer

    def install(self, source: str, inplace: str, config):
        with self._lock:
            self.install_calls.append({"source": source, "inplace": inplace, "config": config})
            if config is None:
                return 422, {"detail": [{"loc": ["body"], "msg": "Field required"}]}
            if source.endswith(self.reject_suffix):
                return 415, None
            job_id = len(self.jobs) + 1
            self.jobs[job_id] = {
                "id": job_id,
                "status": "waiting",
                "source": {"path": source, "inplace": inplace == "true", "type": "local"},
                "local_path": source,
                "error": None,
                "error_reason": None,
            }
            return 201, self.jobs[job_id]

    def poll(self, job_id: int):
        with self._lock:
            job = self.jobs.get(job_id)
            if job is None:
                return 404, {"detail": "No such job"}
            if job["status"] == "waiting" and job["local_path"] in self.installed:
                # As InvokeAI's record store does: the path is unique, a second install fails inside the job.
                job.update(
                    status="error",
                    error_reason="DuplicateModelException",
                    error=f"A model with path '{job['local_path']}' is already installed",
                )
            elif job["status"] == "waiting":
                job["status"] = "completed"
                self.installed[job["local_path"]] = {"path": job["local_path"]}
                if self.record:
                    self.record.write_text(json.dumps(sorted(self.installed)))
            return 200, job


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=int(os.environ.get("INVOKEAI_PORT", "9090")))
    parser.add_argument("--record", type=Path, default=os.environ.get("FAKE_INVOKEAI_RECORD"))
    parser.add_argument("--root")  # invokeai-web --root, ignored
    args = parser.parse_args()
    fake = FakeInvokeAI(args.port, args.record)
    print(f"fake InvokeAI on {fake.url}", flush=True)
    fake.httpd.serve_forever()


if __name__ == "__main__":
    main()
