"""The VLM captioner against a real loopback server speaking the chat-completions format."""

import base64
import io

import pytest
from PIL import Image

from lorapilot.kit.errors import LorapilotError
from lorapilot.stack.workspace.secrets import set_secret
from lorapilot.tools.tagpilot import dataset as datasets
from lorapilot.tools.tagpilot.captioners import make_vlm
from lorapilot.tools.tagpilot.captioning import run_captioner
from lorapilot.tools.tagpilot.vlm import API_KEY_SECRET, VLMCaptioner, VLMOptions, check_template
from support.tagpilot import ChatServer, write_image
from support.workspaces import free_port


@pytest.fixture
def server():
    srv = ChatServer(api_key="sk-test-123").start()
    yield srv
    srv.stop()


def test_request_carries_prompt_template_image_data_url_and_key(ctx, server):
    ds = datasets.create_dataset(ctx.workspace, "set")
    write_image(ds.path / "red.png", (2000, 1000), (255, 0, 0))
    (ds.path / "red.txt").write_text("old tags")
    ctx.workspace.config.mkdir(parents=True, exist_ok=True)
    set_secret(ctx.workspace.secrets_file, API_KEY_SECRET, "sk-test-123")
    captioner = make_vlm(
        ctx,
        base_url=server.base_url,
        model="tiny-vlm",
        prompt="Caption {name} for {trigger}; was: {caption}",
        trigger_word="ohwx",
    )
    report = run_captioner(ds, captioner, "overwrite")
    assert report.written == 1 and report.errors == []
    request = server.requests[0]
    assert request["authorization"] == "Bearer sk-test-123"
    body = request["body"]
    assert body["model"] == "tiny-vlm" and body["max_tokens"] == 300
    text = body["messages"][0]["content"][0]["text"]
    assert text == "Caption red for ohwx; was: old tags"
    url = body["messages"][0]["content"][1]["image_url"]["url"]
    assert url.startswith("data:image/jpeg;base64,")
    sent = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert sent.size == (1024, 512)  # downscaled to max_side
    # the reply's wrapping quotes are removed; whitespace collapsed
    assert (ds.path / "red.txt").read_text() == (
        "A red picture 1024x512 (data:image/jpeg); prompt: Caption red for ohwx; was: old tags"
    )


def test_append_mode_adds_the_description_after_existing_tags(ctx, server):
    ds = datasets.create_dataset(ctx.workspace, "set")
    write_image(ds.path / "b.png", (64, 64), (0, 0, 255))
    (ds.path / "b.txt").write_text("ohwx")
    captioner = VLMCaptioner(VLMOptions(base_url=server.base_url, model="m", prompt="describe", api_key="sk-test-123"))
    run_captioner(ds, captioner, "append")
    assert (ds.path / "b.txt").read_text() == "ohwx, A blue picture 64x64 (data:image/jpeg); prompt: describe"


def test_server_errors_are_per_image_and_bad_keys_stop_the_run(ctx, tmp_path):
    srv = ChatServer(api_key="right", fail_prompts_containing="bad").start()
    try:
        ds = datasets.create_dataset(ctx.workspace, "set")
        write_image(ds.path / "bad.png")
        write_image(ds.path / "good.png")
        (ds.path / "broken.png").write_bytes(b"nope")
        captioner = VLMCaptioner(VLMOptions(base_url=srv.base_url, model="m", prompt="{name}", api_key="right"))
        report = run_captioner(ds, captioner, "ignore")
        assert report.written == 1
        errors = {e["image"]: e["error"] for e in report.errors}
        assert "HTTP 500" in errors["bad.png"] and "cannot decode" in errors["broken.png"]
        assert (
            len([r for r in srv.requests if "bad" in r["body"]["messages"][0]["content"][0]["text"]]) == 2
        )  # one retry

        wrong = VLMCaptioner(VLMOptions(base_url=srv.base_url, model="m", prompt="{name}", api_key="wrong"))
        with pytest.raises(LorapilotError, match="refused the API key .* set TAGPILOT_VLM_API_KEY"):
            run_captioner(ds, wrong, "overwrite")
        assert (ds.path / "good.txt").exists()  # what the first run wrote is kept
    finally:
        srv.stop()


def test_unreachable_endpoint_and_bad_template_are_clear(tmp_path):
    path = write_image(tmp_path / "a.png")
    captioner = VLMCaptioner(VLMOptions(base_url=f"http://127.0.0.1:{free_port()}/v1", model="m", timeout_s=5))
    with pytest.raises(LorapilotError, match="cannot reach the VLM endpoint http://127.0.0.1:\\d+/v1/chat/completions"):
        captioner.caption(path)
    with pytest.raises(LorapilotError, match="unknown placeholder {colour}"):
        check_template("a {colour} photo")
    with pytest.raises(LorapilotError, match="must start with http"):
        VLMCaptioner(VLMOptions(base_url="ftp://x", model="m"))
