"""Publish a LoRA to the Hugging Face Hub with a generated model card (``models push LORA hf:user/repo``).

One commit through huggingface_hub: ``create_repo`` (private unless asked
otherwise; an existing repo is reused), then ``create_commit`` with
``README.md`` (the card), the LoRA and its sample images under ``samples/``.
The card's YAML says the base model, ``instance_prompt`` (the trigger word)
and ``widget`` images, which the Hub shows; its body lists the training
settings from TrainPilot's ``<name>.training.json``. Large files go through
the Hub's LFS upload (file objects: the legacy LFS path, which every Hub
accepts). Uses ``HF_TOKEN`` from secrets.env.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from lorapilot.kit.errors import LorapilotError
from lorapilot.tools.models import sources
from lorapilot.tools.models.inspect import summarize, training_card

MAX_SAMPLES = 6
# TrainPilot's base family -> the Hub repo a model card names as base_model.
_BASE_REPOS = {
    "sd1": "stable-diffusion-v1-5/stable-diffusion-v1-5",
    "sdxl": "stabilityai/stable-diffusion-xl-base-1.0",
    "sd3": "stabilityai/stable-diffusion-3.5-large",
    "flux1": "black-forest-labs/FLUX.1-dev",
    "chroma": "lodestones/Chroma",
    "wan": "Wan-AI/Wan2.1-T2V-14B",
}
_REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]{0,95}/[\w.-]{1,96}")


@dataclass
class PushResult:
    repo: str
    url: str
    commit: str
    private: bool
    files: list[str] = field(default_factory=list)


def parse_target(target: str) -> str:
    """``hf:user/repo`` -> ``user/repo``; anything else is refused with the form expected."""
    repo = target[3:] if target.startswith("hf:") else target
    if not _REPO_ID.fullmatch(repo) or ".." in repo:
        raise LorapilotError(f"target {target!r}: expected hf:USER/REPO (letters, digits, - _ .)")
    return repo


def sample_images(lora: Path, card: dict | None, workspace_root: Path) -> list[Path]:
    """The LoRA's preview and the last samples of its training run (inside the workspace only)."""
    found = [lora.with_name(lora.stem + ext) for ext in (".preview.png", ".preview.jpg", ".preview.webp")]
    found = [p for p in found if p.is_file()]
    trained_from = (card or {}).get("trained_from")
    if isinstance(trained_from, str):
        samples = Path(trained_from).parent / "samples"
        root = os.path.realpath(workspace_root)
        if samples.is_dir() and os.path.realpath(samples).startswith(root + os.sep):
            images = sorted(
                p for p in samples.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp") and p.is_file()
            )
            found += images[-(MAX_SAMPLES - len(found)) :] if len(found) < MAX_SAMPLES else []
    return found[:MAX_SAMPLES]


def model_card(lora: Path, card: dict | None, samples: list[str], header: dict | None = None) -> str:
    """README.md for the Hub: YAML the Hub reads (base_model, instance_prompt, widget) and a readable body."""
    card = card or {}
    profile = card.get("profile") or {}
    dataset = profile.get("dataset") or {}
    trigger = dataset.get("trigger_word") or ""
    family = card.get("base_family") or (header or {}).get("family")
    base = _BASE_REPOS.get(family or "")
    meta: dict = {
        "tags": ["lora", "text-to-image", "lorapilot"] + ([family] if family else []),
        "library_name": "diffusers",
    }
    if base:
        meta["base_model"] = base
    if trigger:
        meta["instance_prompt"] = trigger
    if samples:
        meta["widget"] = [{"text": trigger or lora.stem, "output": {"url": s}} for s in samples]
    lines = ["---", *_yaml(meta), "---", "", f"# {card.get('name') or lora.stem}", ""]
    lines.append(
        f"A LoRA for {base or family or 'an unknown base model'}, trained with LoRA Pilot"
        + (f" ({card['trainer']})." if card.get("trainer") else ".")
    )
    lines.append("")
    if trigger:
        lines += ["## Trigger words", "", f"Use `{trigger}` in the prompt.", ""]
    settings = _settings(card, profile)
    if settings:
        lines += ["## Training settings", "", "| setting | value |", "|---|---|"]
        lines += [f"| {key} | {value} |" for key, value in settings]
        lines.append("")
    if samples:
        lines += ["## Samples", ""] + [f"![sample]({s})" for s in samples] + [""]
    lines += ["## Files", "", f"- `{lora.name}`" + (f" (sha256 `{card['sha256']}`)" if card.get("sha256") else ""), ""]
    return "\n".join(lines)


