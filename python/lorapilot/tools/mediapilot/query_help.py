"""The query language at a glance: ``lorapilot media search --help`` (no imports: help stays fast).

The MediaPilot page's search help (SearchBox.tsx) says the same; keep the two in step."""

QUERY_HELP = """\b
Search language (terms are ANDed; OR, NOT or -, and parentheses group them):
  castle "blue hair" castle*   words and phrases in the positive prompt; word* is a prefix
  桜 東京 少女                 Chinese/Japanese/Korean text: any part of two or more characters;
                               one character finds every prompt it appears in
  neg:blurry                   the negative prompt
  model: sampler: scheduler: path: name: format: hash:   substring; field=value is exact
  lora:detail                  a LoRA whose name contains "detail"
  lora=add_detail              that LoRA, whatever its folder and extension (SD1.5\\add_detail.safetensors)
  seed:123  steps>=20  cfg<7  denoise<0.5  size>2MB  duration>3
  width>=1024 height<2048      the file's pixel size (after hires fix and upscaling)
  gen:832x1216 genwidth>=1024 genheight<1500   the generation size, before hires fix and upscaling:
                               A1111's Size, ComfyUI's first-pass latent, InvokeAI's width/height
  source:comfyui|a1111|forge|invokeai|novelai|trainpilot|none  tag:x  fav:yes  type:image|video
  has:workflow|lora|error|tag|seed|negative  date>=2026-11-01  date:2026-11  in:trash
"""
