"""A loopback stand-in for ComfyUI's queue API: ``POST /prompt``, ``GET /history/{id}``, ``GET /view``,
``GET /system_stats``, with the shapes ComfyUI answers. It checks each graph as ComfyUI would need it
(node classes, links, the LoRA file present under ``models/loras``) and "renders" a flat image whose
colour follows the LoRA strength and seed, with the API graph in the PNG's ``prompt`` chunk like ComfyUI."""

from __future__ import annotations

import io
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from support.loopback import LoopbackServer, reply

KNOWN = {
    "CheckpointLoaderSimple",
    "DiffusersLoader",
    "UNETLoader",
    "DualCLIPLoader",
    "VAELoader",
    "LoraLoader",
    "CLIPTextEncode",
    "FluxGuidance",
    "EmptyLatentImage",
    "KSampler",
    "VAEDecode",
    "SaveImage",
}


class FakeComfyUI(LoopbackServer):
    def __init__(self, models: Path, port: int = 0, fail_on_text: str | None = None):
        self.models, self.fail_on_text = models, fail_on_text
        self.graphs: list[dict] = []
        self.history: dict[str, dict] = {}
        self.polls: dict[str, int] = {}
        self.images: dict[str, bytes] = {}
        self.lock = threading.Lock()
        self.serve(self._handler(), port)

    def _check(self, graph: dict) -> str | None:
        for node_id, node in graph.items():
            if node.get("class_type") not in KNOWN:
                return f"node {node_id}: unknown class {node.get('class_type')}"
            for value in node["inputs"].values():
                if isinstance(value, list) and value[0] not in graph:
                    return f"node {node_id}: link to missing node {value[0]}"
            if (
                node["class_type"] == "LoraLoader"
                and not (self.models / "loras" / node["inputs"]["lora_name"]).is_file()
            ):
                return f"Value not in list: lora_name: '{node['inputs']['lora_name']}'"
            if (
                node["class_type"] == "DiffusersLoader"
                and not (self.models / "diffusers" / node["inputs"]["model_path"]).is_dir()
            ):
                return f"Value not in list: model_path: '{node['inputs']['model_path']}'"
        return None

    def _render(self, prompt_id: str, graph: dict) -> None:
        from PIL import Image
        from PIL.PngImagePlugin import PngInfo

        lora = next(n for n in graph.values() if n["class_type"] == "LoraLoader")["inputs"]
        sampler = next(n for n in graph.values() if n["class_type"] == "KSampler")["inputs"]
        latent = next(n for n in graph.values() if n["class_type"] == "EmptyLatentImage")["inputs"]
        colour = (int(lora["strength_model"] * 200) % 256, sampler["seed"] % 256, len(lora["lora_name"]) % 256)
        info = PngInfo()
        info.add_text("prompt", json.dumps(graph))
        buffer = io.BytesIO()
        Image.new("RGB", (latent["width"], latent["height"]), colour).save(buffer, format="PNG", pnginfo=info)
        name = f"ComfyUI_{len(self.images):05d}_.png"
        self.images[name] = buffer.getvalue()
        self.history[prompt_id] = {
            "prompt": [len(self.graphs), prompt_id, graph, {}, ["8"]],
            "outputs": {"8": {"images": [{"filename": name, "subfolder": "trainpilot-grid", "type": "output"}]}},
            "status": {"status_str": "success", "completed": True, "messages": []},
        }

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _json(self, data, status=200):
                body = json.dumps(data).encode()
                if status == 200:
                    return reply(self, body, "application/json")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                if self.path != "/prompt":
                    return self._json({"error": "not found"}, 404)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                graph = body["prompt"]
                problem = fake._check(graph)
                if problem:
                    return self._json({"error": {"type": "prompt_outputs_failed_validation", "message": problem}}, 400)
                prompt_id = str(uuid.uuid4())
                with fake.lock:
                    fake.graphs.append(graph)
                    texts = [n["inputs"].get("text") for n in graph.values() if n["class_type"] == "CLIPTextEncode"]
                    if fake.fail_on_text and fake.fail_on_text in texts:
                        fake.history[prompt_id] = {
                            "outputs": {},
                            "status": {
                                "status_str": "error",
                                "completed": False,
                                "messages": [
                                    [
                                        "execution_error",
                                        {"node_type": "KSampler", "exception_message": "out of memory\n"},
                                    ]
                                ],
                            },
                        }
                    else:
                        fake._render(prompt_id, graph)
                self._json({"prompt_id": prompt_id, "number": len(fake.graphs), "node_errors": {}})

            def do_GET(self):
                url = urlsplit(self.path)
                if url.path == "/system_stats":
                    return self._json({"system": {"comfyui_version": "stand-in"}, "devices": []})
                if url.path.startswith("/history/"):
                    prompt_id = url.path.rsplit("/", 1)[1]
                    with fake.lock:
                        fake.polls[prompt_id] = fake.polls.get(prompt_id, 0) + 1
                        first = fake.polls[prompt_id] == 1
                        entry = fake.history.get(prompt_id)
                    # ComfyUI answers {} while the prompt still runs: the first poll sees that.
                    return self._json({} if first or entry is None else {prompt_id: entry})
                if url.path == "/view":
                    query = parse_qs(url.query)
                    data = fake.images.get(query.get("filename", [""])[0])
                    if data is None or query.get("type") != ["output"]:
                        return self._json({"error": "no such image"}, 404)
                    return reply(self, data, "image/png")
                self._json({"error": "not found"}, 404)

        return Handler
