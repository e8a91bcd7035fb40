"""Tiny randomly initialised Florence-2, JoyCaption (LLaVA) and Qwen2.5-VL folders, built offline.

Each builder writes what the real Hugging Face repo holds (config, weights,
processor, tokenizer, chat template where the model has one) with the same
model classes and processor classes, only with hidden sizes of 16-32 and one
or two layers. The tokenizer is a word-level ``tokenizers`` model wrapped in
``PreTrainedTokenizerFast`` with the special tokens each processor needs.
``generation_config.json`` suppresses every special token but end-of-text and
asks for a few new tokens, so random weights still say some words.
"""

from __future__ import annotations

from pathlib import Path

WORDS = "a the red blue green cat dog photo of on with in and picture woman man tree sky sits stands".split()


def _tokenizer(special: list[str], **named):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate(special + WORDS)}
    backend = Tokenizer(models.WordLevel(vocab, unk_token=named.get("unk_token", special[0])))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    backend.add_special_tokens(special)
    return PreTrainedTokenizerFast(tokenizer_object=backend, **named), vocab


def _generation(vocab: dict[str, int], eos: int, special: list[str], **extra):
    from transformers import GenerationConfig

    banned = [vocab[t] for t in special if vocab[t] != eos]
    return GenerationConfig(suppress_tokens=banned, min_new_tokens=3, eos_token_id=eos, **extra)


def build_florence2(folder: Path) -> Path:
    """A Florence-2 folder: DaViT vision tower + BART, ``Florence2Processor`` (CLIP image processor)."""
    import torch
    from transformers import (
        BartConfig,
        CLIPImageProcessorPil,
        Florence2Config,
        Florence2ForConditionalGeneration,
        Florence2Processor,
        Florence2VisionConfig,
    )

    torch.manual_seed(0)
    special = ["<pad>", "<s>", "</s>", "<unk>", "<image>"]
    tokenizer, vocab = _tokenizer(
        special,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        extra_special_tokens={"image_token": "<image>"},
    )
    # 64 px through strides 4,2,2,2 = a 2x2 grid, + 1 temporal token = 5 image tokens.
    image_processor = CLIPImageProcessorPil(size={"height": 64, "width": 64}, do_center_crop=False, image_seq_length=5)
    text = BartConfig(
        vocab_size=len(vocab),
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=128,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=2,
    )
    vision = Florence2VisionConfig(
        depths=[1, 1, 1, 1],
        embed_dim=[16, 16, 16, 16],
        num_heads=[2, 2, 2, 2],
        num_groups=[2, 2, 2, 2],
        window_size=2,
        projection_dim=32,
        drop_path_rate=0.0,
    )
    model = Florence2ForConditionalGeneration(
        Florence2Config(vision_config=vision, text_config=text, image_token_id=vocab["<image>"])
    )
    model.generation_config = _generation(vocab, 2, special, decoder_start_token_id=2)
    model.save_pretrained(folder)
    Florence2Processor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(folder)
    return folder


# Llama 3.1's chat format; like JoyCaption's template, the user turn starts with the image.
LLAMA3_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "<|start_header_id|>{{ message['role'] }}<|end_header_id|>\n\n"
    "{% if message['role'] == 'user' %}<image>{% endif %}"
    "{{ message['content'] | trim }}<|eot_id|>{% endfor %}"
    "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}"
)


def build_joycaption(folder: Path) -> Path:
    """A JoyCaption-shaped folder: LLaVA with a SigLIP vision tower and a Llama text model."""
    import torch
    from transformers import (
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
        SiglipImageProcessorPil,
        SiglipVisionConfig,
    )

    torch.manual_seed(0)
    special = [
        "<|finetune_right_pad_id|>",
        "<|begin_of_text|>",
        "<|eot_id|>",
        "<|start_header_id|>",
        "<|end_header_id|>",
        "<image>",
    ]
    tokenizer, vocab = _tokenizer(
        special,
        bos_token="<|begin_of_text|>",
        eos_token="<|eot_id|>",
        pad_token="<|finetune_right_pad_id|>",
        unk_token="<|finetune_right_pad_id|>",
    )
    image_processor = SiglipImageProcessorPil(size={"height": 32, "width": 32})
    vision = SiglipVisionConfig(
        hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2, image_size=32, patch_size=8
    )
    text = LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=256,
        bos_token_id=vocab["<|begin_of_text|>"],
        eos_token_id=vocab["<|eot_id|>"],
        pad_token_id=vocab["<|finetune_right_pad_id|>"],
    )
    config = LlavaConfig(
        vision_config=vision,
        text_config=text,
        image_token_index=vocab["<image>"],
        image_seq_length=16,
        vision_feature_layer=-2,
        vision_feature_select_strategy="full",  # SigLIP has no CLS token
    )
    model = LlavaForConditionalGeneration(config)
    model.generation_config = _generation(vocab, vocab["<|eot_id|>"], special)
    model.save_pretrained(folder)
    LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=8,
        vision_feature_select_strategy="full",
        chat_template=LLAMA3_TEMPLATE,
    ).save_pretrained(folder)
    return folder


# ChatML as Qwen2.5-VL writes it: content parts, each image as vision_start + image_pad + vision_end.
QWEN_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def build_qwen25vl(folder: Path) -> Path:
    """A Qwen2.5-VL folder: its windowed ViT + Qwen2 text model with M-RoPE, ``Qwen2_5_VLProcessor``."""
    import torch
    from transformers import (
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2VLImageProcessorPil,
    )

    torch.manual_seed(0)
    special = [
        "<|endoftext|>",
        "<|im_start|>",
        "<|im_end|>",
        "<|vision_start|>",
        "<|vision_end|>",
        "<|image_pad|>",
        "<|video_pad|>",
    ]
    tokenizer, vocab = _tokenizer(special, eos_token="<|im_end|>", pad_token="<|endoftext|>", unk_token="<|endoftext|>")
    # 28 px units (patch 14 x merge 2); at most 56x56 px keeps it to 4 image tokens.
    image_processor = Qwen2VLImageProcessorPil(
        size={"shortest_edge": 28 * 28, "longest_edge": 56 * 56}, patch_size=14, merge_size=2, temporal_patch_size=2
    )
    config = Qwen2_5_VLConfig(
        vision_config={
            "depth": 2,
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_heads": 2,
            "out_hidden_size": 32,
            "patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "window_size": 56,
            "fullatt_block_indexes": [1],
        },
        text_config={
            "vocab_size": len(vocab),
            "hidden_size": 32,
            "intermediate_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "num_key_value_heads": 2,
            "max_position_embeddings": 256,
            "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]},
            "eos_token_id": vocab["<|im_end|>"],
            "pad_token_id": vocab["<|endoftext|>"],
            "bos_token_id": vocab["<|endoftext|>"],
        },
        image_token_id=vocab["<|image_pad|>"],
        video_token_id=vocab["<|video_pad|>"],
        vision_start_token_id=vocab["<|vision_start|>"],
        vision_end_token_id=vocab["<|vision_end|>"],
    )
    model = Qwen2_5_VLForConditionalGeneration(config)
    model.generation_config = _generation(vocab, vocab["<|im_end|>"], special)
    model.save_pretrained(folder)
    # Saved part by part (as the repo holds them): Qwen2_5_VLProcessor needs torchvision to be built.
    tokenizer.save_pretrained(folder)
    image_processor.save_pretrained(folder)
    (folder / "chat_template.jinja").write_text(QWEN_TEMPLATE)
    return folder