def _settings(card: dict, profile: dict) -> list[tuple[str, str]]:
    network, optim, training = (
        profile.get("network") or {},
        profile.get("optim") or profile.get("optimizer") or {},
        profile.get("training") or {},
    )
    dataset = profile.get("dataset") or {}
    rows = [
        ("base model file", (profile.get("model") or {}).get("base")),
        ("rank / alpha", f"{network['rank']} / {network.get('alpha')}" if network.get("rank") else None),
        ("optimizer", optim.get("optimizer")),
        ("learning rate", optim.get("learning_rate")),
        ("scheduler", optim.get("lr_scheduler")),
        ("steps", card.get("steps")),
        ("resolution", dataset.get("resolution")),
        ("dataset", (card.get("dataset") or {}).get("name")),
        ("images", (card.get("dataset") or {}).get("images")),
        ("final loss", round(card["final_loss"], 5) if isinstance(card.get("final_loss"), (int, float)) else None),
        ("seed", training.get("seed")),
    ]
    return [(k, str(v).replace("|", "\\|")) for k, v in rows if v not in (None, "")]


def _yaml(meta: dict) -> list[str]:
    """The card's YAML, by hand: JSON strings are valid YAML scalars, so every value is quoted safely."""
    out = []
    for key, value in meta.items():
        if isinstance(value, list):
            out.append(f"{key}:")
            for item in value:
                if isinstance(item, dict):
                    out.append(f"- text: {json.dumps(item['text'])}")
                    out.append(f"  output:\n    url: {json.dumps(item['output']['url'])}")
                else:
                    out.append(f"- {json.dumps(item)}")
        else:
            out.append(f"{key}: {json.dumps(value)}")
    return out


def push_lora(
    lora: Path, target: str, token: str, workspace_root: Path, private: bool = True, message: str | None = None
) -> PushResult:
    """Upload ``lora`` with its card and samples to ``target`` (hf:user/repo) in one commit."""
    from huggingface_hub import CommitOperationAdd, HfApi
    from huggingface_hub.errors import HfHubHTTPError

    repo = parse_target(target)
    if not lora.is_file() or lora.suffix.lower() not in (".safetensors", ".sft"):
        raise LorapilotError(f"{lora}: not a .safetensors file")
    if not token:
        raise LorapilotError("pushing needs a Hugging Face write token: `lorapilot secrets set HF_TOKEN`")
    card = training_card(lora)
    header = summarize(lora)  # errors come back in the dict: the card then names no family
    images = sample_images(lora, card, workspace_root)
    remote_samples = [f"samples/{p.name}" for p in images]
    readme = model_card(lora, card, remote_samples, header)
    api = HfApi(endpoint=sources.hf_endpoint(), token=token)
    handles = []
    try:
        url = api.create_repo(repo, private=private, exist_ok=True, repo_type="model")
        # File objects: huggingface_hub then takes the LFS path (not Xet), which every Hub endpoint accepts.
        handles = [open(lora, "rb"), *(open(p, "rb") for p in images)]
        operations = [CommitOperationAdd("README.md", readme.encode()), CommitOperationAdd(lora.name, handles[0])]
        operations += [CommitOperationAdd(name, handle) for name, handle in zip(remote_samples, handles[1:])]
        info = api.create_commit(repo, operations, commit_message=message or f"Upload {lora.name} with LoRA Pilot")
    except HfHubHTTPError as exc:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status in (401, 403):
            raise LorapilotError(
                f"Hugging Face refused the push to {repo} (HTTP {status}): HF_TOKEN needs write access to it"
            ) from None
        raise LorapilotError(f"Hugging Face refused the push to {repo}: {exc}") from None
    except sources.network_errors() as exc:
        raise LorapilotError(f"cannot reach Hugging Face ({sources.hf_endpoint()}): {exc}") from None
    finally:
        for handle in handles:
            handle.close()
    return PushResult(
        repo=repo, url=str(url), commit=info.oid, private=private, files=["README.md", lora.name, *remote_samples]
    )
