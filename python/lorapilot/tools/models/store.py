"""The model store: ``models/`` plus the extra roots of ``[models] extra_roots``.

Every root has ComfyUI's folder names (checkpoints, loras, vae, ...). This
module lists what is there (from the cache when files are unchanged), and
moves, renames, deletes (to the trash) and restores model files.

For other tools (TrainPilot's base-model picker, TagPilot):

    store = ModelStore.for_context(ctx)
    for entry in store.list(folder="checkpoints", family="sdxl"):
        entry.path, entry.kind, entry.family, entry.size
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from lorapilot.kit.errors import ConflictError, LorapilotError, NotFoundError
from lorapilot.kit.progress import Progress, check_cancel, no_progress
from lorapilot.kit.safepath import PathEscapeError, check_name, escapes, resolve_inside, within
from lorapilot.kit.trash import Trash, TrashItem
from lorapilot.stack.workspace.layout import MODEL_FOLDERS, Workspace
from lorapilot.tools.models.cache import ModelCache
from lorapilot.tools.models.hashing import hash_file
from lorapilot.tools.models.inspect import FORMATS, family_with_card, file_format, summarize, training_card  # noqa: F401 (re-exported)

# Files that travel with a model when it is moved, renamed or deleted (``.training.json``: TrainPilot's card).
SIDECAR_SUFFIXES = (
    ".preview.png",
    ".preview.jpg",
    ".preview.jpeg",
    ".preview.webp",
    ".civitai.info",
    ".source.json",
    ".training.json",
    ".json",
    ".txt",
    ".yaml",
    ".png",
    ".jpg",
    ".jpeg",
    ".webp",
)
TRASH_SOURCE = "models"
SIDECAR_SOURCE = "models-sidecar:"  # + the trash id of the model it belongs to: restored with it


@dataclass
class ModelEntry:
    """One model in the store, as listed."""

    path: str  # absolute
    rel: str  # inside its root, e.g. "loras/style.safetensors"
    root: str
    folder: str  # the store folder it sits in (checkpoints, loras, ...)
    name: str
    size: int
    mtime: float
    format: str
    kind: str = "unknown"
    family: str | None = None
    family_label: str | None = None
    variant: str | None = None
    dtype: str | None = None
    rank: int | None = None
    alpha: float | None = None
    algo: str | None = None
    title: str | None = None
    sha256: str | None = None
    autov2: str | None = None
    addnet: str | None = None
    warning: str | None = None
    error: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


class ModelStore:
    """The store of one workspace (see the module docstring)."""

    def __init__(self, ws: Workspace, extra_roots: list[str] | None = None):
        self.ws = ws
        self.extra_roots = [Path(r) for r in (extra_roots or [])]
        self._cache: ModelCache | None = None
        self._lock = threading.Lock()
        self.civitai_url = self.hf_url = ""  # [models] civitai_url / hf_url: "" = the environment or the public site

    @classmethod
    def for_context(cls, ctx) -> ModelStore:
        store = cls(ctx.workspace, ctx.settings.models.extra_roots)
        store.civitai_url, store.hf_url = ctx.settings.models.civitai_url, ctx.settings.models.hf_url
        return store

    @property
    def roots(self) -> list[Path]:
        """The main store first, then each extra root."""
        return [self.ws.models, *self.extra_roots]

    def unreachable_roots(self) -> list[Path]:
        """Extra roots that are not a folder right now (an unmounted network volume, a broken link)."""
        return [root for root in self.extra_roots if not root.is_dir()]

    @property
    def cache(self) -> ModelCache:
        with self._lock:
            if self._cache is None:
                self._cache = ModelCache(self.ws.cache / "models.sqlite")
            return self._cache

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()
            self._cache = None

    def folder_paths(self, folder: str) -> list[Path]:
        """Where ``folder`` (e.g. "loras") lives in every root: the paths to give an app."""
        check_folder(folder)
        return [root / folder for root in self.roots]

    # ------------------------------------------------------------ resolving

    def resolve(self, user_path: str | os.PathLike, must_exist: bool = True) -> tuple[Path, Path]:
        """(root, real path) of a model path: relative to ``models/``, or absolute inside any root."""
        text = os.fspath(user_path)
        candidates = self.roots if os.path.isabs(text) else [self.ws.models]
        last_error: PathEscapeError | None = None
        for root in candidates:
            try:
                real = resolve_inside(root, text)
            except PathEscapeError as exc:
                last_error = exc
                continue
            if must_exist and not os.path.lexists(real):
                raise NotFoundError(f"no model at {text}")
            return Path(os.path.realpath(root)), real
        raise PathEscapeError(
            f"{text!r} is not inside the model store ({', '.join(map(str, candidates))})"
        ) from last_error

    # ------------------------------------------------------------ listing

    def scan(self) -> list[tuple[Path, str, Path, os.stat_result]]:
        """Every model file and diffusers folder: (root, folder, path, stat)."""
        found = []
        for root in self.roots:
            for folder in MODEL_FOLDERS:
                base = root / folder
                if base.is_dir() and within(base, root):
                    _walk(base, root, folder, found)
        return found

    def list(
        self,
        folder: str | None = None,
        family: str | None = None,
        kind: str | None = None,
        with_hashes: bool = False,
        progress: Progress = no_progress,
        cancel: threading.Event | None = None,
    ) -> list[ModelEntry]:
        """Every model (optionally of one folder, family or kind), inspected through the cache.

        With ``with_hashes`` missing hashes are computed (streamed, cached);
        without, the cached ones are returned and the others are None.
        """
        if folder is not None:
            check_folder(folder)
        cache = self.cache
        known = cache.all()
        entries = []
        for root, found_folder, path, st in self.scan():
            if folder is not None and found_folder != folder:
                continue
            key = str(path)
            row = known.get(key)
            if row is not None and row.matches(st.st_size, st.st_mtime_ns) and row.info is not None:
                info = row.info
            else:
                info = _describe(path)
                cache.put_info(key, st.st_size, st.st_mtime_ns, info)
                row = None
            entry = _entry(root, found_folder, path, st, info)
            if row is not None and row.sha256:
                entry.sha256, entry.autov2, entry.addnet = row.sha256, row.sha256[:10], row.addnet
            if (family is None or entry.family == family) and (kind is None or entry.kind == kind):
                entries.append(entry)
        if with_hashes:
            self.hash_entries(entries, progress, cancel)
        entries.sort(key=lambda e: (e.folder, e.rel.lower(), e.root))
        return entries

    def hash_entries(
        self, entries: list[ModelEntry], progress: Progress = no_progress, cancel: threading.Event | None = None
    ) -> None:
        """Fill in the hashes of ``entries`` that have none (computing and caching them)."""
        todo = [e for e in entries if e.sha256 is None and e.format != "diffusers"]
        total = sum(e.size for e in todo)
        done = 0
        for entry in todo:
            check_cancel(cancel)
            base = done

            def report(current, _total=None, message="", base=base):
                progress(base + current, total, entry.name)

            hashes = self.hash(entry.path, progress=report, cancel=cancel)
            entry.sha256, entry.autov2, entry.addnet = hashes["sha256"], hashes["autov2"], hashes["addnet"]
            done += entry.size
        progress(total, total, "done")

    def cached_hashes(self, path: str | os.PathLike) -> dict | None:
        """The cached hashes of ``path`` if it is unchanged since they were computed."""
        st = os.stat(path)
        row = self.cache.get(os.path.abspath(path), st.st_size, st.st_mtime_ns)
        return {"sha256": row.sha256, "autov2": row.sha256[:10], "addnet": row.addnet} if row and row.sha256 else None

    def hash(
        self, path: str | os.PathLike, progress: Progress = no_progress, cancel: threading.Event | None = None
    ) -> dict:
        """sha256 / AutoV2 / addnet of one file, from the cache or computed and cached."""
        path = Path(os.path.abspath(path))
        st = path.stat()
        row = self.cache.get(str(path), st.st_size, st.st_mtime_ns)
        info = row.info if row is not None and row.info else None
        if info is None:  # cached too, so the next listing has both the summary and the hashes
            info = summarize(path)
            self.cache.put_info(str(path), st.st_size, st.st_mtime_ns, info)
        offset = info.get("data_offset") if info.get("kind") in ("lora", "lycoris") else None
        if row is not None and row.sha256 and (row.addnet or offset is None):
            return {"sha256": row.sha256, "autov2": row.sha256[:10], "addnet": row.addnet}
        hashes = hash_file(path, addnet_offset=offset, progress=progress, cancel=cancel)
        if path.stat().st_mtime_ns == st.st_mtime_ns:  # not rewritten while we read it
            self.cache.put_hashes(str(path), st.st_size, st.st_mtime_ns, hashes.sha256, hashes.addnet)
        return hashes.to_dict()

    def find_by_sha256(self, sha256: str) -> Path | None:
        """A file in the store with this sha256 (from the cache, checked unchanged on disk)."""
        for row in self.cache.find_sha256(sha256):
            try:
                st = os.stat(row.path)
            except OSError:
                continue
            if row.matches(st.st_size, st.st_mtime_ns):
                return Path(row.path)
        return None

    # ------------------------------------------------------------ managing

    def resolve_model(self, user_path: str | os.PathLike) -> tuple[Path, Path]:
        """:meth:`resolve` for moving, renaming or deleting: the store root, its type folders
        (``loras``, ...) and its trash are the layout, not models, and are refused."""
        root, real = self.resolve(user_path)
        rel = real.relative_to(root).parts if real != root else ()
        if not rel or (len(rel) == 1 and real.is_dir()) or rel[0].startswith("."):
            shown = os.fspath(user_path)
            raise LorapilotError(
                f"{shown!r} is {'the model store itself' if not rel else 'a folder of the store layout'}; "
                "only models inside a type folder can be moved, renamed or deleted"
            )
        return root, real

    def move(self, user_path: str, to_folder: str) -> Path:
        """Move a model (and its sidecars) to another type folder of the same root."""
        check_folder(to_folder)
        root, src = self.resolve_model(user_path)
        return self._relocate(src, root / to_folder / src.name)

    def rename(self, user_path: str, new_name: str) -> Path:
        """Rename a model in place; the suffix is kept when ``new_name`` has none."""
        _, src = self.resolve_model(user_path)
        check_name(new_name, "new name")
        if src.is_file() and not Path(new_name).suffix and src.suffix:
            new_name += src.suffix
        if src.is_file() and file_format(Path(new_name)) is None:
            raise LorapilotError(f"new name {new_name!r} must end in one of {', '.join(sorted(FORMATS))}")
        return self._relocate(src, src.with_name(new_name))

    def _relocate(self, src: Path, dest: Path) -> Path:
        if dest == src:
            return dest
        if os.path.lexists(dest):
            raise ConflictError(f"{dest} already exists; pick another name")
        sidecars = _sidecars(src)
        for side in sidecars:
            if os.path.lexists(dest.parent / (_stem(dest) + side.name[len(_stem(src)) :])):
                raise ConflictError(f"{dest.parent / side.name} already exists")
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.rename(src, dest)
        self.cache.rename(str(src), str(dest))
        for side in sidecars:
            os.rename(side, dest.parent / (_stem(dest) + side.name[len(_stem(src)) :]))
        return dest

    def delete(self, user_path: str) -> list[TrashItem]:
        """Move a model and its sidecars to the trash; returns the trash items, the model's first."""
        root, src = self.resolve_model(user_path)
        trash = self._trash_for(root)
        sidecars = _sidecars(src)
        main = trash.move(src, source=TRASH_SOURCE)
        return [main, *(trash.move(side, source=SIDECAR_SOURCE + main.id) for side in sidecars)]

    def _trash_for(self, root: Path) -> Trash:
        """The workspace trash for ``models/`` (so `lorapilot trash` lists and empties it); an extra root keeps its
        own ``.trash``, as does a ``models/`` linked to another volume, since a rename cannot cross file systems."""
        ws_root = Path(os.path.realpath(self.ws.root))
        if root == Path(os.path.realpath(self.ws.models)) and ws_root in root.parents and _same_device(root, ws_root):
            return Trash(ws_root)
        return Trash(root)

    def _trashes(self) -> list[tuple[Path, Trash]]:
        """(store root, trash) of every trash that may hold models: the workspace's, then each root's own."""
        out, seen = [], set()
        for root in self.roots:
            real = Path(os.path.realpath(root))
            for trash in (self._trash_for(real), Trash(real)):
                key = os.path.realpath(trash.dir)
                if key not in seen:
                    seen.add(key)
                    out.append((real, trash))
        return out

    def trash_items(self) -> list[dict]:
        """Deleted models of every root, newest first: one row per model (``original`` inside its store root,
        ``sidecars`` the names of the files that come back with it)."""
        items = []
        for root, trash in self._trashes():
            listed = trash.list()
            sidecars: dict[str, list[str]] = {}
            for item in listed:
                if item.source.startswith(SIDECAR_SOURCE):
                    sidecars.setdefault(item.source[len(SIDECAR_SOURCE) :], []).append(item.name)
            for item in listed:
                if item.source == TRASH_SOURCE:
                    original = os.path.relpath(trash.root / item.original, root).replace(os.sep, "/")
                    items.append(
                        {
                            **item.to_dict(),
                            "original": original,
                            "root": str(root),
                            "sidecars": sorted(sidecars.get(item.id, [])),
                        }
                    )
        return sorted(items, key=lambda i: i["deleted_at"], reverse=True)

    def restore(self, item_id: str) -> Path:
        """Put a deleted model back where it was, with its sidecars (never over an existing file)."""
        check_name(item_id, "trash item id")
        for _, trash in self._trashes():
            if (trash.dir / item_id / "info.json").exists():
                path = trash.restore(item_id)
                for item in trash.list():
                    if item.source == SIDECAR_SOURCE + item_id and not os.path.lexists(trash.root / item.original):
                        trash.restore(item.id)
                return path
        raise NotFoundError(f"no deleted model {item_id!r} in the trash")


