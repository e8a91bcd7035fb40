"""`lorapilot render supervisord`: the same registry, as a config supervisord accepts."""

import pytest
from supervisor.options import ServerOptions

from lorapilot.stack.render import render_supervisord
from lorapilot.stack.render.supervisord import PASSWORD_ENV
from lorapilot.stack.workspace.secrets import ensure_secrets, read_secrets
from support.fake_install import installed_context
from support.snapshots import assert_snapshot


@pytest.fixture
def installed(tmp_path):
    return installed_context(tmp_path)


def _render(ctx, gpu=False):
    return render_supervisord(ctx.workspace, ctx.plan(gpu), ctx.manifest.lorapilot_python, 7870)


def _parse(text, tmp_path, monkeypatch, ctx):
    for folder in (ctx.workspace.logs, ctx.workspace.generated):
        folder.mkdir(parents=True, exist_ok=True)
    conf = tmp_path / "supervisord.conf"
    conf.write_text(text)
    monkeypatch.setenv(PASSWORD_ENV, "pw")
    options = ServerOptions()
    options.realize(args=["-c", str(conf)])
    return options


def test_supervisord_accepts_the_rendered_config(installed, tmp_path, monkeypatch):
    options = _parse(_render(installed), tmp_path, monkeypatch, installed)
    programs = {group.name: group.process_configs[0] for group in options.process_group_configs}
    tasks = {p.name for p in installed.plan(False) if p.oneshot}  # [[post_start]] one-shot processes
    watchdog = programs.pop("lorapilot-watchdog")  # liveness and crash-loop recovery (lorapilot.stack.watchdog)
    assert watchdog.command.split()[1:3] == ["-m", "lorapilot.stack.watchdog"] and watchdog.autorestart
    assert set(programs) == {c.name for c in installed.registry} | tasks
    assert programs["invokeai-sync-models"].startsecs == 0 and programs["invokeai-sync-models"].autorestart is False
    comfy = programs["comfyui"]
    assert comfy.stopasgroup and comfy.killasgroup
    assert comfy.command.split()[1:3] == ["-m", "lorapilot.stack.service_launch"]
    assert comfy.stdout_logfile == str(installed.workspace.logs / "comfyui.log")
    assert options.server_configs[0]["password"] == "pw"
    assert options.server_configs[0]["host"] == "127.0.0.1"


def test_same_services_and_ports_as_process_compose(installed):
    from lorapilot.stack.render import render_process_compose

    pc = render_process_compose(installed.workspace, installed.plan(False), installed.manifest.lorapilot_python)
    text = _render(installed)
    for name, proc in pc["processes"].items():
        assert f"[program:{name}]" in text
        if "readiness_probe" not in proc:  # a one-shot post-start task has no port
            continue
        port = proc["readiness_probe"]["http_get"]["port"]
        assert port in text


def test_dependency_waits_on_probe_url(tmp_path):
    import shutil

    from support.workspaces import REPO_ROOT

    components = tmp_path / "components"
    shutil.copytree(REPO_ROOT / "components", components)
    spec = components / "comfyui" / "component.toml"
    spec.write_text(spec.read_text().replace("gpu = true", 'gpu = true\ndepends_on = ["controlpilot"]'))
    ctx = installed_context(tmp_path)
    ctx.components_dir = components
    text = _render(ctx)
    comfy = text.split("[program:comfyui]")[1].split("[program:")[0]
    assert "--wait-http http://127.0.0.1:7878/api/health" in comfy


def test_no_secret_value_appears(installed):
    installed.workspace.config.mkdir(parents=True)
    ensure_secrets(installed.workspace.secrets_file)
    text = _render(installed)
    for value in read_secrets(installed.workspace.secrets_file).values():
        assert value not in text


def test_percent_signs_are_escaped(tmp_path, monkeypatch):
    ctx = installed_context(tmp_path / "100%")
    options = _parse(_render(ctx), tmp_path, monkeypatch, ctx)
    assert any("100%" in g.process_configs[0].stdout_logfile for g in options.process_group_configs)


def test_snapshot(installed, tmp_path):
    assert_snapshot("supervisord.conf", _render(installed).replace(str(tmp_path), "/TMP"))


def test_environment_values_survive_supervisord_parsing(tmp_path, monkeypatch):
    ctx = installed_context(tmp_path)
    settings = ctx.workspace.settings_file
    settings.parent.mkdir(parents=True)
    settings.write_text("[components.comfyui]\nenv = { ODD = 'a,b c=\"d\" e', EMPTY = '', PCT = '50%' }\n")
    options = _parse(_render(ctx), tmp_path, monkeypatch, ctx)
    comfy = next(g for g in options.process_group_configs if g.name == "comfyui").process_configs[0]
    assert comfy.environment["ODD"] == 'a,b c="d" e'
    assert comfy.environment["EMPTY"] == ""
    assert comfy.environment["PCT"] == "50%"
