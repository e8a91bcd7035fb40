"""Hugging Face (through huggingface_hub), CivitAI and manifest pulls, against loopback servers."""

import hashlib
import json

import pytest

from lorapilot.stack.workspace.secrets import set_secret
from lorapilot.tools.models.download import DownloadError
from lorapilot.tools.models.pull import pull, pull_manifest
from lorapilot.tools.models.sources import SourceError, _civitai_ids, _hf_ref, resolve
from lorapilot.tools.models.store import ModelStore
from support import model_files as mf
from support.model_server import ModelServer
from support.workspaces import make_workspace


@pytest.fixture
def server(monkeypatch):
    srv = ModelServer().start()
    monkeypatch.setenv("HF_ENDPOINT", srv.url)
    monkeypatch.setenv("CIVITAI_ENDPOINT", srv.url)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("CIVITAI_TOKEN", raising=False)
    yield srv
    srv.stop()


@pytest.fixture
def store(tmp_path):
    return ModelStore.for_context(make_workspace(tmp_path / "ws"))


def test_source_strings_are_understood():
    assert _hf_ref("hf:owner/repo/sub/file.safetensors") == ("owner/repo", "sub/file.safetensors", "main")
    assert _hf_ref("owner/repo@v2/file.safetensors") == ("owner/repo", "file.safetensors", "v2")
    assert _hf_ref("https://huggingface.co/owner/repo/blob/abc/x.safetensors") == ("owner/repo", "x.safetensors", "abc")
    assert _hf_ref("https://huggingface.co/owner/repo") == ("owner/repo", None, "main")
    assert _civitai_ids("https://civitai.com/models/123/some-slug?modelVersionId=456") == (123, 456)
    assert _civitai_ids("https://civitai.com/api/download/models/456") == (None, 456)
    assert _civitai_ids("urn:air:sdxl:lora:civitai:328553@368189") == (328553, 368189)
    assert _civitai_ids("civitai:42") == (None, 42)
    assert _civitai_ids("456") == (None, 456)
    with pytest.raises(SourceError, match="cannot understand"):
        resolve("ftp://x/y", {})


def test_hf_file_is_verified_against_its_lfs_sha256(server, store, tmp_path):
    data = mf.write_model(tmp_path / "v.safetensors", mf.vae(16)).read_bytes()
    server.hf_repos["acme/flux-vae"] = {"ae.safetensors": data, "README.md": b"# readme"}
    set_secret(store.ws.secrets_file, "HF_TOKEN", "hf_secret_value")
    result = pull(store, "hf:acme/flux-vae/ae.safetensors")
    dest = store.ws.models / "vae" / "ae.safetensors"
    assert result.placed == [str(dest)] and dest.read_bytes() == data
    downloads = [r for r in server.requests if "/resolve/" in r.path]
    assert downloads[0].headers["Authorization"] == "Bearer hf_secret_value"
    # A repo with a single model file needs no file name.
    dest.unlink()
    assert pull(store, "acme/flux-vae").placed == [str(dest)]


def test_hf_lfs_file_comes_from_the_storage_host_without_the_token_and_resumes(server, store, tmp_path):
    """The Hub redirects an LFS file to its storage host: the token stays with the Hub, a cut resumes there."""
    data = mf.write_model(tmp_path / "l.safetensors", mf.kohya_lora_flux(rank=64), mf.LORA_METADATA).read_bytes()
    server.hf_repos["acme/flux-lora"] = {"style.safetensors": data}
    storage_path, served = server.hf_storage("acme/flux-lora", "style.safetensors")
    served.cut_after, served.cuts_left = len(data) // 2, 1
    set_secret(store.ws.secrets_file, "HF_TOKEN", "hf_secret_value")
    result = pull(store, "hf:acme/flux-lora/style.safetensors")
    dest = store.ws.models / "loras" / "style.safetensors"
    assert result.placed == [str(dest)] and dest.read_bytes() == data
    resolves = [r for r in server.requests if "/resolve/" in r.path]
    stored = [r for r in server.requests if r.path.startswith(storage_path)]
    assert len(resolves) == len(stored) == 2  # the first try, then the resume: each through the Hub
    assert all(r.headers.get("Authorization") == "Bearer hf_secret_value" for r in resolves)
    assert all("Authorization" not in r.headers for r in stored)
    assert server.range_requests(storage_path) == [f"bytes={len(data) // 2}-"]