def _same_device(a: Path, b: Path) -> bool:
    try:
        return os.stat(a).st_dev == os.stat(b).st_dev
    except OSError:  # models/ missing (it is created again inside the workspace)
        return True


def check_folder(folder: str) -> str:
    if folder not in MODEL_FOLDERS:
        raise LorapilotError(f"unknown model type {folder!r}; use one of: {', '.join(MODEL_FOLDERS)}")
    return folder


def _walk(base: Path, root: Path, folder: str, found: list) -> None:
    try:
        entries = list(os.scandir(base))
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        try:
            if entry.is_symlink() and escapes(entry.path, root):
                continue  # the one rule for links: nothing outside the store root is listed or parsed
            if entry.is_dir():
                path = Path(entry.path)
                index = path / "model_index.json"
                if index.is_file() and within(index, root):
                    found.append((root, folder, path, _dir_stat(path)))
                else:
                    _walk(path, root, folder, found)
            elif entry.is_file() and Path(entry.name).suffix.lower() in FORMATS:
                found.append((root, folder, Path(entry.path), entry.stat()))
        except OSError:
            continue


class _DirStat:
    """Size (sum of files) and newest mtime of a diffusers folder."""

    def __init__(self, size: int, mtime_ns: int):
        self.st_size, self.st_mtime_ns, self.st_mtime = size, mtime_ns, mtime_ns / 1e9


