"""Turn what the user typed into files to download.

Accepted sources:

- Hugging Face: ``hf:owner/repo/path/file.safetensors``, ``hf:owner/repo``
  (a diffusers repo, or a repo with one model file), ``owner/repo[/file]``,
  ``https://huggingface.co/owner/repo/(resolve|blob)/REV/path``; ``@REV``
  after the repo picks a revision. Uses ``HF_TOKEN``; ``HF_ENDPOINT`` moves it.
- CivitAI: ``https://civitai.com/models/ID[?modelVersionId=VID]``,
  ``https://civitai.com/api/download/models/VID``, ``civitai:VID``,
  ``civitai:ID@VID``, AIR ``urn:air:sdxl:lora:civitai:ID@VID``. Uses
  ``CIVITAI_TOKEN``; ``CIVITAI_ENDPOINT`` moves it (tests).
- Any other ``http(s)://`` URL: one file, as is.

The Hugging Face calls sit in :func:`hf_list_files` / :func:`hf_file_url`
(huggingface_hub); the rest is plain HTTP through httpx.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlparse

import httpx

from lorapilot.kit.errors import LorapilotError
from lorapilot.tools.models.inspect import FORMATS

HF_DEFAULT = "https://huggingface.co"
CIVITAI_DEFAULT = "https://civitai.com"

# CivitAI model types -> store folder.
CIVITAI_TYPES = {
    "Checkpoint": "checkpoints",
    "LORA": "loras",
    "LoCon": "loras",
    "DoRA": "loras",
    "TextualInversion": "embeddings",
    "VAE": "vae",
    "Controlnet": "controlnet",
    "Upscaler": "upscale_models",
    "Hypernetwork": "hypernetworks",
    "MotionModule": "model_patches",
}

# Weight formats skipped in a diffusers repo when a .safetensors sits beside them.
_ALT_WEIGHTS = (".bin", ".ckpt", ".msgpack", ".h5", ".onnx", ".onnx_data", ".pt", ".pth")
_VARIANT = re.compile(r"\.(fp16|bf16|fp32|non_ema|ema|fp8)\.", re.I)


class SourceError(LorapilotError):
    """The source string cannot be understood or resolved."""


@dataclass
class RemoteFile:
    url: str
    filename: str | None  # None: take it from Content-Disposition
    relpath: str | None = None  # inside a multi-file bundle (diffusers)
    size: int | None = None  # exact, verified when given
    size_hint: int | None = None  # approximate, for the disk check only
    sha256: str | None = None


@dataclass
class PullPlan:
    """A resolved source: the files, where they go, and which credentials it needs."""

    source: str
    title: str
    files: list[RemoteFile]
    folder: str | None = None  # store folder, when the source says
    bundle: str | None = None  # a folder name for a multi-file model (diffusers)
    headers: dict[str, str] = field(default_factory=dict, repr=False)  # Authorization (never shown)
    auth_hint: str = ""
    # What the source says about the model, kept beside the file (sidecars.py): CivitAI's model-version
    # JSON, or the Hugging Face repo and the commit pulled.
    info: dict = field(default_factory=dict)


def network_errors() -> tuple[type[BaseException], ...]:
    """The exception classes a failed request raises here: httpx's, and those of the HTTP client the
    installed huggingface_hub uses (httpx2 in 1.x/2.x, requests before), which do not derive from httpx's."""
    import importlib

    classes: list[type[BaseException]] = [httpx.HTTPError]
    for module, name in (("httpx2", "HTTPError"), ("requests", "RequestException")):
        try:
            classes.append(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError):
            pass
    return tuple(classes)


# Base URLs from the settings ([models] civitai_url / hf_url), set around one pull or search by
# use_endpoints(); empty means the environment (CIVITAI_ENDPOINT / HF_ENDPOINT), else the public sites.
_ENDPOINTS: ContextVar[tuple[str, str]] = ContextVar("model_hub_endpoints", default=("", ""))


@contextmanager
def use_endpoints(civitai: str = "", hf: str = "") -> Iterator[None]:
    """Point CivitAI / Hugging Face calls made inside the block at these base URLs ("" keeps the default)."""
    token = _ENDPOINTS.set((civitai.rstrip("/"), hf.rstrip("/")))
    try:
        yield
    finally:
        _ENDPOINTS.reset(token)


def hf_endpoint() -> str:
    return _ENDPOINTS.get()[1] or os.environ.get("HF_ENDPOINT", HF_DEFAULT).rstrip("/")


