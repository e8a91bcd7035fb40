"""Search CivitAI and the Hugging Face Hub for models: one shape for both, ready to pull.

CivitAI: ``GET /api/v1/models`` (``query``, ``types``, ``baseModels``,
``sort``, ``nsfw``, ``limit``, ``cursor``), whose items carry their versions,
files (``sizeKB``, ``hashes.SHA256``), images and ``trainedWords``.
Hugging Face: ``HfApi.list_models`` (``search``, ``filter`` tags, ``sort``)
for the list, ``HfApi.model_info(files_metadata=True)`` for one repo's files
with sizes and LFS sha256 (:func:`hf_details`). Every version names the
``pull`` string that :func:`lorapilot.tools.models.pull.pull` takes.
"""

from __future__ import annotations

import re
from typing import Literal

import httpx
from pydantic import BaseModel, Field

from lorapilot.tools.models import sources
from lorapilot.tools.models.sidecars import is_mature
from lorapilot.tools.models.sources import CIVITAI_TYPES, SourceError

Site = Literal["civitai", "hf"]
Sort = Literal["downloads", "newest", "rating"]

# Store folder -> CivitAI model types / the Hub's tag.
CIVITAI_TYPES_OF = {
    folder: [t for t, f in CIVITAI_TYPES.items() if f == folder] for folder in set(CIVITAI_TYPES.values())
}
HF_TAG_OF = {"loras": "lora", "controlnet": "controlnet", "checkpoints": "diffusers", "embeddings": "textual_inversion"}
# Base family (detect.FAMILIES) -> CivitAI baseModel values / the Hub's base repo.
CIVITAI_BASES = {
    "sd1": ["SD 1.5"],
    "sd2": ["SD 2.1"],
    "sdxl": ["SDXL 1.0", "Pony", "Illustrious"],
    "sd3": ["SD 3", "SD 3.5", "SD 3.5 Large", "SD 3.5 Medium"],
    "flux1": ["Flux.1 D", "Flux.1 S"],
    "chroma": ["Chroma"],
    "wan": ["Wan Video 14B t2v", "Wan Video 1.3B t2v", "Wan Video 14B i2v 720p"],
    "lumina2": ["Lumina"],
    "hidream": ["HiDream"],
    "hunyuan_video": ["Hunyuan Video"],
    "ltxv": ["LTXV"],
}
HF_BASES = {
    "sd1": "stable-diffusion-v1-5/stable-diffusion-v1-5",
    "sdxl": "stabilityai/stable-diffusion-xl-base-1.0",
    "sd3": "stabilityai/stable-diffusion-3.5-large",
    "flux1": "black-forest-labs/FLUX.1-dev",
    "chroma": "lodestones/Chroma",
    "wan": "Wan-AI/Wan2.1-T2V-14B",
    "lumina2": "Alpha-VLLM/Lumina-Image-2.0",
    "hidream": "HiDream-ai/HiDream-I1-Full",
    "ltxv": "Lightricks/LTX-Video",
}
_CIVITAI_SORT = {"downloads": "Most Downloaded", "newest": "Newest", "rating": "Highest Rated"}
_HF_SORT = {"downloads": "downloads", "newest": "created_at", "rating": "likes"}
_WEIGHTS = (".safetensors", ".sft", ".gguf", ".ckpt", ".pt", ".bin")
_IMAGES = (".png", ".jpg", ".jpeg", ".webp")
_HF_REPO = re.compile(r"[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}")


class HubFile(BaseModel):
    name: str
    size: int | None = Field(default=None, description="bytes")
    sha256: str | None = None
    primary: bool = False


class HubImage(BaseModel):
    url: str
    width: int | None = None
    height: int | None = None


class HubVersion(BaseModel):
    id: str
    name: str
    base_model: str | None = None
    trained_words: list[str] = Field(default_factory=list, description="trigger words")
    created: str | None = None
    images: list[HubImage] = Field(default_factory=list)
    files: list[HubFile] = Field(default_factory=list)
    pull: str = Field(description="the source `models pull` takes for this version (its primary file)")


class HubModel(BaseModel):
    site: Site
    id: str
    name: str
    type: str | None = Field(default=None, description="the store folder it goes to")
    creator: str | None = None
    nsfw: bool = False
    downloads: int | None = None
    likes: int | None = None
    tags: list[str] = Field(default_factory=list)
    url: str
    versions: list[HubVersion] = Field(default_factory=list)
    detailed: bool = Field(default=True, description="false: ask hf_details for files and sizes")