def _dir_stat(path: Path) -> _DirStat:
    size, mtime = 0, 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            if escapes(os.path.join(dirpath, name), path):
                continue
            st = os.stat(os.path.join(dirpath, name))
            size += st.st_size
            mtime = max(mtime, st.st_mtime_ns)
    return _DirStat(size, mtime)


_DIFFUSERS_PIPELINES = {
    "StableDiffusionPipeline": "sd1",
    "StableDiffusionXLPipeline": "sdxl",
    "StableDiffusionXLImg2ImgPipeline": "sdxl_refiner",
    "StableDiffusion3Pipeline": "sd3",
    "FluxPipeline": "flux1",
    "ChromaPipeline": "chroma",
    "WanPipeline": "wan",
    "WanImageToVideoPipeline": "wan",
    "Lumina2Pipeline": "lumina2",
    "Lumina2Text2ImgPipeline": "lumina2",
    "HiDreamImagePipeline": "hidream",
    "HunyuanVideoPipeline": "hunyuan_video",
    "HunyuanVideoImageToVideoPipeline": "hunyuan_video",
    "LTXPipeline": "ltxv",
    "LTXImageToVideoPipeline": "ltxv",
    "LTXConditionPipeline": "ltxv",
    "QwenImagePipeline": "qwen_image",
    "Flux2Pipeline": "flux2",
    "Flux2KleinPipeline": "flux2",
    "ZImagePipeline": "zimage",
}


