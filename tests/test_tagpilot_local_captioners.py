"""Florence-2, JoyCaption and Qwen2.5-VL as local captioners, on tiny random models of the real architectures.

The models are built in the test (tests/support/tiny_captioners.py) and saved into the
workspace; the captioners load them with transformers from that folder and generate
for real. Random weights say random words, so the tests pin the pipeline: captions are
written, made of the model's words, with progress, cancel, undo and clear errors.
"""

import shutil

import pytest
from click.testing import CliRunner

from lorapilot.cli import cli
from lorapilot.kit.errors import ConfigError, LorapilotError
from lorapilot.tools.tagpilot import dataset as datasets
from lorapilot.tools.tagpilot.captioners import make_local
from lorapilot.tools.tagpilot.captioning import run_captioner
from lorapilot.tools.tagpilot.local_model import clean_caption, pick_device
from support.api import make_client
from support.tagpilot import wait_task, write_image
from support.tiny_captioners import WORDS, build_florence2, build_joycaption, build_qwen25vl

BUILDERS = {"florence2": build_florence2, "joycaption": build_joycaption, "qwen25vl": build_qwen25vl}


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    root = tmp_path_factory.mktemp("captioners")
    return {name: build(root / name) for name, build in BUILDERS.items()}


def install(ctx, tiny_models, name: str) -> None:
    """Put the tiny model where the captioner looks by default: models/captioners/<name>."""
    shutil.copytree(tiny_models[name], ctx.workspace.models / "captioners" / name)


def dataset_with_images(ctx, count: int):
    ds = datasets.create_dataset(ctx.workspace, "set")
    colors = [(255, 0, 0), (0, 0, 255), (0, 200, 0)]
    for i in range(count):
        write_image(ds.path / f"{i:02}.png", (80 + 8 * i, 48), colors[i % 3])
    return ds


def assert_model_words(text: str) -> None:
    words = text.split()
    assert words and set(words) <= set(WORDS), text


@pytest.mark.parametrize("name", list(BUILDERS))
def test_each_local_captioner_writes_captions_through_the_cli(name, ctx, tiny_models):
    install(ctx, tiny_models, name)
    ds = dataset_with_images(ctx, 2)
    (ds.path / "01.txt").write_text("ohwx")
    args = ["tagpilot", "autocaption", "set", "--captioner", name, "--mode", "append", "--max-new-tokens", "6"]
    result = CliRunner().invoke(cli, [*args, "--workspace", str(ctx.workspace.root)])
    assert result.exit_code == 0, (result.output, result.exception)
    assert "2 written, 0 unchanged, 0 skipped, 0 errors" in result.output
    assert_model_words((ds.path / "00.txt").read_text())
    first, rest = (ds.path / "01.txt").read_text().split(", ", 1)
    assert first == "ohwx"  # append mode keeps what was there
    assert_model_words(rest)
    assert len(rest.split()) <= 6


def test_api_job_runs_joycaption_with_progress_and_undo(ctx, tiny_models):
    install(ctx, tiny_models, "joycaption")
    dataset_with_images(ctx, 3)
    client = make_client(ctx)
    config = client.get("/api/tagpilot/config").json()
    assert config["local_models_dir"] == "models/captioners"
    assert config["local_captioners"]["joycaption"] == "fancyfeast/llama-joycaption-beta-one-hf-llava"
    body = {
        "captioner": "joycaption",
        "local": {"caption_type": "casual", "caption_length": "short", "max_new_tokens": 5},
    }
    task = client.post("/api/tagpilot/datasets/set/caption", json=body)
    assert task.status_code == 202, task.text
    result = wait_task(client, task.json())
    assert result["state"] == "done", result
    assert result["result"]["written"] == 3 and result["result"]["errors"] == []
    assert (result["current"], result["total"]) == (3, 3)
    captions = sorted((ctx.workspace.datasets / "set").glob("*.txt"))
    assert len(captions) == 3
    for path in captions:
        assert_model_words(path.read_text())
    client.post("/api/tagpilot/datasets/set/history/undo")
    assert not list((ctx.workspace.datasets / "set").glob("*.txt"))