class SearchPage(BaseModel):
    items: list[HubModel]
    next: str | None = Field(default=None, description="cursor for the next page (CivitAI)")


class SearchQuery(BaseModel):
    site: Site = "civitai"
    query: str = ""
    type: str | None = Field(default=None, description="store folder: loras, checkpoints, ...")
    family: str | None = Field(default=None, description="base family: sd1, sdxl, flux1, ...")
    sort: Sort = "downloads"
    nsfw: bool = False
    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = None


def search(query: SearchQuery, tokens: dict[str, str], client: httpx.Client | None = None) -> SearchPage:
    """Search ``query.site``; unknown filters fail with a message naming the value."""
    if query.type is not None and query.type not in CIVITAI_TYPES_OF and query.type not in HF_TAG_OF:
        raise SourceError(
            f"type {query.type!r}: searchable types are {', '.join(sorted(set(CIVITAI_TYPES_OF) | set(HF_TAG_OF)))}"
        )
    if query.family is not None and query.family not in CIVITAI_BASES:
        raise SourceError(f"family {query.family!r}: known families are {', '.join(CIVITAI_BASES)}")
    if query.site == "civitai":
        return _search_civitai(query, tokens.get("CIVITAI_TOKEN"), client)
    return _search_hf(query, tokens.get("HF_TOKEN"))


# ------------------------------------------------------------------ CivitAI


def _search_civitai(query: SearchQuery, token: str | None, client: httpx.Client | None) -> SearchPage:
    params: dict = {"limit": query.limit, "sort": _CIVITAI_SORT[query.sort], "nsfw": str(query.nsfw).lower()}
    if query.query:
        params["query"] = query.query
    if query.type:
        params["types"] = CIVITAI_TYPES_OF.get(query.type) or []
    if query.family:
        params["baseModels"] = CIVITAI_BASES[query.family]
    if query.cursor:
        params["cursor"] = query.cursor
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    own = client is None
    client = client or httpx.Client(follow_redirects=True, timeout=30)
    try:
        body = sources.civitai_get(client, "/api/v1/models", headers, params)
    finally:
        if own:
            client.close()
    items = body.get("items")
    if not isinstance(items, list):
        raise SourceError("CivitAI answered the search without an items list")
    next_cursor = (body.get("metadata") or {}).get("nextCursor")
    return SearchPage(
        items=[civitai_model(item, query.nsfw) for item in items], next=str(next_cursor) if next_cursor else None
    )


def civitai_model(item: dict, nsfw: bool = False) -> HubModel:
    """One CivitAI model (an item of /api/v1/models, or /api/v1/models/{id}) in the common shape."""
    model_id = item["id"]
    versions = [civitai_version(v, model_id, nsfw) for v in item.get("modelVersions") or []]
    stats = item.get("stats") or {}
    return HubModel(
        site="civitai",
        id=str(model_id),
        name=item.get("name") or str(model_id),
        type=CIVITAI_TYPES.get(item.get("type") or ""),
        creator=(item.get("creator") or {}).get("username"),
        nsfw=bool(item.get("nsfw")),
        downloads=stats.get("downloadCount"),
        likes=stats.get("thumbsUpCount", stats.get("favoriteCount")),
        tags=[t if isinstance(t, str) else t.get("name", "") for t in item.get("tags") or []],
        url=f"{sources.civitai_endpoint()}/models/{model_id}",
        versions=versions,
    )


def civitai_version(version: dict, model_id: int | None = None, nsfw: bool = False) -> HubVersion:
    model_id = model_id or version.get("modelId")
    files = [
        HubFile(
            name=f.get("name") or "",
            size=int(f["sizeKB"] * 1024) if f.get("sizeKB") else None,
            sha256=((f.get("hashes") or {}).get("SHA256") or "").lower() or None,
            primary=bool(f.get("primary")),
        )
        for f in version.get("files") or []
    ]
    images = [
        HubImage(url=img["url"], width=img.get("width"), height=img.get("height"))
        for img in version.get("images") or []
        if img.get("url") and img.get("type", "image") == "image" and (nsfw or not is_mature(img))
    ]
    return HubVersion(
        id=str(version["id"]),
        name=version.get("name") or str(version["id"]),
        base_model=version.get("baseModel"),
        trained_words=[w for w in version.get("trainedWords") or [] if isinstance(w, str)],
        created=version.get("createdAt") or version.get("publishedAt"),
        images=images,
        files=files,
        pull=f"civitai:{model_id}@{version['id']}" if model_id else f"civitai:{version['id']}",
    )


