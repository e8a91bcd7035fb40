"""Florence-2, JoyCaption and Qwen2.5-VL as local captioners (see :mod:`local_model`).

- Florence-2 (``florence-community/Florence-2-*``, transformers' native
  ``Florence2ForConditionalGeneration``): the prompt is a task token,
  ``<CAPTION>``, ``<DETAILED_CAPTION>`` or ``<MORE_DETAILED_CAPTION>``; the
  encoder-decoder's output is only the caption.
- JoyCaption beta-one (``fancyfeast/llama-joycaption-beta-one-hf-llava``, a
  LLaVA model: SigLIP + Llama 3.1): a system message and a user message
  built from the caption type and length (or the given prompt), through the
  processor's chat template; the answer follows the prompt ids.
- Qwen2.5-VL (``Qwen/Qwen2.5-VL-*-Instruct``): one user message with the
  image and the instruction. The inputs are assembled here from the
  tokenizer, image processor and chat template, because transformers'
  ``Qwen2_5_VLProcessor`` cannot be built where torchvision is missing.
"""

from __future__ import annotations

import json
from pathlib import Path

from lorapilot.kit.errors import LorapilotError
from lorapilot.stack.settings import VLM_DEFAULT_PROMPT
from lorapilot.tools.tagpilot.local_model import LocalCaptioner, LocalOptions

FLORENCE_TASKS = ("<CAPTION>", "<DETAILED_CAPTION>", "<MORE_DETAILED_CAPTION>")

# JoyCaption beta-one's caption types: (prompt without a length, prompt with a {length} word).
JOY_CAPTION_TYPES = {
    "descriptive": (
        "Write a detailed description for this image.",
        "Write a {length} detailed description for this image.",
    ),
    "casual": (
        "Write a descriptive caption for this image in a casual tone.",
        "Write a {length} descriptive caption for this image in a casual tone.",
    ),
    "stable-diffusion": (
        "Output a stable diffusion prompt that is indistinguishable from a real stable diffusion prompt.",
        "Output a {length} stable diffusion prompt that is indistinguishable from a real stable diffusion prompt.",
    ),
    "midjourney": (
        "Write a MidJourney prompt for this image.",
        "Write a {length} MidJourney prompt for this image.",
    ),
}
JOY_LENGTHS = ("any", "very short", "short", "medium-length", "long", "very long")
LOCAL_NAMES = ("florence2", "joycaption", "qwen25vl")
JOY_SYSTEM = "You are a helpful image captioner."


class Florence2Captioner(LocalCaptioner):
    name = "florence2"
    title = "Florence-2"
    model_type = "florence2"
    hf_repo = "florence-community/Florence-2-large"

    @property
    def task(self) -> str:
        return self.options.prompt or "<MORE_DETAILED_CAPTION>"

    def check_options(self) -> None:
        if self.task not in FLORENCE_TASKS:
            raise LorapilotError(
                f"Florence-2 task {self.task!r} is not a caption task; use one of {', '.join(FLORENCE_TASKS)}"
            )

    def load(self, device, dtype) -> None:
        from transformers import AutoProcessor, Florence2ForConditionalGeneration

        self.processor = AutoProcessor.from_pretrained(self.model_dir, local_files_only=True)
        self.model = Florence2ForConditionalGeneration.from_pretrained(
            self.model_dir, local_files_only=True, dtype=dtype, device_map=device
        )

    def inputs(self, image):
        return dict(self.processor(text=self.task, images=image, return_tensors="pt")), 0


