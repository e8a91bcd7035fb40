"""Searching CivitAI and the Hugging Face Hub, and pulling a result with its info and preview beside it."""

import hashlib
import json
from urllib.parse import parse_qs, urlparse

import pytest

from lorapilot.tools.models.browse import SearchQuery, hf_details, search
from lorapilot.tools.models.pull import pull
from lorapilot.tools.models.sources import SourceError
from lorapilot.tools.models.store import ModelStore
from support import hub_data
from support import model_files as mf
from support.model_server import ModelServer
from support.workspaces import make_workspace


@pytest.fixture
def server(monkeypatch):
    srv = ModelServer().start()
    for name in ("HF_ENDPOINT", "CIVITAI_ENDPOINT", "HF_TOKEN", "CIVITAI_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    yield srv
    srv.stop()


@pytest.fixture
def ctx(tmp_path, server):
    # The base URLs come from the settings, as a user pointing at a mirror would set them.
    return make_workspace(tmp_path / "ws", settings={"models": {"civitai_url": server.url, "hf_url": server.url}})


@pytest.fixture
def store(ctx):
    return ModelStore.for_context(ctx)


def _lora_bytes(tmp_path, rank=4):
    return mf.write_model(
        tmp_path / f"l{rank}.safetensors", mf.kohya_lora_sd1(rank=rank), mf.LORA_METADATA
    ).read_bytes()


def _catalogue(server, tmp_path):
    old = hub_data.civitai_version(server, 11, 110, _lora_bytes(tmp_path, 4), name="v1.0")
    new = hub_data.civitai_version(server, 11, 111, _lora_bytes(tmp_path, 8), name="v2.0", words=("pxl style", "8bit"))
    hub_data.civitai_model(server, 11, [new, old], downloads=500)
    ckpt = hub_data.civitai_version(
        server, 12, 120, b"x" * 100, name="v1", base="SD 1.5", model_name="Pixel Checkpoint", model_type="Checkpoint"
    )
    hub_data.civitai_model(server, 12, [ckpt], name="Pixel Checkpoint", model_type="Checkpoint", downloads=900)
    hub_data.civitai_model(server, 13, [], name="Pixel Spicy", nsfw=True)


def test_civitai_search_sends_the_documented_filters_and_returns_versions(server, store, tmp_path):
    from lorapilot.tools.models import sources

    _catalogue(server, tmp_path)
    with sources.use_endpoints(store.civitai_url, store.hf_url):
        page = search(SearchQuery(site="civitai", query="pixel", type="loras", family="sdxl", sort="newest"), {})
    sent = parse_qs(urlparse([r.path for r in server.requests if r.path.startswith("/api/v1/models?")][0]).query)
    assert sent["query"] == ["pixel"] and sent["sort"] == ["Newest"] and sent["nsfw"] == ["false"]
    assert set(sent["types"]) == {"LORA", "LoCon", "DoRA"}
    assert "SDXL 1.0" in sent["baseModels"] and "Pony" in sent["baseModels"]
    assert [m.name for m in page.items] == ["Pixel Art"]
    model = page.items[0]
    assert model.type == "loras" and model.creator == "pixelwright" and model.downloads == 500
    latest = model.versions[0]
    assert latest.name == "v2.0" and latest.base_model == "SDXL 1.0" and latest.trained_words == ["pxl style", "8bit"]
    assert latest.pull == "civitai:11@111"
    data = server.civitai_versions[111]["files"][0]
    assert latest.files[0].sha256 == data["hashes"]["SHA256"].lower() and latest.files[0].size == round(
        data["sizeKB"] * 1024
    )
    # The mature preview is left out unless asked for.
    assert [urlparse(i.url).path for i in latest.images] == ["/img/111.png"]


def test_civitai_search_pages_with_the_cursor_and_hides_nsfw_models(server, store, tmp_path):
    from lorapilot.tools.models import sources

    _catalogue(server, tmp_path)
    with sources.use_endpoints(store.civitai_url):
        first = search(SearchQuery(query="pixel", limit=1, sort="downloads"), {})
        second = search(SearchQuery(query="pixel", limit=1, sort="downloads", cursor=first.next), {})
        everything = search(SearchQuery(query="pixel", nsfw=True), {})
    assert [m.name for m in first.items] == ["Pixel Checkpoint"] and first.next
    assert [m.name for m in second.items] == ["Pixel Art"] and second.next is None
    assert "Pixel Spicy" in [m.name for m in everything.items]


def test_search_rejects_unknown_filters_by_name():
    with pytest.raises(SourceError, match="family 'sd9'"):
        search(SearchQuery(family="sd9"), {})
    with pytest.raises(SourceError, match="type 'gizmos'"):
        search(SearchQuery(type="gizmos"), {})


def test_pulling_a_civitai_result_keeps_info_and_preview_beside_the_file(server, store, tmp_path):
    _catalogue(server, tmp_path)
    result = pull(store, "civitai:11@111")
    dest = store.ws.models / "loras" / "pixel_111.safetensors"
    assert result.placed == [str(dest)]
    info = json.loads((dest.parent / "pixel_111.civitai.info").read_text())
    assert info["id"] == 111 and info["trainedWords"] == ["pxl style", "8bit"] and info["baseModel"] == "SDXL 1.0"
    # CivitAI lists a mature image first: the preview (shown in other UIs' model lists) is the safe one.
    assert (dest.parent / "pixel_111.preview.png").read_bytes() == hub_data.png()
    record = json.loads((dest.parent / "pixel_111.source.json").read_text())
    assert record == {
        "source": "civitai",
        "model_id": 11,
        "version_id": 111,
        "version_name": "v2.0",
        "base_model": "SDXL 1.0",
    }
    # The sidecars travel with the model into the trash and back.
    trashed = store.delete(str(dest))
    assert not (dest.parent / "pixel_111.civitai.info").exists() and len(trashed) == 4
    store.restore(trashed[0].id)
    assert (dest.parent / "pixel_111.civitai.info").exists() and (dest.parent / "pixel_111.source.json").exists()


def test_hf_search_and_details_give_files_sizes_hashes_and_trigger_words(server, store, tmp_path):
    from lorapilot.tools.models import sources

    data = mf.write_model(tmp_path / "f.safetensors", mf.kohya_lora_flux(rank=4), mf.LORA_METADATA).read_bytes()
    server.hf_repos["acme/pixel-flux-lora"] = {
        "pixel.safetensors": data,
        "samples/1.png": hub_data.png(),
        "README.md": b"# card",
    }
    server.hf_cards["acme/pixel-flux-lora"] = {
        "base_model": "black-forest-labs/FLUX.1-dev",
        "instance_prompt": "pxl style",
    }
    server.hf_repos["acme/other"] = {"x.safetensors": data}
    server.hf_commits["acme/pixel-flux-lora"] = "a" * 40
    with sources.use_endpoints(store.civitai_url, store.hf_url):
        page = search(SearchQuery(site="hf", query="pixel", family="flux1", type="loras"), {})
        assert [m.id for m in page.items] == ["acme/pixel-flux-lora"] and not page.items[0].detailed
        listed = parse_qs(urlparse([r.path for r in server.requests if r.path.startswith("/api/models?")][0]).query)
        assert set(listed["filter"]) == {"lora", "base_model:black-forest-labs/FLUX.1-dev"}
        details = hf_details("acme/pixel-flux-lora", {})
    version = details.versions[0]
    assert version.id == "a" * 40 and version.trained_words == ["pxl style"]
    assert version.base_model == "black-forest-labs/FLUX.1-dev"
    assert [(f.name, f.size, f.sha256, f.primary) for f in version.files] == [
        ("pixel.safetensors", len(data), hashlib.sha256(data).hexdigest(), True)
    ]
    assert [urlparse(i.url).path for i in version.images] == [f"/acme/pixel-flux-lora/resolve/{'a' * 40}/samples/1.png"]
    assert version.pull == "hf:acme/pixel-flux-lora/pixel.safetensors"
    pull(store, version.pull)
    record = json.loads((store.ws.models / "loras" / "pixel.source.json").read_text())
    assert record == {
        "source": "hf",
        "repo": "acme/pixel-flux-lora",
        "path": "pixel.safetensors",
        "revision": "main",
        "commit": "a" * 40,
    }


def test_api_searches_shows_details_and_pulls_a_result(server, ctx, tmp_path):
    import time

    from lorapilot.stack.workspace.secrets import set_secret
    from support.api import make_client

    _catalogue(server, tmp_path)
    server.civitai_token = "civitai_secret_key"
    set_secret(ctx.workspace.secrets_file, "CIVITAI_TOKEN", "civitai_secret_key")
    with make_client(ctx) as client:
        page = client.get("/api/models/search", params={"site": "civitai", "query": "pixel", "type": "loras"})
        assert page.status_code == 200, page.text
        assert "civitai_secret_key" not in page.text
        version = page.json()["items"][0]["versions"][0]
        assert version["trained_words"] == ["pxl style", "8bit"] and version["files"][0]["sha256"]
        details = client.get("/api/models/hub/civitai/11").json()
        assert [v["name"] for v in details["versions"]] == ["v2.0", "v1.0"]
        # A repo id the Hub would never accept is a clear 400, not a crash (found by the API fuzz test).
        bad_repo = client.get("/api/models/hub/hf/%2Fetc%2Fpasswd")
        assert bad_repo.status_code == 400 and "not a Hugging Face repo id" in bad_repo.json()["detail"]
        bad = client.get("/api/models/search", params={"family": "sd9"})
        assert bad.status_code == 400 and "family 'sd9'" in bad.json()["detail"]
        task = client.post("/api/models/pull", json={"source": version["pull"]}).json()
        deadline = time.monotonic() + 30
        while (
            client.get(f"/api/models/tasks/{task['id']}").json()["state"] not in ("done", "failed")
            and time.monotonic() < deadline
        ):
            time.sleep(0.05)
        assert client.get(f"/api/models/tasks/{task['id']}").json()["state"] == "done"
    assert (ctx.workspace.models / "loras" / "pixel_111.civitai.info").is_file()
    searches = [r for r in server.requests if r.path.startswith("/api/v1/models?")]
    assert searches[0].headers["Authorization"] == "Bearer civitai_secret_key"


def test_cli_search_and_show_print_the_pull_command(server, ctx, tmp_path):
    import os
    import subprocess
    import sys

    _catalogue(server, tmp_path)

    def run(*args):
        cmd = [sys.executable, "-m", "lorapilot", "models", *args, "-w", str(ctx.workspace.root)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"}, timeout=120)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    out = run("search", "pixel", "--type", "loras", "--family", "sdxl")
    assert "Pixel Art  [loras]  by pixelwright" in out and "triggers: pxl style, 8bit" in out
    assert "lorapilot models pull civitai:11@111" in out and "Pixel Checkpoint" not in out
    shown = run("show", "civitai:11")
    sha = server.civitai_versions[110]["files"][0]["hashes"]["SHA256"].lower()
    assert f"sha256 {sha}" in shown and "pull: lorapilot models pull civitai:11@110" in shown
    rows = json.loads(run("search", "--json", "--limit", "1"))
    assert rows["next"] and len(rows["items"]) == 1