# ------------------------------------------------------------------ Hugging Face


def _hf_api(token: str | None):
    from huggingface_hub import HfApi

    return HfApi(endpoint=sources.hf_endpoint(), token=token or False)


def _hf_call(what: str, call):
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    try:
        return call()
    except RepositoryNotFoundError:
        raise SourceError(f"Hugging Face has no repo {what} (or it is private: set HF_TOKEN)") from None
    except HfHubHTTPError as exc:
        raise SourceError(f"Hugging Face refused {what}: {exc}") from None
    except sources.network_errors() as exc:
        raise SourceError(f"cannot reach Hugging Face ({sources.hf_endpoint()}): {exc}") from None


def _search_hf(query: SearchQuery, token: str | None) -> SearchPage:
    tags = [tag for tag in (HF_TAG_OF.get(query.type or ""), _hf_base_tag(query.family)) if tag]
    api = _hf_api(token)
    found = _hf_call(
        "the search",
        lambda: list(
            api.list_models(
                search=query.query or None, filter=tags or None, sort=_HF_SORT[query.sort], limit=query.limit
            )
        ),
    )
    items = [
        HubModel(
            site="hf",
            id=info.id,
            name=info.id,
            type="loras" if "lora" in (info.tags or []) else None,
            creator=info.author or info.id.split("/", 1)[0],
            downloads=info.downloads,
            likes=info.likes,
            tags=list(info.tags or []),
            url=f"{sources.hf_endpoint()}/{info.id}",
            detailed=False,
        )
        for info in found
    ]
    return SearchPage(items=items)


def _hf_base_tag(family: str | None) -> str | None:
    if family is None:
        return None
    base = HF_BASES.get(family)
    if base is None:
        raise SourceError(f"family {family!r} has no base repo to filter the Hub by; leave the family out")
    return f"base_model:{base}"


def hf_details(repo_id: str, tokens: dict[str, str], revision: str = "main") -> HubModel:
    """One Hub repo with its files (sizes, LFS sha256), sample images and trigger words."""
    if not _HF_REPO.fullmatch(repo_id) or ".." in repo_id:
        raise SourceError(f"{repo_id!r} is not a Hugging Face repo id: expected owner/name")
    api = _hf_api(tokens.get("HF_TOKEN"))
    info = _hf_call(repo_id, lambda: api.model_info(repo_id, revision=revision, files_metadata=True))
    card = info.card_data.to_dict() if info.card_data else {}
    weights, images = [], []
    for sibling in info.siblings or []:
        name = sibling.rfilename
        lower = name.lower()
        if lower.endswith(_WEIGHTS):
            weights.append(HubFile(name=name, size=sibling.size, sha256=sibling.lfs.sha256 if sibling.lfs else None))
        elif lower.endswith(_IMAGES):
            images.append(HubImage(url=sources.hf_file_url(repo_id, name, info.sha or revision)))
    safetensors = [f for f in weights if f.name.endswith((".safetensors", ".sft"))]
    if safetensors:
        safetensors[0].primary = True
    words = card.get("instance_prompt")
    base = card.get("base_model")
    versions = [
        HubVersion(
            id=info.sha or revision,
            name=revision,
            base_model=base[0] if isinstance(base, list) and base else base if isinstance(base, str) else None,
            trained_words=[words] if isinstance(words, str) and words else [],
            created=info.last_modified.isoformat() if info.last_modified else None,
            images=images,
            files=weights,
            pull=f"hf:{repo_id}/{safetensors[0].name}" if safetensors else f"hf:{repo_id}",
        )
    ]
    tags = list(info.tags or [])
    return HubModel(
        site="hf",
        id=repo_id,
        name=repo_id,
        type="loras" if "lora" in tags else None,
        creator=info.author or repo_id.split("/", 1)[0],
        downloads=info.downloads,
        likes=info.likes,
        tags=tags,
        url=f"{sources.hf_endpoint()}/{repo_id}",
        versions=versions,
    )


def civitai_details(
    model_id: int, tokens: dict[str, str], nsfw: bool = False, client: httpx.Client | None = None
) -> HubModel:
    """One CivitAI model with all its versions (``/api/v1/models/{id}``)."""
    token = tokens.get("CIVITAI_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    own = client is None
    client = client or httpx.Client(follow_redirects=True, timeout=30)
    try:
        return civitai_model(sources.civitai_get(client, f"/api/v1/models/{model_id}", headers), nsfw)
    finally:
        if own:
            client.close()
