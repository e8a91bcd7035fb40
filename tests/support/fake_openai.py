"""A tiny OpenAI-compatible chat-completions server on loopback.

The real Copilot CLI talks to it in its bring-your-own-model mode
(``COPILOT_OFFLINE=true``, ``COPILOT_PROVIDER_BASE_URL``), so a test can run
the real CLI end to end without GitHub. Answers are ``ANSWER: <last user
message>``; a user message containing ``HANG`` makes the server hold the
request for a long time (to test timeouts). A user message with a line
``CALL {"name": TOOL, "args": {...}}`` makes the model call that tool first;
the answer after it ends with ``TOOL RESULT: <what the tool returned>``.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .workspaces import free_port


class FakeOpenAI:
    """Start with ``with FakeOpenAI() as api:``; ``api.base_url``; ``api.requests`` are the bodies seen."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def user_texts(self) -> list[str]:
        """Every user message text seen, in order, across requests."""
        out = []
        for body in self.requests:
            for msg in body.get("messages", []):
                if msg.get("role") == "user":
                    content = msg.get("content")
                    if isinstance(content, list):
                        content = " ".join(part.get("text", "") for part in content if isinstance(part, dict))
                    out.append(str(content))
        return out

    def _handler(self):
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _json(self, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._json({"object": "list", "data": [{"id": "fake-model", "object": "model"}]})

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                api.requests.append(body)
                users = [m for m in body.get("messages", []) if m.get("role") == "user"]
                last = users[-1]["content"] if users else ""
                last = last if isinstance(last, str) else json.dumps(last)
                if "HANG" in last:
                    time.sleep(120)
                messages = body.get("messages", [])
                last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=0)
                tool_results = [str(m.get("content")) for m in messages[last_user:] if m.get("role") == "tool"]
                call = _tool_call(last)
                if call is not None and not tool_results:
                    self._stream(
                        body,
                        [
                            {
                                "delta": {"role": "assistant", "content": None, "tool_calls": [call]},
                                "finish_reason": None,
                            },
                            {"delta": {}, "finish_reason": "tool_calls"},
                        ],
                    )
                    return
                lines = [ln for ln in last.splitlines() if not ln.startswith("CALL ")] or [""]
                text = "ANSWER: " + lines[-1]
                if tool_results:
                    text += "\nTOOL RESULT: " + " | ".join(tool_results)
                usage = {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10}
                if not body.get("stream"):
                    self._json(
                        {
                            "id": "c1",
                            "object": "chat.completion",
                            "created": int(time.time()),
                            "model": body.get("model"),
                            "usage": usage,
                            "choices": [
                                {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}
                            ],
                        }
                    )
                    return
                self._stream(
                    body,
                    [
                        {"delta": {"role": "assistant", "content": text}, "finish_reason": None},
                        {"delta": {}, "finish_reason": "stop"},
                    ],
                )

            def _stream(self, body: dict, chunks: list[dict]) -> None:
                usage = {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10}
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.end_headers()
                for i, choice in enumerate(chunks):
                    event = {
                        "id": "c1",
                        "object": "chat.completion.chunk",
                        "created": int(time.time()),
                        "model": body.get("model"),
                        "choices": [{"index": 0, **choice}],
                    }
                    if i == len(chunks) - 1:
                        event["usage"] = usage
                    self.wfile.write(b"data: " + json.dumps(event).encode() + b"\n\n")
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

        return Handler


def _tool_call(message: str) -> dict | None:
    """The tool call a ``CALL {json}`` line in ``message`` asks for, in the streamed delta's shape."""
    for line in message.splitlines():
        if line.startswith("CALL "):
            spec = json.loads(line[len("CALL ") :])
            return {
                "index": 0,
                "id": "call_1",
                "type": "function",
                "function": {"name": spec["name"], "arguments": json.dumps(spec["args"])},
            }
    return None