class JoyCaptionCaptioner(LocalCaptioner):
    name = "joycaption"
    title = "JoyCaption"
    model_type = "llava"
    hf_repo = "fancyfeast/llama-joycaption-beta-one-hf-llava"

    def check_options(self) -> None:
        options = self.options
        if options.prompt:
            return
        if options.caption_type not in JOY_CAPTION_TYPES:
            raise LorapilotError(
                f"JoyCaption caption type {options.caption_type!r} is unknown; use one of {', '.join(JOY_CAPTION_TYPES)}"
            )
        if options.caption_length not in JOY_LENGTHS:
            raise LorapilotError(
                f"JoyCaption caption length {options.caption_length!r} is unknown; use one of {', '.join(JOY_LENGTHS)}"
            )

    def prompt_text(self) -> str:
        options = self.options
        if options.prompt:
            return options.prompt.strip()
        plain, with_length = JOY_CAPTION_TYPES[options.caption_type]
        return plain if options.caption_length == "any" else with_length.format(length=options.caption_length)

    def load(self, device, dtype) -> None:
        from transformers import AutoProcessor, LlavaForConditionalGeneration

        self.processor = AutoProcessor.from_pretrained(self.model_dir, local_files_only=True)
        self.model = LlavaForConditionalGeneration.from_pretrained(
            self.model_dir, local_files_only=True, dtype=dtype, device_map=device
        )

    def inputs(self, image):
        processor = self.processor
        prompt = self.prompt_text()
        convo = [{"role": "system", "content": JOY_SYSTEM}, {"role": "user", "content": prompt}]
        text = processor.apply_chat_template(convo, tokenize=False, add_generation_prompt=True)
        if processor.image_token not in text:  # a template that leaves the image to the caller
            convo[1]["content"] = f"{processor.image_token}\n{prompt}"
            text = processor.apply_chat_template(convo, tokenize=False, add_generation_prompt=True)
        inputs = dict(processor(text=[text], images=[image], return_tensors="pt"))
        return inputs, inputs["input_ids"].shape[1]


class Qwen25VLCaptioner(LocalCaptioner):
    name = "qwen25vl"
    title = "Qwen2.5-VL"
    model_type = "qwen2_5_vl"
    hf_repo = "Qwen/Qwen2.5-VL-7B-Instruct"
    image_token = "<|image_pad|>"

    def prompt_text(self) -> str:
        return (self.options.prompt or VLM_DEFAULT_PROMPT).strip()

    def load(self, device, dtype) -> None:
        from transformers import AutoImageProcessor, AutoTokenizer, Qwen2_5_VLForConditionalGeneration

        self.image_processor = AutoImageProcessor.from_pretrained(self.model_dir, local_files_only=True)
        self.processor = AutoTokenizer.from_pretrained(self.model_dir, local_files_only=True)
        self.chat_template = chat_template(self.model_dir, self.processor)
        self.image_token_id = self.processor.convert_tokens_to_ids(self.image_token)
        self.model = Qwen2_5_VLForConditionalGeneration.from_pretrained(
            self.model_dir, local_files_only=True, dtype=dtype, device_map=device
        )

    def inputs(self, image):
        messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": self.prompt_text()}]}]
        text = self.processor.apply_chat_template(
            messages, chat_template=self.chat_template, tokenize=False, add_generation_prompt=True
        )
        pixels = self.image_processor(images=[image], return_tensors="pt")
        # One image pad per merged patch, as Qwen2_5_VLProcessor expands it.
        merge = self.image_processor.merge_size
        count = int(pixels["image_grid_thw"][0].prod()) // (merge * merge)
        text = text.replace(self.image_token, self.image_token * count, 1)
        tokens = self.processor(text=[text], return_tensors="pt")
        inputs = {
            **tokens,
            **pixels,
            "mm_token_type_ids": (tokens["input_ids"] == self.image_token_id).int(),  # M-RoPE needs to know
        }
        return inputs, tokens["input_ids"].shape[1]


def chat_template(folder: Path, tokenizer) -> str:
    """The chat template: ``chat_template.jinja``, ``chat_template.json``, else the tokenizer's."""
    jinja = folder / "chat_template.jinja"
    if jinja.is_file():
        return jinja.read_text(encoding="utf-8")
    as_json = folder / "chat_template.json"
    if as_json.is_file():
        return json.loads(as_json.read_text(encoding="utf-8"))["chat_template"]
    if tokenizer.chat_template:
        return tokenizer.chat_template
    raise LorapilotError(f"{folder} has no chat template (chat_template.jinja or chat_template.json)")


LOCAL_CAPTIONERS: dict[str, type[LocalCaptioner]] = {
    c.name: c for c in (Florence2Captioner, JoyCaptionCaptioner, Qwen25VLCaptioner)
}


def make_local_captioner(name: str, model_dir: Path, options: LocalOptions | None = None) -> LocalCaptioner:
    """The local captioner called ``name`` on the folder ``model_dir``."""
    try:
        cls = LOCAL_CAPTIONERS[name]
    except KeyError:
        raise LorapilotError(f"unknown local captioner {name!r}; known: {', '.join(LOCAL_CAPTIONERS)}") from None
    return cls(model_dir, options)