def test_gated_hf_repo_needs_the_token(server, store, tmp_path):
    data = mf.write_model(tmp_path / "v.safetensors", mf.vae(16)).read_bytes()
    server.hf_repos["acme/gated"] = {"ae.safetensors": data}
    server.hf_gated["acme/gated"] = "hf_right"
    with pytest.raises(SourceError, match="acme/gated is gated: accept its licence on Hugging Face and set HF_TOKEN"):
        pull(store, "hf:acme/gated/ae.safetensors")
    set_secret(store.ws.secrets_file, "HF_TOKEN", "hf_right")
    assert pull(store, "hf:acme/gated/ae.safetensors").placed == [str(store.ws.models / "vae" / "ae.safetensors")]


def test_hf_checksum_mismatch_is_not_placed(server, store, tmp_path):
    data = mf.write_model(tmp_path / "v.safetensors", mf.vae(16)).read_bytes()
    server.hf_repos["acme/bad"] = {"ae.safetensors": data}
    # The server lists the real sha256 but serves other bytes.
    real_entry = server._hf_entry

    def lying(path, served):
        entry = real_entry(path, served)
        entry["lfs"]["oid"] = hashlib.sha256(b"other").hexdigest()
        return entry

    server._hf_entry = lying
    with pytest.raises(DownloadError, match="does not match"):
        pull(store, "hf:acme/bad/ae.safetensors")
    assert not (store.ws.models / "vae" / "ae.safetensors").exists()


def test_hf_diffusers_repo_becomes_one_folder(server, store, tmp_path):
    unet = mf.write_model(tmp_path / "u.safetensors", mf.sd1_checkpoint()).read_bytes()
    server.hf_repos["acme/tiny-sd"] = {
        "model_index.json": json.dumps({"_class_name": "StableDiffusionPipeline"}).encode(),
        "unet/config.json": json.dumps({"cross_attention_dim": 768}).encode(),
        "unet/diffusion_pytorch_model.safetensors": unet,
        "unet/diffusion_pytorch_model.bin": b"pickle copy, skipped",
        "unet/diffusion_pytorch_model.fp16.safetensors": b"variant, skipped",
        "v1-5-pruned.safetensors": b"root single-file copy, skipped",
    }
    result = pull(store, "hf:acme/tiny-sd")
    folder = store.ws.models / "diffusers" / "tiny-sd"
    assert result.placed == [str(folder)]
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == [
        "model_index.json",
        "unet/config.json",
        "unet/diffusion_pytorch_model.safetensors",
    ]
    entry = store.list(folder="diffusers")[0]
    assert (entry.kind, entry.family, entry.format) == ("diffusers", "sd1", "diffusers")


def test_hf_repo_with_several_files_asks_for_one(server, store):
    server.hf_repos["acme/many"] = {"a.safetensors": b"1", "b.safetensors": b"2"}
    with pytest.raises(SourceError, match="has 2 model files"):
        pull(store, "hf:acme/many")
    with pytest.raises(SourceError, match="no repo acme/missing"):
        pull(store, "hf:acme/missing/x.safetensors")


def _civitai(server, data, model_type="LORA"):
    server.files["/signed/368189"] = __import__("support.model_server", fromlist=["Served"]).Served(data=data)
    server.civitai_versions[368189] = {
        "id": 368189,
        "modelId": 328553,
        "name": "v1.0",
        "baseModel": "SDXL 1.0",
        "model": {"name": "Pixel Style", "type": model_type},
        "files": [
            {
                "name": "pixel_v1.safetensors",
                "sizeKB": len(data) / 1024,
                "type": "Model",
                "primary": True,
                "hashes": {
                    "SHA256": hashlib.sha256(data).hexdigest().upper(),
                    "AutoV2": hashlib.sha256(data).hexdigest()[:10].upper(),
                },
                "downloadUrl": f"{server.url}/api/download/models/368189",
            },
        ],
        "downloadUrl": f"{server.url}/api/download/models/368189",
    }
    server.civitai_models[328553] = {
        "id": 328553,
        "name": "Pixel Style",
        "type": model_type,
        "modelVersions": [{"id": 368189}],
    }


@pytest.mark.parametrize(
    "source",
    [
        "urn:air:sdxl:lora:civitai:328553@368189",
        "https://civitai.com/models/328553?modelVersionId=368189",
        "https://civitai.com/models/328553",
        "https://civitai.com/api/download/models/368189",
        "368189",
    ],
)
def test_civitai_sources_with_token(server, store, tmp_path, source):
    data = mf.write_model(tmp_path / "l.safetensors", mf.kohya_lora_sdxl()).read_bytes()
    _civitai(server, data)
    server.civitai_token = "civ_secret"
    set_secret(store.ws.secrets_file, "CIVITAI_TOKEN", "civ_secret")
    result = pull(store, source)
    dest = store.ws.models / "loras" / "pixel_v1.safetensors"
    assert result.placed == [str(dest)] and dest.read_bytes() == data
    signed = [r for r in server.requests if r.path.startswith("/signed/")]
    assert signed and "Authorization" not in signed[0].headers  # the token stays with CivitAI


