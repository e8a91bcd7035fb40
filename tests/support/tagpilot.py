"""Test helpers for TagPilot: real image files, a tiny WD14-shaped ONNX model, a loopback chat server."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def write_image(path: Path, size=(64, 64), color=(255, 0, 0), mode="RGB", noise_seed: int | None = None) -> Path:
    """A real image file; with ``noise_seed`` a random texture (distinct perceptual hash)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if noise_seed is not None:
        rng = np.random.default_rng(noise_seed)
        small = (rng.random((16, 16, 3)) * 255).astype("uint8")
        img = Image.fromarray(small).resize(size, Image.Resampling.BICUBIC)
    else:
        img = Image.new(mode, size, color)
    img.save(path)
    return path


def make_dataset_files(folder: Path, captions: dict[str, str | None], size=(64, 64)) -> None:
    """Images named by ``captions`` keys; a value writes the ``.txt`` sidecar (None: no caption)."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, (name, caption) in enumerate(captions.items()):
        write_image(folder / name, size=size, noise_seed=index)
        if caption is not None:
            (folder / (Path(name).stem + ".txt")).write_text(caption, encoding="utf-8")


# -- a tiny WD14-style tagger -------------------------------------------------------------------

# name, category, weights on the mean (B, G, R) in 0..1, bias.  Sigmoid(w·f + b) is the probability.
WD14_TAGS = [
    ("general", 9, (0, 0, 0), 2.0),
    ("sensitive", 9, (0, 0, 0), 0.0),
    ("questionable", 9, (0, 0, 0), -2.0),
    ("explicit", 9, (0, 0, 0), -4.0),
    ("red_theme", 0, (-10, 0, 10), -2.0),
    ("blue_theme", 0, (10, 0, -10), -2.0),
    ("padded", 0, (0, 20, 0), -5.0),  # only white padding has green in a red image
    ("^_^", 0, (0, 0, 0), 3.0),
    ("long_hair", 0, (0, 0, 0), 0.0),
    ("excluded_tag", 0, (0, 0, 0), 5.0),
    ("1girl", 0, (0, 0, 0), -1.0),
    ("hatsune_miku", 4, (0, 0, 0), 1.0),
    ("kagamine_rin", 4, (0, 0, 0), -4.0),
]


def build_wd14_model(folder: Path, size: int = 32) -> Path:
    """``model.onnx`` (input [N,S,S,3] float32 → sigmoid [N,K]) + ``selected_tags.csv``, like SmilingWolf's taggers."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    folder.mkdir(parents=True, exist_ok=True)
    weights = np.array([t[2] for t in WD14_TAGS], dtype=np.float32).T / 255.0  # [3, K] on 0..255 means
    bias = np.array([t[3] for t in WD14_TAGS], dtype=np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("ReduceMean", ["input_1"], ["means"], axes=[1, 2], keepdims=0),
            helper.make_node("MatMul", ["means", "W"], ["logits0"]),
            helper.make_node("Add", ["logits0", "b"], ["logits"]),
            helper.make_node("Sigmoid", ["logits"], ["predictions_sigmoid"]),
        ],
        "tiny_wd14",
        [helper.make_tensor_value_info("input_1", TensorProto.FLOAT, ["batch", size, size, 3])],
        [helper.make_tensor_value_info("predictions_sigmoid", TensorProto.FLOAT, ["batch", len(WD14_TAGS)])],
        initializer=[numpy_helper.from_array(weights, "W"), numpy_helper.from_array(bias, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, folder / "model.onnx")
    lines = ["tag_id,name,category,count"]
    lines += [f"{1000 + i},{name},{category},{100 - i}" for i, (name, category, _, _) in enumerate(WD14_TAGS)]
    (folder / "selected_tags.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


# -- a loopback OpenAI-compatible chat-completions server ----------------------------------------------


@dataclass
class ChatServer:
    """Answers ``POST /v1/chat/completions`` with a caption describing the image it received."""

    api_key: str | None = None
    fail_prompts_containing: str | None = None  # answer HTTP 500 when the prompt contains this
    delay_s: float = 0.0  # think this long before answering (to test cancel)
    requests: list[dict] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> ChatServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                if self.path != "/v1/chat/completions":
                    return self._reply(404, {"error": "not found"})
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                auth = self.headers.get("Authorization")
                owner.requests.append({"body": body, "authorization": auth})
                if owner.api_key and auth != f"Bearer {owner.api_key}":
                    return self._reply(401, {"error": "bad key"})
                content = body["messages"][0]["content"]
                prompt = next(p["text"] for p in content if p["type"] == "text")
                url = next(p["image_url"]["url"] for p in content if p["type"] == "image_url")
                time.sleep(owner.delay_s)
                if owner.fail_prompts_containing and owner.fail_prompts_containing in prompt:
                    return self._reply(500, {"error": "model crashed"})
                header, encoded = url.split(",", 1)
                img = Image.open(io.BytesIO(base64.b64decode(encoded)))
                r, g, b = img.convert("RGB").resize((1, 1)).getpixel((0, 0))
                color = "red" if r > 128 and b < 128 else "blue" if b > 128 and r < 128 else "mixed"
                caption = f'"A {color} picture {img.width}x{img.height} ({header.split(";")[0]}); prompt: {prompt}"'
                self._reply(
                    200,
                    {
                        "id": "x",
                        "object": "chat.completion",
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": caption}}],
                    },
                )

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_task(client, task: dict, timeout: float = 60) -> dict:
    """Follow a ControlPilot task to its end through /api/tasks; returns its last state."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        current = client.get(f"/api/tasks/{task['id']}").json()
        if current["state"] in ("done", "failed", "cancelled"):
            return current
        time.sleep(0.05)
    raise AssertionError(f"task {task['id']} did not finish")


@contextlib.contextmanager
def outputs_on_another_file_system(ws) -> Iterator[Path]:
    """Put ``outputs/tagpilot`` on /dev/shm (tmpfs), so export cannot hard-link and must copy every file,
    as when a user's ``outputs/`` lives on another disk. Yields the tmpfs folder."""
    shm = Path("/dev/shm")
    ws.outputs.mkdir(parents=True, exist_ok=True)
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(ws.outputs).st_dev:
        pytest.skip("needs /dev/shm on another file system than the workspace")
    target = Path(tempfile.mkdtemp(prefix="lorapilot-export-", dir=shm))
    (ws.outputs / "tagpilot").symlink_to(target)
    try:
        yield target
    finally:
        shutil.rmtree(target, ignore_errors=True)


class CopyGate:
    """Holds each file export links or copies until the test lets it through, so the test (not the clock)
    paces a real export: its progress and cancel can be watched at a known point."""

    def __init__(self, monkeypatch) -> None:
        from lorapilot.tools.tagpilot import export

        self._real = export._link_or_copy
        self._permits = threading.Semaphore(0)
        self.copied = 0
        monkeypatch.setattr(export, "_link_or_copy", self._copy)

    def _copy(self, source: Path, target: Path, roots) -> None:
        if not self._permits.acquire(timeout=60):
            raise AssertionError(f"the test never let {source.name} through")
        self._real(source, target, roots)
        self.copied += 1

    def allow(self, files: int) -> None:
        for _ in range(files):
            self._permits.release()

    def open(self) -> None:
        self.allow(100_000)


def staging_folders(export_root: Path) -> list[str]:
    """Export's leftovers beside the finished folders: staging or old copies (there must be none)."""
    return (
        sorted(p.name for p in export_root.iterdir() if p.name.startswith(".") and p.name != ".nomedia")
        if export_root.exists()
        else []
    )
