"""Which installed models have a newer version: CivitAI by file hash, Hugging Face by repo revision.

A model pulled from the Hub carries a ``.source.json`` (repo, revision, commit):
it is outdated when the revision now points at another commit. Any other
model file is looked up on CivitAI by its sha256
(``/api/v1/model-versions/by-hash/{sha256}``, so models copied in by hand are
found too); it is outdated when the model's newest version
(``/api/v1/models/{modelId}``, versions newest first) is another one.
"""

from __future__ import annotations

from typing import Literal

import httpx
from pydantic import BaseModel, Field

from lorapilot.kit.progress import Progress, check_cancel, no_progress
from lorapilot.tools.models import sources
from lorapilot.tools.models.sidecars import read_source
from lorapilot.tools.models.store import ModelStore

Status = Literal["outdated", "current", "unknown", "error"]


class UpdateCheck(BaseModel):
    path: str
    rel: str
    site: Literal["civitai", "hf"] | None = None
    status: Status
    current: str | None = Field(default=None, description="the installed version (CivitAI) or commit (Hub)")
    latest: str | None = None
    pull: str | None = Field(default=None, description="the source that pulls the newer version")
    message: str = ""


def check_updates(
    store: ModelStore,
    tokens: dict[str, str],
    folder: str | None = None,
    progress: Progress = no_progress,
    cancel=None,
    client: httpx.Client | None = None,
) -> list[UpdateCheck]:
    """Check every model file of the store (or of ``folder``); hashes missing from the cache are computed."""
    entries = [e for e in store.list(folder=folder) if e.format != "diffusers"]
    own = client is None
    client = client or httpx.Client(follow_redirects=True, timeout=30)
    newest: dict[int, dict] = {}  # CivitAI model id -> /api/v1/models/{id}, once per run
    results = []
    try:
        with sources.use_endpoints(store.civitai_url, store.hf_url):
            for index, entry in enumerate(entries):
                check_cancel(cancel)
                progress(index, len(entries), entry.rel)
                try:
                    results.append(_check_one(store, entry, tokens, client, newest))
                except sources.SourceError as exc:
                    results.append(UpdateCheck(path=entry.path, rel=entry.rel, status="error", message=str(exc)))
            progress(len(entries), len(entries), "done")
    finally:
        if own:
            client.close()
    return results


def _check_one(store, entry, tokens, client, newest) -> UpdateCheck:
    from pathlib import Path

    record = read_source(Path(entry.path)) or {}
    if record.get("source") == "hf" and record.get("repo"):
        return _check_hf(entry, record, tokens.get("HF_TOKEN"))
    sha256 = entry.sha256 or store.hash(entry.path)["sha256"]
    token = tokens.get("CIVITAI_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    version = sources.civitai_get(client, f"/api/v1/model-versions/by-hash/{sha256}", headers, missing_ok=True)
    if version is None:
        return UpdateCheck(path=entry.path, rel=entry.rel, status="unknown", message="not on CivitAI (by sha256)")
    model_id = version.get("modelId")
    if model_id not in newest:
        newest[model_id] = sources.civitai_get(client, f"/api/v1/models/{model_id}", headers)
    versions = newest[model_id].get("modelVersions") or []
    current = f"{version.get('name') or version['id']} ({version['id']})"
    if not versions or versions[0]["id"] == version["id"]:
        return UpdateCheck(
            path=entry.path, rel=entry.rel, site="civitai", status="current", current=current, latest=current
        )
    latest = versions[0]
    return UpdateCheck(
        path=entry.path,
        rel=entry.rel,
        site="civitai",
        status="outdated",
        current=current,
        latest=f"{latest.get('name') or latest['id']} ({latest['id']})",
        pull=f"civitai:{model_id}@{latest['id']}",
        message=f"{newest[model_id].get('name', model_id)} has a newer version",
    )


def _check_hf(entry, record: dict, token: str | None) -> UpdateCheck:
    revision = record.get("revision") or "main"
    now = sources.hf_commit(record["repo"], revision, token)
    base = {"path": entry.path, "rel": entry.rel, "site": "hf", "current": record.get("commit")}
    if now is None:
        return UpdateCheck(**base, status="error", message=f"cannot read {record['repo']}@{revision} from the Hub")
    if record.get("commit") in (None, now):
        return UpdateCheck(**base, status="current" if record.get("commit") else "unknown", latest=now)
    file = record.get("path") or entry.name
    return UpdateCheck(
        **base,
        status="outdated",
        latest=now,
        pull=f"hf:{record['repo']}@{revision}/{file}",
        message=f"{record['repo']}@{revision} moved to a new commit",
    )