def test_cancel_stops_the_run_and_keeps_what_was_written(ctx, tiny_models):
    import threading

    install(ctx, tiny_models, "qwen25vl")
    ds = dataset_with_images(ctx, 5)
    (ds.path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    captioner = make_local(ctx, "qwen25vl", max_new_tokens=4)
    cancel = threading.Event()
    events = []

    def progress(current, total=None, message=""):
        events.append((current, total, message))
        if current == 1:
            cancel.set()  # the user presses Cancel as the second image starts: its generation stops at once

    report = run_captioner(ds, captioner, "ignore", progress=progress, cancel=cancel)
    assert report.cancelled and report.written == 1
    assert events == [(0, 6, "00.png"), (1, 6, "01.png")]  # the third image never started
    assert sorted(p.name for p in ds.path.glob("*.txt")) == ["00.txt"]
    # a second run (same loaded model) picks up where the first stopped; a bad image is reported, not fatal
    report = run_captioner(ds, captioner, "ignore")
    assert (report.written, report.skipped) == (4, 1)
    assert report.errors[0]["image"] == "broken.png" and "cannot decode" in report.errors[0]["error"]
    captioner.close()


def test_cancel_stops_inside_a_long_generation_and_writes_nothing_for_that_image(ctx, tiny_models):
    import threading
    import time

    install(ctx, tiny_models, "joycaption")
    ds = dataset_with_images(ctx, 2)
    captioner = make_local(ctx, "joycaption", max_new_tokens=100_000)
    captioner.ensure_loaded()
    generation = captioner.model.generation_config
    generation.suppress_tokens = [*generation.suppress_tokens, generation.eos_token_id]  # it never stops by itself
    cancel = threading.Event()
    threading.Timer(1.0, cancel.set).start()
    started = time.monotonic()
    report = run_captioner(ds, captioner, "overwrite", cancel=cancel)
    assert time.monotonic() - started < 30  # 100,000 tokens would take many minutes
    assert report.cancelled and report.written == 0 and not list(ds.path.glob("*.txt"))


def test_florence2_tasks_and_the_generation_options(ctx, tiny_models):
    install(ctx, tiny_models, "florence2")
    ds = dataset_with_images(ctx, 1)
    for task in ("<CAPTION>", "<DETAILED_CAPTION>"):
        captioner = make_local(ctx, "florence2", prompt=task, max_new_tokens=3, temperature=0.7, top_p=0.8)
        assert_model_words(captioner.caption(ds.path / "00.png").text)
        assert len(captioner.caption(ds.path / "00.png").text.split()) <= 3
    with pytest.raises(LorapilotError, match="Florence-2 task '<OD>' is not a caption task"):
        make_local(ctx, "florence2", prompt="<OD>")


def test_a_missing_or_wrong_model_folder_says_what_to_put_there(ctx, tiny_models):
    client = make_client(ctx)
    dataset_with_images(ctx, 1)
    for name, repo in [
        ("florence2", "florence-community/Florence-2-large"),
        ("joycaption", "fancyfeast/llama-joycaption-beta-one-hf-llava"),
        ("qwen25vl", "Qwen/Qwen2.5-VL-7B-Instruct"),
    ]:
        folder = ctx.workspace.models / "captioners" / name
        with pytest.raises(
            LorapilotError, match=f"model folder {folder} does not exist: put the Hugging Face repo {repo}"
        ):
            make_local(ctx, name)
        response = client.post("/api/tagpilot/datasets/set/caption", json={"captioner": name})
        assert response.status_code == 400 and repo in response.text
    # another architecture in the folder, or no config.json at all
    shutil.copytree(tiny_models["florence2"], ctx.workspace.models / "captioners" / "qwen25vl")
    with pytest.raises(ConfigError, match="model_type is 'florence2'; Qwen2.5-VL needs 'qwen2_5_vl'"):
        make_local(ctx, "qwen25vl")
    (ctx.workspace.models / "captioners" / "joycaption").mkdir(parents=True)
    with pytest.raises(ConfigError, match="config.json: not found"):
        make_local(ctx, "joycaption")
    with pytest.raises(LorapilotError, match="caption type 'haiku' is unknown"):
        make_local(ctx, "joycaption", model_dir=str(tiny_models["joycaption"]), confine=False, caption_type="haiku")
    outside = client.post(
        "/api/tagpilot/datasets/set/caption", json={"captioner": "florence2", "local": {"model_dir": "/etc"}}
    )
    assert outside.status_code == 400


def test_joycaption_puts_the_image_in_when_the_chat_template_leaves_it_out(ctx, tiny_models):
    install(ctx, tiny_models, "joycaption")
    folder = ctx.workspace.models / "captioners" / "joycaption"
    template = folder / "chat_template.jinja"
    assert "<image>" in template.read_text()
    template.write_text(template.read_text().replace("<image>", ""))
    ds = dataset_with_images(ctx, 1)
    captioner = make_local(ctx, "joycaption", prompt="Describe it.", max_new_tokens=4)
    captioner.ensure_loaded()
    inputs, prompt_length = captioner.inputs(captioner.load_image(ds.path / "00.png"))
    ids = inputs["input_ids"][0].tolist()
    image_id = captioner.processor.tokenizer.convert_tokens_to_ids("<image>")
    assert ids.count(image_id) == 16 and prompt_length == len(ids)  # 32 px / patch 8 = 16 image tokens
    assert_model_words(captioner.caption(ds.path / "00.png").text)


def test_the_cli_and_api_list_every_local_captioner():
    from lorapilot.tools.tagpilot.local_captioners import LOCAL_CAPTIONERS, LOCAL_NAMES

    assert tuple(LOCAL_CAPTIONERS) == LOCAL_NAMES


def test_clean_caption_removes_an_echoed_prompt_quotes_and_extra_whitespace():
    prompt = "Write a long detailed description for this image."
    assert clean_caption(f"{prompt}  A red\n square.", prompt) == "A red square."
    assert clean_caption('  "a cat on a mat"  ') == "a cat on a mat"
    assert clean_caption("   ") == ""


def test_cpu_runs_in_float32_without_a_gpu():
    import torch

    if torch.cuda.is_available():
        assert pick_device()[0] == "cuda"
    else:
        assert pick_device() == ("cpu", torch.float32)


@pytest.mark.browser
def test_web_auto_caption_with_a_local_florence2(ctx, tiny_models, output_dir):
    from support.browser import browser_page, live_controlpilot, login

    install(ctx, tiny_models, "florence2")
    ds = dataset_with_images(ctx, 2)
    with live_controlpilot(ctx) as server, browser_page() as page:
        login(page, server, "/tagpilot/set")
        page.get_by_role("tab", name="Auto-caption").click()
        job = page.get_by_role("region", name="Auto-caption")
        job.get_by_label("Captioner").select_option("florence2")
        job.get_by_text("florence-community/Florence-2-large").wait_for()  # what to put in the folder
        assert job.get_by_label("Model folder").get_attribute("placeholder") == "models/captioners/florence2"
        job.get_by_label("Task").select_option("<CAPTION>")
        job.get_by_label("Max new tokens").fill("4")
        job.get_by_role("button", name="Start captioning").click()
        job.get_by_role("status", name="caption set with florence2: done").wait_for()
        job.get_by_test_id("caption-report").get_by_text("2 written, 0 unchanged, 0 skipped, 0 errors").wait_for()
        page.screenshot(path=output_dir / "local-captioner-job.png", full_page=True)
    for name in ("00.txt", "01.txt"):
        text = (ds.path / name).read_text()
        assert_model_words(text)
        assert len(text.split()) <= 4