def test_a_civitai_checkpoint_that_is_only_a_flux_transformer_goes_to_diffusion_models(server, store, tmp_path):
    data = mf.write_model(tmp_path / "f.safetensors", mf.flux_transformer(dev=True)).read_bytes()
    _civitai(server, data, model_type="Checkpoint")
    result = pull(store, "civitai:368189")
    assert result.placed == [str(store.ws.models / "diffusion_models" / "pixel_v1.safetensors")]
    # A full checkpoint (transformer, VAE and text encoders in one file) stays in checkpoints/.
    data = mf.write_model(tmp_path / "c.safetensors", mf.flux_checkpoint()).read_bytes()
    _civitai(server, data, model_type="Checkpoint")
    store.delete("diffusion_models/pixel_v1.safetensors")
    assert pull(store, "civitai:368189").placed == [str(store.ws.models / "checkpoints" / "pixel_v1.safetensors")]


@pytest.mark.parametrize(
    "refusal,message",
    [
        ("login_page", "HTML page instead of a model.*CIVITAI_TOKEN"),
        (
            "401",
            r"access denied \(HTTP 401\)\. CivitAI needs a token for this file: `lorapilot secrets set CIVITAI_TOKEN`",
        ),
    ],
)
def test_civitai_without_token_gets_a_clear_error(server, store, tmp_path, refusal, message):
    data = mf.write_model(tmp_path / "l.safetensors", mf.kohya_lora_sdxl()).read_bytes()
    _civitai(server, data)
    server.civitai_token, server.civitai_refusal = "civ_secret", refusal
    with pytest.raises(DownloadError, match=message):
        pull(store, "civitai:368189")
    assert not (store.ws.models / "loras" / "pixel_v1.safetensors").exists()


def test_manifest_pull_brings_requirements(server, store, tmp_path):
    vae = mf.write_model(tmp_path / "v.safetensors", mf.vae(4)).read_bytes()
    ckpt = mf.write_model(tmp_path / "c.safetensors", mf.sdxl_checkpoint()).read_bytes()
    server.hf_repos["acme/sdxl"] = {"base.safetensors": ckpt}
    vae_url = server.add("/files/sdxl_vae.safetensors", vae)
    (store.ws.config / "models.toml").write_text(
        f'[models.base]\nsource = "hf:acme/sdxl/base.safetensors"\ntype = "checkpoints"\nrequires = ["vae"]\n\n'
        f'[models.vae]\nsource = "{vae_url}"\ntype = "vae"\nsha256 = "{hashlib.sha256(vae).hexdigest()}"\n'
    )
    results = pull_manifest(store, "base")
    assert [r.placed for r in results] == [
        [str(store.ws.models / "vae" / "sdxl_vae.safetensors")],
        [str(store.ws.models / "checkpoints" / "base.safetensors")],
    ]


def test_manifest_errors_name_the_file_and_field(store):
    (store.ws.config / "models.toml").write_text('[models.x]\nsource = "hf:a/b"\ntype = "nope"\n')
    with pytest.raises(Exception, match=r"models.toml: models.x.type"):
        pull_manifest(store, "x")
    (store.ws.config / "models.toml").write_text('[models.x]\nsource = "hf:a/b"\nrequires = ["y"]\n')
    with pytest.raises(Exception, match="unknown model 'y'"):
        pull_manifest(store, "x")


def test_a_listing_that_climbs_out_of_the_model_folder_writes_nothing(server, store, tmp_path):
    """File paths in a repo listing come from the server: one with '..' must not land outside the store."""
    unet = mf.write_model(tmp_path / "u.safetensors", mf.sd1_checkpoint()).read_bytes()
    server.hf_repos["acme/evil"] = {
        "model_index.json": json.dumps({"_class_name": "StableDiffusionPipeline"}).encode(),
        "unet/diffusion_pytorch_model.safetensors": unet,
        "unet/../../../../escape.json": b"{}",
    }
    with pytest.raises(
        SourceError, match=r"acme/evil lists a file outside the repo: 'unet/\.\./\.\./\.\./\.\./escape\.json'"
    ):
        pull(store, "hf:acme/evil")
    assert not list(tmp_path.rglob("escape.json"))
    assert not (store.ws.models / "diffusers" / "evil").exists()
