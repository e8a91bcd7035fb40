"""What the local (transformers) captioners share: the model folder, the device, generation, clean-up.

A local captioner runs a vision-language model from a folder in the
workspace through ``transformers`` (never downloading: ``local_files_only``),
on CUDA in bf16 (fp16 where bf16 is unsupported) when a GPU is there, else
on the CPU in float32. The model loads on the first image, so a job starts at
once and the folder is checked (exists, holds a ``config.json`` of the right
architecture) before the job is accepted. The subclasses in
:mod:`local_captioners` say how each model is prompted and how its output is
decoded.
"""

from __future__ import annotations

import importlib.util
import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from lorapilot.kit.errors import ConfigError, LorapilotError
from lorapilot.kit.progress import check_cancel
from lorapilot.tools.tagpilot.captioning import CaptionOutput, ImageError
from lorapilot.tools.tagpilot.imageio import decode_error, open_rgb


@dataclass
class LocalOptions:
    """Per-run settings; ``prompt`` means each captioner's own thing (see its ``describe_prompt``)."""

    prompt: str | None = None
    caption_type: str = "descriptive"  # JoyCaption only
    caption_length: str = "long"  # JoyCaption only
    max_new_tokens: int = 256
    temperature: float = 0.0  # 0 = greedy (the same caption every run)
    top_p: float = 0.9
    max_side: int = 1024  # images are downscaled to this long side first


def pick_device():
    """``(device, dtype)``: CUDA in bf16 (fp16 on GPUs without bf16) when available, else CPU float32."""
    import torch

    if torch.cuda.is_available():
        return "cuda", torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return "cpu", torch.float32


def clean_caption(text: str, prompt: str | None = None) -> str:
    """One line of caption: whitespace collapsed, an echoed prompt and wrapping quotes removed."""
    text = re.sub(r"\s+", " ", text).strip()
    if prompt and text.lower().startswith(prompt.strip().lower()):
        text = text[len(prompt.strip()) :].lstrip(" :.-")
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    return text


class LocalCaptioner:
    """Base class: ``caption(path)`` loads the model once, then captions one image."""

    name = ""  # the captioner's id in the CLI/API
    title = ""  # what the user reads
    model_type = ""  # config.json's model_type this captioner runs
    hf_repo = ""  # the Hugging Face repo to put in the folder

    def __init__(self, model_dir: Path, options: LocalOptions | None = None, device: str | None = None):
        self.model_dir = Path(model_dir)
        self.options = options or LocalOptions()
        self.device = device
        missing = [m for m in ("torch", "transformers") if importlib.util.find_spec(m) is None]
        if missing:
            raise LorapilotError(f"{self.title} needs {' and '.join(missing)}: pip install 'lorapilot[train]'")
        self.check_folder()
        self.check_options()
        self.model = None
        self.processor = None
        self.cancel: threading.Event | None = None

    def watch_cancel(self, cancel: threading.Event | None) -> None:
        """Stop generating when ``cancel`` is set (a caption on the CPU can take minutes)."""
        self.cancel = cancel

    def check_folder(self) -> None:
        """Refuse a missing folder or one with another model, naming what to put there."""
        folder = self.model_dir
        if not folder.is_dir():
            raise LorapilotError(
                f"{self.title} model folder {folder} does not exist: put the Hugging Face repo {self.hf_repo} "
                f"there (`hf download {self.hf_repo} --local-dir {folder}`)"
            )
        config_path = folder / "config.json"
        try:
            found = json.loads(config_path.read_text(encoding="utf-8")).get("model_type")
        except FileNotFoundError:
            raise ConfigError(
                config_path, f"not found: the folder should hold the Hugging Face repo {self.hf_repo}"
            ) from None
        except (ValueError, AttributeError) as exc:
            raise ConfigError(config_path, f"not a JSON object: {exc}") from None
        if found != self.model_type:
            raise ConfigError(
                config_path, f"model_type is {found!r}; {self.title} needs {self.model_type!r} ({self.hf_repo})"
            )

    def check_options(self) -> None:
        """Refuse options this captioner cannot use (before any job starts)."""

    # -- what each model does differently ------------------------------------------------------

    def load(self, device: str, dtype) -> None:
        """Set ``self.model`` and ``self.processor`` from ``self.model_dir``."""
        raise NotImplementedError

    def inputs(self, image) -> tuple[dict, int]:
        """The model inputs for one RGB image and how many of the output ids are the prompt."""
        raise NotImplementedError

    def decode(self, ids) -> str:
        """Decoded new text, special tokens removed."""
        return self.tokenizer.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)

    @property
    def tokenizer(self):
        return getattr(self.processor, "tokenizer", self.processor)

    def prompt_text(self) -> str | None:
        """The instruction, for removing an echo of it from the output."""
        return None

    # -- shared ---------------------------------------------------------------------------------

    def ensure_loaded(self) -> None:
        if self.model is not None:
            return
        device, dtype = pick_device()
        device = self.device or device
        if device == "cpu":
            import torch

            dtype = torch.float32
        try:
            self.load(device, dtype)
        except (OSError, ValueError, KeyError) as exc:
            raise ConfigError(self.model_dir, f"transformers cannot load {self.title} from it: {exc}") from None
        self.model = self.model.to(device).eval()
        self.dtype = dtype

    def load_image(self, path: Path):
        from PIL import Image

        try:
            rgb = open_rgb(path)
        except Exception as exc:  # noqa: BLE001 - a decoder failure is this image's problem only
            raise ImageError(f"cannot decode image: {decode_error(exc, path)}") from None
        rgb.thumbnail((self.options.max_side, self.options.max_side), Image.Resampling.LANCZOS)
        return rgb

    def generate(self, inputs: dict):
        import torch

        device = next(self.model.parameters()).device
        moved = {}
        for key, value in inputs.items():
            if isinstance(value, torch.Tensor):
                value = value.to(device)
                if value.is_floating_point():  # pixel values follow the model's dtype
                    value = value.to(self.dtype)
            moved[key] = value
        options = self.options
        sampling = {"do_sample": options.temperature > 0}
        if options.temperature > 0:
            sampling.update(temperature=options.temperature, top_p=options.top_p)
        cancel = self.cancel
        if cancel is not None:
            from transformers import StoppingCriteria, StoppingCriteriaList

            class UntilCancelled(StoppingCriteria):
                def __call__(self, input_ids, scores, **kwargs):
                    return torch.full((input_ids.shape[0],), cancel.is_set(), dtype=torch.bool, device=input_ids.device)

            sampling["stopping_criteria"] = StoppingCriteriaList([UntilCancelled()])
        with torch.inference_mode():
            ids = self.model.generate(**moved, max_new_tokens=options.max_new_tokens, **sampling)
        check_cancel(cancel)  # a caption cut short by Cancel is not written
        return ids

    def caption(self, path: Path) -> CaptionOutput:
        image = self.load_image(path)
        self.ensure_loaded()
        inputs, prompt_length = self.inputs(image)
        ids = self.generate(inputs)[0][prompt_length:]
        text = clean_caption(self.decode(ids), self.prompt_text())
        if not text:
            raise ImageError("the model returned an empty caption")
        return CaptionOutput(text=text)

    def close(self) -> None:
        """Free the model (and its GPU memory)."""
        self.model = None
        self.processor = None
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:
            pass