def civitai_endpoint() -> str:
    return _ENDPOINTS.get()[0] or os.environ.get("CIVITAI_ENDPOINT", CIVITAI_DEFAULT).rstrip("/")


def resolve(source: str, tokens: dict[str, str], client: httpx.Client | None = None) -> PullPlan:
    """Resolve ``source`` (see the module docstring) using ``tokens`` (HF_TOKEN, CIVITAI_TOKEN)."""
    text = source.strip()
    if not text:
        raise SourceError("empty source")
    civitai = _civitai_ids(text)
    if civitai is not None:
        return _resolve_civitai(text, *civitai, tokens.get("CIVITAI_TOKEN"), client)
    hf = _hf_ref(text)
    if hf is not None:
        return _resolve_hf(text, *hf, tokens.get("HF_TOKEN"))
    if text.startswith(("http://", "https://")):
        name = os.path.basename(unquote(urlparse(text).path)) or None
        if name and os.path.splitext(name)[1].lower() not in FORMATS:
            name = None
        return PullPlan(source=text, title=name or text, files=[RemoteFile(url=text, filename=name)])
    raise SourceError(
        f"cannot understand source {source!r}: use hf:owner/repo[/file], a CivitAI URL, id or AIR, or an http(s) URL"
    )


# ------------------------------------------------------------------ CivitAI


def _civitai_ids(text: str) -> tuple[int | None, int | None] | None:
    """(model id, version id) when ``text`` names a CivitAI resource."""
    air = re.fullmatch(r"urn:air:[^:]+:[^:]+:civitai:(\d+)(?:@(\d+))?", text, re.I)
    if air:
        return int(air.group(1)), int(air.group(2)) if air.group(2) else None
    short = re.fullmatch(r"civitai:(?:(\d+)@)?(\d+)", text, re.I)
    if short:
        return (int(short.group(1)) if short.group(1) else None), int(short.group(2))
    if re.fullmatch(r"\d+", text):
        return None, int(text)
    if not text.startswith(("http://", "https://")):
        return None
    url = urlparse(text)
    host = url.hostname or ""
    official = host == "civitai.com" or host.endswith(".civitai.com")
    if not (official or text.startswith(civitai_endpoint() + "/")):
        return None
    download = re.fullmatch(r"/api/download/models/(\d+)", url.path)
    if download:
        return None, int(download.group(1))
    model = re.match(r"/models/(\d+)", url.path)
    if model:
        version = parse_qs(url.query).get("modelVersionId", [None])[0]
        return int(model.group(1)), int(version) if version and version.isdigit() else None
    if not official:
        return None  # another file on a CIVITAI_ENDPOINT mirror: a plain URL
    raise SourceError(f"{text}: a CivitAI URL must name a model (/models/ID) or a download (/api/download/models/VID)")


def civitai_get(
    client: httpx.Client, path: str, headers: dict[str, str], params: dict | None = None, missing_ok: bool = False
) -> dict | None:
    """GET a CivitAI API path (JSON), with errors that say what to do; None for a 404 when ``missing_ok``."""
    url = civitai_endpoint() + path
    try:
        response = client.get(url, headers=headers, params=params)
    except httpx.HTTPError as exc:
        raise SourceError(f"cannot reach CivitAI ({url}): {exc}") from None
    if response.status_code == 404 and missing_ok:
        return None
    if response.status_code == 404:
        raise SourceError(f"CivitAI has no {path.rsplit('/', 2)[-2].rstrip('s')} {path.rsplit('/', 1)[-1]}")
    if response.status_code in (401, 403):
        raise SourceError(
            f"CivitAI refused {url} (HTTP {response.status_code}): set CIVITAI_TOKEN with `lorapilot secrets set CIVITAI_TOKEN`"
        )
    if response.status_code >= 400:
        raise SourceError(f"CivitAI answered HTTP {response.status_code} for {url}")
    try:
        return response.json()
    except ValueError:
        raise SourceError(f"CivitAI answered {url} with something that is not JSON") from None