def describe_diffusers(path: Path) -> dict:
    """A diffusers folder's family, from its model_index.json pipeline class (and the UNet's
    cross-attention width, which alone tells SD 2.x from SD 1.x: both use StableDiffusionPipeline)."""
    try:
        index = json.loads((path / "model_index.json").read_text(encoding="utf-8"))
        pipeline = index.get("_class_name", "")
    except (OSError, ValueError, AttributeError):
        return {"format": "diffusers", "kind": "diffusers", "error": f"{path}/model_index.json is not valid JSON"}
    family = _DIFFUSERS_PIPELINES.get(pipeline)
    if family == "sd1":
        try:
            unet = json.loads((path / "unet" / "config.json").read_text(encoding="utf-8"))
            family = {768: "sd1", 1024: "sd2"}.get(unet.get("cross_attention_dim"), "sd1")
        except (OSError, ValueError, AttributeError):
            pass
    from lorapilot.tools.models.detect import FAMILIES

    return {
        "format": "diffusers",
        "kind": "diffusers",
        "family": family,
        "family_label": FAMILIES.get(family or ""),
        "variant": pipeline or None,
    }


def _describe(path: Path) -> dict:
    return describe_diffusers(path) if path.is_dir() else summarize(path)


def _entry(root: Path, folder: str, path: Path, st, info: dict) -> ModelEntry:
    lora = info.get("lora") or {}
    family, family_label = family_with_card(path, info)
    warning = info.get("warning")
    expected = info.get("folder")
    if (
        expected
        and expected != folder
        and not (folder in ("unet", "diffusion_models") and expected == "diffusion_models")
        and not (folder == "clip" and expected == "text_encoders")
    ):
        note = f"looks like a {info.get('kind')}: it belongs in {expected}/"
        warning = f"{warning}; {note}" if warning else note
    return ModelEntry(
        path=str(path),
        rel=path.relative_to(root).as_posix(),
        root=str(root),
        folder=folder,
        name=path.name,
        size=st.st_size,
        mtime=st.st_mtime,
        format=info.get("format", "unknown"),
        kind=info.get("kind", "unknown"),
        family=family,
        family_label=family_label,
        variant=info.get("variant"),
        dtype=info.get("dtype"),
        rank=lora.get("rank"),
        alpha=lora.get("alpha"),
        algo=lora.get("algo"),
        title=info.get("title"),
        warning=warning,
        error=info.get("error"),
    )


def _stem(path: Path) -> str:
    return path.name[: -len(path.suffix)] if path.suffix else path.name


def _sidecars(path: Path) -> list[Path]:
    """Preview images and info files named after the model (``x.preview.png``, ``x.json``, ...)."""
    if not path.is_file():
        return []
    stem = _stem(path)
    out = []
    for suffix in SIDECAR_SUFFIXES:
        side = path.with_name(stem + suffix)
        if side != path and side.is_file():
            out.append(side)
    return out
