"""`lorapilot render process-compose`: schema-valid, complete, secret-free, stable."""

import json

import jsonschema
import pytest
import yaml

from lorapilot.stack.render import dump_yaml, render_process_compose
from lorapilot.stack.workspace.secrets import ensure_secrets, read_secrets
from support.fake_install import installed_context
from support.snapshots import assert_snapshot


@pytest.fixture
def installed(tmp_path):
    return installed_context(tmp_path)


def _render(ctx, gpu=False):
    return render_process_compose(ctx.workspace, ctx.plan(gpu), ctx.manifest.lorapilot_python)


def test_rendered_config_validates_against_reference_schema(installed, reference_dir):
    schema = json.loads((reference_dir / "process-compose-schema.json").read_text())
    config = yaml.safe_load(dump_yaml(_render(installed)))
    jsonschema.validate(config, schema)


def test_every_process_has_probe_restart_policy_log_and_group_shutdown(installed):
    processes = _render(installed)["processes"]
    tasks = {p.name for p in installed.plan(False) if p.oneshot}  # [[post_start]] one-shot processes
    assert tasks == {"invokeai-sync-models"}
    watchdog = processes.pop("lorapilot-watchdog")
    assert watchdog["entrypoint"][1:3] == ["-m", "lorapilot.stack.watchdog"]
    assert watchdog["availability"]["restart"] == "always"
    assert set(processes) == {c.name for c in installed.registry} | tasks
    for name in tasks:
        assert processes[name]["availability"]["restart"] == "no" and "readiness_probe" not in processes[name]
    for name, proc in processes.items():
        if name in tasks:
            continue
        assert proc["readiness_probe"]["http_get"]["port"] == str(installed.registry.get(name).port)
        # A hung service is restarted: the same probe, as liveness, once a slow start had its time.
        readiness, liveness = proc["readiness_probe"], proc["liveness_probe"]
        assert {**liveness, "initial_delay_seconds": 0} == {**readiness, "initial_delay_seconds": 0}
        budget = readiness["initial_delay_seconds"] + readiness["period_seconds"] * readiness["failure_threshold"]
        assert liveness["initial_delay_seconds"] == budget
        assert proc["availability"]["restart"] == "on_failure"
        assert proc["availability"]["max_restarts"] > 0 and proc["availability"]["backoff_seconds"] >= 1
        assert proc["log_location"] == str(installed.workspace.logs / f"{name}.log")
        assert proc["shutdown"]["parent_only"] is False and proc["shutdown"]["signal"] == 15
        assert proc["entrypoint"][1:3] == ["-m", "lorapilot.stack.service_launch"]


def test_not_installed_and_autostart_false_are_disabled(tmp_path, ctx):
    config = render_process_compose(ctx.workspace, ctx.plan(False), ctx.manifest.lorapilot_python)
    assert config["processes"]["comfyui"]["disabled"] is True  # not installed here
    assert "disabled" not in config["processes"]["controlpilot"]


def test_autostart_false_is_rendered_disabled_in_both_managers(tmp_path):
    from lorapilot.stack.render import render_supervisord

    ctx = installed_context(tmp_path)
    ctx.workspace.config.mkdir(parents=True)
    ctx.workspace.settings_file.write_text("[components.jupyterlab]\nautostart = false\n")
    config = _render(ctx)
    assert config["processes"]["jupyterlab"]["disabled"] is True
    assert "disabled" not in config["processes"]["comfyui"]  # installed, autostart on
    conf = render_supervisord(ctx.workspace, ctx.plan(False), ctx.manifest.lorapilot_python, 7870)
    jupyter = conf.split("[program:jupyterlab]")[1].split("[program:")[0]
    comfy = conf.split("[program:comfyui]")[1].split("[program:")[0]
    assert "autostart=false" in jupyter and "autostart=true" in comfy


def test_depends_on_uses_process_healthy(tmp_path):
    import shutil

    from support.workspaces import REPO_ROOT

    components = tmp_path / "components"
    shutil.copytree(REPO_ROOT / "components", components)
    spec = components / "comfyui" / "component.toml"
    spec.write_text(spec.read_text().replace("gpu = true", 'gpu = true\ndepends_on = ["controlpilot"]'))
    ctx = installed_context(tmp_path)
    ctx.components_dir = components
    proc = _render(ctx)["processes"]["comfyui"]
    assert proc["depends_on"] == {"controlpilot": {"condition": "process_healthy"}}


def test_comfyui_gets_cpu_flag_only_without_gpu(installed):
    assert "--cpu" in _render(installed, gpu=False)["processes"]["comfyui"]["entrypoint"]
    assert "--cpu" not in _render(installed, gpu=True)["processes"]["comfyui"]["entrypoint"]


def test_no_secret_value_appears_in_the_rendered_config(installed):
    installed.workspace.config.mkdir(parents=True)
    ensure_secrets(installed.workspace.secrets_file)
    text = dump_yaml(_render(installed))
    for value in read_secrets(installed.workspace.secrets_file).values():
        assert value not in text
    assert "--secret" in text  # secrets are named, and injected by the launcher


def test_snapshot(installed, tmp_path):
    text = dump_yaml(_render(installed)).replace(str(tmp_path), "/TMP")
    assert_snapshot("process-compose.yaml", text)