def _resolve_civitai(text: str, model_id: int | None, version_id: int | None, token: str | None, client) -> PullPlan:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    own = client is None
    client = client or httpx.Client(follow_redirects=True, timeout=30)
    try:
        if version_id is None:
            model = civitai_get(client, f"/api/v1/models/{model_id}", headers)
            versions = model.get("modelVersions") or []
            if not versions:
                raise SourceError(f"CivitAI model {model_id} has no versions")
            version_id = versions[0]["id"]
        version = civitai_get(client, f"/api/v1/model-versions/{version_id}", headers)
    finally:
        if own:
            client.close()
    files = version.get("files") or []
    chosen = next((f for f in files if f.get("primary")), None) or next(
        (f for f in files if f.get("type") == "Model"), files[0] if files else None
    )
    if chosen is None:
        raise SourceError(f"CivitAI version {version_id} lists no files")
    model_type = (version.get("model") or {}).get("type")
    size_kb = chosen.get("sizeKB")
    sha = (chosen.get("hashes") or {}).get("SHA256")
    url = (
        chosen.get("downloadUrl")
        or version.get("downloadUrl")
        or f"{civitai_endpoint()}/api/download/models/{version_id}"
    )
    name = os.path.basename(chosen.get("name") or "") or None
    title = f"{(version.get('model') or {}).get('name', 'CivitAI model')} / {version.get('name', version_id)}"
    return PullPlan(
        source=text,
        title=title,
        files=[
            RemoteFile(
                url=url,
                filename=name,
                size_hint=int(size_kb * 1024) if size_kb else None,
                sha256=sha.lower() if sha else None,
            )
        ],
        folder=CIVITAI_TYPES.get(model_type or ""),
        headers=headers,
        auth_hint="CivitAI needs a token for this file: `lorapilot secrets set CIVITAI_TOKEN`.",
        info={"source": "civitai", "version": version},
    )


# ------------------------------------------------------------------ Hugging Face


def _hf_ref(text: str) -> tuple[str, str | None, str] | None:
    """(repo_id, path or None, revision) when ``text`` names a Hugging Face repo or file."""
    revision = "main"
    if text.startswith(("http://", "https://")):
        url = urlparse(text)
        official = url.netloc in ("huggingface.co", "hf.co")
        if not official and url.netloc != urlparse(hf_endpoint()).netloc:
            return None
        parts = [unquote(p) for p in url.path.strip("/").split("/") if p]
        if not official and not (len(parts) >= 4 and parts[2] in ("resolve", "blob")):
            return None  # another file on an HF_ENDPOINT mirror: a plain URL
        if len(parts) < 2:
            raise SourceError(f"{text}: expected https://huggingface.co/OWNER/REPO[/resolve/REV/FILE]")
        repo = "/".join(parts[:2])
        if len(parts) >= 4 and parts[2] in ("resolve", "blob", "tree"):
            path = "/".join(parts[4:]) or None
            return repo, path if parts[2] != "tree" else None, parts[3]
        return repo, None, revision
    if text.startswith("hf:"):
        text = text[3:]
    elif not re.fullmatch(r"[\w.-]+/[\w.-]+(@[\w./-]+)?(/.+)?", text) or "://" in text:
        return None
    parts = text.split("/")
    if len(parts) < 2:
        raise SourceError(f"hf:{text}: expected hf:OWNER/REPO[/FILE]")
    repo = f"{parts[0]}/{parts[1]}"
    if "@" in repo:
        repo, revision = repo.split("@", 1)
    path = "/".join(parts[2:]) or None
    return repo, path, revision


