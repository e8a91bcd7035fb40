"""A loopback HTTP server that speaks process-compose's REST API shapes (swagger v1.122).

It keeps real state (processes start, stop, restart, log lines) so the client
is exercised against behaviour, and records every request for contract checks.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler

from support.loopback import LoopbackServer

TOKEN_HEADER = "X-PC-Token-Key"


class FakeProcessCompose(LoopbackServer):
    def __init__(self, token: str, names: list[str], exit_on_stop: bool = False, port: int = 0):
        self.token = token
        self.exit_on_stop = exit_on_stop  # like process-compose: `POST /project/stop` ends the server
        self.requests: list[tuple[str, str]] = []
        self.stopped_project = False
        self.procs = {
            name: {"status": "Running", "pid": 1000 + i, "restarts": 0, "logs": [f"{name} line {n}" for n in range(5)]}
            for i, name in enumerate(names)
        }
        self.serve(self._handler(), port)

    def state(self, name: str) -> dict:
        proc = self.procs[name]
        running = proc["status"] == "Running"
        return {
            "name": name,
            "namespace": ["default"],
            "status": proc["status"],
            "is_running": running,
            "is_ready": "Ready" if running else "-",
            "has_ready_probe": True,
            "pid": proc["pid"] if running else 0,
            "restarts": proc["restarts"],
            "age": 12_000_000_000 if running else 0,
            "exit_code": 0 if running else -1,
            "mem": 1024,
            "cpu": 0.5,
        }

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, code: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _route(self, method: str) -> None:
                fake.requests.append((method, self.path))
                if self.headers.get(TOKEN_HEADER) != fake.token:
                    self._send(401, {"error": "unauthorized"})
                    return
                path = self.path
                if method == "GET" and path == "/live":
                    return self._send(200, {"status": "alive"})
                if method == "GET" and path == "/processes":
                    return self._send(200, {"data": [fake.state(n) for n in fake.procs]})
                if method == "POST" and path == "/project/stop":
                    fake.stopped_project = True
                    self._send(200, {"status": "stopped"})
                    if fake.exit_on_stop:
                        threading.Thread(target=fake.close, daemon=True).start()
                    return
                match = re.fullmatch(r"/process/(start|stop|restart)/([^/]+)", path)
                if match:
                    verb, name = match.groups()
                    expected = {"start": "POST", "restart": "POST", "stop": "PATCH"}[verb]
                    if method != expected:
                        return self._send(405, {"error": f"{verb} needs {expected}"})
                    if name not in fake.procs:
                        return self._send(400, {"error": f"process {name} does not exist"})
                    proc = fake.procs[name]
                    if verb == "stop":
                        proc["status"] = "Completed"
                    else:
                        if verb == "restart":
                            proc["restarts"] += 1
                        proc["status"], proc["pid"] = "Running", proc["pid"] + 100
                    proc["logs"].append(f"{name} {verb}ed")
                    return self._send(200, {"name": name})
                match = re.fullmatch(r"/process/logs/([^/]+)/(\d+)/(\d+)", path)
                if method == "GET" and match:
                    name, end_offset, limit = match.group(1), int(match.group(2)), int(match.group(3))
                    if name not in fake.procs:
                        return self._send(400, {"error": f"process {name} does not exist"})
                    logs = fake.procs[name]["logs"]
                    end = len(logs) - end_offset
                    start = 0 if limit == 0 else max(0, end - limit)
                    return self._send(200, {"logs": logs[start:end]})
                return self._send(404, {"error": "not found"})

            def do_GET(self):
                self._route("GET")

            def do_POST(self):
                self._route("POST")

            def do_PATCH(self):
                self._route("PATCH")

        return Handler

    def close(self) -> None:
        """Stop serving and close the socket: clients now get "connection refused"."""
        self.server.shutdown()
        self.server.server_close()
