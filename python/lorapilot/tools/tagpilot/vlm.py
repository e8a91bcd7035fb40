"""Caption with a vision-language model behind an OpenAI-compatible chat-completions endpoint.

Works with vLLM, LM Studio, Ollama (``/v1``) and cloud APIs: one POST to
``{base_url}/chat/completions`` per image, the image inline as a
``data:image/jpeg;base64,...`` URL next to the prompt. The API key lives in
``config/secrets.env`` as ``TAGPILOT_VLM_API_KEY`` and is sent as a bearer token.
"""

from __future__ import annotations

import base64
import io
import re
import string
from dataclasses import dataclass
from pathlib import Path

import httpx

from lorapilot.kit.errors import LorapilotError
from lorapilot.stack.settings import VLM_DEFAULT_PROMPT as DEFAULT_PROMPT
from lorapilot.tools.tagpilot.captioning import CaptionOutput, ImageError
from lorapilot.tools.tagpilot.captions import read_caption
from lorapilot.tools.tagpilot.imageio import decode_error, open_rgb

API_KEY_SECRET = "TAGPILOT_VLM_API_KEY"
PLACEHOLDERS = ("name", "caption", "trigger")


@dataclass
class VLMOptions:
    base_url: str
    model: str
    prompt: str = DEFAULT_PROMPT
    max_tokens: int = 300
    temperature: float = 0.2
    max_side: int = 1024  # the image is downscaled to this before sending
    timeout_s: float = 120.0
    trigger_word: str | None = None
    api_key: str | None = None


def check_template(prompt: str) -> None:
    """Refuse a prompt template with an unknown ``{placeholder}``."""
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(prompt) if f is not None]
    except ValueError as exc:
        raise LorapilotError(f"prompt template: {exc} (write '{{{{' for a literal brace)") from None
    unknown = [f for f in fields if f not in PLACEHOLDERS]
    if unknown:
        raise LorapilotError(
            f"prompt template: unknown placeholder {{{unknown[0]}}}; known: {', '.join('{' + p + '}' for p in PLACEHOLDERS)}"
        )


def image_data_url(path: Path, max_side: int) -> str:
    """The image as a JPEG data URL (alpha onto white, long side at most ``max_side``)."""
    from PIL import Image

    try:
        rgb = open_rgb(path)
    except Exception as exc:  # noqa: BLE001 - a decoder failure is this image's problem only
        raise ImageError(f"cannot decode image: {decode_error(exc, path)}") from None
    rgb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    rgb.save(buffer, format="JPEG", quality=90)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def clean_reply(text: str) -> str:
    """One line of caption: whitespace collapsed, wrapping quotes removed."""
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    return text


class VLMCaptioner:
    name = "vlm"

    def __init__(self, options: VLMOptions, client: httpx.Client | None = None):
        if not options.base_url.startswith(("http://", "https://")):
            raise LorapilotError(f"VLM base_url {options.base_url!r} must start with http:// or https://")
        if not options.model:
            raise LorapilotError("VLM model name is empty (set [tagpilot.vlm] model or pass one)")
        check_template(options.prompt)
        self.options = options
        self.url = options.base_url.rstrip("/") + "/chat/completions"
        headers = {"Authorization": f"Bearer {options.api_key}"} if options.api_key else {}
        self.client = client or httpx.Client(timeout=options.timeout_s, headers=headers)

    def close(self) -> None:
        self.client.close()

    def prompt_for(self, path: Path) -> str:
        existing = read_caption(path.with_suffix(".txt"), path.parent).text
        return self.options.prompt.format(name=path.stem, caption=existing, trigger=self.options.trigger_word or "")

    def request_body(self, path: Path) -> dict:
        return {
            "model": self.options.model,
            "max_tokens": self.options.max_tokens,
            "temperature": self.options.temperature,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": self.prompt_for(path)},
                        {"type": "image_url", "image_url": {"url": image_data_url(path, self.options.max_side)}},
                    ],
                }
            ],
        }

    def caption(self, path: Path) -> CaptionOutput:
        body = self.request_body(path)
        response = self._post(body)
        try:
            content = response.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise ImageError(f"unexpected reply from {self.url}: {response.text[:200]!r}") from None
        if isinstance(content, list):  # some servers answer with content parts
            content = " ".join(part.get("text", "") for part in content if isinstance(part, dict))
        text = clean_reply(content or "")
        if not text:
            raise ImageError("the model returned an empty caption")
        return CaptionOutput(text=text)

    def _post(self, body: dict) -> httpx.Response:
        for attempt in range(2):
            try:
                response = self.client.post(self.url, json=body)
            except httpx.TransportError as exc:
                raise LorapilotError(f"cannot reach the VLM endpoint {self.url}: {exc}") from None
            if response.status_code in (401, 403):
                raise LorapilotError(
                    f"the VLM endpoint {self.url} refused the API key (HTTP {response.status_code}); set {API_KEY_SECRET}"
                )
            if response.status_code == 404:
                raise LorapilotError(f"{self.url} not found (HTTP 404): is base_url right (it usually ends in /v1)?")
            if response.status_code >= 500 and attempt == 0:
                continue
            if response.status_code >= 400:
                raise ImageError(f"HTTP {response.status_code} from {self.url}: {response.text[:200]}")
            return response
        raise AssertionError("unreachable")
