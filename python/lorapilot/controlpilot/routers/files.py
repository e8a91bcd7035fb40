"""``/api/files``: a file browser confined to the workspace."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from lorapilot.controlpilot.deps import get_ctx
from lorapilot.controlpilot.files import FileBrowser
from lorapilot.stack.apimodels import TrashItemView
from lorapilot.stack.context import Context

router = APIRouter(prefix="/api/files", tags=["files"])


class EntryView(BaseModel):
    name: str
    path: str
    kind: str = Field(description='"dir", "file", "link" (target outside the workspace or missing), "other"')
    size: int | None
    mtime: float
    is_symlink: bool
    protected: bool = Field(description="holds secrets: listed, never served")


class Listing(BaseModel):
    path: str
    parent: str | None
    entries: list[EntryView]
    total: int
    truncated: bool


class MkdirRequest(BaseModel):
    path: str = Field("", description="the folder to create it in")
    name: str


class RenameRequest(BaseModel):
    path: str
    to: str = Field(description="the new path, relative to the workspace")


class PathRequest(BaseModel):
    path: str


class RestoreRequest(BaseModel):
    to: str | None = None


class PathResult(BaseModel):
    path: str


class UploadResult(BaseModel):
    path: str
    size: int


def get_browser(ctx: Context = Depends(get_ctx)) -> FileBrowser:
    return FileBrowser(ctx.workspace.root)


@router.get("")
def list_folder(
    path: str = "", limit: int = Query(2000, ge=1, le=100_000), browser: FileBrowser = Depends(get_browser)
) -> Listing:
    """The entries of a folder, folders first."""
    rel, entries = browser.list(path)
    parent = None if rel == "" else rel.rpartition("/")[0]
    return Listing(
        path=rel,
        parent=parent,
        entries=[EntryView(**e.__dict__) for e in entries[:limit]],
        total=len(entries),
        truncated=len(entries) > limit,
    )


@router.get("/download", response_class=FileResponse)
def download(path: str, browser: FileBrowser = Depends(get_browser)) -> FileResponse:
    real = browser.file_for_download(path)
    return FileResponse(real, filename=real.name, content_disposition_type="attachment")


@router.post("/upload", status_code=201)
async def upload(
    request: Request,
    name: str,
    path: str = "",
    ctx: Context = Depends(get_ctx),
    browser: FileBrowser = Depends(get_browser),
) -> UploadResult:
    """Upload the raw request body as ``path/name``; streamed to disk, refused over the size limit."""
    limit = ctx.settings.controlpilot.upload_limit_mb * 1024 * 1024
    length = request.headers.get("content-length")
    expected = int(length) if length and length.isdigit() else None
    upload = await asyncio.to_thread(browser.begin_upload, path, name, limit, expected)
    try:
        async for chunk in request.stream():
            if chunk:
                await asyncio.to_thread(upload.write, chunk)
        rel = await asyncio.to_thread(upload.commit)
    except BaseException:
        upload.abort()
        raise
    return UploadResult(path=rel, size=upload.size)


@router.post("/mkdir", status_code=201)
def mkdir(body: MkdirRequest, browser: FileBrowser = Depends(get_browser)) -> PathResult:
    return PathResult(path=browser.mkdir(body.path, body.name))


@router.post("/rename")
def rename(body: RenameRequest, browser: FileBrowser = Depends(get_browser)) -> PathResult:
    return PathResult(path=browser.rename(body.path, body.to))


@router.post("/delete")
def delete(body: PathRequest, browser: FileBrowser = Depends(get_browser)) -> TrashItemView:
    """Move to the workspace's trash (``.trash/``); restore brings it back."""
    return TrashItemView(**browser.delete(body.path).to_dict())


@router.get("/trash")
def trash(browser: FileBrowser = Depends(get_browser)) -> list[TrashItemView]:
    return [TrashItemView(**item.to_dict()) for item in browser.trash.list()]


@router.post("/trash/{item_id}/restore")
def restore(
    item_id: str, body: RestoreRequest | None = None, browser: FileBrowser = Depends(get_browser)
) -> PathResult:
    return PathResult(path=browser.restore(item_id, body.to if body else None))


class EmptyTrashRequest(BaseModel):
    older_than_days: float | None = Field(
        None, ge=0, description="only items deleted longer ago; omit to empty everything"
    )


class EmptyTrashResult(BaseModel):
    removed: int


@router.post("/trash/empty")
def empty_trash(body: EmptyTrashRequest, browser: FileBrowser = Depends(get_browser)) -> EmptyTrashResult:
    """Delete trash items for good: the only permanent delete, and only when asked."""
    older = None if body.older_than_days is None else body.older_than_days * 86400
    return EmptyTrashResult(removed=browser.trash.empty(older_than_s=older))