def hf_list_files(
    repo_id: str, path: str | None, revision: str, token: str | None
) -> list[tuple[str, int, str | None]]:
    """(path, size, sha256 or None) of one file or of a whole repo, via huggingface_hub."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError

    api = HfApi(endpoint=hf_endpoint(), token=token or False)
    try:
        if path:
            items = api.get_paths_info(repo_id, [path], revision=revision)
        else:
            items = list(api.list_repo_tree(repo_id, recursive=True, revision=revision))
    except GatedRepoError:
        raise SourceError(f"{repo_id} is gated: accept its licence on Hugging Face and set HF_TOKEN") from None
    except RepositoryNotFoundError:
        raise SourceError(f"Hugging Face has no repo {repo_id} (or it is private: set HF_TOKEN)") from None
    except HfHubHTTPError as exc:
        raise SourceError(f"Hugging Face refused {repo_id}: {exc}") from None
    except network_errors() as exc:
        raise SourceError(
            f"cannot reach Hugging Face ({hf_endpoint()}): {exc}; check the network (or HF_ENDPOINT)"
        ) from None
    out = []
    for item in items:
        size = getattr(item, "size", None)
        if size is None:  # a folder
            continue
        lfs = getattr(item, "lfs", None)
        out.append((item.path, size, lfs.sha256 if lfs else None))
    if path and not out:
        raise SourceError(f"{repo_id} has no file {path} at {revision}")
    return out


def hf_file_url(repo_id: str, path: str, revision: str) -> str:
    from huggingface_hub import hf_hub_url

    return hf_hub_url(repo_id, path, revision=revision, endpoint=hf_endpoint())


def hf_commit(repo_id: str, revision: str, token: str | None) -> str | None:
    """The commit ``revision`` of ``repo_id`` points at now (None when the Hub does not say)."""
    from huggingface_hub import HfApi

    try:
        return HfApi(endpoint=hf_endpoint(), token=token or False).model_info(repo_id, revision=revision).sha
    except Exception:  # noqa: BLE001 - the record is a convenience; the pull itself already worked
        return None


def _resolve_hf(text: str, repo_id: str, path: str | None, revision: str, token: str | None) -> PullPlan:
    plan = _plan_hf(text, repo_id, path, revision, token)
    file_path = None if plan.bundle else plan.title[len(repo_id) + 1 :]
    plan.info = {
        "source": "hf",
        "repo": repo_id,
        "path": file_path,
        "revision": revision,
        "commit": hf_commit(repo_id, revision, token),
    }
    return plan


def _plan_hf(text: str, repo_id: str, path: str | None, revision: str, token: str | None) -> PullPlan:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    listed = hf_list_files(repo_id, path, revision, token)
    repo_name = repo_id.split("/", 1)[1]
    hint = "Set HF_TOKEN with `lorapilot secrets set HF_TOKEN` (and accept the model's licence on Hugging Face)."
    if path:
        file_path, size, sha = listed[0]
        return PullPlan(
            source=text,
            title=f"{repo_id}/{file_path}",
            files=[
                RemoteFile(
                    url=hf_file_url(repo_id, file_path, revision),
                    filename=os.path.basename(file_path),
                    size=size,
                    sha256=sha,
                )
            ],
            headers=headers,
            auth_hint=hint,
        )
    for file_path, _, _ in listed:  # the listing comes from the server: its paths must stay inside the repo
        parts = file_path.split("/")
        if file_path.startswith("/") or "\\" in file_path or any(p in ("", ".", "..") for p in parts):
            raise SourceError(f"{repo_id} lists a file outside the repo: {file_path!r}; nothing was downloaded")
    names = {p for p, _, _ in listed}
    if "model_index.json" in names:
        chosen = select_diffusers_files(listed)
        return PullPlan(
            source=text,
            title=repo_id,
            files=[
                RemoteFile(
                    url=hf_file_url(repo_id, p, revision), filename=os.path.basename(p), relpath=p, size=s, sha256=h
                )
                for p, s, h in chosen
            ],
            folder="diffusers",
            bundle=repo_name,
            headers=headers,
            auth_hint=hint,
        )
    weights = [item for item in listed if os.path.splitext(item[0])[1].lower() in (".safetensors", ".sft", ".gguf")]
    if len(weights) == 1:
        file_path, size, sha = weights[0]
        return PullPlan(
            source=text,
            title=f"{repo_id}/{file_path}",
            files=[
                RemoteFile(
                    url=hf_file_url(repo_id, file_path, revision),
                    filename=os.path.basename(file_path),
                    size=size,
                    sha256=sha,
                )
            ],
            headers=headers,
            auth_hint=hint,
        )
    if not weights:
        raise SourceError(f"{repo_id} has no .safetensors file and no model_index.json: name a file, hf:{repo_id}/FILE")
    listing = ", ".join(p for p, _, _ in weights[:8])
    raise SourceError(
        f"{repo_id} has {len(weights)} model files ({listing}...): name one, e.g. hf:{repo_id}/{weights[0][0]}"
    )


def select_diffusers_files(listed: list[tuple[str, int, str | None]]) -> list[tuple[str, int, str | None]]:
    """The files a diffusers pipeline needs: component folders, safetensors preferred, no variants.

    Root-level single-file checkpoints and other weight formats beside a
    .safetensors are the same weights again and are skipped.
    """
    by_dir: dict[str, list[tuple[str, int, str | None]]] = {}
    for item in listed:
        by_dir.setdefault(os.path.dirname(item[0]), []).append(item)
    chosen = []
    for folder, items in by_dir.items():
        has_safetensors = any(p.endswith(".safetensors") and not _VARIANT.search(p) for p, _, _ in items)
        for item in items:
            name = item[0]
            ext = os.path.splitext(name)[1].lower()
            is_weight = ext in _ALT_WEIGHTS or ext == ".safetensors"
            if folder == "" and is_weight:
                continue
            if is_weight and _VARIANT.search(os.path.basename(name)) and has_safetensors:
                continue
            if ext in _ALT_WEIGHTS and has_safetensors:
                continue
            if os.path.basename(name).startswith(".") or name.endswith((".md", ".gitattributes", ".png", ".jpg")):
                continue
            chosen.append(item)
    return sorted(chosen)
